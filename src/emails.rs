//! The emails the portal writes: each is an askama template pair in `templates/emails/` (plain
//! text and HTML, the HTML one escaping every customer-supplied value), queued in the outbox in
//! the transaction of the change or report that causes it. The engine's mailer sends them.

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::domain::units::format_bytes;

/// An email ready for the outbox.
#[derive(Debug, Clone)]
pub struct Email {
    pub reseller_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A Message-ID of our own, fixed when the email is queued: every attempt carries the same one.
pub fn new_message_id(kind: &str) -> String {
    format!("<{kind}-{}@msp-portal>", uuid::Uuid::new_v4().simple())
}

/// Queues `email` in the caller's transaction; returns the outbox id.
pub async fn enqueue(conn: &mut PgConnection, email: &Email, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO email_outbox (reseller_id, customer_id, kind, to_addresses, subject, body_text, body_html, \
                                   message_id, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(email.reseller_id)
    .bind(email.customer_id)
    .bind(email.kind)
    .bind(&email.to)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(new_message_id(email.kind))
    .bind(now)
    .fetch_one(conn)
    .await
}

fn when(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Renders a text and an HTML template over the same data.
fn parts(text: &impl Template, html: &impl Template) -> Result<(String, String), askama::Error> {
    Ok((text.render()?, html.render()?))
}

// ---------------------------------------------------------------------------------------------
// Account details: a set-password link, never a password.

pub struct AccountDetails {
    pub customer_name: String,
    pub username: String,
    pub link: String,
    pub login_url: String,
    pub expires_at: DateTime<Utc>,
}

impl AccountDetails {
    fn expires(&self) -> String {
        when(&self.expires_at)
    }
}

#[derive(Template)]
#[template(path = "emails/account_details.txt", whitespace = "preserve")]
struct AccountDetailsText<'a> {
    e: &'a AccountDetails,
}

#[derive(Template)]
#[template(path = "emails/account_details.html")]
struct AccountDetailsHtml<'a> {
    e: &'a AccountDetails,
}

pub fn account_details(
    reseller_id: i64,
    customer_id: i64,
    to: &str,
    e: &AccountDetails,
) -> Result<Email, askama::Error> {
    let (text, html) = parts(&AccountDetailsText { e }, &AccountDetailsHtml { e })?;
    Ok(Email {
        reseller_id: Some(reseller_id),
        customer_id: Some(customer_id),
        kind: "account_details",
        to: to.to_string(),
        subject: format!("Your backup portal account: {}", e.username),
        text,
        html,
    })
}

// ---------------------------------------------------------------------------------------------
// Email reports: backup, restore and delete events since the last report.

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub customer_id: i64,
    pub at: DateTime<Utc>,
    /// "backup", "restore" or "deleted".
    pub kind: String,
    pub what: String,
    pub status: String,
    pub bytes: i64,
}

impl Event {
    pub fn when(&self) -> String {
        when(&self.at)
    }

    pub fn label(&self) -> &'static str {
        match self.kind.as_str() {
            "backup" => "Backup",
            "restore" => "Restore",
            _ => "Deleted",
        }
    }

    pub fn size(&self) -> String {
        format_bytes(self.bytes)
    }
}

pub struct EventReport {
    pub customer_name: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub events: Vec<Event>,
}

impl EventReport {
    fn period(&self) -> String {
        format!("{} – {}", when(&self.from), when(&self.until))
    }

    fn failed(&self) -> usize {
        self.events.iter().filter(|e| e.status == "failed").count()
    }
}

#[derive(Template)]
#[template(path = "emails/events.txt", whitespace = "preserve")]
struct EventsText<'a> {
    e: &'a EventReport,
}

#[derive(Template)]
#[template(path = "emails/events.html")]
struct EventsHtml<'a> {
    e: &'a EventReport,
}

pub fn event_report(reseller_id: i64, customer_id: i64, to: &str, e: &EventReport) -> Result<Email, askama::Error> {
    let (text, html) = parts(&EventsText { e }, &EventsHtml { e })?;
    let failed = e.failed();
    let subject = if failed > 0 {
        format!("{}: {} events, {} failed", e.customer_name, e.events.len(), failed)
    } else {
        format!("{}: {} backup events", e.customer_name, e.events.len())
    };
    Ok(Email {
        reseller_id: Some(reseller_id),
        customer_id: Some(customer_id),
        kind: "events",
        to: to.to_string(),
        subject,
        text,
        html,
    })
}

// ---------------------------------------------------------------------------------------------
// Backup status and consolidated reports: one row per client or data source.

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SourceStatus {
    pub customer_id: i64,
    /// "Client" or "Data source".
    pub kind: String,
    pub name: String,
    pub health: String,
    pub reason: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub used_bytes: i64,
    pub succeeded: i64,
    pub failed: i64,
}

impl SourceStatus {
    pub fn last_success(&self) -> String {
        self.last_success_at
            .as_ref()
            .map(when)
            .unwrap_or_else(|| "never".into())
    }

    pub fn used(&self) -> String {
        format_bytes(self.used_bytes)
    }
}

pub struct StatusReport {
    pub customer_name: String,
    /// "Daily", "Weekly", "Monthly" for the consolidated report; "Daily" for backup status.
    pub title: String,
    pub from: NaiveDate,
    /// The last day covered.
    pub to: NaiveDate,
    pub sources: Vec<SourceStatus>,
}

impl StatusReport {
    fn period(&self) -> String {
        if self.from == self.to {
            self.from.format("%Y-%m-%d").to_string()
        } else {
            format!("{} – {}", self.from.format("%Y-%m-%d"), self.to.format("%Y-%m-%d"))
        }
    }

    fn count(&self, health: &str) -> usize {
        self.sources.iter().filter(|s| s.health == health).count()
    }

    fn jobs(&self) -> (i64, i64) {
        self.sources
            .iter()
            .fold((0, 0), |(ok, bad), s| (ok + s.succeeded, bad + s.failed))
    }
}

#[derive(Template)]
#[template(path = "emails/status.txt", whitespace = "preserve")]
struct StatusText<'a> {
    e: &'a StatusReport,
}

#[derive(Template)]
#[template(path = "emails/status.html")]
struct StatusHtml<'a> {
    e: &'a StatusReport,
}

/// `kind`: "backup_status" or "consolidated".
pub fn status_report(
    kind: &'static str,
    reseller_id: i64,
    customer_id: i64,
    to: &str,
    e: &StatusReport,
) -> Result<Email, askama::Error> {
    let (text, html) = parts(&StatusText { e }, &StatusHtml { e })?;
    Ok(Email {
        reseller_id: Some(reseller_id),
        customer_id: Some(customer_id),
        kind,
        to: to.to_string(),
        subject: format!(
            "{} — {} report, {}",
            e.customer_name,
            e.title.to_lowercase(),
            e.period()
        ),
        text,
        html,
    })
}

// ---------------------------------------------------------------------------------------------
// The operator's test email.

pub struct TestMessage {
    pub requested_by: String,
    pub at: DateTime<Utc>,
}

impl TestMessage {
    fn when(&self) -> String {
        when(&self.at)
    }
}

#[derive(Template)]
#[template(path = "emails/test.txt", whitespace = "preserve")]
struct TestText<'a> {
    e: &'a TestMessage,
}

#[derive(Template)]
#[template(path = "emails/test.html")]
struct TestHtml<'a> {
    e: &'a TestMessage,
}

pub fn test_message(to: &str, e: &TestMessage) -> Result<Email, askama::Error> {
    let (text, html) = parts(&TestText { e }, &TestHtml { e })?;
    Ok(Email {
        reseller_id: None,
        customer_id: None,
        kind: "test",
        to: to.to_string(),
        subject: "Test email from the backup portal".into(),
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_names_are_escaped_in_html_and_kept_in_text() {
        let at = DateTime::parse_from_rfc3339("2026-06-15T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let report = EventReport {
            customer_name: "<script>alert(1)</script>".into(),
            from: at,
            until: at,
            events: vec![Event {
                customer_id: 1,
                at,
                kind: "backup".into(),
                what: "<b>laptop</b>".into(),
                status: "failed".into(),
                bytes: 2048,
            }],
        };
        let email = event_report(1, 1, "a@b.example", &report).unwrap_or_else(|e| panic!("{e}"));
        assert!(!email.html.contains("<script>"));
        assert!(email.html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(!email.html.contains("<b>laptop"));
        assert!(email.text.contains("<script>alert(1)</script>"));
        assert!(email.subject.contains("1 failed"));
    }
}
