//! Connecting to PostgreSQL: creating the database, migrating it, and the two pools (the owner's
//! for migrations, seed and engine; the app role's for requests).

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres};

use crate::config::DatabaseConfig;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The role the app connects as unless APP_DATABASE_URL says otherwise (created by a migration).
pub const APP_ROLE: &str = "msp_app";

/// Why the database could not be used, in words for the person starting the portal.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(
        "cannot reach PostgreSQL at {url} ({cause}). Start PostgreSQL or point DATABASE_URL at a reachable server, \
         e.g. DATABASE_URL=postgres://user@host:5432/msp_portal"
    )]
    Unreachable { url: String, cause: String },
    #[error("DATABASE_URL is not a valid PostgreSQL URL ({0}). Example: postgres://postgres@127.0.0.1:5432/msp_portal")]
    BadUrl(String),
    #[error("migrating the database at {url} failed: {cause}")]
    Migration { url: String, cause: String },
}

/// The URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn owner_options(config: &DatabaseConfig) -> Result<PgConnectOptions, StartupError> {
    PgConnectOptions::from_str(&config.database_url)
        .map(|o| o.log_statements(tracing::log::LevelFilter::Debug))
        .map_err(|e| StartupError::BadUrl(e.to_string()))
}

/// Creates the database if it is missing and applies pending migrations.
pub async fn prepare(config: &DatabaseConfig) -> Result<PgPool, StartupError> {
    let url = &config.database_url;
    let unreachable = |cause: String| StartupError::Unreachable {
        url: redact(url),
        cause,
    };
    let exists = tokio::time::timeout(Duration::from_secs(10), Postgres::database_exists(url))
        .await
        .map_err(|_| unreachable("no answer within 10 seconds".into()))?;
    match exists {
        Ok(true) => {}
        Ok(false) => {
            Postgres::create_database(url)
                .await
                .map_err(|e| unreachable(short_cause(&e)))?;
            tracing::info!(database = %redact(url), "created the database");
        }
        Err(error) => return Err(unreachable(short_cause(&error))),
    }
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(owner_options(config)?)
        .await
        .map_err(|e| unreachable(short_cause(&e)))?;
    MIGRATOR.run(&pool).await.map_err(|e| StartupError::Migration {
        url: redact(url),
        cause: e.to_string(),
    })?;
    Ok(pool)
}

/// The pool requests use: the app role, short acquire timeout (a page should fail fast, not hang,
/// when the database is gone) and a per-connection statement timeout.
pub async fn app_pool(config: &DatabaseConfig) -> Result<PgPool, StartupError> {
    let options = match &config.app_database_url {
        Some(url) => PgConnectOptions::from_str(url).map_err(|e| StartupError::BadUrl(e.to_string()))?,
        None => owner_options(config)?.username(APP_ROLE),
    };
    // Sent in the startup packet, so they cost no statement. A page's queries read a few dozen
    // rows through indexes: parallel workers and JIT compilation cost more to start than they
    // save there, and on two cores shared with PostgreSQL they take CPU from the other requests.
    // Prepared statements keep one generic plan per connection: left to choose, PostgreSQL planned
    // the dashboard's header anew for every smaller reseller (2 ms, against 0.4 ms to run it),
    // because a custom plan's estimate for a few hundred rows undercuts the generic one's. Every
    // filter a page runs is an index condition on the tenant's ids, which a generic plan serves
    // for the largest reseller and the smallest alike (docs/performance.md, 17:45 measurements).
    let options = options
        .options([
            ("statement_timeout", format!("{}", config.statement_timeout_ms)),
            ("max_parallel_workers_per_gather", "0".to_string()),
            ("jit", "off".to_string()),
            ("plan_cache_mode", "force_generic_plan".to_string()),
        ])
        .log_statements(tracing::log::LevelFilter::Debug);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2);
    PgPoolOptions::new()
        .max_connections(config.pool_size.unwrap_or(2 * cores).max(1))
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(3))
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| StartupError::Unreachable {
            url: redact(config.app_database_url.as_deref().unwrap_or(&config.database_url)),
            cause: short_cause(&e),
        })
}

fn short_cause(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(redact("not a url"), "not a url");
    }
}
