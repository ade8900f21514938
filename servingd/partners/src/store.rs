//! `supply_partners`: the partners in PostgreSQL, and reloading servingd's [`Directory`] when
//! their revision moved.

use std::str::FromStr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use domain::Money;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::credential::Credential;
use crate::directory::Directory;
use crate::partner::{Partner, PartnerStatus};

/// A partner as the API shows it (never its credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartnerRecord {
    pub id: Uuid,
    pub name: String,
    pub status: PartnerStatus,
    /// The currency its auctions run in (servingd bids to it only in that currency).
    pub currency: String,
    /// The most an impression it sells is charged per thousand, in its currency.
    #[schema(value_type = Option<String>, example = "5.00")]
    pub max_cpm: Option<Money>,
    /// Where its billing URLs may be fetched from (addresses or networks); empty: anywhere.
    pub burl_networks: Vec<String>,
    /// The first characters of its credential, to tell credentials apart.
    pub key_prefix: String,
    /// Who added it (a user or API key id).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a partner is to be (the API checks every field first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRules {
    pub status: PartnerStatus,
    pub currency: String,
    pub max_cpm: Option<Money>,
    pub burl_networks: Vec<IpNet>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    status: String,
    currency: String,
    max_cpm: Option<rust_decimal::Decimal>,
    burl_networks: Vec<String>,
    key_prefix: String,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, status, currency::text as currency, max_cpm, \
     burl_networks::text[] as burl_networks, key_prefix, created_by, created_at, updated_at";

impl Row {
    fn record(self) -> Option<PartnerRecord> {
        Some(PartnerRecord {
            id: self.id,
            name: self.name,
            status: PartnerStatus::parse(&self.status)?,
            currency: self.currency,
            max_cpm: match self.max_cpm {
                Some(d) => Some(Money::try_from(d).ok()?),
                None => None,
            },
            burl_networks: self.burl_networks,
            key_prefix: self.key_prefix,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl PartnerRecord {
    /// The partner servingd holds.
    pub fn partner(&self) -> Option<Partner> {
        Some(Partner {
            id: self.id,
            name: self.name.clone(),
            status: self.status,
            currency: self.currency.clone(),
            max_cpm_micros: match self.max_cpm {
                Some(m) => Some(m.to_micros()?),
                None => None,
            },
            burl_networks: self
                .burl_networks
                .iter()
                .map(|n| IpNet::from_str(n).ok())
                .collect::<Option<_>>()?,
        })
    }
}

fn networks_text(networks: &[IpNet]) -> Vec<String> {
    networks.iter().map(|n| n.trunc().to_string()).collect()
}

/// Why a partner could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a partner named {0:?} exists")]
    NameTaken(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn name_taken(e: sqlx::Error, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("supply_partners_name_key") => {
            StoreError::NameTaken(name.to_owned())
        }
        _ => StoreError::Db(e),
    }
}

/// Adds a partner with a new credential: the record, and the credential's text (shown once).
pub async fn create(
    conn: &mut PgConnection,
    name: &str,
    rules: &PartnerRules,
    created_by: &str,
) -> Result<(PartnerRecord, Credential), StoreError> {
    let credential = Credential::generate();
    let row: Row = sqlx::query_as(&format!(
        "insert into supply_partners
            (id, name, status, currency, max_cpm, burl_networks, key_hash, key_prefix, created_by)
         values ($1, $2, $3, $4, $5, $6::text[]::cidr[], $7, $8, $9)
         returning {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(rules.status.as_str())
    .bind(&rules.currency)
    .bind(rules.max_cpm.map(rust_decimal::Decimal::from))
    .bind(networks_text(&rules.burl_networks))
    .bind(credential.hash().as_slice())
    .bind(credential.prefix())
    .bind(created_by)
    .fetch_one(conn)
    .await
    .map_err(|e| name_taken(e, name))?;
    let record = row.record().ok_or(sqlx::Error::RowNotFound)?;
    Ok((record, credential))
}

/// Changes a partner's rules (the caller holds its row, [`get_for_update`]): what it is now.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    rules: &PartnerRules,
) -> Result<PartnerRecord, StoreError> {
    let row: Row = sqlx::query_as(&format!(
        "update supply_partners
            set status = $2, currency = $3, max_cpm = $4, burl_networks = $5::text[]::cidr[],
                updated_at = now()
          where id = $1
         returning {COLUMNS}"
    ))
    .bind(id)
    .bind(rules.status.as_str())
    .bind(&rules.currency)
    .bind(rules.max_cpm.map(rust_decimal::Decimal::from))
    .bind(networks_text(&rules.burl_networks))
    .fetch_one(conn)
    .await?;
    Ok(row.record().ok_or(sqlx::Error::RowNotFound)?)
}

/// Gives a partner a new credential (the old one stops working at once): the record and the
/// new credential, or `None` when there is no such partner.
pub async fn rotate_credential(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(PartnerRecord, Credential)>, StoreError> {
    let credential = Credential::generate();
    let row: Option<Row> = sqlx::query_as(&format!(
        "update supply_partners set key_hash = $2, key_prefix = $3, updated_at = now()
          where id = $1
         returning {COLUMNS}"
    ))
    .bind(id)
    .bind(credential.hash().as_slice())
    .bind(credential.prefix())
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(Row::record).map(|record| (record, credential)))
}

/// One partner, its row locked until the transaction ends.
pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<PartnerRecord>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from supply_partners where id = $1 for update"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(Row::record))
}

/// One partner.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<PartnerRecord>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from supply_partners where id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(Row::record))
}

/// Every partner, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<PartnerRecord>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from supply_partners order by name"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(Row::record).collect())
}

/// Reads the partners again when their revision moved since `held` was read; whether it did.
pub async fn reload_if_changed(
    db: &PgPool,
    held: &ArcSwap<Directory>,
) -> Result<bool, sqlx::Error> {
    let Some((revision, rows)) = daemon::revised::read_if_revised::<KeyedRow>(
        db,
        "select revision from supply_partners_revision",
        held.load().revision(),
        &format!("select key_hash, {COLUMNS} from supply_partners"),
    )
    .await?
    else {
        return Ok(false);
    };
    let partners = rows.into_iter().filter_map(|keyed| {
        let key: [u8; 32] = keyed.key_hash.try_into().ok()?;
        let partner = keyed.row.record()?.partner()?;
        Some((key, partner))
    });
    let directory = Directory::new(revision, partners);
    tracing::info!(
        revision,
        partners = directory.len(),
        "supply partners loaded"
    );
    held.store(Arc::new(directory));
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct KeyedRow {
    key_hash: Vec<u8>,
    #[sqlx(flatten)]
    row: Row,
}
