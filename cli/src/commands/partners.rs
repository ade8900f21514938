//! `adctl partners`: the supply partners (exchanges) allowed to ask servingd for ads, their
//! credentials (shown once), and the rules the events of their ads are held to.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::Request;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// Supply partners: list, get, create, update, enable, disable, rotate-credential.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// A partner's rules as flags (each left out keeps what the partner has, or the default).
#[derive(Debug, clap::Args)]
pub struct RuleFlags {
    /// The currency its auctions run in (servingd bids only in its own) [default: USD].
    #[arg(long)]
    currency: Option<String>,
    /// The most an impression it sells may be charged per thousand, in its currency.
    #[arg(long, conflicts_with = "no_max_cpm")]
    max_cpm: Option<String>,
    /// No ceiling beyond the bids.
    #[arg(long)]
    no_max_cpm: bool,
    /// An address or network its billing URLs may be fetched from (repeat for more; the
    /// first replaces the partner's list).
    #[arg(
        long = "burl-network",
        value_name = "NETWORK",
        conflicts_with = "any_address"
    )]
    burl_networks: Vec<String>,
    /// Billing URLs may be fetched from anywhere.
    #[arg(long)]
    any_address: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The partners, by name.
    List,
    /// One partner.
    Get { id: Uuid },
    /// Add a partner; its credential is shown this once.
    Create {
        /// A name of its own (1 to 100 characters).
        name: String,
        #[command(flatten)]
        rules: RuleFlags,
        /// Add it disabled (its requests refused until `adctl partners enable`).
        #[arg(long)]
        disabled: bool,
    },
    /// Change a partner's rules.
    Update {
        id: Uuid,
        #[command(flatten)]
        rules: RuleFlags,
    },
    /// Let a disabled partner ask for ads again.
    Enable { id: Uuid },
    /// Refuse a partner's requests and the events of ads it was sold (asks first).
    Disable { id: Uuid },
    /// Give a partner a new credential, shown this once; the old one stops working within
    /// seconds (asks first).
    RotateCredential { id: Uuid },
}

const COLUMNS: Columns = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("CURRENCY", "currency"),
    ("MAX CPM", "max_cpm"),
    ("BURL NETWORKS", "burl_networks"),
    ("CREDENTIAL", "key_prefix"),
];

const WITH_CREDENTIAL: Columns = &[
    ("ID", "partner.id"),
    ("NAME", "partner.name"),
    ("STATUS", "partner.status"),
    ("CURRENCY", "partner.currency"),
    ("MAX CPM", "partner.max_cpm"),
    ("BURL NETWORKS", "partner.burl_networks"),
    ("CREDENTIAL", "credential"),
];

/// The rules `flags` make of `current` (a partner's, or nothing for a new one).
fn rules_body(current: &Value, flags: RuleFlags, status: Option<&str>) -> Value {
    let currency = flags
        .currency
        .or_else(|| current["currency"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "USD".to_owned());
    let max_cpm = if flags.no_max_cpm {
        Value::Null
    } else {
        flags
            .max_cpm
            .map(Value::from)
            .unwrap_or_else(|| current["max_cpm"].clone())
    };
    let networks = if flags.any_address {
        json!([])
    } else if flags.burl_networks.is_empty() {
        current
            .get("burl_networks")
            .cloned()
            .unwrap_or_else(|| json!([]))
    } else {
        json!(flags.burl_networks)
    };
    let status = status
        .map(str::to_owned)
        .or_else(|| current["status"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "active".to_owned());
    json!({"status": status, "currency": currency, "max_cpm": max_cpm, "burl_networks": networks})
}

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let put = |id: Uuid, body: Value| async move {
        ctx.client
            .send(
                Method::PUT,
                &format!("/api/v1/partners/{id}"),
                Request {
                    body: Some(&body),
                    ..Request::default()
                },
            )
            .await
    };
    let current =
        |id: Uuid| async move { ctx.client.get(&format!("/api/v1/partners/{id}"), &[]).await };
    match args.command {
        Command::List => {
            let list = ctx.client.get("/api/v1/partners", &[]).await?;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            output::written(output::rows(&mut ctx.out(), ctx.output, COLUMNS, &items))
        }
        Command::Get { id } => {
            let partner = current(id).await?;
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                COLUMNS,
                &partner,
            ))
        }
        Command::Create {
            name,
            rules,
            disabled,
        } => {
            let mut body = rules_body(&Value::Null, rules, disabled.then_some("disabled"));
            body["name"] = json!(name);
            let created = ctx.client.post("/api/v1/partners", &body, None).await?;
            eprintln!("adctl: give the credential to the partner now: it is not shown again");
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                WITH_CREDENTIAL,
                &created,
            ))
        }
        Command::Update { id, rules } => {
            let body = rules_body(&current(id).await?, rules, None);
            let partner = put(id, body).await?;
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                COLUMNS,
                &partner,
            ))
        }
        Command::Enable { id } | Command::Disable { id } => {
            let disable = matches!(args.command, Command::Disable { .. });
            let partner = current(id).await?;
            if disable {
                ctx.confirm(&format!(
                    "Disable partner {}? Its bid requests and the events of ads it was sold are refused.",
                    output::field(&partner, "name")
                ))?;
            }
            let status = if disable { "disabled" } else { "active" };
            let flags = RuleFlags {
                currency: None,
                max_cpm: None,
                no_max_cpm: false,
                burl_networks: Vec::new(),
                any_address: false,
            };
            let partner = put(id, rules_body(&partner, flags, Some(status))).await?;
            eprintln!("adctl: partner {id} is {status}");
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                COLUMNS,
                &partner,
            ))
        }
        Command::RotateCredential { id } => {
            ctx.confirm(&format!(
                "Give partner {id} a new credential? The one it uses stops working within seconds."
            ))?;
            let path = format!("/api/v1/partners/{id}/credential");
            let rotated = ctx.client.post(&path, &json!({}), None).await?;
            eprintln!("adctl: give the credential to the partner now: it is not shown again");
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                WITH_CREDENTIAL,
                &rotated,
            ))
        }
    }
}
