//! Resellers and their allowances, for the operator's `/resellers` pages.

use chrono::{DateTime, Utc};

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerRow {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    pub owner: Option<String>,
    pub customers: i64,
    pub max_customers: i32,
    pub accounts: i64,
    pub max_accounts: i32,
    pub mau_allowance: i32,
    pub disk_space_bytes: i64,
    pub allotted_to_customers: i64,
    pub mcal_pool: i32,
    pub mcals_used: i64,
}

/// Every reseller with its usage, aggregated set-based (one query).
pub async fn list(tx: &mut Tx) -> Result<Vec<ResellerRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, ResellerRow>(
        "SELECT r.id, r.name, r.is_default, o.username AS owner, \
                coalesce(c.customers, 0) AS customers, r.max_customers, coalesce(a.accounts, 0) AS accounts, \
                r.max_accounts, r.mau_allowance, r.disk_space_bytes, coalesce(c.allotted, 0)::bigint AS allotted_to_customers, \
                r.mcal_pool, coalesce(c.pool_clients, 0)::bigint AS mcals_used \
         FROM resellers r \
         LEFT JOIN (SELECT reseller_id, count(*) FILTER (WHERE NOT is_default) AS customers, \
                           sum(space_quota_bytes) AS allotted, \
                           sum(client_count) FILTER (WHERE mcals_allotted IS NULL) AS pool_clients \
                    FROM customers WHERE lifecycle <> 'deleted' GROUP BY reseller_id) c ON c.reseller_id = r.id \
         LEFT JOIN reseller_counts a ON a.reseller_id = r.id \
         LEFT JOIN LATERAL (SELECT username FROM users u WHERE u.reseller_id = r.id AND u.role = 'reseller_owner' \
                            ORDER BY u.id LIMIT 1) o ON true \
         WHERE ($1::bigint IS NULL OR r.id = $1) \
         ORDER BY r.is_default, lower(r.name), r.id",
    )
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reseller {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    pub max_customers: i32,
    pub max_accounts: i32,
    pub mau_allowance: i32,
    pub disk_space_bytes: i64,
    pub mcal_pool: i32,
    pub bandwidth_throttling: Option<serde_json::Value>,
    pub allotted_to_customers: i64,
    pub server_throttling: Option<serde_json::Value>,
}

pub async fn get(tx: &mut Tx, id: i64) -> Result<Reseller, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, Reseller>(
        "SELECT r.id, r.name, r.is_default, r.max_customers, r.max_accounts, r.mau_allowance, r.disk_space_bytes, \
                r.mcal_pool, r.bandwidth_throttling, \
                (SELECT coalesce(sum(space_quota_bytes), 0)::bigint FROM customers c \
                 WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted') AS allotted_to_customers, \
                (SELECT bandwidth_throttling FROM server_settings WHERE id = 1) AS server_throttling \
         FROM resellers r WHERE r.id = $1 AND ($2::bigint IS NULL OR r.id = $2)",
    )
    .bind(id)
    .bind(reseller)
    .fetch_one(&mut **tx)
    .await
}

/// What the reseller form sets.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResellerSettings {
    pub name: String,
    pub max_customers: i32,
    pub max_accounts: i32,
    pub mau_allowance: i32,
    pub disk_space_bytes: i64,
    pub mcal_pool: i32,
    pub bandwidth_throttling: Option<serde_json::Value>,
}

impl ResellerSettings {
    pub fn of(reseller: &Reseller) -> Self {
        ResellerSettings {
            name: reseller.name.clone(),
            max_customers: reseller.max_customers,
            max_accounts: reseller.max_accounts,
            mau_allowance: reseller.mau_allowance,
            disk_space_bytes: reseller.disk_space_bytes,
            mcal_pool: reseller.mcal_pool,
            bandwidth_throttling: reseller.bandwidth_throttling.clone(),
        }
    }
}

pub async fn insert(tx: &mut Tx, s: &ResellerSettings, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO resellers (name, max_customers, max_accounts, mau_allowance, disk_space_bytes, mcal_pool, \
                                bandwidth_throttling, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&s.name)
    .bind(s.max_customers)
    .bind(s.max_accounts)
    .bind(s.mau_allowance)
    .bind(s.disk_space_bytes)
    .bind(s.mcal_pool)
    .bind(&s.bandwidth_throttling)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

pub async fn update(tx: &mut Tx, id: i64, s: &ResellerSettings) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE resellers SET name = $2, max_customers = $3, max_accounts = $4, mau_allowance = $5, \
                disk_space_bytes = $6, mcal_pool = $7, bandwidth_throttling = $8 WHERE id = $1",
    )
    .bind(id)
    .bind(&s.name)
    .bind(s.max_customers)
    .bind(s.max_accounts)
    .bind(s.mau_allowance)
    .bind(s.disk_space_bytes)
    .bind(s.mcal_pool)
    .bind(&s.bandwidth_throttling)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Owner {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
}

/// The reseller's (first) owner.
pub async fn owner(tx: &mut Tx, reseller_id: i64) -> Result<Option<Owner>, sqlx::Error> {
    sqlx::query_as::<_, Owner>(
        "SELECT id, username, display_name, email FROM users WHERE reseller_id = $1 AND role = 'reseller_owner' \
         ORDER BY id LIMIT 1",
    )
    .bind(reseller_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The owner as the form sets it; `password_hash` `None` keeps the current password.
pub struct OwnerSettings<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
}

/// Creates the owner, or updates the existing one.
pub async fn set_owner(
    tx: &mut Tx,
    reseller_id: i64,
    existing: Option<i64>,
    owner: &OwnerSettings<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let OwnerSettings {
        username,
        display_name,
        email,
        password_hash,
    } = *owner;
    match existing {
        Some(user_id) => {
            sqlx::query(
                "UPDATE users SET username = $3, display_name = $4, email = $5, \
                        password_hash = coalesce($6, password_hash), \
                        password_changed_at = CASE WHEN $6::text IS NULL THEN password_changed_at ELSE $7 END \
                 WHERE id = $1 AND reseller_id = $2 AND role = 'reseller_owner'",
            )
            .bind(user_id)
            .bind(reseller_id)
            .bind(username)
            .bind(display_name)
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, created_at, \
                                    password_changed_at) \
                 VALUES ($1, $2, $3, $4, 'reseller_owner', $5, $6, $6)",
            )
            .bind(username)
            .bind(display_name)
            .bind(email)
            .bind(password_hash.unwrap_or_default())
            .bind(reseller_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Locks the reseller's row until commit and returns it as it is now.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<Reseller, sqlx::Error> {
    sqlx::query("SELECT id FROM resellers WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    get(tx, id).await
}
