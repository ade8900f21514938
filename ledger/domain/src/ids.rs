//! Identifiers. Each kind of id is its own type so one can never be passed for another.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A ledger account, numbered by the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        #[cfg(feature = "new-ids")]
        impl $name {
            /// A fresh, time-ordered id (UUIDv7): new rows land at the end of the index.
            #[inline]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        #[cfg(feature = "new-ids")]
        impl Default for $name {
            #[inline]
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            #[inline]
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            #[inline]
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A transfer or pending transfer, chosen by the caller: the key that makes a retry harmless.
    TransferId
);
uuid_id!(
    /// An advertiser.
    AdvertiserId
);
uuid_id!(
    /// A campaign.
    CampaignId
);
uuid_id!(
    /// A budget lease granted to one serving instance.
    LeaseId
);

/// Namespace for ids derived from external keys (`Idempotency-Key` headers, event ids).
const TRANSFER_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c52_9d0e_4b7a_8e21_5f4c_0b9d_7e13);

impl TransferId {
    /// The transfer id for an external key: the same key always gives the same id (UUIDv5), so an
    /// `Idempotency-Key` or an event id can serve directly as the idempotency key of a transfer.
    #[inline]
    pub fn from_key(scope: &str, key: &str) -> Self {
        let name = format!("{scope}\u{0}{key}");
        Self(Uuid::new_v5(&TRANSFER_KEY_NAMESPACE, name.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_scoped() {
        assert_eq!(
            TransferId::from_key("event", "a1"),
            TransferId::from_key("event", "a1")
        );
        assert_ne!(
            TransferId::from_key("event", "a1"),
            TransferId::from_key("deposit", "a1")
        );
        assert_ne!(
            TransferId::from_key("ev", "ent\u{0}a1"),
            TransferId::from_key("event", "a1")
        );
    }
}
