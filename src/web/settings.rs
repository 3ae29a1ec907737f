//! `/settings/email` (operator): the sender address, whether SMTP is configured, the outbox's
//! state and its problems, a test email, and the global consolidated-report switch.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::tenancy::Role;
use crate::emails::{self, TestMessage};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::email::{EmailSettings, MailerRun, OutboxSummary, Problem};
use crate::web::forms::FormCheck;
use crate::web::path::Path;
use crate::web::{Layout, audit_entry, filters, redirect_with_flash, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/email", get(show_email_settings).post(update_email_settings))
        .route("/settings/email/test", post(send_test_email))
        .route("/settings/email/outbox/{id}/retry", post(retry_email))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub email_sender: String,
    pub consolidated_report_global: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TestInput {
    pub to: String,
}

#[derive(Template)]
#[template(path = "settings/email.html")]
pub struct EmailSettingsPage {
    pub layout: Layout,
    pub smtp_configured: bool,
    pub input: SettingsInput,
    pub test_to: String,
    pub errors: FieldErrors,
    pub summary: OutboxSummary,
    pub problems: Vec<Problem>,
    pub mailer: Option<MailerRun>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashMessage,
    input: Option<SettingsInput>,
    test_to: String,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let settings: EmailSettings = store::email::settings(&mut tx).await?;
    let summary = store::email::summary(&mut tx, now).await?;
    let problems = store::email::problems(&mut tx).await?;
    let mailer = store::email::last_mailer_run(&mut tx).await?;
    tx.commit().await?;
    let input = input.unwrap_or(SettingsInput {
        email_sender: settings.email_sender,
        consolidated_report_global: settings.consolidated_report_global.then(|| "on".to_string()),
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EmailSettingsPage {
        layout: Layout::new(user, flash, "email-settings", "Email settings"),
        smtp_configured: state.web().smtp_configured,
        input,
        test_to,
        errors,
        summary,
        problems,
        mailer,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn show_email_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    page(&state, &user, flash, None, String::new(), FieldErrors::new()).await
}

pub async fn update_email_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<SettingsInput>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    let now = state.clock().now();
    let mut check = FormCheck::new();
    let sender = check.email("email_sender", &input.email_sender, true);
    let global = input.consolidated_report_global.is_some();
    if !check.is_ok() {
        return page(
            &state,
            &user,
            FlashMessage::default(),
            Some(input),
            String::new(),
            check.errors,
        )
        .await;
    }
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let before = store::email::settings(&mut tx).await?;
    store::email::update_settings(&mut tx, &sender, global).await?;
    let mut entry = audit_entry(&user, now, "email_settings_changed", "server_settings", 1);
    entry.changes = store::audit::diff(&[
        ("email_sender", json!(before.email_sender), json!(sender)),
        (
            "consolidated_report_global",
            json!(before.consolidated_report_global),
            json!(global),
        ),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/settings/email",
        Flash::success("The email settings were saved."),
    ))
}

pub async fn send_test_email(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<TestInput>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    let now = state.clock().now();
    let mut check = FormCheck::new();
    let to = check.email("to", &input.to, true);
    if !check.is_ok() {
        return page(&state, &user, FlashMessage::default(), None, input.to, check.errors).await;
    }
    let email = emails::test_message(
        &to,
        &TestMessage {
            requested_by: user.name().to_string(),
            at: now,
        },
    )?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let id = emails::enqueue(&mut tx, &email, now).await?;
    let mut entry = audit_entry(&user, now, "test_email_queued", "email", id);
    entry.changes = json!({"to": to});
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = if state.web().smtp_configured {
        format!("A test email to {to} is queued; the engine sends it within a minute.")
    } else {
        format!("A test email to {to} is queued, but SMTP_URL is not set: it waits in the outbox.")
    };
    Ok(redirect_with_flash("/settings/email", Flash::success(message)))
}

pub async fn retry_email(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    if !store::email::requeue(&mut tx, id, now).await? {
        return Err(AppError::NotFound);
    }
    let entry = audit_entry(&user, now, "email_requeued", "email", id);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/settings/email",
        Flash::success("The email is back in the queue and is sent on the next tick."),
    ))
}
