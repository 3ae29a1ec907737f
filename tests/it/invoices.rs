//! Monthly invoices: generated once on the 1st from the plan of each day and the usage, the
//! invoice report with totals and CSV, and the printable invoice.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use crate::common::{TestApp, TestClient};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .expect("RFC 3339")
}

async fn tick(app: &TestApp) {
    let outcome = app.tick().await;
    assert!(outcome.failed_steps().is_empty(), "{:?}", outcome.failed_steps());
}

async fn standard_plan(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT p.id FROM invoice_plans p JOIN resellers r ON r.id = p.reseller_id \
         WHERE r.name = 'Northwind Backup Services' AND p.name = 'Standard'",
    )
    .fetch_one(&app.db)
    .await
    .expect("plan")
}

async fn invoice_on(admin: &TestClient, customer: i64, plan: i64) {
    let response = admin
        .post_form(
            &format!("/customers/{customer}/invoice-config"),
            &[("enabled", "on"), ("plan_id", &plan.to_string())],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
}

/// (description, amount) of the customer's invoice for `month`, and its total.
async fn invoice_of(app: &TestApp, customer: i64, month: &str) -> (Vec<(String, i64)>, i64) {
    let total: i64 = sqlx::query_scalar("SELECT total_minor FROM invoices WHERE customer_id = $1 AND month = $2::date")
        .bind(customer)
        .bind(month)
        .fetch_one(&app.db)
        .await
        .expect("the invoice exists");
    let lines: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.description, l.amount_minor FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
         WHERE i.customer_id = $1 AND i.month = $2::date ORDER BY l.id",
    )
    .bind(customer)
    .bind(month)
    .fetch_all(&app.db)
    .await
    .expect("lines");
    (lines, total)
}

fn fee(lines: &[(String, i64)]) -> Vec<(String, i64)> {
    lines
        .iter()
        .filter(|(d, _)| d.starts_with("Monthly fee"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn one_invoice_per_customer_and_month_however_often_the_engine_ticks() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    invoice_on(&admin, contoso, standard_plan(&app).await).await;
    // Before the month is over, nothing is billed.
    tick(&app).await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM invoices WHERE customer_id = $1")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("count")
    };
    assert_eq!(count().await, 0);
    app.clock.set(at("2026-07-01T00:01:00Z"));
    tick(&app).await;
    tick(&app).await;
    app.clock.set(at("2026-07-02T08:00:00Z"));
    tick(&app).await;
    assert_eq!(count().await, 1);
    let (lines, total) = invoice_of(&app, contoso, "2026-06-01").await;
    // Invoicing started on June 15: 16 of June's 30 days of the 25.00 fee = 13.33.
    assert_eq!(fee(&lines), vec![("Monthly fee".to_string(), 1333)]);
    assert_eq!(total, lines.iter().map(|(_, a)| a).sum::<i64>());
}

#[tokio::test]
async fn a_whole_february_costs_the_whole_fee() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let reseller = app.reseller_id("Northwind Backup Services").await;
    let plan = standard_plan(&app).await;
    sqlx::query("UPDATE customers SET created_at = '2025-06-01T00:00:00Z' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("older customer");
    sqlx::query(
        "INSERT INTO invoice_plan_changes (customer_id, reseller_id, plan_id, effective_at) \
         VALUES ($1, $2, $3, '2026-01-20T12:00:00Z')",
    )
    .bind(contoso)
    .bind(reseller)
    .bind(plan)
    .execute(&app.db)
    .await
    .expect("plan since January");
    app.clock.set(at("2026-03-01T06:00:00Z"));
    tick(&app).await;
    let (lines, _) = invoice_of(&app, contoso, "2026-02-01").await;
    assert_eq!(fee(&lines), vec![("Monthly fee".to_string(), 2500)]);
}

#[tokio::test]
async fn a_customer_created_mid_month_pays_from_its_first_day() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let reseller = app.reseller_id("Northwind Backup Services").await;
    let plan = standard_plan(&app).await;
    // Created on 31 May 2026 at 23:00: one day of May's 31 (25.00 / 31 = 0.81).
    sqlx::query("UPDATE customers SET created_at = '2026-05-31T23:00:00Z' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("created late in May");
    sqlx::query(
        "INSERT INTO invoice_plan_changes (customer_id, reseller_id, plan_id, effective_at) \
         VALUES ($1, $2, $3, '2026-05-31T23:00:00Z')",
    )
    .bind(contoso)
    .bind(reseller)
    .bind(plan)
    .execute(&app.db)
    .await
    .expect("plan from creation");
    app.clock.set(at("2026-06-01T00:00:00Z"));
    tick(&app).await;
    let (lines, _) = invoice_of(&app, contoso, "2026-05-01").await;
    assert_eq!(fee(&lines), vec![("Monthly fee".to_string(), 81)]);
}

#[tokio::test]
async fn a_plan_changed_mid_month_bills_each_plan_for_its_days() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let reseller = app.reseller_id("Northwind Backup Services").await;
    let premium: i64 = sqlx::query_scalar(
        "INSERT INTO invoice_plans (reseller_id, name, currency, flat_fee_minor) VALUES ($1, 'Premium', 'EUR', 6000) RETURNING id",
    )
    .bind(reseller)
    .fetch_one(&app.db)
    .await
    .expect("premium plan");
    let admin = app.login("admin@northwind.example").await;
    invoice_on(&admin, contoso, standard_plan(&app).await).await; // June 15
    app.clock.set(at("2026-06-20T09:00:00Z"));
    let admin = app.login("admin@northwind.example").await; // the earlier session has expired
    invoice_on(&admin, contoso, premium).await; // June 20
    app.clock.set(at("2026-07-01T03:00:00Z"));
    tick(&app).await;
    let (lines, total) = invoice_of(&app, contoso, "2026-06-01").await;
    // Standard June 15–19: 25.00 × 5/30 = 4.17; Premium June 20–30: 60.00 × 11/30 = 22.00.
    assert_eq!(
        fee(&lines),
        vec![
            ("Monthly fee — Standard (5 of 30 days)".to_string(), 417),
            ("Monthly fee — Premium (11 of 30 days)".to_string(), 2200),
        ]
    );
    assert_eq!(total, lines.iter().map(|(_, a)| a).sum::<i64>());
}

#[tokio::test]
async fn invoicing_turned_off_bills_nothing_for_the_month_after() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    invoice_on(&admin, contoso, standard_plan(&app).await).await;
    admin
        .post_form(&format!("/customers/{contoso}/invoice-config"), &[("plan_id", "")])
        .await;
    app.clock.set(at("2026-07-01T03:00:00Z"));
    tick(&app).await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices WHERE customer_id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("count");
    // On and off the same day: the last setting of a day decides it.
    assert_eq!(count, 0);
}

async fn one_invoice(app: &TestApp) -> (i64, i64) {
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    invoice_on(&admin, contoso, standard_plan(app).await).await;
    app.clock.set(at("2026-07-01T03:00:00Z"));
    tick(app).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM invoices WHERE customer_id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("invoice");
    (contoso, id)
}

#[tokio::test]
async fn the_report_lists_the_months_invoices_with_totals_and_exports_csv() {
    let app = TestApp::demo().await;
    let (contoso, id) = one_invoice(&app).await;
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get("/invoices?month=2026-06").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("#invoice-report tbody tr td:first-child a");
    assert!(rows.contains(&"Contoso".to_string()), "{rows:?}");
    let (count, all): (i64, i64) = sqlx::query_as(
        "SELECT count(*), sum(total_minor)::bigint FROM invoices i JOIN resellers r ON r.id = i.reseller_id \
         WHERE r.name = 'Northwind Backup Services' AND month = '2026-06-01'",
    )
    .fetch_one(&app.db)
    .await
    .expect("sum");
    assert_eq!(rows.len() as i64, count, "only Northwind's invoices");
    let footer = page.text("#invoice-report tfoot");
    assert!(footer.contains(&format!("{count} invoices")), "{footer}");
    assert!(
        footer.contains(&format!("{}.{:02} EUR", all / 100, all % 100)),
        "{footer}"
    );
    let total: i64 = sqlx::query_scalar("SELECT total_minor FROM invoices WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("total");
    let shown = format!("{}.{:02} EUR", total / 100, total % 100);
    assert!(page.text("#invoice-report tbody").contains(&shown));
    let csv = admin.get("/invoices.csv?month=2026-06").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains(&format!(
        "{id},2026-06,Northwind Backup Services,Contoso,EUR,{}",
        &shown[..shown.len() - 4]
    )));
    let customer_page = admin.get(&format!("/customers/{contoso}/invoices")).await;
    assert!(
        customer_page
            .attrs("#invoices a", "href")
            .contains(&format!("/invoices/{id}"))
    );
    assert!(
        customer_page.text("#invoices tfoot").contains(&shown),
        "per customer, its total"
    );
}

#[tokio::test]
async fn an_invoice_opens_as_a_printable_page_for_its_reseller_only() {
    let app = TestApp::demo().await;
    let (_, id) = one_invoice(&app).await;
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/invoices/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("#invoice h1").contains(&id.to_string()));
    assert!(
        page.texts("#invoice-lines tbody tr")
            .iter()
            .any(|l| l.contains("Monthly fee"))
    );
    let other = app.login("admin@fabrikam.example").await;
    assert_eq!(
        other.get(&format!("/invoices/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let theirs = other
        .get("/invoices?month=2026-06")
        .await
        .texts("#invoice-report tbody tr td:first-child a");
    assert!(!theirs.contains(&"Contoso".to_string()), "{theirs:?}");
    let portal = app.login("contoso-portal").await;
    assert_eq!(
        portal.get(&format!("/invoices/{id}")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_malformed_month_is_refused() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(admin.get("/invoices?month=June").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/invoices/abc").await.status, StatusCode::NOT_FOUND);
}
