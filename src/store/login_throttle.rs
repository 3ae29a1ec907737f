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
    at: DateTime<Utc>,
    keys: Vec<CountedKey>,
}

#[derive(Debug)]
struct CountedKey {
    key: String,
    is_address: bool,
    lock_before: Option<DateTime<Utc>>,
    lock_set: Option<DateTime<Utc>>,
    last_failure_before: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    key: String,
    is_address: bool,
    failures: i32,
    locked_until: Option<DateTime<Utc>>,
    last_failure_at: DateTime<Utc>,
}

/// The lock in force among `rows`, the address's first (it is the broader one: it holds for every
/// username tried from there).
fn lock_in(rows: &[Row], now: DateTime<Utc>) -> Option<Lock> {
    let locked = |address: bool| {
        rows.iter()
            .find(|r| r.is_address == address)
            .and_then(|r| r.locked_until)
            .filter(|until| *until > now)
    };
    locked(true)
        .map(Lock::Address)
        .or_else(|| locked(false).map(Lock::Username))
}

/// Refuses the attempt if the username or the address is locked, or counts it against both as a
/// failure.
pub async fn reserve(
    conn: &mut PgConnection,
    username: &str,
    address_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Reserved, sqlx::Error> {
    let rows = |lock_rows: &'static str| {
        format!(
            "SELECT key, key IS NOT DISTINCT FROM $2 AS is_address, failures, locked_until, last_failure_at \
             FROM login_throttle WHERE key = ANY(ARRAY[{USERNAME_KEY}, $2]) ORDER BY key {lock_rows}"
        )
    };
    // A lock in force is found without waiting for the rows: attempts at a locked key are refused
    // at once, not lined up (each on a pooled connection) behind each other's row locks.
    let seen: Vec<Row> = sqlx::query_as(&rows(""))
        .bind(username)
        .bind(address_key)
        .fetch_all(&mut *conn)
        .await?;
    if let Some(lock) = lock_in(&seen, now) {
        return Ok(Reserved::Locked(lock));
    }
    let wanted = 1 + usize::from(address_key.is_some());
    let mut locked: Vec<Row> = Vec::new();
    // Rows first, so that attempts at a key never seen before queue on its row like the others;
    // a row deleted before it is locked (forgiven by a success, forgotten by housekeeping) is
    // made again.
    for _ in 0..3 {
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
        locked = sqlx::query_as(&rows("FOR UPDATE"))
            .bind(username)
            .bind(address_key)
            .fetch_all(&mut *conn)
            .await?;
        if locked.len() == wanted {
            break;
        }
    }
    if let Some(lock) = lock_in(&locked, now) {
        return Ok(Reserved::Locked(lock));
    }
    let keys: Vec<CountedKey> = locked
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
                last_failure_before: row.last_failure_at,
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
    Ok(Reserved::Counted(Reservation { at: now, keys }))
}

/// Gives a right answer's attempt back: the address's count, lock and last failure are as before
/// it (each unless another attempt has changed it since), and the username's too, or, with
/// `forgive_username` (the login is complete), the username's failures are forgotten.
pub async fn release(
    conn: &mut PgConnection,
    reservation: &Reservation,
    forgive_username: bool,
) -> Result<(), sqlx::Error> {
    // Locked in the order `reserve` locks them: a release and a reservation of the same keys never
    // wait for each other crosswise.
    let all: Vec<&str> = reservation.keys.iter().map(|k| k.key.as_str()).collect();
    sqlx::query("SELECT 1 FROM login_throttle WHERE key = ANY($1) ORDER BY key FOR UPDATE")
        .bind(&all)
        .execute(&mut *conn)
        .await?;
    let undone: Vec<&CountedKey> = reservation
        .keys
        .iter()
        .filter(|k| k.is_address || !forgive_username)
        .collect();
    let names: Vec<&str> = undone.iter().map(|k| k.key.as_str()).collect();
    let before: Vec<Option<DateTime<Utc>>> = undone.iter().map(|k| k.lock_before).collect();
    let set: Vec<Option<DateTime<Utc>>> = undone.iter().map(|k| k.lock_set).collect();
    let last_before: Vec<DateTime<Utc>> = undone.iter().map(|k| k.last_failure_before).collect();
    let forgiven: Vec<&str> = reservation
        .keys
        .iter()
        .filter(|k| !k.is_address && forgive_username)
        .map(|k| k.key.as_str())
        .collect();
    sqlx::query(
        "WITH forgiven AS (DELETE FROM login_throttle WHERE key = ANY($4)) \
         UPDATE login_throttle t SET failures = greatest(t.failures - 1, 0), \
                locked_until = CASE WHEN t.locked_until IS NOT DISTINCT FROM c.set THEN c.before ELSE t.locked_until END, \
                last_failure_at = CASE WHEN t.last_failure_at = $6 THEN c.last_before ELSE t.last_failure_at END \
         FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $5::timestamptz[]) AS c(key, before, set, last_before) \
         WHERE t.key = c.key",
    )
    .bind(&names)
    .bind(&before)
    .bind(&set)
    .bind(&forgiven)
    .bind(&last_before)
    .bind(reservation.at)
    .execute(conn)
    .await?;
    Ok(())
}
