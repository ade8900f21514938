//! Who may change which user (pure). Nobody disables, deletes or demotes themselves (another
//! admin must, so the last admin cannot lock everyone out by mistake); an advertiser's own
//! people manage only the users they created, of their own advertiser; operators and admins
//! manage every advertiser's users; only admins change staff users, roles and others'
//! passwords.

use ledger::AdvertiserId;
use uuid::Uuid;

use super::role::{Principal, Role};
use crate::error::ApiError;

/// The user a change is aimed at, as far as the rules care.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub id: Uuid,
    pub advertiser: Option<AdvertiserId>,
    pub created_by: Option<Uuid>,
}

/// Whether `actor` may disable, enable or delete `target` through the routes of `advertiser`
/// (the advertiser in the path, already visible to the actor).
pub fn may_manage_advertiser_user(
    actor: &Principal,
    advertiser: AdvertiserId,
    target: &Target,
) -> Result<(), ApiError> {
    if target.advertiser != Some(advertiser) {
        return Err(ApiError::NotFound("user"));
    }
    not_yourself(actor, target)?;
    match actor.role {
        Role::Operator | Role::Admin => Ok(()),
        Role::Advertiser if target.created_by == Some(actor.id) => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

/// Whether an admin `actor` may change `target`'s role or standing, or delete it.
pub fn may_change_standing(actor: &Principal, target: &Target) -> Result<(), ApiError> {
    actor.require(&[Role::Admin])?;
    not_yourself(actor, target)
}

fn not_yourself(actor: &Principal, target: &Target) -> Result<(), ApiError> {
    if actor.id == target.id {
        return Err(ApiError::Conflict(
            "you cannot disable, delete or change the role of your own user: ask another admin"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, advertiser: Option<AdvertiserId>) -> Principal {
        Principal {
            id: Uuid::now_v7(),
            role,
            advertiser,
        }
    }

    #[test]
    fn an_advertisers_user_manages_only_the_users_it_created_there() {
        let acme = AdvertiserId(Uuid::now_v7());
        let ana = principal(Role::Advertiser, Some(acme));
        let made_by_ana = Target {
            id: Uuid::now_v7(),
            advertiser: Some(acme),
            created_by: Some(ana.id),
        };
        assert!(may_manage_advertiser_user(&ana, acme, &made_by_ana).is_ok());
        let made_by_staff = Target {
            created_by: Some(Uuid::now_v7()),
            ..made_by_ana
        };
        assert!(matches!(
            may_manage_advertiser_user(&ana, acme, &made_by_staff),
            Err(ApiError::Forbidden)
        ));
        let elsewhere = AdvertiserId(Uuid::now_v7());
        assert!(matches!(
            may_manage_advertiser_user(&ana, elsewhere, &made_by_ana),
            Err(ApiError::NotFound(_))
        ));
        let herself = Target {
            id: ana.id,
            ..made_by_ana
        };
        assert!(matches!(
            may_manage_advertiser_user(&ana, acme, &herself),
            Err(ApiError::Conflict(_))
        ));
    }

    #[test]
    fn operators_manage_any_advertisers_users_and_only_admins_change_standing() {
        let acme = AdvertiserId(Uuid::now_v7());
        let anyone = Target {
            id: Uuid::now_v7(),
            advertiser: Some(acme),
            created_by: None,
        };
        let operator = principal(Role::Operator, None);
        assert!(may_manage_advertiser_user(&operator, acme, &anyone).is_ok());
        assert!(matches!(
            may_manage_advertiser_user(&principal(Role::Billing, None), acme, &anyone),
            Err(ApiError::Forbidden)
        ));
        assert!(matches!(
            may_change_standing(&operator, &anyone),
            Err(ApiError::Forbidden)
        ));
        let admin = principal(Role::Admin, None);
        assert!(may_change_standing(&admin, &anyone).is_ok());
        let own = Target {
            id: admin.id,
            advertiser: None,
            created_by: None,
        };
        assert!(matches!(
            may_change_standing(&admin, &own),
            Err(ApiError::Conflict(_))
        ));
    }
}
