//! A customer's clients (backup machines): listing, adding by hand, disabling and enabling,
//! deleting, and what the MCAL and max-client rules need to know before a client is added.

use chrono::{DateTime, Utc};

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub client_key: String,
    pub hostname: String,
    pub os: String,
    pub status: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub used_space_bytes: i64,
    pub space_limit_bytes: Option<i64>,
    pub created_by: String,
}

pub async fn list(tx: &mut Tx, customer_id: i64) -> Result<Vec<ClientRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, ClientRow>(
        "SELECT id, client_key, hostname, os, status, last_seen_at, used_space_bytes, space_limit_bytes, created_by \
         FROM clients WHERE customer_id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) \
         ORDER BY lower(client_key), id",
    )
    .bind(customer_id)
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}

pub async fn get(tx: &mut Tx, customer_id: i64, client_id: i64) -> Result<ClientRow, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, ClientRow>(
        "SELECT id, client_key, hostname, os, status, last_seen_at, used_space_bytes, space_limit_bytes, created_by \
         FROM clients WHERE id = $1 AND customer_id = $2 AND ($3::bigint IS NULL OR reseller_id = $3)",
    )
    .bind(client_id)
    .bind(customer_id)
    .bind(reseller)
    .fetch_one(&mut **tx)
    .await
}

/// What the MCAL rule needs: the reseller's pool and how many clients draw from it.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct PoolUsage {
    pub mcal_pool: i32,
    pub drawing_from_pool: i64,
}

/// The reseller's pool, under the one lock every adder of a client takes (an admin, a customer in
/// its portal, an agent registering), held until the transaction ends: two of them cannot both
/// take the last MCAL. Lock the customer's row first (`customers::lock`, or the agent's gate), as
/// every caller does, so that no two wait for each other crosswise.
pub async fn lock_pool(tx: &mut Tx, reseller_id: i64) -> Result<PoolUsage, sqlx::Error> {
    sqlx::query_as::<_, PoolUsage>("SELECT mcal_pool, drawing_from_pool FROM lock_mcal_pool($1)")
        .bind(reseller_id)
        .fetch_one(&mut **tx)
        .await
}

/// A client an admin or the customer itself adds by hand (agents register through
/// `agents::create_client`).
pub struct NewClient<'a> {
    pub client_key: &'a str,
    pub hostname: &'a str,
    pub os: &'a str,
    /// `admin` or `customer`.
    pub created_by: &'static str,
    pub now: DateTime<Utc>,
}

/// Adds a client; `Ok(None)` when the customer already has a client with this id, in any case
/// (`Laptop-1` and `laptop-1` are one client, as an agent's registration finds them). The caller
/// holds the customer's row, as every adder does, so no other adder slips in between.
pub async fn insert(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    new: &NewClient<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO clients (reseller_id, customer_id, client_key, hostname, os, created_by, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7 \
         WHERE NOT EXISTS (SELECT 1 FROM clients WHERE customer_id = $2 AND lower(client_key) = lower($3)) \
         ON CONFLICT ON CONSTRAINT clients_customer_key_key DO NOTHING RETURNING id",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(new.client_key)
    .bind(new.hostname)
    .bind(new.os)
    .bind(new.created_by)
    .bind(new.now)
    .fetch_optional(&mut **tx)
    .await
}

/// Disables a client (its agent's reports and registrations are refused from then on) or enables
/// it again: back to `offline` until its agent next reports, or `pending` if it never has. Returns
/// whether the status changed (false: it already was so). The caller holds the customer's row
/// locked, as agent reports take it, so no report is half stored across the change.
pub async fn set_disabled(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    client_id: i64,
    disabled: bool,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE clients SET status = CASE WHEN $4 THEN 'disabled' \
                                          WHEN last_seen_at IS NULL THEN 'pending' ELSE 'offline' END \
         WHERE id = $1 AND customer_id = $2 AND reseller_id = $3 AND (status = 'disabled') IS DISTINCT FROM $4",
    )
    .bind(client_id)
    .bind(customer_id)
    .bind(reseller_id)
    .bind(disabled)
    .execute(&mut **tx)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Deletes a client and records it in the deleted-items report.
pub async fn delete(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    client_id: i64,
    deleted_by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    record_deleted(tx, reseller_id, customer_id, Some(client_id), deleted_by, now).await?;
    sqlx::query("DELETE FROM clients WHERE id = $1 AND customer_id = $2 AND reseller_id = $3")
        .bind(client_id)
        .bind(customer_id)
        .bind(reseller_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes every client of the customer, each recorded in the deleted-items report.
pub async fn delete_all(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    deleted_by: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    record_deleted(tx, reseller_id, customer_id, None, deleted_by, now).await?;
    Ok(
        sqlx::query("DELETE FROM clients WHERE customer_id = $1 AND reseller_id = $2")
            .bind(customer_id)
            .bind(reseller_id)
            .execute(&mut **tx)
            .await?
            .rows_affected(),
    )
}

async fn record_deleted(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    client_id: Option<i64>,
    deleted_by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO deleted_items (reseller_id, customer_id, customer_name, item_kind, item_name, size_bytes, \
                                    deleted_by_kind, deleted_by_name, deleted_at) \
         SELECT k.reseller_id, k.customer_id, c.name, 'client', k.client_key, k.used_space_bytes, 'admin', $4, $5 \
         FROM clients k JOIN customers c ON c.id = k.customer_id \
         WHERE k.customer_id = $1 AND k.reseller_id = $2 AND ($3::bigint IS NULL OR k.id = $3)",
    )
    .bind(customer_id)
    .bind(reseller_id)
    .bind(client_id)
    .bind(deleted_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedItem {
    pub item_kind: String,
    pub item_name: String,
    pub size_bytes: i64,
    pub deleted_by_kind: String,
    pub deleted_by_name: String,
    pub deleted_at: DateTime<Utc>,
}

/// The deleted-items report of one customer, newest first (bounded: the latest 500).
pub async fn deleted_items(tx: &mut Tx, customer_id: i64) -> Result<Vec<DeletedItem>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, DeletedItem>(
        "SELECT item_kind, item_name, size_bytes, deleted_by_kind, deleted_by_name, deleted_at FROM deleted_items \
         WHERE customer_id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) \
         ORDER BY deleted_at DESC, id DESC LIMIT 500",
    )
    .bind(customer_id)
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}
