//! `/portal`: the customer's own view.

use axum::http::StatusCode;

use crate::common::TestApp;

#[tokio::test]
async fn a_customer_user_sees_its_own_data_sources_and_jobs() {
    let app = TestApp::demo().await;
    let page = app.login("contoso-portal").await.get("/portal").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text("main h1"), "Contoso");
    let sources = page.texts("#sources tbody tr td:first-child");
    assert!(!sources.is_empty());
    assert!(
        sources
            .iter()
            .all(|name| name.contains("Contoso") || name == "File server Seattle"),
        "{sources:?}"
    );
    let jobs = page.texts("#recent-jobs tbody tr");
    assert_eq!(jobs.len(), 20, "the latest twenty backups");
}

#[tokio::test]
async fn reseller_staff_may_not_open_the_portal_directly() {
    let app = TestApp::demo().await;
    let response = app.login("admin@northwind.example").await.get("/portal").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn names_are_escaped_on_the_page() {
    let app = TestApp::demo().await;
    sqlx::query("UPDATE customers SET name = '<script>alert(1)</script>' WHERE name = 'Contoso'")
        .execute(&app.db)
        .await
        .expect("rename");
    let page = app.login("contoso-portal").await.get("/portal").await;
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
}

async fn contoso_clients(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM clients WHERE customer_id = (SELECT id FROM customers WHERE name = 'Contoso')",
    )
    .fetch_one(&app.db)
    .await
    .expect("count")
}

/// Room for exactly `free` more Contoso clients under an allotment, with max clients out of the way.
async fn allot_room(app: &TestApp, free: i64) {
    let used = contoso_clients(app).await;
    sqlx::query("UPDATE customers SET mcals_allotted = $1, max_clients = NULL WHERE name = 'Contoso'")
        .bind((used + free) as i32)
        .execute(&app.db)
        .await
        .expect("allot");
}

#[tokio::test]
async fn the_portal_shows_the_customers_clients_usage_alerts_and_activity() {
    let app = TestApp::demo().await;
    let page = app.login("contoso-portal").await.get("/portal").await;
    assert_eq!(
        page.texts("#clients tbody tr").len() as i64,
        contoso_clients(&app).await
    );
    assert!(page.texts("main h2").contains(&"Usage".to_string()));
    assert!(page.texts("main h2").contains(&"Activity on your account".to_string()));
    assert_eq!(page.attrs("#change-password", "href"), vec!["/account/password"]);
    let alerts = page.texts("#portal-alerts tbody tr");
    assert!(alerts.iter().all(|a| a.contains("Contoso")), "{alerts:?}");
}

#[tokio::test]
async fn a_customer_user_adds_a_client_within_its_allotment() {
    let app = TestApp::demo().await;
    allot_room(&app, 1).await;
    let before = contoso_clients(&app).await;
    let customer = app.login("contoso-portal").await;
    customer.get("/portal").await;
    let response = customer
        .post_form(
            "/portal/clients",
            &[("client_key", "laptop-042"), ("hostname", "laptop-042.contoso.local")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(contoso_clients(&app).await, before + 1);
    let created_by: String = sqlx::query_scalar("SELECT created_by FROM clients WHERE client_key = 'laptop-042'")
        .fetch_one(&app.db)
        .await
        .expect("client");
    assert_eq!(created_by, "customer");
    let page = customer.get("/portal").await;
    assert!(
        page.text("#add-client-refused").contains("client licences"),
        "the allotment is used up now"
    );
    let refused = customer
        .post_form("/portal/clients", &[("client_key", "laptop-043")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(contoso_clients(&app).await, before + 1);
}

#[tokio::test]
async fn a_client_id_is_unique_within_the_customer() {
    let app = TestApp::demo().await;
    allot_room(&app, 5).await;
    let existing: String = sqlx::query_scalar(
        "SELECT client_key FROM clients WHERE customer_id = (SELECT id FROM customers WHERE name = 'Contoso') LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("a client");
    let customer = app.login("contoso-portal").await;
    customer.get("/portal").await;
    let response = customer
        .post_form("/portal/clients", &[("client_key", &existing)])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.text("#client_key-error"),
        "You already have a client with this id."
    );
    let empty = customer.post_form("/portal/clients", &[("client_key", " ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Client ids differ by more than case: the agent's registration finds `LAPTOP-1` under
/// `laptop-1`, so the portal refuses the second as the admin's page does.
#[tokio::test]
async fn a_client_id_in_another_case_is_the_same_client() {
    let app = TestApp::demo().await;
    allot_room(&app, 5).await;
    let customer = app.login("contoso-portal").await;
    customer.get("/portal").await;
    let first = customer
        .post_form("/portal/clients", &[("client_key", "laptop-case")])
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let before = contoso_clients(&app).await;
    customer.get("/portal").await;
    let again = customer
        .post_form("/portal/clients", &[("client_key", "LAPTOP-Case")])
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
    assert_eq!(
        again.text("#client_key-error"),
        "You already have a client with this id."
    );
    assert_eq!(contoso_clients(&app).await, before, "nothing added");
}

#[tokio::test]
async fn max_clients_and_the_resellers_pool_also_refuse_a_client() {
    let app = TestApp::demo().await;
    let used = contoso_clients(&app).await;
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, max_clients = $1 WHERE name = 'Contoso'")
        .bind(used as i32)
        .execute(&app.db)
        .await
        .expect("cap");
    let customer = app.login("contoso-portal").await;
    assert!(
        customer
            .get("/portal")
            .await
            .text("#add-client-refused")
            .contains("at most")
    );
    sqlx::query("UPDATE customers SET max_clients = NULL WHERE name = 'Contoso'")
        .execute(&app.db)
        .await
        .expect("uncap");
    sqlx::query("UPDATE resellers SET mcal_pool = 0 WHERE name = 'Northwind Backup Services'")
        .execute(&app.db)
        .await
        .expect("empty pool");
    assert!(
        customer
            .get("/portal")
            .await
            .text("#add-client-refused")
            .contains("provider")
    );
    let refused = customer
        .post_form("/portal/clients", &[("client_key", "new-one")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(contoso_clients(&app).await, used);
}

#[tokio::test]
async fn a_change_made_while_logged_in_as_the_customer_names_the_admin_in_its_activity() {
    let app = TestApp::demo().await;
    allot_room(&app, 2).await;
    let admin = app.login("admin@northwind.example").await;
    let contoso = app.customer_id("Contoso").await.to_string();
    admin.get(&format!("/impersonation/new?customer={contoso}")).await;
    admin
        .post_form(
            "/impersonation",
            &[("customer_id", &contoso), ("reason", "Setting up a laptop")],
        )
        .await;
    let page = admin.get("/portal").await;
    assert!(
        page.texts("#change-password").is_empty(),
        "not the admin's password to change here"
    );
    let response = admin
        .post_form("/portal/clients", &[("client_key", "helpdesk-pc")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let (actor, impersonator, customer_id): (String, Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT actor_name, impersonator_name, customer_id FROM audit_log WHERE action = 'client_added'",
    )
    .fetch_one(&app.db)
    .await
    .expect("audited");
    assert_eq!(actor, "Admin (Northwind Backup Services)");
    assert_eq!(impersonator.as_deref(), Some("Admin (Northwind Backup Services)"));
    assert_eq!(customer_id, Some(app.customer_id("Contoso").await));
    let seen = app.login("contoso-portal").await.get("/portal").await;
    let activity = seen.texts("#activity tbody tr");
    assert!(
        activity.iter().any(|row| row.contains("Client added")
            && row.contains("helpdesk-pc")
            && row.contains("by Admin (Northwind Backup Services) while logged in as you")),
        "{activity:?}"
    );
    assert!(
        activity
            .iter()
            .any(|row| row.contains("Logged in as the customer") && row.contains("Setting up a laptop"))
    );
}

#[tokio::test]
async fn nothing_of_another_customer_shows_in_the_portal() {
    let app = TestApp::demo().await;
    sqlx::query(
        "INSERT INTO audit_log (at, actor_name, reseller_id, customer_id, action, object_kind) \
         SELECT now(), 'Someone', reseller_id, id, 'secret_change', 'customer' FROM customers WHERE name = 'Proseware'",
    )
    .execute(&app.db)
    .await
    .expect("arrange");
    let page = app.login("contoso-portal").await.get("/portal").await;
    assert!(!page.body.contains("secret_change"));
    assert!(!page.body.contains("Proseware"));
    assert!(!page.body.contains("Woodgrove"));
}

#[tokio::test]
async fn staff_and_anonymous_visitors_cannot_add_portal_clients() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(
        admin.post_form("/portal/clients", &[("client_key", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    let operator = app.login("operator").await;
    assert_eq!(operator.get("/portal").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.client().get("/portal").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn role_matrix() {
    let app = TestApp::demo().await;
    // operator, owner, admin, customer user, anonymous
    assert_eq!(
        crate::common::get_matrix(&app, "/portal").await,
        [403, 403, 403, 200, 303]
    );
    // Anonymous posts (with the login form's token) are sent to log in; nothing changes.
    let anonymous = app.client();
    anonymous.get("/login").await;
    assert_eq!(
        anonymous
            .post_form("/portal/clients", &[("client_key", "x")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn two_clients_racing_for_the_last_mcal_get_one() {
    let app = TestApp::demo().await;
    allot_room(&app, 1).await;
    let before = contoso_clients(&app).await;
    let customer = app.login("contoso-portal").await;
    customer.get("/portal").await;
    let (a, b) = tokio::join!(
        customer.post_form("/portal/clients", &[("client_key", "racer-1")]),
        customer.post_form("/portal/clients", &[("client_key", "racer-2")]),
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![303, 409]);
    assert_eq!(contoso_clients(&app).await, before + 1);
}
