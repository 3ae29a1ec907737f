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
