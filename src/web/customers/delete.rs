//! `/customers/{id}/delete`: what deleting a customer removes, the choice of keeping its
//! clients (moved to the default customer), and scheduling the deletion.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::{customer_audit, parse_id, require_staff};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::customers::Customer;
use crate::web::path::Path;
use crate::web::{Layout, filters, redirect_with_flash, render};

#[derive(Template)]
#[template(path = "customers/delete.html")]
pub struct DeleteCustomerPage {
    pub layout: Layout,
    pub customer: Customer,
    pub retention_days: i64,
    pub delete_on: chrono::NaiveDate,
}

#[derive(Debug, Deserialize)]
pub struct DeleteCustomerForm {
    #[serde(default)]
    clients: String,
}

/// Rules that forbid deleting a customer at all, checked on the page and again on the post.
async fn refusal(tx: &mut store::Tx, customer: &Customer) -> Result<Option<String>, AppError> {
    if customer.is_default {
        return Ok(Some(
            "The default customer catches clients without a valid customer; it cannot be deleted.".into(),
        ));
    }
    if customer.lifecycle == "scheduled_for_deletion" {
        return Ok(Some(format!("{} is already scheduled for deletion.", customer.name)));
    }
    if store::customers::has_running_backup(tx, customer.id).await? {
        return Ok(Some(format!(
            "A backup of {} is running. Try again when it has finished.",
            customer.name
        )));
    }
    Ok(None)
}

pub async fn confirm_delete_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    if let Some(message) = refusal(&mut tx, &customer).await? {
        return Err(AppError::Conflict(message));
    }
    let retention_days = i64::from(store::customers::deletion_retention_days(&mut tx).await?);
    tx.commit().await?;
    let page = DeleteCustomerPage {
        layout: Layout::new(&user, flash, "customers", format!("Delete {}", customer.name)),
        delete_on: state.clock().today() + Duration::days(retention_days),
        customer,
        retention_days,
    };
    Ok(render(&page)?.into_response())
}

pub async fn delete_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<DeleteCustomerForm>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    // Another tenant's customer is not found before anything about the form is said.
    store::customers::lock(&mut tx, id).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let keep_clients = match form.clients.as_str() {
        "keep" => true,
        "delete" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Choose whether to keep the customer's clients or delete them.".into(),
            ));
        }
    };
    if let Some(message) = refusal(&mut tx, &customer).await? {
        return Err(AppError::Conflict(message));
    }
    let retention_days = i64::from(store::customers::deletion_retention_days(&mut tx).await?);
    let delete_on = state.clock().today() + Duration::days(retention_days);
    let clients = if keep_clients {
        if let Some(key) = store::customers::client_key_clash_with_default(&mut tx, id).await? {
            return Err(AppError::Conflict(format!(
                "The default customer already has a client with the id {key}; delete or rename one of them first."
            )));
        }
        store::customers::move_clients_to_default(&mut tx, id).await?
    } else {
        store::clients::delete_all(&mut tx, customer.reseller_id, id, user.name(), now).await?
    };
    store::customers::schedule_deletion(&mut tx, &customer, delete_on, user.name(), now).await?;
    let mut entry = customer_audit(&user, now, "customer_deletion_scheduled", customer.reseller_id, id);
    entry.changes = json!({
        "lifecycle": {"before": customer.lifecycle, "after": "scheduled_for_deletion"},
        "delete_on": delete_on,
        "clients": if keep_clients { "moved_to_default_customer" } else { "deleted" },
        "client_count": clients,
    });
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let clients_note = match (keep_clients, clients) {
        (_, 0) => String::new(),
        (true, n) => format!(" {n} client(s) moved to the default customer."),
        (false, n) => format!(" {n} client(s) deleted."),
    };
    Ok(redirect_with_flash(
        "/customers",
        Flash::success(format!(
            "{} is scheduled for deletion on {}.{clients_note}",
            customer.name,
            delete_on.format("%Y-%m-%d")
        )),
    ))
}
