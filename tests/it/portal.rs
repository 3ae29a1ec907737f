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
