//! Disk space and MCALs down the tree: resellers → customers → clients, with each client's
//! backup schedules, and the space limits edited at every level.

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerSpace {
    pub id: i64,
    pub name: String,
    pub disk_space_bytes: i64,
    pub allotted_to_customers: i64,
    pub used_space_bytes: i64,
    pub mcal_pool: i32,
    pub mcals_drawn: i64,
}

/// Resellers in the scope (or one of them), with their customers' totals, in one query.
pub async fn resellers(tx: &mut Tx, only: Option<i64>) -> Result<Vec<ResellerSpace>, sqlx::Error> {
    let reseller = tx.scope().reseller_id().or(only);
    sqlx::query_as::<_, ResellerSpace>(
        "SELECT r.id, r.name, r.disk_space_bytes, coalesce(c.allotted, 0)::bigint AS allotted_to_customers, \
                coalesce(c.used, 0)::bigint AS used_space_bytes, r.mcal_pool, coalesce(c.drawn, 0)::bigint AS mcals_drawn \
         FROM resellers r \
         LEFT JOIN (SELECT reseller_id, sum(space_quota_bytes) AS allotted, sum(used_space_bytes) AS used, \
                           sum(client_count) FILTER (WHERE mcals_allotted IS NULL) AS drawn \
                    FROM customers WHERE lifecycle <> 'deleted' GROUP BY reseller_id) c ON c.reseller_id = r.id \
         WHERE ($1::bigint IS NULL OR r.id = $1) \
         ORDER BY r.is_default, lower(r.name), r.id",
    )
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerSpace {
    pub id: i64,
    pub reseller_id: i64,
    pub name: String,
    pub mcals_allotted: Option<i32>,
    pub clients: i64,
    pub space_quota_bytes: Option<i64>,
    pub used_space_bytes: i64,
    pub allotted_to_clients: i64,
}

/// The customers of one reseller with their clients' totals.
pub async fn customers(tx: &mut Tx, reseller_id: i64) -> Result<Vec<CustomerSpace>, sqlx::Error> {
    let scope_reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, CustomerSpace>(
        "SELECT c.id, c.reseller_id, c.name, c.mcals_allotted, c.client_count AS clients, c.space_quota_bytes, \
                c.used_space_bytes, coalesce(k.allotted, 0)::bigint AS allotted_to_clients \
         FROM customers c \
         LEFT JOIN (SELECT customer_id, sum(space_limit_bytes) AS allotted FROM clients \
                    WHERE reseller_id = $1 GROUP BY customer_id) k ON k.customer_id = c.id \
         WHERE c.reseller_id = $1 AND ($2::bigint IS NULL OR c.reseller_id = $2) AND c.lifecycle <> 'deleted' \
         ORDER BY lower(c.name), c.id",
    )
    .bind(reseller_id)
    .bind(scope_reseller)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientSpace {
    pub id: i64,
    pub customer_id: i64,
    pub client_key: String,
    pub space_limit_bytes: Option<i64>,
    pub used_space_bytes: i64,
    pub throttled: bool,
    /// "Daily files: daily at 22:00; …" as reported by the agent.
    pub schedules: String,
}

/// The clients of one reseller's customers with their schedules (one query).
pub async fn clients(tx: &mut Tx, reseller_id: i64) -> Result<Vec<ClientSpace>, sqlx::Error> {
    let scope_reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, ClientSpace>(
        "SELECT k.id, k.customer_id, k.client_key, k.space_limit_bytes, k.used_space_bytes, \
                k.bandwidth_throttling IS NOT NULL AS throttled, coalesce(s.schedules, '') AS schedules \
         FROM clients k \
         LEFT JOIN (SELECT client_id, string_agg(name || ': ' || schedule, '; ' ORDER BY name) AS schedules \
                    FROM client_schedules WHERE reseller_id = $1 GROUP BY client_id) s ON s.client_id = k.id \
         WHERE k.reseller_id = $1 AND ($2::bigint IS NULL OR k.reseller_id = $2) \
         ORDER BY lower(k.client_key), k.id",
    )
    .bind(reseller_id)
    .bind(scope_reseller)
    .fetch_all(&mut **tx)
    .await
}

pub async fn set_reseller_disk_space(tx: &mut Tx, reseller_id: i64, bytes: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE resellers SET disk_space_bytes = $2 WHERE id = $1")
        .bind(reseller_id)
        .bind(bytes)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_customer_quota(tx: &mut Tx, customer_id: i64, bytes: Option<i64>) -> Result<(), sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query(
        "UPDATE customers SET space_quota_bytes = $3 WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2)",
    )
    .bind(customer_id)
    .bind(reseller)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One client with what its limit and throttling rules need from its customer and reseller.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientContext {
    pub id: i64,
    pub reseller_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub client_key: String,
    pub space_limit_bytes: Option<i64>,
    pub bandwidth_throttling: Option<serde_json::Value>,
    pub customer_quota: Option<i64>,
    /// Limits of the customer's other clients.
    pub others_allotted: i64,
    pub customer_throttling: Option<serde_json::Value>,
    pub reseller_throttling: Option<serde_json::Value>,
    pub server_throttling: Option<serde_json::Value>,
}

pub async fn client(tx: &mut Tx, client_id: i64) -> Result<ClientContext, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, ClientContext>(
        "SELECT k.id, k.reseller_id, k.customer_id, c.name AS customer_name, k.client_key, k.space_limit_bytes, \
                k.bandwidth_throttling, c.space_quota_bytes AS customer_quota, \
                (SELECT coalesce(sum(o.space_limit_bytes), 0)::bigint FROM clients o \
                 WHERE o.customer_id = k.customer_id AND o.id <> k.id) AS others_allotted, \
                c.bandwidth_throttling AS customer_throttling, r.bandwidth_throttling AS reseller_throttling, \
                (SELECT bandwidth_throttling FROM server_settings WHERE id = 1) AS server_throttling \
         FROM clients k JOIN customers c ON c.id = k.customer_id JOIN resellers r ON r.id = k.reseller_id \
         WHERE k.id = $1 AND ($2::bigint IS NULL OR k.reseller_id = $2) AND c.lifecycle <> 'deleted'",
    )
    .bind(client_id)
    .bind(reseller)
    .fetch_one(&mut **tx)
    .await
}

pub async fn set_client_limit(tx: &mut Tx, client_id: i64, bytes: Option<i64>) -> Result<(), sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query("UPDATE clients SET space_limit_bytes = $3 WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2)")
        .bind(client_id)
        .bind(reseller)
        .bind(bytes)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_client_throttling(
    tx: &mut Tx,
    client_id: i64,
    throttling: Option<&serde_json::Value>,
) -> Result<(), sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query(
        "UPDATE clients SET bandwidth_throttling = $3 WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2)",
    )
    .bind(client_id)
    .bind(reseller)
    .bind(throttling)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
