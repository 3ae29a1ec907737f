//! Portal users: login lookups and passwords.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, sqlx::FromRow)]
pub struct LoginUser {
    pub id: i64,
    pub password_hash: String,
    pub disabled: bool,
    /// The login needs a second factor after the password.
    pub two_factor: bool,
}

/// Finds a user by username, case-insensitively. Runs in the auth scope.
pub async fn find_for_login(conn: &mut PgConnection, username: &str) -> Result<Option<LoginUser>, sqlx::Error> {
    sqlx::query_as::<_, LoginUser>(
        "SELECT id, password_hash, disabled_at IS NOT NULL AS disabled, totp_secret IS NOT NULL AS two_factor \
         FROM users WHERE lower(username) = lower($1)",
    )
    .bind(username)
    .fetch_optional(conn)
    .await
}

pub async fn password_hash(conn: &mut PgConnection, user_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(conn)
        .await
}

pub async fn set_password(
    conn: &mut PgConnection,
    user_id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, must_change_password = false WHERE id = $1",
    )
    .bind(user_id)
    .bind(password_hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
