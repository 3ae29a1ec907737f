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
                (SELECT count(*) FROM clients k WHERE k.customer_id = c.id) AS clients, \
                c.max_clients, c.used_space_bytes, c.space_quota_bytes, c.activated, c.lifecycle \
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
