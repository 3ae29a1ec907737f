//! `/space`: resellers → customers → clients with MCALs, space and schedules; space limits edited
//! inline at every level; a client's bandwidth throttling.

use axum::http::StatusCode;

use crate::common::TestApp;

const GIB: i64 = 1 << 30;

async fn one_i64(app: &TestApp, sql: &str, id: i64) -> Option<i64> {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("query")
}

#[tokio::test]
async fn a_reseller_admin_sees_its_tree_with_clients_and_their_schedules() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let page = app.login("admin@northwind.example").await.get("/space").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.attrs("#space tbody tr[data-row]", "data-row");
    assert_eq!(rows.iter().filter(|r| r.starts_with("reseller-")).count(), 1);
    assert!(rows.contains(&format!("customer-{contoso}")));
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    assert!(!rows.contains(&format!("customer-{woodgrove}")));
    assert!(
        page.texts("#space td.schedules")
            .iter()
            .any(|s| s.contains("Daily files"))
    );
    assert!(
        page.attrs("form[action^=\"/space/resellers/\"]", "action").is_empty(),
        "only the operator sets a reseller's space"
    );
}

#[tokio::test]
async fn the_operator_opens_one_reseller_at_a_time() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    let all = operator.get("/space").await;
    let rows = all.attrs("#space tbody tr[data-row]", "data-row");
    assert!(rows.iter().all(|r| r.starts_with("reseller-")), "{rows:?}");
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let one = operator.get(&format!("/space?reseller={fabrikam}")).await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    assert!(
        one.attrs("#space tbody tr[data-row]", "data-row")
            .contains(&format!("customer-{woodgrove}"))
    );
    assert_eq!(operator.get("/space?reseller=x").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        operator.get("/space?reseller=999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_customer_quota_is_saved_inline_and_audited() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/space").await;
    let response = admin
        .post_form(&format!("/space/customers/{contoso}"), &[("gib", "250")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        one_i64(&app, "SELECT space_quota_bytes FROM customers WHERE id = $1", contoso).await,
        Some(250 * GIB)
    );
    let audited = one_i64(
        &app,
        "SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'customer_space_quota_changed'",
        contoso,
    )
    .await;
    assert_eq!(audited, Some(1));
    admin
        .post_form(&format!("/space/customers/{contoso}"), &[("gib", "")])
        .await;
    assert_eq!(
        one_i64(&app, "SELECT space_quota_bytes FROM customers WHERE id = $1", contoso).await,
        None
    );
}

#[tokio::test]
async fn a_customer_quota_beyond_the_resellers_free_space_is_refused() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let before = one_i64(&app, "SELECT space_quota_bytes FROM customers WHERE id = $1", contoso).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/space").await;
    // Northwind has 40 TiB in all.
    let response = admin
        .post_form(&format!("/space/customers/{contoso}"), &[("gib", "40960")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text(&format!("#error-customer-{contoso}"))
            .contains("left to allot")
    );
    assert_eq!(
        response.attrs(&format!("#gib-customer-{contoso}"), "value"),
        vec!["40960"]
    );
    assert_eq!(
        one_i64(&app, "SELECT space_quota_bytes FROM customers WHERE id = $1", contoso).await,
        before
    );
    let bad = admin
        .post_form(&format!("/space/customers/{contoso}"), &[("gib", "-1")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn client_limits_must_fit_in_the_customers_quota() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET space_quota_bytes = $2 WHERE id = $1")
        .bind(contoso)
        .bind(100 * GIB)
        .execute(&app.db)
        .await
        .expect("arrange");
    let clients: Vec<i64> = sqlx::query_scalar("SELECT id FROM clients WHERE customer_id = $1 ORDER BY id")
        .bind(contoso)
        .fetch_all(&app.db)
        .await
        .expect("clients");
    let admin = app.login("admin@northwind.example").await;
    admin.get("/space").await;
    let ok = admin
        .post_form(&format!("/space/clients/{}", clients[0]), &[("gib", "60")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let refused = admin
        .post_form(&format!("/space/clients/{}", clients[1]), &[("gib", "41")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text(&format!("#error-client-{}", clients[1]))
            .contains("40.0 GiB")
    );
    assert_eq!(
        one_i64(&app, "SELECT space_limit_bytes FROM clients WHERE id = $1", clients[1]).await,
        None
    );
    // Nor may the customer's quota drop below what its clients hold.
    let shrink = admin
        .post_form(&format!("/space/customers/{contoso}"), &[("gib", "50")])
        .await;
    assert_eq!(shrink.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        shrink
            .text(&format!("#error-customer-{contoso}"))
            .contains("Its clients already have")
    );
}

#[tokio::test]
async fn only_the_operator_sets_a_resellers_disk_space_and_never_below_its_customers() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let owner = app.login("owner@northwind.example").await;
    owner.get("/space").await;
    let response = owner
        .post_form(&format!("/space/resellers/{northwind}"), &[("gib", "999999")])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let operator = app.login("operator").await;
    operator.get("/space").await;
    let refused = operator
        .post_form(&format!("/space/resellers/{northwind}"), &[("gib", "1")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text(&format!("#error-reseller-{northwind}"))
            .contains("Its customers already have")
    );
    let ok = operator
        .post_form(&format!("/space/resellers/{northwind}"), &[("gib", "50000")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        one_i64(&app, "SELECT disk_space_bytes FROM resellers WHERE id = $1", northwind).await,
        Some(50000 * GIB)
    );
}

#[tokio::test]
async fn a_clients_throttling_overrides_its_customer_and_shows_where_it_comes_from() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query(
        "UPDATE customers SET bandwidth_throttling = '{\"enabled\": true, \"window\": null, \"off_on_weekends\": false, \"max_kbps\": 1000}' WHERE id = $1",
    )
    .bind(contoso)
    .execute(&app.db)
    .await
    .expect("arrange");
    let client: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE customer_id = $1 ORDER BY id LIMIT 1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("client");
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/space/clients/{client}/throttling")).await;
    assert!(
        page.text("#throttling-effective")
            .contains("1000 kbit/s, all day (set for the customer)")
    );
    let response = admin
        .post_form(
            &format!("/space/clients/{client}/throttling"),
            &[
                ("throttling_mode", "custom"),
                ("throttle_enabled", "on"),
                ("throttle_when", "always"),
                ("throttle_max_kbps", "300"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let page = admin.get(&format!("/space/clients/{client}/throttling")).await;
    assert!(
        page.text("#throttling-effective")
            .contains("300 kbit/s, all day (set for this client)")
    );
    let bad = admin
        .post_form(
            &format!("/space/clients/{client}/throttling"),
            &[
                ("throttling_mode", "custom"),
                ("throttle_enabled", "on"),
                ("throttle_when", "window"),
                ("throttle_from", "09:00"),
                ("throttle_to", "09:00"),
                ("throttle_max_kbps", "300"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.texts("#throttle_to-error").is_empty());
}

#[tokio::test]
async fn another_resellers_customers_and_clients_are_not_found_and_unchanged() {
    let app = TestApp::demo().await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let theirs: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE customer_id = $1 LIMIT 1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("client");
    let before = one_i64(&app, "SELECT space_quota_bytes FROM customers WHERE id = $1", woodgrove).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/space").await;
    assert_eq!(
        admin
            .post_form(&format!("/space/customers/{woodgrove}"), &[("gib", "1")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .post_form(&format!("/space/clients/{theirs}"), &[("gib", "1")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get(&format!("/space/clients/{theirs}/throttling")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .post_form(
                &format!("/space/clients/{theirs}/throttling"),
                &[("throttling_mode", "inherit")]
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        one_i64(&app, "SELECT space_quota_bytes FROM customers WHERE id = $1", woodgrove).await,
        before
    );
    assert_eq!(
        one_i64(&app, "SELECT space_limit_bytes FROM clients WHERE id = $1", theirs).await,
        None
    );
}

#[tokio::test]
async fn a_customer_user_may_not_open_the_space_page() {
    let app = TestApp::demo().await;
    let portal = app.login("contoso-portal").await;
    assert_eq!(portal.get("/space").await.status, StatusCode::FORBIDDEN);
}
