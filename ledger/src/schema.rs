//! Whether a database's schema is the one this build expects. Migrations are applied by one
//! explicit command (`api migrate`, as the database's owner), never by a service starting: a
//! service connects as a role that may not change the schema, checks here that every migration
//! it knows was applied, and refuses to start, naming the command, when one was not. A database
//! ahead of the build (migrated by a newer release during a rolling deploy) is accepted:
//! migrations only add.

use sqlx::PgPool;

use crate::MIGRATOR;

/// Why a service does not start on this database.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database has no migrations applied: run `api migrate` (as the database's owner) first"
    )]
    Unmigrated,
    #[error(
        "the database lacks migration {missing} (this build knows {known}): run `api migrate` \
         (as the database's owner) first"
    )]
    Behind { missing: i64, known: i64 },
    #[error("reading the applied migrations: {0}")]
    Database(#[from] sqlx::Error),
}

/// Refuses a database that lacks a migration this build knows.
pub async fn require_current(pool: &PgPool) -> Result<(), SchemaError> {
    let applied: Vec<i64> =
        match sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(pool)
            .await
        {
            Ok(applied) => applied,
            // no history table: never migrated
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => {
                return Err(SchemaError::Unmigrated);
            }
            Err(e) => return Err(e.into()),
        };
    let known: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    check(&applied, &known)
}

/// The first migration `known` to this build that is not among the `applied` ones (pure).
fn check(applied: &[i64], known: &[i64]) -> Result<(), SchemaError> {
    if applied.is_empty() {
        return Err(SchemaError::Unmigrated);
    }
    match known.iter().find(|version| !applied.contains(version)) {
        Some(missing) => Err(SchemaError::Behind {
            missing: *missing,
            known: known.iter().copied().max().unwrap_or_default(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_missing_a_known_migration_is_refused_and_one_ahead_is_not() {
        assert!(check(&[1, 2, 3], &[1, 2, 3]).is_ok());
        assert!(
            check(&[1, 2, 3, 4], &[1, 2, 3]).is_ok(),
            "ahead: a newer release migrated"
        );
        assert!(matches!(
            check(&[1, 3], &[1, 2, 3]),
            Err(SchemaError::Behind {
                missing: 2,
                known: 3
            })
        ));
        assert!(matches!(check(&[], &[1]), Err(SchemaError::Unmigrated)));
        let said = check(&[1], &[1, 2]).expect_err("behind").to_string();
        assert!(said.contains("api migrate"), "{said}");
    }
}
