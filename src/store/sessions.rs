//! Server-side sessions. The cookie holds a random id; the table holds its sha256, so a leaked
//! table does not hand out live sessions.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

/// A live session with the user it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub reseller_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub read_only: bool,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
    pub impersonated_customer_id: Option<i64>,
    pub impersonated_reseller_id: Option<i64>,
    pub impersonated_customer_name: Option<String>,
    pub impersonation_expires_at: Option<DateTime<Utc>>,
}

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn create(conn: &mut PgConnection, session: NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(session.id_hash)
    .bind(session.user_id)
    .bind(session.csrf_token)
    .bind(session.now)
    .bind(session.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session with this id hash if it is neither idle too long nor past its absolute expiry and
/// its user is not disabled.
pub async fn find_live(
    conn: &mut PgConnection,
    id_hash: &[u8],
    now: DateTime<Utc>,
    idle: Duration,
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as::<_, SessionRow>(
        "SELECT u.id AS user_id, u.username, u.display_name, u.role, u.reseller_id, u.customer_id, u.read_only, \
                s.csrf_token, s.last_seen_at, s.impersonated_customer_id, s.impersonated_reseller_id, s.impersonated_customer_name, \
                s.impersonation_expires_at \
         FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled_at IS NULL",
    )
    .bind(id_hash)
    .bind(now)
    .bind(now - idle)
    .fetch_optional(conn)
    .await
}

/// Records activity, at most once a minute per session so that pages do not each write.
pub async fn touch(conn: &mut PgConnection, id_hash: &[u8], now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2 - interval '1 minute'")
        .bind(id_hash)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of a user except `keep` (the one making the change, if any).
pub async fn delete_others(conn: &mut PgConnection, user_id: i64, keep: Option<&[u8]>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2")
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Removes sessions that can no longer be used.
pub async fn delete_expired(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
