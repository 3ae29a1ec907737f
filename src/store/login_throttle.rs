//! Failed logins per username and per client address (`login_throttle`), shared by every instance
//! and kept across restarts; the rule that turns a count into a lock is [`crate::auth::throttle`]'s.
//!
//! An attempt is counted before its password (or second factor) is checked: [`reserve`] locks the
//! keys' rows, refuses the attempt if a lock holds, and otherwise counts it as a failure, with the
//! lock that failure brings. A right answer then gives the attempt back ([`release`]). Counted
//! only after the check (argon2 takes a while), guesses sent all at once all passed the check
//! before any of them was counted, whatever the limit. Each function runs in the caller's `auth`
//! transaction; the rows stay locked until it ends, so it should end soon.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::auth::throttle::{FREE_ATTEMPTS, FREE_ATTEMPTS_PER_ADDRESS, Lock, lock_after_free};

/// A username's key, `$1` being the username: `lower()` as the login's lookup of users spells it,
/// so that no spelling of a name that finds the same user draws an allowance of its own.
const USERNAME_KEY: &str = "'user:' || encode(sha256(convert_to(lower($1), 'UTF8')), 'hex')";

/// What [`reserve`] decided.
#[derive(Debug)]
pub enum Reserved {
    /// Refused: nothing was counted.
    Locked(Lock),
    /// Counted as a failure until [`release`]d.
    Counted(Reservation),
}

/// An attempt counted as a failure, with what its counting changed, to give it back.
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<CountedKey>,
}

#[derive(Debug)]
struct CountedKey {
    key: String,
    is_address: bool,
    lock_before: Option<DateTime<Utc>>,
    lock_set: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    key: String,
    is_address: bool,
    failures: i32,
    locked_until: Option<DateTime<Utc>>,
}

/// Refuses the attempt if the username or the address is locked (the address's lock first: it is
/// the broader one), or counts it against both as a failure.
pub async fn reserve(
    conn: &mut PgConnection,
    username: &str,
    address_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Reserved, sqlx::Error> {
    // Rows first, so that attempts at a key never seen before queue on its row like the others.
    sqlx::query(&format!(
        "INSERT INTO login_throttle (key, failures, last_failure_at) \
         SELECT key, 0, $3 FROM unnest(ARRAY[{USERNAME_KEY}, $2]) AS k(key) WHERE key IS NOT NULL \
         ON CONFLICT (key) DO NOTHING"
    ))
    .bind(username)
    .bind(address_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT key, key IS NOT DISTINCT FROM $2 AS is_address, failures, locked_until FROM login_throttle \
         WHERE key = ANY(ARRAY[{USERNAME_KEY}, $2]) ORDER BY key FOR UPDATE"
    ))
    .bind(username)
    .bind(address_key)
    .fetch_all(&mut *conn)
    .await?;
    let locked = |address: bool| {
        rows.iter()
            .find(|r| r.is_address == address)
            .and_then(|r| r.locked_until)
            .filter(|until| *until > now)
    };
    if let Some(lock) = locked(true)
        .map(Lock::Address)
        .or_else(|| locked(false).map(Lock::Username))
    {
        return Ok(Reserved::Locked(lock));
    }
    let keys: Vec<CountedKey> = rows
        .into_iter()
        .map(|row| {
            let free = if row.is_address {
                FREE_ATTEMPTS_PER_ADDRESS
            } else {
                FREE_ATTEMPTS
            };
            let failures = u32::try_from(row.failures).unwrap_or(0).saturating_add(1);
            CountedKey {
                lock_set: lock_after_free(failures, free).map(|lock| now + lock),
                key: row.key,
                is_address: row.is_address,
                lock_before: row.locked_until,
            }
        })
        .collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    let locks: Vec<Option<DateTime<Utc>>> = keys.iter().map(|k| k.lock_set).collect();
    sqlx::query(
        "UPDATE login_throttle t SET failures = t.failures + 1, last_failure_at = $3, \
                locked_until = coalesce(c.lock, t.locked_until) \
         FROM unnest($1::text[], $2::timestamptz[]) AS c(key, lock) WHERE t.key = c.key",
    )
    .bind(&names)
    .bind(&locks)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(Reserved::Counted(Reservation { keys }))
}

/// Gives a right answer's attempt back: the address's count and lock are as before it (unless
/// another attempt has changed the lock since), and the username's too, or, with
/// `forgive_username` (the login is complete), the username's failures are forgotten.
pub async fn release(
    conn: &mut PgConnection,
    reservation: &Reservation,
    forgive_username: bool,
) -> Result<(), sqlx::Error> {
    let undone: Vec<&CountedKey> = reservation
        .keys
        .iter()
        .filter(|k| k.is_address || !forgive_username)
        .collect();
    let names: Vec<&str> = undone.iter().map(|k| k.key.as_str()).collect();
    let before: Vec<Option<DateTime<Utc>>> = undone.iter().map(|k| k.lock_before).collect();
    let set: Vec<Option<DateTime<Utc>>> = undone.iter().map(|k| k.lock_set).collect();
    let forgiven: Vec<&str> = reservation
        .keys
        .iter()
        .filter(|k| !k.is_address && forgive_username)
        .map(|k| k.key.as_str())
        .collect();
    sqlx::query(
        "WITH forgiven AS (DELETE FROM login_throttle WHERE key = ANY($4)) \
         UPDATE login_throttle t SET failures = greatest(t.failures - 1, 0), \
                locked_until = CASE WHEN t.locked_until IS NOT DISTINCT FROM c.set THEN c.before ELSE t.locked_until END \
         FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS c(key, before, set) WHERE t.key = c.key",
    )
    .bind(&names)
    .bind(&before)
    .bind(&set)
    .bind(&forgiven)
    .execute(conn)
    .await?;
    Ok(())
}
