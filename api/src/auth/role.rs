//! Roles and the principal a verified token stands for.

use std::fmt;
use std::str::FromStr;

use ledger::AdvertiserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// What a caller may do. Every endpoint names the roles it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An advertiser's own people: only that advertiser's objects, and never another's.
    Advertiser,
    /// Runs the platform day to day: advertisers, campaigns, pausing, reports.
    Operator,
    /// Money: deposits, credits, statements, reports.
    Billing,
    /// servingd: reads the campaign feed.
    Service,
    /// Everything, including users and keys of every role.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Advertiser,
        Role::Operator,
        Role::Billing,
        Role::Service,
        Role::Admin,
    ];

    /// The name stored in the database and in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Advertiser => "advertiser",
            Role::Operator => "operator",
            Role::Billing => "billing",
            Role::Service => "service",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling: the user or API key a token was issued to, with its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The user or API key.
    pub id: Uuid,
    pub role: Role,
    /// The one advertiser an `advertiser` principal is bound to; `None` for every other role.
    pub advertiser: Option<AdvertiserId>,
}

impl Principal {
    /// A new principal of a platform role (bound to no advertiser): what tests, benchmarks and
    /// tools that issue their own tokens sign in as.
    pub fn staff(role: Role) -> Principal {
        Principal {
            id: Uuid::now_v7(),
            role,
            advertiser: None,
        }
    }

    /// Refuses (403) unless the principal's role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Whether the principal may see objects of `advertiser`: every role but `advertiser` may;
    /// an advertiser only its own. Callers answer 404 otherwise, so ids leak nothing.
    pub fn sees(&self, advertiser: AdvertiserId) -> bool {
        match self.role {
            Role::Advertiser => self.advertiser == Some(advertiser),
            _ => true,
        }
    }

    /// The advertiser a listing is confined to: its own for an advertiser, else `requested`.
    pub fn scope(&self, requested: Option<AdvertiserId>) -> Option<AdvertiserId> {
        match self.role {
            Role::Advertiser => self.advertiser,
            _ => requested,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn an_advertiser_sees_only_its_own_objects() {
        let mine = AdvertiserId(Uuid::now_v7());
        let theirs = AdvertiserId(Uuid::now_v7());
        let advertiser = Principal {
            id: Uuid::now_v7(),
            role: Role::Advertiser,
            advertiser: Some(mine),
        };
        assert!(advertiser.sees(mine));
        assert!(!advertiser.sees(theirs));
        assert_eq!(advertiser.scope(Some(theirs)), Some(mine));
        let operator = Principal {
            role: Role::Operator,
            advertiser: None,
            ..advertiser
        };
        assert!(operator.sees(theirs));
        assert_eq!(operator.scope(Some(theirs)), Some(theirs));
        assert!(operator.require(&[Role::Admin]).is_err());
        assert!(operator.require(&[Role::Admin, Role::Operator]).is_ok());
    }
}
