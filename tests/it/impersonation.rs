//! `/impersonation`: "log in as" a customer, its rights, its time limit and its audit trail.

use axum::http::StatusCode;
use chrono::Duration;
use msp_portal::clock::Clock;

use crate::common::{TestApp, TestClient};

async fn start(app: &TestApp, who: &str, customer: &str) -> TestClient {
    let client = app.login(who).await;
    let id = app.customer_id(customer).await.to_string();
    let form = client.get(&format!("/impersonation/new?customer={id}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let response = client
        .post_form(
            "/impersonation",
            &[("customer_id", &id), ("reason", "Ticket 4711: restore help")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location().as_deref(), Some("/portal"));
    client
}

async fn audit_actions(app: &TestApp, customer: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT action, actor_name, reason FROM audit_log WHERE customer_id = (SELECT id FROM customers WHERE name = $1) \
         AND action LIKE 'impersonation%' ORDER BY id",
    )
    .bind(customer)
    .fetch_all(&app.db)
    .await
    .expect("audit rows")
}

#[tokio::test]
async fn the_form_asks_for_a_reason_and_names_the_customer() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let id = app.customer_id("Contoso").await;
    let page = admin.get(&format!("/impersonation/new?customer={id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text("main h1"), "Log in as Contoso");
    assert_eq!(page.attrs("textarea[name=reason][required]", "name").len(), 1);
}

#[tokio::test]
async fn a_missing_reason_is_refused_and_nothing_starts() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let id = app.customer_id("Contoso").await.to_string();
    admin.get(&format!("/impersonation/new?customer={id}")).await;
    let response = admin
        .post_form("/impersonation", &[("customer_id", &id), ("reason", "   ")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.text("#reason-error"), "This field is required.");
    assert!(audit_actions(&app, "Contoso").await.is_empty());
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::OK, "still the admin");
}

#[tokio::test]
async fn an_admin_logged_in_as_a_customer_sees_its_portal_with_a_banner() {
    let app = TestApp::demo().await;
    let client = start(&app, "admin@northwind.example", "Contoso").await;
    let portal = client.get("/portal").await;
    assert_eq!(portal.status, StatusCode::OK);
    assert_eq!(portal.text("main h1"), "Contoso");
    assert!(portal.text(".banner-impersonation").contains("Contoso"));
    assert_eq!(
        portal.attrs(".banner-impersonation form", "action"),
        vec!["/impersonation/end".to_string()]
    );
    let rows = audit_actions(&app, "Contoso").await;
    assert_eq!(
        rows,
        vec![(
            "impersonation_started".to_string(),
            "Admin (Northwind Backup Services)".to_string(),
            "Ticket 4711: restore help".to_string()
        )]
    );
}

#[tokio::test]
async fn while_logged_in_as_a_customer_admin_pages_are_forbidden() {
    let app = TestApp::demo().await;
    let client = start(&app, "owner@northwind.example", "Contoso").await;
    for path in [
        "/dashboard",
        "/organizations",
        "/organizations/new",
        "/admins",
        "/license",
    ] {
        assert_eq!(client.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let other = app.customer_id("Proseware").await;
    assert_eq!(
        client.get(&format!("/impersonation/new?customer={other}")).await.status,
        StatusCode::FORBIDDEN,
        "no logging in as another customer from inside one"
    );
    assert_eq!(client.get("/account/password").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn exit_returns_the_admin_to_its_own_session_and_is_audited() {
    let app = TestApp::demo().await;
    let client = start(&app, "admin@northwind.example", "Contoso").await;
    app.clock.advance(Duration::minutes(7));
    let response = client.post_form("/impersonation/end", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location().as_deref(), Some("/dashboard"));
    let dashboard = client.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.texts(".banner-impersonation").is_empty());
    assert_eq!(client.get("/portal").await.status, StatusCode::FORBIDDEN);
    let rows = audit_actions(&app, "Contoso").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].0, "impersonation_ended");
    assert_eq!(rows[1].2, "Ticket 4711: restore help");
    let (ended_by, minutes): (String, i64) = sqlx::query_as(
        "SELECT changes->'ended_by'->>'after', (changes->'minutes'->>'after')::bigint FROM audit_log \
         WHERE action = 'impersonation_ended'",
    )
    .fetch_one(&app.db)
    .await
    .expect("end row");
    assert_eq!((ended_by.as_str(), minutes), ("exit", 7));
}

#[tokio::test]
async fn the_impersonation_ends_by_itself_after_thirty_minutes_and_the_end_is_audited() {
    let app = TestApp::demo().await;
    let client = start(&app, "admin@northwind.example", "Contoso").await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        client.get("/portal").await.status,
        StatusCode::OK,
        "still inside the limit"
    );
    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        client.get("/portal").await.status,
        StatusCode::FORBIDDEN,
        "back to admin rights"
    );
    assert_eq!(client.get("/dashboard").await.status, StatusCode::OK);
    client.get("/dashboard").await;
    let ended: Vec<(String,)> =
        sqlx::query_as("SELECT changes->'ended_by'->>'after' FROM audit_log WHERE action = 'impersonation_ended'")
            .fetch_all(&app.db)
            .await
            .expect("rows");
    assert_eq!(ended, vec![("time limit".to_string(),)], "recorded once");
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE impersonation_started_at IS NOT NULL")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(open, 0);
}

#[tokio::test]
async fn an_impersonation_left_idle_past_its_limit_is_ended_and_audited_by_the_engine() {
    let app = TestApp::demo().await;
    let client = start(&app, "admin@northwind.example", "Contoso").await;
    app.clock.advance(Duration::minutes(12));
    client.get("/portal").await;
    // The admin walks away: no request of the session comes again.
    app.clock.advance(Duration::minutes(40));
    app.tick().await;
    let ended: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT actor_name, changes->'ended_by'->>'after', (changes->'minutes'->>'after')::bigint, reason \
         FROM audit_log WHERE action = 'impersonation_ended' \
           AND customer_id = (SELECT id FROM customers WHERE name = 'Contoso')",
    )
    .fetch_all(&app.db)
    .await
    .expect("rows");
    assert_eq!(ended.len(), 1, "{ended:?}");
    let (actor, ended_by, minutes, reason) = &ended[0];
    assert!(!actor.is_empty());
    assert_eq!(
        (ended_by.as_str(), *minutes, reason.as_str()),
        ("time limit", 30, "Ticket 4711: restore help"),
        "it lasted until its limit, not until the engine noticed"
    );
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE impersonation_started_at IS NOT NULL")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(open, 0);
    // Neither a second tick nor the session's own next request records it again.
    app.tick().await;
    client.get("/dashboard").await;
    assert_eq!(audit_actions(&app, "Contoso").await.len(), 2);
}

/// One engine tick; then how and after how many minutes each recorded impersonation ended.
async fn tick_and_read_ends(app: &TestApp) -> Vec<(String, i64)> {
    app.tick().await;
    sqlx::query_as(
        "SELECT changes->'ended_by'->>'after', (changes->'minutes'->>'after')::bigint \
         FROM audit_log WHERE action = 'impersonation_ended' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .expect("rows")
}

/// Every session acting as a customer expires `minutes` from the test clock's now.
async fn expire_impersonating_sessions_in(app: &TestApp, minutes: i64) {
    sqlx::query("UPDATE sessions SET expires_at = $1 WHERE impersonation_started_at IS NOT NULL")
        .bind(app.clock.now() + Duration::minutes(minutes))
        .execute(&app.db)
        .await
        .expect("arrange");
}

/// Sessions past their expiry that housekeeping has not deleted.
async fn expired_sessions_left(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sessions WHERE expires_at <= $1")
        .bind(app.clock.now())
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn an_impersonation_whose_session_expires_first_is_recorded_as_ended_with_it() {
    let app = TestApp::demo().await;
    let _client = start(&app, "admin@northwind.example", "Contoso").await;
    expire_impersonating_sessions_in(&app, 5).await;
    app.clock.advance(Duration::minutes(45));
    let ended = tick_and_read_ends(&app).await;
    assert_eq!(ended, vec![("session expired".to_string(), 5)]);
    assert_eq!(expired_sessions_left(&app).await, 0, "and the expired session is gone");
}

#[tokio::test]
async fn logging_out_elsewhere_ends_an_impersonation_on_another_device_and_the_engine_records_it() {
    let app = TestApp::demo().await;
    let acting = start(&app, "admin@northwind.example", "Contoso").await;
    let elsewhere = app.login("admin@northwind.example").await;
    elsewhere.get("/dashboard").await;
    app.clock.advance(Duration::minutes(4));
    let out = elsewhere.post_form("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        acting.get("/portal").await.status,
        StatusCode::SEE_OTHER,
        "the session acting as the customer has ended too"
    );
    app.clock.advance(Duration::minutes(1));
    let ended = tick_and_read_ends(&app).await;
    assert_eq!(ended, vec![("session expired".to_string(), 4)]);
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'admin@northwind.example')",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(left, 0);
}

/// A browser whose session expired while acting as a customer logs in again before the engine's
/// housekeeping has recorded the end: the new session replaces the old one, whose impersonation is
/// still recorded as ended with it (deleted outright, it ended with no record).
#[tokio::test]
async fn logging_in_again_after_the_session_expired_still_records_the_impersonations_end() {
    let app = TestApp::demo().await;
    let acting = start(&app, "admin@northwind.example", "Contoso").await;
    let old_session = acting.cookie("msp_session").expect("a session");
    expire_impersonating_sessions_in(&app, 5).await;
    app.clock.advance(Duration::minutes(10));
    let again = acting.log_in("admin@northwind.example", "demo-password").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_ne!(acting.cookie("msp_session"), Some(old_session));
    let ended = tick_and_read_ends(&app).await;
    assert_eq!(ended, vec![("session expired".to_string(), 5)]);
}

/// A browser acting as a customer logs in again (a login form posted with its session's token):
/// the session it replaces stops at once, and its impersonation ends on the record.
#[tokio::test]
async fn logging_in_again_ends_the_old_sessions_impersonation_on_the_record() {
    let app = TestApp::demo().await;
    let acting = start(&app, "admin@northwind.example", "Contoso").await;
    let old_session = acting.cookie("msp_session").expect("a session");
    app.clock.advance(Duration::minutes(7));
    let again = acting
        .post_form(
            "/login",
            &[
                ("username", "admin@northwind.example"),
                ("password", "demo-password"),
                ("next", ""),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_ne!(acting.cookie("msp_session"), Some(old_session.clone()));
    let replaced = app.client();
    replaced.set_cookie("msp_session", &old_session);
    assert_eq!(
        replaced.get("/portal").await.status,
        StatusCode::SEE_OTHER,
        "the replaced session is over"
    );
    app.clock.advance(Duration::minutes(1));
    let ended = tick_and_read_ends(&app).await;
    assert_eq!(ended, vec![("session expired".to_string(), 7)]);
    assert_eq!(
        expired_sessions_left(&app).await,
        0,
        "and housekeeping deleted it once recorded"
    );
}

#[tokio::test]
async fn logging_out_while_logged_in_as_a_customer_records_the_end() {
    let app = TestApp::demo().await;
    let client = start(&app, "admin@northwind.example", "Contoso").await;
    client.get("/portal").await;
    let response = client.post_form("/logout", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let rows = audit_actions(&app, "Contoso").await;
    assert_eq!(rows.last().map(|r| r.0.as_str()), Some("impersonation_ended"));
}

#[tokio::test]
async fn a_reseller_admin_cannot_log_in_as_another_resellers_customer() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await.to_string();
    assert_eq!(
        admin
            .get(&format!("/impersonation/new?customer={woodgrove}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    admin.get("/dashboard").await;
    let response = admin
        .post_form("/impersonation", &[("customer_id", &woodgrove), ("reason", "curious")])
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(audit_actions(&app, "Woodgrove Bank").await.is_empty());
    assert_eq!(admin.get("/portal").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_operator_may_log_in_as_any_customer() {
    let app = TestApp::demo().await;
    let client = start(&app, "operator", "Woodgrove Bank").await;
    let portal = client.get("/portal").await;
    assert_eq!(portal.text("main h1"), "Woodgrove Bank");
    let reseller: Option<i64> =
        sqlx::query_scalar("SELECT reseller_id FROM audit_log WHERE action = 'impersonation_started'")
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_eq!(reseller, Some(app.reseller_id("Fabrikam Managed IT").await));
}

#[tokio::test]
async fn customer_users_and_anonymous_visitors_cannot_log_in_as_anyone() {
    let app = TestApp::demo().await;
    let id = app.customer_id("Contoso").await.to_string();
    let customer = app.login("contoso-portal").await;
    assert_eq!(
        customer.get(&format!("/impersonation/new?customer={id}")).await.status,
        StatusCode::FORBIDDEN
    );
    let response = customer
        .post_form("/impersonation", &[("customer_id", &id), ("reason", "x")])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let anonymous = app.client();
    let page = anonymous.get(&format!("/impersonation/new?customer={id}")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().unwrap_or_default().starts_with("/login"));
}

#[tokio::test]
async fn a_bad_customer_id_is_a_bad_request() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    assert_eq!(
        admin.get("/impersonation/new?customer=abc").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/impersonation/new?customer=99999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn role_matrix() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    // operator, owner, admin, customer user, anonymous
    let cases = [
        (
            format!("/impersonation/new?customer={contoso}"),
            [200, 200, 200, 403, 303],
        ),
        (
            format!("/impersonation/new?customer={woodgrove}"),
            [200, 404, 404, 403, 303],
        ),
    ];
    for (path, expected) in cases {
        assert_eq!(crate::common::get_matrix(&app, &path).await, expected, "{path}");
    }
    // Anonymous posts (with the login form's token) are sent to log in; nothing changes.
    let anonymous = app.client();
    anonymous.get("/login").await;
    let contoso = contoso.to_string();
    for (path, fields) in [
        (
            "/impersonation",
            vec![("customer_id", contoso.as_str()), ("reason", "x")],
        ),
        ("/impersonation/end", vec![]),
    ] {
        assert_eq!(
            anonymous.post_form(path, &fields).await.status,
            StatusCode::SEE_OTHER,
            "{path}"
        );
    }
    assert!(audit_actions(&app, "Contoso").await.is_empty());
}
