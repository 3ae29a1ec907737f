//! The scheduled email reports, written into the outbox by the engine: an hourly digest of
//! backup, restore and delete events (customers with email reports on), a daily backup-status
//! report (customers with backup-status reports on) and the consolidated customer report (daily,
//! weekly or monthly to its recipients, unless the operator's global consolidated report is on).
//! Each report's email and the move of its mark (`email_report_marks`) commit together, so a
//! period is reported once however often the engine ticks.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use sqlx::{Postgres, Transaction};

use crate::domain::email::{Every, report_period};
use crate::emails::{self, Event, EventReport, SourceStatus, StatusReport};

/// Events reported at most this often per customer.
const DIGEST_EVERY: Duration = Duration::hours(1);
/// A digest looks back at most this far (after reports were off for a while, say).
const DIGEST_LOOKBACK: Duration = Duration::days(1);
/// Events listed in one digest at most; the subject counts these.
const DIGEST_MAX_EVENTS: i64 = 500;

/// A template that fails to render fails the step (rolled back, retried next tick) like SQL does.
fn render_error(error: askama::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("an email template failed: {error}"))
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

pub async fn email_reports(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(event_digests(tx, now).await? + backup_status(tx, now).await? + consolidated(tx, now).await?)
}

#[derive(sqlx::FromRow)]
struct Recipient {
    id: i64,
    reseller_id: i64,
    name: String,
    to_addresses: String,
    covered_until: Option<DateTime<Utc>>,
    every: Option<String>,
}

async fn set_marks(
    tx: &mut Transaction<'static, Postgres>,
    kind: &str,
    customers: &[i64],
    resellers: &[i64],
    until: &[DateTime<Utc>],
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO email_report_marks (customer_id, reseller_id, kind, covered_until) \
         SELECT c, r, $1, u FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[]) AS t(c, r, u) \
         ON CONFLICT (customer_id, kind) DO UPDATE SET covered_until = EXCLUDED.covered_until \
         WHERE email_report_marks.covered_until < EXCLUDED.covered_until",
    )
    .bind(kind)
    .bind(customers)
    .bind(resellers)
    .bind(until)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Backup, restore and delete events since the customer's last digest, at most hourly. The first
/// run for a customer only sets its mark: the history before reports were turned on is not sent.
async fn event_digests(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let due = sqlx::query_as::<_, Recipient>(
        "SELECT c.id, c.reseller_id, c.name, c.email AS to_addresses, m.covered_until, NULL::text AS every \
         FROM customers c LEFT JOIN email_report_marks m ON m.customer_id = c.id AND m.kind = 'events' \
         WHERE c.email_reports AND c.email <> '' AND c.lifecycle <> 'deleted' \
           AND (m.covered_until IS NULL OR m.covered_until <= $1 - $2::interval) \
         ORDER BY c.id",
    )
    .bind(now)
    .bind(DIGEST_EVERY)
    .fetch_all(&mut **tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let with_mark: Vec<&Recipient> = due.iter().filter(|r| r.covered_until.is_some()).collect();
    let ids: Vec<i64> = with_mark.iter().map(|r| r.id).collect();
    let froms: Vec<DateTime<Utc>> = with_mark
        .iter()
        .map(|r| r.covered_until.unwrap_or(now).max(now - DIGEST_LOOKBACK))
        .collect();
    let events = sqlx::query_as::<_, Event>(
        "WITH d AS (SELECT * FROM unnest($1::bigint[], $2::timestamptz[]) AS d(customer_id, from_at)), \
         all_events AS ( \
             SELECT j.customer_id, j.ended_at AS at, 'backup' AS kind, \
                    coalesce(k.name, nullif(cl.hostname, ''), cl.client_key, '') AS what, j.status, j.bytes \
             FROM d JOIN backup_jobs j ON j.customer_id = d.customer_id AND j.started_at > d.from_at - interval '2 days' \
             LEFT JOIN connectors k ON k.id = j.connector_id LEFT JOIN clients cl ON cl.id = j.client_id \
             WHERE j.ended_at > d.from_at AND j.ended_at <= $3 \
             UNION ALL \
             SELECT j.customer_id, j.ended_at, 'restore', coalesce(k.name, nullif(cl.hostname, ''), cl.client_key, ''), \
                    j.status, j.bytes \
             FROM d JOIN restore_jobs j ON j.customer_id = d.customer_id AND j.started_at > d.from_at - interval '2 days' \
             LEFT JOIN connectors k ON k.id = j.connector_id LEFT JOIN clients cl ON cl.id = j.client_id \
             WHERE j.ended_at > d.from_at AND j.ended_at <= $3 \
             UNION ALL \
             SELECT x.customer_id, x.deleted_at, 'deleted', x.item_kind || ' ' || x.item_name, 'deleted', x.size_bytes \
             FROM d JOIN deleted_items x ON x.customer_id = d.customer_id \
             WHERE x.deleted_at > d.from_at AND x.deleted_at <= $3), \
         numbered AS ( \
             SELECT e.*, row_number() OVER (PARTITION BY customer_id ORDER BY at, kind, what) AS n FROM all_events e) \
         SELECT customer_id, at, kind, what, status, bytes FROM numbered WHERE n <= $4 ORDER BY customer_id, at, kind, what",
    )
    .bind(&ids)
    .bind(&froms)
    .bind(now)
    .bind(DIGEST_MAX_EVENTS)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_customer: BTreeMap<i64, Vec<Event>> = BTreeMap::new();
    for event in events {
        by_customer.entry(event.customer_id).or_default().push(event);
    }
    let mut written = 0;
    for (recipient, from) in with_mark.iter().zip(&froms) {
        let Some(events) = by_customer.remove(&recipient.id) else {
            continue;
        };
        let report = EventReport {
            customer_name: recipient.name.clone(),
            from: *from,
            until: now,
            events,
        };
        let email = emails::event_report(recipient.reseller_id, recipient.id, &recipient.to_addresses, &report)
            .map_err(render_error)?;
        emails::enqueue(tx, &email, now).await?;
        written += 1;
    }
    let customers: Vec<i64> = due.iter().map(|r| r.id).collect();
    let resellers: Vec<i64> = due.iter().map(|r| r.reseller_id).collect();
    let until = vec![now; due.len()];
    let marked = set_marks(tx, "events", &customers, &resellers, &until).await?;
    Ok(written + marked)
}

/// Every client and data source of `customers`, with its jobs in [from, to).
async fn sources(
    tx: &mut Transaction<'static, Postgres>,
    customers: &[i64],
    from: &[DateTime<Utc>],
    to: &[DateTime<Utc>],
) -> Result<BTreeMap<i64, Vec<SourceStatus>>, sqlx::Error> {
    let rows = sqlx::query_as::<_, SourceStatus>(
        "WITH d AS (SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS d(customer_id, from_at, to_at)) \
         SELECT cl.customer_id, 'Client' AS kind, coalesce(nullif(cl.hostname, ''), cl.client_key) AS name, \
                cl.health, cl.health_reason AS reason, cl.last_success_at, cl.used_space_bytes AS used_bytes, \
                count(j.id) FILTER (WHERE j.status = 'succeeded') AS succeeded, \
                count(j.id) FILTER (WHERE j.status = 'failed') AS failed \
         FROM d JOIN clients cl ON cl.customer_id = d.customer_id \
         LEFT JOIN backup_jobs j ON j.customer_id = d.customer_id AND j.client_id = cl.id \
              AND j.started_at >= d.from_at AND j.started_at < d.to_at \
         GROUP BY cl.id \
         UNION ALL \
         SELECT k.customer_id, 'Data source', k.name, k.health, k.health_reason, k.last_success_at, 0::bigint, \
                count(j.id) FILTER (WHERE j.status = 'succeeded'), count(j.id) FILTER (WHERE j.status = 'failed') \
         FROM d JOIN connectors k ON k.customer_id = d.customer_id \
         LEFT JOIN backup_jobs j ON j.customer_id = d.customer_id AND j.connector_id = k.id \
              AND j.started_at >= d.from_at AND j.started_at < d.to_at \
         GROUP BY k.id \
         ORDER BY 1, 2, 3",
    )
    .bind(customers)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_customer: BTreeMap<i64, Vec<SourceStatus>> = BTreeMap::new();
    for row in rows {
        by_customer.entry(row.customer_id).or_default().push(row);
    }
    Ok(by_customer)
}

/// Writes one status report per due customer for its period and moves the marks.
async fn status_reports(
    tx: &mut Transaction<'static, Postgres>,
    now: DateTime<Utc>,
    kind: &'static str,
    due: &[(&Recipient, Every, NaiveDate, NaiveDate)],
) -> Result<u64, sqlx::Error> {
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = due.iter().map(|d| d.0.id).collect();
    let froms: Vec<DateTime<Utc>> = due.iter().map(|d| start_of(d.2)).collect();
    let tos: Vec<DateTime<Utc>> = due.iter().map(|d| start_of(d.3)).collect();
    let mut by_customer = sources(tx, &ids, &froms, &tos).await?;
    for (recipient, every, from, end) in due {
        let report = StatusReport {
            customer_name: recipient.name.clone(),
            title: if kind == "consolidated" {
                format!("{} consolidated", every.title())
            } else {
                "Backup status".to_string()
            },
            from: *from,
            to: end.pred_opt().unwrap_or(*end),
            sources: by_customer.remove(&recipient.id).unwrap_or_default(),
        };
        let email = emails::status_report(
            kind,
            recipient.reseller_id,
            recipient.id,
            &recipient.to_addresses,
            &report,
        )
        .map_err(render_error)?;
        emails::enqueue(tx, &email, now).await?;
    }
    let resellers: Vec<i64> = due.iter().map(|d| d.0.reseller_id).collect();
    set_marks(tx, kind, &ids, &resellers, &tos).await?;
    Ok(due.len() as u64)
}

/// Yesterday's backup status, once a day, to customers with backup-status reports on.
async fn backup_status(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let today = now.date_naive();
    let recipients = sqlx::query_as::<_, Recipient>(
        "SELECT c.id, c.reseller_id, c.name, c.email AS to_addresses, m.covered_until, NULL::text AS every \
         FROM customers c LEFT JOIN email_report_marks m ON m.customer_id = c.id AND m.kind = 'backup_status' \
         WHERE c.backup_status_reports AND c.email <> '' AND c.lifecycle <> 'deleted' \
           AND (m.covered_until IS NULL OR m.covered_until < $1) ORDER BY c.id",
    )
    .bind(start_of(today))
    .fetch_all(&mut **tx)
    .await?;
    let (from, end) = report_period(Every::Daily, today);
    let due: Vec<_> = recipients.iter().map(|r| (r, Every::Daily, from, end)).collect();
    status_reports(tx, now, "backup_status", &due).await
}

/// The consolidated customer report for the last complete day, week or month, to its recipients;
/// none while the operator's global consolidated report is on.
async fn consolidated(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let today = now.date_naive();
    let recipients = sqlx::query_as::<_, Recipient>(
        "SELECT c.id, c.reseller_id, c.name, c.consolidated_report_to AS to_addresses, m.covered_until, \
                c.consolidated_report_every AS every \
         FROM customers c LEFT JOIN email_report_marks m ON m.customer_id = c.id AND m.kind = 'consolidated' \
         WHERE c.consolidated_report_every IS NOT NULL AND c.consolidated_report_to <> '' AND c.lifecycle <> 'deleted' \
           AND NOT (SELECT consolidated_report_global FROM server_settings WHERE id = 1) \
           AND (m.covered_until IS NULL OR m.covered_until < $1) ORDER BY c.id",
    )
    .bind(start_of(today))
    .fetch_all(&mut **tx)
    .await?;
    let due: Vec<_> = recipients
        .iter()
        .filter_map(|r| {
            let every = Every::parse(r.every.as_deref()?)?;
            let (from, end) = report_period(every, today);
            let due = r.covered_until.is_none_or(|mark| mark < start_of(end));
            due.then_some((r, every, from, end))
        })
        .collect();
    status_reports(tx, now, "consolidated", &due).await
}
