//! `/healthz`, headers every page carries, unknown routes.

use axum::http::StatusCode;

use crate::common::{DEMO_PASSWORD, TestApp};

#[tokio::test]
async fn healthz_reports_a_reachable_database() {
    let app = TestApp::new().await;
    let response = app.client().get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&response.body).expect("json");
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn healthz_reports_a_closed_pool_as_unavailable() {
    let app = TestApp::new().await;
    app.app_db.close().await;
    let response = app.client().get("/healthz").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = TestApp::new().await;
    let response = app.client().get("/login").await;
    let csp = response
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(
        response
            .headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page() {
    let app = TestApp::new().await;
    let response = app.client().get("/no/such/page").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.text("h1"), "Not found");
}

#[tokio::test]
async fn static_assets_are_served() {
    let app = TestApp::new().await;
    let css = app.client().get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains(".topbar"));
}

/// Behind https every cookie is `Secure`: the session and login cookies always were, the flash
/// cookie (set on logging out, cleared on the next page) was not.
#[tokio::test]
async fn behind_https_every_cookie_is_secure() {
    let app = TestApp::demo().await;
    let browser = app.client_behind_https();
    let mut cookies = Vec::new();
    let form = browser.get("/login").await;
    assert!(
        form.headers.contains_key("strict-transport-security"),
        "HSTS behind https"
    );
    cookies.extend(form.set_cookies());
    let login = browser
        .post_form(
            "/login",
            &[
                ("username", "owner@northwind.example"),
                ("password", DEMO_PASSWORD),
                ("next", ""),
            ],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    cookies.extend(login.set_cookies());
    browser.get("/dashboard").await;
    let logout = browser.post_form("/logout", &[]).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    cookies.extend(logout.set_cookies());
    let after = browser.get("/login").await;
    cookies.extend(after.set_cookies());
    for name in ["msp_login_csrf=", "msp_session=", "msp_flash="] {
        assert!(cookies.iter().any(|c| c.starts_with(name)), "{name} set: {cookies:?}");
    }
    for cookie in &cookies {
        assert!(cookie.ends_with("; Secure"), "{cookie}");
        assert_eq!(cookie.matches("Secure").count(), 1, "{cookie}");
    }
}
