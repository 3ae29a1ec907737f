//! Reviving a customer scheduled for deletion and converting an evaluation to a paid plan:
//! the dashboard's "expiring soon" actions.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Months, NaiveDate};
use serde::Deserialize;
use serde_json::json;

use super::forms::FormCheck;
use super::{ConfirmPage, Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::lifecycle::can_revive;
use crate::domain::tenancy::Role;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::lifecycle::{CustomerState, PlanOption};
use crate::web::path::Path;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/revive", get(confirm_revive).post(revive_customer))
        .route("/customers/{id}/convert", get(show_convert_form).post(convert_customer))
}

const STAFF: &[Role] = &[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin];

async fn find_customer(tx: &mut store::Tx, id: i64) -> Result<CustomerState, AppError> {
    store::lifecycle::find(tx, id).await?.ok_or(AppError::NotFound)
}

async fn confirm_revive(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find_customer(&mut tx, id).await?;
    tx.commit().await?;
    let today = state.clock().today();
    let Some(delete_on) = customer
        .delete_on
        .filter(|_| customer.lifecycle == "scheduled_for_deletion")
    else {
        return Ok(redirect_with_flash(
            &format!("/customers/{id}"),
            Flash::error(format!("{} is not scheduled for deletion.", customer.name)),
        ));
    };
    if !can_revive(delete_on, today) {
        return Err(AppError::Conflict(format!(
            "{} was due for deletion on {delete_on} and cannot be revived.",
            customer.name
        )));
    }
    let page = ConfirmPage {
        layout: Layout::new(&user, flash, "dashboard", format!("Revive {}", customer.name)),
        heading: format!("Revive {}?", customer.name),
        message: format!(
            "{} is scheduled for deletion on {}. Reviving it makes it active again and keeps its data.",
            customer.name,
            delete_on.format("%Y-%m-%d")
        ),
        details: vec![
            format!(
                "{} client{}",
                customer.clients,
                if customer.clients == 1 { "" } else { "s" }
            ),
            format!(
                "{} of backup data",
                crate::domain::units::format_bytes(customer.used_space_bytes)
            ),
        ],
        action: format!("/customers/{id}/revive"),
        hidden: vec![],
        button: "Revive customer".into(),
        cancel: "/dashboard/expiring".into(),
        danger: false,
    };
    Ok(render(&page)?.into_response())
}

async fn revive_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find_customer(&mut tx, id).await?;
    if !store::lifecycle::revive(&mut tx, id, now.date_naive()).await? {
        return Ok(redirect_with_flash(
            "/dashboard/expiring",
            Flash::error(format!(
                "{} is not scheduled for deletion any more, or its date has passed.",
                customer.name
            )),
        ));
    }
    let mut entry = audit_entry(&user, now, "customer_revived", "customer", id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(id);
    entry.changes = store::audit::diff(&[
        ("lifecycle", json!(customer.lifecycle), json!("active")),
        ("delete_on", json!(customer.delete_on), json!(null)),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/dashboard/expiring",
        Flash::success(format!("{} is active again.", customer.name)),
    ))
}

#[derive(Template)]
#[template(path = "lifecycle/convert.html")]
pub struct ConvertPage {
    pub layout: Layout,
    pub customer: CustomerState,
    pub plans: Vec<PlanOption>,
    pub selected_plan: Option<i64>,
    pub expires_on: String,
    pub errors: FieldErrors,
}

impl ConvertPage {
    fn is_selected(&self, plan_id: &i64) -> bool {
        self.selected_plan == Some(*plan_id)
    }
}

#[derive(Debug, Deserialize)]
pub struct ConvertForm {
    #[serde(default)]
    plan_id: String,
    #[serde(default)]
    expires_on: String,
}

/// A paid plan runs a year unless the admin says otherwise.
fn default_expiry(today: NaiveDate) -> NaiveDate {
    today.checked_add_months(Months::new(12)).unwrap_or(today)
}

async fn show_convert_form(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find_customer(&mut tx, id).await?;
    let plans = store::lifecycle::paid_plans(&mut tx).await?;
    tx.commit().await?;
    if customer.tenant_type != "evaluation" {
        return Ok(redirect_with_flash(
            &format!("/customers/{id}"),
            Flash::error(format!("{} is already on a paid plan.", customer.name)),
        ));
    }
    let page = ConvertPage {
        layout: Layout::new(
            &user,
            flash,
            "dashboard",
            format!("Select a paid plan for {}", customer.name),
        ),
        customer,
        plans,
        selected_plan: None,
        expires_on: default_expiry(state.clock().today()).format("%Y-%m-%d").to_string(),
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

async fn convert_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ConvertForm>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let today = now.date_naive();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find_customer(&mut tx, id).await?;
    let plans = store::lifecycle::paid_plans(&mut tx).await?;
    let mut check = FormCheck::new();
    let plan_id = check.optional_number("plan_id", &form.plan_id, 1, i64::MAX);
    let plan = plan_id.and_then(|pid| plans.iter().find(|p| p.id == pid));
    if plan.is_none() {
        check.error("plan_id", "Choose one of the paid plans.");
    }
    let expires_on = check.date("expires_on", &form.expires_on);
    if expires_on.is_some_and(|d| d <= today) {
        check.error("expires_on", "The service must run past today.");
    }
    let (Some(plan), Some(expires_on), true) = (plan, expires_on, check.is_ok()) else {
        let page = ConvertPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "dashboard",
                format!("Select a paid plan for {}", customer.name),
            ),
            customer,
            plans,
            selected_plan: plan_id,
            expires_on: form.expires_on,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };
    if !store::lifecycle::convert(&mut tx, id, plan.id, expires_on).await? {
        return Ok(redirect_with_flash(
            &format!("/customers/{id}"),
            Flash::error(format!("{} is not an active evaluation any more.", customer.name)),
        ));
    }
    let mut entry = audit_entry(&user, now, "customer_converted", "customer", id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(id);
    entry.changes = store::audit::diff(&[
        ("tenant_type", json!(customer.tenant_type), json!("commercial")),
        ("trial_ends_on", json!(customer.trial_ends_on), json!(null)),
        ("service_plan_id", json!(customer.service_plan_id), json!(plan.id)),
        (
            "service_expires_on",
            json!(customer.service_expires_on),
            json!(expires_on),
        ),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/dashboard/expiring",
        Flash::success(format!("{} is now on the {} plan.", customer.name, plan.name)),
    ))
}
