//! Set-password links: a customer's portal user chooses its password through a link that works
//! once and expires. The table holds the token's sha256, never the token.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use super::Tx;

/// Creates a link for `user_id` (a customer's portal user in the caller's scope); earlier unused
/// links of the user stop working, so only the latest email's link is valid.
pub async fn create(
    tx: &mut Tx,
    user_id: i64,
    reseller_id: i64,
    customer_id: i64,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO password_tokens (token_hash, user_id, reseller_id, customer_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(reseller_id)
    .bind(customer_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ValidToken {
    pub user_id: i64,
    pub reseller_id: i64,
    pub customer_id: i64,
    pub username: String,
}

/// The link's user if the link is unused, unexpired and its user enabled. Runs in the `auth`
/// scope (the visitor is not logged in).
pub async fn find_valid(
    tx: &mut Transaction<'static, Postgres>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<ValidToken>, sqlx::Error> {
    sqlx::query_as::<_, ValidToken>(
        "SELECT t.user_id, t.reseller_id, t.customer_id, u.username FROM password_tokens t \
         JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}

/// Uses the link and sets the password, in the customer's scope; false if the link was used in
/// the meantime (two tabs), and then nothing changes.
pub async fn use_for_password(
    tx: &mut Tx,
    token_hash: &str,
    user_id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let used = sqlx::query(
        "UPDATE password_tokens SET used_at = $3 WHERE token_hash = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if used == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, failed_logins = 0, locked_until = NULL \
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}
