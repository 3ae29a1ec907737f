//! `/login` and `/logout`.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Deserialize;

use super::{Layout, redirect_with_flash, render};
use crate::auth::current_user::{FlashMessage, MaybeUser};
use crate::auth::sessions::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie, random_token, read_cookie, sha256};
use crate::auth::{CurrentUser, Flash, passwords};
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(show_login).post(log_in))
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
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let username = form.username.trim().to_string();
    if username.is_empty() || form.password.is_empty() {
        let error = Some("Enter your username and password.".to_string());
        return login_form(
            &state,
            FlashMessage::default(),
            username,
            form.next,
            error,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let now = state.clock().now();
    if let Some(until) = state.logins().locked_until(&username, now) {
        let message = format!(
            "Too many failed attempts for this username. Try again after {}.",
            until.format("%H:%M UTC")
        );
        return login_form(
            &state,
            FlashMessage::default(),
            username,
            form.next,
            Some(message),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let mut tx = store::auth(state.db()).await?;
    let found = store::users::find_for_login(&mut tx, &username).await?;
    tx.commit().await?;

    let (user_id, stored_hash) = match &found {
        Some(user) if !user.disabled => (Some(user.id), Some(user.password_hash.clone())),
        _ => (None, None),
    };
    let password_ok = passwords::verify_blocking(form.password.clone(), stored_hash).await;
    let Some(user_id) = user_id.filter(|_| password_ok) else {
        state.logins().record_failure(&username, now);
        tracing::info!("failed login");
        return login_form(
            &state,
            FlashMessage::default(),
            username,
            form.next,
            Some(BAD_CREDENTIALS.to_string()),
            StatusCode::UNAUTHORIZED,
        );
    };

    state.logins().record_success(&username);
    // A new id at every login, so a session id planted before login is worth nothing after it.
    let token = random_token();
    let expires_at = now + Duration::hours(state.web().session_absolute_hours);
    let mut tx = store::auth(state.db()).await?;
    if let Some(old) = cookie_header(&headers).and_then(|c| read_cookie(&c, SESSION_COOKIE).map(sha256)) {
        store::sessions::delete(&mut tx, &old).await?;
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
    let session = store::sessions::find_live(&mut tx, &id_hash, now, Duration::minutes(1)).await?;
    tx.commit().await?;
    let role = session
        .as_ref()
        .and_then(|s| Role::parse(&s.role))
        .ok_or(AppError::Unavailable)?;
    tracing::info!(user_id, "logged in");

    let target = safe_next(&form.next).unwrap_or(role.home_path()).to_string();
    let secure = state.web().secure_cookies;
    let max_age = state.web().session_absolute_hours * 3600;
    Ok((
        AppendHeaders([
            (
                header::SET_COOKIE,
                cookie(SESSION_COOKIE, &token, Some(max_age), true, secure),
            ),
            (header::SET_COOKIE, cookie(LOGIN_CSRF_COOKIE, "", Some(0), true, secure)),
        ]),
        Redirect::to(&target),
    )
        .into_response())
}

async fn log_out(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    if user.impersonating.is_some() {
        let actor = crate::auth::impersonation::Actor {
            user_id: user.id,
            name: user.name(),
        };
        let ended_by = crate::auth::impersonation::EndedBy::LogOut;
        crate::auth::impersonation::end(state.db(), &user.session_hash, actor, ended_by, state.clock().now()).await?;
    }
    let mut tx = store::auth(state.db()).await?;
    store::sessions::delete(&mut tx, &user.session_hash).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, "logged out");
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
    use super::safe_next;

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
