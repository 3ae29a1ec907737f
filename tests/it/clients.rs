//! `/customers/{id}/clients…` and `/customers/{id}/deleted`: clients of a customer, adding one
//! under the MCAL rules, deleting one, and the deleted-items report.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("query")
}

async fn clients_of(app: &TestApp, customer: i64) -> i64 {
    count(app, "SELECT count(*) FROM clients WHERE customer_id = $1", customer).await
}

#[tokio::test]
async fn the_clients_page_lists_status_last_seen_and_space() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/customers/{contoso}/clients")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.texts("#clients tbody tr").len() as i64,
        clients_of(&app, contoso).await
    );
    assert!(page.texts("#clients td.key").iter().all(|k| k.starts_with("CONTOSO-")));
    assert!(page.text("#clients td.status").contains("online") || page.text("#clients td.status").contains("offline"));
}

#[tokio::test]
async fn adding_a_client_takes_an_mcal_and_is_audited() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, max_clients = NULL WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("arrange");
    let before = clients_of(&app, contoso).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get(&format!("/customers/{contoso}/clients/new")).await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/clients/new"),
            &[("client_key", "LAPTOP-42"), ("hostname", "laptop42")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(clients_of(&app, contoso).await, before + 1);
    let created_by: String = sqlx::query_scalar("SELECT created_by FROM clients WHERE client_key = 'LAPTOP-42'")
        .fetch_one(&app.db)
        .await
        .expect("client");
    assert_eq!(created_by, "admin");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'client_added'",
            contoso
        )
        .await,
        1
    );
    let page = admin.get(&format!("/customers/{contoso}/clients")).await;
    assert!(page.texts("#clients td.key").contains(&"LAPTOP-42".to_string()));
}

#[tokio::test]
async fn a_client_id_is_unique_within_its_customer() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, max_clients = NULL WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("arrange");
    let before = clients_of(&app, contoso).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/clients/new"),
            &[("client_key", "contoso-001")],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text("#client_key-error").contains("already has a client"));
    assert_eq!(response.attrs("#client_key", "value"), vec!["contoso-001"]);
    assert_eq!(clients_of(&app, contoso).await, before);
    let empty = admin
        .post_form(&format!("/customers/{contoso}/clients/new"), &[("client_key", "  ")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_client_past_the_customers_allotment_is_refused_even_with_mcals_in_the_pool() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let clients = clients_of(&app, contoso).await;
    sqlx::query("UPDATE customers SET mcals_allotted = $2, max_clients = NULL WHERE id = $1")
        .bind(contoso)
        .bind(clients as i32)
        .execute(&app.db)
        .await
        .expect("arrange");
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/clients/new"),
            &[("client_key", "ONE-MORE")],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text("#client_key-error").contains("MCALs allotted"));
    assert_eq!(clients_of(&app, contoso).await, clients);
}

#[tokio::test]
async fn a_client_is_refused_when_the_resellers_pool_is_used_up() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, max_clients = NULL WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("arrange");
    // The pool holds exactly what pool-drawing customers use now.
    sqlx::query(
        "UPDATE resellers SET mcal_pool = (SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id \
                                          WHERE k.reseller_id = $1 AND c.mcals_allotted IS NULL) WHERE id = $1",
    )
    .bind(northwind)
    .execute(&app.db)
    .await
    .expect("arrange");
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/clients/new"),
            &[("client_key", "ONE-MORE")],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text("#client_key-error").contains("pool is used up"));
}

#[tokio::test]
async fn a_client_past_the_max_client_limit_is_refused() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let clients = clients_of(&app, contoso).await;
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, max_clients = $2 WHERE id = $1")
        .bind(contoso)
        .bind(clients as i32)
        .execute(&app.db)
        .await
        .expect("arrange");
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(
            &format!("/customers/{contoso}/clients/new"),
            &[("client_key", "ONE-MORE")],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text("#client_key-error").contains("maximum number of clients"));
}

#[tokio::test]
async fn deleting_a_client_asks_first_and_lands_in_the_deleted_items_report() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let client: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE customer_id = $1 ORDER BY id LIMIT 1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("client");
    let before = clients_of(&app, contoso).await;
    let admin = app.login("admin@northwind.example").await;
    let confirm = admin
        .get(&format!("/customers/{contoso}/clients/{client}/delete"))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text("h1").starts_with("Delete client"));
    assert_eq!(
        clients_of(&app, contoso).await,
        before,
        "the confirmation page changes nothing"
    );
    let response = admin
        .post_form(&format!("/customers/{contoso}/clients/{client}/delete"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(clients_of(&app, contoso).await, before - 1);
    let (by_kind, by_name): (String, String) = sqlx::query_as(
        "SELECT deleted_by_kind, deleted_by_name FROM deleted_items WHERE customer_id = $1 AND item_kind = 'client' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("deleted item");
    assert_eq!(by_kind, "admin");
    assert!(!by_name.is_empty());
    let report = admin.get(&format!("/customers/{contoso}/deleted")).await;
    assert!(report.text("#deleted tbody tr").contains("an administrator"));
}

#[tokio::test]
async fn another_resellers_client_cannot_be_deleted_through_a_own_customers_url() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let theirs: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE customer_id = $1 LIMIT 1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("client");
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    for path in [
        format!("/customers/{contoso}/clients/{theirs}/delete"),
        format!("/customers/{woodgrove}/clients/{theirs}/delete"),
    ] {
        assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND);
        assert_eq!(admin.post_form(&path, &[]).await.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM clients WHERE id = $1", theirs).await,
        1
    );
}
