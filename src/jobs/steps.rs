//! The engine's steps, in the order a tick runs them. Each is set-based SQL over all tenants,
//! guarded so that rows already in the wanted state are left alone (a second run changes nothing).
//! `$1` is always the tick's instant; dates are its UTC day.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Postgres, Transaction};

use super::{GRACE_ENDED_REASON, STALE_REASON_PREFIX};
use crate::auth::throttle;

type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, sqlx::Error>> + Send + 'a>>;

pub struct Step {
    pub name: &'static str,
    pub run: for<'a> fn(&'a mut Transaction<'static, Postgres>, DateTime<Utc>) -> StepFuture<'a>,
}

pub const STEPS: &[Step] = &[
    Step {
        name: "scheduled_changes",
        run: |tx, now| Box::pin(scheduled_changes(tx, now)),
    },
    Step {
        name: "seat_grace",
        run: |tx, now| Box::pin(seat_grace(tx, now)),
    },
    Step {
        name: "lifecycle",
        run: |tx, now| Box::pin(lifecycle(tx, now)),
    },
    Step {
        name: "mau",
        run: |tx, now| Box::pin(mau(tx, now)),
    },
    Step {
        name: "stale_sources",
        run: |tx, now| Box::pin(stale_sources(tx, now)),
    },
    Step {
        name: "thresholds",
        run: |tx, now| Box::pin(thresholds(tx, now)),
    },
    Step {
        name: "sla_scores",
        run: |tx, now| Box::pin(sla_scores(tx, now)),
    },
    Step {
        name: "seat_forecasts",
        run: |tx, now| Box::pin(seat_forecasts(tx, now)),
    },
    Step {
        name: "housekeeping",
        run: |tx, now| Box::pin(housekeeping(tx, now)),
    },
    Step {
        name: "invoices",
        run: |tx, now| Box::pin(super::invoices::monthly_invoices(tx, now)),
    },
    Step {
        name: "email_reports",
        run: |tx, now| Box::pin(super::reports::email_reports(tx, now)),
    },
];

/// Server-wide settings the rules read.
#[derive(sqlx::FromRow)]
struct Settings {
    grace_period_days: i32,
    deletion_retention_days: i32,
    stale_warning_hours: i32,
    stale_critical_hours: i32,
}

async fn settings(conn: &mut PgConnection) -> Result<Settings, sqlx::Error> {
    sqlx::query_as::<_, Settings>(
        "SELECT grace_period_days, deletion_retention_days, stale_warning_hours, stale_critical_hours \
         FROM server_settings WHERE id = 1",
    )
    .fetch_one(conn)
    .await
}

async fn count(conn: &mut PgConnection, sql: &str, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(sql).bind(now).fetch_one(conn).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Limit changes and credit quotas whose effective date has come.
async fn scheduled_changes(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let limits = count(
        tx,
        "WITH applied AS ( \
             UPDATE seat_limits s SET seat_limit = s.pending_limit, pending_limit = NULL, pending_effective_on = NULL \
             FROM seat_limits old \
             WHERE s.pending_effective_on <= ($1 AT TIME ZONE 'UTC')::date \
               AND old.customer_id = s.customer_id AND old.seat_property = s.seat_property \
             RETURNING s.reseller_id, s.customer_id, s.seat_property, old.seat_limit AS before, s.seat_limit AS after), \
         audited AS ( \
             INSERT INTO audit_log (at, actor_name, reseller_id, customer_id, action, object_kind, object_id, changes) \
             SELECT $1, 'engine', reseller_id, customer_id, 'seat_limit_applied', 'customer', customer_id::text, \
                    jsonb_build_object(seat_property || ' limit', jsonb_build_object('before', before, 'after', after)) \
             FROM applied RETURNING 1) \
         SELECT count(*) FROM applied",
        now,
    )
    .await?;
    let quotas = count(
        tx,
        "WITH applied AS ( \
             UPDATE customers c SET credit_quota = c.pending_credit_quota, credit_quota_effective_on = c.pending_credit_quota_on, \
                    pending_credit_quota = NULL, pending_credit_quota_on = NULL \
             FROM customers old \
             WHERE c.pending_credit_quota_on <= ($1 AT TIME ZONE 'UTC')::date AND old.id = c.id \
             RETURNING c.reseller_id, c.id, old.credit_quota AS before, c.credit_quota AS after), \
         audited AS ( \
             INSERT INTO audit_log (at, actor_name, reseller_id, customer_id, action, object_kind, object_id, changes) \
             SELECT $1, 'engine', reseller_id, id, 'credit_quota_applied', 'customer', id::text, \
                    jsonb_build_object('credit_quota', jsonb_build_object('before', before, 'after', after)) \
             FROM applied RETURNING 1) \
         SELECT count(*) FROM applied",
        now,
    )
    .await?;
    Ok(limits + quotas)
}

/// Grace periods start when usage first exceeds a limit and clear when it is back under; once a
/// grace period has ended, the customer's new backups are blocked and its connectors turn critical,
/// until usage falls back.
async fn seat_grace(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let settings = settings(tx).await?;
    let started: i64 = sqlx::query_scalar(
        "WITH started AS ( \
             UPDATE seat_limits SET over_limit_since = $1, grace_ends_at = $1 + make_interval(days => $2) \
             WHERE seats_used > seat_limit AND over_limit_since IS NULL \
             RETURNING reseller_id, customer_id, seat_property, seats_used, seat_limit, grace_ends_at), \
         raised AS ( \
             INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             SELECT s.reseller_id, s.customer_id, 'warning', 'seat_limit_exceeded', \
                    'seat:' || s.customer_id || ':' || s.seat_property, \
                    c.name || ': ' || s.seats_used || ' seats (' || s.seat_property || ') against a limit of ' || s.seat_limit \
                      || '; the grace period ends on ' || to_char(s.grace_ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '.', $1 \
             FROM started s JOIN customers c ON c.id = s.customer_id \
             ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING 1) \
         SELECT count(*) FROM started",
    )
    .bind(now)
    .bind(settings.grace_period_days)
    .fetch_one(&mut **tx)
    .await?;
    let cleared = count(
        tx,
        "WITH cleared AS ( \
             UPDATE seat_limits SET over_limit_since = NULL, grace_ends_at = NULL \
             WHERE seats_used <= seat_limit AND over_limit_since IS NOT NULL \
             RETURNING reseller_id, customer_id, seat_property), \
         resolved AS ( \
             UPDATE alerts a SET resolved_at = $1 FROM cleared c \
             WHERE a.resolved_at IS NULL AND a.reseller_id = c.reseller_id AND a.kind = 'seat_limit_exceeded' \
               AND a.subject = 'seat:' || c.customer_id || ':' || c.seat_property RETURNING 1) \
         SELECT count(*) FROM cleared",
        now,
    )
    .await?;
    let blocked: i64 = sqlx::query_scalar(
        "WITH due AS ( \
             SELECT DISTINCT customer_id FROM seat_limits WHERE over_limit_since IS NOT NULL AND grace_ends_at <= $1), \
         blocked AS ( \
             UPDATE customers c SET backups_blocked_reason = $2 FROM due \
             WHERE c.id = due.customer_id AND c.backups_blocked_reason IS DISTINCT FROM $2 \
             RETURNING c.id, c.reseller_id, c.name), \
         critical AS ( \
             UPDATE connectors k SET health = 'critical', health_reason = $2, health_since = $1 FROM due \
             WHERE k.customer_id = due.customer_id AND k.health <> 'critical' RETURNING 1), \
         raised AS ( \
             INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             SELECT reseller_id, id, 'critical', 'grace_period_ended', 'customer:' || id, \
                    name || ': the seat grace period has ended; new backups are refused until usage is back under the limit.', $1 \
             FROM blocked ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING 1) \
         SELECT (SELECT count(*) FROM blocked) + (SELECT count(*) FROM critical)",
    )
    .bind(now)
    .bind(GRACE_ENDED_REASON)
    .fetch_one(&mut **tx)
    .await?;
    let freed: i64 = sqlx::query_scalar(
        "WITH freed AS ( \
             UPDATE customers c SET backups_blocked_reason = NULL \
             WHERE c.backups_blocked_reason = $2 AND NOT EXISTS ( \
                 SELECT 1 FROM seat_limits s WHERE s.customer_id = c.id AND s.over_limit_since IS NOT NULL AND s.grace_ends_at <= $1) \
             RETURNING c.id, c.reseller_id), \
         healed AS ( \
             UPDATE connectors k SET health = 'healthy', health_reason = '', health_since = $1 FROM freed \
             WHERE k.customer_id = freed.id AND k.health_reason = $2 RETURNING 1), \
         resolved AS ( \
             UPDATE alerts a SET resolved_at = $1 FROM freed \
             WHERE a.resolved_at IS NULL AND a.reseller_id = freed.reseller_id AND a.kind = 'grace_period_ended' \
               AND a.subject = 'customer:' || freed.id RETURNING 1) \
         SELECT (SELECT count(*) FROM freed) + (SELECT count(*) FROM healed)",
    )
    .bind(now)
    .bind(GRACE_ENDED_REASON)
    .fetch_one(&mut **tx)
    .await?;
    Ok(u64::try_from(started + blocked + freed).unwrap_or(0) + cleared)
}

/// Expired services are scheduled for deletion (retention counted from the expiry, so a late tick
/// gives the same date as a punctual one); ended evaluations are deactivated; customers past their
/// deletion date are deleted and recorded in the deleted-items report.
async fn lifecycle(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let settings = settings(tx).await?;
    let scheduled: i64 = sqlx::query_scalar(
        "WITH scheduled AS ( \
             UPDATE customers SET lifecycle = 'scheduled_for_deletion', scheduled_for_deletion_at = $1, \
                    delete_on = service_expires_on + $2 \
             WHERE lifecycle = 'active' AND NOT is_default AND service_expires_on < ($1 AT TIME ZONE 'UTC')::date \
             RETURNING id, reseller_id, name, service_expires_on, delete_on), \
         audited AS ( \
             INSERT INTO audit_log (at, actor_name, reseller_id, customer_id, action, object_kind, object_id, changes) \
             SELECT $1, 'engine', reseller_id, id, 'customer_scheduled_for_deletion', 'customer', id::text, \
                    jsonb_build_object('lifecycle', jsonb_build_object('before', 'active', 'after', 'scheduled_for_deletion'), \
                                       'delete_on', jsonb_build_object('before', null, 'after', delete_on)) \
             FROM scheduled RETURNING 1), \
         raised AS ( \
             INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             SELECT reseller_id, id, 'warning', 'customer_scheduled_for_deletion', 'customer:' || id, \
                    name || ': the service expired on ' || service_expires_on || '; the customer is deleted after ' || delete_on \
                      || ' unless it is revived.', $1 \
             FROM scheduled ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING 1) \
         SELECT count(*) FROM scheduled",
    )
    .bind(now)
    .bind(settings.deletion_retention_days)
    .fetch_one(&mut **tx)
    .await?;
    let deactivated = count(
        tx,
        "WITH ended AS ( \
             UPDATE customers SET activated = false \
             WHERE tenant_type = 'evaluation' AND lifecycle = 'active' AND activated \
               AND trial_ends_on < ($1 AT TIME ZONE 'UTC')::date \
             RETURNING id, reseller_id, name, trial_ends_on), \
         audited AS ( \
             INSERT INTO audit_log (at, actor_name, reseller_id, customer_id, action, object_kind, object_id, changes) \
             SELECT $1, 'engine', reseller_id, id, 'evaluation_ended', 'customer', id::text, \
                    jsonb_build_object('activated', jsonb_build_object('before', true, 'after', false)) \
             FROM ended RETURNING 1), \
         raised AS ( \
             INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             SELECT reseller_id, id, 'warning', 'trial_ended', 'customer:' || id, \
                    name || ': the evaluation ended on ' || trial_ends_on || '; the customer is deactivated until it selects a paid plan.', $1 \
             FROM ended ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING 1) \
         SELECT count(*) FROM ended",
        now,
    )
    .await?;
    // A revived customer is 'active' again and simply does not match here.
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM customers WHERE lifecycle = 'scheduled_for_deletion' AND NOT is_default \
           AND delete_on < ($1 AT TIME ZONE 'UTC')::date ORDER BY id FOR UPDATE",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    if !due.is_empty() {
        sqlx::query(
            "INSERT INTO deleted_items (reseller_id, customer_id, customer_name, item_kind, item_name, size_bytes, \
                                        deleted_by_kind, deleted_by_name, deleted_at) \
             SELECT reseller_id, id, name, 'customer', name, used_space_bytes, 'engine', 'Retention period ended', $2 \
             FROM customers WHERE id = ANY($1)",
        )
        .bind(&due)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        // The customer's data goes; the row stays, anonymised, for the report, invoices and audit.
        for table in [
            "users",
            "clients",
            "connectors",
            "accounts",
            "seat_limits",
            "contacts",
            "locations",
            "usage_daily",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = ANY($1)"))
                .bind(&due)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("UPDATE alerts SET resolved_at = $2 WHERE customer_id = ANY($1) AND resolved_at IS NULL")
            .bind(&due)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE customers SET lifecycle = 'deleted', deleted_at = $2, activated = false, auto_authorize = false, \
                    name = left(name, 90) || ' (deleted ' || id || ')', legal_name = '', email = '', address = '', city = '', \
                    phone = '', fax = '', notes = '', consolidated_report_to = '', pass_key_hash = '', \
                    backups_blocked_reason = NULL, used_space_bytes = 0 \
             WHERE id = ANY($1)",
        )
        .bind(&due)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_log (at, actor_name, reseller_id, customer_id, action, object_kind, object_id, changes) \
             SELECT $2, 'engine', reseller_id, id, 'customer_deleted', 'customer', id::text, \
                    jsonb_build_object('lifecycle', jsonb_build_object('before', 'scheduled_for_deletion', 'after', 'deleted')) \
             FROM customers WHERE id = ANY($1)",
        )
        .bind(&due)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(u64::try_from(scheduled).unwrap_or(0) + deactivated + due.len() as u64)
}

/// Distinct active accounts per customer and month, the reseller's allowance of the month, and an
/// alert while a reseller is over its allowance.
async fn mau(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    // Only the pairs whose activity changed since the last tick (queued by triggers on
    // account_activity_months, migration 20261201950004), taken and counted at one snapshot.
    // Months before last month keep their figure, as they always did.
    let monthly = sqlx::query(
        "WITH queued AS (DELETE FROM mau_recount RETURNING customer_id, month), \
         pairs AS ( \
             SELECT DISTINCT customer_id, month FROM queued \
             WHERE month >= date_trunc('month', ($1 AT TIME ZONE 'UTC') - interval '1 month')::date \
               AND month <= ($1 AT TIME ZONE 'UTC')::date) \
         INSERT INTO mau_monthly (reseller_id, customer_id, month, mau) \
         SELECT c.reseller_id, p.customer_id, p.month, \
                (SELECT count(*) FROM account_activity_months a WHERE a.customer_id = p.customer_id AND a.month = p.month)::int \
         FROM pairs p JOIN customers c ON c.id = p.customer_id \
         ON CONFLICT (customer_id, month) DO UPDATE SET mau = EXCLUDED.mau WHERE mau_monthly.mau IS DISTINCT FROM EXCLUDED.mau",
    )
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let allowance = sqlx::query(
        "INSERT INTO mau_allowance_history (reseller_id, month, allowance) \
         SELECT id, date_trunc('month', $1 AT TIME ZONE 'UTC')::date, mau_allowance FROM resellers WHERE NOT is_default \
         ON CONFLICT (reseller_id, month) DO UPDATE SET allowance = EXCLUDED.allowance \
         WHERE mau_allowance_history.allowance IS DISTINCT FROM EXCLUDED.allowance",
    )
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // A reseller's month total is the trigger-kept sum of its customers' MAU (reseller_mau_months;
    // tests/it/roll_ups.rs holds it to the raw sum): 200 rows instead of this month's 100,000.
    let overage = count(
        tx,
        "WITH month AS (SELECT date_trunc('month', $1 AT TIME ZONE 'UTC')::date AS first), \
         totals AS ( \
             SELECT r.id AS reseller_id, r.name, r.mau_allowance, coalesce(m.mau, 0) AS mau \
             FROM resellers r CROSS JOIN month \
             LEFT JOIN reseller_mau_months m ON m.reseller_id = r.id AND m.month = month.first \
             WHERE NOT r.is_default), \
         raised AS ( \
             INSERT INTO alerts (reseller_id, severity, kind, subject, message, raised_at) \
             SELECT t.reseller_id, 'warning', 'mau_overage', 'reseller:' || t.reseller_id || ':' || month.first, \
                    t.name || ': ' || t.mau || ' monthly active users this month against an allowance of ' || t.mau_allowance || '.', $1 \
             FROM totals t CROSS JOIN month WHERE t.mau > t.mau_allowance \
             ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING 1), \
         resolved AS ( \
             UPDATE alerts a SET resolved_at = $1 FROM totals t, month \
             WHERE a.resolved_at IS NULL AND a.kind = 'mau_overage' AND a.reseller_id = t.reseller_id \
               AND (t.mau <= t.mau_allowance OR a.subject <> 'reseller:' || t.reseller_id || ':' || month.first) RETURNING 1) \
         SELECT (SELECT count(*) FROM raised) + (SELECT count(*) FROM resolved)",
        now,
    )
    .await?;
    Ok(monthly + allowance + overage)
}

/// Connectors and clients with no successful backup for the configured hours become warning, then
/// critical; a later success makes them healthy. Only states the engine set itself are changed back.
async fn stale_sources(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let settings = settings(tx).await?;
    let mut changed = 0;
    for (table, name_expr, subject) in [
        ("connectors", "k.name", "connector"),
        ("clients", "coalesce(nullif(k.hostname, ''), k.client_key)", "client"),
    ] {
        // Two statements: the sources whose state must change (read off the partial indexes, a few
        // thousand candidates), then the update of just those through the primary key. As one
        // UPDATE … FROM the candidates, PostgreSQL estimated a third of the table as candidates
        // and hash-joined them against a scan of all million clients (0.46 s of every tick).
        // The update checks the row's staleness again, in case a success was stored meanwhile.
        let changes: Vec<(i64, String, String)> = sqlx::query_as(&format!(
            "WITH wanted AS ( \
                 SELECT id, health AS was, health_reason AS was_reason, \
                        CASE WHEN coalesce(last_success_at, created_at) <= $1 - make_interval(hours => $3) THEN 'critical' \
                             WHEN coalesce(last_success_at, created_at) <= $1 - make_interval(hours => $2) THEN 'warning' \
                             ELSE 'healthy' END AS health \
                 FROM {table} \
                 WHERE (health = 'healthy' AND coalesce(last_success_at, created_at) <= $1 - make_interval(hours => $2)) \
                    OR (health <> 'healthy' AND health_reason LIKE $4 || '%')), \
             target AS ( \
                 SELECT w.*, CASE w.health WHEN 'critical' THEN $4 || ' ' || $3 || ' hours.' \
                                           WHEN 'warning' THEN $4 || ' ' || $2 || ' hours.' ELSE '' END AS reason \
                 FROM wanted w) \
             SELECT id, health, reason FROM target WHERE (was, was_reason) IS DISTINCT FROM (health, reason)"
        ))
        .bind(now)
        .bind(settings.stale_warning_hours)
        .bind(settings.stale_critical_hours)
        .bind(STALE_REASON_PREFIX)
        .fetch_all(&mut **tx)
        .await?;
        if changes.is_empty() {
            continue;
        }
        let change_ids: Vec<i64> = changes.iter().map(|(id, _, _)| *id).collect();
        let health: Vec<&str> = changes.iter().map(|(_, h, _)| h.as_str()).collect();
        let reasons: Vec<&str> = changes.iter().map(|(_, _, r)| r.as_str()).collect();
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "UPDATE {table} k SET health = t.health, health_reason = t.reason, health_since = $1 \
             FROM unnest($4::bigint[], $5::text[], $6::text[]) AS t(id, health, reason) \
             WHERE k.id = t.id AND (k.health, k.health_reason) IS DISTINCT FROM (t.health, t.reason) \
               AND CASE t.health \
                       WHEN 'healthy' THEN coalesce(k.last_success_at, k.created_at) > $1 - make_interval(hours => $2) \
                       WHEN 'warning' THEN coalesce(k.last_success_at, k.created_at) <= $1 - make_interval(hours => $2) \
                       ELSE coalesce(k.last_success_at, k.created_at) <= $1 - make_interval(hours => $3) END \
             RETURNING k.id"
        ))
        .bind(now)
        .bind(settings.stale_warning_hours)
        .bind(settings.stale_critical_hours)
        .bind(&change_ids)
        .bind(&health)
        .bind(&reasons)
        .fetch_all(&mut **tx)
        .await?;
        let n = ids.len() as u64;
        if ids.is_empty() {
            continue;
        }
        // Alerts follow the changed sources only: the old alert resolves, a new one of the
        // current severity opens while the source is not healthy.
        let subjects: Vec<String> = ids.iter().map(|id| format!("{subject}:{id}")).collect();
        sqlx::query(
            "UPDATE alerts SET resolved_at = $1 WHERE resolved_at IS NULL AND kind = 'source_stale' AND subject = ANY($2)",
        )
        .bind(now)
        .bind(&subjects)
        .execute(&mut **tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             SELECT k.reseller_id, k.customer_id, k.health, 'source_stale', '{subject}:' || k.id, \
                    c.name || ' · ' || {name_expr} || ': ' || k.health_reason, $1 \
             FROM {table} k JOIN customers c ON c.id = k.customer_id \
             WHERE k.id = ANY($2) AND k.health <> 'healthy' \
             ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING"
        ))
        .bind(now)
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
        changed += n;
    }
    Ok(changed)
}

/// Early warnings, each raised once per threshold: storage at 80% and 90% of the quota; a service
/// or evaluation ending in 30, 15, 7, 3 or 1 days.
///
/// Reminders no longer due are found with `NOT IN (due)`, a hashed subplan: `NOT EXISTS` against
/// the CTE was planned as a nested loop (5,720 open reminders × 2,860 due ones: 4 s of every tick
/// on the large dataset). Subjects are never NULL, so NOT IN means what NOT EXISTS did.
async fn thresholds(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    // Customers at 80 % of their quota or more are found through `customers_storage_high`, and
    // open storage alerts (a few) are checked against their customer's level now: a pass over
    // every customer with a quota cost 0.16 s a tick on the large dataset, to find none.
    // A customer's storage level: 90, 80 or none (NULL).
    const STORAGE_LEVEL: &str = "CASE WHEN c.used_space_bytes >= c.space_quota_bytes * 0.9 THEN 90 \
                                      WHEN c.used_space_bytes >= c.space_quota_bytes * 0.8 THEN 80 END";
    let storage = count(
        tx,
        &format!(
            "WITH levels AS ( \
             SELECT c.id, c.reseller_id, c.name, {STORAGE_LEVEL} AS level \
             FROM customers c \
             WHERE c.lifecycle <> 'deleted' AND c.space_quota_bytes > 0 \
               AND c.used_space_bytes >= c.space_quota_bytes * 0.8), \
         raised AS ( \
             INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             SELECT reseller_id, id, CASE level WHEN 90 THEN 'critical' ELSE 'warning' END, 'storage_quota', \
                    'customer:' || id || ':storage:' || level, \
                    name || ': storage has reached ' || level || '% of its quota.', $1 \
             FROM levels \
             ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING 1), \
         resolved AS ( \
             UPDATE alerts a SET resolved_at = $1 FROM customers c \
             WHERE a.resolved_at IS NULL AND a.kind = 'storage_quota' AND c.id = a.customer_id \
               AND c.lifecycle <> 'deleted' AND c.space_quota_bytes > 0 \
               AND a.subject IS DISTINCT FROM 'customer:' || c.id || ':storage:' || {STORAGE_LEVEL} \
             RETURNING 1) \
         SELECT (SELECT count(*) FROM raised) + (SELECT count(*) FROM resolved)"
        ),
        now,
    )
    .await?;
    // Reminders at 30, 15, 7, 3 and 1 days (the smallest threshold the days left are within).
    // The customers ending within 30 days come off `customers_service_ending` and
    // `customers_trial_ending`; those already reminded at their threshold (nearly all, on most
    // ticks) are left out before the insert by one hashed look at the open reminders, instead of
    // a conflict check per customer.
    let reminders = count(
        tx,
        "WITH ends AS ( \
             SELECT id, reseller_id, name, 'service' AS what, service_expires_on AS ends_on FROM customers \
             WHERE lifecycle = 'active' AND NOT is_default AND service_expires_on IS NOT NULL \
               AND service_expires_on BETWEEN ($1 AT TIME ZONE 'UTC')::date AND ($1 AT TIME ZONE 'UTC')::date + 30 \
             UNION ALL \
             SELECT id, reseller_id, name, 'trial', trial_ends_on FROM customers \
             WHERE lifecycle = 'active' AND tenant_type = 'evaluation' \
               AND trial_ends_on BETWEEN ($1 AT TIME ZONE 'UTC')::date AND ($1 AT TIME ZONE 'UTC')::date + 30), \
         due AS ( \
             SELECT e.*, t.threshold, \
                    'customer:' || e.id || ':' || e.what || ':' || e.ends_on || ':' || t.threshold AS subject \
             FROM ends e CROSS JOIN LATERAL ( \
                 SELECT CASE WHEN d <= 1 THEN 1 WHEN d <= 3 THEN 3 WHEN d <= 7 THEN 7 WHEN d <= 15 THEN 15 ELSE 30 END \
                          AS threshold \
                 FROM (SELECT e.ends_on - ($1 AT TIME ZONE 'UTC')::date AS d) x) t), \
         open AS MATERIALIZED ( \
             SELECT subject FROM alerts WHERE resolved_at IS NULL AND kind IN ('service_ending', 'trial_ending')), \
         raised AS ( \
             INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             SELECT reseller_id, id, 'info', what || '_ending', \
                    subject, \
                    name || CASE what WHEN 'service' THEN ': the service expires on ' ELSE ': the evaluation ends on ' END \
                      || ends_on || ' (' || threshold || CASE threshold WHEN 1 THEN ' day' ELSE ' days' END || ' or less).', $1 \
             FROM due WHERE subject NOT IN (SELECT subject FROM open) \
             ON CONFLICT (reseller_id, kind, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING 1), \
         resolved AS ( \
             UPDATE alerts a SET resolved_at = $1 \
             WHERE a.resolved_at IS NULL AND a.kind IN ('service_ending', 'trial_ending') \
               AND a.subject NOT IN (SELECT subject FROM due) \
             RETURNING 1) \
         SELECT (SELECT count(*) FROM raised) + (SELECT count(*) FROM resolved)",
        now,
    )
    .await?;
    Ok(storage + reminders)
}

/// What the SLA score of a customer is computed from, over the last 30 UTC days (today's so far
/// included), the window of the SLA tab's 30-day score: both read the day roll-ups
/// (`backup_job_days`), so the list's stored score and the tab's agree, and a full pass reads 2.7 M
/// roll-up rows instead of scanning 20 M jobs for the month's 6.6 M (8 s -> 3.5 s).
#[derive(sqlx::FromRow)]
struct SlaFigures {
    id: i64,
    reseller_id: i64,
    succeeded: i64,
    warnings: i64,
    failed: i64,
    sources: i64,
    fresh_sources: i64,
    /// The oldest good backup among the fresh sources: the first of them to turn stale.
    oldest_fresh: Option<DateTime<Utc>>,
    open_critical: i64,
    sla_score: Option<i16>,
    stale_hours: i32,
}

/// The figures of a pass's customers, as columns of both passes' statements.
const SLA_FIGURES: &str = "c.id, c.reseller_id, coalesce(j.succeeded, 0) AS succeeded, coalesce(j.warnings, 0) AS warnings, \
     coalesce(j.failed, 0) AS failed, coalesce(s.sources, 0) AS sources, coalesce(s.fresh, 0) AS fresh_sources, \
     s.oldest_fresh, coalesce(a.open_critical, 0) AS open_critical, c.sla_score, \
     (SELECT stale_warning_hours FROM server_settings WHERE id = 1) AS stale_hours";

/// A source is fresh after this instant ($1 the tick's), read in the statement that reads the
/// figures: a threshold changed after the queue was taken then counts from the next tick, whose
/// full pass its change queued, and never half of one pass.
const FRESH_AFTER: &str =
    "($1 - make_interval(hours => (SELECT stale_warning_hours FROM server_settings WHERE id = 1)))";

/// Deletes the queued rows the engine can lock at once. A row a writer holds (it found its customer
/// queued, migration 20261207000003) stays queued until a tick after that writer has ended: its
/// rows may be uncommitted still. The queued pass scores the customers of held rows too, since other
/// writers may have committed changes under the same row (key-share locks are shared).
const TAKE_SLA_QUEUE: &str =
    "DELETE FROM sla_score_queue WHERE ctid IN (SELECT ctid FROM sla_score_queue FOR UPDATE SKIP LOCKED)";

/// A score reads the customer's jobs of its 30 days, its sources, its open critical alerts, its
/// lifecycle and the stale threshold (queued by triggers when one of them changes, migration
/// 20261206000008), and the time: a fresh source turns stale at an instant the pass foresees
/// (`sla_score_due`). The step scores the queued customers and those whose instant has come on
/// every tick, and makes its full pass on the first tick of each UTC day, when the 30-day window
/// moves for everyone, or when every score was queued.
async fn sla_scores(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let today = now.date_naive();
    // The customers are taken off the queue first (a NULL among them: every customer), and their
    // figures read by a second statement planned for that many (not kept prepared: each tick is
    // planned for the ids it binds), each one's rows by index. One statement, planned for what the
    // queue's statistics guessed (600,000 rows), read every customer's figures to keep 2,000 of
    // them (31 s). A customer queued again between the two statements stays queued for the next
    // tick, whose pass reads it again. The ids are a condition on the customers (`= ANY`), not a
    // set joined to them: joined, 2,000 ids were planned as a hash of all 99,000 customers (45 ms
    // of the step), where the condition is 2,000 primary-key probes (3 ms).
    // A clock set back within the day makes a full pass too: instants foreseen from a later time
    // would fire late.
    let daily_pass_due = last_success(tx, "sla_scores")
        .await?
        .is_none_or(|at| at.date_naive() != today || at > now);
    let picked: Option<Vec<i64>> = if daily_pass_due {
        None
    } else {
        let taken: Vec<Option<i64>> = sqlx::query_scalar(&format!(
            "WITH taken AS ({TAKE_SLA_QUEUE}), \
                  fired AS (DELETE FROM sla_score_due WHERE due_at <= $1 RETURNING customer_id) \
             SELECT customer_id FROM sla_score_queue UNION SELECT customer_id FROM fired",
        ))
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
        // Every queued customer, taken or held: the statement's SELECT sees the queue as it was
        // before its own delete. None when a NULL was queued: every score is due.
        taken.into_iter().collect()
    };
    // The full pass has cleared every foreseen instant already; a queued one replaces its customers'.
    let full = picked.is_none();
    let figures = if let Some(picked) = picked {
        if picked.is_empty() {
            return Ok(0);
        }
        sqlx::query_as::<_, SlaFigures>(&format!(
            "SELECT {SLA_FIGURES} FROM customers c \
             CROSS JOIN LATERAL (SELECT sum(succeeded) AS succeeded, sum(warning) AS warnings, \
                                        sum(failed + refused) AS failed \
                                 FROM backup_job_days \
                                 WHERE customer_id = c.id AND day > $2::date - 30 AND day <= $2::date) j \
             CROSS JOIN LATERAL (SELECT count(*) AS sources, \
                                        count(*) FILTER (WHERE last_success_at > {FRESH_AFTER}) AS fresh, \
                                        min(last_success_at) FILTER (WHERE last_success_at > {FRESH_AFTER}) AS oldest_fresh \
                                 FROM (SELECT last_success_at FROM connectors WHERE reseller_id = c.reseller_id AND customer_id = c.id \
                                       UNION ALL \
                                       SELECT last_success_at FROM clients WHERE reseller_id = c.reseller_id AND customer_id = c.id) x) s \
             CROSS JOIN LATERAL (SELECT count(*) AS open_critical FROM alerts \
                                 WHERE customer_id = c.id AND severity = 'critical' AND resolved_at IS NULL) a \
             WHERE c.id = ANY($3::bigint[]) AND c.lifecycle <> 'deleted'"
        ))
        .bind(now)
        .bind(today)
        .bind(&picked)
        .persistent(false)
        .fetch_all(&mut **tx)
        .await?
    } else {
        // The queue is taken before the figures are read: a customer queued by a transaction
        // that commits in between stays queued and is read twice, never missed. Not in the
        // figures' statement: a statement that writes gets no parallel workers, and with two the
        // read of every customer's figures takes 2.8 s instead of 4.5 s on the large dataset (two
        // cores; once a day, so the pages share the cores with them for less time, not more).
        sqlx::query(&format!("WITH cleared AS ({TAKE_SLA_QUEUE}) DELETE FROM sla_score_due"))
            .execute(&mut **tx)
            .await?;
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 2")
            .execute(&mut **tx)
            .await?;
        sqlx::query_as::<_, SlaFigures>(&format!(
            "SELECT {SLA_FIGURES} FROM customers c \
             LEFT JOIN (SELECT customer_id, sum(succeeded) AS succeeded, sum(warning) AS warnings, \
                               sum(failed + refused) AS failed \
                        FROM backup_job_days WHERE day > $2::date - 30 AND day <= $2::date \
                        GROUP BY customer_id) j ON j.customer_id = c.id \
             LEFT JOIN (SELECT customer_id, count(*) AS sources, \
                               count(*) FILTER (WHERE last_success_at > {FRESH_AFTER}) AS fresh, \
                               min(last_success_at) FILTER (WHERE last_success_at > {FRESH_AFTER}) AS oldest_fresh \
                        FROM (SELECT customer_id, last_success_at FROM connectors \
                              UNION ALL SELECT customer_id, last_success_at FROM clients) x \
                        GROUP BY customer_id) s ON s.customer_id = c.id \
             LEFT JOIN (SELECT customer_id, count(*) AS open_critical FROM alerts \
                        WHERE severity = 'critical' AND resolved_at IS NULL GROUP BY customer_id) a ON a.customer_id = c.id \
             WHERE c.lifecycle <> 'deleted'"
        ))
        .bind(now)
        .bind(today)
        .fetch_all(&mut **tx)
        .await?
    };

    let (mut ids, mut scores) = (Vec::new(), Vec::new());
    let (mut due_ids, mut due_resellers, mut due_at, mut undue_ids) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for f in &figures {
        let score = i16::from(crate::domain::sla::score(crate::domain::sla::SlaInputs {
            succeeded: f.succeeded,
            warnings: f.warnings,
            failed: f.failed,
            sources: f.sources,
            fresh_sources: f.fresh_sources,
            open_critical_alerts: f.open_critical,
        }));
        if f.sla_score != Some(score) {
            ids.push(f.id);
            scores.push(score);
        }
        match crate::domain::sla::fresh_until(f.oldest_fresh, i64::from(f.stale_hours)) {
            Some(at) => {
                due_ids.push(f.id);
                due_resellers.push(f.reseller_id);
                due_at.push(at);
            }
            None if !full => undue_ids.push(f.id),
            None => {}
        }
    }
    if !due_ids.is_empty() || !undue_ids.is_empty() {
        sqlx::query(
            "WITH undue AS (DELETE FROM sla_score_due WHERE customer_id = ANY($4)) \
             INSERT INTO sla_score_due (customer_id, reseller_id, due_at) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) \
             ON CONFLICT (customer_id) DO UPDATE SET due_at = EXCLUDED.due_at \
             WHERE sla_score_due.due_at IS DISTINCT FROM EXCLUDED.due_at",
        )
        .bind(&due_ids)
        .bind(&due_resellers)
        .bind(&due_at)
        .bind(&undue_ids)
        .execute(&mut **tx)
        .await?;
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "UPDATE customers c SET sla_score = v.score FROM unnest($1::bigint[], $2::smallint[]) AS v(id, score) \
         WHERE c.id = v.id AND c.sla_score IS DISTINCT FROM v.score",
    )
    .bind(&ids)
    .bind(&scores)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// When a step last succeeded (None: never).
async fn last_success(
    tx: &mut Transaction<'static, Postgres>,
    step: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT last_success_at FROM engine_steps WHERE step = $1")
            .bind(step)
            .fetch_optional(&mut **tx)
            .await?
            .flatten(),
    )
}

/// A forecast reads the customer's usage of the last 30 days, its seat limits and its lifecycle
/// (queued by triggers when one of them changes, migration 20261206000002), and the day: the step
/// forecasts the queued customers on every tick and makes its full pass on the first tick of each
/// UTC day, when the 30-day window moves for everyone.
async fn seat_forecasts(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let today = now.date_naive();
    // A TRUNCATE of the usage forgets the last pass (migration 20261207000001). Locked first, so a
    // TRUNCATE either committed before the last pass is read here, or waits for this step's
    // commit: the step cannot record its pass over a TRUNCATE's reset that it did not see.
    sqlx::query("LOCK TABLE usage_daily IN ACCESS SHARE MODE")
        .execute(&mut **tx)
        .await?;
    let which = match last_success(tx, "seat_forecasts").await? {
        Some(at) if at.date_naive() == today => Forecasts::Queued,
        _ => Forecasts::All,
    };
    forecast(tx, today, which).await
}

#[derive(sqlx::FromRow)]
struct SeatTrend {
    customer_id: i64,
    seat_property: String,
    seats_used: i32,
    seat_limit: i32,
    series: Vec<i64>,
    stored: Option<i32>,
    active: bool,
}

/// Which seat limits a forecast pass reads.
#[derive(Clone, Copy)]
enum Forecasts {
    /// Every one (the queue is emptied too, at the same snapshot).
    All,
    /// Those of the customers queued since the last pass.
    Queued,
}

/// The "approaching limits" forecast of every seat limit of an active customer (the rule is
/// `domain::forecast`), stored in `seat_limits.over_limit_in_days`; changed values only are
/// written. The dashboard reads the stored value, so the seed runs this too.
pub async fn forecast_seat_limits(conn: &mut PgConnection, today: NaiveDate) -> Result<u64, sqlx::Error> {
    forecast(conn, today, Forecasts::All).await
}

async fn forecast(conn: &mut PgConnection, today: NaiveDate, which: Forecasts) -> Result<u64, sqlx::Error> {
    use crate::domain::forecast::{HORIZON_DAYS, TREND_DAYS, days_until_over};
    // Each customer's daily seats per property are gathered once, from the usage rows' own keys,
    // and then joined to its limits: joining every limit to every usage row of its customer and
    // filtering by property read each row once per limit (5.5 M joined rows on the large dataset,
    // 5.4 s, against 2.9 M and 2.9 s). Numbers only: a count written by hand as text must not stop
    // every forecast (the seats themselves are an object, by a CHECK).
    let (queue, usage, limits) = match which {
        Forecasts::All => (
            "cleared AS (DELETE FROM seat_forecast_queue)",
            "usage_daily u",
            "seat_limits s",
        ),
        Forecasts::Queued => (
            "queued AS (DELETE FROM seat_forecast_queue RETURNING customer_id), \
             picked AS (SELECT DISTINCT customer_id FROM queued)",
            "picked p JOIN usage_daily u ON u.customer_id = p.customer_id",
            "picked p JOIN seat_limits s ON s.customer_id = p.customer_id",
        ),
    };
    let trends = sqlx::query_as::<_, SeatTrend>(&format!(
        "WITH {queue}, \
         series AS ( \
             SELECT u.customer_id, e.key AS seat_property, array_agg(e.value::numeric::bigint ORDER BY u.day) AS series \
             FROM {usage} \
             CROSS JOIN LATERAL jsonb_each(u.seats) AS e \
             WHERE u.day > $1::date - $2::int AND u.day <= $1::date AND jsonb_typeof(e.value) = 'number' \
             GROUP BY u.customer_id, e.key) \
         SELECT s.customer_id, s.seat_property, s.seats_used, s.seat_limit, s.over_limit_in_days AS stored, \
                c.lifecycle = 'active' AS active, coalesce(t.series, '{{}}') AS series \
         FROM {limits} JOIN customers c ON c.id = s.customer_id \
         LEFT JOIN series t ON t.customer_id = s.customer_id AND t.seat_property = s.seat_property \
         WHERE (c.lifecycle = 'active' AND s.seats_used <= s.seat_limit) OR s.over_limit_in_days IS NOT NULL"
    ))
    .bind(today)
    .bind(TREND_DAYS)
    .fetch_all(&mut *conn)
    .await?;
    let mut customers = Vec::new();
    let mut properties = Vec::new();
    let mut days = Vec::new();
    for trend in trends {
        let forecast = days_until_over(&trend.series, i64::from(trend.seats_used), i64::from(trend.seat_limit))
            .filter(|d| trend.active && *d <= HORIZON_DAYS)
            .and_then(|d| i32::try_from(d).ok());
        if forecast != trend.stored {
            customers.push(trend.customer_id);
            properties.push(trend.seat_property);
            days.push(forecast);
        }
    }
    if customers.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "UPDATE seat_limits s SET over_limit_in_days = v.days \
         FROM unnest($1::bigint[], $2::text[], $3::int[]) AS v(customer_id, seat_property, days) \
         WHERE s.customer_id = v.customer_id AND s.seat_property = v.seat_property \
           AND s.over_limit_in_days IS DISTINCT FROM v.days",
    )
    .bind(&customers)
    .bind(&properties)
    .bind(&days)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Impersonations past their time limit, or whose session expires, are ended and recorded as a
/// request of the session would have (auth::impersonation): an admin who walks away while acting
/// as a customer still leaves an `impersonation_ended` in the customer's audit log, since no
/// request comes to notice (a customer deleted since has no id left to record it under, and is
/// skipped, as the request path skips it). Then sessions past their absolute expiry are removed.
async fn housekeeping(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    // FOR UPDATE: a request ending the same impersonation at the same moment (it locks the row
    // too) either ends it first, and the row is no longer selected, or waits and finds it ended.
    let impersonations = count(
        tx,
        "WITH old AS ( \
             SELECT id_hash, user_id, impersonated_customer_id, impersonated_reseller_id, impersonated_customer_name, \
                    impersonation_reason, impersonation_started_at, \
                    least(impersonation_expires_at, expires_at) AS ended_at, \
                    CASE WHEN impersonation_expires_at <= expires_at THEN 'time limit' ELSE 'session expired' END AS ended_by \
             FROM sessions \
             WHERE impersonation_started_at IS NOT NULL AND (impersonation_expires_at <= $1 OR expires_at <= $1) \
             FOR UPDATE), \
         ended AS ( \
             UPDATE sessions s SET impersonated_customer_id = NULL, impersonated_reseller_id = NULL, \
                    impersonated_customer_name = NULL, impersonation_reason = NULL, impersonation_started_at = NULL, \
                    impersonation_expires_at = NULL \
             FROM old WHERE s.id_hash = old.id_hash \
             RETURNING old.*), \
         audited AS ( \
             INSERT INTO audit_log (at, actor_user_id, actor_name, reseller_id, customer_id, action, object_kind, \
                                    object_id, changes, reason) \
             SELECT $1, e.user_id, coalesce(nullif(u.display_name, ''), u.username), e.impersonated_reseller_id, \
                    e.impersonated_customer_id, 'impersonation_ended', 'customer', e.impersonated_customer_id::text, \
                    jsonb_build_object( \
                        'logged_in_as', jsonb_build_object('before', e.impersonated_customer_name, 'after', null), \
                        'ended_by', jsonb_build_object('before', null, 'after', e.ended_by), \
                        'minutes', jsonb_build_object('before', null, 'after', \
                            floor(extract(epoch FROM least(e.ended_at, $1) - e.impersonation_started_at) / 60)::int)), \
                    coalesce(e.impersonation_reason, '') \
             FROM ended e JOIN users u ON u.id = e.user_id \
             WHERE e.impersonated_customer_id IS NOT NULL AND e.impersonated_reseller_id IS NOT NULL \
             RETURNING 1) \
         SELECT count(*) FROM ended",
        now,
    )
    .await?;
    // Not one still acting as a customer: expired by a request after the statement above looked
    // (a login replacing it, a log out elsewhere), its end is recorded by the next tick first.
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 AND impersonation_started_at IS NULL")
        .bind(now)
        .execute(&mut **tx)
        .await?;
    // Failed logins: a key still within its free attempts is forgotten an hour after its last
    // failure, any other a day after, once no lock of it holds.
    // Rows a login holds are left for the next tick: waiting for them, in whatever order the
    // scan meets them, could deadlock with a login locking its two keys in key order.
    let forgotten = sqlx::query(
        "DELETE FROM login_throttle WHERE key IN ( \
             SELECT key FROM login_throttle \
             WHERE (locked_until IS NULL OR locked_until <= $1) \
               AND (last_failure_at < $1 - make_interval(hours => $2) \
                    OR (last_failure_at < $1 - make_interval(hours => $3) \
                        AND failures < CASE WHEN key LIKE 'addr:%' THEN $4 ELSE $5 END)) \
             FOR UPDATE SKIP LOCKED)",
    )
    .bind(now)
    .bind(throttle::FORGET_AFTER_HOURS as i32)
    .bind(throttle::FORGET_FREE_AFTER_HOURS as i32)
    .bind(throttle::FREE_ATTEMPTS_PER_ADDRESS as i32)
    .bind(throttle::FREE_ATTEMPTS as i32)
    .execute(&mut **tx)
    .await?;
    Ok(impersonations + done.rows_affected() + forgotten.rows_affected())
}
