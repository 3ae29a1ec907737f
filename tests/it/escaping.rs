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
