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
}

impl AdminRow {
    pub fn is_owner(&self) -> bool {
        self.role == "reseller_owner"
    }
}

const COLUMNS: &str = "id, username, display_name, role, disabled_at, created_at, password_changed_at";

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
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_as::<_, AdminRow>(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND reseller_id = $2 \
         AND role IN ('reseller_owner', 'reseller_admin') FOR UPDATE"
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
    pub now: DateTime<Utc>,
}

pub async fn create(tx: &mut Tx, new: NewAdmin<'_>) -> Result<i64, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query_scalar(
        "INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, created_at, password_changed_at) \
         VALUES ($1, $2, $1, $3, 'reseller_admin', $4, $5, $5) RETURNING id",
    )
    .bind(new.username)
    .bind(new.display_name)
    .bind(new.password_hash)
    .bind(reseller)
    .bind(new.now)
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

pub async fn set_password(
    tx: &mut Tx,
    user_id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let reseller = tx.scope().reseller_id().ok_or(sqlx::Error::RowNotFound)?;
    let done = sqlx::query(
        "UPDATE users SET password_hash = $3, password_changed_at = $4, failed_logins = 0, locked_until = NULL \
         WHERE id = $1 AND reseller_id = $2 AND role = 'reseller_admin'",
    )
    .bind(user_id)
    .bind(reseller)
    .bind(password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
