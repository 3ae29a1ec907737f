//! `/account/password`: every user changes its own password here.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::{Layout, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash, passwords};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new().route("/account/password", get(show_password_form).post(change_password))
}

#[derive(Template)]
#[template(path = "account/password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn show_password_form(user: CurrentUser, flash: FlashMessage) -> Result<Response, AppError> {
    refuse_while_impersonating(&user)?;
    let page = PasswordPage {
        layout: Layout::new(&user, flash, "account", "Change password"),
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    refuse_while_impersonating(&user)?;
    let mut errors = FieldErrors::new();
    if let Err(message) = passwords::check_new_password(&form.new_password, &form.confirm_password) {
        errors.insert("new_password", message.to_string());
    }
    let mut tx = store::auth(state.db()).await?;
    let stored = store::users::password_hash(&mut tx, user.id).await?;
    tx.commit().await?;
    if !passwords::verify_blocking(form.current_password.clone(), Some(stored)).await {
        errors.insert("current_password", "That is not your current password.".to_string());
    }
    if !errors.is_empty() {
        let page = PasswordPage {
            layout: Layout::new(&user, FlashMessage::default(), "account", "Change password"),
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }

    let hash = passwords::hash_blocking(form.new_password).await?;
    let now = state.clock().now();
    let mut tx = store::auth(state.db()).await?;
    store::users::set_password(&mut tx, user.id, &hash, now).await?;
    // Anyone else holding a session of this user loses it with the old password.
    let ended = store::sessions::delete_others(&mut tx, user.id, Some(&user.session_hash), now).await?;
    tx.commit().await?;

    record_own_account_change(
        &state,
        &user,
        "password_changed",
        json!({"other_sessions_ended": ended}),
    )
    .await?;
    Ok(redirect_with_flash(
        user.effective_role().home_path(),
        Flash::success("Your password has been changed."),
    ))
}

/// Audits a change a user made to its own account. The entry is about the account, which even a
/// read-only admin may change, so the transaction carries the plain scope.
pub async fn record_own_account_change(
    state: &AppState,
    user: &CurrentUser,
    action: &'static str,
    changes: serde_json::Value,
) -> Result<(), AppError> {
    let mut tx = store::scoped(state.db(), &user.scope()).await?;
    store::audit::record(
        &mut tx,
        store::audit::Entry {
            at: state.clock().now(),
            actor_user_id: Some(user.id),
            actor_name: user.name(),
            impersonator_name: None,
            reseller_id: user.reseller_id,
            customer_id: user.customer_id,
            action,
            object_kind: "user",
            object_id: user.id.to_string(),
            changes,
            reason: "",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// While logged in as a customer, "your password" would be ambiguous: the admin's is not the
/// customer's to change, and the customer's is not the admin's.
pub fn refuse_while_impersonating(user: &CurrentUser) -> Result<(), AppError> {
    if user.impersonating.is_some() {
        Err(AppError::Forbidden)
    } else {
        Ok(())
    }
}
