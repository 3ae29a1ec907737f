//! `/customers/{id}/delete`: the confirmation, keeping or deleting clients, and the refusals.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn lifecycle(app: &TestApp, customer: i64) -> (String, Option<chrono::NaiveDate>) {
    sqlx::query_as("SELECT lifecycle, delete_on FROM customers WHERE id = $1")
        .bind(customer)
        .fetch_one(&app.db)
        .await
        .expect("customer")
}

async fn clients_of(app: &TestApp, customer: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM clients WHERE customer_id = $1")
        .bind(customer)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn the_confirmation_shows_what_will_be_removed() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let clients = clients_of(&app, contoso).await;
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{contoso}/delete"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let details = page.texts(".details li");
    assert_eq!(details[0], format!("Clients: {clients}"));
    assert!(details[1].starts_with("Backup data:"));
    assert_eq!(page.attrs("input[name=clients]", "value"), vec!["keep", "delete"]);
    assert_eq!(lifecycle(&app, contoso).await.0, "active");
}

#[tokio::test]
async fn deleting_with_its_clients_schedules_the_deletion_after_the_retention_period() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let clients = clients_of(&app, contoso).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{contoso}/delete")).await;
    let response = admin
        .post_form(&format!("/customers/{contoso}/delete"), &[("clients", "delete")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let (state, delete_on) = lifecycle(&app, contoso).await;
    assert_eq!(state, "scheduled_for_deletion");
    // 30 days of retention (the server setting's default) from 2026-06-15.
    assert_eq!(delete_on, chrono::NaiveDate::from_ymd_opt(2026, 7, 15));
    assert_eq!(clients_of(&app, contoso).await, 0);
    let recorded: Vec<(String, String)> = sqlx::query_as(
        "SELECT item_kind, deleted_by_kind FROM deleted_items WHERE customer_id = $1 AND deleted_at = $2",
    )
    .bind(contoso)
    .bind(crate::common::fixed_now())
    .fetch_all(&app.db)
    .await
    .expect("deleted items");
    assert_eq!(recorded.iter().filter(|(k, _)| k == "client").count() as i64, clients);
    assert_eq!(recorded.iter().filter(|(k, _)| k == "customer").count(), 1);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'customer_deletion_scheduled'",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn keeping_the_clients_moves_them_to_the_default_customer() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let default = app.customer_id("Default Customer").await;
    let clients = clients_of(&app, contoso).await;
    let before_default = clients_of(&app, default).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(&format!("/customers/{contoso}/delete"), &[("clients", "keep")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(clients_of(&app, contoso).await, 0);
    assert_eq!(clients_of(&app, default).await, before_default + clients);
    let wrong_reseller: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id WHERE k.reseller_id <> c.reseller_id",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(wrong_reseller, 0);
    assert_eq!(lifecycle(&app, contoso).await.0, "scheduled_for_deletion");
}

#[tokio::test]
async fn a_customer_with_a_running_backup_cannot_be_deleted() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query(
        "INSERT INTO backup_jobs (reseller_id, customer_id, client_id, external_id, started_at, status) \
         SELECT reseller_id, customer_id, id, 'running-1', $2, 'running' FROM clients WHERE customer_id = $1 LIMIT 1",
    )
    .bind(contoso)
    .bind(crate::common::fixed_now())
    .execute(&app.db)
    .await
    .expect("arrange");
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/customers/{contoso}/delete")).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("is running"));
    let response = admin
        .post_form(&format!("/customers/{contoso}/delete"), &[("clients", "delete")])
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(lifecycle(&app, contoso).await.0, "active");
}

#[tokio::test]
async fn the_default_customer_cannot_be_deleted() {
    let app = TestApp::demo().await;
    let default = app.customer_id("Default Customer").await;
    let operator = app.login("operator").await;
    assert_eq!(
        operator.get(&format!("/customers/{default}/delete")).await.status,
        StatusCode::CONFLICT
    );
    let response = operator
        .post_form(&format!("/customers/{default}/delete"), &[("clients", "delete")])
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(lifecycle(&app, default).await.0, "active");
}

#[tokio::test]
async fn a_missing_choice_about_the_clients_is_refused() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(&format!("/customers/{contoso}/delete"), &[("clients", "maybe")])
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(lifecycle(&app, contoso).await.0, "active");
}
