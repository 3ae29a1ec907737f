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

/// No allotment and no maximum: the customer draws MCALs from its reseller's pool.
async fn lift_client_limits(app: &TestApp, customer: i64) {
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, max_clients = NULL WHERE id = $1")
        .bind(customer)
        .execute(&app.db)
        .await
        .expect("arrange");
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
    lift_client_limits(&app, contoso).await;
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
    lift_client_limits(&app, contoso).await;
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
    lift_client_limits(&app, contoso).await;
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

/// Whoever adds a client (an admin, the customer in its portal, an agent registering) takes the
/// pool's one lock: while another transaction holds it, having just taken the pool's last MCAL for
/// another customer, each of them waits, and is then refused.
#[tokio::test]
async fn the_pools_last_mcal_goes_once_whoever_adds_the_client() {
    for adder in ["admin", "portal", "agent"] {
        let app = TestApp::demo().await;
        let contoso = app.customer_id("Contoso").await;
        let northwind = app.reseller_id("Northwind Backup Services").await;
        let other: i64 = count(
            &app,
            "SELECT min(id) FROM customers WHERE reseller_id = $1 AND name <> 'Contoso' AND lifecycle = 'active'",
            northwind,
        )
        .await;
        for customer in [contoso, other] {
            lift_client_limits(&app, customer).await;
        }
        sqlx::query("UPDATE customers SET space_quota_bytes = NULL, auto_authorize = true WHERE id = $1")
            .bind(contoso)
            .execute(&app.db)
            .await
            .expect("arrange");
        sqlx::query(
            "UPDATE resellers SET mcal_pool = (SELECT count(*) + 1 FROM clients k JOIN customers c ON c.id = k.customer_id \
                                              WHERE c.reseller_id = $1 AND c.mcals_allotted IS NULL AND c.lifecycle <> 'deleted') \
             WHERE id = $1",
        )
        .bind(northwind)
        .execute(&app.db)
        .await
        .expect("one MCAL left in the pool");
        let before = clients_of(&app, contoso).await;

        let mut holder = app.db.begin().await.expect("begin");
        sqlx::query("SELECT set_config('app.scope', 'operator', true)")
            .execute(&mut *holder)
            .await
            .expect("the operator's scope");
        sqlx::query("SELECT * FROM lock_mcal_pool($1)")
            .bind(northwind)
            .execute(&mut *holder)
            .await
            .expect("the pool's lock");
        sqlx::query(
            "INSERT INTO clients (reseller_id, customer_id, client_key, created_by, created_at) \
             VALUES ($1, $2, 'TAKES-THE-LAST-MCAL', 'admin', now())",
        )
        .bind(northwind)
        .bind(other)
        .execute(&mut *holder)
        .await
        .expect("the last MCAL taken");
        let adding = match adder {
            "admin" => {
                let admin = app.login("admin@northwind.example").await;
                admin.get("/customers").await;
                let path = format!("/customers/{contoso}/clients/new");
                tokio::spawn(async move { admin.post_form(&path, &[("client_key", "ONE-MORE")]).await })
            }
            "portal" => {
                let customer = app.login("contoso-portal").await;
                customer.get("/portal").await;
                tokio::spawn(async move {
                    customer
                        .post_form("/portal/clients", &[("client_key", "ONE-MORE")])
                        .await
                })
            }
            _ => {
                let agent = app.client();
                let body = serde_json::json!({
                    "customer": "Contoso", "pass_key": msp_portal::seed::demo_pass_key("Contoso"), "client_id": "ONE-MORE",
                });
                tokio::spawn(async move {
                    agent
                        .send(
                            axum::http::Method::POST,
                            "/api/v1/register",
                            Some(body.to_string()),
                            &[("content-type", "application/json")],
                        )
                        .await
                })
            }
        };
        app.until_a_statement_waits_for_a_lock().await;
        holder.commit().await.expect("commit");
        let response = adding.await.expect("the adder's task");
        let expected = match adder {
            "admin" => StatusCode::UNPROCESSABLE_ENTITY,
            "portal" => StatusCode::CONFLICT,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(response.status, expected, "{adder}: {}", response.body);
        if adder == "agent" {
            assert!(response.body.contains("mcal_pool_used_up"), "{}", response.body);
        }
        assert_eq!(clients_of(&app, contoso).await, before, "{adder}: nothing added");
    }
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

async fn client_status(app: &TestApp, client_key: &str) -> (i64, String) {
    sqlx::query_as("SELECT id, status FROM clients WHERE client_key = $1")
        .bind(client_key)
        .fetch_one(&app.db)
        .await
        .expect("client")
}

fn one_job(id: &str) -> serde_json::Value {
    serde_json::json!({"jobs": [{"id": id, "kind": "backup", "started_at": "2026-06-15T08:00:00Z",
                                 "ended_at": "2026-06-15T09:00:00Z", "status": "succeeded", "bytes": 10}]})
}

fn code_of(response: &crate::common::TestResponse) -> String {
    let value: serde_json::Value = serde_json::from_str(&response.body).expect("JSON");
    value["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_disabled_client_is_refused_until_it_is_enabled_again() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let token = app.agent_token("Contoso", "DESK-7").await;
    let (client, status) = client_status(&app, "DESK-7").await;
    assert_eq!(status, "online");
    let audited = |action: &'static str| {
        let app = &app;
        async move {
            count(
                app,
                &format!("SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = '{action}'"),
                contoso,
            )
            .await
        }
    };
    let admin = app.login("admin@northwind.example").await;

    let confirm = admin
        .get(&format!("/customers/{contoso}/clients/{client}/disable"))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text("h1").starts_with("Disable client DESK-7"));
    assert_eq!(
        client_status(&app, "DESK-7").await.1,
        "online",
        "asking changes nothing"
    );
    let disabled = admin
        .post_form(&format!("/customers/{contoso}/clients/{client}/disable"), &[])
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.body);
    assert_eq!(client_status(&app, "DESK-7").await.1, "disabled");
    assert_eq!(audited("client_disabled").await, 1);
    let page = admin.get(&format!("/customers/{contoso}/clients")).await;
    assert!(page.text(".flash").contains("was disabled"));
    assert!(
        page.text(&format!("tr[data-client=\"{client}\"] td.status"))
            .contains("disabled")
    );
    assert!(
        page.text(&format!("tr[data-client=\"{client}\"] .row-actions"))
            .contains("Enable client DESK-7")
    );

    // Its agent: a report of jobs alone (stored in batches), a report with more than jobs (stored
    // alone) and a registration are all refused, and none of them changes anything.
    let jobs_before = count(&app, "SELECT count(*) FROM backup_jobs WHERE customer_id = $1", contoso).await;
    let report = app.post_report(&token, &one_job("after-disable")).await;
    assert_eq!(report.status, StatusCode::FORBIDDEN, "{}", report.body);
    assert_eq!(code_of(&report), "client_disabled");
    let mut fuller = one_job("after-disable-2");
    fuller["connectors"] =
        serde_json::json!([{"name": "Disabled's mail", "kind": "microsoft_365", "health": "healthy"}]);
    let report = app.post_report(&token, &fuller).await;
    assert_eq!(report.status, StatusCode::FORBIDDEN, "{}", report.body);
    assert_eq!(code_of(&report), "client_disabled");
    assert_eq!(
        count(&app, "SELECT count(*) FROM backup_jobs WHERE customer_id = $1", contoso).await,
        jobs_before
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM connectors WHERE customer_id = $1 AND name = 'Disabled''s mail'",
            contoso
        )
        .await,
        0
    );
    let register = app
        .client()
        .send(
            axum::http::Method::POST,
            "/api/v1/register",
            Some(
                serde_json::json!({"customer": "Contoso", "pass_key": msp_portal::seed::demo_pass_key("Contoso"),
                                   "client_id": "desk-7"})
                .to_string(),
            ),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(register.status, StatusCode::FORBIDDEN, "{}", register.body);
    assert_eq!(code_of(&register), "client_disabled");
    assert_eq!(client_status(&app, "DESK-7").await.1, "disabled");

    // Disabling twice changes nothing more; its confirmation page sends the admin back.
    admin
        .post_form(&format!("/customers/{contoso}/clients/{client}/disable"), &[])
        .await;
    assert_eq!(audited("client_disabled").await, 1);
    let page = admin.get(&format!("/customers/{contoso}/clients")).await;
    assert!(page.text(".flash").contains("already disabled"));
    let again = admin
        .get(&format!("/customers/{contoso}/clients/{client}/disable"))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let page = admin.get(&format!("/customers/{contoso}/clients")).await;
    assert!(page.text(".flash").contains("already disabled"));

    let enabled = admin
        .post_form(&format!("/customers/{contoso}/clients/{client}/enable"), &[])
        .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        client_status(&app, "DESK-7").await.1,
        "offline",
        "it has reported before; online again when it next reports"
    );
    assert_eq!(audited("client_enabled").await, 1);
    let report = app.post_report(&token, &one_job("after-enable")).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert_eq!(client_status(&app, "DESK-7").await.1, "online");
}

#[tokio::test]
async fn a_client_that_never_reported_is_pending_again_when_enabled() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    lift_client_limits(&app, contoso).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let added = admin
        .post_form(
            &format!("/customers/{contoso}/clients/new"),
            &[("client_key", "SPARE-1")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let (client, status) = client_status(&app, "SPARE-1").await;
    assert_eq!(status, "pending");
    for (action, after) in [("disable", "disabled"), ("enable", "pending")] {
        let response = admin
            .post_form(&format!("/customers/{contoso}/clients/{client}/{action}"), &[])
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert_eq!(client_status(&app, "SPARE-1").await.1, after);
    }
    let bad = admin
        .post_form(&format!("/customers/{contoso}/clients/abc/disable"), &[])
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}
