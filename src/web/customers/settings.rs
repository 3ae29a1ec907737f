//! `/customers/{id}/replication`, `/invoice-config` and `/invoices`: where a customer's backups
//! are replicated, which invoice plan bills it, and the invoices generated for it.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{customer_audit, parse_id, require_staff};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::customers::Customer;
use crate::store::invoicing::{InvoicePlan, InvoiceRow};
use crate::web::forms::FormCheck;
use crate::web::path::Path;
use crate::web::{Layout, filters, redirect_with_flash, render};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReplicationInput {
    pub mode: String,
    pub target: String,
    pub schedule: String,
}

#[derive(Template)]
#[template(path = "customers/replication.html")]
pub struct ReplicationPage {
    pub layout: Layout,
    pub customer: Customer,
    pub input: ReplicationInput,
    pub errors: FieldErrors,
}

pub async fn show_replication(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    tx.commit().await?;
    let input = ReplicationInput {
        mode: customer.replication_mode.clone(),
        target: customer.replication_target.clone(),
        schedule: customer.replication_schedule.clone(),
    };
    let page = ReplicationPage {
        layout: Layout::new(&user, flash, "customers", format!("Replication of {}", customer.name)),
        customer,
        input,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

pub async fn update_replication(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<ReplicationInput>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut check = FormCheck::new();
    let mode = check.choice("mode", &input.mode, &["inherit", "custom"]);
    let custom = mode == "custom";
    let target = check.text("target", &input.target, custom, 200);
    let schedule = check.text("schedule", &input.schedule, custom, 120);
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    if !check.is_ok() {
        drop(tx);
        let page = ReplicationPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "customers",
                format!("Replication of {}", customer.name),
            ),
            customer,
            input,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    // Inheriting clears the custom values, so a later switch back starts from a clean form.
    let (target, schedule) = if custom {
        (target, schedule)
    } else {
        (String::new(), String::new())
    };
    store::customers::set_replication(&mut tx, id, mode, &target, &schedule).await?;
    let mut entry = customer_audit(&user, now, "customer_replication_changed", customer.reseller_id, id);
    entry.changes = store::audit::diff(&[
        ("replication_mode", json!(customer.replication_mode), json!(mode)),
        ("replication_target", json!(customer.replication_target), json!(target)),
        (
            "replication_schedule",
            json!(customer.replication_schedule),
            json!(schedule),
        ),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = if custom {
        format!("{} is now replicated to {target}.", customer.name)
    } else {
        format!("{} now follows the global replication settings.", customer.name)
    };
    Ok(redirect_with_flash(
        &format!("/customers/{id}/replication"),
        Flash::success(message),
    ))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InvoiceConfigInput {
    pub enabled: Option<String>,
    pub plan_id: String,
}

#[derive(Template)]
#[template(path = "customers/invoice_config.html")]
pub struct InvoiceConfigPage {
    pub layout: Layout,
    pub customer: Customer,
    pub plans: Vec<InvoicePlan>,
    pub enabled: bool,
    pub plan_id: String,
    pub errors: FieldErrors,
}

impl InvoiceConfigPage {
    fn plan_selected(&self, id: &i64) -> bool {
        self.plan_id == id.to_string()
    }
}

pub async fn show_invoice_config(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let plans = store::invoicing::plans(&mut tx, customer.reseller_id).await?;
    let config = store::invoicing::config(&mut tx, id).await?;
    tx.commit().await?;
    let page = InvoiceConfigPage {
        layout: Layout::new(&user, flash, "customers", format!("Invoicing of {}", customer.name)),
        customer,
        plans,
        enabled: config.as_ref().is_some_and(|c| c.enabled),
        plan_id: config
            .and_then(|c| c.plan_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

pub async fn update_invoice_config(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<InvoiceConfigInput>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let plans = store::invoicing::plans(&mut tx, customer.reseller_id).await?;
    let before = store::invoicing::config(&mut tx, id).await?;
    let enabled = input.enabled.is_some();
    // Only a plan of the customer's own reseller may bill it.
    let plan = input
        .plan_id
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|pid| plans.iter().find(|p| p.id == pid));
    if enabled && plan.is_none() {
        drop(tx);
        let message = if plans.is_empty() {
            "The reseller has no invoice plans yet; create one first."
        } else {
            "Choose the invoice plan that bills this customer."
        };
        let page = InvoiceConfigPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "customers",
                format!("Invoicing of {}", customer.name),
            ),
            customer,
            plans,
            enabled,
            plan_id: input.plan_id,
            errors: FieldErrors::from([("plan_id", message.to_string())]),
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let plan_id = if enabled { plan.map(|p| p.id) } else { None };
    store::invoicing::set_config(&mut tx, customer.reseller_id, id, plan_id, now).await?;
    let mut entry = customer_audit(&user, now, "customer_invoicing_changed", customer.reseller_id, id);
    entry.object_kind = "invoice_config";
    entry.changes = store::audit::diff(&[
        (
            "enabled",
            json!(before.as_ref().is_some_and(|c| c.enabled)),
            json!(enabled),
        ),
        (
            "plan_id",
            json!(before.as_ref().and_then(|c| c.plan_id)),
            json!(plan_id.or(before.as_ref().and_then(|c| c.plan_id))),
        ),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = match plan {
        Some(plan) if enabled => format!("{} is now invoiced on the plan {}.", customer.name, plan.name),
        _ => format!("Invoicing of {} is off.", customer.name),
    };
    Ok(redirect_with_flash(
        &format!("/customers/{id}/invoice-config"),
        Flash::success(message),
    ))
}

#[derive(Template)]
#[template(path = "customers/invoices.html")]
pub struct InvoicesPage {
    pub layout: Layout,
    pub customer: Customer,
    pub invoices: Vec<InvoiceRow>,
    /// (currency, sum of totals, as "1234.56 EUR") over the invoices listed.
    pub totals: Vec<(String, String)>,
}

impl InvoiceRow {
    /// 123456 EUR minor units → "1234.56 EUR".
    pub fn total(&self) -> String {
        format!(
            "{}.{:02} {}",
            self.total_minor / 100,
            self.total_minor % 100,
            self.currency
        )
    }
}

pub async fn show_invoices(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let invoices = store::invoicing::invoices(&mut tx, id).await?;
    tx.commit().await?;
    let mut sums: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for invoice in &invoices {
        *sums.entry(invoice.currency.clone()).or_default() += invoice.total_minor;
    }
    let totals = sums
        .into_iter()
        .map(|(currency, minor)| {
            let text = format!("{} {currency}", crate::domain::invoicing::format_minor(minor));
            (currency, text)
        })
        .collect();
    let page = InvoicesPage {
        layout: Layout::new(&user, flash, "customers", format!("Invoices of {}", customer.name)),
        customer,
        invoices,
        totals,
    };
    Ok(render(&page)?.into_response())
}
