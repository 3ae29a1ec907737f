//! `/audit`: the audit log with before/after values, filters, pages and CSV.

use axum::http::StatusCode;

use crate::common::TestApp;

/// Records `count` rows for the customer named `customer`, one minute apart.
async fn arrange(app: &TestApp, customer: &str, action: &str, actor: &str, count: i32) {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_name, reseller_id, customer_id, action, object_kind, object_id, changes) \
         SELECT '2026-06-10T09:00:00Z'::timestamptz + make_interval(mins => n), $3, c.reseller_id, c.id, $2, 'customer', c.id::text, \
                jsonb_build_object('max_mau', jsonb_build_object('before', n, 'after', n + 1)) \
         FROM customers c, generate_series(1, $4) n WHERE c.name = $1",
    )
    .bind(customer)
    .bind(action)
    .bind(actor)
    .bind(count)
    .execute(&app.db)
    .await
    .expect("arrange audit rows");
}

#[tokio::test]
async fn an_owner_sees_its_resellers_rows_with_before_and_after_values() {
    let app = TestApp::demo().await;
    arrange(
        &app,
        "Contoso",
        "customer_updated",
        "Admin (Northwind Backup Services)",
        1,
    )
    .await;
    arrange(
        &app,
        "Woodgrove Bank",
        "customer_updated",
        "Admin (Fabrikam Managed IT)",
        1,
    )
    .await;
    let page = app.login("owner@northwind.example").await.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("#audit tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Contoso"));
    assert_eq!(page.text("#audit .changes dt"), "max_mau");
    assert_eq!(page.text("#audit .changes .before"), "1");
    assert_eq!(page.text("#audit .changes .after"), "2");
}

#[tokio::test]
async fn the_operator_sees_every_resellers_rows() {
    let app = TestApp::demo().await;
    arrange(&app, "Contoso", "customer_updated", "A", 1).await;
    arrange(&app, "Woodgrove Bank", "customer_updated", "B", 1).await;
    let page = app.login("operator").await.get("/audit").await;
    assert_eq!(page.texts("#audit tbody tr").len(), 2);
}

#[tokio::test]
async fn filters_narrow_by_action_object_customer_actor_and_dates() {
    let app = TestApp::demo().await;
    arrange(&app, "Contoso", "customer_updated", "Alice Admin", 3).await;
    arrange(&app, "Proseware", "client_added", "Bob Builder", 2).await;
    let owner = app.login("owner@northwind.example").await;
    assert_eq!(
        owner
            .get("/audit?action=client_added")
            .await
            .texts("#audit tbody tr")
            .len(),
        2
    );
    assert_eq!(owner.get("/audit?actor=alice").await.texts("#audit tbody tr").len(), 3);
    let contoso = app.customer_id("Contoso").await;
    assert_eq!(
        owner
            .get(&format!("/audit?customer={contoso}"))
            .await
            .texts("#audit tbody tr")
            .len(),
        3
    );
    assert_eq!(
        owner
            .get(&format!("/audit?object=customer&object_id={contoso}"))
            .await
            .texts("#audit tbody tr")
            .len(),
        3
    );
    assert_eq!(
        owner
            .get("/audit?from=2026-06-10&to=2026-06-10")
            .await
            .texts("#audit tbody tr")
            .len(),
        5
    );
    assert!(
        owner
            .get("/audit?to=2026-06-09")
            .await
            .texts("#audit tbody tr")
            .is_empty()
    );
    assert_eq!(owner.get("/audit?from=yesterday").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(owner.get("/audit?customer=x").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pages_continue_where_the_last_one_ended_and_csv_has_every_row() {
    let app = TestApp::demo().await;
    arrange(&app, "Contoso", "customer_updated", "Alice", 60).await;
    let owner = app.login("owner@northwind.example").await;
    let first = owner.get("/audit").await;
    let mut ids = first.attrs("#audit tbody tr", "data-id");
    assert_eq!(ids.len(), 50);
    let next = first.attrs("a[rel=next]", "href");
    let second = owner.get(&next[0]).await;
    ids.extend(second.attrs("#audit tbody tr", "data-id"));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60);
    let csv = owner.get("/audit?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), 61);
    assert!(csv.body.contains("max_mau: 1 → 2"));
}

#[tokio::test]
async fn admins_customers_and_anonymous_visitors_may_not_read_the_audit_log() {
    let app = TestApp::demo().await;
    for who in ["admin@northwind.example", "contoso-portal"] {
        let client = app.login(who).await;
        assert_eq!(client.get("/audit").await.status, StatusCode::FORBIDDEN, "{who}");
    }
    assert_eq!(app.client().get("/audit").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logging_in_as_a_customer_shows_who_and_why() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let contoso = app.customer_id("Contoso").await.to_string();
    admin.get(&format!("/impersonation/new?customer={contoso}")).await;
    admin
        .post_form("/impersonation", &[("customer_id", &contoso), ("reason", "Ticket 12")])
        .await;
    admin.get("/portal").await;
    admin.post_form("/impersonation/end", &[]).await;
    let page = app
        .login("owner@northwind.example")
        .await
        .get("/audit?action=impersonation_started")
        .await;
    let row = page.text("#audit tbody tr");
    assert!(
        row.contains("Admin (Northwind Backup Services)") && row.contains("Ticket 12"),
        "{row}"
    );
}

#[tokio::test]
async fn role_matrix() {
    let app = TestApp::demo().await;
    // operator, owner, admin, customer user, anonymous
    for path in [
        "/audit",
        "/audit?format=csv",
        "/audit?action=customer_updated&from=2026-06-01",
    ] {
        assert_eq!(
            crate::common::get_matrix(&app, path).await,
            [200, 200, 403, 403, 303],
            "{path}"
        );
    }
}
