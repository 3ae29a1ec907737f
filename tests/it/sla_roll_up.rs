//! The backup job roll-ups the SLA tab reads (`backup_job_days`, `backup_job_source_days`): equal to
//! the raw aggregate of backup_jobs after every kind of write, and the tab's queries over them equal
//! to the raw queries they replaced, at any instant.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use msp_portal::db::MIGRATOR;
use msp_portal::domain::tenancy::Scope;
use msp_portal::store;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::common::{TestApp, fixed_now};

type DayRow = (i64, i64, NaiveDate, i64, i64, i64, i64, i64);
type SourceDayRow = (i64, i64, NaiveDate, i64, DateTime<Utc>, DateTime<Utc>);

/// The whole of both roll-ups and the raw aggregates they must equal, computed from backup_jobs.
async fn roll_up_and_raw(db: &PgPool) -> ((Vec<DayRow>, Vec<DayRow>), (Vec<SourceDayRow>, Vec<SourceDayRow>)) {
    let days: Vec<DayRow> = sqlx::query_as(
        "SELECT reseller_id, customer_id, day, succeeded::bigint, warning::bigint, failed::bigint, refused::bigint, \
                running::bigint FROM backup_job_days ORDER BY 1, 2, 3",
    )
    .fetch_all(db)
    .await
    .expect("roll-up");
    let raw_days: Vec<DayRow> = sqlx::query_as(
        "SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date, \
                count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'warning'), \
                count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'refused'), \
                count(*) FILTER (WHERE status = 'running') \
         FROM backup_jobs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(db)
    .await
    .expect("raw");
    let sources: Vec<SourceDayRow> = sqlx::query_as(
        "SELECT reseller_id, customer_id, day, source, first_ok_at, last_ok_at FROM backup_job_source_days \
         ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(db)
    .await
    .expect("roll-up");
    let raw_sources: Vec<SourceDayRow> = sqlx::query_as(
        "SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date, coalesce(connector_id, -client_id), \
                min(started_at), max(started_at) \
         FROM backup_jobs WHERE status IN ('succeeded', 'warning') GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(db)
    .await
    .expect("raw");
    ((days, raw_days), (sources, raw_sources))
}

pub async fn assert_roll_up_is_exact(db: &PgPool, when: &str) {
    let ((days, raw_days), (sources, raw_sources)) = roll_up_and_raw(db).await;
    assert!(!raw_days.is_empty(), "{when}: the check needs jobs");
    assert_eq!(days, raw_days, "{when}: backup_job_days differs from the raw aggregate");
    assert_eq!(
        sources, raw_sources,
        "{when}: backup_job_source_days differs from the raw aggregate"
    );
}

async fn post_report(app: &TestApp, token: &str, body: &Value) {
    let response = app.post_report(token, body).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

fn job(id: &str, connector: Option<&str>, started: DateTime<Utc>, status: &str) -> Value {
    json!({"id": id, "kind": "backup", "connector": connector, "started_at": started.to_rfc3339(), "status": status, "bytes": 1})
}

/// Jobs through the agent API: every status, a connector and the client itself, several days, two
/// reports on the same day and source, jobs on both sides of a week boundary and of midnight.
async fn report_a_mix(app: &TestApp) -> String {
    let token = app.agent_token("Contoso", "ROLLUP-1").await;
    let now = fixed_now();
    let boundary = now - Duration::days(7);
    let midnight = now - Duration::hours(10);
    post_report(
        app,
        &token,
        &json!({
            "connectors": [{"name": "Rollup Mail", "kind": "microsoft_365", "health": "healthy"}],
            "jobs": [
                job("m-1", Some("Rollup Mail"), now - Duration::hours(3), "succeeded"),
                job("m-2", Some("Rollup Mail"), now - Duration::hours(2), "warning"),
                job("m-3", None, now - Duration::hours(2), "failed"),
                job("m-4", None, now - Duration::minutes(5), "running"),
                job("m-5", Some("Rollup Mail"), boundary - Duration::seconds(1), "succeeded"),
                job("m-6", Some("Rollup Mail"), boundary, "failed"),
                job("m-7", None, boundary + Duration::seconds(1), "warning"),
                job("m-8", None, midnight - Duration::seconds(1), "succeeded"),
                job("m-9", None, midnight, "succeeded"),
                job("m-10", Some("Rollup Mail"), now + Duration::minutes(5), "succeeded"),
                job("m-11", Some("Rollup Mail"), boundary - Duration::days(7), "succeeded"),
            ]
        }),
    )
    .await;
    // The same day and source again, earlier and later than the first report's jobs; then the
    // report retried, whose jobs are stored once and so counted once.
    let again = json!({"jobs": [
        job("n-1", Some("Rollup Mail"), now - Duration::hours(9), "succeeded"),
        job("n-2", Some("Rollup Mail"), now - Duration::minutes(1), "failed"),
        job("n-3", None, now - Duration::days(30), "warning"),
    ]});
    post_report(app, &token, &again).await;
    post_report(app, &token, &again).await;
    token
}

#[tokio::test]
async fn the_roll_up_equals_the_raw_aggregate_after_reports_updates_and_deletes() {
    let app = TestApp::demo().await;
    assert_roll_up_is_exact(&app.db, "the demo seed").await;
    report_a_mix(&app).await;
    assert_roll_up_is_exact(&app.db, "after the reports").await;

    // Refused jobs (a customer past its grace period) are counted apart.
    let blocked = app.agent_token("Consolidated Messenger", "ROLLUP-2").await;
    post_report(
        &app,
        &blocked,
        &json!({"jobs": [job("b-1", None, fixed_now() - Duration::hours(1), "succeeded")]}),
    )
    .await;
    let refused: i64 = sqlx::query_scalar("SELECT coalesce(sum(refused), 0)::bigint FROM backup_job_days")
        .fetch_one(&app.db)
        .await
        .expect("refused");
    assert!(refused >= 1);
    assert_roll_up_is_exact(&app.db, "after a refused job").await;

    // Nothing changes a job's status today; if something did, the roll-up would follow.
    sqlx::query(
        "UPDATE backup_jobs SET status = CASE status WHEN 'succeeded' THEN 'failed' ELSE 'succeeded' END, \
                started_at = started_at - interval '13 hours' WHERE external_id IN ('m-1', 'm-3', 'm-9')",
    )
    .execute(&app.db)
    .await
    .expect("update");
    assert_roll_up_is_exact(&app.db, "after an update").await;

    // Deleting a client takes its jobs with it (ON DELETE CASCADE), and so out of the roll-up;
    // through the page, so as the app role under row-level security.
    let contoso = app.customer_id("Contoso").await;
    let client: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE customer_id = $1 AND client_key = 'ROLLUP-1'")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("client");
    let deleted = app
        .login("admin@northwind.example")
        .await
        .post_form(&format!("/customers/{contoso}/clients/{client}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM backup_job_source_days WHERE source = $1")
        .bind(-client)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(left, 0);
    assert_roll_up_is_exact(&app.db, "after deleting a client").await;
    sqlx::query("DELETE FROM backup_jobs WHERE external_id IN ('m-5', 'n-1')")
        .execute(&app.db)
        .await
        .expect("delete jobs");
    assert_roll_up_is_exact(&app.db, "after deleting single jobs").await;

    // The engine's purge of a customer whose retention ended deletes its clients and connectors.
    for table in ["clients", "connectors"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = $1"))
            .bind(contoso)
            .execute(&app.db)
            .await
            .expect("purge");
    }
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM backup_job_days WHERE customer_id = $1) \
              + (SELECT count(*) FROM backup_job_source_days WHERE customer_id = $1)",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(left, 0, "a purged customer keeps no roll-up rows");
    assert_roll_up_is_exact(&app.db, "after a purge").await;
}

#[tokio::test]
async fn a_job_stored_through_the_agent_api_is_in_the_roll_up_at_once() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let token = app.agent_token("Contoso", "ROLLUP-3").await;
    let today = fixed_now().date_naive();
    let before: (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(succeeded), 0)::bigint, coalesce(sum(failed), 0)::bigint FROM backup_job_days \
         WHERE customer_id = $1 AND day = $2",
    )
    .bind(contoso)
    .bind(today)
    .fetch_one(&app.db)
    .await
    .expect("before");
    let started = fixed_now() - Duration::minutes(30);
    post_report(
        &app,
        &token,
        &json!({"jobs": [job("now-1", None, started, "succeeded"), job("now-2", None, started, "failed")]}),
    )
    .await;
    let after: (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(succeeded), 0)::bigint, coalesce(sum(failed), 0)::bigint FROM backup_job_days \
         WHERE customer_id = $1 AND day = $2",
    )
    .bind(contoso)
    .bind(today)
    .fetch_one(&app.db)
    .await
    .expect("after");
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
    let source: (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "SELECT s.first_ok_at, s.last_ok_at FROM backup_job_source_days s JOIN clients k ON -k.id = s.source \
         WHERE s.customer_id = $1 AND s.day = $2 AND k.client_key = 'ROLLUP-3'",
    )
    .bind(contoso)
    .bind(today)
    .fetch_one(&app.db)
    .await
    .expect("the client's good job is in the source roll-up");
    assert_eq!(source, (started, started));
}

#[tokio::test]
async fn the_migration_backfills_the_roll_up_from_existing_jobs() {
    let app = TestApp::demo().await;
    report_a_mix(&app).await;
    MIGRATOR.undo(&app.db, 20261201700000).await.expect("undo the roll-up");
    let gone: Option<String> = sqlx::query_scalar("SELECT to_regclass('backup_job_days')::text")
        .fetch_one(&app.db)
        .await
        .expect("catalog");
    assert_eq!(gone, None);
    MIGRATOR.run(&app.db).await.expect("apply it again");
    assert_roll_up_is_exact(&app.db, "after the backfill").await;
}

// ---- the SLA tab's queries against the raw queries they replaced ---------------------------------

type TrendRow = (i32, i64, i64, i64, i64, i64);
type JobDayRow = (NaiveDate, i64, i64, i64, i64);

/// The trend from the raw jobs: week k is the seven UTC days ending k weeks before `now`'s day.
async fn raw_trend(db: &PgPool, customer: i64, reseller: i64, now: DateTime<Utc>) -> Vec<TrendRow> {
    sqlx::query_as(
        "WITH w AS (SELECT weeks_ago, \
                           (($2 AT TIME ZONE 'UTC')::date - 7 * weeks_ago - 6)::timestamp AT TIME ZONE 'UTC' AS starts, \
                           (($2 AT TIME ZONE 'UTC')::date - 7 * weeks_ago + 1)::timestamp AT TIME ZONE 'UTC' AS ends \
                    FROM generate_series(0, $3 - 1) AS weeks_ago) \
         SELECT w.weeks_ago, \
                count(j.id) FILTER (WHERE j.status = 'succeeded') AS succeeded, \
                count(j.id) FILTER (WHERE j.status = 'warning') AS warnings, \
                count(j.id) FILTER (WHERE j.status IN ('failed', 'refused')) AS failed, \
                count(DISTINCT coalesce(j.connector_id, -j.client_id)) FILTER (WHERE j.status IN ('succeeded', 'warning')) AS sources_ok, \
                (SELECT count(*) FROM alerts a WHERE a.customer_id = $1 AND a.severity = 'critical' \
                   AND a.raised_at >= w.starts AND a.raised_at < w.ends) AS critical_alerts \
         FROM w \
         LEFT JOIN backup_jobs j ON j.customer_id = $1 AND ($4::bigint IS NULL OR j.reseller_id = $4) \
              AND j.started_at >= w.starts AND j.started_at < w.ends \
         GROUP BY w.weeks_ago, w.starts, w.ends ORDER BY w.weeks_ago DESC",
    )
    .bind(customer)
    .bind(now)
    .bind(13)
    .bind(reseller)
    .fetch_all(db)
    .await
    .expect("raw trend")
}

async fn raw_job_days(db: &PgPool, customer: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<JobDayRow> {
    sqlx::query_as(
        "SELECT (started_at AT TIME ZONE 'UTC')::date AS day, \
                count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'warning'), \
                count(*) FILTER (WHERE status IN ('failed', 'refused')), count(*) FILTER (WHERE status = 'running') \
         FROM backup_jobs WHERE customer_id = $1 AND started_at >= $2 AND started_at < $3 GROUP BY 1 ORDER BY 1",
    )
    .bind(customer)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
    .expect("raw job days")
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .expect("RFC 3339")
}

#[tokio::test]
async fn the_trend_and_job_days_from_the_roll_up_equal_the_raw_queries_at_any_instant() {
    let app = TestApp::demo().await;
    report_a_mix(&app).await;
    let contoso = app.customer_id("Contoso").await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    // Critical alerts on both sides of a week boundary (the midnight that starts this week), and
    // seven days before now.
    sqlx::query(
        "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) VALUES \
         ($1, $2, 'critical', 'connector_critical', 'x1', 'x', (($3::timestamptz AT TIME ZONE 'UTC')::date - 6)::timestamp AT TIME ZONE 'UTC'), \
         ($1, $2, 'critical', 'connector_critical', 'x2', 'x', (($3::timestamptz AT TIME ZONE 'UTC')::date - 6)::timestamp AT TIME ZONE 'UTC' - interval '1 second'), \
         ($1, $2, 'critical', 'connector_critical', 'x3', 'x', $3::timestamptz - interval '7 days')",
    )
    .bind(northwind)
    .bind(contoso)
    .bind(fixed_now())
    .execute(&app.db)
    .await
    .expect("alerts");
    // The demo's jobs start at 22:00–22:50 and 01:00–01:40: instants inside those, at midnight,
    // just before one, at noon and at a job's start.
    let nows = [
        fixed_now(),
        at("2026-06-15T00:00:00Z"),
        at("2026-06-15T11:59:59Z"),
        at("2026-06-15T12:00:00Z"),
        at("2026-06-15T22:20:00Z"),
        at("2026-06-16T01:15:00Z"),
        at("2026-06-16T09:59:59Z"),
        at("2026-06-15T23:59:59Z"),
        fixed_now() - Duration::days(7),
        fixed_now() + Duration::minutes(5),
    ];
    let scope = Scope::Reseller { reseller_id: northwind };
    for now in nows {
        let mut tx = store::scoped(&app.app_db, &scope).await.expect("scoped");
        let trend = store::customer_details::sla_trend(&mut tx, contoso, now, 13)
            .await
            .expect("trend");
        let from_day = now.date_naive() - Duration::days(89);
        let from = from_day.and_time(chrono::NaiveTime::MIN).and_utc();
        let mut ranges = vec![(from, now), (from + Duration::hours(5), now - Duration::hours(30))];
        ranges.push((now - Duration::days(7), now));
        let mut days = Vec::new();
        for (from, to) in &ranges {
            days.push(
                store::customer_details::job_days(&mut tx, contoso, false, *from, *to)
                    .await
                    .expect("job days"),
            );
        }
        tx.commit().await.expect("commit");
        let trend: Vec<TrendRow> = trend
            .iter()
            .map(|w| {
                (
                    w.weeks_ago,
                    w.succeeded,
                    w.warnings,
                    w.failed,
                    w.sources_ok,
                    w.critical_alerts,
                )
            })
            .collect();
        let raw = raw_trend(&app.db, contoso, northwind, now).await;
        assert_eq!(trend.len(), 13);
        assert!(raw.iter().any(|w| w.1 > 0 && w.4 > 0), "the comparison needs jobs");
        assert_eq!(trend, raw, "trend at {now}");
        for ((from, to), days) in ranges.iter().zip(days) {
            let days: Vec<JobDayRow> = days
                .iter()
                .map(|d| (d.day, d.succeeded, d.warnings, d.failed, d.running))
                .collect();
            assert_eq!(
                days,
                raw_job_days(&app.db, contoso, *from, *to).await,
                "job days {from}..{to}"
            );
        }
    }
}

/// The counters ride in the key's index (migration 20261207000004): a customer's days, as the SLA
/// score and the SLA tab read them, come from the index alone, under a reseller's row security
/// too, without visiting a heap page a vacuum has marked all-visible. Before, a tick scoring 2,000
/// customers visited 27 heap pages for each.
#[tokio::test]
async fn a_customers_day_counters_are_read_from_the_key_alone() {
    let app = TestApp::demo().await;
    report_a_mix(&app).await;
    let contoso = app.customer_id("Contoso").await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    sqlx::query("VACUUM (ANALYZE) backup_job_days")
        .execute(&app.db)
        .await
        .expect("vacuum");
    let mut tx = store::scoped(&app.app_db, Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped");
    // As on a large dataset, where the planner prefers the index to reading the table whole.
    for setting in ["SET LOCAL enable_seqscan = off", "SET LOCAL enable_bitmapscan = off"] {
        sqlx::query(setting).execute(&mut *tx).await.expect("set");
    }
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) \
         SELECT sum(succeeded), sum(warning), sum(failed + refused), sum(running) FROM backup_job_days \
         WHERE customer_id = $1 AND day > $2::date - 30 AND day <= $2::date",
    )
    .bind(contoso)
    .bind(fixed_now().date_naive())
    .fetch_all(&mut *tx)
    .await
    .expect("explain");
    let plan = plan.join("\n");
    assert!(
        plan.contains("Index Only Scan using backup_job_days_pkey"),
        "the day counters should come from the key's index:\n{plan}"
    );
    assert!(
        plan.contains("Heap Fetches: 0"),
        "no heap page should be visited:\n{plan}"
    );
    assert!(
        !plan.contains("rows=0 loops"),
        "the check needs the customer's days:\n{plan}"
    );
}
