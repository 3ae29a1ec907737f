//! `/customers…`: the reseller's customer list and everything done from its rows — toggles,
//! clients, deletion, the customer form, replication and invoicing settings.

mod account_email;
mod clients;
mod delete;
mod form;
mod list;
mod settings;

pub use form::{ThrottlingFields, ThrottlingInput, check_throttling};

use axum::Router;
use axum::routing::{get, post};

use crate::auth::CurrentUser;
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list::show_customers))
        .route("/customers.csv", get(list::export_customers))
        .route(
            "/customers/new",
            get(form::show_new_customer).post(form::create_customer),
        )
        .route(
            "/customers/{id}/edit",
            get(form::show_edit_customer).post(form::update_customer),
        )
        .route(
            "/customers/{id}/pass-key",
            get(form::confirm_regenerate_pass_key).post(form::regenerate_pass_key),
        )
        .route("/customers/{id}/auto-authorize", post(list::toggle_auto_authorize))
        .route("/customers/{id}/activation", post(list::toggle_activation))
        .route("/customers/{id}/clients", get(clients::show_clients))
        .route(
            "/customers/{id}/clients/new",
            get(clients::show_new_client).post(clients::create_client),
        )
        .route(
            "/customers/{id}/clients/{client_id}/delete",
            get(clients::confirm_delete_client).post(clients::delete_client),
        )
        .route(
            "/customers/{id}/clients/{client_id}/disable",
            get(clients::confirm_disable_client).post(clients::disable_client),
        )
        .route(
            "/customers/{id}/clients/{client_id}/enable",
            post(clients::enable_client),
        )
        .route("/customers/{id}/deleted", get(clients::show_deleted_items))
        .route(
            "/customers/{id}/delete",
            get(delete::confirm_delete_customer).post(delete::delete_customer),
        )
        .route(
            "/customers/{id}/replication",
            get(settings::show_replication).post(settings::update_replication),
        )
        .route(
            "/customers/{id}/invoice-config",
            get(settings::show_invoice_config).post(settings::update_invoice_config),
        )
        .route("/customers/{id}/invoices", get(settings::show_invoices))
        .route(
            "/customers/{id}/account-email",
            get(account_email::confirm_account_email).post(account_email::send_account_email),
        )
}

/// Customer management is for the operator and reseller staff (an admin logged in as a customer
/// has the customer's rights only, so it is refused too).
fn require_staff(user: &CurrentUser) -> Result<(), AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin])
}

/// A customer id from the URL; anything but a number is not found.
fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().map_err(|_| AppError::NotFound)
}

/// The audit entry for an action on `customer`: the tenant columns are the customer's own, so
/// the operator's actions appear in the reseller's audit trail too.
fn customer_audit<'a>(
    user: &'a CurrentUser,
    now: chrono::DateTime<chrono::Utc>,
    action: &'a str,
    reseller_id: i64,
    customer_id: i64,
) -> crate::store::audit::Entry<'a> {
    let mut entry = super::audit_entry(user, now, action, "customer", customer_id);
    entry.reseller_id = Some(reseller_id);
    entry.customer_id = Some(customer_id);
    entry
}
