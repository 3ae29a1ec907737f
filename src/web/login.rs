//! `/login` and `/logout`.

use askama::Template;
use axum::Router;
use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Deserialize;

use super::{Layout, redirect_with_flash, render};
use crate::auth::current_user::{FlashMessage, MaybeUser};
use crate::auth::sessions::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie, random_token, read_cookie, sha256};
use crate::auth::throttle::{self, Lock};
use crate::auth::{CurrentUser, Flash, passwords, two_factor};
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::login_throttle::Reserved;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(show_login).post(log_in))
        .route("/login/two-factor", get(show_second_step).post(answer_second_step))
        .route("/logout", post(log_out))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub username: String,
    pub next: String,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// The same words for an unknown user, a wrong password and a disabled account: the answer must
/// not tell which usernames exist.
const BAD_CREDENTIALS: &str = "That username and password do not match an active account.";

async fn show_login(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    flash: FlashMessage,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AppError> {
    if let Some(user) = user {
        return Ok(Redirect::to(user.effective_role().home_path()).into_response());
    }
    login_form(&state, flash, String::new(), query.next, None, StatusCode::OK)
}

/// Renders the form with a fresh login CSRF token in both the page and a cookie.
fn login_form(
    state: &AppState,
    flash: FlashMessage,
    username: String,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let token = random_token();
    let set = cookie(LOGIN_CSRF_COOKIE, &token, None, true, state.web().secure_cookies);
    let next = safe_next(&next).unwrap_or_default().to_string();
    let page = LoginPage {
        layout: Layout::anonymous("Log in", token, flash),
        username,
        next,
        error,
    };
    Ok((status, AppendHeaders([(header::SET_COOKIE, set)]), render(&page)?).into_response())
}

async fn log_in(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let username = form.username.trim().to_string();
    let again = |error: String, status: StatusCode| {
        login_form(
            &state,
            FlashMessage::default(),
            username.clone(),
            form.next.clone(),
            Some(error),
            status,
        )
    };
    if username.is_empty() || form.password.is_empty() {
        return again(
            "Enter your username and password.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let now = state.clock().now();
    let address = client_address(&state, &headers, peer.as_ref().map(|Extension(info)| info));
    let address_key = address.map(throttle::address_key);
    // The attempt counts as a failure from here on, until its password proves right.
    let mut tx = store::auth(state.db()).await?;
    let attempt = match store::login_throttle::reserve(&mut tx, &username, address_key.as_deref(), now).await? {
        Reserved::Locked(lock) => {
            tx.rollback().await?;
            return again(lock_message(lock), StatusCode::TOO_MANY_REQUESTS);
        }
        Reserved::Counted(attempt) => attempt,
    };
    let found = store::users::find_for_login(&mut tx, &username).await?;
    tx.commit().await?;

    let (user_id, stored_hash) = match &found {
        Some(user) if !user.disabled => (Some(user.id), Some(user.password_hash.clone())),
        _ => (None, None),
    };
    let two_factor = found.as_ref().is_some_and(|user| user.two_factor);
    // Checked, and a right password's attempt given back, in a task of its own: a request dropped
    // meanwhile (the client gone, the request's time limit) must not leave a right password
    // counted as a failure. A right password with a second factor to come gives the username's
    // attempt back without forgiving its failures, which only the second step does.
    let db = state.db().clone();
    let password = form.password.clone();
    let password_ok = tokio::spawn(async move {
        // Unknown and disabled users are checked against a dummy hash: the answer takes as long.
        let ok = passwords::verify_blocking(password, stored_hash).await && user_id.is_some();
        if ok {
            let mut tx = store::auth(&db).await?;
            store::login_throttle::release(&mut tx, &attempt, !two_factor).await?;
            tx.commit().await?;
        }
        Ok::<bool, sqlx::Error>(ok)
    })
    .await
    .map_err(|_| sqlx::Error::WorkerCrashed)??;
    let Some(user_id) = user_id.filter(|_| password_ok) else {
        tracing::info!("failed login");
        return again(BAD_CREDENTIALS.to_string(), StatusCode::UNAUTHORIZED);
    };

    if two_factor {
        // The password was right; the session waits for the second factor.
        let token = random_token();
        let id_hash = sha256(&token);
        let next = safe_next(&form.next).unwrap_or_default();
        let mut tx = store::auth(state.db()).await?;
        store::two_factor::create_challenge(
            &mut tx,
            store::two_factor::NewChallenge {
                id_hash: &id_hash,
                user_id,
                next_path: next,
                now,
                expires_at: now + Duration::minutes(two_factor::CHALLENGE_MINUTES),
            },
        )
        .await?;
        tx.commit().await?;
        let secure = state.web().secure_cookies;
        let max_age = two_factor::CHALLENGE_MINUTES * 60;
        return Ok((
            AppendHeaders([(
                header::SET_COOKIE,
                cookie(two_factor::CHALLENGE_COOKIE, &token, Some(max_age), true, secure),
            )]),
            Redirect::to(SECOND_STEP_PATH),
        )
            .into_response());
    }
    start_session(&state, &headers, user_id, &form.next, &[]).await
}

fn lock_message(lock: Lock) -> String {
    match lock {
        Lock::Username(until) => format!(
            "Too many failed attempts for this username. Try again after {}.",
            until.format("%H:%M UTC")
        ),
        Lock::Address(until) => format!(
            "Too many failed logins from your network. Try again after {}.",
            until.format("%H:%M UTC")
        ),
    }
}

/// Where the request came from: the peer, or behind a trusted load balancer the last address it
/// appended to X-Forwarded-For. None in-process (tests without a peer).
fn client_address(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
) -> Option<IpAddr> {
    if state.web().trust_forwarded_for {
        let forwarded = last_forwarded_for(headers);
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|ConnectInfo(address)| address.ip())
}

/// The address a load balancer appended to X-Forwarded-For: only that entry is its word; earlier
/// ones are whatever the client sent.
fn last_forwarded_for(headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
}

/// Opens a session for a user who has proven who it is, replacing any session the browser held
/// (so a session id planted before login is worth nothing after it), and goes on to `next`.
async fn start_session(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    user_id: i64,
    next: &str,
    also_clear: &[&str],
) -> Result<Response, AppError> {
    let now = state.clock().now();
    let token = random_token();
    let expires_at = now + Duration::hours(state.web().session_absolute_hours);
    let mut tx = store::auth(state.db()).await?;
    if let Some(old) = cookie_header(headers).and_then(|c| read_cookie(&c, SESSION_COOKIE).map(sha256)) {
        store::sessions::end_replaced(&mut tx, &old, now).await?;
    }
    let id_hash = sha256(&token);
    let csrf_token = random_token();
    store::sessions::create(
        &mut tx,
        store::sessions::NewSession {
            id_hash: &id_hash,
            user_id,
            csrf_token: &csrf_token,
            now,
            expires_at,
        },
    )
    .await?;
    let session = store::sessions::open(&mut tx, &id_hash, now, Duration::minutes(1)).await?;
    tx.commit().await?;
    let role = session
        .as_ref()
        .and_then(|s| Role::parse(&s.session.role))
        .ok_or(AppError::Unavailable)?;
    tracing::info!(user_id, "logged in");

    let target = safe_next(next).unwrap_or(role.home_path()).to_string();
    let secure = state.web().secure_cookies;
    let max_age = state.web().session_absolute_hours * 3600;
    let mut response = (
        AppendHeaders([
            (
                header::SET_COOKIE,
                cookie(SESSION_COOKIE, &token, Some(max_age), true, secure),
            ),
            (header::SET_COOKIE, cookie(LOGIN_CSRF_COOKIE, "", Some(0), true, secure)),
        ]),
        Redirect::to(&target),
    )
        .into_response();
    for name in also_clear {
        if let Ok(clear) = cookie(name, "", Some(0), true, secure).parse() {
            response.headers_mut().append(header::SET_COOKIE, clear);
        }
    }
    Ok(response)
}

/// The login's second step: where a password that was right leads when the user has a second factor.
pub const SECOND_STEP_PATH: &str = "/login/two-factor";

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
pub struct SecondStepPage {
    pub layout: Layout,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SecondStepForm {
    #[serde(default)]
    code: String,
}

fn challenge_hash(headers: &axum::http::HeaderMap) -> Option<Vec<u8>> {
    let cookies = cookie_header(headers)?;
    read_cookie(&cookies, two_factor::CHALLENGE_COOKIE)
        .filter(|token| !token.is_empty())
        .map(sha256)
}

fn second_step_form(state: &AppState, error: Option<String>, status: StatusCode) -> Result<Response, AppError> {
    let token = random_token();
    let set = cookie(LOGIN_CSRF_COOKIE, &token, None, true, state.web().secure_cookies);
    let page = SecondStepPage {
        layout: Layout::anonymous("Two-factor authentication", token, FlashMessage::default()),
        error,
    };
    Ok((status, AppendHeaders([(header::SET_COOKIE, set)]), render(&page)?).into_response())
}

fn start_over(message: &str) -> Response {
    redirect_with_flash("/login", Flash::error(message))
}

async fn show_second_step(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    if let Some(user) = user {
        return Ok(Redirect::to(user.effective_role().home_path()).into_response());
    }
    let Some(hash) = challenge_hash(&headers) else {
        return Ok(start_over("Log in with your username and password first."));
    };
    let mut tx = store::auth(state.db()).await?;
    let challenge = store::two_factor::find_challenge(&mut tx, &hash, state.clock().now()).await?;
    tx.commit().await?;
    if challenge.is_none() {
        return Ok(start_over("That login has expired. Log in again."));
    }
    second_step_form(&state, None, StatusCode::OK)
}

async fn answer_second_step(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<SecondStepForm>,
) -> Result<Response, AppError> {
    let Some(hash) = challenge_hash(&headers) else {
        return Ok(start_over("Log in with your username and password first."));
    };
    let now = state.clock().now();
    let address = client_address(&state, &headers, peer.as_ref().map(|Extension(info)| info));
    let mut tx = store::auth(state.db()).await?;
    let Some(challenge) = store::two_factor::find_challenge(&mut tx, &hash, now).await? else {
        tx.commit().await?;
        return Ok(start_over("That login has expired. Log in again."));
    };
    let address_key = address.map(throttle::address_key);
    let attempt =
        match store::login_throttle::reserve(&mut tx, &challenge.username, address_key.as_deref(), now).await? {
            Reserved::Locked(lock) => {
                store::two_factor::delete_challenge(&mut tx, &hash).await?;
                tx.commit().await?;
                return Ok(start_over(&lock_message(lock)));
            }
            Reserved::Counted(attempt) => attempt,
        };
    let Some(proof) = two_factor::check(&mut tx, challenge.user_id, &form.code, now).await? else {
        tracing::info!("wrong second factor");
        if challenge.failed_attempts + 1 >= two_factor::CHALLENGE_ATTEMPTS {
            store::two_factor::delete_challenge(&mut tx, &hash).await?;
            tx.commit().await?;
            return Ok(start_over("Too many wrong codes. Log in again."));
        }
        store::two_factor::record_challenge_failure(&mut tx, &hash).await?;
        tx.commit().await?;
        let message =
            "That code is not right, or was used already. Enter the current code from your app, or a recovery code.";
        return second_step_form(&state, Some(message.into()), StatusCode::UNAUTHORIZED);
    };
    store::two_factor::delete_challenge(&mut tx, &hash).await?;
    store::login_throttle::release(&mut tx, &attempt, true).await?;
    tx.commit().await?;
    if proof == two_factor::Proof::RecoveryCode {
        tracing::info!(user_id = challenge.user_id, "logged in with a recovery code");
    }
    start_session(
        &state,
        &headers,
        challenge.user_id,
        &challenge.next_path,
        &[two_factor::CHALLENGE_COOKIE],
    )
    .await
}

async fn log_out(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let now = state.clock().now();
    if user.impersonating.is_some() {
        let actor = crate::auth::impersonation::Actor {
            user_id: user.id,
            name: user.name(),
        };
        let ended_by = crate::auth::impersonation::EndedBy::LogOut;
        crate::auth::impersonation::end(state.db(), &user.session_hash, actor, ended_by, now).await?;
    }
    // Logging out ends every session of the user, on every device: a session left open on a
    // shared computer ends with the one the user remembers to close.
    let mut tx = store::auth(state.db()).await?;
    let ended = store::sessions::delete_others(&mut tx, user.id, None, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, sessions = ended, "logged out");
    let mut response = redirect_with_flash("/login", Flash::success("You have logged out."));
    if let Ok(clear) = cookie(SESSION_COOKIE, "", Some(0), true, state.web().secure_cookies).parse() {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(response)
}

fn cookie_header(headers: &axum::http::HeaderMap) -> Option<String> {
    let joined = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>();
    (!joined.is_empty()).then(|| joined.join("; "))
}

/// `next` only if it is a path on this site: never another origin (`//evil`, `https://…`,
/// `/\evil`) and never back to the login page.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.starts_with("/login")
        && !next.starts_with("/logout")
        && next.len() <= 2000;
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::{last_forwarded_for, safe_next};

    #[test]
    fn only_the_load_balancers_own_forwarded_entry_counts() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(last_forwarded_for(&headers), None);
        headers.insert("x-forwarded-for", "127.0.0.66, 127.0.0.5".parse().expect("header"));
        assert_eq!(last_forwarded_for(&headers), "127.0.0.5".parse().ok());
        headers.insert("x-forwarded-for", "127.0.0.5, not-an-address".parse().expect("header"));
        assert_eq!(
            last_forwarded_for(&headers),
            None,
            "no falling back to the client's entries"
        );
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next("/customers?page=2"), Some("/customers?page=2"));
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/login",
            "dashboard",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
