//! Failed logins per username and per client address (`login_throttle`), shared by every instance
//! and kept across restarts; the rule that turns a count into a lock is [`crate::auth::throttle`]'s.
//! Each function runs in the caller's `auth` transaction.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::auth::throttle::{Key, Lock, lock_after_free};

/// The lock in force at `now` on the username or on the address, the address's first (it is the
/// broader one: it holds for every username tried from there).
pub async fn lock(
    conn: &mut PgConnection,
    username: &Key,
    address: Option<&Key>,
    now: DateTime<Utc>,
) -> Result<Option<Lock>, sqlx::Error> {
    let keys: Vec<&str> = std::iter::once(username)
        .chain(address)
        .map(|k| k.key.as_str())
        .collect();
    let locks: Vec<(String, DateTime<Utc>)> =
        sqlx::query_as("SELECT key, locked_until FROM login_throttle WHERE key = ANY($1) AND locked_until > $2")
            .bind(&keys)
            .bind(now)
            .fetch_all(conn)
            .await?;
    let until = |key: &Key| locks.iter().find(|(k, _)| *k == key.key).map(|(_, until)| *until);
    Ok(address
        .and_then(until)
        .map(Lock::Address)
        .or_else(|| until(username).map(Lock::Username)))
}

/// Counts one failure against each key and locks those past their free attempts. Two instances
/// counting at once each add theirs (the row is locked by the upsert), and a lock never shortens.
pub async fn record_failure(conn: &mut PgConnection, keys: &[&Key], now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    let counted: Vec<(String, i32)> = sqlx::query_as(
        "INSERT INTO login_throttle AS t (key, failures, last_failure_at) \
         SELECT key, 1, $2 FROM unnest($1::text[]) AS k(key) \
         ON CONFLICT (key) DO UPDATE SET failures = t.failures + 1, last_failure_at = $2 \
         RETURNING key, failures",
    )
    .bind(&names)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let (mut locked, mut until) = (Vec::new(), Vec::new());
    for (name, failures) in counted {
        let Some(key) = keys.iter().find(|k| k.key == name) else {
            continue;
        };
        if let Some(lock) = lock_after_free(u32::try_from(failures).unwrap_or(u32::MAX), key.free) {
            locked.push(name);
            until.push(now + lock);
        }
    }
    if !locked.is_empty() {
        sqlx::query(
            "UPDATE login_throttle t SET locked_until = greatest(t.locked_until, l.until) \
             FROM unnest($1::text[], $2::timestamptz[]) AS l(key, until) WHERE t.key = l.key",
        )
        .bind(&locked)
        .bind(&until)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Forgets a key's failures (a username's, after its password and second factor were right).
pub async fn forgive(conn: &mut PgConnection, key: &Key) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(&key.key)
        .execute(conn)
        .await?;
    Ok(())
}
