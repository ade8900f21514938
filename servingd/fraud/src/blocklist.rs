//! The blocklist as servingd holds it: every listed IP and device id in one Bloom filter, swapped
//! whole when the list's revision moves. A listed source is always found; an unlisted one is
//! taken for listed at about the configured false-positive rate (its request goes unanswered,
//! its event unbilled: the cheap side to err on).

use std::net::IpAddr;

use arc_swap::ArcSwap;
use sqlx::PgPool;

use crate::bloom::BloomFilter;
use crate::score::device_hash;

/// Fewest items a filter is sized for, so a short list still has a low false-positive rate as
/// it grows until the next reload.
const MIN_SIZED_FOR: usize = 1_000;

/// The known-bad sources.
#[derive(Debug, Clone)]
pub struct Blocklist {
    filter: BloomFilter,
    revision: i64,
    entries: usize,
}

/// Keys are a tag byte and the address's octets (an IPv4-mapped IPv6 address is its IPv4
/// address) or the device id's bytes: nothing to allocate on the request path.
const IPV4: &[u8] = &[4];
const IPV6: &[u8] = &[6];
const DEVICE: &[u8] = &[0xD];
/// A device listed by the hash events carry (see [`device_hash`]), not by its id: what the
/// fraud scorer lists, as 16 hex digits.
const DEVICE_HASH: &[u8] = &[0xDE];

fn contains_ip(filter: &BloomFilter, ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => filter.contains_parts(&[IPV4, &v4.octets()]),
        IpAddr::V6(v6) => filter.contains_parts(&[IPV6, &v6.octets()]),
    }
}

fn insert_ip(filter: &mut BloomFilter, ip: IpAddr) {
    match ip.to_canonical() {
        IpAddr::V4(v4) => filter.insert_parts(&[IPV4, &v4.octets()]),
        IpAddr::V6(v6) => filter.insert_parts(&[IPV6, &v6.octets()]),
    }
}

impl Blocklist {
    /// Nothing listed (before the first load).
    pub fn empty() -> Self {
        Blocklist {
            filter: BloomFilter::with_rate(1, 0.5),
            revision: -1,
            entries: 0,
        }
    }

    /// The list at `revision`: `(kind, value)` pairs as the API stores them (`ip` values in
    /// canonical form, `device` values trimmed).
    pub fn build<'a>(
        revision: i64,
        entries: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
        rate: f64,
    ) -> Self {
        let count = entries.len();
        let mut filter = BloomFilter::with_rate(count.max(MIN_SIZED_FOR), rate);
        for (kind, value) in entries {
            match kind {
                "ip" => match value.trim().parse::<IpAddr>() {
                    Ok(ip) => insert_ip(&mut filter, ip),
                    // the API stores only addresses; anything else could never match one
                    Err(_) => tracing::warn!(value, "a blocked ip that is no address"),
                },
                _ => {
                    let value = value.trim();
                    filter.insert_parts(&[DEVICE, value.as_bytes()]);
                    if value.len() == 16
                        && let Ok(hash) = u64::from_str_radix(value, 16)
                    {
                        filter.insert_parts(&[DEVICE_HASH, &hash.to_be_bytes()]);
                    }
                }
            }
        }
        Blocklist {
            filter,
            revision,
            entries: count,
        }
    }

    /// The revision loaded (-1: none yet).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Sources listed.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// The filter's memory, bytes.
    pub fn bytes(&self) -> usize {
        self.filter.bytes()
    }

    pub fn blocks_ip(&self, ip: IpAddr) -> bool {
        self.entries > 0 && contains_ip(&self.filter, ip)
    }

    /// An address as a request or connection gives it; text that is no address is not listed.
    pub fn blocks_ip_text(&self, ip: &str) -> bool {
        ip.trim().parse().is_ok_and(|ip| self.blocks_ip(ip))
    }

    /// Whether a device id is listed, by itself or by the hash events carry.
    pub fn blocks_device(&self, device: &str) -> bool {
        let device = device.trim();
        self.entries > 0
            && (self.filter.contains_parts(&[DEVICE, device.as_bytes()])
                || self
                    .filter
                    .contains_parts(&[DEVICE_HASH, &device_hash(device).to_be_bytes()]))
    }
}

/// Loads the list from PostgreSQL when its revision differs from the one held; whether it did.
pub async fn reload_if_changed(
    db: &PgPool,
    held: &ArcSwap<Blocklist>,
    rate: f64,
) -> Result<bool, sqlx::Error> {
    let Some((revision, rows)) = daemon::revised::read_if_revised::<(String, String)>(
        db,
        "select revision from blocked_sources_revision",
        held.load().revision(),
        "select kind, value from blocked_sources",
    )
    .await?
    else {
        return Ok(false);
    };
    let list = Blocklist::build(
        revision,
        rows.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        rate,
    );
    tracing::info!(
        revision,
        entries = list.entries(),
        bytes = list.bytes(),
        "blocklist loaded"
    );
    held.store(std::sync::Arc::new(list));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_sources_are_found_in_any_spelling_of_the_address() {
        let list = Blocklist::build(
            3,
            [
                ("ip", "203.0.113.9"),
                ("ip", "2001:db8::7"),
                ("device", "ifa-bad"),
            ]
            .into_iter(),
            0.001,
        );
        assert_eq!((list.revision(), list.entries()), (3, 3));
        assert!(list.blocks_ip_text("203.0.113.9"));
        assert!(list.blocks_ip_text("::ffff:203.0.113.9"));
        assert!(list.blocks_ip_text("2001:DB8:0::7"));
        assert!(list.blocks_device("ifa-bad"));
        assert!(!list.blocks_ip_text("203.0.113.10"));
        assert!(!list.blocks_ip_text("not an address"));
        assert!(!list.blocks_device("ifa-good"));
    }

    #[test]
    fn a_device_listed_by_the_hash_events_carry_is_found_by_its_id() {
        let hashed = format!("{:016x}", device_hash("ifa-convicted"));
        let list = Blocklist::build(1, [("device", hashed.as_str())].into_iter(), 0.001);
        assert!(list.blocks_device("ifa-convicted"));
        assert!(!list.blocks_device("ifa-other"));
    }

    #[test]
    fn an_empty_list_blocks_nothing() {
        let list = Blocklist::empty();
        assert!(!list.blocks_ip_text("203.0.113.9"));
        assert!(!list.blocks_device("x"));
    }
}
