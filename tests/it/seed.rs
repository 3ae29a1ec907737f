//! The demo dataset shows every state the dashboard has, dated from the clock's today.

use crate::common::{TestApp, fixed_now};

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(fixed_now())
        .fetch_one(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn the_demo_covers_every_dashboard_state() {
    let app = TestApp::demo().await;
    let checks = [
        (
            "critical connectors with a reason",
            "SELECT count(*) FROM connectors WHERE health = 'critical' AND health_reason <> '' AND $1 IS NOT NULL",
        ),
        (
            "customers scheduled for deletion",
            "SELECT count(*) FROM customers WHERE lifecycle = 'scheduled_for_deletion' AND delete_on > $1::date",
        ),
        (
            "evaluations ending within 30 days",
            "SELECT count(*) FROM customers WHERE tenant_type = 'evaluation' AND trial_ends_on BETWEEN $1::date AND $1::date + 30",
        ),
        (
            "an evaluation ending today",
            "SELECT count(*) FROM customers WHERE tenant_type = 'evaluation' AND trial_ends_on = $1::date",
        ),
        (
            "services expiring within 30 days",
            "SELECT count(*) FROM customers WHERE lifecycle = 'active' AND service_expires_on BETWEEN $1::date AND $1::date + 30",
        ),
        (
            "a service expiring in exactly 30 days",
            "SELECT count(*) FROM customers WHERE service_expires_on = $1::date + 30",
        ),
        (
            "a service expiring in 31 days (not soon)",
            "SELECT count(*) FROM customers WHERE service_expires_on = $1::date + 31",
        ),
        (
            "seats over the limit inside the grace period",
            "SELECT count(*) FROM seat_limits WHERE seats_used > seat_limit AND grace_ends_at > $1",
        ),
        (
            "seats over the limit past the grace period",
            "SELECT count(*) FROM seat_limits WHERE seats_used > seat_limit AND grace_ends_at <= $1",
        ),
        (
            "pending limit changes from tomorrow on",
            "SELECT count(*) FROM seat_limits WHERE pending_effective_on > $1::date",
        ),
        (
            "customers whose backups are blocked",
            "SELECT count(*) FROM customers WHERE backups_blocked_reason IS NOT NULL AND $1 IS NOT NULL",
        ),
        (
            "deactivated customers",
            "SELECT count(*) FROM customers WHERE NOT activated AND $1 IS NOT NULL",
        ),
        (
            "open alerts",
            "SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND raised_at <= $1",
        ),
        (
            "90 days of usage",
            "SELECT count(DISTINCT day) FROM usage_daily WHERE day > $1::date - 90 AND day <= $1::date",
        ),
        (
            "12 months of MAU",
            "SELECT count(DISTINCT month) FROM mau_monthly WHERE month <= $1::date",
        ),
        (
            "12 months of allowance history",
            "SELECT count(DISTINCT month) FROM mau_allowance_history WHERE month <= $1::date",
        ),
        (
            "backup jobs in the last 30 days",
            "SELECT count(*) FROM backup_jobs WHERE started_at > $1 - interval '30 days'",
        ),
        (
            "restore jobs",
            "SELECT count(*) FROM restore_jobs WHERE started_at < $1",
        ),
        ("locations", "SELECT count(*) FROM locations WHERE $1 IS NOT NULL"),
        ("contacts", "SELECT count(*) FROM contacts WHERE $1 IS NOT NULL"),
        ("clients", "SELECT count(*) FROM clients WHERE $1 IS NOT NULL"),
        ("accounts", "SELECT count(*) FROM accounts WHERE $1 IS NOT NULL"),
    ];
    for (what, sql) in checks {
        assert!(count(&app, sql).await > 0, "the demo has no {what}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(DISTINCT day) FROM usage_daily WHERE day > $1::date - 90 AND day <= $1::date"
        )
        .await,
        90
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(DISTINCT month) FROM mau_monthly WHERE month <= $1::date"
        )
        .await,
        12
    );
}

#[tokio::test]
async fn the_demo_has_three_resellers_forty_customers_and_the_built_in_default() {
    let app = TestApp::demo().await;
    let resellers = count(
        &app,
        "SELECT count(*) FROM resellers WHERE NOT is_default AND $1 IS NOT NULL",
    )
    .await;
    let customers = count(
        &app,
        "SELECT count(*) FROM customers WHERE NOT is_default AND $1 IS NOT NULL",
    )
    .await;
    let defaults = count(
        &app,
        "SELECT count(*) FROM customers c JOIN resellers r ON r.id = c.reseller_id WHERE c.is_default AND r.is_default AND $1 IS NOT NULL",
    )
    .await;
    assert_eq!(resellers, 3);
    assert!((38..=42).contains(&customers), "{customers} customers");
    assert_eq!(defaults, 1);
}

#[tokio::test]
async fn every_demo_login_exists_with_an_argon2id_hash() {
    let app = TestApp::demo().await;
    for (username, _) in msp_portal::seed::DEMO_LOGINS {
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_one(&app.db)
            .await
            .unwrap_or_else(|_| panic!("{username} exists"));
        assert!(hash.starts_with("$argon2id$"), "{username}: {hash}");
    }
}

#[tokio::test]
async fn pass_keys_are_stored_hashed() {
    let app = TestApp::demo().await;
    let in_clear = count(
        &app,
        "SELECT count(*) FROM customers WHERE pass_key_hash LIKE 'demo-%' AND $1 IS NOT NULL",
    )
    .await;
    let hashed = count(
        &app,
        "SELECT count(*) FROM customers WHERE pass_key_hash ~ '^[0-9a-f]{64}$' AND $1 IS NOT NULL",
    )
    .await;
    let all = count(&app, "SELECT count(*) FROM customers WHERE $1 IS NOT NULL").await;
    assert_eq!(in_clear, 0);
    assert_eq!(hashed, all);
}

#[tokio::test]
async fn seeding_a_database_that_has_data_is_refused() {
    let app = TestApp::demo().await;
    let error = msp_portal::seed::seed_demo(&app.db, fixed_now())
        .await
        .expect_err("second seed is refused");
    assert!(error.to_string().contains("already has data"), "{error}");
}

/// `seed --scale bench-small`: the generated counts, every index and key rebuilt after the bulk
/// load, and a generated reseller's owner can log in and open the pages.
#[tokio::test]
async fn the_bench_small_scale_has_its_counts_and_keeps_the_schema() {
    use msp_portal::seed::scale::{BENCH_SMALL, seed_scaled};
    let app = crate::common::TestApp::new().await;
    let schema = "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND $1 IS NOT NULL";
    let keys = "SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND $1 IS NOT NULL";
    let (indexes_before, keys_before) = (count(&app, schema).await, count(&app, keys).await);
    seed_scaled(&app.db, &msp_portal::clock::FixedClock::at(fixed_now()), BENCH_SMALL, 7)
        .await
        .expect("seed bench-small");
    assert_eq!(count(&app, schema).await, indexes_before, "every index is rebuilt");
    assert_eq!(count(&app, keys).await, keys_before, "every constraint is rebuilt");

    let generated = "(SELECT c.id FROM customers c JOIN resellers r ON r.id = c.reseller_id \
                      WHERE r.name LIKE 'Bench Reseller %' AND $1 IS NOT NULL)";
    let checks = [
        (
            "resellers",
            "SELECT count(*) FROM resellers WHERE name LIKE 'Bench Reseller %' AND $1 IS NOT NULL".to_string(),
            20,
        ),
        ("customers", format!("SELECT count(*) FROM {generated} g"), 1_000),
        (
            "clients",
            format!("SELECT count(*) FROM clients WHERE customer_id IN {generated}"),
            10_000,
        ),
        (
            "connectors",
            format!("SELECT count(*) FROM connectors WHERE customer_id IN {generated}"),
            3_000,
        ),
        (
            "accounts",
            format!("SELECT count(*) FROM accounts WHERE customer_id IN {generated}"),
            20_000,
        ),
        (
            "backup jobs",
            format!("SELECT count(*) FROM backup_jobs WHERE customer_id IN {generated}"),
            999 * 199 + 1_000,
        ),
    ];
    for (what, sql, expected) in checks {
        assert_eq!(count(&app, &sql).await, expected, "{what}");
    }
    // The bulk load fills the roll-ups itself with the trigger off: they must still be exact, and
    // the trigger back on.
    crate::sla_roll_up::assert_roll_up_is_exact(&app.db, "after seed --scale bench-small").await;
    let enabled = "SELECT count(*) FROM pg_trigger WHERE tgname = 'backup_job_days_insert' AND tgenabled = 'O' AND $1 IS NOT NULL";
    assert_eq!(count(&app, enabled).await, 1, "the roll-up trigger is on again");
    let largest = count(
        &app,
        "SELECT count(*) FROM customers c JOIN resellers r ON r.id = c.reseller_id WHERE r.name = 'Bench Reseller 001' AND $1 IS NOT NULL",
    )
    .await;
    assert_eq!(largest, 200, "the largest reseller has a fifth of the customers");
    for state in [
        "lifecycle = 'scheduled_for_deletion'",
        "lifecycle = 'deleted'",
        "tenant_type = 'evaluation'",
        "NOT activated",
        "service_expires_on <= $1::date + 30 AND lifecycle = 'active'",
    ] {
        let sql = format!("SELECT count(*) FROM customers WHERE id IN {generated} AND {state}");
        assert!(
            count(&app, &sql).await > 0,
            "some generated customers are in state {state}"
        );
    }
    let over = "SELECT count(*) FROM seat_limits WHERE seats_used > seat_limit AND over_limit_since IS NOT NULL AND $1 IS NOT NULL";
    assert!(count(&app, over).await > 0, "some seat limits are exceeded");
    // Twelve months of MAU; this month's and the last are the count of the accounts' recorded
    // activity, as the engine counts them, so its first tick has nothing to correct.
    let months = format!("SELECT count(DISTINCT month) FROM mau_monthly WHERE customer_id IN {generated}");
    assert_eq!(count(&app, &months).await, 12);
    let miscounted = format!(
        "SELECT count(*) FROM mau_monthly m WHERE m.customer_id IN {generated} \
           AND m.month >= (date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') - interval '1 month')::date \
           AND m.mau <> (SELECT count(*) FROM account_activity_months a WHERE a.customer_id = m.customer_id AND a.month = m.month)"
    );
    assert_eq!(count(&app, &miscounted).await, 0, "MAU of this month and the last");
    let counted = format!(
        "SELECT count(*) FROM mau_monthly WHERE customer_id IN {generated} AND mau > 0 \
           AND month = date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC')::date"
    );
    assert!(count(&app, &counted).await > 0, "this month has active accounts");
    // So the seed takes the generated customers' pending recounts off the engine's queue, and
    // must leave no active month without its figure.
    let queued = format!("SELECT count(*) FROM mau_recount WHERE customer_id IN {generated}");
    assert_eq!(count(&app, &queued).await, 0, "no generated recount left queued");
    let unrecorded = format!(
        "SELECT count(*) FROM (SELECT DISTINCT customer_id, month FROM account_activity_months \
                               WHERE customer_id IN {generated}) a \
         WHERE NOT EXISTS (SELECT 1 FROM mau_monthly m WHERE m.customer_id = a.customer_id AND m.month = a.month)"
    );
    assert_eq!(count(&app, &unrecorded).await, 0, "every active month has its MAU row");
    // The forecasts are the day's full pass, recorded as the engine's (whose first tick the same
    // day then forecasts only the customers queued after it).
    let recorded = "SELECT count(*) FROM engine_steps WHERE step = 'seat_forecasts' AND last_success_at = $1";
    assert_eq!(count(&app, recorded).await, 1, "the forecast pass is recorded");
    let stale = "SELECT count(*) FROM seat_forecast_queue WHERE $1 IS NOT NULL";
    assert_eq!(count(&app, stale).await, 0, "no forecast left queued");

    let owner = app.login("owner@r001.bench.example").await;
    for path in [
        "/dashboard/critical",
        "/dashboard/approaching",
        "/customers",
        "/license",
    ] {
        assert_eq!(owner.get(path).await.status, 200, "{path}");
    }
}

#[test]
fn generated_reseller_sizes_are_skewed_and_add_up() {
    use msp_portal::seed::scale::{BENCH_SMALL, LARGE};
    for (spec, seed) in [(LARGE, 1), (LARGE, 99), (BENCH_SMALL, 7)] {
        let sizes = spec.reseller_sizes(seed);
        assert_eq!(sizes.len(), spec.resellers);
        assert_eq!(sizes.iter().sum::<usize>(), spec.customers);
        assert_eq!(sizes[0], spec.largest_reseller);
        assert!(sizes.iter().all(|&s| s >= 1));
        assert_eq!(spec.reseller_sizes(seed), sizes, "deterministic");
    }
    let large = LARGE.reseller_sizes(1);
    let mut tail = large[10..].to_vec();
    tail.sort_unstable();
    assert!(
        (150..=500).contains(&tail[tail.len() / 2]),
        "most have a few hundred customers"
    );
}
