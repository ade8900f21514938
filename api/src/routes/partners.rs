//! `/api/v1/partners`: the supply partners (exchanges) allowed to ask servingd for ads. Each
//! gets a credential when it is added (shown once; a new one replaces it), and rules the events
//! of the ads it was sold are held to. servingd takes a change up within seconds.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::Currency;
use ipnet::IpNet;
use ledger::Money;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit_records::{self, Change};
use crate::auth::Role;
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, PathParams};
use crate::state::AppState;
use partners::PartnerStatus;
use partners::store::{self, PartnerRecord, PartnerRules, StoreError};

/// Who may read the partners.
pub const READ_ROLES: &[Role] = &[Role::Operator, Role::Billing, Role::Admin];
/// Who may add and change them.
pub const WRITE_ROLES: &[Role] = &[Role::Admin];
/// Most networks a partner's billing URLs may come from.
pub const MAX_NETWORKS: usize = 100;

/// A new partner: a name and its rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPartner {
    /// 1 to 100 characters, unique.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `active` (the default) or `disabled`.
    pub status: Option<PartnerStatus>,
    /// The currency its auctions run in (servingd bids only in its own).
    #[schema(example = "USD")]
    pub currency: String,
    /// The most an impression it sells may be charged per thousand, in its currency; absent:
    /// no ceiling beyond the bids.
    #[schema(value_type = Option<String>, example = "5.00")]
    pub max_cpm: Option<String>,
    /// Addresses or networks its billing URLs may be fetched from (at most 100); empty or
    /// absent: anywhere.
    #[serde(default)]
    pub burl_networks: Vec<String>,
}

/// A change of a partner's rules: what is named changes, the rest stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerChange {
    pub status: Option<PartnerStatus>,
    #[schema(example = "USD")]
    pub currency: Option<String>,
    /// A new ceiling, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "5.00")]
    pub max_cpm: Option<Option<String>>,
    /// A new list (empty: anywhere).
    pub burl_networks: Option<Vec<String>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A partner with a credential just made: the only time it is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartnerWithCredential {
    pub partner: PartnerRecord,
    /// Sent by the partner as `Authorization: Bearer <credential>` with each bid request; it
    /// is not stored and cannot be shown again.
    pub credential: String,
}

/// The partners, by name.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartnerList {
    pub items: Vec<PartnerRecord>,
}

/// The path of one partner.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PartnerPath {
    pub id: Uuid,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_partners, create_partner))
        .routes(routes!(get_partner, update_partner))
        .routes(routes!(rotate_partner_credential))
}

/// A partner's rules as written, before they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesText {
    pub status: PartnerStatus,
    pub currency: String,
    pub max_cpm: Option<String>,
    pub burl_networks: Vec<String>,
}

impl RulesText {
    fn of(record: &PartnerRecord) -> Self {
        RulesText {
            status: record.status,
            currency: record.currency.clone(),
            max_cpm: record.max_cpm.map(|m| m.to_string()),
            burl_networks: record.burl_networks.clone(),
        }
    }

    fn changed(mut self, change: PartnerChange) -> Self {
        if let Some(status) = change.status {
            self.status = status;
        }
        if let Some(currency) = change.currency {
            self.currency = currency;
        }
        if let Some(max_cpm) = change.max_cpm {
            self.max_cpm = max_cpm;
        }
        if let Some(networks) = change.burl_networks {
            self.burl_networks = networks;
        }
        self
    }
}

/// Checks rules as written; every field at fault is named.
pub fn rules(input: RulesText) -> std::result::Result<PartnerRules, Vec<FieldError>> {
    let mut errors = Vec::new();
    let currency = match Currency::parse(input.currency.trim()) {
        Ok(c) => c.code().to_owned(),
        Err(_) => {
            errors.push(FieldError::new("currency", "an ISO 4217 code (USD)"));
            String::new()
        }
    };
    let max_cpm = match input.max_cpm.as_deref().map(str::trim) {
        None => None,
        Some(text) => match Money::parse(text) {
            Ok(m) if !m.is_negative() && m.to_micros().is_some_and(|v| v > 0) => Some(m),
            _ => {
                errors.push(FieldError::new(
                    "max_cpm",
                    "a positive amount of at most 6 decimals",
                ));
                None
            }
        },
    };
    if input.burl_networks.len() > MAX_NETWORKS {
        errors.push(FieldError::new(
            "burl_networks",
            format!("at most {MAX_NETWORKS} networks"),
        ));
    }
    let mut networks = Vec::with_capacity(input.burl_networks.len());
    for (i, text) in input.burl_networks.iter().enumerate() {
        let text = text.trim();
        let net = IpNet::from_str(text)
            .ok()
            .or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from));
        match net {
            Some(net) => networks.push(net.trunc()),
            None => errors.push(FieldError::new(
                format!("burl_networks[{i}]"),
                "an IP address or a network (198.51.100.0/24)",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    networks.sort();
    networks.dedup();
    Ok(PartnerRules {
        status: input.status,
        currency,
        max_cpm,
        burl_networks: networks,
    })
}

fn stored(e: StoreError) -> ApiError {
    match e {
        StoreError::NameTaken(_) => ApiError::Conflict("a partner with this name exists".into()),
        StoreError::Db(e) => e.into(),
    }
}

/// The supply partners, by name.
///
/// Roles: operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners",
    responses(
        (status = 200, description = "The partners", body = PartnerList),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read partners", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_partners(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<PartnerList>> {
    principal.require(READ_ROLES)?;
    let items = store::list(&state.db).await.map_err(stored)?;
    Ok(Json(PartnerList { items }))
}

/// One supply partner.
///
/// Roles: operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners",
    params(PartnerPath),
    responses(
        (status = 200, description = "The partner", body = PartnerRecord),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read partners", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn get_partner(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathParams(path): PathParams<PartnerPath>,
) -> Result<Json<PartnerRecord>> {
    principal.require(READ_ROLES)?;
    store::get(&state.db, path.id)
        .await
        .map_err(stored)?
        .map(Json)
        .ok_or(ApiError::NotFound("partner"))
}

/// Add a supply partner, with its credential (shown this once).
///
/// Roles: admin.
#[utoipa::path(post, path = "/api/v1/partners", tag = "partners",
    request_body = NewPartner,
    responses(
        (status = 201, description = "Added", body = PartnerWithCredential),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not add partners", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (each named)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_partner(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<NewPartner>,
) -> Result<(StatusCode, Json<PartnerWithCredential>)> {
    actor.principal.require(WRITE_ROLES)?;
    let name = body.name.trim().to_owned();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "1 to 100 characters, no control characters",
        ));
    }
    let written = RulesText {
        status: body.status.unwrap_or(PartnerStatus::Active),
        currency: body.currency,
        max_cpm: body.max_cpm,
        burl_networks: body.burl_networks,
    };
    let rules = match rules(written) {
        Ok(rules) => Some(rules),
        Err(more) => {
            errors.extend(more);
            None
        }
    };
    let Some(rules) = rules.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    let mut tx = state.db.begin().await?;
    let (partner, credential) =
        store::create(&mut tx, &name, &rules, &actor.principal.id.to_string())
            .await
            .map_err(stored)?;
    let entry = Change::of("partner.create", object(&partner), None)
        .after(&partner)?
        .by(&actor, partner.created_at);
    audit_records::change::record(&state, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(PartnerWithCredential {
            partner,
            credential: credential.expose().to_owned(),
        }),
    ))
}

/// Change a supply partner's rules (status, currency, price ceiling, networks).
///
/// Only the fields named change. Disabling a partner refuses its bid requests and the events of
/// its ads within seconds. Roles: admin.
#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "partners",
    params(PartnerPath),
    request_body = PartnerChange,
    responses(
        (status = 200, description = "Changed", body = PartnerRecord),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not change partners", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (each named)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn update_partner(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<PartnerPath>,
    JsonBody(change): JsonBody<PartnerChange>,
) -> Result<Json<PartnerRecord>> {
    actor.principal.require(WRITE_ROLES)?;
    let mut tx = state.db.begin().await?;
    // the row stays locked until the change commits: two changes at once apply one after the
    // other, neither undoing the other
    let Some(before) = store::get_for_update(&mut tx, path.id)
        .await
        .map_err(stored)?
    else {
        return Err(ApiError::NotFound("partner"));
    };
    let rules = rules(RulesText::of(&before).changed(change)).map_err(ApiError::Invalid)?;
    let after = store::update(&mut tx, path.id, &rules)
        .await
        .map_err(stored)?;
    let entry = Change::of("partner.update", object(&after), None)
        .before(&before)?
        .after(&after)?
        .by(&actor, after.updated_at);
    audit_records::change::record(&state, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Give a supply partner a new credential, shown this once.
///
/// The old one stops working within seconds. Roles: admin.
#[utoipa::path(post, path = "/api/v1/partners/{id}/credential", tag = "partners",
    params(PartnerPath),
    responses(
        (status = 200, description = "The new credential", body = PartnerWithCredential),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not change partners", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn rotate_partner_credential(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<PartnerPath>,
) -> Result<Json<PartnerWithCredential>> {
    actor.principal.require(WRITE_ROLES)?;
    let mut tx = state.db.begin().await?;
    let Some(before) = store::get_for_update(&mut tx, path.id)
        .await
        .map_err(stored)?
    else {
        return Err(ApiError::NotFound("partner"));
    };
    let Some((partner, credential)) = store::rotate_credential(&mut tx, path.id)
        .await
        .map_err(stored)?
    else {
        return Err(ApiError::NotFound("partner"));
    };
    // the record says which credential was retired (its prefix) and which replaced it
    let entry = Change::of("partner.rotate_credential", object(&partner), None)
        .before(&before)?
        .after(&partner)?
        .by(&actor, partner.updated_at);
    audit_records::change::record(&state, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Json(PartnerWithCredential {
        partner,
        credential: credential.expose().to_owned(),
    }))
}

fn object(partner: &PartnerRecord) -> String {
    format!("partner:{}", partner.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(currency: &str, max_cpm: Option<&str>, networks: &[&str]) -> RulesText {
        RulesText {
            status: PartnerStatus::Active,
            currency: currency.into(),
            max_cpm: max_cpm.map(str::to_owned),
            burl_networks: networks.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn rules_are_checked_and_every_bad_field_named() {
        let ok = rules(input("USD", Some("5.5"), &["198.51.100.7/24", "192.0.2.1"])).expect("ok");
        assert_eq!(ok.currency, "USD");
        assert_eq!(ok.max_cpm.map(|m| m.to_string()), Some("5.500000".into()));
        assert_eq!(
            ok.burl_networks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["192.0.2.1/32", "198.51.100.0/24"]
        );
        assert_eq!(ok.status, PartnerStatus::Active);
        let errors =
            rules(input("dollars", Some("-1"), &["10.0.0.0/8", "lb.example"])).expect_err("bad");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["currency", "max_cpm", "burl_networks[1]"]);
        assert!(rules(input("USD", Some("0"), &[])).is_err());
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_null_clears_the_ceiling() {
        let written = input("USD", Some("5"), &["198.51.100.0/24"]);
        let change: PartnerChange =
            serde_json::from_str(r#"{"status": "disabled"}"#).expect("change");
        let changed = written.clone().changed(change);
        assert_eq!(changed.status, PartnerStatus::Disabled);
        assert_eq!(changed.max_cpm.as_deref(), Some("5"));
        assert_eq!(changed.burl_networks, ["198.51.100.0/24"]);
        let change: PartnerChange =
            serde_json::from_str(r#"{"max_cpm": null, "burl_networks": []}"#).expect("change");
        let changed = written.changed(change);
        assert_eq!(changed.max_cpm, None);
        assert!(changed.burl_networks.is_empty());
        assert_eq!(changed.status, PartnerStatus::Active);
    }
}
