//! What a customer sees of itself in its own portal.

use chrono::{DateTime, Utc};

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerSummary {
    pub id: i64,
    pub name: String,
    pub reseller_name: String,
    pub clients: i64,
    pub max_clients: Option<i32>,
    pub used_space_bytes: i64,
    pub space_quota_bytes: Option<i64>,
    pub activated: bool,
    pub lifecycle: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectorRow {
    pub name: String,
    pub kind: String,
    pub health: String,
    pub health_reason: String,
    pub last_success_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub source: String,
    pub started_at: DateTime<Utc>,
    pub status: String,
    pub bytes: i64,
}

/// The scope's own customer. Customer scope only: other scopes have no "own" customer.
pub async fn summary(tx: &mut Tx) -> Result<CustomerSummary, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, CustomerSummary>(
        "SELECT c.id, c.name, r.name AS reseller_name, \
                c.client_count AS clients, c.max_clients, c.used_space_bytes, c.space_quota_bytes, c.activated, c.lifecycle \
         FROM customers c JOIN resellers r ON r.id = c.reseller_id WHERE c.id = $1",
    )
    .bind(customer_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn connectors(tx: &mut Tx) -> Result<Vec<ConnectorRow>, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, ConnectorRow>(
        "SELECT name, kind, health, health_reason, last_success_at FROM connectors \
         WHERE customer_id = $1 ORDER BY CASE health WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, lower(name)",
    )
    .bind(customer_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn recent_jobs(tx: &mut Tx, limit: i64) -> Result<Vec<JobRow>, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, JobRow>(
        "SELECT coalesce(k.name, cl.hostname, cl.client_key) AS source, j.started_at, j.status, j.bytes \
         FROM backup_jobs j \
         LEFT JOIN connectors k ON k.id = j.connector_id \
         LEFT JOIN clients cl ON cl.id = j.client_id \
         WHERE j.customer_id = $1 ORDER BY j.started_at DESC, j.id DESC LIMIT $2",
    )
    .bind(customer_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub client_key: String,
    pub hostname: String,
    pub os: String,
    pub status: String,
    pub health: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub used_space_bytes: i64,
}

pub async fn clients(tx: &mut Tx) -> Result<Vec<ClientRow>, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, ClientRow>(
        "SELECT id, client_key, hostname, os, status, health, last_seen_at, used_space_bytes FROM clients \
         WHERE customer_id = $1 ORDER BY lower(client_key), id",
    )
    .bind(customer_id)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UsageDay {
    pub day: chrono::NaiveDate,
    pub credits_consumed: f64,
    pub storage_bytes: i64,
}

/// Usage from `from` on, oldest first.
pub async fn usage(tx: &mut Tx, from: chrono::NaiveDate) -> Result<Vec<UsageDay>, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, UsageDay>(
        "SELECT day, credits_consumed::float8 AS credits_consumed, storage_bytes FROM usage_daily WHERE customer_id = $1 AND day >= $2 ORDER BY day",
    )
    .bind(customer_id)
    .bind(from)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub severity: String,
    pub message: String,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Open alerts first, then recently resolved ones.
pub async fn alerts(tx: &mut Tx, limit: i64) -> Result<Vec<AlertRow>, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, AlertRow>(
        "SELECT severity, message, raised_at, resolved_at FROM alerts WHERE customer_id = $1 \
         ORDER BY resolved_at IS NOT NULL, raised_at DESC, id DESC LIMIT $2",
    )
    .bind(customer_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// What limits a new client: the customer's clients, its max clients and MCAL allotment, and
/// what the reseller's pool has left.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    pub clients: i64,
    pub max_clients: Option<i32>,
    pub mcals_allotted: Option<i32>,
    pub pool_free: i64,
}

/// The limits. With `lock` (before adding a client) it holds the customer's row and the reseller's
/// pool until the transaction ends (`lock_mcal_pool`, as `clients::lock_pool` takes it), so that no
/// other client, however added, takes the place or the MCAL it counted on. Either way the pool is
/// counted once, in this statement: the locking function counts after its lock, in a snapshot of
/// its own.
pub async fn client_limits(tx: &mut Tx, lock: bool) -> Result<ClientLimits, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    let reseller_id = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    let pool = if lock {
        super::customers::lock(tx, customer_id).await?;
        "lock_mcal_pool"
    } else {
        "mcal_pool_usage"
    };
    let (clients, max_clients, mcals_allotted, mcal_pool, drawing_from_pool): (
        i64,
        Option<i32>,
        Option<i32>,
        i32,
        i64,
    ) = sqlx::query_as(&format!(
        "SELECT c.client_count, c.max_clients, c.mcals_allotted, coalesce(u.mcal_pool, 0), \
                    coalesce(u.drawing_from_pool, 0) \
             FROM customers c LEFT JOIN LATERAL {pool}(c.reseller_id) u ON true \
             WHERE c.id = $1 AND c.reseller_id = $2"
    ))
    .bind(customer_id)
    .bind(reseller_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(ClientLimits {
        clients,
        max_clients,
        mcals_allotted,
        pool_free: crate::domain::licensing::mcal_pool_free(i64::from(mcal_pool), drawing_from_pool),
    })
}

/// Adds a client to the scope's own customer; `Ok(None)` when it already has one with this id.
pub async fn add_client(tx: &mut Tx, new: &super::clients::NewClient<'_>) -> Result<Option<i64>, sqlx::Error> {
    let customer_id = tx.scope().customer_id().ok_or(sqlx::Error::RowNotFound)?;
    let reseller_id = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    super::clients::insert(tx, reseller_id, customer_id, new).await
}
