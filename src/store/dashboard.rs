//! Figures for the partner dashboard.

use chrono::NaiveDate;

use super::Tx;

/// The KPI header: what a reseller (or, for the operator, every reseller) has against its allowances.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Kpis {
    pub customers: i64,
    pub max_customers: i64,
    pub accounts: i64,
    pub max_accounts: i64,
    pub locations: i64,
    pub critical_connectors: i64,
    pub expiring_soon: i64,
    pub exceeding_usage: i64,
}

/// KPIs of the scope's reseller, or of `reseller_filter` (operator), or of all resellers.
/// `today` and `window_days` decide what counts as expiring soon.
pub async fn kpis(
    tx: &mut Tx,
    reseller_filter: Option<i64>,
    today: NaiveDate,
    window_days: i32,
) -> Result<Kpis, sqlx::Error> {
    let reseller = tx.scope().reseller_id().or(reseller_filter);
    sqlx::query_as::<_, Kpis>(
        "SELECT \
           (SELECT count(*) FROM customers c WHERE ($1::bigint IS NULL OR c.reseller_id = $1) AND c.lifecycle <> 'deleted' AND NOT c.is_default) AS customers, \
           (SELECT coalesce(sum(max_customers), 0)::bigint FROM resellers r WHERE ($1::bigint IS NULL OR r.id = $1)) AS max_customers, \
           (SELECT count(*) FROM accounts a WHERE ($1::bigint IS NULL OR a.reseller_id = $1)) AS accounts, \
           (SELECT coalesce(sum(max_accounts), 0)::bigint FROM resellers r WHERE ($1::bigint IS NULL OR r.id = $1)) AS max_accounts, \
           (SELECT count(*) FROM locations l WHERE ($1::bigint IS NULL OR l.reseller_id = $1)) AS locations, \
           (SELECT count(*) FROM connectors k WHERE ($1::bigint IS NULL OR k.reseller_id = $1) AND k.health = 'critical') AS critical_connectors, \
           (SELECT count(*) FROM customers c WHERE ($1::bigint IS NULL OR c.reseller_id = $1) AND NOT c.is_default AND ( \
                c.lifecycle = 'scheduled_for_deletion' \
             OR (c.lifecycle = 'active' AND c.tenant_type = 'evaluation' AND c.trial_ends_on <= $2 + $3) \
             OR (c.lifecycle = 'active' AND c.service_expires_on <= $2 + $3))) AS expiring_soon, \
           (SELECT count(DISTINCT s.customer_id) FROM seat_limits s WHERE ($1::bigint IS NULL OR s.reseller_id = $1) AND s.seats_used > s.seat_limit) AS exceeding_usage",
    )
    .bind(reseller)
    .bind(today)
    .bind(window_days)
    .fetch_one(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerOption {
    pub id: i64,
    pub name: String,
}

/// Resellers the scope can see, for the operator's reseller filter.
pub async fn reseller_options(tx: &mut Tx) -> Result<Vec<ResellerOption>, sqlx::Error> {
    sqlx::query_as::<_, ResellerOption>("SELECT id, name FROM resellers ORDER BY is_default, lower(name)")
        .fetch_all(&mut **tx)
        .await
}
