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

#[tokio::test]
async fn a_username_locked_on_one_instance_is_locked_on_the_other_and_after_a_restart() {
    let app = TestApp::demo().await;
    let second = app.second_instance().await;
    // The failures alternate between the instances: each saw fewer than the free attempts.
    for attempt in 0..5 {
        let client = if attempt % 2 == 0 {
            app.client().on(&second)
        } else {
            app.client()
        };
        let response = client.log_in("admin@northwind.example", "wrong-password").await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // The first, the second, and one started since (as after a restart).
    let restarted = app.second_instance().await;
    for client in [app.client(), app.client().on(&second), app.client().on(&restarted)] {
        let locked = client.log_in("admin@northwind.example", DEMO_PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(locked.text("#login-error").contains("Too many failed attempts"));
        assert!(locked.set_cookies().iter().all(|c| !c.starts_with("msp_session=")));
    }
    app.clock.advance(chrono::Duration::minutes(1));
    let after = app
        .client()
        .on(&second)
        .log_in("admin@northwind.example", DEMO_PASSWORD)
        .await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    // The success forgave the username everywhere: one more failure does not lock it again.
    let mistyped = app.client().log_in("admin@northwind.example", "wrong-password").await;
    assert_eq!(mistyped.status, StatusCode::UNAUTHORIZED);
    let again = app.client().log_in("admin@northwind.example", DEMO_PASSWORD).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_address_guessing_through_both_instances_is_locked_on_both() {
    let app = TestApp::demo().await;
    let second = app.second_instance().await;
    let guesser = "127.0.0.9:40000";
    for i in 0..20 {
        let client = app.client_from(guesser);
        let client = if i % 2 == 0 { client.on(&second) } else { client };
        let response = client
            .log_in(&format!("guess{i}@example.com"), "not-the-password")
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    for client in [app.client_from(guesser), app.client_from(guesser).on(&second)] {
        let locked = client.log_in("admin@northwind.example", DEMO_PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(locked.text("#login-error").contains("from your network"));
    }
    // What was typed as a username is not kept.
    let kept: Vec<String> = sqlx::query_scalar("SELECT key FROM login_throttle WHERE failures > 0 ORDER BY key")
        .fetch_all(&app.db)
        .await
        .expect("keys");
    assert_eq!(kept.len(), 21, "{kept:?}");
    assert!(kept.iter().all(|k| !k.contains("guess")), "{kept:?}");
    assert!(kept.contains(&"addr:127.0.0.9".to_string()), "{kept:?}");
}
