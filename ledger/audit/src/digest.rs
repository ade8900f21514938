//! The digest one audit row keeps of a ledger transaction's transfers: SHA-256 over a version
//! tag and each transfer's canonical bytes, in the order the row lists them. The posting
//! transaction computes it in PostgreSQL (the trigger of `migrations/0007`); the verifier reads
//! the transfers back as text and computes it here, independently, so that a transfer altered
//! or deleted after it was chained is caught. The two encodings must agree byte for byte.

use ring::digest::{Context, SHA256};
use uuid::Uuid;

pub use ledger::reads::TransferText;

use crate::chain::ChainHash;

/// The encoding's version tag, in front of every digest.
const TAG: &[u8] = b"adplat-transfers-v1";

/// The digest of `transfers`, in order.
pub fn transfers_digest<'a>(transfers: impl IntoIterator<Item = &'a TransferText>) -> ChainHash {
    let mut context = Context::new(&SHA256);
    context.update(TAG);
    let mut out = Vec::with_capacity(256);
    for t in transfers {
        out.clear();
        encode(&mut out, t);
        context.update(&out);
    }
    let mut hash = [0; 32];
    hash.copy_from_slice(context.finish().as_ref());
    ChainHash(hash)
}

/// One transfer's canonical bytes (as the trigger of `migrations/0007` writes them).
fn encode(out: &mut Vec<u8>, t: &TransferText) {
    out.extend_from_slice(t.id.as_bytes());
    text(out, &t.kind);
    out.extend_from_slice(&t.debit_account.to_be_bytes());
    out.extend_from_slice(&t.credit_account.to_be_bytes());
    text(out, &t.amount);
    text(out, &t.currency);
    optional_id(out, t.advertiser);
    optional_id(out, t.campaign);
    match &t.event {
        None => out.push(0),
        Some(event) => {
            out.push(1);
            text(out, event);
        }
    }
    optional_id(out, t.lease);
    optional_id(out, t.pending);
    text(out, &t.metadata);
    out.extend_from_slice(&t.posted_micros.to_be_bytes());
}

fn text(out: &mut Vec<u8>, value: &str) {
    // PostgreSQL's int4send of octet_length: texts here are far below 2 GiB
    out.extend_from_slice(&(value.len() as i32).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn optional_id(out: &mut Vec<u8>, id: Option<Uuid>) {
    match id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn transfer(n: u8) -> TransferText {
        TransferText {
            id: Uuid::from_bytes([n; 16]),
            kind: "spend".into(),
            debit_account: 7,
            credit_account: 9,
            amount: "1.250000".into(),
            currency: "EUR".into(),
            advertiser: Some(Uuid::from_bytes([1; 16])),
            campaign: Some(Uuid::from_bytes([2; 16])),
            event: Some(format!("ev-{n}")),
            lease: None,
            pending: None,
            metadata: r#"{"note": "x"}"#.into(),
            posted_micros: 1_764_000_000_000_000 + i64::from(n),
        }
    }

    #[test]
    fn every_field_and_the_order_count() {
        let base = vec![transfer(1), transfer(2)];
        let digest = transfers_digest(&base);
        assert_eq!(digest, transfers_digest(&base), "deterministic");
        let reordered = vec![transfer(2), transfer(1)];
        assert_ne!(digest, transfers_digest(&reordered));
        assert_ne!(digest, transfers_digest(&base[..1]), "a transfer left out");
        let changes: Vec<fn(&mut TransferText)> = vec![
            |t| t.id = Uuid::from_bytes([9; 16]),
            |t| t.kind = "refund".into(),
            |t| t.debit_account = 8,
            |t| t.credit_account = 8,
            |t| t.amount = "1.250001".into(),
            |t| t.currency = "USD".into(),
            |t| t.advertiser = None,
            |t| t.campaign = Some(Uuid::from_bytes([3; 16])),
            |t| t.event = None,
            |t| t.lease = Some(Uuid::from_bytes([4; 16])),
            |t| t.pending = Some(Uuid::from_bytes([5; 16])),
            |t| t.metadata = r#"{"note": "y"}"#.into(),
            |t| t.posted_micros += 1,
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut altered = base.clone();
            change(&mut altered[1]);
            assert_ne!(digest, transfers_digest(&altered), "change {i}");
        }
    }

    #[test]
    fn lengths_keep_neighbouring_fields_apart() {
        let mut a = transfer(1);
        a.kind = "spendx".into();
        a.amount = "1.0".into();
        let mut b = transfer(1);
        b.kind = "spend".into();
        b.amount = "x1.0".into();
        assert_ne!(transfers_digest([&a]), transfers_digest([&b]));
        let mut none = transfer(1);
        none.event = None;
        let mut empty = transfer(1);
        empty.event = Some(String::new());
        assert_ne!(transfers_digest([&none]), transfers_digest([&empty]));
    }
}
