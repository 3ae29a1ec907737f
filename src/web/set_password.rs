//! `/set-password/{token}`: a customer's portal user chooses its password through the link of
//! its account-details email. The link works once, until it expires; no login is needed.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::current_user::FlashMessage;
use crate::auth::sessions::{LOGIN_CSRF_COOKIE, cookie, random_token, sha256_hex};
use crate::auth::{Flash, passwords};
use crate::domain::tenancy::Scope;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::web::path::Path;
use crate::web::{Layout, redirect_with_flash, render};

pub fn routes() -> Router<AppState> {
    Router::new().route("/set-password/{token}", get(show_set_password).post(set_password))
}

#[derive(Template)]
#[template(path = "set_password/form.html")]
pub struct SetPasswordPage {
    pub layout: Layout,
    /// None: the link does not work (unknown, used or expired).
    pub username: Option<String>,
    pub token: String,
    pub error: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetPasswordForm {
    password: String,
    password_confirm: String,
}

/// The page with a fresh CSRF token in it and in the pre-login cookie (as the login form does).
fn page(
    state: &AppState,
    username: Option<String>,
    token: String,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let csrf = random_token();
    let set = cookie(LOGIN_CSRF_COOKIE, &csrf, None, true, state.web().secure_cookies);
    let status = if username.is_none() {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    let page = SetPasswordPage {
        layout: Layout::anonymous("Choose your password", csrf, FlashMessage::default()),
        username,
        token,
        error,
    };
    Ok((status, AppendHeaders([(header::SET_COOKIE, set)]), render(&page)?).into_response())
}

pub async fn show_set_password(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let now = state.clock().now();
    let mut tx = store::auth(state.db()).await?;
    let found = store::password_tokens::find_valid(&mut tx, &sha256_hex(&token), now).await?;
    tx.commit().await?;
    page(&state, found.map(|t| t.username), token, None, StatusCode::OK)
}

pub async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response, AppError> {
    let now = state.clock().now();
    let token_hash = sha256_hex(&token);
    let mut tx = store::auth(state.db()).await?;
    let found = store::password_tokens::find_valid(&mut tx, &token_hash, now).await?;
    tx.commit().await?;
    let Some(found) = found else {
        return page(&state, None, token, None, StatusCode::NOT_FOUND);
    };
    if let Err(problem) = passwords::check_new_password(&form.password, &form.password_confirm) {
        return page(
            &state,
            Some(found.username),
            token,
            Some(problem),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hash = passwords::hash_blocking(form.password).await?;
    let scope = Scope::Customer {
        reseller_id: found.reseller_id,
        customer_id: found.customer_id,
    };
    let mut tx = store::scoped(state.db(), &scope).await?;
    if !store::password_tokens::use_for_password(&mut tx, &token_hash, found.user_id, &hash, now).await? {
        drop(tx);
        return page(&state, None, token, None, StatusCode::NOT_FOUND);
    }
    let mut entry = store::audit::Entry::new(
        now,
        &found.username,
        "password_set_by_link",
        "user",
        found.user_id.to_string(),
    );
    entry.actor_user_id = Some(found.user_id);
    entry.reseller_id = Some(found.reseller_id);
    entry.customer_id = Some(found.customer_id);
    entry.changes = json!({"password": "set"});
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    // Sessions opened with the old password end.
    let mut tx = store::auth(state.db()).await?;
    store::sessions::delete_others(&mut tx, found.user_id, None, now).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/login",
        Flash::success("Your password is set. Log in with your username and the new password."),
    ))
}
