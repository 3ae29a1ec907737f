//! `/dashboard`: the KPI header for reseller staff and the operator.

use axum::http::StatusCode;

use crate::common::TestApp;

fn kpi(page: &crate::common::TestResponse, name: &str) -> String {
    page.text(&format!("[data-kpi={name}]"))
}

#[tokio::test]
async fn a_reseller_admin_sees_its_own_figures_against_its_allowances() {
    let app = TestApp::demo().await;
    let page = app.login("admin@northwind.example").await.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(kpi(&page, "customers"), "18 / 25");
    // Expiring within 30 days at the fixed date: two deletions, two trials (one ending today),
    // two services (one at exactly 30 days); 31 and 45 days are not soon.
    assert_eq!(kpi(&page, "expiring"), "6");
    assert_eq!(kpi(&page, "exceeding"), "4");
    let accounts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts a JOIN resellers r ON r.id = a.reseller_id WHERE r.name = 'Northwind Backup Services'",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(kpi(&page, "accounts"), format!("{accounts} / 4000"));
}

#[tokio::test]
async fn the_operator_sees_every_reseller_and_can_pick_one() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    let all = operator.get("/dashboard").await;
    let options = all.texts("#reseller option");
    assert!(options.contains(&"Fabrikam Managed IT".to_string()), "{options:?}");
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE NOT is_default")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert!(kpi(&all, "customers").starts_with(&format!("{total} /")));
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let one = operator.get(&format!("/dashboard?reseller={fabrikam}")).await;
    assert_eq!(kpi(&one, "customers"), "14 / 14");
}

#[tokio::test]
async fn a_bad_reseller_filter_is_refused() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    assert_eq!(
        operator.get("/dashboard?reseller=abc").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        operator.get("/dashboard?reseller=999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_reseller_cannot_see_another_resellers_figures_through_the_filter() {
    let app = TestApp::demo().await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/dashboard?reseller={fabrikam}"))
        .await;
    assert_eq!(
        kpi(&page, "customers"),
        "18 / 25",
        "the filter is ignored for reseller staff"
    );
}

#[tokio::test]
async fn a_customer_user_may_not_open_the_dashboard() {
    let app = TestApp::demo().await;
    let response = app.login("contoso-portal").await.get("/dashboard").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn navigation_shows_only_pages_the_role_may_open() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await.get("/dashboard").await;
    assert!(admin.texts("nav.mainnav a").contains(&"Dashboard".to_string()));
    let customer = app.login("contoso-portal").await.get("/portal").await;
    assert!(!customer.texts("nav.mainnav a").contains(&"Dashboard".to_string()));
}

// ---- Tabs -----------------------------------------------------------------------------------------

fn customers_in(page: &crate::common::TestResponse) -> Vec<String> {
    page.texts("#tab-table tbody td.customer-cell a")
}

fn row_of(page: &crate::common::TestResponse, customer: &str) -> Vec<String> {
    let html = page.html();
    let rows = scraper::Selector::parse("#tab-table tbody tr").expect("selector");
    let cells = scraper::Selector::parse("td").expect("selector");
    html.select(&rows)
        .map(|row| {
            row.select(&cells)
                .map(|c| {
                    c.text()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.iter().any(|c| c == customer))
        .unwrap_or_else(|| panic!("no row for {customer} in {:?}", customers_in(page)))
}

#[tokio::test]
async fn the_critical_tab_lists_the_resellers_critical_connectors_with_their_reasons() {
    let app = TestApp::demo().await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get("/dashboard/critical")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let customers = customers_in(&page);
    for expected in ["Adventure Works", "Northwind Traders", "Consolidated Messenger"] {
        assert!(
            customers.contains(&expected.to_string()),
            "{expected} missing from {customers:?}"
        );
    }
    assert!(
        !customers.contains(&"Wide World Importers".to_string()),
        "another reseller's connector leaked"
    );
    assert!(
        row_of(&page, "Adventure Works")
            .iter()
            .any(|c| c.contains("Authentication token expired"))
    );
    let links = page.attrs("#tab-table tbody td.customer-cell a", "href");
    let adventure = app.customer_id("Adventure Works").await;
    assert!(links.contains(&format!("/customers/{adventure}")));
    assert_eq!(page.text("[data-tab=critical] .tab-count"), customers.len().to_string());
}

#[tokio::test]
async fn the_expiring_tab_holds_deletions_trials_and_services_within_thirty_days() {
    let app = TestApp::demo().await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get("/dashboard/expiring")
        .await;
    let customers = customers_in(&page);
    for expected in [
        "Alpine Ski House",
        "Southridge Video",
        "Blue Yonder Airlines",
        "Humongous Insurance",
        "City Power & Light",
        "Graphic Design Institute",
    ] {
        assert!(
            customers.contains(&expected.to_string()),
            "{expected} missing from {customers:?}"
        );
    }
    for absent in ["Litware", "School of Fine Art", "Woodgrove Bank", "Contoso"] {
        assert!(
            !customers.contains(&absent.to_string()),
            "{absent} should not be listed"
        );
    }
    assert!(
        row_of(&page, "Humongous Insurance").contains(&"today".to_string()),
        "a trial ending today"
    );
    assert!(
        row_of(&page, "Graphic Design Institute").contains(&"30 days".to_string()),
        "exactly 30 days is soon"
    );
    assert!(row_of(&page, "Alpine Ski House").contains(&"Revive".to_string()));
    assert!(row_of(&page, "Blue Yonder Airlines").contains(&"Select a paid plan".to_string()));
    assert!(
        row_of(&page, "City Power & Light")
            .iter()
            .any(|c| c.contains("Contact support"))
    );
}

#[tokio::test]
async fn the_exceeding_tab_shows_grace_days_and_a_dash_once_the_grace_period_has_ended() {
    let app = TestApp::demo().await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get("/dashboard/exceeding")
        .await;
    let customers = customers_in(&page);
    for expected in [
        "Coho Winery",
        "Consolidated Messenger",
        "Fourth Coffee",
        "Trey Research",
    ] {
        assert!(
            customers.contains(&expected.to_string()),
            "{expected} missing from {customers:?}"
        );
    }
    assert!(!customers.contains(&"Wingtip Toys".to_string()));
    // Coho went over 3 days and 2 hours ago with 14 days of grace: 10 whole days are left.
    assert_eq!(row_of(&page, "Coho Winery").get(6).map(String::as_str), Some("10 days"));
    assert_eq!(
        row_of(&page, "Consolidated Messenger").get(6).map(String::as_str),
        Some("—")
    );
    // Trey Research went over 14 days and 2 hours ago: its grace ended two hours ago.
    assert_eq!(row_of(&page, "Trey Research").get(6).map(String::as_str), Some("—"));
}

#[tokio::test]
async fn grace_ending_later_today_still_counts_zero_days_and_ended_an_hour_ago_is_a_dash() {
    let app = TestApp::demo().await;
    let coho = app.customer_id("Coho Winery").await;
    sqlx::query("UPDATE seat_limits SET grace_ends_at = $2 WHERE customer_id = $1 AND over_limit_since IS NOT NULL")
        .bind(coho)
        .bind(crate::common::fixed_now() + chrono::Duration::hours(1))
        .execute(&app.db)
        .await
        .expect("update");
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(
        row_of(&admin.get("/dashboard/exceeding").await, "Coho Winery")
            .get(6)
            .map(String::as_str),
        Some("0 days")
    );
    app.clock.advance(chrono::Duration::hours(2));
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(
        row_of(&admin.get("/dashboard/exceeding").await, "Coho Winery")
            .get(6)
            .map(String::as_str),
        Some("—")
    );
}

#[tokio::test]
async fn a_pending_limit_change_is_shown_beside_the_current_limit() {
    let app = TestApp::demo().await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get("/dashboard/exceeding")
        .await;
    let limit_cell = row_of(&page, "Fourth Coffee").get(5).cloned().unwrap_or_default();
    assert!(
        limit_cell.contains("→") && limit_cell.contains("from 2026-06-16"),
        "{limit_cell}"
    );
    assert!(
        page.texts("#tab-table .pending")
            .iter()
            .any(|t| t.contains("2026-06-16"))
    );
}

#[tokio::test]
async fn the_approaching_tab_forecasts_rising_usage_and_skips_flat_usage() {
    let app = TestApp::demo().await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get("/dashboard/approaching")
        .await;
    let customers = customers_in(&page);
    assert!(customers.contains(&"Margie's Travel".to_string()), "{customers:?}");
    assert!(
        !customers.contains(&"Proseware".to_string()),
        "flat usage has no forecast"
    );
    let days = row_of(&page, "Margie's Travel").get(5).cloned().unwrap_or_default();
    assert!(days.ends_with("days") || days.ends_with("day"), "{days}");
}

#[tokio::test]
async fn tabs_can_be_searched_and_sorted() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let found = admin.get("/dashboard/expiring?q=alpine").await;
    assert_eq!(customers_in(&found), vec!["Alpine Ski House"]);
    let none = admin.get("/dashboard/expiring?q=zzz").await;
    assert!(none.text(".empty").contains("zzz"));
    // An empty tab keeps the header, whole.
    assert_eq!(kpi(&none, "customers"), "18 / 25");
    assert_eq!(kpi(&none, "expiring"), "6");
    let by_name = admin.get("/dashboard/expiring?sort=customer&dir=asc").await;
    let names = customers_in(&by_name);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    let reversed = customers_in(&admin.get("/dashboard/expiring?sort=customer&dir=desc").await);
    assert_eq!(reversed.first(), names.last());
    assert_eq!(
        admin.get("/dashboard/expiring?sort=password").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/dashboard/expiring?after=garbage!").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(admin.get("/dashboard/nonsense").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn long_tabs_are_paged_fifty_rows_at_a_time_without_gaps_or_repeats() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query(
        "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_reason, health_since, created_at) \
         SELECT reseller_id, id, 'Laptop ' || n, 'endpoint', 'critical', 'Offline', $2 - make_interval(mins => n), $2 \
         FROM customers, generate_series(1, 70) AS n WHERE id = $1",
    )
    .bind(contoso)
    .bind(crate::common::fixed_now())
    .execute(&app.db)
    .await
    .expect("insert");
    let admin = app.login("admin@northwind.example").await;
    let first = admin.get("/dashboard/critical?sort=connector").await;
    assert_eq!(first.texts("#tab-table tbody tr").len(), 50);
    let next = first.attrs("a[rel=next]", "href").pop().expect("a next page");
    let second = admin.get(&next).await;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM connectors k JOIN resellers r ON r.id = k.reseller_id \
         WHERE k.health = 'critical' AND r.name = 'Northwind Backup Services'",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    let connectors = |p: &crate::common::TestResponse| p.texts("#tab-table tbody tr td:nth-child(3)");
    let mut all = connectors(&first);
    all.extend(connectors(&second));
    assert_eq!(all.len() as i64, total);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no row appears twice");
    assert!(second.attrs("a[rel=next]", "href").is_empty());
}

#[tokio::test]
async fn the_csv_export_holds_the_tab_rows_of_the_caller_only_and_defuses_formulas() {
    let app = TestApp::demo().await;
    sqlx::query("UPDATE connectors SET health_reason = '=HYPERLINK(\"http://evil\")' WHERE name LIKE 'Microsoft 365 (Adventure Works)%'")
        .execute(&app.db)
        .await
        .expect("update");
    let admin = app.login("admin@northwind.example").await;
    let csv = admin.get("/dashboard/critical?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv"))
    );
    assert!(csv.body.starts_with("Customer,Email,Connector,Details,Critical since"));
    assert!(csv.body.contains("Adventure Works"));
    assert!(!csv.body.contains("Wide World Importers"));
    assert!(
        csv.body.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{}",
        csv.body
    );
    assert_eq!(
        admin.get("/dashboard/critical?format=pdf").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_htmx_tab_switch_gets_only_the_tab_panel() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let panel = admin
        .send(
            axum::http::Method::GET,
            "/dashboard/expiring",
            None,
            &[("hx-request", "true")],
        )
        .await;
    assert_eq!(panel.status, StatusCode::OK);
    assert!(!panel.body.contains("<html"));
    assert!(panel.body.contains("id=\"dashboard-tabs\""));
    assert_eq!(panel.attrs("[data-tab=expiring]", "aria-current"), vec!["page"]);
}

#[tokio::test]
async fn the_operator_sees_a_reseller_column_and_every_resellers_rows() {
    let app = TestApp::demo().await;
    let page = app.login("operator").await.get("/dashboard/critical").await;
    let customers = customers_in(&page);
    assert!(
        customers.contains(&"Wide World Importers".to_string()) && customers.contains(&"Adventure Works".to_string())
    );
    assert!(page.texts("#tab-table thead th").contains(&"Reseller".to_string()));
}

// ---- Actions --------------------------------------------------------------------------------------

async fn lifecycle_of(app: &TestApp, id: i64) -> (String, Option<chrono::NaiveDate>) {
    sqlx::query_as("SELECT lifecycle, delete_on FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("row")
}

async fn audit_count(app: &TestApp, action: &str, customer: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1 AND customer_id = $2")
        .bind(action)
        .bind(customer)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn reviving_a_customer_asks_first_then_makes_it_active_audits_it_and_it_leaves_the_tab() {
    let app = TestApp::demo().await;
    let alpine = app.customer_id("Alpine Ski House").await;
    let admin = app.login("admin@northwind.example").await;
    let confirm = admin.get(&format!("/customers/{alpine}/revive")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text("h1").contains("Revive Alpine Ski House"));
    assert_eq!(
        lifecycle_of(&app, alpine).await.0,
        "scheduled_for_deletion",
        "asking changes nothing"
    );
    let done = admin.post_form(&format!("/customers/{alpine}/revive"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(lifecycle_of(&app, alpine).await, ("active".to_string(), None));
    assert_eq!(audit_count(&app, "customer_revived", alpine).await, 1);
    let tab = admin.get("/dashboard/expiring").await;
    assert!(tab.text(".flash").contains("active again"));
    assert!(!customers_in(&tab).contains(&"Alpine Ski House".to_string()));
}

#[tokio::test]
async fn another_resellers_customer_cannot_be_revived_by_guessing_its_id() {
    let app = TestApp::demo().await;
    let munsons = app.customer_id("Munson's Pickles and Preserves").await;
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(
        admin.get(&format!("/customers/{munsons}/revive")).await.status,
        StatusCode::NOT_FOUND
    );
    admin.get("/dashboard").await;
    assert_eq!(
        admin
            .post_form(&format!("/customers/{munsons}/revive"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(lifecycle_of(&app, munsons).await.0, "scheduled_for_deletion");
    assert_eq!(audit_count(&app, "customer_revived", munsons).await, 0);
}

#[tokio::test]
async fn a_customer_past_its_deletion_date_cannot_be_revived() {
    let app = TestApp::demo().await;
    let alpine = app.customer_id("Alpine Ski House").await;
    app.clock.advance(chrono::Duration::days(6));
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(
        admin.get(&format!("/customers/{alpine}/revive")).await.status,
        StatusCode::CONFLICT
    );
    admin.get("/dashboard").await;
    let response = admin.post_form(&format!("/customers/{alpine}/revive"), &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(lifecycle_of(&app, alpine).await.0, "scheduled_for_deletion");
}

#[tokio::test]
async fn a_revive_without_the_csrf_token_changes_nothing() {
    let app = TestApp::demo().await;
    let alpine = app.customer_id("Alpine Ski House").await;
    let admin = app.login("admin@northwind.example").await;
    let response = admin
        .post_form_exactly(&format!("/customers/{alpine}/revive"), &[])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(lifecycle_of(&app, alpine).await.0, "scheduled_for_deletion");
}

#[tokio::test]
async fn an_evaluation_converts_to_a_chosen_paid_plan() {
    let app = TestApp::demo().await;
    let blue = app.customer_id("Blue Yonder Airlines").await;
    let admin = app.login("admin@northwind.example").await;
    let form = admin.get(&format!("/customers/{blue}/convert")).await;
    let plans = form.texts("label.choice strong");
    assert_eq!(plans, vec!["Essentials", "Professional", "Premium"], "paid plans only");
    let premium: i64 = sqlx::query_scalar("SELECT id FROM service_plans WHERE name = 'Premium'")
        .fetch_one(&app.db)
        .await
        .expect("plan");
    let premium = premium.to_string();
    let done = admin
        .post_form(
            &format!("/customers/{blue}/convert"),
            &[("plan_id", &premium), ("expires_on", "2027-06-15")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let (tenant_type, trial, expires): (String, Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT tenant_type, trial_ends_on, service_expires_on FROM customers WHERE id = $1")
            .bind(blue)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_eq!(tenant_type, "commercial");
    assert_eq!(trial, None);
    assert_eq!(expires, chrono::NaiveDate::from_ymd_opt(2027, 6, 15));
    assert_eq!(audit_count(&app, "customer_converted", blue).await, 1);
}

#[tokio::test]
async fn converting_to_an_evaluation_plan_or_a_past_date_is_refused() {
    let app = TestApp::demo().await;
    let blue = app.customer_id("Blue Yonder Airlines").await;
    let evaluation: i64 = sqlx::query_scalar("SELECT id FROM service_plans WHERE is_evaluation")
        .fetch_one(&app.db)
        .await
        .expect("plan");
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{blue}/convert")).await;
    let evaluation = evaluation.to_string();
    let bad_plan = admin
        .post_form(
            &format!("/customers/{blue}/convert"),
            &[("plan_id", &evaluation), ("expires_on", "2027-06-15")],
        )
        .await;
    assert_eq!(bad_plan.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_plan.text("#plan_id-error"), "Choose one of the paid plans.");
    let bad_date = admin
        .post_form(
            &format!("/customers/{blue}/convert"),
            &[("plan_id", "abc"), ("expires_on", "2020-01-01")],
        )
        .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_date.texts(".field-error").len() >= 2);
    let tenant_type: String = sqlx::query_scalar("SELECT tenant_type FROM customers WHERE id = $1")
        .bind(blue)
        .fetch_one(&app.db)
        .await
        .expect("row");
    assert_eq!(tenant_type, "evaluation");
}

async fn pending_of(app: &TestApp, customer: i64) -> (Option<i32>, Option<chrono::NaiveDate>) {
    sqlx::query_as("SELECT pending_limit, pending_effective_on FROM seat_limits WHERE customer_id = $1 AND seat_property = 'm365_user'")
        .bind(customer)
        .fetch_one(&app.db)
        .await
        .expect("row")
}

#[tokio::test]
async fn a_limit_raise_is_scheduled_for_tomorrow_at_the_earliest() {
    let app = TestApp::demo().await;
    let coho = app.customer_id("Coho Winery").await;
    let admin = app.login("admin@northwind.example").await;
    let path = format!("/customers/{coho}/seat-limits");
    let form = admin.get(&format!("{path}?property=m365_user")).await;
    assert_eq!(form.attrs("#effective_on", "min"), vec!["2026-06-16"]);
    for (limit, date, field, message) in [
        (
            "500",
            "2026-06-15",
            "effective_on",
            "A new limit can take effect on 2026-06-16 at the earliest.",
        ),
        ("-5", "2026-06-16", "new_limit", "Enter 0 or more."),
        ("lots", "2026-06-16", "new_limit", "Enter a whole number."),
        ("500", "16.06.2026", "effective_on", "Enter a date as YYYY-MM-DD."),
    ] {
        let response = admin
            .post_form(
                &path,
                &[
                    ("seat_property", "m365_user"),
                    ("new_limit", limit),
                    ("effective_on", date),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{limit} {date}");
        assert_eq!(response.text(&format!("#{field}-error")), message);
        assert_eq!(response.attrs("#new_limit", "value"), vec![limit], "the input is kept");
        assert_eq!(
            pending_of(&app, coho).await,
            (None, None),
            "nothing saved for {limit} {date}"
        );
    }
    let done = admin
        .post_form(
            &path,
            &[
                ("seat_property", "m365_user"),
                ("new_limit", "500"),
                ("effective_on", "2026-06-16"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        pending_of(&app, coho).await,
        (Some(500), chrono::NaiveDate::from_ymd_opt(2026, 6, 16))
    );
    assert_eq!(audit_count(&app, "seat_limit_scheduled", coho).await, 1);
    let tab = admin.get("/dashboard/exceeding").await;
    assert!(
        row_of(&tab, "Coho Winery")
            .get(5)
            .is_some_and(|c| c.contains("500 from 2026-06-16"))
    );
}

#[tokio::test]
async fn another_resellers_seat_limit_cannot_be_changed() {
    let app = TestApp::demo().await;
    let wingtip = app.customer_id("Wingtip Toys").await;
    let admin = app.login("admin@northwind.example").await;
    let path = format!("/customers/{wingtip}/seat-limits");
    assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND);
    admin.get("/dashboard").await;
    let response = admin
        .post_form(
            &path,
            &[
                ("seat_property", "m365_user"),
                ("new_limit", "900"),
                ("effective_on", "2026-06-20"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(pending_of(&app, wingtip).await, (None, None));
}

#[tokio::test]
async fn a_bulk_change_previews_every_row_then_schedules_them_with_one_audit_entry_per_customer() {
    let app = TestApp::demo().await;
    let coho = app.customer_id("Coho Winery").await;
    let trey = app.customer_id("Trey Research").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/dashboard/exceeding").await;
    let rows = [format!("{coho}:m365_user"), format!("{trey}:m365_user")];
    let fields = [
        ("row", rows[0].as_str()),
        ("row", rows[1].as_str()),
        ("mode", "percent"),
        ("value", "50"),
        ("effective_on", "2026-06-20"),
    ];
    let preview = admin.post_form("/dashboard/exceeding/bulk", &fields).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.texts("#bulk-preview tbody tr").len(), 2);
    assert_eq!(pending_of(&app, coho).await, (None, None), "a preview changes nothing");
    let current: i32 =
        sqlx::query_scalar("SELECT seat_limit FROM seat_limits WHERE customer_id = $1 AND seat_property = 'm365_user'")
            .bind(coho)
            .fetch_one(&app.db)
            .await
            .expect("limit");
    let applied = admin.post_form("/dashboard/exceeding/bulk/apply", &fields).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER);
    let expected = (i64::from(current) * 150 + 99) / 100;
    assert_eq!(
        pending_of(&app, coho).await,
        (Some(expected as i32), chrono::NaiveDate::from_ymd_opt(2026, 6, 20))
    );
    assert!(pending_of(&app, trey).await.0.is_some());
    assert_eq!(audit_count(&app, "seat_limit_scheduled", coho).await, 1);
    assert_eq!(audit_count(&app, "seat_limit_scheduled", trey).await, 1);
}

#[tokio::test]
async fn a_bulk_change_naming_another_resellers_row_changes_nothing() {
    let app = TestApp::demo().await;
    let coho = app.customer_id("Coho Winery").await;
    let wingtip = app.customer_id("Wingtip Toys").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/dashboard/exceeding").await;
    let rows = [format!("{coho}:m365_user"), format!("{wingtip}:m365_user")];
    let fields = [
        ("row", rows[0].as_str()),
        ("row", rows[1].as_str()),
        ("mode", "absolute"),
        ("value", "999"),
        ("effective_on", "2026-06-20"),
    ];
    assert_eq!(
        admin.post_form("/dashboard/exceeding/bulk/apply", &fields).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(pending_of(&app, coho).await, (None, None));
    assert_eq!(pending_of(&app, wingtip).await, (None, None));
}

#[tokio::test]
async fn a_bulk_change_for_today_is_refused_with_a_message() {
    let app = TestApp::demo().await;
    let coho = app.customer_id("Coho Winery").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/dashboard/exceeding").await;
    let row = format!("{coho}:m365_user");
    let response = admin
        .post_form(
            "/dashboard/exceeding/bulk",
            &[
                ("row", &row),
                ("mode", "absolute"),
                ("value", "999"),
                ("effective_on", "2026-06-15"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let tab = admin.get("/dashboard/exceeding").await;
    assert!(tab.text(".flash-error").contains("2026-06-16"));
    assert_eq!(pending_of(&app, coho).await, (None, None));
}

#[tokio::test]
async fn the_expiring_tab_pages_soonest_first_through_ties_and_customers_listed_twice() {
    use msp_portal::clock::Clock;
    let app = TestApp::demo().await;
    let today = app.clock.today();
    // 40 services ending on three shared days, 20 evaluations whose trial and service both end
    // (two rows each, on the same day for some), 10 deletions: with the demo's six, two pages.
    sqlx::query(
        "INSERT INTO customers (reseller_id, name, pass_key_hash, created_at, lifecycle, tenant_type, \
                                trial_ends_on, service_expires_on, delete_on) \
         SELECT r.id, 'Paged ' || lpad(n::text, 3, '0'), 'x', $2, \
                CASE WHEN n > 60 THEN 'scheduled_for_deletion' ELSE 'active' END, \
                CASE WHEN n BETWEEN 41 AND 60 THEN 'evaluation' ELSE 'commercial' END, \
                CASE WHEN n BETWEEN 41 AND 60 THEN $1::date + (n % 4) END, \
                CASE WHEN n <= 60 THEN $1::date + (n % 3) * 5 END, \
                CASE WHEN n > 60 THEN $1::date + 7 END \
         FROM resellers r, generate_series(70, 1, -1) AS n WHERE r.name = 'Northwind Backup Services'",
    )
    .bind(today)
    .bind(crate::common::fixed_now())
    .execute(&app.db)
    .await
    .expect("insert");
    let expected: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, kind FROM ( \
           SELECT c.id, c.name, 'Revive' AS kind, c.delete_on AS ends_on, 0 AS k FROM customers c \
             JOIN resellers r ON r.id = c.reseller_id AND r.name = 'Northwind Backup Services' \
            WHERE c.lifecycle = 'scheduled_for_deletion' AND NOT c.is_default \
           UNION ALL SELECT c.id, c.name, 'Select a paid plan', c.trial_ends_on, 1 FROM customers c \
             JOIN resellers r ON r.id = c.reseller_id AND r.name = 'Northwind Backup Services' \
            WHERE c.lifecycle = 'active' AND c.tenant_type = 'evaluation' AND NOT c.is_default AND c.trial_ends_on <= $1::date + 30 \
           UNION ALL SELECT c.id, c.name, 'Contact support', c.service_expires_on, 2 FROM customers c \
             JOIN resellers r ON r.id = c.reseller_id AND r.name = 'Northwind Backup Services' \
            WHERE c.lifecycle = 'active' AND NOT c.is_default AND c.service_expires_on <= $1::date + 30) e \
         ORDER BY ends_on, id, k",
    )
    .bind(today)
    .fetch_all(&app.db)
    .await
    .expect("expected rows");
    assert_two_pages_show(&app, "/dashboard/expiring", &expected).await;
}

/// The critical tab sorted by customer reads the customer's name as the connector keeps a copy of
/// it (so the page is read off an index): a renamed customer moves its connectors at once, and the
/// pages hold every critical connector of a live customer once, in the raw order.
#[tokio::test]
async fn the_critical_tab_pages_by_customer_name_and_follows_a_rename() {
    let app = TestApp::demo().await;
    sqlx::query(
        "WITH added AS ( \
             INSERT INTO customers (reseller_id, name, pass_key_hash, created_at) \
             SELECT r.id, 'Crit ' || lpad(n::text, 2, '0'), 'x', $1 \
             FROM resellers r, generate_series(30, 1, -1) AS n WHERE r.name = 'Northwind Backup Services' \
             RETURNING id, reseller_id) \
         INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_reason, health_since, created_at) \
         SELECT a.reseller_id, a.id, 'Set ' || s, 'endpoint', 'critical', 'Disk failed', $1, $1 \
         FROM added a, generate_series(1, 2) AS s",
    )
    .bind(crate::common::fixed_now())
    .execute(&app.db)
    .await
    .expect("insert");
    // Renamed to the front of the list, and one customer deleted (its connectors leave the tab).
    sqlx::query("UPDATE customers SET name = 'AAA Renamed' WHERE name = 'Crit 17'")
        .execute(&app.db)
        .await
        .expect("rename");
    sqlx::query("UPDATE customers SET lifecycle = 'deleted', deleted_at = $1 WHERE name = 'Crit 03'")
        .bind(crate::common::fixed_now())
        .execute(&app.db)
        .await
        .expect("delete");
    let expected: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.name, k.name FROM connectors k JOIN customers c ON c.id = k.customer_id \
         JOIN resellers r ON r.id = k.reseller_id AND r.name = 'Northwind Backup Services' \
         WHERE k.health = 'critical' AND c.lifecycle <> 'deleted' ORDER BY lower(c.name), k.id",
    )
    .fetch_all(&app.db)
    .await
    .expect("expected rows");
    assert_eq!(expected[0].0, "AAA Renamed");
    assert_two_pages_show(&app, "/dashboard/critical?sort=customer&dir=asc", &expected).await;
}

/// The rows of a tab that fits on two pages, as Northwind's admin sees them following the next
/// link; the pairs are what each row must show, in order.
async fn assert_two_pages_show(app: &TestApp, path: &str, expected: &[(String, String)]) {
    assert!(
        expected.len() > 50 && expected.len() <= 100,
        "two pages: {}",
        expected.len()
    );
    let admin = app.login("admin@northwind.example").await;
    let first = admin.get(path).await;
    let next = first.attrs("a[rel=next]", "href").pop().expect("a next page");
    let second = admin.get(&next).await;
    assert!(second.attrs("a[rel=next]", "href").is_empty());
    let mut shown = first.texts("#tab-table tbody tr");
    shown.extend(second.texts("#tab-table tbody tr"));
    assert_eq!(shown.len(), expected.len(), "every row once");
    for (row, (a, b)) in shown.iter().zip(expected) {
        assert!(
            row.contains(a.as_str()) && row.contains(b.as_str()),
            "{row:?} should show {a} and {b}"
        );
    }
}
