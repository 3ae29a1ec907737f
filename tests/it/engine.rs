//! The background engine: each rule before, at and after its boundary, idempotence, clock jumps,
//! one leader among several engines, and what the dashboard shows afterwards.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use msp_portal::clock::FixedClock;
use msp_portal::jobs::{Engine, TickOutcome};

use crate::common::{TestApp, fixed_now};

fn engine(app: &TestApp) -> Engine {
    Engine::new(app.db.clone(), Arc::new(app.clock.clone()))
}

async fn tick(app: &TestApp) -> TickOutcome {
    let outcome = engine(app).tick().await.expect("tick runs");
    assert!(
        outcome.failed_steps().is_empty(),
        "failed steps: {:?}",
        outcome.failed_steps()
    );
    outcome
}

async fn tick_at(app: &TestApp, at: chrono::DateTime<chrono::Utc>) -> TickOutcome {
    let outcome = engine(app).tick_at(at).await.expect("tick runs");
    assert!(
        outcome.failed_steps().is_empty(),
        "failed steps: {:?}",
        outcome.failed_steps()
    );
    outcome
}

async fn scalar<T>(app: &TestApp, sql: &str, id: i64) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn open_alerts(app: &TestApp, kind: &str, customer: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM alerts WHERE kind = $1 AND customer_id = $2 AND resolved_at IS NULL")
        .bind(kind)
        .bind(customer)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_second_tick_at_the_same_instant_changes_nothing() {
    let app = TestApp::demo().await;
    tick(&app).await;
    assert_eq!(tick(&app).await.changed(), 0);
    app.clock.advance(Duration::days(40));
    assert!(tick(&app).await.changed() > 0);
    assert_eq!(tick(&app).await.changed(), 0);
}

#[tokio::test]
async fn a_pending_limit_applies_on_its_effective_day_and_not_before() {
    let app = TestApp::demo().await;
    let fourth = app.customer_id("Fourth Coffee").await;
    let limit_sql = "SELECT seat_limit FROM seat_limits WHERE customer_id = $1 AND seat_property = 'm365_user'";
    let pending: i32 = scalar(
        &app,
        "SELECT pending_limit FROM seat_limits WHERE customer_id = $1 AND seat_property = 'm365_user'",
        fourth,
    )
    .await;
    let before: i32 = scalar(&app, limit_sql, fourth).await;
    tick(&app).await;
    assert_eq!(scalar::<i32>(&app, limit_sql, fourth).await, before, "the day before");
    app.clock.set(fixed_now() + Duration::hours(14)); // 2026-06-16 00:00 UTC
    tick(&app).await;
    assert_eq!(scalar::<i32>(&app, limit_sql, fourth).await, pending, "on the day");
    let audited: i64 = scalar(
        &app,
        "SELECT count(*) FROM audit_log WHERE action = 'seat_limit_applied' AND customer_id = $1",
        fourth,
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_overage_starts_a_grace_period_once_and_usage_back_under_clears_it() {
    let app = TestApp::demo().await;
    let proseware = app.customer_id("Proseware").await;
    sqlx::query(
        "UPDATE seat_limits SET seats_used = seat_limit + 1 WHERE customer_id = $1 AND seat_property = 'm365_user'",
    )
    .bind(proseware)
    .execute(&app.db)
    .await
    .expect("over");
    tick(&app).await;
    tick(&app).await;
    let (since, ends): (Option<chrono::DateTime<chrono::Utc>>, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT over_limit_since, grace_ends_at FROM seat_limits WHERE customer_id = $1 AND seat_property = 'm365_user'")
            .bind(proseware)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_eq!(since, Some(fixed_now()));
    assert_eq!(ends, Some(fixed_now() + Duration::days(14)));
    assert_eq!(
        open_alerts(&app, "seat_limit_exceeded", proseware).await,
        1,
        "raised once, not every tick"
    );

    sqlx::query(
        "UPDATE seat_limits SET seats_used = seat_limit WHERE customer_id = $1 AND seat_property = 'm365_user'",
    )
    .bind(proseware)
    .execute(&app.db)
    .await
    .expect("back under");
    tick(&app).await;
    let since: Option<chrono::DateTime<chrono::Utc>> = scalar(
        &app,
        "SELECT over_limit_since FROM seat_limits WHERE customer_id = $1 AND seat_property = 'm365_user'",
        proseware,
    )
    .await;
    assert_eq!(since, None);
    assert_eq!(open_alerts(&app, "seat_limit_exceeded", proseware).await, 0);
}

#[tokio::test]
async fn when_grace_ends_backups_are_blocked_and_connectors_turn_critical_until_usage_falls_back() {
    let app = TestApp::demo().await;
    let coho = app.customer_id("Coho Winery").await; // over since 3 days 2 hours: 10 days 22 hours left
    let blocked_sql = "SELECT backups_blocked_reason FROM customers WHERE id = $1";
    let critical_sql = "SELECT count(*) FROM connectors WHERE customer_id = $1 AND health = 'critical'";
    app.clock.advance(Duration::days(10) + Duration::hours(21));
    tick(&app).await;
    assert_eq!(
        scalar::<Option<String>>(&app, blocked_sql, coho).await,
        None,
        "an hour before the end"
    );
    app.clock.advance(Duration::hours(2));
    tick(&app).await;
    assert!(
        scalar::<Option<String>>(&app, blocked_sql, coho)
            .await
            .is_some_and(|r| r.contains("grace period has ended"))
    );
    let connectors: i64 = scalar(&app, "SELECT count(*) FROM connectors WHERE customer_id = $1", coho).await;
    assert_eq!(scalar::<i64>(&app, critical_sql, coho).await, connectors);
    assert_eq!(open_alerts(&app, "grace_period_ended", coho).await, 1);

    sqlx::query("UPDATE seat_limits SET seats_used = 0 WHERE customer_id = $1")
        .bind(coho)
        .execute(&app.db)
        .await
        .expect("under");
    tick(&app).await;
    assert_eq!(scalar::<Option<String>>(&app, blocked_sql, coho).await, None);
    let grace_critical: i64 = scalar(
        &app,
        "SELECT count(*) FROM connectors WHERE customer_id = $1 AND health_reason LIKE 'Seat limit%'",
        coho,
    )
    .await;
    assert_eq!(
        grace_critical, 0,
        "no connector stays critical for the grace period (staleness may still apply)"
    );
    assert_eq!(open_alerts(&app, "grace_period_ended", coho).await, 0);
}

#[tokio::test]
async fn an_expired_service_schedules_deletion_counted_from_the_expiry() {
    let app = TestApp::demo().await;
    let city = app.customer_id("City Power & Light").await; // expires 2026-06-22
    let lifecycle_sql = "SELECT lifecycle FROM customers WHERE id = $1";
    app.clock.set(fixed_now() + Duration::days(7)); // the expiry day itself
    tick(&app).await;
    assert_eq!(
        scalar::<String>(&app, lifecycle_sql, city).await,
        "active",
        "still running on its last day"
    );
    app.clock.advance(Duration::days(1));
    tick(&app).await;
    assert_eq!(
        scalar::<String>(&app, lifecycle_sql, city).await,
        "scheduled_for_deletion"
    );
    let delete_on: Option<NaiveDate> = scalar(&app, "SELECT delete_on FROM customers WHERE id = $1", city).await;
    assert_eq!(
        delete_on,
        NaiveDate::from_ymd_opt(2026, 7, 22),
        "30 days of retention after 2026-06-22"
    );
    assert_eq!(open_alerts(&app, "customer_scheduled_for_deletion", city).await, 1);
}

#[tokio::test]
async fn an_ended_evaluation_is_deactivated_the_day_after_its_trial() {
    let app = TestApp::demo().await;
    let humongous = app.customer_id("Humongous Insurance").await; // trial ends today
    tick(&app).await;
    assert!(scalar::<bool>(&app, "SELECT activated FROM customers WHERE id = $1", humongous).await);
    app.clock.advance(Duration::days(1));
    tick(&app).await;
    assert!(!scalar::<bool>(&app, "SELECT activated FROM customers WHERE id = $1", humongous).await);
}

#[tokio::test]
async fn a_customer_past_its_deletion_date_is_deleted_and_reported_but_a_revived_one_stays() {
    let app = TestApp::demo().await;
    let alpine = app.customer_id("Alpine Ski House").await; // deletion date 2026-06-20
    let southridge = app.customer_id("Southridge Video").await; // 2026-07-05, revived below
    sqlx::query("UPDATE customers SET lifecycle = 'active', delete_on = NULL WHERE id = $1")
        .bind(southridge)
        .execute(&app.db)
        .await
        .expect("revive");
    app.clock.set(fixed_now() + Duration::days(5)); // the deletion date: still revivable
    tick(&app).await;
    assert_eq!(
        scalar::<String>(&app, "SELECT lifecycle FROM customers WHERE id = $1", alpine).await,
        "scheduled_for_deletion"
    );
    app.clock.set(fixed_now() + Duration::days(30));
    tick(&app).await;
    assert_eq!(
        scalar::<String>(&app, "SELECT lifecycle FROM customers WHERE id = $1", alpine).await,
        "deleted"
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM clients WHERE customer_id = $1", alpine).await,
        0
    );
    let reported: i64 = scalar(
        &app,
        "SELECT count(*) FROM deleted_items WHERE customer_id = $1 AND item_kind = 'customer' AND deleted_by_kind = 'engine' \
           AND customer_name = 'Alpine Ski House'",
        alpine,
    )
    .await;
    assert_eq!(reported, 1);
    assert_eq!(
        scalar::<String>(&app, "SELECT lifecycle FROM customers WHERE id = $1", southridge).await,
        "active"
    );
}

/// What the rules decide about every customer, for comparing two histories.
async fn outcome(app: &TestApp) -> Vec<(i64, String, Option<NaiveDate>, bool, Option<String>)> {
    sqlx::query_as("SELECT id, lifecycle, delete_on, activated, backups_blocked_reason FROM customers ORDER BY id")
        .fetch_all(&app.db)
        .await
        .expect("customers")
}

#[tokio::test]
async fn a_jump_over_many_days_ends_where_daily_ticks_end() {
    let daily = TestApp::demo().await;
    for _ in 0..45 {
        daily.clock.advance(Duration::days(1));
        tick(&daily).await;
    }
    let jump = TestApp::demo().await;
    jump.clock.advance(Duration::days(45));
    tick(&jump).await;
    assert_eq!(outcome(&daily).await, outcome(&jump).await);
}

#[tokio::test]
async fn two_engines_on_one_database_do_the_work_once() {
    let app = TestApp::demo().await;
    app.clock.advance(Duration::days(40));
    let other_clock = FixedClock::at(app.clock_now());
    let first = engine(&app);
    let second = Engine::new(app.db.clone(), Arc::new(other_clock));
    let (a, b) = tokio::join!(first.tick(), second.tick());
    let (a, b) = (a.expect("first"), b.expect("second"));
    let ran = [&a, &b].iter().filter(|o| matches!(o, TickOutcome::Ran(_))).count();
    let changed = a.changed() + b.changed();
    // Whether they overlapped or ran one after the other, the second has nothing left to do.
    assert!(ran >= 1);
    let alone = TestApp::demo().await;
    alone.clock.advance(Duration::days(40));
    assert_eq!(changed, tick(&alone).await.changed());
    let duplicates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT reseller_id, kind, subject FROM alerts WHERE resolved_at IS NULL \
         GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(duplicates, 0);
}

#[tokio::test]
async fn sources_without_success_go_warning_then_critical_and_recover_on_success() {
    let app = TestApp::demo().await;
    let proseware = app.customer_id("Proseware").await;
    let connector: i64 = scalar(&app, "SELECT min(id) FROM connectors WHERE customer_id = $1", proseware).await;
    let health_sql = "SELECT health FROM connectors WHERE id = $1";
    sqlx::query("UPDATE connectors SET last_success_at = $2 WHERE id = $1")
        .bind(connector)
        .bind(fixed_now() - Duration::hours(27))
        .execute(&app.db)
        .await
        .expect("age");
    tick(&app).await;
    assert_eq!(scalar::<String>(&app, health_sql, connector).await, "warning");
    app.clock.advance(Duration::hours(48));
    tick(&app).await;
    assert_eq!(scalar::<String>(&app, health_sql, connector).await, "critical");
    let open: i64 = scalar(
        &app,
        "SELECT count(*) FROM alerts WHERE subject = 'connector:' || $1 AND resolved_at IS NULL",
        connector,
    )
    .await;
    assert_eq!(open, 1, "the warning alert gave way to a critical one");
    sqlx::query("UPDATE connectors SET last_success_at = $2 WHERE id = $1")
        .bind(connector)
        .bind(app.clock_now())
        .execute(&app.db)
        .await
        .expect("success");
    tick(&app).await;
    assert_eq!(scalar::<String>(&app, health_sql, connector).await, "healthy");
    let open: i64 = scalar(
        &app,
        "SELECT count(*) FROM alerts WHERE subject = 'connector:' || $1 AND resolved_at IS NULL",
        connector,
    )
    .await;
    assert_eq!(open, 0);
}

#[tokio::test]
async fn a_connector_critical_for_another_reason_is_left_alone() {
    let app = TestApp::demo().await;
    let adventure = app.customer_id("Adventure Works").await;
    tick(&app).await;
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT health_reason FROM connectors WHERE customer_id = $1 AND health = 'critical'")
            .bind(adventure)
            .fetch_all(&app.db)
            .await
            .expect("reasons");
    assert!(
        reasons.iter().any(|r| r.contains("Authentication token expired")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn storage_thresholds_raise_one_alert_each_and_clear_below() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let set_used = |percent: i64| {
        let db = app.db.clone();
        async move {
            sqlx::query("UPDATE customers SET used_space_bytes = space_quota_bytes * $2 / 100 WHERE id = $1")
                .bind(contoso)
                .bind(percent)
                .execute(&db)
                .await
                .expect("update");
        }
    };
    set_used(85).await;
    tick(&app).await;
    tick(&app).await;
    assert_eq!(open_alerts(&app, "storage_quota", contoso).await, 1);
    set_used(95).await;
    tick(&app).await;
    let severity: String = scalar(
        &app,
        "SELECT severity FROM alerts WHERE kind = 'storage_quota' AND customer_id = $1 AND resolved_at IS NULL",
        contoso,
    )
    .await;
    assert_eq!(severity, "critical");
    assert_eq!(open_alerts(&app, "storage_quota", contoso).await, 1);
    set_used(50).await;
    tick(&app).await;
    assert_eq!(open_alerts(&app, "storage_quota", contoso).await, 0);
}

#[tokio::test]
async fn expiry_reminders_are_raised_once_per_threshold() {
    let app = TestApp::demo().await;
    let city = app.customer_id("City Power & Light").await; // expires in 7 days
    tick(&app).await;
    tick(&app).await;
    let subjects = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT subject FROM alerts WHERE kind = 'service_ending' AND customer_id = $1 AND resolved_at IS NULL",
        )
        .bind(city)
        .fetch_all(&app.db)
        .await
        .expect("subjects")
    };
    assert_eq!(subjects().await, vec![format!("customer:{city}:service:2026-06-22:7")]);
    app.clock.advance(Duration::days(4)); // 3 days left
    tick(&app).await;
    assert_eq!(subjects().await, vec![format!("customer:{city}:service:2026-06-22:3")]);
    let total: i64 = scalar(
        &app,
        "SELECT count(*) FROM alerts WHERE kind = 'service_ending' AND customer_id = $1",
        city,
    )
    .await;
    assert_eq!(total, 2);
}

#[tokio::test]
async fn an_alert_for_a_customer_with_email_reports_writes_an_email_in_the_same_transaction() {
    let app = TestApp::demo().await;
    let proseware = app.customer_id("Proseware").await;
    sqlx::query("DELETE FROM email_outbox WHERE customer_id = $1")
        .bind(proseware)
        .execute(&app.db)
        .await
        .expect("clear");
    sqlx::query("UPDATE customers SET email_reports = true, email = 'ops@proseware.example' WHERE id = $1")
        .bind(proseware)
        .execute(&app.db)
        .await
        .expect("reports on");
    sqlx::query("UPDATE seat_limits SET seats_used = seat_limit + 5 WHERE customer_id = $1")
        .bind(proseware)
        .execute(&app.db)
        .await
        .expect("over");
    tick(&app).await;
    let emails: Vec<String> =
        sqlx::query_scalar("SELECT to_addresses FROM email_outbox WHERE customer_id = $1 AND kind = 'alert'")
            .bind(proseware)
            .fetch_all(&app.db)
            .await
            .expect("emails");
    assert!(!emails.is_empty() && emails.iter().all(|to| to == "ops@proseware.example"));
}

#[tokio::test]
async fn mau_roll_up_counts_distinct_active_accounts_of_the_month() {
    let app = TestApp::demo().await;
    tick(&app).await;
    let mismatches: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mau_monthly m JOIN ( \
             SELECT customer_id, month, count(DISTINCT account_id) AS n FROM account_activity_months GROUP BY 1, 2) a \
           ON a.customer_id = m.customer_id AND a.month = m.month \
         WHERE m.month = '2026-06-01' AND m.mau <> a.n",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(mismatches, 0);
}

async fn mau_of(app: &TestApp, customer: i64, month: &str) -> Option<i32> {
    sqlx::query_scalar("SELECT mau FROM mau_monthly WHERE customer_id = $1 AND month = $2::date")
        .bind(customer)
        .bind(month)
        .fetch_optional(&app.db)
        .await
        .expect("mau")
}

/// New accounts of the customer, each active in `month`.
async fn activity(app: &TestApp, customer: i64, month: &str, names: &[&str]) {
    sqlx::query(
        "WITH added AS ( \
             INSERT INTO accounts (reseller_id, customer_id, external_id, seat_property, last_activity_at, created_at) \
             SELECT c.reseller_id, c.id, n, 'm365_user', $3::date + interval '1 hour', $3::date \
             FROM customers c, unnest($2::text[]) AS n WHERE c.id = $1 RETURNING id, reseller_id, customer_id) \
         INSERT INTO account_activity_months (reseller_id, customer_id, account_id, month) \
         SELECT reseller_id, customer_id, id, $3::date FROM added",
    )
    .bind(customer)
    .bind(names)
    .bind(month)
    .execute(&app.db)
    .await
    .expect("activity");
}

#[tokio::test]
async fn the_mau_step_recounts_the_months_whose_activity_changed() {
    let app = TestApp::demo().await;
    tick(&app).await;
    let contoso = app.customer_id("Contoso").await;
    let june = mau_of(&app, contoso, "2026-06-01").await.unwrap_or(0);
    let january = mau_of(&app, contoso, "2026-01-01").await;
    let queued = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM mau_recount")
                .fetch_one(&db)
                .await
                .expect("queue")
        }
    };
    assert_eq!(queued(&app).await, 0, "a tick takes the whole queue");

    activity(
        &app,
        contoso,
        "2026-06-01",
        &[
            "new-1@contoso.example",
            "new-2@contoso.example",
            "new-3@contoso.example",
        ],
    )
    .await;
    activity(&app, contoso, "2026-01-01", &["old-1@contoso.example"]).await;
    assert!(queued(&app).await >= 2, "both months are queued");
    assert_eq!(
        mau_of(&app, contoso, "2026-06-01").await.unwrap_or(0),
        june,
        "not before the tick"
    );
    tick(&app).await;
    assert_eq!(mau_of(&app, contoso, "2026-06-01").await.unwrap_or(0), june + 3);
    assert_eq!(
        mau_of(&app, contoso, "2026-01-01").await,
        january,
        "months before last month keep their figure"
    );
    assert_eq!(queued(&app).await, 0);

    sqlx::query("DELETE FROM accounts WHERE customer_id = $1 AND external_id = 'new-2@contoso.example'")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("delete");
    tick(&app).await;
    assert_eq!(
        mau_of(&app, contoso, "2026-06-01").await.unwrap_or(0),
        june + 2,
        "removed activity counts down"
    );
    let raw: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_activity_months WHERE customer_id = $1 AND month = '2026-06-01'",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("raw");
    assert_eq!(i64::from(june + 2), raw, "the figure is the raw count");
}

/// Activity written other than by an agent report (an import, a direct write) is recorded by the
/// accounts' own trigger in the same statement: a new account active this month, and an account
/// whose last activity moves into this month, count toward this month's MAU at the next tick.
#[tokio::test]
async fn accounts_written_directly_count_toward_the_months_they_were_active_in() {
    let app = TestApp::demo().await;
    tick(&app).await;
    let contoso = app.customer_id("Contoso").await;
    let june = mau_of(&app, contoso, "2026-06-01").await.unwrap_or(0);
    sqlx::query(
        "INSERT INTO accounts (reseller_id, customer_id, external_id, seat_property, last_activity_at, created_at) \
         SELECT reseller_id, id, 'imported@contoso.example', 'm365_user', '2026-06-10T08:00:00Z', '2026-01-01' \
         FROM customers WHERE id = $1",
    )
    .bind(contoso)
    .execute(&app.db)
    .await
    .expect("imported account");
    let dormant: String = sqlx::query_scalar(
        "SELECT external_id FROM accounts WHERE customer_id = $1 AND last_activity_at < '2026-06-01' ORDER BY id LIMIT 1",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("an account not active this month");
    let before = app.activity_months(&dormant).await;
    assert!(!before.contains(&"2026-06-01".to_string()));
    sqlx::query("UPDATE accounts SET last_activity_at = '2026-06-14T09:00:00Z' WHERE external_id = $1")
        .bind(&dormant)
        .execute(&app.db)
        .await
        .expect("activity moves into June");
    // Another change in the same month records nothing new.
    sqlx::query(
        "UPDATE accounts SET last_activity_at = '2026-06-14T11:00:00Z' WHERE external_id = 'imported@contoso.example'",
    )
    .execute(&app.db)
    .await
    .expect("later the same month");
    assert_eq!(
        app.activity_months("imported@contoso.example").await,
        vec!["2026-06-01".to_string()]
    );
    let after = app.activity_months(&dormant).await;
    let mut expected = before.clone();
    expected.push("2026-06-01".to_string());
    expected.sort();
    assert_eq!(after, expected, "June added, earlier months kept");
    tick(&app).await;
    assert_eq!(mau_of(&app, contoso, "2026-06-01").await.unwrap_or(0), june + 2);
}

/// A reseller over its MAU allowance this month gets one open alert, resolved once the allowance
/// covers its month again; the total is all its customers' MAU of the month.
#[tokio::test]
async fn a_reseller_over_its_mau_allowance_is_alerted_until_the_allowance_covers_it() {
    let app = TestApp::demo().await;
    tick(&app).await;
    let (reseller, total): (i64, i64) = sqlx::query_as(
        "SELECT r.id, coalesce(sum(m.mau), 0)::bigint FROM resellers r \
         LEFT JOIN mau_monthly m ON m.reseller_id = r.id AND m.month = '2026-06-01' \
         WHERE r.name = 'Northwind Backup Services' GROUP BY r.id",
    )
    .fetch_one(&app.db)
    .await
    .expect("this month's MAU");
    assert!(total > 0, "Northwind has active accounts this month");
    let open = "SELECT count(*) FROM alerts WHERE kind = 'mau_overage' AND resolved_at IS NULL AND reseller_id = $1";
    let allow = |allowance: i64| {
        let db = app.db.clone();
        async move {
            sqlx::query("UPDATE resellers SET mau_allowance = $2 WHERE id = $1")
                .bind(reseller)
                .bind(i32::try_from(allowance).expect("allowance"))
                .execute(&db)
                .await
                .expect("allowance");
        }
    };
    allow(total + 10).await;
    tick(&app).await;
    assert_eq!(scalar::<i64>(&app, open, reseller).await, 0, "under the allowance");
    allow(total).await;
    tick(&app).await;
    assert_eq!(
        scalar::<i64>(&app, open, reseller).await,
        0,
        "at the allowance is not over it"
    );
    allow(total - 1).await;
    tick(&app).await;
    assert_eq!(scalar::<i64>(&app, open, reseller).await, 1, "one over the allowance");
    let message: String = scalar(
        &app,
        "SELECT message FROM alerts WHERE kind = 'mau_overage' AND resolved_at IS NULL AND reseller_id = $1",
        reseller,
    )
    .await;
    assert!(message.contains(&format!("{total} monthly active users")), "{message}");
    tick(&app).await;
    assert_eq!(scalar::<i64>(&app, open, reseller).await, 1, "raised once");
    allow(total + 10).await;
    tick(&app).await;
    assert_eq!(
        scalar::<i64>(&app, open, reseller).await,
        0,
        "resolved under the allowance"
    );
}

#[tokio::test]
async fn after_a_tick_the_dashboard_shows_the_new_state_and_when_it_was_computed() {
    let app = TestApp::demo().await;
    app.clock.set(fixed_now() + Duration::days(8)); // City Power's service has expired
    tick(&app).await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get("/dashboard/expiring")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text(".as-of").contains("2026-06-23 10:00 UTC"));
    let html = page.html();
    let rows = scraper::Selector::parse("#tab-table tbody tr").expect("selector");
    let city_row = html
        .select(&rows)
        .map(|r| r.text().collect::<String>())
        .find(|t| t.contains("City Power"))
        .expect("City Power is listed");
    assert!(
        city_row.contains("Scheduled for deletion") && city_row.contains("Revive"),
        "{city_row}"
    );
}

#[tokio::test]
async fn the_engine_keeps_each_customers_sla_score_and_the_list_sorts_riskiest_first() {
    let app = TestApp::demo().await;
    tick(&app).await;
    let adventure = app.customer_id("Adventure Works").await;
    let stored: Option<i16> = scalar(&app, "SELECT sla_score FROM customers WHERE id = $1", adventure).await;
    let admin = app.login("admin@northwind.example").await;
    let sla = admin.get(&format!("/customers/{adventure}/sla?period=30")).await;
    assert_eq!(
        stored.map(|s| s.to_string()),
        Some(sla.text("#score-value")),
        "the list and the SLA tab agree"
    );
    let list = admin.get("/customers?sort=score&dir=asc").await;
    let scores: Vec<i64> = list.texts("td.score").iter().filter_map(|s| s.parse().ok()).collect();
    assert!(scores.len() >= 10, "{scores:?}");
    let mut sorted = scores.clone();
    sorted.sort_unstable();
    assert_eq!(scores, sorted);
    assert_eq!(
        tick(&app).await.changed(),
        0,
        "scores are written only when they change"
    );
}

/// Every stored seat forecast against the forecast rule applied to the raw usage rows of `day`;
/// the number of seat limits that are approaching.
async fn assert_forecasts_are_those_of_the_raw_usage(app: &TestApp, day: NaiveDate, after: &str) -> usize {
    use msp_portal::domain::forecast::{HORIZON_DAYS, TREND_DAYS, days_until_over};
    type Forecast = (i64, String, i32, i32, Option<i32>, Vec<i64>, bool);
    let rows: Vec<Forecast> = sqlx::query_as(
        "SELECT s.customer_id, s.seat_property, s.seats_used, s.seat_limit, s.over_limit_in_days, \
                coalesce(array_agg((u.seats ->> s.seat_property)::bigint ORDER BY u.day) \
                         FILTER (WHERE u.seats ? s.seat_property), '{}'), c.lifecycle = 'active' \
         FROM seat_limits s JOIN customers c ON c.id = s.customer_id \
         LEFT JOIN usage_daily u ON u.customer_id = s.customer_id AND u.day > $1::date - $2::int AND u.day <= $1::date \
         GROUP BY s.customer_id, s.seat_property, s.seats_used, s.seat_limit, s.over_limit_in_days, c.lifecycle",
    )
    .bind(day)
    .bind(TREND_DAYS)
    .fetch_all(&app.db)
    .await
    .expect("forecasts");
    for (customer, property, used, limit, stored, series, active) in &rows {
        let expected = days_until_over(series, i64::from(*used), i64::from(*limit))
            .filter(|d| *active && *d <= HORIZON_DAYS)
            .map(|d| d as i32);
        assert_eq!(
            *stored, expected,
            "{after}: customer {customer} {property} {used}/{limit} {series:?}"
        );
    }
    rows.iter().filter(|r| r.4.is_some()).count()
}

/// The dashboard's "approaching limits" reads the engine's stored forecast: it must be what the
/// forecast rule gives on the raw usage rows, for every seat limit.
#[tokio::test]
async fn the_stored_seat_forecast_equals_the_forecast_of_the_raw_usage() {
    let app = crate::common::TestApp::demo().await;
    let now = crate::common::fixed_now();
    // Make one more customer rise, then let a tick (at a later instant) recompute.
    sqlx::query(
        "UPDATE usage_daily u SET seats = jsonb_build_object('m365_user', 10 + ($1::date - u.day)) \
         FROM customers c WHERE c.id = u.customer_id AND c.name = 'Proseware' AND u.day > $1::date - 30",
    )
    .bind(now.date_naive())
    .execute(&app.db)
    .await
    .expect("usage");
    engine(&app).tick_at(now + Duration::hours(1)).await.expect("tick");
    let approaching = assert_forecasts_are_those_of_the_raw_usage(&app, now.date_naive(), "after a tick").await;
    assert!(approaching > 0, "some limit is approaching");
}

/// A customer's daily seats of `property` over the last 30 days, oldest first, written as an
/// upsert of its usage rows (an update where the day's row exists).
async fn set_seat_series(app: &TestApp, customer: i64, property: &str, oldest_first: &[i64]) {
    let today = fixed_now().date_naive();
    sqlx::query(
        "INSERT INTO usage_daily (reseller_id, customer_id, day, seats) \
         SELECT c.reseller_id, c.id, $2::date - (cardinality($4::bigint[]) - s.n)::int, jsonb_build_object($3::text, s.seats) \
         FROM customers c CROSS JOIN unnest($4::bigint[]) WITH ORDINALITY AS s(seats, n) WHERE c.id = $1 \
         ON CONFLICT (customer_id, day) DO UPDATE SET seats = usage_daily.seats || EXCLUDED.seats",
    )
    .bind(customer)
    .bind(today)
    .bind(property)
    .bind(oldest_first)
    .execute(&app.db)
    .await
    .expect("seat series");
}

async fn set_seat_limit(app: &TestApp, customer: i64, property: &str, limit: i32, used: i32) {
    sqlx::query(
        "INSERT INTO seat_limits (reseller_id, customer_id, seat_property, seat_limit, seats_used) \
         SELECT reseller_id, id, $2, $3, $4 FROM customers WHERE id = $1 \
         ON CONFLICT (customer_id, seat_property) DO UPDATE SET seat_limit = $3, seats_used = $4",
    )
    .bind(customer)
    .bind(property)
    .bind(limit)
    .bind(used)
    .execute(&app.db)
    .await
    .expect("seat limit");
}

/// Runs `sql` with `id` bound as $1, as the owner.
async fn exec(app: &TestApp, sql: &str, id: i64) {
    sqlx::query(sql)
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Forty failed jobs of the customer's first connector, an hour apart before `now`, their ids
/// `prefix` and a number.
async fn insert_failed_jobs(app: &TestApp, customer: i64, now: chrono::DateTime<chrono::Utc>, prefix: &str) {
    let mut conn = app.db.acquire().await.expect("connection");
    insert_failed_jobs_on(&mut conn, customer, now, prefix).await;
}

/// [`insert_failed_jobs`] on a connection of the caller's, in its transaction if it has one open.
async fn insert_failed_jobs_on(
    conn: &mut sqlx::PgConnection,
    customer: i64,
    now: chrono::DateTime<chrono::Utc>,
    prefix: &str,
) {
    sqlx::query(
        "INSERT INTO backup_jobs (reseller_id, customer_id, connector_id, external_id, started_at, ended_at, status, bytes) \
         SELECT k.reseller_id, k.customer_id, k.id, $3 || n, $2 - make_interval(hours => n), \
                $2 - make_interval(hours => n) + interval '5 minutes', 'failed', 0 \
         FROM (SELECT * FROM connectors WHERE customer_id = $1 ORDER BY id LIMIT 1) k, generate_series(1, 40) n",
    )
    .bind(customer)
    .bind(now)
    .bind(prefix)
    .execute(conn)
    .await
    .expect("failed jobs");
}

/// Ticks ten minutes apart within the UTC day of `start`, each followed by the check that every
/// stored score is the rule's on the raw rows and that the tick emptied the queue.
struct SameDayTicks<'a> {
    app: &'a TestApp,
    start: chrono::DateTime<chrono::Utc>,
    minutes: std::cell::Cell<i64>,
}

impl<'a> SameDayTicks<'a> {
    fn after(app: &'a TestApp, start: chrono::DateTime<chrono::Utc>) -> Self {
        SameDayTicks {
            app,
            start,
            minutes: std::cell::Cell::new(0),
        }
    }

    /// The instant of the next tick.
    fn next_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.start + Duration::minutes(self.minutes.get() + 10)
    }

    async fn tick(&self, after: &str) {
        let at = self.next_at();
        self.minutes.set(self.minutes.get() + 10);
        tick_at(self.app, at).await;
        assert_sla_scores_are_those_of_the_raw_rows(self.app, at, after).await;
        let queued = "SELECT count(*) FROM sla_score_queue WHERE $1::bigint IS NOT NULL";
        assert_eq!(
            scalar::<i64>(self.app, queued, 0).await,
            0,
            "{after}: the tick empties the queue"
        );
    }
}

/// Between the day's full passes the engine forecasts only the customers queued by triggers when
/// their usage, seat limits or lifecycle change: each kind of change, made alone, reaches the
/// stored forecast at the next tick of the same day; the next day's first tick moves every window.
#[tokio::test]
async fn seat_forecasts_follow_each_kind_of_change_between_the_daily_passes() {
    let app = TestApp::demo().await;
    let now = fixed_now();
    let today = now.date_naive();
    let flat = app.customer_id("Proseware").await;
    let new_limit = app.customer_id("Contoso").await;
    let deleted_usage = app.customer_id("Litware").await;
    let outlier = app.customer_id("Graphic Design Institute").await;
    let rising_to = |today_seats: i64| -> Vec<i64> { (0..30).map(|d| today_seats - 29 + d).collect() };
    set_seat_limit(&app, flat, "google_user", 100, 95).await;
    set_seat_series(&app, flat, "google_user", &[95; 30]).await;
    set_seat_series(&app, new_limit, "salesforce_user", &rising_to(50)).await;
    set_seat_limit(&app, deleted_usage, "endpoint", 40, 30).await;
    set_seat_series(&app, deleted_usage, "endpoint", &rising_to(30)).await;
    // Flat but for a first day of 0 seats: a slight rise until that day leaves the window.
    let mut first_day_empty = vec![95; 30];
    first_day_empty[0] = 0;
    set_seat_limit(&app, outlier, "google_user", 100, 95).await;
    set_seat_series(&app, outlier, "google_user", &first_day_empty).await;

    tick_at(&app, now).await;
    assert_forecasts_are_those_of_the_raw_usage(&app, today, "after the day's first tick").await;
    let queued = "SELECT count(*) FROM seat_forecast_queue WHERE $1::bigint IS NOT NULL";
    assert_eq!(
        scalar::<i64>(&app, queued, 0).await,
        0,
        "the full pass empties the queue"
    );
    let forecast = "SELECT over_limit_in_days FROM seat_limits WHERE customer_id = $1 AND seat_property = $2";
    let stored = |customer: i64, property: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, Option<i32>>(forecast)
                .bind(customer)
                .bind(property)
                .fetch_one(&db)
                .await
                .expect("forecast")
        }
    };
    assert_eq!(stored(flat, "google_user").await, None, "flat usage");
    assert_eq!(
        stored(deleted_usage, "endpoint").await,
        Some(11),
        "ten seats to go over at a seat a day"
    );
    assert_eq!(
        stored(outlier, "google_user").await,
        Some(10),
        "six seats to go at 0.61 a day"
    );

    let mut minutes = 0;
    let mut same_day_tick = |after: &'static str| {
        minutes += 10;
        let app = &app;
        let at = now + Duration::minutes(minutes);
        async move {
            tick_at(app, at).await;
            assert_forecasts_are_those_of_the_raw_usage(app, today, after).await;
            assert_eq!(
                scalar::<i64>(app, queued, 0).await,
                0,
                "{after}: the tick empties the queue"
            );
        }
    };
    // Usage rows updated.
    set_seat_series(&app, flat, "google_user", &rising_to(95)).await;
    same_day_tick("after usage rows changed").await;
    assert_eq!(
        stored(flat, "google_user").await,
        Some(6),
        "a seat a day, six to go over"
    );
    // A seat limit updated.
    set_seat_limit(&app, flat, "google_user", 98, 95).await;
    same_day_tick("after a seat limit changed").await;
    assert_eq!(stored(flat, "google_user").await, Some(4));
    // A seat limit added.
    set_seat_limit(&app, new_limit, "salesforce_user", 55, 50).await;
    same_day_tick("after a seat limit was added").await;
    assert_eq!(stored(new_limit, "salesforce_user").await, Some(6));
    // Usage rows deleted, then inserted again.
    sqlx::query("DELETE FROM usage_daily WHERE customer_id = $1 AND day > $2::date - 30")
        .bind(deleted_usage)
        .bind(today)
        .execute(&app.db)
        .await
        .expect("delete usage");
    same_day_tick("after usage rows were deleted").await;
    assert_eq!(stored(deleted_usage, "endpoint").await, None, "no usage, no trend");
    set_seat_series(&app, deleted_usage, "endpoint", &rising_to(30)).await;
    same_day_tick("after usage rows were inserted").await;
    assert_eq!(stored(deleted_usage, "endpoint").await, Some(11));
    // The lifecycle: a customer that is no longer active has no forecast.
    sqlx::query(
        "UPDATE customers SET lifecycle = 'scheduled_for_deletion', scheduled_for_deletion_at = $2, delete_on = $3 \
         WHERE id = $1",
    )
    .bind(deleted_usage)
    .bind(now)
    .bind(today + Duration::days(30))
    .execute(&app.db)
    .await
    .expect("schedule for deletion");
    same_day_tick("after a customer left 'active'").await;
    assert_eq!(stored(deleted_usage, "endpoint").await, None);

    // The next day, nothing queued: the first tick moves every customer's 30-day window.
    let tomorrow = now + Duration::days(1);
    tick_at(&app, tomorrow).await;
    assert_forecasts_are_those_of_the_raw_usage(&app, tomorrow.date_naive(), "after the next day's first tick").await;
    assert_eq!(
        stored(outlier, "google_user").await,
        None,
        "the empty day left the window"
    );

    // Usage emptied by TRUNCATE, which queues no customer: the next tick of the same day makes a
    // full pass, and no forecast outlives the usage it was read from.
    assert!(
        stored(flat, "google_user").await.is_some(),
        "a forecast stands before the usage goes"
    );
    sqlx::query("TRUNCATE usage_daily")
        .execute(&app.db)
        .await
        .expect("truncate usage");
    tick_at(&app, tomorrow + Duration::minutes(10)).await;
    assert_forecasts_are_those_of_the_raw_usage(&app, tomorrow.date_naive(), "after usage was truncated").await;
    assert_eq!(stored(flat, "google_user").await, None, "no usage, no trend");
}

/// A day's seat count written by hand as something else than a number is left out of its
/// customer's series; it does not stop the step (nor every other forecast with it). Seats that
/// are not an object at all are refused by the database.
#[tokio::test]
async fn malformed_seat_counts_are_left_out_of_the_forecast() {
    use msp_portal::domain::forecast::days_until_over;
    let app = TestApp::demo().await;
    let customer = app.customer_id("Proseware").await;
    set_seat_limit(&app, customer, "google_user", 100, 95).await;
    let series: Vec<i64> = (0..30).map(|d| 66 + d).collect();
    set_seat_series(&app, customer, "google_user", &series).await;
    let today = fixed_now().date_naive();
    let not_an_object = sqlx::query("UPDATE usage_daily SET seats = '\"many\"'::jsonb WHERE customer_id = $1")
        .bind(customer)
        .execute(&app.db)
        .await;
    assert!(
        not_an_object.is_err_and(|e| e.to_string().contains("usage_daily_seats_object")),
        "seats must be an object"
    );
    for (days_ago, seats) in [
        (24, r#"{"google_user": "many"}"#),
        (19, r#"{"google_user": 12.5, "x": []}"#),
        (14, r#"{"google_user": null}"#),
    ] {
        sqlx::query("UPDATE usage_daily SET seats = $3::jsonb WHERE customer_id = $1 AND day = $2")
            .bind(customer)
            .bind(today - Duration::days(days_ago))
            .bind(seats)
            .execute(&app.db)
            .await
            .expect("malformed seats");
    }
    tick_at(&app, fixed_now()).await;
    // Text and null are left out; 12.5 seats count as 13.
    let kept: Vec<i64> = series
        .iter()
        .enumerate()
        .filter(|(i, _)| ![29 - 24, 29 - 14].contains(i))
        .map(|(i, seats)| if i == 29 - 19 { 13 } else { *seats })
        .collect();
    let expected = days_until_over(&kept, 95, 100).map(|d| d as i32);
    assert!(expected.is_some());
    let stored: Option<i32> = sqlx::query_scalar(
        "SELECT over_limit_in_days FROM seat_limits WHERE customer_id = $1 AND seat_property = 'google_user'",
    )
    .bind(customer)
    .fetch_one(&app.db)
    .await
    .expect("forecast");
    assert_eq!(stored, expected);
}

/// The KPI header's account count comes from the trigger-kept roll-up: it equals the count over
/// the raw rows for every reseller, accounts added since the seed included, without a tick.
#[tokio::test]
async fn the_account_roll_up_equals_the_raw_count_as_accounts_arrive() {
    let app = crate::common::TestApp::demo().await;
    let now = crate::common::fixed_now();
    let differing = "SELECT count(*) FROM resellers r LEFT JOIN reseller_counts f ON f.reseller_id = r.id \
                     WHERE coalesce(f.accounts, 0) <> (SELECT count(*) FROM accounts a WHERE a.reseller_id = r.id) \
                       AND $1 IS NOT NULL";
    let check = |label: &'static str| {
        let db = app.db.clone();
        async move {
            let wrong: i64 = sqlx::query_scalar(differing)
                .bind(now)
                .fetch_one(&db)
                .await
                .expect("compare");
            assert_eq!(wrong, 0, "{label}: resellers whose roll-up differs from the raw count");
        }
    };
    check("after the seed").await;
    sqlx::query(
        "INSERT INTO accounts (reseller_id, customer_id, external_id, seat_property, created_at) \
         SELECT reseller_id, id, 'new-' || n, 'm365_user', $1 FROM customers, generate_series(1, 7) AS n \
         WHERE name = 'Contoso'",
    )
    .bind(now)
    .execute(&app.db)
    .await
    .expect("accounts");
    check("after new accounts").await;
    sqlx::query("DELETE FROM accounts WHERE external_id IN ('new-1', 'new-2')")
        .execute(&app.db)
        .await
        .expect("delete accounts");
    check("after deleting accounts").await;
    let page = app.login("admin@northwind.example").await.get("/dashboard").await;
    let northwind: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts a JOIN resellers r ON r.id = a.reseller_id WHERE r.name = 'Northwind Backup Services' AND $1 IS NOT NULL",
    )
    .bind(now)
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert!(
        page.body.contains(&format!("{northwind}")) || page.body.contains(&format_thousands(northwind)),
        "the header shows {northwind} accounts"
    );
}

fn format_thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The stored score and the SLA tab's 30-day score count the same days: the last 30 UTC days,
/// today's so far included. Failed jobs just inside and just outside that window move both alike.
#[tokio::test]
async fn the_stored_sla_score_counts_the_days_the_sla_tab_counts() {
    let app = TestApp::demo().await;
    let customer = app.customer_id("Adventure Works").await;
    let (reseller, connector): (i64, i64) =
        sqlx::query_as("SELECT reseller_id, id FROM connectors WHERE customer_id = $1 ORDER BY id LIMIT 1")
            .bind(customer)
            .fetch_one(&app.db)
            .await
            .expect("a connector");
    let today = app.clock_now().date_naive();
    let first_day = (today - chrono::Duration::days(29))
        .and_hms_opt(0, 30, 0)
        .expect("time")
        .and_utc();
    let day_before = (today - chrono::Duration::days(30))
        .and_hms_opt(23, 30, 0)
        .expect("time")
        .and_utc();
    for (n, at) in [(0, first_day), (1, day_before), (2, day_before), (3, day_before)] {
        sqlx::query(
            "INSERT INTO backup_jobs (reseller_id, customer_id, connector_id, external_id, started_at, ended_at, status, bytes) \
             VALUES ($1, $2, $3, $4, $5, $5 + interval '10 minutes', 'failed', 1000)",
        )
        .bind(reseller)
        .bind(customer)
        .bind(connector)
        .bind(format!("edge-{n}"))
        .bind(at)
        .execute(&app.db)
        .await
        .expect("job");
    }
    tick(&app).await;
    let stored: Option<i16> = scalar(&app, "SELECT sla_score FROM customers WHERE id = $1", customer).await;
    let admin = app.login("admin@northwind.example").await;
    let sla = admin.get(&format!("/customers/{customer}/sla?period=30")).await;
    assert_eq!(stored.map(|s| s.to_string()), Some(sla.text("#score-value")));
}

/// Every stored SLA score of a customer not deleted against the score rule applied to the raw
/// rows at `now`: its jobs of the last 30 UTC days (not their roll-up), its sources, its open
/// critical alerts and the stale threshold.
async fn assert_sla_scores_are_those_of_the_raw_rows(app: &TestApp, now: chrono::DateTime<chrono::Utc>, after: &str) {
    use msp_portal::domain::sla::{SlaInputs, score};
    type Figures = (i64, Option<i16>, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Figures> = sqlx::query_as(
        "WITH w AS (SELECT ($1::date - 29)::timestamp AT TIME ZONE 'UTC' AS since, \
                           ($1::date + 1)::timestamp AT TIME ZONE 'UTC' AS until, \
                           $2 - make_interval(hours => (SELECT stale_warning_hours FROM server_settings)) AS fresh_after), \
              src AS (SELECT customer_id, last_success_at FROM connectors \
                      UNION ALL SELECT customer_id, last_success_at FROM clients) \
         SELECT c.id, c.sla_score, \
                (SELECT count(*) FROM backup_jobs j WHERE j.customer_id = c.id AND j.status = 'succeeded' \
                   AND j.started_at >= w.since AND j.started_at < w.until), \
                (SELECT count(*) FROM backup_jobs j WHERE j.customer_id = c.id AND j.status = 'warning' \
                   AND j.started_at >= w.since AND j.started_at < w.until), \
                (SELECT count(*) FROM backup_jobs j WHERE j.customer_id = c.id AND j.status IN ('failed', 'refused') \
                   AND j.started_at >= w.since AND j.started_at < w.until), \
                (SELECT count(*) FROM src WHERE src.customer_id = c.id), \
                (SELECT count(*) FROM src WHERE src.customer_id = c.id AND src.last_success_at > w.fresh_after), \
                (SELECT count(*) FROM alerts a WHERE a.customer_id = c.id AND a.severity = 'critical' \
                   AND a.resolved_at IS NULL) \
         FROM customers c CROSS JOIN w WHERE c.lifecycle <> 'deleted' ORDER BY c.id",
    )
    .bind(now.date_naive())
    .bind(now)
    .fetch_all(&app.db)
    .await
    .expect("raw figures");
    assert!(rows.len() > 10, "{after}: the demo's customers");
    for (customer, stored, succeeded, warnings, failed, sources, fresh_sources, open_critical_alerts) in rows {
        let expected = score(SlaInputs {
            succeeded,
            warnings,
            failed,
            sources,
            fresh_sources,
            open_critical_alerts,
        });
        assert_eq!(
            stored,
            Some(i16::from(expected)),
            "{after}: customer {customer}: {succeeded}/{warnings}/{failed} jobs, {fresh_sources} of {sources} fresh, \
             {open_critical_alerts} critical"
        );
    }
}

/// A critical alert for the customer $1, its subject "sla-queue".
const RAISE_CRITICAL: &str = "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
     SELECT reseller_id, id, 'critical', 'test', 'sla-queue', 'A test alert', now() FROM customers WHERE id = $1";

/// Between the day's full passes the engine scores only the customers queued by triggers when
/// their jobs, sources, alerts or lifecycle (or the stale threshold) change, and those with a
/// source that has turned stale since: each kind of change, made alone, reaches the stored score
/// at the next tick of the same day, and a score altered behind the engine's back is left alone
/// until the next day's first tick moves every window.
#[tokio::test]
async fn sla_scores_follow_each_kind_of_change_between_the_daily_passes() {
    let app = TestApp::demo().await;
    let now = fixed_now();
    let stored = "SELECT sla_score FROM customers WHERE id = $1";
    let queued = "SELECT count(*) FROM sla_score_queue WHERE $1::bigint IS NOT NULL";
    tick_at(&app, now).await;
    assert_sla_scores_are_those_of_the_raw_rows(&app, now, "after the day's first tick").await;
    assert_eq!(
        scalar::<i64>(&app, queued, 0).await,
        0,
        "the full pass empties the queue"
    );

    let ticks = SameDayTicks::after(&app, now);
    // Jobs inserted, then deleted.
    let adventure = app.customer_id("Adventure Works").await;
    let before: Option<i16> = scalar(&app, stored, adventure).await;
    insert_failed_jobs(&app, adventure, now, "sla-queue-").await;
    ticks.tick("after jobs were inserted").await;
    assert!(
        scalar::<Option<i16>>(&app, stored, adventure).await < before,
        "forty failed jobs lower the score"
    );
    exec(
        &app,
        "DELETE FROM backup_jobs WHERE customer_id = $1 AND external_id LIKE 'sla-queue-%'",
        adventure,
    )
    .await;
    ticks.tick("after jobs were deleted").await;
    assert_eq!(scalar::<Option<i16>>(&app, stored, adventure).await, before);

    // A critical alert raised, then resolved.
    let proseware = app.customer_id("Proseware").await;
    exec(&app, RAISE_CRITICAL, proseware).await;
    ticks.tick("after a critical alert was raised").await;
    exec(
        &app,
        "UPDATE alerts SET resolved_at = now() WHERE subject = 'sla-queue' AND customer_id = $1",
        proseware,
    )
    .await;
    ticks.tick("after it was resolved").await;

    // A client backs up well just inside the threshold: fresh now, stale 30 minutes later by
    // time alone, with nothing queued. It is critical for another reason, so the stale-source
    // step, which would raise an alert at the same instant (and queue its customer), leaves it be.
    let (client, owner): (i64, i64) = sqlx::query_as("SELECT id, customer_id FROM clients ORDER BY id LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("a client");
    let hours: i32 = sqlx::query_scalar("SELECT stale_warning_hours FROM server_settings")
        .fetch_one(&app.db)
        .await
        .expect("threshold");
    let at = ticks.next_at();
    sqlx::query(
        "UPDATE clients SET last_success_at = $2, health = 'critical', health_reason = 'Blocked by the test.', \
                health_since = $2 WHERE id = $1",
    )
    .bind(client)
    .bind(at - Duration::hours(i64::from(hours)) + Duration::minutes(15))
    .execute(&app.db)
    .await
    .expect("a good backup");
    ticks.tick("after a client's good backup").await;
    let foreseen: Option<chrono::DateTime<chrono::Utc>> = scalar(
        &app,
        "SELECT min(due_at) FROM sla_score_due WHERE customer_id = $1",
        owner,
    )
    .await;
    assert_eq!(
        foreseen,
        Some(at + Duration::minutes(15)),
        "the instant the client turns stale is foreseen"
    );
    let fresh: Option<i16> = scalar(&app, stored, owner).await;
    ticks.tick("ten minutes later").await;
    assert_eq!(scalar::<Option<i16>>(&app, stored, owner).await, fresh, "still fresh");
    ticks.tick("after the backup turned stale").await;
    assert!(
        scalar::<Option<i16>>(&app, stored, owner).await < fresh,
        "the source turned stale with no change queued"
    );

    // A client moved to another customer changes both.
    exec(
        &app,
        "UPDATE clients SET customer_id = (SELECT id FROM customers o WHERE o.reseller_id = clients.reseller_id \
                                           AND o.id <> clients.customer_id AND o.lifecycle = 'active' ORDER BY id LIMIT 1) \
         WHERE id = $1",
        client,
    )
    .await;
    ticks.tick("after a client moved").await;
    // A connector removed with its jobs.
    exec(
        &app,
        "DELETE FROM connectors WHERE id = (SELECT id FROM connectors WHERE customer_id = $1 ORDER BY id DESC LIMIT 1)",
        adventure,
    )
    .await;
    ticks.tick("after a connector was removed").await;

    // Changed while deleted (scored no longer), then revived.
    exec(
        &app,
        "UPDATE customers SET lifecycle = 'deleted', deleted_at = now() WHERE id = $1",
        proseware,
    )
    .await;
    exec(&app, RAISE_CRITICAL, proseware).await;
    ticks.tick("after a deleted customer changed").await;
    exec(
        &app,
        "UPDATE customers SET lifecycle = 'active', deleted_at = NULL WHERE id = $1",
        proseware,
    )
    .await;
    ticks.tick("after it was revived").await;

    // The threshold moves every customer's freshness: a connector that last backed up well 30
    // hours ago is stale under the demo's 26 hours and fresh under 48 (critical for another
    // reason, so that no change of its health queues its customer).
    sqlx::query(
        "UPDATE connectors SET last_success_at = $2, health = 'critical', health_reason = 'Blocked by the test.' \
         WHERE id = (SELECT id FROM connectors WHERE customer_id = $1 ORDER BY id LIMIT 1)",
    )
    .bind(adventure)
    .bind(ticks.next_at() - Duration::minutes(10) - Duration::hours(30))
    .execute(&app.db)
    .await
    .expect("an older good backup");
    ticks.tick("after a connector's last good backup moved back").await;
    let stale: Option<i16> = scalar(&app, stored, adventure).await;
    exec(
        &app,
        "UPDATE server_settings SET stale_warning_hours = 48 WHERE $1 = $1",
        0,
    )
    .await;
    ticks.tick("after the stale threshold changed").await;
    assert!(
        scalar::<Option<i16>>(&app, stored, adventure).await > stale,
        "fresh again under 48 hours"
    );

    // A score altered behind the engine's back stays until the next day's full pass: the passes
    // between read only what was queued.
    exec(&app, "UPDATE customers SET sla_score = 1 WHERE id = $1", adventure).await;
    let later = ticks.next_at();
    tick_at(&app, later).await;
    assert_eq!(
        scalar::<Option<i16>>(&app, stored, adventure).await,
        Some(1),
        "a pass between the daily ones reads only the customers queued"
    );
    let tomorrow = now + Duration::days(1);
    tick_at(&app, tomorrow).await;
    assert_sla_scores_are_those_of_the_raw_rows(&app, tomorrow, "after the next day's first tick").await;
}

/// How many rows of the SLA queue name `customer`.
async fn queued_rows(app: &TestApp, customer: i64) -> i64 {
    scalar(
        app,
        "SELECT count(*) FROM sla_score_queue WHERE customer_id = $1",
        customer,
    )
    .await
}

/// A customer is queued once however often its figures change before the next tick: a report load
/// queued one row per statement (64,000 rows for 2,000 customers), which the tick then deleted.
#[tokio::test]
async fn the_sla_queue_holds_a_customer_once_between_ticks() {
    let app = TestApp::demo().await;
    let now = fixed_now();
    tick_at(&app, now).await;
    let adventure = app.customer_id("Adventure Works").await;
    let contoso = app.customer_id("Contoso").await;
    assert_eq!(queued_rows(&app, adventure).await, 0, "the full pass emptied the queue");

    for n in 0..3 {
        insert_failed_jobs(&app, adventure, now, &format!("once-{n}-")).await;
    }
    exec(
        &app,
        "UPDATE clients SET last_success_at = now() WHERE id = (SELECT min(id) FROM clients WHERE customer_id = $1)",
        adventure,
    )
    .await;
    exec(&app, RAISE_CRITICAL, adventure).await;
    assert_eq!(
        queued_rows(&app, adventure).await,
        1,
        "jobs, a source and an alert: one row"
    );
    insert_failed_jobs(&app, contoso, now, "once-").await;
    assert_eq!(queued_rows(&app, contoso).await, 1, "another customer gets its own row");

    let ticks = SameDayTicks::after(&app, now);
    ticks.tick("after the writes").await;
    insert_failed_jobs(&app, adventure, now, "once-again-").await;
    assert_eq!(
        queued_rows(&app, adventure).await,
        1,
        "queued again after the tick took it"
    );
}

/// Neither the engine nor a writer waits on the other, and no write is left unscored: a writer
/// whose customer is being taken off the queue queues it anew; a customer whose queued row a
/// writer holds (its rows not yet committed) is scored on what others committed, and stays queued
/// for a tick after that writer commits, which scores its rows too.
#[tokio::test]
async fn a_write_racing_the_engine_for_the_sla_queue_is_scored_by_the_next_tick() {
    let app = TestApp::demo().await;
    let now = fixed_now();
    let stored = "SELECT sla_score FROM customers WHERE id = $1";
    let patience = std::time::Duration::from_secs(10);
    tick_at(&app, now).await;
    let ticks = SameDayTicks::after(&app, now);
    let adventure = app.customer_id("Adventure Works").await;
    let contoso = app.customer_id("Contoso").await;

    // A writer while its customer's row is being taken (locked to be deleted, as the engine does).
    insert_failed_jobs(&app, contoso, now, "taken-").await;
    let mut taker = app.db.begin().await.expect("begin");
    let locked: Vec<String> =
        sqlx::query_scalar("SELECT ctid::text FROM sla_score_queue WHERE customer_id = $1 FOR UPDATE SKIP LOCKED")
            .bind(contoso)
            .fetch_all(&mut *taker)
            .await
            .expect("the taker locks the row");
    assert_eq!(locked.len(), 1);
    // A source's last good backup (a trigger per row), then jobs (per statement).
    let source_backed_up = sqlx::query(
        "UPDATE clients SET last_success_at = now() WHERE id = (SELECT min(id) FROM clients WHERE customer_id = $1)",
    )
    .bind(contoso)
    .execute(&app.db);
    tokio::time::timeout(patience, source_backed_up)
        .await
        .expect("the writer does not wait for the taker")
        .expect("a client's last good backup");
    tokio::time::timeout(patience, insert_failed_jobs(&app, contoso, now, "while-taken-"))
        .await
        .expect("the writer does not wait for the taker");
    sqlx::query("DELETE FROM sla_score_queue WHERE ctid = $1::tid")
        .bind(&locked[0])
        .execute(&mut *taker)
        .await
        .expect("the taker deletes what it locked");
    taker.commit().await.expect("commit");
    assert_eq!(
        queued_rows(&app, contoso).await,
        1,
        "the writer queued its customer anew"
    );

    // A tick while a writer holds its customer's queued row, its jobs uncommitted, and another
    // writer has committed a change under the same row.
    insert_failed_jobs(&app, adventure, now, "queued-").await;
    let mut writer = app.db.begin().await.expect("begin");
    insert_failed_jobs_on(&mut writer, adventure, now, "held-").await;
    exec(&app, RAISE_CRITICAL, adventure).await;
    assert_eq!(queued_rows(&app, adventure).await, 1, "both writers found the row");
    let at = ticks.next_at();
    tokio::time::timeout(patience, tick_at(&app, at))
        .await
        .expect("the tick does not wait for the writer");
    ticks.minutes.set(ticks.minutes.get() + 10);
    assert_sla_scores_are_those_of_the_raw_rows(&app, at, "while a writer held a queued row").await;
    assert_eq!(queued_rows(&app, adventure).await, 1, "the held row stays queued");
    let before: Option<i16> = scalar(&app, stored, adventure).await;
    writer.commit().await.expect("commit");
    ticks.tick("after the writer committed").await;
    assert!(
        scalar::<Option<i16>>(&app, stored, adventure).await < before,
        "the next tick scores the writer's forty failed jobs"
    );
}

/// The changes the test above leaves out, each through its own trigger: a job's status updated, an
/// alert made critical, a connector added, a customer created, an agent's report stored in a
/// batch, a table emptied by TRUNCATE, and an instant foreseen by the day's full pass (not by a
/// queued one) coming with nothing queued. After each, every stored score is the rule's on the raw
/// rows.
#[tokio::test]
async fn sla_scores_follow_the_changes_of_every_other_trigger() {
    let app = TestApp::demo().await;
    let now = fixed_now();
    let stored = "SELECT sla_score FROM customers WHERE id = $1";
    // Before the day's first tick, a client that backed up well 5 minutes inside the threshold
    // (critical for another reason, so that the stale-source step leaves it be): the full pass
    // foresees the instant it turns stale.
    let (client, owner): (i64, i64) = sqlx::query_as("SELECT id, customer_id FROM clients ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("a client");
    sqlx::query(
        "UPDATE clients SET last_success_at = $2 - make_interval(hours => (SELECT stale_warning_hours FROM server_settings)) \
                + interval '5 minutes', health = 'critical', health_reason = 'Blocked by the test.', health_since = $2 \
         WHERE id = $1",
    )
    .bind(client)
    .bind(now)
    .execute(&app.db)
    .await
    .expect("a good backup");
    tick_at(&app, now).await;
    assert_sla_scores_are_those_of_the_raw_rows(&app, now, "after the day's first tick").await;
    let fresh: Option<i16> = scalar(&app, stored, owner).await;

    let ticks = SameDayTicks::after(&app, now);
    ticks.tick("after the instant the full pass foresaw").await;
    assert!(
        scalar::<Option<i16>>(&app, stored, owner).await < fresh,
        "the client turned stale with nothing queued"
    );

    // A job's status updated: forty jobs failed, then they are found to have succeeded.
    let adventure = app.customer_id("Adventure Works").await;
    insert_failed_jobs(&app, adventure, now, "sla-update-").await;
    ticks.tick("after failed jobs").await;
    let failing: Option<i16> = scalar(&app, stored, adventure).await;
    exec(
        &app,
        "UPDATE backup_jobs SET status = 'succeeded' WHERE customer_id = $1 AND external_id LIKE 'sla-update-%'",
        adventure,
    )
    .await;
    ticks.tick("after the jobs' status was updated").await;
    assert!(scalar::<Option<i16>>(&app, stored, adventure).await > failing);

    // An alert made critical.
    let proseware = app.customer_id("Proseware").await;
    exec(
        &app,
        "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
         SELECT reseller_id, id, 'warning', 'test', 'sla-severity', 'A test alert', now() FROM customers WHERE id = $1",
        proseware,
    )
    .await;
    ticks.tick("after a warning").await;
    let warned: Option<i16> = scalar(&app, stored, proseware).await;
    exec(
        &app,
        "UPDATE alerts SET severity = 'critical' WHERE subject = 'sla-severity' AND customer_id = $1",
        proseware,
    )
    .await;
    ticks.tick("after the alert became critical").await;
    assert!(scalar::<Option<i16>>(&app, stored, proseware).await < warned);

    // A connector added that last backed up well three days ago: one more source, not fresh
    // (critical for another reason, so that the stale-source step leaves it be).
    let before: Option<i16> = scalar(&app, stored, adventure).await;
    sqlx::query(
        "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_reason, health_since, \
                                 last_success_at, created_at) \
         SELECT reseller_id, id, 'SLA mail', 'microsoft_365', 'critical', 'Blocked by the test.', $2, \
                $2 - interval '3 days', $2 \
         FROM customers WHERE id = $1",
    )
    .bind(adventure)
    .bind(now)
    .execute(&app.db)
    .await
    .expect("a connector");
    ticks.tick("after a connector was added").await;
    assert!(scalar::<Option<i16>>(&app, stored, adventure).await < before);

    // A customer created: scored at the next tick.
    let created: i64 = sqlx::query_scalar(
        "INSERT INTO customers (reseller_id, name, pass_key_hash, created_at) \
         SELECT reseller_id, 'SLA Newcomer', 'x', now() FROM customers WHERE id = $1 RETURNING id",
    )
    .bind(adventure)
    .fetch_one(&app.db)
    .await
    .expect("a customer");
    ticks.tick("after a customer was created").await;
    assert!(scalar::<Option<i16>>(&app, stored, created).await.is_some());

    // An agent's report, stored by a batch: the job's trigger queues its customer.
    // Registered and scored first: a new client queues its customer by itself.
    let contoso = app.customer_id("Contoso").await;
    let token = app.agent_token("Contoso", "SLA-AGENT").await;
    ticks.tick("after an agent registered").await;
    let failures: Vec<serde_json::Value> = (0..30)
        .map(|n| {
            serde_json::json!({"id": format!("sla-agent-{n}"), "kind": "backup", "started_at": "2026-06-15T08:00:00Z",
                               "ended_at": "2026-06-15T08:30:00Z", "status": "failed", "bytes": 0})
        })
        .collect();
    let before: Option<i16> = scalar(&app, stored, contoso).await;
    let report = app.post_report(&token, &serde_json::json!({ "jobs": failures })).await;
    assert!(report.status.is_success(), "{}", report.body);
    ticks.tick("after an agent's report").await;
    assert!(scalar::<Option<i16>>(&app, stored, contoso).await < before);

    // Open alerts emptied by TRUNCATE: every customer is queued.
    let critical: Option<i16> = scalar(&app, stored, proseware).await;
    sqlx::query("TRUNCATE alerts")
        .execute(&app.db)
        .await
        .expect("truncate alerts");
    ticks.tick("after alerts were truncated").await;
    assert!(scalar::<Option<i16>>(&app, stored, proseware).await > critical);
}

/// A clock that moves a millisecond forward on every reading.
struct SteppingClock(FixedClock);

impl msp_portal::clock::Clock for SteppingClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.advance(Duration::milliseconds(1));
        msp_portal::clock::Clock::now(&self.0)
    }
}

/// The time the tick rested between its steps.
fn rested(outcome: &TickOutcome) -> std::time::Duration {
    match outcome {
        TickOutcome::Ran(steps) => steps.iter().map(|s| s.rested).sum(),
        TickOutcome::NotLeader => panic!("the tick did not run"),
    }
}

/// While another statement runs on the database (a page being answered), the engine rests after
/// each step; with nothing else running it does not rest at all.
#[tokio::test]
async fn the_engine_rests_between_steps_only_while_pages_are_answered() {
    let app = TestApp::demo().await;
    // Each step takes time by this clock, as by the system's: the rest is a multiple of it.
    let paced = Engine::new(app.db.clone(), Arc::new(SteppingClock(FixedClock::at(fixed_now()))));
    let alone = paced.tick_at(fixed_now()).await.expect("tick runs");
    assert!(alone.failed_steps().is_empty(), "{:?}", alone.failed_steps());
    assert_eq!(rested(&alone), std::time::Duration::ZERO, "nothing else ran");

    let page = app.app_db.clone();
    let busy = tokio::spawn(async move {
        // Ended by pg_cancel_backend below; its error is expected.
        let _ = sqlx::query("SELECT pg_sleep(60)").execute(&page).await;
    });
    // The page's statement is running before the tick starts.
    app.until_a_session("query = 'SELECT pg_sleep(60)' AND state = 'active'")
        .await;
    let beside_a_page = paced.tick_at(fixed_now()).await.expect("tick runs");
    sqlx::query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(60)'")
        .execute(&app.db)
        .await
        .expect("cancel the page's statement");
    busy.await.expect("the page's task");
    assert!(
        beside_a_page.failed_steps().is_empty(),
        "{:?}",
        beside_a_page.failed_steps()
    );
    let TickOutcome::Ran(steps) = &beside_a_page else {
        panic!("the tick did not run");
    };
    let (last, others) = steps.split_last().expect("steps");
    assert!(
        others.iter().all(|s| !s.rested.is_zero()),
        "every step but the last is followed by a rest: {steps:?}"
    );
    assert!(last.rested.is_zero(), "nothing to rest for after the last step");
    assert!(
        others
            .iter()
            .all(|s| s.rested <= msp_portal::domain::pacing::LONGEST_REST),
        "{steps:?}"
    );
}
