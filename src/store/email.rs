//! The email outbox as the operator sees it, and the server's email settings (sender, global
//! consolidated report).

use chrono::{DateTime, Duration, Utc};

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailSettings {
    pub email_sender: String,
    pub consolidated_report_global: bool,
}

pub async fn settings(tx: &mut Tx) -> Result<EmailSettings, sqlx::Error> {
    sqlx::query_as::<_, EmailSettings>(
        "SELECT email_sender, consolidated_report_global FROM server_settings WHERE id = 1",
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn update_settings(tx: &mut Tx, sender: &str, global: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE server_settings SET email_sender = $1, consolidated_report_global = $2 WHERE id = 1")
        .bind(sender)
        .bind(global)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct OutboxSummary {
    pub queued: i64,
    pub failed: i64,
    pub in_doubt: i64,
    pub sent_last_day: i64,
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

/// Counts by state, in one pass over the unsent rows and the last day's sent ones.
pub async fn summary(tx: &mut Tx, now: DateTime<Utc>) -> Result<OutboxSummary, sqlx::Error> {
    sqlx::query_as::<_, OutboxSummary>(
        "SELECT count(*) FILTER (WHERE state IN ('queued', 'sending')) AS queued, \
                count(*) FILTER (WHERE state = 'failed') AS failed, \
                count(*) FILTER (WHERE state = 'in_doubt') AS in_doubt, \
                count(*) FILTER (WHERE state = 'sent' AND sent_at > $1) AS sent_last_day, \
                min(created_at) FILTER (WHERE state = 'queued') AS oldest_queued_at \
         FROM (SELECT state, sent_at, created_at FROM email_outbox WHERE state <> 'sent' \
               UNION ALL SELECT state, sent_at, created_at FROM email_outbox WHERE state = 'sent' AND sent_at > $1) o",
    )
    .bind(now - Duration::days(1))
    .fetch_one(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Problem {
    pub id: i64,
    pub kind: String,
    pub to_addresses: String,
    pub subject: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: String,
    pub last_attempt_at: Option<DateTime<Utc>>,
}

/// Messages that failed, are in doubt or wait for a retry after an error: the newest 20.
pub async fn problems(tx: &mut Tx) -> Result<Vec<Problem>, sqlx::Error> {
    sqlx::query_as::<_, Problem>(
        "SELECT id, kind, to_addresses, subject, state, attempts, last_error, last_attempt_at FROM email_outbox \
         WHERE state IN ('failed', 'in_doubt') OR (state = 'queued' AND last_error <> '') \
         ORDER BY last_attempt_at DESC NULLS LAST, id DESC LIMIT 20",
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MailerRun {
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: String,
}

/// The engine's last mailer run (no row: it never ran, SMTP is not configured anywhere).
pub async fn last_mailer_run(tx: &mut Tx) -> Result<Option<MailerRun>, sqlx::Error> {
    sqlx::query_as::<_, MailerRun>(
        "SELECT last_started_at, last_success_at, last_error FROM engine_steps WHERE step = 'mailer'",
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Puts a failed or in-doubt message back in the queue, due now. False if it is in another state.
pub async fn requeue(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE email_outbox SET state = 'queued', next_attempt_at = $2, attempts = 0 \
         WHERE id = $1 AND state IN ('failed', 'in_doubt')",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}
