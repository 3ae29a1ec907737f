//! A reseller's owner and admins, as its owner manages them.

use chrono::{DateTime, Utc};

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    pub read_only: bool,
    pub limited_to_granted_customers: bool,
    /// How many customers a limited admin may see.
    pub granted_customers: i64,
    pub two_factor_enabled: bool,
}

impl AdminRow {
    pub fn is_owner(&self) -> bool {
        self.role == "reseller_owner"
    }
}

const COLUMNS: &str = "id, username, display_name, role, disabled_at, created_at, password_changed_at, read_only, \
    limited_to_granted_customers, \
    (SELECT count(*) FROM admin_customer_grants g WHERE g.user_id = users.id) AS granted_customers, \
    totp_secret IS NOT NULL AS two_factor_enabled";

/// The owner first, then admins by name. Reseller scope only.
pub async fn list(tx: &mut Tx) -> Result<Vec<AdminRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, AdminRow>(&format!(
        "SELECT {COLUMNS} FROM users WHERE reseller_id = $1 AND role IN ('reseller_owner', 'reseller_admin') \
         ORDER BY role = 'reseller_admin', lower(username), id"
    ))
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}

/// One of the scope's own owner or admins; `None` for anyone else (customer users, other resellers).
pub async fn find(tx: &mut Tx, user_id: i64) -> Result<Option<AdminRow>, sqlx::Error> {
    find_admin(tx, user_id, "").await
}

/// [`find`], holding the admin's row until the transaction ends, for a change that depends on
/// what it read (not on a page: a page's transaction is read only).
pub async fn find_for_update(tx: &mut Tx, user_id: i64) -> Result<Option<AdminRow>, sqlx::Error> {
    find_admin(tx, user_id, "FOR UPDATE").await
}

async fn find_admin(tx: &mut Tx, user_id: i64, lock: &'static str) -> Result<Option<AdminRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, AdminRow>(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND reseller_id = $2 \
         AND role IN ('reseller_owner', 'reseller_admin') {lock}"
    ))
    .bind(user_id)
    .bind(reseller)
    .fetch_optional(&mut **tx)
    .await
}

pub struct NewAdmin<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    /// A one-time password: the admin must choose its own at its first login.
    pub must_change_password: bool,
    pub now: DateTime<Utc>,
}

pub async fn create(tx: &mut Tx, new: NewAdmin<'_>) -> Result<i64, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_scalar(
        "INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, created_at, password_changed_at, \
                            must_change_password) \
         VALUES ($1, $2, $1, $3, 'reseller_admin', $4, $5, $5, $6) RETURNING id",
    )
    .bind(new.username)
    .bind(new.display_name)
    .bind(new.password_hash)
    .bind(reseller)
    .bind(new.now)
    .bind(new.must_change_password)
    .fetch_one(&mut **tx)
    .await
}

/// Disables (`Some(now)`) or re-enables (`None`) an admin; never the owner.
pub async fn set_disabled(tx: &mut Tx, user_id: i64, disabled_at: Option<DateTime<Utc>>) -> Result<bool, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    let done = sqlx::query(
        "UPDATE users SET disabled_at = $3, failed_logins = 0, locked_until = NULL \
         WHERE id = $1 AND reseller_id = $2 AND role = 'reseller_admin'",
    )
    .bind(user_id)
    .bind(reseller)
    .bind(disabled_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets an admin's password; `one_time`: the admin must replace it at its next login.
pub async fn set_password(
    tx: &mut Tx,
    user_id: i64,
    password_hash: &str,
    one_time: bool,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    let done = sqlx::query(
        "UPDATE users SET password_hash = $3, password_changed_at = $4, failed_logins = 0, locked_until = NULL, \
                must_change_password = $5 \
         WHERE id = $1 AND reseller_id = $2 AND role = 'reseller_admin'",
    )
    .bind(user_id)
    .bind(reseller)
    .bind(password_hash)
    .bind(now)
    .bind(one_time)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A customer an owner may grant an admin, and whether it is granted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerChoice {
    pub id: i64,
    pub name: String,
    pub granted: bool,
}

/// The reseller's customers (not deleted) by name, marking those granted to `user_id`.
pub async fn customer_choices(tx: &mut Tx, user_id: i64) -> Result<Vec<CustomerChoice>, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, CustomerChoice>(
        "SELECT c.id, c.name, g.customer_id IS NOT NULL AS granted \
         FROM customers c \
         LEFT JOIN admin_customer_grants g ON g.customer_id = c.id AND g.user_id = $2 \
         WHERE c.reseller_id = $1 AND c.lifecycle <> 'deleted' AND NOT c.is_default \
         ORDER BY lower(c.name), c.id",
    )
    .bind(reseller)
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await
}

/// What an admin may do: everything, or read only; every customer, or only `customers` (ids of
/// other resellers' customers are ignored, not granted).
pub struct AdminAccess<'a> {
    pub read_only: bool,
    pub limited: bool,
    pub customers: &'a [i64],
}

/// Sets an admin's access; returns the customers now granted. Never the owner.
pub async fn set_access(tx: &mut Tx, user_id: i64, access: &AdminAccess<'_>) -> Result<Vec<i64>, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    let done = sqlx::query(
        "UPDATE users SET read_only = $3, limited_to_granted_customers = $4 \
         WHERE id = $1 AND reseller_id = $2 AND role = 'reseller_admin'",
    )
    .bind(user_id)
    .bind(reseller)
    .bind(access.read_only)
    .bind(access.limited)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(sqlx::Error::RowNotFound);
    }
    sqlx::query("DELETE FROM admin_customer_grants WHERE user_id = $1 AND reseller_id = $2")
        .bind(user_id)
        .bind(reseller)
        .execute(&mut **tx)
        .await?;
    let granted: Vec<i64> = if access.limited {
        sqlx::query_scalar(
            "INSERT INTO admin_customer_grants (user_id, reseller_id, customer_id) \
             SELECT $1, c.reseller_id, c.id FROM customers c \
             WHERE c.reseller_id = $2 AND c.id = ANY ($3) AND c.lifecycle <> 'deleted' AND NOT c.is_default \
             RETURNING customer_id",
        )
        .bind(user_id)
        .bind(reseller)
        .bind(access.customers)
        .fetch_all(&mut **tx)
        .await?
    } else {
        Vec::new()
    };
    Ok(granted)
}

/// Whether the reseller requires its owner and admins to use a second factor.
pub async fn requires_two_factor(tx: &mut Tx) -> Result<bool, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_scalar("SELECT require_two_factor FROM resellers WHERE id = $1")
        .bind(reseller)
        .fetch_one(&mut **tx)
        .await
}

pub async fn set_requires_two_factor(tx: &mut Tx, required: bool) -> Result<(), sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query("UPDATE resellers SET require_two_factor = $2 WHERE id = $1")
        .bind(reseller)
        .bind(required)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
