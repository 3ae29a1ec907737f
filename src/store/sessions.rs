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
    /// `Some` for an admin limited to chosen customers: those customers' ids.
    pub granted_customers: Option<Vec<i64>>,
    pub two_factor_enabled: bool,
    pub two_factor_required: bool,
    pub must_change_password: bool,
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

/// A live session, its user, and the tenant settings the lookup left on the transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenedSession {
    #[sqlx(flatten)]
    pub session: SessionRow,
    pub scope_kind: String,
    pub scope_reseller_id: String,
    pub scope_customer_id: String,
    pub scope_customer_ids: String,
    /// The lookup wrote the session's activity stamp: its transaction has that to commit.
    pub activity_recorded: bool,
}

/// Looks the session up, records activity at most once a minute (so that pages do not each
/// write), and leaves its user's tenant scope set on the transaction, which it makes READ ONLY —
/// one statement (`app_open_session`, migrations 20261201800001, 20261206000005 and
/// 20261206000007, which runs it as its owner). On a
/// connection outside a transaction the settings end with the statement.
pub async fn open(
    conn: &mut PgConnection,
    id_hash: &[u8],
    now: DateTime<Utc>,
    idle: Duration,
) -> Result<Option<OpenedSession>, sqlx::Error> {
    sqlx::query_as::<_, OpenedSession>("SELECT * FROM app_open_session($1, $2, $3)")
        .bind(id_hash)
        .bind(now)
        .bind(now - idle)
        .fetch_optional(conn)
        .await
}

/// Ends the session a browser had before it logged in again: expired, not deleted, so that the
/// engine's housekeeping records the end of an impersonation it was acting in (in the customer's
/// audit log) before it deletes the row; deleted, it ended unrecorded. Expired whatever its state:
/// a statement that chose between expiring and deleting by whether it impersonates could miss a
/// row whose impersonation another transaction ends meanwhile, and leave it valid.
pub async fn end_replaced(conn: &mut PgConnection, id_hash: &[u8], now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET expires_at = least(expires_at, $2) WHERE id_hash = $1")
        .bind(id_hash)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of a user except `keep` (the one making the change, if any); returns how
/// many. A session acting as a customer is expired rather than deleted, so that the engine's
/// housekeeping records the end of its impersonation in the customer's audit log, as it does for
/// any session that expires while acting as one (jobs::steps), and then deletes it.
pub async fn delete_others(
    conn: &mut PgConnection,
    user_id: i64,
    keep: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    // Every one is expired first, then those not acting as a customer deleted, in two statements:
    // the expiry locks them all, so a concurrent start or end of an impersonation either committed
    // before it or waits for this transaction, and the deletion's snapshot, taken after, sees it.
    // As one statement (expire the impersonating, delete the rest), a session whose impersonation
    // changed meanwhile matched neither half and stayed valid.
    let ended = sqlx::query(
        "UPDATE sessions SET expires_at = least(expires_at, $3) WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2 AND impersonation_started_at IS NULL",
    )
    .bind(user_id)
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    Ok(ended.rows_affected())
}

/// The "log in as" state of a session, as it stood before it ended.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndedImpersonation {
    pub customer_id: i64,
    pub reseller_id: i64,
    pub customer_name: String,
    pub reason: String,
    pub started_at: DateTime<Utc>,
}

pub struct StartImpersonation<'a> {
    pub customer_id: i64,
    pub reseller_id: i64,
    pub customer_name: &'a str,
    pub reason: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Makes the session act as a customer until `expires_at`. False when the session is gone or
/// already acting as a customer.
pub async fn start_impersonation(
    conn: &mut PgConnection,
    id_hash: &[u8],
    start: StartImpersonation<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET impersonated_customer_id = $2, impersonated_reseller_id = $3, \
                impersonated_customer_name = $4, impersonation_reason = $5, impersonation_started_at = $6, \
                impersonation_expires_at = $7 \
         WHERE id_hash = $1 AND (impersonation_started_at IS NULL OR impersonation_expires_at <= $6)",
    )
    .bind(id_hash)
    .bind(start.customer_id)
    .bind(start.reseller_id)
    .bind(start.customer_name)
    .bind(start.reason)
    .bind(start.now)
    .bind(start.expires_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the session's "log in as", returning what it was; `only_expired_at` ends it only if its
/// time limit has passed by then. The row lock makes one request, and only one, see it end.
pub async fn end_impersonation(
    conn: &mut PgConnection,
    id_hash: &[u8],
    only_expired_at: Option<DateTime<Utc>>,
) -> Result<Option<EndedImpersonation>, sqlx::Error> {
    sqlx::query_as::<_, EndedImpersonation>(
        "WITH old AS ( \
             SELECT id_hash, impersonated_customer_id, impersonated_reseller_id, impersonated_customer_name, \
                    impersonation_reason, impersonation_started_at \
             FROM sessions WHERE id_hash = $1 AND impersonation_started_at IS NOT NULL \
               AND ($2::timestamptz IS NULL OR impersonation_expires_at <= $2) \
             FOR UPDATE) \
         UPDATE sessions s SET impersonated_customer_id = NULL, impersonated_reseller_id = NULL, \
                impersonated_customer_name = NULL, impersonation_reason = NULL, impersonation_started_at = NULL, \
                impersonation_expires_at = NULL \
         FROM old WHERE s.id_hash = old.id_hash \
         RETURNING coalesce(old.impersonated_customer_id, 0) AS customer_id, \
                   coalesce(old.impersonated_reseller_id, 0) AS reseller_id, \
                   coalesce(old.impersonated_customer_name, '') AS customer_name, \
                   coalesce(old.impersonation_reason, '') AS reason, \
                   old.impersonation_started_at AS started_at",
    )
    .bind(id_hash)
    .bind(only_expired_at)
    .fetch_optional(conn)
    .await
}
