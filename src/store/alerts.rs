//! Alerts raised about a reseller's customers: listing with filters, acknowledging, resolving.

use chrono::{DateTime, Utc};

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub severity: String,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub reseller_name: String,
    pub kind: String,
    pub message: String,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which alerts: `state` is "open" (not resolved), "recent" (open, or resolved since
/// `recent_since`), "acknowledged" (open and acknowledged), "resolved" or "all".
pub struct Filter<'a> {
    pub severity: Option<&'a str>,
    pub customer_id: Option<i64>,
    pub state: &'a str,
    pub recent_since: DateTime<Utc>,
    /// Just this alert (for redrawing one row).
    pub only_id: Option<i64>,
    pub before: Option<(DateTime<Utc>, i64)>,
    pub limit: i64,
}

/// Newest first. The scope decides whose alerts; a customer scope sees its own only.
pub async fn list(tx: &mut Tx, filter: &Filter<'_>) -> Result<Vec<AlertRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    let own_customer = tx.scope().customer_id();
    let (before_at, before_id) = match filter.before {
        Some((at, id)) => (Some(at), id),
        None => (None, 0),
    };
    sqlx::query_as::<_, AlertRow>(
        "SELECT a.id, a.severity, a.customer_id, c.name AS customer_name, r.name AS reseller_name, a.kind, a.message, \
                a.raised_at, a.acknowledged_at, nullif(coalesce(nullif(u.display_name, ''), u.username), '') AS acknowledged_by, \
                a.resolved_at \
         FROM alerts a \
         JOIN resellers r ON r.id = a.reseller_id \
         LEFT JOIN customers c ON c.id = a.customer_id \
         LEFT JOIN users u ON u.id = a.acknowledged_by \
         WHERE ($1::bigint IS NULL OR a.reseller_id = $1) \
           AND ($2::bigint IS NULL OR a.customer_id = $2) \
           AND ($3::bigint IS NULL OR a.customer_id = $3) \
           AND ($4::text IS NULL OR a.severity = $4) \
           AND CASE $5 WHEN 'open' THEN a.resolved_at IS NULL \
                       WHEN 'recent' THEN a.resolved_at IS NULL OR a.resolved_at >= $10 \
                       WHEN 'acknowledged' THEN a.resolved_at IS NULL AND a.acknowledged_at IS NOT NULL \
                       WHEN 'resolved' THEN a.resolved_at IS NOT NULL \
                       ELSE true END \
           AND ($6::timestamptz IS NULL OR (a.raised_at, a.id) < ($6, $7)) \
           AND ($9::bigint IS NULL OR a.id = $9) \
         ORDER BY a.raised_at DESC, a.id DESC LIMIT $8",
    )
    .bind(reseller)
    .bind(own_customer)
    .bind(filter.customer_id)
    .bind(filter.severity)
    .bind(filter.state)
    .bind(before_at)
    .bind(before_id)
    .bind(filter.limit)
    .bind(filter.only_id)
    .bind(filter.recent_since)
    .fetch_all(&mut **tx)
    .await
}

/// The alert as it stands, locked for a change; `None` outside the scope.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertState {
    pub id: i64,
    pub reseller_id: i64,
    pub customer_id: Option<i64>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

pub async fn find_for_update(tx: &mut Tx, alert_id: i64) -> Result<Option<AlertState>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    let own_customer = tx.scope().customer_id();
    sqlx::query_as::<_, AlertState>(
        "SELECT id, reseller_id, customer_id, acknowledged_at, resolved_at FROM alerts \
         WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) AND ($3::bigint IS NULL OR customer_id = $3) \
         FOR UPDATE",
    )
    .bind(alert_id)
    .bind(reseller)
    .bind(own_customer)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn acknowledge(tx: &mut Tx, alert_id: i64, user_id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3 WHERE id = $1 AND acknowledged_at IS NULL",
    )
    .bind(alert_id)
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Resolving also acknowledges an alert nobody acknowledged.
pub async fn resolve(tx: &mut Tx, alert_id: i64, user_id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE alerts SET resolved_at = $2, acknowledged_at = coalesce(acknowledged_at, $2), \
                acknowledged_by = coalesce(acknowledged_by, $3) \
         WHERE id = $1 AND resolved_at IS NULL",
    )
    .bind(alert_id)
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerOption {
    pub id: i64,
    pub name: String,
}

/// Customers of the scope that have alerts, for the filter.
pub async fn customers_with_alerts(tx: &mut Tx) -> Result<Vec<CustomerOption>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, CustomerOption>(
        "SELECT c.id, c.name FROM customers c \
         WHERE ($1::bigint IS NULL OR c.reseller_id = $1) \
           AND EXISTS (SELECT 1 FROM alerts a WHERE a.customer_id = c.id) \
         ORDER BY lower(c.name), c.id",
    )
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}
