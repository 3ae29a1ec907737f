//! `/account/two-factor`: a user turns on a second factor (an authenticator app, enrolled with a
//! QR code drawn here, and recovery codes for a lost phone), renews its recovery codes or turns
//! it off. The login's second step is in `web::login`.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::account::{record_own_account_change, refuse_while_impersonating};
use super::{Layout, filters, redirect_with_flash, render};
use crate::auth::current_user::{ENROL_PATH, FlashMessage};
use crate::auth::two_factor::{self, ISSUER};
use crate::auth::{CurrentUser, Flash, passwords};
use crate::domain::totp;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/two-factor", get(show_two_factor))
        .route("/account/two-factor/setup", post(start_setup))
        .route("/account/two-factor/confirm", post(confirm_setup))
        .route("/account/two-factor/recovery-codes", post(renew_recovery_codes))
        .route("/account/two-factor/disable", post(turn_off))
}

#[derive(Template)]
#[template(path = "account/two_factor.html")]
pub struct TwoFactorPage {
    pub layout: Layout,
    pub status: store::two_factor::Status,
    /// While enrolling: the QR code as a data URI, and the secret to type in by hand.
    pub enrolment: Option<Enrolment>,
    pub required: bool,
    pub errors: FieldErrors,
}

pub struct Enrolment {
    pub qr_data_uri: String,
    pub secret_grouped: String,
}

fn enrolment(user: &CurrentUser, secret: &str) -> Result<Enrolment, AppError> {
    let bytes = totp::decode_secret(secret).ok_or_else(|| anyhow::anyhow!("stored TOTP secret is not base32"))?;
    let uri = totp::provisioning_uri(ISSUER, &user.username, &bytes);
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| anyhow::anyhow!("QR code: {e}"))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(224, 224)
        .quiet_zone(true)
        .build();
    let secret_grouped = secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Enrolment {
        qr_data_uri: format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg)),
        secret_grouped,
    })
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashMessage,
    errors: FieldErrors,
) -> Result<TwoFactorPage, AppError> {
    let mut tx = store::auth(state.db()).await?;
    let status = store::two_factor::status(&mut tx, user.id).await?;
    tx.commit().await?;
    let enrolment = match (&status.enabled_at, &status.pending_secret) {
        (None, Some(secret)) => Some(enrolment(user, secret)?),
        _ => None,
    };
    Ok(TwoFactorPage {
        layout: Layout::new(user, flash, "two-factor", "Two-factor authentication"),
        status,
        enrolment,
        required: user.two_factor_required,
        errors,
    })
}

/// The page again, 422, with one field's message.
async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    field: &'static str,
    message: &str,
) -> Result<Response, AppError> {
    let errors = FieldErrors::from([(field, message.to_string())]);
    let page = page(state, user, FlashMessage::default(), errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
}

/// Fresh recovery codes, shown this once.
fn recovery_codes_page(user: &CurrentUser, heading: &str, codes: Vec<String>) -> Result<Response, AppError> {
    let page = RecoveryCodesPage {
        layout: Layout::new(user, FlashMessage::default(), "two-factor", "Recovery codes"),
        heading: heading.into(),
        codes,
    };
    Ok(render(&page)?.into_response())
}

async fn show_two_factor(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
) -> Result<Response, AppError> {
    refuse_while_impersonating(&user)?;
    Ok(render(&page(&state, &user, flash, FieldErrors::new()).await?)?.into_response())
}

/// A new secret to enrol (replacing one not yet confirmed); the page then shows its QR code.
async fn start_setup(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    refuse_while_impersonating(&user)?;
    if user.two_factor_enabled {
        return Ok(redirect_with_flash(
            ENROL_PATH,
            Flash::error("Two-factor authentication is already on. Turn it off first to enrol another app."),
        ));
    }
    let mut tx = store::auth(state.db()).await?;
    store::two_factor::set_pending_secret(&mut tx, user.id, &two_factor::new_secret()).await?;
    tx.commit().await?;
    Ok(axum::response::Redirect::to(ENROL_PATH).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub heading: String,
    pub codes: Vec<String>,
}

async fn confirm_setup(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    refuse_while_impersonating(&user)?;
    let now = state.clock().now();
    let mut tx = store::auth(state.db()).await?;
    let status = store::two_factor::status(&mut tx, user.id).await?;
    let Some(secret) = status.pending_secret.filter(|_| status.enabled_at.is_none()) else {
        tx.commit().await?;
        return Ok(redirect_with_flash(
            ENROL_PATH,
            Flash::error("Start the set-up first: there is no new secret to confirm."),
        ));
    };
    let step = totp::decode_secret(&secret).and_then(|bytes| totp::verify(&bytes, &form.code, now.timestamp(), None));
    let Some(step) = step else {
        tx.commit().await?;
        let message = if totp::normalize_code(&form.code).is_none() {
            "Enter the six digits your authenticator app shows."
        } else {
            "That code does not match. Check that the app was set up with this QR code and that the phone's clock is right."
        };
        return refuse(&state, &user, "code", message).await;
    };
    let (codes, hashes) = two_factor::new_recovery_codes();
    if !store::two_factor::enable(&mut tx, user.id, &secret, step, &hashes, now).await? {
        return Err(AppError::Conflict(
            "The set-up changed in another window; start it again.".into(),
        ));
    }
    tx.commit().await?;
    record_own_account_change(&state, &user, "two_factor_enabled", json!({"two_factor": true})).await?;
    tracing::info!(user_id = user.id, "two-factor authentication enabled");
    recovery_codes_page(&user, "Two-factor authentication is on", codes)
}

/// New recovery codes replace all the old ones; a current code proves the user holds the factor.
async fn renew_recovery_codes(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    refuse_while_impersonating(&user)?;
    let now = state.clock().now();
    let mut tx = store::auth(state.db()).await?;
    if two_factor::check(&mut tx, user.id, &form.code, now).await?.is_none() {
        tx.commit().await?;
        let message = "That is not a current code of your authenticator app, nor an unused recovery code.";
        return refuse(&state, &user, "renew_code", message).await;
    }
    let (codes, hashes) = two_factor::new_recovery_codes();
    store::two_factor::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    tx.commit().await?;
    record_own_account_change(&state, &user, "recovery_codes_renewed", json!({})).await?;
    recovery_codes_page(&user, "New recovery codes", codes)
}

/// Turning the factor off takes the password; a reseller that requires it does not allow it.
async fn turn_off(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    refuse_while_impersonating(&user)?;
    if user.two_factor_required {
        return Ok(redirect_with_flash(
            ENROL_PATH,
            Flash::error("Your reseller requires two-factor authentication, so it cannot be turned off."),
        ));
    }
    let mut tx = store::auth(state.db()).await?;
    let stored = store::users::password_hash(&mut tx, user.id).await?;
    tx.commit().await?;
    if !passwords::verify_blocking(form.password, Some(stored)).await {
        return refuse(&state, &user, "password", "That is not your password.").await;
    }
    let mut tx = store::auth(state.db()).await?;
    store::two_factor::disable(&mut tx, user.id).await?;
    tx.commit().await?;
    record_own_account_change(&state, &user, "two_factor_disabled", json!({"two_factor": false})).await?;
    tracing::info!(user_id = user.id, "two-factor authentication disabled");
    Ok(redirect_with_flash(
        ENROL_PATH,
        Flash::success("Two-factor authentication is off: your password alone logs you in."),
    ))
}
