//! Two-factor authentication: enrolment, the login's second step, recovery codes, the
//! reseller-wide requirement.

use axum::http::StatusCode;
use chrono::Duration;
use msp_portal::auth::two_factor::current_code;

use crate::common::{DEMO_PASSWORD, TestApp, TestClient};

const ADMIN: &str = "admin@northwind.example";

/// A code that is not `code` (the next one round the dial).
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| char::from_digit((c.to_digit(10).unwrap_or(0) + 1) % 10, 10).unwrap_or('0'))
        .collect()
}

/// Enrols the logged-in client's user; returns its secret and recovery codes.
async fn enrol(app: &TestApp, client: &TestClient) -> (String, Vec<String>) {
    let page = client.get("/account/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    let setup = client.post_form("/account/two-factor/setup", &[]).await;
    assert_eq!(setup.status, StatusCode::SEE_OTHER);
    let page = client.get("/account/two-factor").await;
    let qr = page.attrs("img.qr-code", "src");
    assert!(
        qr.first()
            .is_some_and(|src| src.starts_with("data:image/svg+xml;base64,")),
        "the QR code is drawn by the server: {qr:?}"
    );
    let secret = page.text("#totp-secret").replace(' ', "");
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let code = current_code(&secret, app.clock_now()).expect("secret decodes");

    let refused = client
        .post_form("/account/two-factor/confirm", &[("code", &wrong(&code))])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text("#code-error").contains("does not match"));

    let confirmed = client
        .post_form("/account/two-factor/confirm", &[("code", &code)])
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes = confirmed.texts("#recovery-codes li");
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Logs in with the password; the answer is the redirect to the second step.
async fn password_step(app: &TestApp, username: &str) -> TestClient {
    let client = app.client();
    let response = client.log_in(username, DEMO_PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location().as_deref(), Some("/login/two-factor"));
    assert!(
        client.cookie("msp_session").is_none(),
        "no session before the second factor"
    );
    let page = client.get("/login/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    client
}

#[tokio::test]
async fn an_enrolled_admin_logs_in_with_password_and_a_fresh_code_only() {
    let app = TestApp::demo().await;
    let (secret, _) = enrol(&app, &app.login(ADMIN).await).await;

    let client = password_step(&app, ADMIN).await;
    assert_eq!(client.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    let code = current_code(&secret, app.clock_now()).expect("code");
    let wrong_answer = client.post_form("/login/two-factor", &[("code", &wrong(&code))]).await;
    assert_eq!(wrong_answer.status, StatusCode::UNAUTHORIZED);
    // The code that confirmed the enrolment was spent: it does not log in within its window.
    let replayed = client.post_form("/login/two-factor", &[("code", &code)]).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED, "a code is good once");

    app.clock.advance(Duration::seconds(30));
    let code = current_code(&secret, app.clock_now()).expect("code");
    let answer = client.post_form("/login/two-factor", &[("code", &code)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location().as_deref(), Some("/dashboard"));
    assert!(client.cookie("msp_login_challenge").is_none());
    assert_eq!(client.get("/dashboard").await.status, StatusCode::OK);

    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'two_factor_enabled'")
        .fetch_one(&app.db)
        .await
        .expect("audit");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_recovery_code_logs_in_once() {
    let app = TestApp::demo().await;
    let (_, codes) = enrol(&app, &app.login(ADMIN).await).await;
    let first = password_step(&app, ADMIN).await;
    let typed = codes[3].to_uppercase();
    let answer = first.post_form("/login/two-factor", &[("code", &typed)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(first.get("/dashboard").await.status, StatusCode::OK);

    let second = password_step(&app, ADMIN).await;
    let again = second.post_form("/login/two-factor", &[("code", &codes[3])]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a spent recovery code");
    let page = first.get("/account/two-factor").await;
    assert!(
        page.body.contains("9 unused recovery code"),
        "{}",
        page.text("#two-factor")
    );
}

#[tokio::test]
async fn five_wrong_codes_send_the_login_back_to_the_start() {
    let app = TestApp::demo().await;
    let (secret, _) = enrol(&app, &app.login(ADMIN).await).await;
    let client = password_step(&app, ADMIN).await;
    for _ in 0..4 {
        let answer = client.post_form("/login/two-factor", &[("code", "000000")]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let last = client.post_form("/login/two-factor", &[("code", "000000")]).await;
    assert_eq!(last.status, StatusCode::SEE_OTHER);
    assert_eq!(last.location().as_deref(), Some("/login"));
    app.clock.advance(Duration::seconds(30));
    let code = current_code(&secret, app.clock_now()).expect("code");
    let too_late = client.post_form("/login/two-factor", &[("code", &code)]).await;
    assert_eq!(too_late.location().as_deref(), Some("/login"), "the challenge is gone");
    assert!(client.cookie("msp_session").is_none());
}

#[tokio::test]
async fn a_right_password_does_not_forgive_the_wrong_codes_before_it() {
    let app = TestApp::demo().await;
    enrol(&app, &app.login(ADMIN).await).await;
    let client = password_step(&app, ADMIN).await;
    for _ in 0..4 {
        let answer = client.post_form("/login/two-factor", &[("code", "000000")]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // The password again: right, but four wrong codes still stand against the username.
    let again = password_step(&app, ADMIN).await;
    let fifth = again.post_form("/login/two-factor", &[("code", "000000")]).await;
    assert_eq!(fifth.status, StatusCode::UNAUTHORIZED);
    let locked = app.client().log_in(ADMIN, DEMO_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_waiting_login_expires_after_five_minutes() {
    let app = TestApp::demo().await;
    let (secret, _) = enrol(&app, &app.login(ADMIN).await).await;
    let client = password_step(&app, ADMIN).await;
    app.clock.advance(Duration::minutes(6));
    let code = current_code(&secret, app.clock_now()).expect("code");
    let answer = client.post_form("/login/two-factor", &[("code", &code)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location().as_deref(), Some("/login"));
    assert!(client.cookie("msp_session").is_none());
}

#[tokio::test]
async fn the_second_step_without_a_password_first_goes_back_to_login() {
    let app = TestApp::demo().await;
    let client = app.client();
    let page = client.get("/login/two-factor").await;
    assert_eq!(page.location().as_deref(), Some("/login"));
    client.set_cookie("msp_login_challenge", "forged");
    client.get("/login").await;
    let answer = client.post_form("/login/two-factor", &[("code", "123456")]).await;
    assert_eq!(answer.location().as_deref(), Some("/login"));
    assert!(client.cookie("msp_session").is_none());
}

#[tokio::test]
async fn turning_it_off_takes_the_password() {
    let app = TestApp::demo().await;
    let client = app.login(ADMIN).await;
    enrol(&app, &client).await;
    let refused = client
        .post_form("/account/two-factor/disable", &[("password", "wrong")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let off = client
        .post_form("/account/two-factor/disable", &[("password", DEMO_PASSWORD)])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let plain = app.client().log_in(ADMIN, DEMO_PASSWORD).await;
    assert_eq!(
        plain.location().as_deref(),
        Some("/dashboard"),
        "the password alone again"
    );
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_ones() {
    let app = TestApp::demo().await;
    let client = app.login(ADMIN).await;
    let (secret, old) = enrol(&app, &client).await;
    let refused = client
        .post_form("/account/two-factor/recovery-codes", &[("code", "12")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.clock.advance(Duration::seconds(30));
    let code = current_code(&secret, app.clock_now()).expect("code");
    let renewed = client
        .post_form("/account/two-factor/recovery-codes", &[("code", &code)])
        .await;
    assert_eq!(renewed.status, StatusCode::OK);
    let fresh = renewed.texts("#recovery-codes li");
    assert_eq!(fresh.len(), 10);
    let login = password_step(&app, ADMIN).await;
    let stale = login.post_form("/login/two-factor", &[("code", &old[0])]).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED, "old codes stop working");
    let ok = login.post_form("/login/two-factor", &[("code", &fresh[0])]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_reseller_that_requires_it_sends_its_staff_to_enrol_first() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    owner.get("/admins").await;
    let required = owner.post_form("/admins/two-factor", &[("required", "yes")]).await;
    assert_eq!(required.status, StatusCode::SEE_OTHER);

    // The owner's own next page is the enrolment; so is the admin's, right after its login.
    let page = owner.get("/dashboard").await;
    assert_eq!(page.location().as_deref(), Some("/account/two-factor"));
    let admin = app.client();
    admin.log_in(ADMIN, DEMO_PASSWORD).await;
    let page = admin.get("/customers").await;
    assert_eq!(page.location().as_deref(), Some("/account/two-factor"));
    let enrol_page = admin.get("/account/two-factor").await;
    assert!(enrol_page.body.contains("requires two-factor authentication"));
    let blocked = admin.post_form("/customers/new", &[("name", "Sneaky")]).await;
    assert_eq!(blocked.location().as_deref(), Some("/account/two-factor"));

    enrol(&app, &admin).await;
    assert_eq!(admin.get("/customers").await.status, StatusCode::OK);
    let off = admin
        .post_form("/account/two-factor/disable", &[("password", DEMO_PASSWORD)])
        .await;
    assert_eq!(off.location().as_deref(), Some("/account/two-factor"));
    let still_on: bool = sqlx::query_scalar("SELECT totp_secret IS NOT NULL FROM users WHERE username = $1")
        .bind(ADMIN)
        .fetch_one(&app.db)
        .await
        .expect("user");
    assert!(still_on, "a required second factor cannot be turned off");

    // Other resellers' staff are not affected.
    let other = app.login("admin@fabrikam.example").await;
    assert_eq!(other.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn only_the_owner_sets_the_requirement_and_only_yes_or_no() {
    let app = TestApp::demo().await;
    let admin = app.login(ADMIN).await;
    admin.get("/dashboard").await;
    let refused = admin.post_form("/admins/two-factor", &[("required", "yes")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let owner = app.login("owner@northwind.example").await;
    owner.get("/admins").await;
    let bad = owner.post_form("/admins/two-factor", &[("required", "maybe")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let stored: bool =
        sqlx::query_scalar("SELECT require_two_factor FROM resellers WHERE name = 'Northwind Backup Services'")
            .fetch_one(&app.db)
            .await
            .expect("reseller");
    assert!(!stored);
}
