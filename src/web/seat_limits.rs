//! `/customers/{id}/seat-limits`: a customer's seat limits, and scheduling a change to one
//! (tomorrow at the earliest).

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::forms::FormCheck;
use super::{Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::licensing::{SeatProperty, check_limit_change, earliest_limit_effective_date, grace_status};
use crate::domain::tenancy::Role;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::lifecycle::CustomerState;
use crate::web::path::Path;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/customers/{id}/seat-limits",
            get(show_seat_limits).post(schedule_seat_limit),
        )
        .route("/customers/{id}/seat-limits/cancel", post(cancel_seat_limit))
}

const STAFF: &[Role] = &[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin];

/// A seat limit as the page shows it.
#[derive(Debug, Clone)]
pub struct LimitView {
    pub property: String,
    pub label: &'static str,
    pub used: i32,
    pub limit: i32,
    pub over: bool,
    pub pending: Option<(i32, NaiveDate)>,
    pub grace: Option<String>,
}

#[derive(Template)]
#[template(path = "seat_limits/index.html")]
pub struct SeatLimitsPage {
    pub layout: Layout,
    pub customer: CustomerState,
    pub limits: Vec<LimitView>,
    pub selected: String,
    pub new_limit: String,
    pub effective_on: String,
    pub earliest: String,
    pub errors: FieldErrors,
}

impl SeatLimitsPage {
    fn is_selected(&self, property: &str) -> bool {
        self.selected == property
    }
}

#[derive(Debug, Deserialize)]
pub struct SeatLimitQuery {
    property: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    seat_property: String,
    #[serde(default)]
    new_limit: String,
    #[serde(default)]
    effective_on: String,
}

fn views(rows: Vec<store::seat_limits::SeatLimitRow>, now: DateTime<Utc>) -> Vec<LimitView> {
    rows.into_iter()
        .map(|r| LimitView {
            label: SeatProperty::parse(&r.seat_property)
                .map(SeatProperty::label)
                .unwrap_or("Seats"),
            over: r.seats_used > r.seat_limit,
            pending: r.pending_limit.zip(r.pending_effective_on),
            grace: r.grace_ends_at.map(|end| grace_status(end, now).display()),
            used: r.seats_used,
            limit: r.seat_limit,
            property: r.seat_property,
        })
        .collect()
}

async fn load(state: &AppState, user: &CurrentUser, id: i64) -> Result<(CustomerState, Vec<LimitView>), AppError> {
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::lifecycle::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let rows = store::seat_limits::for_customer(&mut tx, id).await?;
    tx.commit().await?;
    Ok((customer, views(rows, state.clock().now())))
}

async fn show_seat_limits(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
    Query(query): Query<SeatLimitQuery>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let (customer, limits) = load(&state, &user, id).await?;
    let selected = query
        .property
        .filter(|p| limits.iter().any(|l| &l.property == p))
        .or_else(|| limits.first().map(|l| l.property.clone()))
        .unwrap_or_default();
    let earliest = earliest_limit_effective_date(state.clock().today())
        .format("%Y-%m-%d")
        .to_string();
    let page = SeatLimitsPage {
        layout: Layout::new(&user, flash, "dashboard", format!("Seat limits of {}", customer.name)),
        customer,
        limits,
        selected,
        new_limit: String::new(),
        effective_on: earliest.clone(),
        earliest,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

async fn schedule_seat_limit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let today = now.date_naive();
    let (customer, limits) = load(&state, &user, id).await?;
    let mut check = FormCheck::new();
    if !limits.iter().any(|l| l.property == form.seat_property) {
        check.error("seat_property", "Choose one of this customer's seat properties.");
    }
    let new_limit = check.number("new_limit", &form.new_limit, 0, 10_000_000);
    let effective_on = check.date("effective_on", &form.effective_on);
    if let (Some(effective_on), true) = (effective_on, check.is_ok())
        && let Err(problem) = check_limit_change(new_limit, effective_on, today)
    {
        check.error("effective_on", problem.to_string());
    }
    let (Some(effective_on), true) = (effective_on, check.is_ok()) else {
        let earliest = earliest_limit_effective_date(today).format("%Y-%m-%d").to_string();
        let page = SeatLimitsPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "dashboard",
                format!("Seat limits of {}", customer.name),
            ),
            customer,
            limits,
            selected: form.seat_property,
            new_limit: form.new_limit,
            effective_on: form.effective_on,
            earliest,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let Some((old_limit, old_pending, old_on)) =
        store::seat_limits::schedule(&mut tx, id, &form.seat_property, new_limit, effective_on).await?
    else {
        return Err(AppError::NotFound);
    };
    let mut entry = audit_entry(&user, now, "seat_limit_scheduled", "customer", id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(id);
    entry.changes = store::audit::diff(&[(
        &format!("{} pending limit", form.seat_property),
        json!({"limit": old_pending, "effective_on": old_on, "current": old_limit}),
        json!({"limit": new_limit, "effective_on": effective_on, "current": old_limit}),
    )]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let label = SeatProperty::parse(&form.seat_property)
        .map(SeatProperty::label)
        .unwrap_or("seats");
    Ok(redirect_with_flash(
        &format!("/customers/{id}/seat-limits?property={}", form.seat_property),
        Flash::success(format!(
            "The {label} limit of {} becomes {new_limit} on {}.",
            customer.name,
            effective_on.format("%Y-%m-%d")
        )),
    ))
}

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    seat_property: String,
}

async fn cancel_seat_limit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<CancelForm>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::lifecycle::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let Some((pending, on)) = store::seat_limits::cancel_pending(&mut tx, id, &form.seat_property).await? else {
        return Ok(redirect_with_flash(
            &format!("/customers/{id}/seat-limits"),
            Flash::error("There was no pending change to cancel."),
        ));
    };
    let mut entry = audit_entry(&user, now, "seat_limit_change_cancelled", "customer", id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(id);
    entry.changes = store::audit::diff(&[(
        &format!("{} pending limit", form.seat_property),
        json!({"limit": pending, "effective_on": on}),
        json!(null),
    )]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}/seat-limits?property={}", form.seat_property),
        Flash::success("The pending change is cancelled."),
    ))
}
