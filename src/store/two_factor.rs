//! Second factors: a user's TOTP secret and recovery codes, and the login challenges between a
//! correct password and a correct code. All of it runs in the auth scope (`store::auth`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A user's second factor as the account page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Status {
    pub enabled_at: Option<DateTime<Utc>>,
    pub pending_secret: Option<String>,
    pub recovery_codes_left: i64,
}

pub async fn status(conn: &mut PgConnection, user_id: i64) -> Result<Status, sqlx::Error> {
    sqlx::query_as::<_, Status>(
        "SELECT CASE WHEN totp_secret IS NOT NULL THEN coalesce(totp_enabled_at, created_at) END AS enabled_at, \
                totp_pending_secret AS pending_secret, \
                (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS recovery_codes_left \
         FROM users u WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// Keeps a new secret until the user proves, with a code, that its authenticator has it.
pub async fn set_pending_secret(conn: &mut PgConnection, user_id: i64, secret: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET totp_pending_secret = $2 WHERE id = $1")
        .bind(user_id)
        .bind(secret)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes the pending secret the user's second factor, with `step` as its first used code and a
/// fresh set of recovery codes. False when the pending secret changed meanwhile.
pub async fn enable(
    conn: &mut PgConnection,
    user_id: i64,
    secret: &str,
    step: i64,
    recovery_code_hashes: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_enabled_at = $3, \
                totp_last_step = $4 \
         WHERE id = $1 AND totp_pending_secret = $2",
    )
    .bind(user_id)
    .bind(secret)
    .bind(now)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    replace_recovery_codes(conn, user_id, recovery_code_hashes).await?;
    Ok(true)
}

pub async fn replace_recovery_codes(
    conn: &mut PgConnection,
    user_id: i64,
    code_hashes: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])")
        .bind(user_id)
        .bind(code_hashes)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn disable(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
         WHERE id = $1",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The user's TOTP secret and the last step accepted, if it has a second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Secret {
    pub secret: String,
    pub last_step: Option<i64>,
}

pub async fn secret(conn: &mut PgConnection, user_id: i64) -> Result<Option<Secret>, sqlx::Error> {
    sqlx::query_as::<_, Secret>(
        "SELECT totp_secret AS secret, totp_last_step AS last_step FROM users WHERE id = $1 AND totp_secret IS NOT NULL",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Records `step` as used; false when it (or a later one) was used already — two requests racing
/// with the same code get one success between them.
pub async fn accept_step(conn: &mut PgConnection, user_id: i64, step: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Spends a recovery code; false when it is not one of the user's unused codes.
pub async fn use_recovery_code(
    conn: &mut PgConnection,
    user_id: i64,
    code_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(user_id)
            .bind(code_hash)
            .bind(now)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A login waiting for its second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Challenge {
    pub user_id: i64,
    pub username: String,
    pub next_path: String,
    pub failed_attempts: i32,
}

pub struct NewChallenge<'a> {
    pub id_hash: &'a [u8],
    pub user_id: i64,
    pub next_path: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn create_challenge(conn: &mut PgConnection, new: NewChallenge<'_>) -> Result<(), sqlx::Error> {
    // One pending login per user: an older challenge is worth nothing once a new one exists.
    sqlx::query("DELETE FROM login_challenges WHERE user_id = $1 OR expires_at <= $2")
        .bind(new.user_id)
        .bind(new.now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO login_challenges (id_hash, user_id, next_path, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new.id_hash)
    .bind(new.user_id)
    .bind(new.next_path)
    .bind(new.now)
    .bind(new.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The challenge if it has not expired and its user may still log in. Locks it, so that two
/// answers to one challenge are judged one after the other.
pub async fn find_challenge(
    conn: &mut PgConnection,
    id_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Challenge>, sqlx::Error> {
    sqlx::query_as::<_, Challenge>(
        "SELECT c.user_id, u.username, c.next_path, c.failed_attempts \
         FROM login_challenges c JOIN users u ON u.id = c.user_id \
         WHERE c.id_hash = $1 AND c.expires_at > $2 AND u.disabled_at IS NULL AND u.totp_secret IS NOT NULL \
         FOR UPDATE OF c",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

pub async fn record_challenge_failure(conn: &mut PgConnection, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE login_challenges SET failed_attempts = failed_attempts + 1 WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_challenge(conn: &mut PgConnection, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_challenges WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(())
}
