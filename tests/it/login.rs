//! Logging in and out, sessions and the CSRF check.

use axum::http::{Method, StatusCode};

use crate::common::{DEMO_PASSWORD, TestApp};

#[tokio::test]
async fn each_demo_login_reaches_its_home_page() {
    let app = TestApp::demo().await;
    let homes = [
        ("operator", "/dashboard", "Dashboard"),
        ("owner@northwind.example", "/dashboard", "Dashboard"),
        ("admin@northwind.example", "/dashboard", "Dashboard"),
        ("owner@fabrikam.example", "/dashboard", "Dashboard"),
        ("contoso-portal", "/portal", "Contoso"),
    ];
    for (username, home, heading) in homes {
        let client = app.client();
        let response = client.log_in(username, DEMO_PASSWORD).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{username}");
        assert_eq!(response.location().as_deref(), Some(home), "{username}");
        let page = client.get(home).await;
        assert_eq!(page.status, StatusCode::OK, "{username}");
        assert_eq!(page.text("main h1"), heading, "{username}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = TestApp::demo().await;
    let wrong = app.client().log_in("admin@northwind.example", "not-the-password").await;
    let unknown = app.client().log_in("nobody@nowhere.example", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.text("#login-error"), unknown.text("#login-error"));
    assert!(
        wrong.set_cookies().iter().all(|c| !c.starts_with("msp_session=")),
        "no session after a failed login"
    );
}

#[tokio::test]
async fn a_failed_login_keeps_the_username_typed() {
    let app = TestApp::demo().await;
    let response = app.client().log_in("admin@northwind.example", "nope").await;
    assert_eq!(
        response.attrs("input[name=username]", "value"),
        vec!["admin@northwind.example"]
    );
}

#[tokio::test]
async fn an_empty_form_is_refused_with_a_message() {
    let app = TestApp::demo().await;
    let response = app.client().log_in("", "").await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text("#login-error")
            .contains("Enter your username and password")
    );
}

#[tokio::test]
async fn usernames_are_matched_without_regard_to_case() {
    let app = TestApp::demo().await;
    let response = app.client().log_in("Admin@Northwind.Example", DEMO_PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let app = TestApp::demo().await;
    sqlx::query("UPDATE users SET disabled_at = $1 WHERE username = 'admin@northwind.example'")
        .bind(crate::common::fixed_now())
        .execute(&app.db)
        .await
        .expect("disable");
    let response = app.client().log_in("admin@northwind.example", DEMO_PASSWORD).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logging_out_ends_the_session_in_the_database() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    let sessions = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sessions")
            .fetch_one(&app.db)
            .await
            .expect("count")
    };
    assert_eq!(sessions().await, 1);
    let response = client.post_form("/logout", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location().as_deref(), Some("/login"));
    assert_eq!(sessions().await, 0);
    let after = client.get("/dashboard").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the old cookie no longer works");
}

#[tokio::test]
async fn a_stolen_cookie_is_useless_after_logout() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    let stolen = client.cookie("msp_session").expect("session cookie");
    client.post_form("/logout", &[]).await;
    let thief = app.client();
    thief.set_cookie("msp_session", &stolen);
    assert_eq!(thief.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    let first = client.cookie("msp_session").expect("session cookie");
    // Logging in again from a logged-in browser (with that session's token) starts a new session.
    client.get("/dashboard").await;
    let response = client
        .post_form(
            "/login",
            &[
                ("username", "owner@northwind.example"),
                ("password", DEMO_PASSWORD),
                ("next", ""),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let second = client.cookie("msp_session").expect("session cookie");
    assert_ne!(first, second);
    // Expired at once, left for the engine's housekeeping to delete (store::sessions::end_replaced).
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE expires_at > $1")
        .bind(app.clock_now())
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(count, 1, "the session from before the login is over");
    let old = app.client();
    old.set_cookie("msp_session", &first);
    assert_eq!(old.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = TestApp::demo().await;
    let response = app.client().log_in("operator", DEMO_PASSWORD).await;
    let cookie = response
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("msp_session="))
        .expect("cookie set");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_one(&app.db)
        .await
        .expect("row");
    let raw = cookie
        .trim_start_matches("msp_session=")
        .split(';')
        .next()
        .unwrap_or_default();
    assert_ne!(stored, raw.as_bytes(), "the table holds a hash, not the cookie's value");
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    let response = client.post_form_exactly("/logout", &[]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let response = client.post_form_exactly("/logout", &[("csrf_token", "forged")]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(sessions, 1, "the refused logout changed nothing");
}

#[tokio::test]
async fn a_login_form_without_its_token_is_refused() {
    let app = TestApp::demo().await;
    let client = app.client();
    let response = client
        .post_form_exactly("/login", &[("username", "operator"), ("password", DEMO_PASSWORD)])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_token() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    client.get("/dashboard").await;
    let token = client
        .get("/account/password")
        .await
        .attrs("input[name=csrf_token]", "value")
        .remove(0);
    let body = format!("csrf_token={token}");
    let response = client
        .send(
            Method::POST,
            "/logout",
            Some(body),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_csrf_token_is_accepted_in_the_htmx_header() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    let token = client
        .get("/dashboard")
        .await
        .attrs("meta[name=csrf-token]", "content")
        .remove(0);
    let response = client
        .send(Method::POST, "/logout", None, &[("x-csrf-token", &token)])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn pages_send_anonymous_visitors_to_the_login_form_and_back() {
    let app = TestApp::demo().await;
    let client = app.client();
    let response = client.get("/dashboard").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location().as_deref(), Some("/login?next=%2Fdashboard"));
    let form = client.get("/login?next=%2Fdashboard").await;
    assert_eq!(form.attrs("input[name=next]", "value"), vec!["/dashboard"]);
}

#[tokio::test]
async fn login_follows_next_only_to_a_local_page() {
    let app = TestApp::demo().await;
    for (next, expected) in [
        ("/portal", "/portal"),
        ("//evil.example/x", "/dashboard"),
        ("https://evil.example", "/dashboard"),
    ] {
        let client = app.client();
        client.get("/login").await;
        let response = client
            .post_form(
                "/login",
                &[
                    ("username", "admin@northwind.example"),
                    ("password", DEMO_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.location().as_deref(), Some(expected), "next={next}");
    }
}

#[tokio::test]
async fn a_logged_in_visitor_of_the_login_page_goes_home() {
    let app = TestApp::demo().await;
    let client = app.login("contoso-portal").await;
    let response = client.get("/login").await;
    assert_eq!(response.location().as_deref(), Some("/portal"));
}

#[tokio::test]
async fn the_root_sends_each_user_home() {
    let app = TestApp::demo().await;
    assert_eq!(app.client().get("/").await.location().as_deref(), Some("/login"));
    assert_eq!(
        app.login("operator").await.get("/").await.location().as_deref(),
        Some("/dashboard")
    );
    assert_eq!(
        app.login("contoso-portal").await.get("/").await.location().as_deref(),
        Some("/portal")
    );
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    app.clock.advance(chrono::Duration::hours(3));
    let response = client.get("/dashboard").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

/// A page's transaction is read only and ends without a COMMIT unless its session lookup wrote the
/// activity stamp: that stamp must still be kept, or an admin at work would be logged out.
#[tokio::test]
async fn pages_keep_a_session_in_use_alive() {
    let app = TestApp::demo().await;
    let client = app.login("admin@northwind.example").await;
    let last_seen = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "SELECT s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.username = 'admin@northwind.example'",
        )
        .fetch_one(&app.db)
        .await
        .expect("the session")
    };
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::minutes(90));
        assert_eq!(client.get("/dashboard").await.status, StatusCode::OK);
        assert_eq!(last_seen().await, app.clock_now(), "the page recorded its activity");
        // Within the minute the stamp is not written again.
        app.clock.advance(chrono::Duration::seconds(30));
        assert_eq!(client.get("/customers").await.status, StatusCode::OK);
        assert_eq!(last_seen().await, app.clock_now() - chrono::Duration::seconds(30));
    }
    // A page that sends the user to do something else first keeps the stamp too.
    sqlx::query("UPDATE users SET must_change_password = true WHERE username = 'admin@northwind.example'")
        .execute(&app.db)
        .await
        .expect("a one-time password");
    app.clock.advance(chrono::Duration::minutes(90));
    let sent = client.get("/dashboard").await;
    assert_eq!(sent.location().as_deref(), Some("/account/password"));
    assert_eq!(last_seen().await, app.clock_now());
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::demo().await;
    let laptop = app.login("admin@northwind.example").await;
    let phone = app.login("admin@northwind.example").await;
    laptop.get("/account/password").await;
    let wrong = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", "guess"),
                ("new_password", "a-new-long-password"),
                ("confirm_password", "a-new-long-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong.text("#current_password-error"),
        "That is not your current password."
    );
    let short = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short.text("#new_password-error"), "Use at least 12 characters.");

    let done = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "a-new-long-password"),
                ("confirm_password", "a-new-long-password"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        laptop.get("/dashboard").await.status,
        StatusCode::OK,
        "this session goes on"
    );
    assert_eq!(
        phone.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "the other session has ended"
    );
    assert_eq!(
        app.client()
            .log_in("admin@northwind.example", DEMO_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.client()
            .log_in("admin@northwind.example", "a-new-long-password")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'password_changed'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn repeated_failures_lock_a_username_whether_or_not_it_exists() {
    let app = TestApp::demo().await;
    for username in ["admin@northwind.example", "nobody@nowhere.example"] {
        for _ in 0..5 {
            assert_eq!(
                app.client().log_in(username, "wrong-password").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        let locked = app.client().log_in(username, DEMO_PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{username}");
        assert!(
            locked.text("#login-error").contains("Too many failed attempts"),
            "{username}"
        );
    }
    app.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(
        app.client()
            .log_in("admin@northwind.example", DEMO_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn one_address_guessing_many_usernames_is_locked_out_but_others_are_not() {
    let app = TestApp::demo().await;
    let guesser = "127.0.0.9:40000";
    for i in 0..20 {
        let response = app
            .client_from(guesser)
            .log_in(&format!("guess{i}@example.com"), "not-the-password")
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let locked = app
        .client_from(guesser)
        .log_in("admin@northwind.example", DEMO_PASSWORD)
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.text("#login-error").contains("from your network"));
    assert!(locked.set_cookies().iter().all(|c| !c.starts_with("msp_session=")));
    let elsewhere = app
        .client_from("127.0.0.10:40000")
        .log_in("admin@northwind.example", DEMO_PASSWORD)
        .await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
}

/// The keys `login_throttle` holds, with their failures.
async fn throttled(app: &TestApp) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT left(key, 5), failures FROM login_throttle ORDER BY key")
        .fetch_all(&app.db)
        .await
        .expect("keys")
}

#[tokio::test]
async fn housekeeping_forgets_failed_logins_an_hour_after_the_last_within_the_free_ones_else_a_day() {
    let app = TestApp::demo().await;
    for _ in 0..3 {
        app.client_from("127.0.0.7:1000")
            .log_in("nobody@nowhere.example", "wrong-password")
            .await;
    }
    for _ in 0..5 {
        app.client_from("127.0.0.8:1000")
            .log_in("admin@northwind.example", "wrong-password")
            .await;
    }
    let all = vec![
        ("addr:".to_string(), 3),
        ("addr:".to_string(), 5),
        ("user:".to_string(), 3),
        ("user:".to_string(), 5),
    ];
    let mut held = throttled(&app).await;
    held.sort();
    assert_eq!(held, all);
    app.clock.advance(chrono::Duration::minutes(59));
    app.tick().await;
    assert_eq!(throttled(&app).await.len(), 4, "all remembered within the hour");
    app.clock.advance(chrono::Duration::minutes(2));
    app.tick().await;
    assert_eq!(
        throttled(&app).await,
        vec![("user:".to_string(), 5)],
        "only the username past its free attempts is left"
    );
    app.clock.advance(chrono::Duration::hours(23));
    app.tick().await;
    assert!(
        throttled(&app).await.is_empty(),
        "forgotten a day after its last failure"
    );
}

/// Sends the logins all at once: how many had their password checked (401), how many were
/// refused by a lock (429). Any other answer fails the test.
async fn checked_and_refused(
    logins: impl Iterator<Item = impl std::future::Future<Output = StatusCode>>,
) -> (usize, usize) {
    let answers = futures_util::future::join_all(logins).await;
    let count = |status: StatusCode| answers.iter().filter(|s| **s == status).count();
    let (checked, refused) = (count(StatusCode::UNAUTHORIZED), count(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(checked + refused, answers.len(), "{answers:?}");
    (checked, refused)
}

#[tokio::test]
async fn guesses_sent_all_at_once_are_counted_before_their_passwords_are_checked() {
    let app = TestApp::demo().await;
    let guesses = (0..12).map(|_| {
        let client = app.client();
        async move { client.log_in("admin@northwind.example", "wrong-password").await.status }
    });
    assert_eq!(checked_and_refused(guesses).await, (5, 7));
    assert_eq!(
        app.client()
            .log_in("admin@northwind.example", DEMO_PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn guesses_at_many_usernames_sent_at_once_from_one_address_are_held_to_its_allowance() {
    let app = TestApp::demo().await;
    let guesses = (0..25).map(|i| {
        let client = app.client_from("127.0.0.12:1000");
        async move {
            client
                .log_in(&format!("guess{i}@example.com"), "wrong-password")
                .await
                .status
        }
    });
    assert_eq!(checked_and_refused(guesses).await, (20, 5));
}

#[tokio::test]
async fn every_spelling_of_a_username_that_finds_the_user_shares_its_lock() {
    let app = TestApp::demo().await;
    for _ in 0..5 {
        app.client().log_in("admin@northwind.example", "wrong-password").await;
    }
    let mut spellings = vec!["ADMIN@Northwind.example"];
    // Where the database's collation maps the dotted capital I to i (C.UTF-8 does), the lookup of
    // users finds the admin by this spelling too; Rust's to_lowercase() would not have keyed it so.
    let dotted_i_is_i: bool = sqlx::query_scalar("SELECT lower('\u{130}') = 'i'")
        .fetch_one(&app.db)
        .await
        .expect("lower");
    if dotted_i_is_i {
        spellings.push("adm\u{130}n@northwind.example");
    }
    for spelling in spellings {
        let response = app.client().log_in(spelling, DEMO_PASSWORD).await;
        assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS, "{spelling}");
    }
}

#[tokio::test]
async fn a_right_password_gives_its_attempt_back_to_the_address() {
    let app = TestApp::demo().await;
    let office = "127.0.0.11:1000";
    for i in 0..19 {
        app.client_from(office)
            .log_in(&format!("typo{i}@example.com"), "wrong-password")
            .await;
    }
    // The twentieth attempt from the address counts as a failure while its password is checked,
    // and the lock it brings goes with it once the password is right.
    let right = app
        .client_from(office)
        .log_in("admin@northwind.example", DEMO_PASSWORD)
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    let next = app
        .client_from(office)
        .log_in("owner@northwind.example", DEMO_PASSWORD)
        .await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "the address is not locked");
    let address: i32 = sqlx::query_scalar("SELECT failures FROM login_throttle WHERE key = 'addr:127.0.0.11'")
        .fetch_one(&app.db)
        .await
        .expect("address");
    assert_eq!(address, 19);
}

#[tokio::test]
async fn right_passwords_do_not_keep_an_addresss_failures_from_being_forgotten() {
    let app = TestApp::demo().await;
    let office = "127.0.0.13:1000";
    for _ in 0..3 {
        app.client_from(office)
            .log_in("typo@example.com", "wrong-password")
            .await;
    }
    app.clock.advance(chrono::Duration::minutes(50));
    let right = app
        .client_from(office)
        .log_in("admin@northwind.example", DEMO_PASSWORD)
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    app.clock.advance(chrono::Duration::minutes(15));
    app.tick().await;
    assert!(
        throttled(&app).await.iter().all(|(kind, _)| kind != "addr:"),
        "the address's last failure was 65 minutes ago: {:?}",
        throttled(&app).await
    );
}
