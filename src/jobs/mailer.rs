//! The mailer: sends the outbox over SMTP, a bounded batch per tick, at most once per message.
//!
//! Each message is first marked `sending` (attempts + 1, last_attempt_at) and committed, then
//! sent with the row's Message-ID, then marked `sent`. A crash between the two leaves the row
//! `sending`; the next run marks it `in_doubt` and does not send it again, so a message can be
//! lost to a crash but never sent twice (the operator's email page lists the ones in doubt). A
//! refused or failed attempt is retried after an exponential wait, up to `MAX_ATTEMPTS`.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;

use crate::domain::email::{recipients, retry_delay, should_retry};

/// Messages sent per tick at most, so one tick never runs for long.
pub const BATCH: i64 = 50;

/// What the operator reads on a message found `sending` when a run starts.
pub const IN_DOUBT_ERROR: &str =
    "The mailer stopped during this attempt; the message may have been delivered, so it is not sent again.";

/// The SMTP connection, from `SMTP_URL`.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the credentials: never print it.
        f.write_str("Mailer")
    }
}

impl Mailer {
    /// `smtp://user:pass@host:port` (plain, or `?tls=required` for STARTTLS) or
    /// `smtps://user:pass@host:port` (TLS from the start). The error never repeats the password.
    pub fn from_url(url: &str) -> Result<Mailer, String> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
            format!("SMTP_URL is not a usable smtp:// or smtps:// URL ({e}); for example smtp://user:password@mail.example:587?tls=required")
        })?;
        Ok(Mailer {
            transport: builder.timeout(Some(std::time::Duration::from_secs(20))).build(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct Outgoing {
    id: i64,
    to_addresses: String,
    subject: String,
    body_text: String,
    body_html: String,
    message_id: String,
    attempts: i32,
}

/// Sends what is due at `now`; returns the number of messages sent.
pub async fn deliver(db: &PgPool, mailer: &Mailer, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    // Only the engine's leader runs this, one message at a time: a row still `sending` is from a
    // run that stopped mid-way.
    sqlx::query("UPDATE email_outbox SET state = 'in_doubt', last_error = $1 WHERE state = 'sending'")
        .bind(IN_DOUBT_ERROR)
        .execute(db)
        .await?;
    let sender: String = sqlx::query_scalar("SELECT email_sender FROM server_settings WHERE id = 1")
        .fetch_one(db)
        .await?;
    // A bad sender would fail every message: stop here (the operator's page shows the error)
    // rather than use up their attempts.
    let from: Mailbox = sender.parse().map_err(|e| {
        sqlx::Error::Protocol(format!(
            "the sender address {sender:?} is not valid ({e}); fix it on the email settings page"
        ))
    })?;
    let mut sent = 0;
    for _ in 0..BATCH {
        let Some(row) = claim(db, now).await? else {
            break;
        };
        match build(&row, &from, now) {
            Ok(message) => match mailer.transport.send(message).await {
                Ok(_) => {
                    sqlx::query("UPDATE email_outbox SET state = 'sent', sent_at = $2, last_error = '' WHERE id = $1")
                        .bind(row.id)
                        .bind(now)
                        .execute(db)
                        .await?;
                    sent += 1;
                }
                Err(error) => {
                    let permanent = error.is_permanent();
                    failed(db, &row, now, &error.to_string(), permanent).await?;
                }
            },
            Err(problem) => failed(db, &row, now, &problem, true).await?,
        }
    }
    Ok(sent)
}

/// Takes the next due message and records the attempt before anything is sent.
async fn claim(db: &PgPool, now: DateTime<Utc>) -> Result<Option<Outgoing>, sqlx::Error> {
    sqlx::query_as::<_, Outgoing>(
        "UPDATE email_outbox SET state = 'sending', attempts = attempts + 1, last_attempt_at = $1 \
         WHERE id = (SELECT id FROM email_outbox WHERE state = 'queued' AND next_attempt_at <= $1 \
                     ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, to_addresses, subject, body_text, body_html, message_id, attempts",
    )
    .bind(now)
    .fetch_optional(db)
    .await
}

async fn failed(
    db: &PgPool,
    row: &Outgoing,
    now: DateTime<Utc>,
    error: &str,
    permanent: bool,
) -> Result<(), sqlx::Error> {
    let retry = should_retry(row.attempts, permanent);
    tracing::warn!(
        outbox_id = row.id,
        attempts = row.attempts,
        retry,
        error,
        "email not sent"
    );
    let error: String = error.chars().take(500).collect();
    sqlx::query(
        "UPDATE email_outbox SET state = CASE WHEN $2 THEN 'queued' ELSE 'failed' END, next_attempt_at = $3, \
                last_error = $4 WHERE id = $1",
    )
    .bind(row.id)
    .bind(retry)
    .bind(now + retry_delay(row.attempts))
    .bind(if error.is_empty() {
        "unknown error".to_string()
    } else {
        error
    })
    .execute(db)
    .await?;
    Ok(())
}

fn build(row: &Outgoing, from: &Mailbox, now: DateTime<Utc>) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()))
        .date(SystemTime::from(now));
    let to = recipients(&row.to_addresses);
    if to.is_empty() {
        return Err("the message has no recipient".into());
    }
    for address in to {
        let mailbox: Mailbox = address
            .parse()
            .map_err(|e| format!("the recipient {address:?} is not valid ({e})"))?;
        builder = builder.to(mailbox);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            row.body_text.clone(),
            row.body_html.clone(),
        ))
        .map_err(|e| format!("the message cannot be built ({e})"))
}
