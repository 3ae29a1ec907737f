//! `/customers/{id}/replication`, `/invoice-config` and `/invoices`.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn plan_of(app: &TestApp, reseller: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT p.id FROM invoice_plans p JOIN resellers r ON r.id = p.reseller_id WHERE r.name = $1 LIMIT 1",
    )
    .bind(reseller)
    .fetch_one(&app.db)
    .await
    .expect("plan")
}

#[tokio::test]
async fn a_custom_replication_target_is_saved_and_audited() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/customers/{contoso}/replication")).await;
    assert_eq!(page.status, StatusCode::OK);
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/replication"),
            &[
                ("mode", "custom"),
                ("target", "dr.example.net"),
                ("schedule", "daily at 02:00"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let (mode, target): (String, String) =
        sqlx::query_as("SELECT replication_mode, replication_target FROM customers WHERE id = $1")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("customer");
    assert_eq!((mode.as_str(), target.as_str()), ("custom", "dr.example.net"));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'customer_replication_changed'",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
    admin
        .post_form(&format!("/customers/{contoso}/replication"), &[("mode", "inherit")])
        .await;
    let mode: String = sqlx::query_scalar("SELECT replication_mode FROM customers WHERE id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    assert_eq!(mode, "inherit");
}

#[tokio::test]
async fn a_custom_replication_needs_a_target() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/replication"),
            &[("mode", "custom"), ("target", ""), ("schedule", "hourly")],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!response.texts("#target-error").is_empty());
    assert_eq!(response.attrs("#schedule", "value"), vec!["hourly"]);
    let bad_mode = admin
        .post_form(&format!("/customers/{contoso}/replication"), &[("mode", "sideways")])
        .await;
    assert_eq!(bad_mode.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn invoicing_is_enabled_with_one_of_the_resellers_plans_and_disabled_again() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let plan = plan_of(&app, "Northwind Backup Services").await;
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/customers/{contoso}/invoice-config")).await;
    assert!(page.attrs("#plan_id option", "value").contains(&plan.to_string()));
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/invoice-config"),
            &[("enabled", "on"), ("plan_id", &plan.to_string())],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let (enabled, plan_id): (bool, Option<i64>) =
        sqlx::query_as("SELECT enabled, plan_id FROM invoice_configs WHERE customer_id = $1")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("config");
    assert!(enabled);
    assert_eq!(plan_id, Some(plan));
    admin
        .post_form(&format!("/customers/{contoso}/invoice-config"), &[("plan_id", "")])
        .await;
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM invoice_configs WHERE customer_id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("config");
    assert!(!enabled);
}

#[tokio::test]
async fn another_resellers_invoice_plan_is_refused() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let theirs = plan_of(&app, "Fabrikam Managed IT").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/invoice-config"),
            &[("enabled", "on"), ("plan_id", &theirs.to_string())],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!response.texts("#plan_id-error").is_empty());
    let configs: i64 = sqlx::query_scalar("SELECT count(*) FROM invoice_configs WHERE customer_id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(configs, 0);
}

#[tokio::test]
async fn the_invoice_report_is_empty_until_invoices_are_generated() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/customers/{contoso}/invoices")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text(".empty").contains("No invoices yet"));
    sqlx::query(
        "INSERT INTO invoices (reseller_id, customer_id, month, currency, total_minor, created_at) \
         SELECT reseller_id, id, '2026-05-01', 'EUR', 123456, $2 FROM customers WHERE id = $1",
    )
    .bind(contoso)
    .bind(crate::common::fixed_now())
    .execute(&app.db)
    .await
    .expect("arrange");
    let page = admin.get(&format!("/customers/{contoso}/invoices")).await;
    assert_eq!(
        page.text("#invoices tbody tr"),
        "2026-05 1234.56 EUR 2026-06-15 10:00 UTC"
    );
}

#[tokio::test]
async fn another_resellers_customer_settings_are_not_found_and_unchanged() {
    let app = TestApp::demo().await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let plan = plan_of(&app, "Fabrikam Managed IT").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(
            &format!("/customers/{woodgrove}/replication"),
            &[("mode", "custom"), ("target", "evil"), ("schedule", "x")],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let response = admin
        .post_form(
            &format!("/customers/{woodgrove}/invoice-config"),
            &[("enabled", "on"), ("plan_id", &plan.to_string())],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let (mode, configs): (String, i64) = sqlx::query_as(
        "SELECT replication_mode, (SELECT count(*) FROM invoice_configs WHERE customer_id = $1) FROM customers WHERE id = $1",
    )
    .bind(woodgrove)
    .fetch_one(&app.db)
    .await
    .expect("customer");
    assert_eq!(mode, "inherit");
    assert_eq!(configs, 0);
}
