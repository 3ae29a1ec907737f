//! Two app instances on one database, as behind a load balancer: a session begun on one is good
//! on the other, and ending it on one ends it on both.

use axum::http::StatusCode;

use crate::common::{DEMO_PASSWORD, TestApp};

#[tokio::test]
async fn a_session_started_on_one_instance_works_on_the_other_and_ends_on_both() {
    let app = TestApp::demo().await;
    let second = app.second_instance().await;
    let on_first = app.login("admin@northwind.example").await;
    let on_second = on_first.on(&second);
    assert_eq!(on_second.get("/dashboard").await.status, StatusCode::OK);
    // A form of the second instance posts with the session's token, wherever it was issued.
    let contoso = app.customer_id("Contoso").await;
    on_second.get(&format!("/customers/{contoso}")).await;
    let logout = on_second.post_form("/logout", &[]).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    let after = on_first.get("/dashboard").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().is_some_and(|l| l.starts_with("/login")));
}

#[tokio::test]
async fn logging_out_ends_the_users_sessions_on_every_device() {
    let app = TestApp::demo().await;
    let laptop = app.login("owner@northwind.example").await;
    let phone = app.login("owner@northwind.example").await;
    let colleague = app.login("admin@northwind.example").await;
    laptop.get("/dashboard").await;
    assert_eq!(laptop.post_form("/logout", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        colleague.get("/dashboard").await.status,
        StatusCode::OK,
        "other users keep theirs"
    );
    assert_eq!(
        app.client()
            .log_in("owner@northwind.example", DEMO_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}
