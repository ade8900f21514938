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

impl RuleFlags {
    /// The fields these flags name, as the API takes them (nothing named: nothing changes).
    fn fields(self) -> serde_json::Map<String, Value> {
        let mut fields = serde_json::Map::new();
        if let Some(currency) = self.currency {
            fields.insert("currency".into(), json!(currency));
        }
        if self.no_max_cpm {
            fields.insert("max_cpm".into(), Value::Null);
        } else if let Some(max_cpm) = self.max_cpm {
            fields.insert("max_cpm".into(), json!(max_cpm));
        }
        if self.any_address {
            fields.insert("burl_networks".into(), json!([]));
        } else if !self.burl_networks.is_empty() {
            fields.insert("burl_networks".into(), json!(self.burl_networks));
        }
        fields
    }
}

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let change = |id: Uuid, fields: serde_json::Map<String, Value>| async move {
        let body = Value::Object(fields);
        ctx.client
            .send(
                Method::PATCH,
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
            let mut fields = rules.fields();
            fields.entry("currency").or_insert_with(|| json!("USD"));
            fields.insert("name".into(), json!(name));
            if disabled {
                fields.insert("status".into(), json!("disabled"));
            }
            let created = ctx
                .client
                .post("/api/v1/partners", &Value::Object(fields), None)
                .await?;
            eprintln!("adctl: give the credential to the partner now: it is not shown again");
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                WITH_CREDENTIAL,
                &created,
            ))
        }
        Command::Update { id, rules } => {
            let partner = change(id, rules.fields()).await?;
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                COLUMNS,
                &partner,
            ))
        }
        Command::Enable { id } | Command::Disable { id } => {
            let disable = matches!(args.command, Command::Disable { .. });
            if disable {
                let partner = current(id).await?;
                ctx.confirm(&format!(
                    "Disable partner {}? Its bid requests and the events of ads it was sold are refused.",
                    output::field(&partner, "name")
                ))?;
            }
            let status = if disable { "disabled" } else { "active" };
            let mut fields = serde_json::Map::new();
            fields.insert("status".into(), json!(status));
            let partner = change(id, fields).await?;
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
