//! `/customers/{id}`: summary and SLA tabs, and the account, service plan and contact forms.

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};

use crate::common::{TestApp, fixed_now};

/// A Northwind customer with one connector and jobs at known times, for exact figures.
async fn fixture_customer(app: &TestApp) -> i64 {
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let now = fixed_now();
    let customer: i64 = sqlx::query_scalar(
        "INSERT INTO customers (reseller_id, name, legal_name, email, pass_key_hash, created_at) \
         VALUES ($1, 'Fixture Co', 'Fixture Company Ltd.', 'it@fixture.example', 'x', $2) RETURNING id",
    )
    .bind(northwind)
    .bind(now)
    .fetch_one(&app.db)
    .await
    .expect("customer");
    let connector: i64 = sqlx::query_scalar(
        "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_since, last_success_at, created_at) \
         VALUES ($1, $2, 'Mail', 'microsoft_365', 'healthy', $3, $3 - interval '2 hours', $3) RETURNING id",
    )
    .bind(northwind)
    .bind(customer)
    .bind(now)
    .fetch_one(&app.db)
    .await
    .expect("connector");
    // Last 7 days: 5 succeeded, 1 with warnings, 2 failed. Twenty days ago: 3 succeeded.
    let jobs: &[(i64, &str)] = &[
        (1, "succeeded"),
        (1, "succeeded"),
        (2, "succeeded"),
        (3, "succeeded"),
        (4, "succeeded"),
        (5, "warning"),
        (5, "failed"),
        (6, "failed"),
        (20, "succeeded"),
        (20, "succeeded"),
        (21, "succeeded"),
    ];
    for (n, (days_ago, status)) in jobs.iter().enumerate() {
        sqlx::query(
            "INSERT INTO backup_jobs (reseller_id, customer_id, connector_id, external_id, started_at, ended_at, status, bytes) \
             VALUES ($1, $2, $3, $4, $5, $5 + interval '10 minutes', $6, 1000)",
        )
        .bind(northwind)
        .bind(customer)
        .bind(connector)
        .bind(format!("fixture-{n}"))
        .bind(now - Duration::days(*days_ago))
        .bind(status)
        .execute(&app.db)
        .await
        .expect("job");
    }
    sqlx::query(
        "INSERT INTO restore_jobs (reseller_id, customer_id, connector_id, external_id, started_at, status) \
         VALUES ($1, $2, $3, 'restore-1', $4, 'failed')",
    )
    .bind(northwind)
    .bind(customer)
    .bind(connector)
    .bind(now - Duration::days(3))
    .execute(&app.db)
    .await
    .expect("restore");
    sqlx::query(
        "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at, resolved_at) VALUES \
         ($1, $2, 'critical', 'connector_critical', 'a', 'Open critical', $3 - interval '1 day', NULL), \
         ($1, $2, 'warning', 'source_stale', 'b', 'Resolved warning', $3 - interval '5 days', $3 - interval '4 days')",
    )
    .bind(northwind)
    .bind(customer)
    .bind(now)
    .execute(&app.db)
    .await
    .expect("alerts");
    customer
}

fn stat(page: &crate::common::TestResponse, section: &str, name: &str) -> String {
    page.text(&format!("#{section} [data-stat={name}]"))
}

#[tokio::test]
async fn the_sla_tab_counts_jobs_of_the_chosen_period_exactly() {
    let app = TestApp::demo().await;
    let customer = fixture_customer(&app).await;
    let admin = app.login("admin@northwind.example").await;
    let week = admin.get(&format!("/customers/{customer}/sla?period=7")).await;
    assert_eq!(week.status, StatusCode::OK);
    assert_eq!(stat(&week, "backup-stats", "total"), "8");
    assert_eq!(stat(&week, "backup-stats", "succeeded"), "5");
    assert_eq!(stat(&week, "backup-stats", "warnings"), "1");
    assert_eq!(stat(&week, "backup-stats", "failed"), "2");
    assert_eq!(stat(&week, "backup-stats", "rate"), "68.8%", "(5 + ½) of 8");
    assert_eq!(stat(&week, "restore-stats", "failed"), "1");
    assert_eq!(stat(&week, "restore-stats", "rate"), "0.0%");
    let month = admin.get(&format!("/customers/{customer}/sla?period=30")).await;
    assert_eq!(stat(&month, "backup-stats", "total"), "11");
    assert_eq!(stat(&month, "backup-stats", "rate"), "77.3%", "(8 + ½) of 11");
    let quarter = admin.get(&format!("/customers/{customer}/sla?period=90")).await;
    assert_eq!(stat(&quarter, "backup-stats", "total"), "11");
    assert_eq!(
        quarter
            .html()
            .select(&scraper::Selector::parse("#backup-chart g.bar").expect("selector"))
            .count(),
        90
    );
}

/// The fixture's 13-week trend, by hand from its jobs: each week is seven whole UTC days ending
/// today minus whole weeks, so of the jobs 20 and 21 days ago the first two fall in the week
/// ending two weeks back and the last in the week before it.
#[tokio::test]
async fn the_sla_trend_shows_each_weeks_score_from_its_jobs_sources_and_alerts() {
    use msp_portal::domain::sla::{SlaInputs, score};
    let app = TestApp::demo().await;
    let customer = fixture_customer(&app).await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{customer}/sla"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let week = |succeeded, warnings, failed, fresh_sources, open_critical_alerts| {
        score(SlaInputs {
            succeeded,
            warnings,
            failed,
            sources: 1,
            fresh_sources,
            open_critical_alerts,
        })
    };
    let today = fixed_now().date_naive();
    let expected: Vec<String> = (0..13)
        .rev()
        .map(|weeks_ago| {
            let value = match weeks_ago {
                0 => week(5, 1, 2, 1, 1),
                2 => week(2, 0, 0, 1, 0),
                3 => week(1, 0, 0, 1, 0),
                _ => week(0, 0, 0, 0, 0),
            };
            let ends = today - Duration::days(7 * weeks_ago);
            format!("Week ending {}: score {value}", ends.format("%Y-%m-%d"))
        })
        .collect();
    assert_eq!(page.texts("#trend-chart g.bar title"), expected);
    assert_eq!(
        expected[12], "Week ending 2026-06-15: score 77",
        "(5 + ½) of 8, one fresh source, one critical alert"
    );
}

#[tokio::test]
async fn a_customer_without_jobs_shows_zeros_and_no_rate() {
    let app = TestApp::demo().await;
    let customer = fixture_customer(&app).await;
    sqlx::query("DELETE FROM backup_jobs WHERE customer_id = $1")
        .bind(customer)
        .execute(&app.db)
        .await
        .expect("delete");
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{customer}/sla?period=7"))
        .await;
    assert_eq!(stat(&page, "backup-stats", "total"), "0");
    assert_eq!(stat(&page, "backup-stats", "rate"), "—");
}

#[tokio::test]
async fn alerts_are_counted_open_and_resolved_by_severity() {
    let app = TestApp::demo().await;
    let customer = fixture_customer(&app).await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{customer}/sla?period=7"))
        .await;
    assert_eq!(
        page.texts("#alert-stats tr[data-severity=critical] td.num"),
        vec!["1", "0"]
    );
    assert_eq!(
        page.texts("#alert-stats tr[data-severity=warning] td.num"),
        vec!["0", "1"]
    );
    assert_eq!(page.texts("#latest-alerts li").len(), 2);
}

/// The list shows the ten latest alerts, newest first, ties broken by the later row; older
/// ones and another customer's stay out.
#[tokio::test]
async fn the_latest_alerts_are_the_ten_newest_newest_first() {
    let app = TestApp::demo().await;
    let customer = fixture_customer(&app).await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("DELETE FROM alerts WHERE customer_id = $1")
        .bind(customer)
        .execute(&app.db)
        .await
        .expect("clear");
    // Alert n is raised n hours before now; "late twin" shares alert 1's instant.
    sqlx::query(
        "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
         SELECT $1, $2, 'info', 'test', 'subject ' || n, 'alert ' || n, $3::timestamptz - make_interval(hours => n) \
         FROM generate_series(1, 12) AS n \
         UNION ALL SELECT $1, $2, 'info', 'test', 'twin', 'late twin', $3::timestamptz - interval '1 hour' \
         UNION ALL SELECT $1, $4, 'critical', 'test', 'other', 'another customer', $3::timestamptz",
    )
    .bind(northwind)
    .bind(customer)
    .bind(fixed_now())
    .bind(contoso)
    .execute(&app.db)
    .await
    .expect("alerts");
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{customer}/sla"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let messages: Vec<String> = page
        .texts("#latest-alerts li")
        .iter()
        .map(|text| text.split_whitespace().skip(1).take(2).collect::<Vec<_>>().join(" "))
        .collect();
    let mut expected = vec!["late twin".to_string()];
    expected.extend((1..=9).map(|n| format!("alert {n}")));
    assert_eq!(messages, expected);
}

#[tokio::test]
async fn the_sla_score_follows_the_documented_formula() {
    let app = TestApp::demo().await;
    let customer = fixture_customer(&app).await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{customer}/sla?period=30"))
        .await;
    let expected = msp_portal::domain::sla::score(msp_portal::domain::sla::SlaInputs {
        succeeded: 8,
        warnings: 1,
        failed: 2,
        sources: 1,
        fresh_sources: 1,
        open_critical_alerts: 1,
    });
    assert_eq!(page.text("#score-value"), expected.to_string());
    assert!(page.text("#sla-score details").contains("60% backup success"));
}

#[tokio::test]
async fn sources_without_a_recent_good_backup_are_flagged_stale() {
    let app = TestApp::demo().await;
    let customer = fixture_customer(&app).await;
    sqlx::query("UPDATE connectors SET last_success_at = $2 WHERE customer_id = $1")
        .bind(customer)
        .bind(fixed_now() - Duration::hours(30))
        .execute(&app.db)
        .await
        .expect("update");
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{customer}/sla"))
        .await;
    let row = page.text("#sources-table tbody tr");
    assert!(
        row.contains("Mail") && row.contains("30 h ago") && row.contains("stale"),
        "{row}"
    );
    assert_eq!(
        app.login("admin@northwind.example")
            .await
            .get(&format!("/customers/{customer}/sla?period=12"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_summary_shows_account_plan_usage_and_contacts() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{contoso}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text("main h1"), "Contoso");
    assert!(page.text("#account").contains("Contoso Ltd."));
    assert!(page.text("#service-plan").contains("Credit quota"));
    assert_eq!(page.texts("#contacts-table tbody tr").len(), 2);
    assert_eq!(
        page.html()
            .select(&scraper::Selector::parse("#credits-chart g.bar").expect("selector"))
            .count(),
        90
    );
    assert_eq!(page.texts("#usage-table tbody tr").len(), 90);
    let total: String = sqlx::query_scalar(
        "SELECT sum(credits_consumed)::text FROM usage_daily WHERE customer_id = $1 AND day > $2::date - 90 AND day <= $2::date",
    )
    .bind(contoso)
    .bind(fixed_now())
    .fetch_one(&app.db)
    .await
    .expect("sum");
    assert_eq!(page.text("#credits-total"), total);
    let impersonate = page.attrs("a[href^='/impersonation/new']", "href");
    assert_eq!(impersonate, vec![format!("/impersonation/new?customer={contoso}")]);
}

#[tokio::test]
async fn another_resellers_customer_answers_not_found_on_every_tab_and_form() {
    let app = TestApp::demo().await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let admin = app.login("admin@northwind.example").await;
    for path in ["", "/sla", "/account", "/service-plan", "/contacts/new"] {
        assert_eq!(
            admin.get(&format!("/customers/{woodgrove}{path}")).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    admin.get("/dashboard").await;
    let response = admin
        .post_form(
            &format!("/customers/{woodgrove}/contacts"),
            &[("name", "Intruder"), ("email", "x@evil.example")],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let response = admin
        .post_form(
            &format!("/customers/{woodgrove}/account"),
            &[("legal_name", "Hijacked")],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let legal: String = sqlx::query_scalar("SELECT legal_name FROM customers WHERE id = $1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("row");
    assert_eq!(legal, "Woodgrove Bank Ltd.");
    let intruders: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts WHERE name = 'Intruder'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(intruders, 0);
}

#[tokio::test]
async fn customer_users_may_not_open_the_details_page() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let response = app
        .login("contoso-portal")
        .await
        .get(&format!("/customers/{contoso}"))
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

async fn contacts_named(app: &TestApp, customer: i64, name: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT email, phone FROM contacts WHERE customer_id = $1 AND name = $2")
        .bind(customer)
        .bind(name)
        .fetch_all(&app.db)
        .await
        .expect("contacts")
}

#[tokio::test]
async fn a_contact_is_added_edited_and_deleted_with_an_audit_entry_each() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{contoso}/contacts/new")).await;
    let added = admin
        .post_form(
            &format!("/customers/{contoso}/contacts"),
            &[("name", "Ada Park"), ("email", "ada@contoso.example"), ("phone", "")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(
        contacts_named(&app, contoso, "Ada Park").await,
        vec![("ada@contoso.example".into(), "".into())]
    );
    let id: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE name = 'Ada Park'")
        .fetch_one(&app.db)
        .await
        .expect("id");

    admin.get(&format!("/customers/{contoso}/contacts/{id}/edit")).await;
    let edited = admin
        .post_form(
            &format!("/customers/{contoso}/contacts/{id}"),
            &[
                ("name", "Ada Park"),
                ("email", "ada@contoso.example"),
                ("phone", "+1 555 0199"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER);
    assert_eq!(
        contacts_named(&app, contoso, "Ada Park").await,
        vec![("ada@contoso.example".into(), "+1 555 0199".into())]
    );

    let confirm = admin.get(&format!("/customers/{contoso}/contacts/{id}/delete")).await;
    assert!(confirm.text("h1").contains("Delete Ada Park"));
    assert_eq!(
        contacts_named(&app, contoso, "Ada Park").await.len(),
        1,
        "asking deletes nothing"
    );
    let deleted = admin
        .post_form(&format!("/customers/{contoso}/contacts/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(contacts_named(&app, contoso, "Ada Park").await.is_empty());
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE object_kind = 'contact' AND object_id = $1 ORDER BY id")
            .bind(id.to_string())
            .fetch_all(&app.db)
            .await
            .expect("audit");
    assert_eq!(audited, vec!["contact_added", "contact_updated", "contact_deleted"]);
}

#[tokio::test]
async fn an_invalid_contact_is_refused_with_messages_and_nothing_is_stored() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{contoso}/contacts/new")).await;
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        ("", "a@b.example", "", "name", "This field is required."),
        (
            "Bad Mail",
            "not-an-address",
            "",
            "email",
            "Enter an email address such as name@example.com.",
        ),
        (
            "Unreachable",
            "",
            "",
            "email",
            "Give an email address or a phone number, so the contact can be reached.",
        ),
    ];
    for (name, email, phone, field, message) in cases {
        let response = admin
            .post_form(
                &format!("/customers/{contoso}/contacts"),
                &[("name", name), ("email", email), ("phone", phone)],
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert_eq!(response.text(&format!("#{field}-error")), *message);
        assert_eq!(response.attrs("#email", "value"), vec![email.to_string()], "input kept");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts WHERE customer_id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(count, 2, "only the two demo contacts");
}

#[tokio::test]
async fn another_customers_contact_cannot_be_edited_through_this_customer() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let proseware = app.customer_id("Proseware").await;
    let foreign: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE customer_id = $1 LIMIT 1")
        .bind(proseware)
        .fetch_one(&app.db)
        .await
        .expect("id");
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(
        admin
            .get(&format!("/customers/{contoso}/contacts/{foreign}/edit"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    admin.get("/dashboard").await;
    assert_eq!(
        admin
            .post_form(&format!("/customers/{contoso}/contacts/{foreign}/delete"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn account_details_are_validated_saved_and_audited() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{contoso}/account")).await;
    let bad = admin
        .post_form(
            &format!("/customers/{contoso}/account"),
            &[("legal_name", "Contoso Group"), ("email", "nope"), ("city", "Seattle")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.attrs("#legal_name", "value"), vec!["Contoso Group"]);
    let good = admin
        .post_form(
            &format!("/customers/{contoso}/account"),
            &[
                ("legal_name", "Contoso Group"),
                ("email", "ops@contoso.example"),
                ("address", "1 Way"),
                ("city", "Seattle"),
                ("phone", "+1 555"),
            ],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER);
    let (legal, email): (String, String) = sqlx::query_as("SELECT legal_name, email FROM customers WHERE id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("row");
    assert_eq!(
        (legal.as_str(), email.as_str()),
        ("Contoso Group", "ops@contoso.example")
    );
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM audit_log WHERE action = 'customer_account_updated' AND customer_id = $1",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("audit");
    assert_eq!(changes["legal_name"]["after"], "Contoso Group");
    assert_eq!(changes["legal_name"]["before"], "Contoso Ltd.");
}

#[tokio::test]
async fn a_credit_quota_with_a_future_date_waits_and_one_for_today_applies_at_once() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let plan: i64 = sqlx::query_scalar("SELECT id FROM service_plans WHERE name = 'Professional'")
        .fetch_one(&app.db)
        .await
        .expect("plan");
    let plan = plan.to_string();
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{contoso}/service-plan")).await;
    let form = |quota: &'static str, on: &'static str| {
        vec![
            ("service_plan_id", plan.clone()),
            ("storage_region", "eu-west".to_string()),
            ("tenant_type", "commercial".to_string()),
            ("service_expires_on", "2027-01-31".to_string()),
            ("credit_quota", quota.to_string()),
            ("credit_quota_effective_on", on.to_string()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin
                .post_form(&format!("/customers/{contoso}/service-plan"), &borrowed)
                .await
        }
    };
    let quota = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (Option<String>, Option<String>, Option<NaiveDate>)>(
                "SELECT credit_quota::text, pending_credit_quota::text, pending_credit_quota_on FROM customers WHERE id = $1",
            )
            .bind(contoso)
            .fetch_one(&db)
            .await
            .expect("row")
        }
    };
    assert_eq!(send(form("2500.50", "2026-07-01")).await.status, StatusCode::SEE_OTHER);
    let (current, pending, on) = quota(&app).await;
    assert_ne!(current.as_deref(), Some("2500.50"), "not before its date");
    assert_eq!(
        (pending.as_deref(), on),
        (Some("2500.50"), NaiveDate::from_ymd_opt(2026, 7, 1))
    );
    assert_eq!(send(form("3000", "2026-06-15")).await.status, StatusCode::SEE_OTHER);
    let (current, pending, _) = quota(&app).await;
    assert_eq!((current.as_deref(), pending), (Some("3000.00"), None));
    let bad = send(form("12.345", "2026-06-15")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text("#credit_quota-error").contains("1500.50"));
}

#[tokio::test]
async fn an_evaluation_needs_its_trial_end_and_the_evaluation_plan() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let paid: i64 = sqlx::query_scalar("SELECT id FROM service_plans WHERE name = 'Premium'")
        .fetch_one(&app.db)
        .await
        .expect("plan");
    let paid = paid.to_string();
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{contoso}/service-plan")).await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/service-plan"),
            &[
                ("service_plan_id", &paid),
                ("storage_region", "eu-west"),
                ("tenant_type", "evaluation"),
                ("trial_ends_on", ""),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text("#trial_ends_on-error").contains("trial ends"));
    assert!(response.text("#service_plan_id-error").contains("evaluation plan"));
    let tenant: String = sqlx::query_scalar("SELECT tenant_type FROM customers WHERE id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("row");
    assert_eq!(tenant, "commercial");
}
