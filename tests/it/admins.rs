//! `/admins`: the reseller owner manages its admins.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn user_id(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .expect("user")
}

async fn actions(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'admin%' ORDER BY id")
        .fetch_all(&app.db)
        .await
        .expect("audit")
}

#[tokio::test]
async fn the_owner_sees_itself_and_its_admins_only() {
    let app = TestApp::demo().await;
    let page = app.login("owner@northwind.example").await.get("/admins").await;
    assert_eq!(page.status, StatusCode::OK);
    let usernames = page.texts("#admins tbody td:nth-child(2)");
    assert_eq!(usernames, vec!["owner@northwind.example", "admin@northwind.example"]);
}

#[tokio::test]
async fn only_the_owner_may_manage_admins() {
    let app = TestApp::demo().await;
    let admin_id = user_id(&app, "admin@northwind.example").await.to_string();
    for who in ["admin@northwind.example", "operator", "contoso-portal"] {
        let client = app.login(who).await;
        assert_eq!(client.get("/admins").await.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(client.get("/admins/new").await.status, StatusCode::FORBIDDEN, "{who}");
        let post = client.post_form(&format!("/admins/{admin_id}/disable"), &[]).await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{who}");
    }
    assert_eq!(app.client().get("/admins").await.status, StatusCode::SEE_OTHER);
    assert!(actions(&app).await.is_empty());
}

#[tokio::test]
async fn creating_an_admin_with_a_generated_password_shows_it_once_and_it_works() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    owner.get("/admins/new").await;
    let response = owner
        .post_form(
            "/admins",
            &[
                ("username", "Jo@Northwind.example"),
                ("display_name", "Jo Lee"),
                ("password_mode", "generate"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let password = response.text("#one-time-password");
    assert!(password.len() >= 12);
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE username = 'jo@northwind.example'")
        .fetch_one(&app.db)
        .await
        .expect("created");
    assert_eq!(role, "reseller_admin");
    let jo = app.client();
    assert_eq!(
        jo.log_in("jo@northwind.example", &password).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(actions(&app).await, vec!["admin_created"]);

    // A one-time password: every page leads to choosing one's own first.
    let first = jo.get("/dashboard").await;
    assert_eq!(first.location().as_deref(), Some("/account/password"));
    let form = jo.get("/account/password").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("one-time password"));
    let changed = jo
        .post_form(
            "/account/password",
            &[
                ("current_password", &password),
                ("new_password", "jo's very own password"),
                ("confirm_password", "jo's very own password"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(jo.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_chosen_password_must_have_twelve_characters() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    owner.get("/admins/new").await;
    let short = owner
        .post_form(
            "/admins",
            &[
                ("username", "kim@northwind.example"),
                ("display_name", "Kim"),
                ("password_mode", "choose"),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short.text("#new_password-error"), "Use at least 12 characters.");
    let ok = owner
        .post_form(
            "/admins",
            &[
                ("username", "kim@northwind.example"),
                ("display_name", "Kim"),
                ("password_mode", "choose"),
                ("new_password", "twelve-chars"),
                ("confirm_password", "twelve-chars"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.client()
            .log_in("kim@northwind.example", "twelve-chars")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let taken = owner
        .post_form(
            "/admins",
            &[
                ("username", "admin@fabrikam.example"),
                ("display_name", "Copy"),
                ("password_mode", "generate"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(taken.text("#username-error"), "That username is taken.");
}

#[tokio::test]
async fn disabling_an_admin_ends_its_sessions_and_re_enabling_lets_it_back() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let owner = app.login("owner@northwind.example").await;
    let id = user_id(&app, "admin@northwind.example").await;
    let confirm = owner.get(&format!("/admins/{id}/disable")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let response = owner.post_form(&format!("/admins/{id}/disable"), &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        admin.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "logged out"
    );
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(sessions, 0);
    assert_eq!(
        app.client()
            .log_in("admin@northwind.example", crate::common::DEMO_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "a disabled admin cannot log in"
    );
    owner.get("/admins").await;
    owner.post_form(&format!("/admins/{id}/enable"), &[]).await;
    app.login("admin@northwind.example").await;
    assert_eq!(actions(&app).await, vec!["admin_disabled", "admin_enabled"]);
}

#[tokio::test]
async fn the_owner_cannot_be_disabled_and_other_resellers_admins_are_not_found() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    let own = user_id(&app, "owner@northwind.example").await;
    let response = owner.post_form(&format!("/admins/{own}/disable"), &[]).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    let foreign = user_id(&app, "admin@fabrikam.example").await;
    owner.get("/admins").await;
    assert_eq!(
        owner.post_form(&format!("/admins/{foreign}/disable"), &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        owner.get(&format!("/admins/{foreign}/password")).await.status,
        StatusCode::NOT_FOUND
    );
    let portal_user = user_id(&app, "contoso-portal").await;
    assert_eq!(
        owner
            .post_form(&format!("/admins/{portal_user}/disable"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let disabled: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE disabled_at IS NOT NULL")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(disabled, 0);
}

#[tokio::test]
async fn resetting_a_password_shows_the_new_one_once_and_logs_the_admin_out() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let owner = app.login("owner@northwind.example").await;
    let id = user_id(&app, "admin@northwind.example").await;
    assert_eq!(
        owner.get(&format!("/admins/{id}/password")).await.status,
        StatusCode::OK
    );
    let response = owner
        .post_form(&format!("/admins/{id}/password"), &[("password_mode", "generate")])
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let password = response.text("#one-time-password");
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.client().log_in("admin@northwind.example", &password).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(actions(&app).await, vec!["admin_password_reset"]);
}

#[tokio::test]
async fn role_matrix() {
    let app = TestApp::demo().await;
    let own_admin = user_id(&app, "admin@northwind.example").await;
    let other_admin = user_id(&app, "admin@fabrikam.example").await;
    // operator, owner, admin, customer user, anonymous
    let cases = [
        ("/admins".to_string(), [403, 200, 403, 403, 303]),
        ("/admins/new".to_string(), [403, 200, 403, 403, 303]),
        (format!("/admins/{own_admin}/password"), [403, 200, 403, 403, 303]),
        (format!("/admins/{own_admin}/disable"), [403, 200, 403, 403, 303]),
        (format!("/admins/{other_admin}/password"), [403, 404, 403, 403, 303]),
        (format!("/admins/{other_admin}/disable"), [403, 404, 403, 403, 303]),
    ];
    for (path, expected) in cases {
        assert_eq!(crate::common::get_matrix(&app, &path).await, expected, "{path}");
    }
    // Anonymous posts (with the login form's token) are sent to log in; nothing changes.
    let anonymous = app.client();
    anonymous.get("/login").await;
    for path in [
        format!("/admins/{own_admin}/disable"),
        format!("/admins/{own_admin}/password"),
        "/admins".into(),
    ] {
        assert_eq!(
            anonymous.post_form(&path, &[]).await.status,
            StatusCode::SEE_OTHER,
            "{path}"
        );
    }
    assert!(actions(&app).await.is_empty());
}
