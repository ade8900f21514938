//! The partners servingd knows: a bid request's credential finds its partner by hash, an
//! event's token finds the partner that sold its ad by id. Swapped whole when the table changes.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::credential;
use crate::partner::Partner;

/// The partners of one revision of the table.
#[derive(Debug, Default)]
pub struct Directory {
    revision: i64,
    by_key: HashMap<[u8; 32], Arc<Partner>>,
    by_id: HashMap<Uuid, Arc<Partner>>,
}

impl Directory {
    /// No partners: every bid request is refused (revision -1, so the first load replaces it).
    pub fn empty() -> Self {
        Directory {
            revision: -1,
            ..Directory::default()
        }
    }

    /// The partners of `revision`, each with the hash of its credential.
    pub fn new(revision: i64, partners: impl IntoIterator<Item = ([u8; 32], Partner)>) -> Self {
        let mut by_key = HashMap::new();
        let mut by_id = HashMap::new();
        for (key_hash, partner) in partners {
            let partner = Arc::new(partner);
            by_id.insert(partner.id, partner.clone());
            by_key.insert(key_hash, partner);
        }
        Directory {
            revision,
            by_key,
            by_id,
        }
    }

    /// The revision of the table this was read from.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// How many partners it holds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The partner whose credential is `presented`, active or not.
    pub fn by_credential(&self, presented: &str) -> Option<&Arc<Partner>> {
        if !presented.starts_with(credential::PREFIX) {
            return None;
        }
        self.by_key.get(&credential::hash(presented))
    }

    /// The partner with this id.
    pub fn get(&self, id: Uuid) -> Option<&Arc<Partner>> {
        self.by_id.get(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Credential;
    use crate::partner::PartnerStatus;

    #[test]
    fn a_credential_finds_its_partner_and_nothing_else_does() {
        let key = Credential::generate();
        let partner = Partner {
            id: Uuid::from_u128(7),
            name: "x".into(),
            status: PartnerStatus::Active,
            currency: "USD".into(),
            max_cpm_micros: None,
            burl_networks: Vec::new(),
        };
        let directory = Directory::new(3, [(key.hash(), partner)]);
        assert_eq!(directory.revision(), 3);
        assert_eq!(
            directory.by_credential(key.expose()).map(|p| p.id),
            Some(Uuid::from_u128(7))
        );
        assert!(
            directory
                .by_credential(Credential::generate().expose())
                .is_none()
        );
        assert!(directory.by_credential("").is_none());
        assert!(directory.get(Uuid::from_u128(7)).is_some());
        assert!(directory.get(Uuid::from_u128(8)).is_none());
        assert!(Directory::empty().by_credential(key.expose()).is_none());
    }
}
