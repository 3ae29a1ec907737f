//! `/impersonation`: "log in as" a customer. An admin states a reason, sees the customer's portal
//! with the customer user's rights for a limited time, and comes back with "Exit".

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Layout, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::impersonation::{self, Actor, EndedBy, Target};
use crate::auth::{CurrentUser, Flash};
use crate::domain::tenancy::Role;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::impersonation::TargetCustomer;
use crate::web::forms::FormCheck;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/impersonation/new", get(new_impersonation))
        .route("/impersonation", post(start_impersonation))
        .route("/impersonation/end", post(end_impersonation))
}

/// Who may log in as a customer: the operator (any customer) and reseller staff (their own).
const STAFF: [Role; 3] = [Role::Operator, Role::ResellerOwner, Role::ResellerAdmin];

#[derive(Template)]
#[template(path = "impersonation/new.html")]
pub struct ImpersonationPage {
    pub layout: Layout,
    pub customer: TargetCustomer,
    pub reason: String,
    pub minutes: i64,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    customer: String,
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    reason: String,
}

fn parse_customer_id(value: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::BadRequest("Choose a customer from the list.".into()))
}

async fn find_customer(state: &AppState, user: &CurrentUser, customer_id: i64) -> Result<TargetCustomer, AppError> {
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::impersonation::find_customer(&mut tx, customer_id).await?;
    tx.commit().await?;
    customer.ok_or(AppError::NotFound)
}

async fn new_impersonation(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    user.require(&STAFF)?;
    let customer = find_customer(&state, &user, parse_customer_id(&query.customer)?).await?;
    let page = ImpersonationPage {
        layout: Layout::new(&user, flash, "organizations", "Log in as a customer"),
        customer,
        reason: String::new(),
        minutes: state.web().impersonation_minutes,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

async fn start_impersonation(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<StartForm>,
) -> Result<Response, AppError> {
    user.require(&STAFF)?;
    let customer = find_customer(&state, &user, parse_customer_id(&form.customer_id)?).await?;
    let mut check = FormCheck::new();
    let reason = check.text("reason", &form.reason, true, 500);
    if !check.is_ok() {
        let page = ImpersonationPage {
            layout: Layout::new(&user, FlashMessage::default(), "organizations", "Log in as a customer"),
            customer,
            reason,
            minutes: state.web().impersonation_minutes,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let actor = Actor {
        user_id: user.id,
        name: user.name(),
    };
    let target = Target {
        customer_id: customer.id,
        reseller_id: customer.reseller_id,
        customer_name: &customer.name,
    };
    let now = state.clock().now();
    let minutes = state.web().impersonation_minutes;
    let limit = chrono::Duration::minutes(minutes);
    if !impersonation::start(state.db(), &user.session_hash, actor, target, &reason, now, limit).await? {
        return Err(AppError::Conflict(
            "This session is already logged in as a customer. Exit first.".into(),
        ));
    }
    tracing::info!(user_id = user.id, customer_id = customer.id, "impersonation started");
    Ok(redirect_with_flash(
        Role::Customer.home_path(),
        Flash::success(format!(
            "You are now logged in as {} for at most {} minutes.",
            customer.name, minutes
        )),
    ))
}

async fn end_impersonation(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let home = user.role.home_path();
    if user.impersonating.is_none() {
        return Ok(redirect_with_flash(
            home,
            Flash::success("You are in your own session."),
        ));
    }
    let actor = Actor {
        user_id: user.id,
        name: user.name(),
    };
    let ended = impersonation::end(
        state.db(),
        &user.session_hash,
        actor,
        EndedBy::Exit,
        state.clock().now(),
    )
    .await?;
    tracing::info!(user_id = user.id, "impersonation ended");
    let message = match ended {
        Some(ended) => format!("You are no longer logged in as {}.", ended.customer_name),
        None => "You are in your own session.".to_string(),
    };
    Ok(redirect_with_flash(home, Flash::success(message)))
}
