//! Names are data, never markup: a customer, connector and contact named like a script show as
//! text on every page that shows names.

use axum::http::StatusCode;

use crate::common::TestApp;

const EVIL: &str = "<script>alert(1)</script>";

#[tokio::test]
async fn a_customer_named_like_a_script_is_escaped_on_every_page() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    for sql in [
        "UPDATE customers SET name = $2, legal_name = $2, city = $2 WHERE id = $1",
        "UPDATE connectors SET name = $2 || ' ' || id, health = 'critical', health_reason = $2 WHERE customer_id = $1",
        "UPDATE contacts SET name = $2 WHERE customer_id = $1",
        "UPDATE clients SET hostname = $2, client_key = $2 || id WHERE customer_id = $1",
        "UPDATE alerts SET message = $2 WHERE customer_id = $1",
    ] {
        sqlx::query(sql)
            .bind(contoso)
            .bind(EVIL)
            .execute(&app.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let pages = [
        ("owner@northwind.example", "/dashboard/critical".to_string()),
        ("owner@northwind.example", "/dashboard/exceeding".to_string()),
        ("owner@northwind.example", "/customers".to_string()),
        ("owner@northwind.example", format!("/customers/{contoso}")),
        ("owner@northwind.example", format!("/customers/{contoso}/sla")),
        ("owner@northwind.example", format!("/customers/{contoso}/edit")),
        ("owner@northwind.example", format!("/customers/{contoso}/clients")),
        ("owner@northwind.example", format!("/customers/{contoso}/seat-limits")),
        ("owner@northwind.example", "/organizations".to_string()),
        ("owner@northwind.example", "/alerts".to_string()),
        ("owner@northwind.example", "/license".to_string()),
        ("owner@northwind.example", "/space".to_string()),
        ("operator", "/dashboard/critical".to_string()),
        ("operator", "/customers".to_string()),
        ("contoso-portal", "/portal".to_string()),
    ];
    for (user, path) in pages {
        let page = app.login(user).await.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{user} {path}");
        assert!(!page.body.contains(EVIL), "{user} {path} shows the name as markup");
    }
    let csv = app
        .login("owner@northwind.example")
        .await
        .get("/dashboard/critical?format=csv")
        .await;
    assert!(csv.body.contains(EVIL), "a CSV carries the text itself");
}

/// Wapiti's scan (docs/security.md) sent a NUL character in search boxes and filters. PostgreSQL
/// cannot store or compare it in text, and the pages answered 500 with an error in the log; such
/// input is the sender's mistake and gets a 400 page.
#[tokio::test]
async fn a_nul_character_in_a_search_or_a_form_is_a_bad_request_not_a_server_error() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let owner = app.login("owner@northwind.example").await;
    for path in [
        "/customers?q=a%00b",
        "/dashboard/critical?q=%00",
        "/dashboard/expiring?q=%00",
        "/dashboard/exceeding?q=%00",
        "/organizations?q=%00",
        "/audit?object_id=%00",
    ] {
        let page = owner.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}: {}", page.body);
        assert!(page.body.contains("not allowed"), "{path}: {}", page.body);
    }
    owner.get(&format!("/customers/{contoso}/contacts/new")).await;
    let added = owner
        .post_form(
            &format!("/customers/{contoso}/contacts"),
            &[("name", "Ada\0Park"), ("email", "ada@contoso.example"), ("phone", "")],
        )
        .await;
    assert!(
        added.status == StatusCode::BAD_REQUEST || added.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}: {}",
        added.status,
        added.body
    );
}
