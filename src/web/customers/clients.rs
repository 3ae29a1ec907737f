//! `/customers/{id}/clients…` and `/customers/{id}/deleted`: a customer's clients, adding one by
//! hand (under the MCAL and max-client rules), disabling and enabling one, deleting one, and the
//! deleted-items report.

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
use crate::domain::licensing::{check_new_client, mcal_pool_free};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::clients::{ClientRow, DeletedItem};
use crate::store::customers::Customer;
use crate::web::forms::FormCheck;
use crate::web::path::Path;
use crate::web::{ConfirmPage, Layout, filters, redirect_with_flash, render};

#[derive(Template)]
#[template(path = "customers/clients.html")]
pub struct ClientsPage {
    pub layout: Layout,
    pub customer: Customer,
    pub clients: Vec<ClientRow>,
}

pub async fn show_clients(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let clients = store::clients::list(&mut tx, id).await?;
    tx.commit().await?;
    let page = ClientsPage {
        layout: Layout::new(&user, flash, "customers", format!("Clients of {}", customer.name)),
        customer,
        clients,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "customers/new_client.html")]
pub struct NewClientPage {
    pub layout: Layout,
    pub customer: Customer,
    pub client_key: String,
    pub hostname: String,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct NewClientForm {
    #[serde(default)]
    client_key: String,
    #[serde(default)]
    hostname: String,
}

pub async fn show_new_client(
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
    let page = NewClientPage {
        layout: Layout::new(&user, flash, "customers", format!("Add a client to {}", customer.name)),
        customer,
        client_key: String::new(),
        hostname: String::new(),
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

pub async fn create_client(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<NewClientForm>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut check = FormCheck::new();
    let client_key = check.text("client_key", &form.client_key, true, 120);
    let hostname = check.text("hostname", &form.hostname, false, 253);

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    store::customers::lock(&mut tx, id).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    if customer.lifecycle == "scheduled_for_deletion" {
        check.error(
            "client_key",
            "This customer is scheduled for deletion; it cannot get new clients.",
        );
    }
    let pool = store::clients::lock_pool(&mut tx, customer.reseller_id).await?;
    if check.is_ok()
        && let Err(refusal) = check_new_client(
            customer.max_clients.map(i64::from),
            customer.clients,
            customer.mcals_allotted.map(i64::from),
            mcal_pool_free(i64::from(pool.mcal_pool), pool.drawing_from_pool),
        )
    {
        check.error("client_key", refusal.to_string());
    }
    let inserted = if check.is_ok() {
        let new = store::clients::NewClient {
            client_key: &client_key,
            hostname: &hostname,
            os: "",
            created_by: "admin",
            now,
        };
        store::clients::insert(&mut tx, customer.reseller_id, id, &new).await?
    } else {
        None
    };
    let Some(client_id) = inserted else {
        if check.is_ok() {
            check.error("client_key", "This customer already has a client with this id.");
        }
        drop(tx);
        let page = NewClientPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "customers",
                format!("Add a client to {}", customer.name),
            ),
            customer,
            client_key,
            hostname,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };
    let mut entry = customer_audit(&user, now, "client_added", customer.reseller_id, id);
    entry.object_kind = "client";
    entry.object_id = client_id.to_string();
    entry.changes = json!({"client_key": client_key, "hostname": hostname});
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}/clients"),
        Flash::success(format!("Client {client_key} was added to {}.", customer.name)),
    ))
}

pub async fn confirm_delete_client(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let (id, client_id) = (parse_id(&id)?, parse_id(&client_id)?);
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let client = store::clients::get(&mut tx, id, client_id).await?;
    tx.commit().await?;
    let page = ConfirmPage {
        layout: Layout::new(&user, flash, "customers", "Delete a client"),
        heading: format!("Delete client {}?", client.client_key),
        message: format!(
            "The client is removed from {} and frees its MCAL. The deletion is listed in the customer's deleted-items report.",
            customer.name
        ),
        details: vec![format!(
            "Backup data of this client: {}",
            crate::domain::units::format_bytes(client.used_space_bytes)
        )],
        action: format!("/customers/{id}/clients/{client_id}/delete"),
        hidden: vec![],
        button: "Delete client".into(),
        cancel: format!("/customers/{id}/clients"),
        danger: true,
    };
    Ok(render(&page)?.into_response())
}

pub async fn delete_client(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let (id, client_id) = (parse_id(&id)?, parse_id(&client_id)?);
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let client = store::clients::get(&mut tx, id, client_id).await?;
    store::clients::delete(&mut tx, customer.reseller_id, id, client_id, user.name(), now).await?;
    let mut entry = customer_audit(&user, now, "client_deleted", customer.reseller_id, id);
    entry.object_kind = "client";
    entry.object_id = client_id.to_string();
    entry.changes = json!({"client_key": client.client_key});
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}/clients"),
        Flash::success(format!("Client {} was deleted.", client.client_key)),
    ))
}

pub async fn confirm_disable_client(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let (id, client_id) = (parse_id(&id)?, parse_id(&client_id)?);
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let client = store::clients::get(&mut tx, id, client_id).await?;
    tx.commit().await?;
    if client.status == "disabled" {
        return Ok(redirect_with_flash(
            &format!("/customers/{id}/clients"),
            Flash::error(format!("Client {} is already disabled.", client.client_key)),
        ));
    }
    let last_seen = client.last_seen_at.map_or_else(
        || "Its agent has not reported yet.".to_string(),
        |at| format!("Its agent last reported at {}.", at.format("%Y-%m-%d %H:%M UTC")),
    );
    let page = ConfirmPage {
        layout: Layout::new(&user, flash, "customers", "Disable a client"),
        heading: format!("Disable client {}?", client.client_key),
        message: format!(
            "Its agent's reports and registrations are refused until you enable the client again. \
             The backups it made for {} are kept, and it still takes an MCAL until you delete it.",
            customer.name
        ),
        details: vec![last_seen],
        action: format!("/customers/{id}/clients/{client_id}/disable"),
        hidden: vec![],
        button: "Disable client".into(),
        cancel: format!("/customers/{id}/clients"),
        danger: true,
    };
    Ok(render(&page)?.into_response())
}

pub async fn disable_client(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    set_client_disabled(&state, &user, &id, &client_id, true).await
}

pub async fn enable_client(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    set_client_disabled(&state, &user, &id, &client_id, false).await
}

async fn set_client_disabled(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    client_id: &str,
    disabled: bool,
) -> Result<Response, AppError> {
    require_staff(user)?;
    let (id, client_id) = (parse_id(id)?, parse_id(client_id)?);
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    // Agent reports lock the customer's row first; so does this, so that a report is stored
    // wholly before the change or refused wholly after it.
    store::customers::lock(&mut tx, id).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let client = store::clients::get(&mut tx, id, client_id).await?;
    let changed = store::clients::set_disabled(&mut tx, customer.reseller_id, id, client_id, disabled).await?;
    let key = &client.client_key;
    let flash = match (changed, disabled) {
        (false, true) => Flash::error(format!("Client {key} is already disabled.")),
        (false, false) => Flash::error(format!("Client {key} is already enabled.")),
        (true, true) => Flash::success(format!(
            "Client {key} was disabled; its agent's reports are refused until you enable it."
        )),
        (true, false) => Flash::success(format!(
            "Client {key} was enabled; its agent's reports are accepted again."
        )),
    };
    if changed {
        let action = if disabled { "client_disabled" } else { "client_enabled" };
        let mut entry = customer_audit(user, now, action, customer.reseller_id, id);
        entry.object_kind = "client";
        entry.object_id = client_id.to_string();
        entry.changes = json!({"client_key": key, "status_before": client.status});
        store::audit::record(&mut tx, entry).await?;
        tx.commit().await?;
    }
    Ok(redirect_with_flash(&format!("/customers/{id}/clients"), flash))
}

#[derive(Template)]
#[template(path = "customers/deleted.html")]
pub struct DeletedItemsPage {
    pub layout: Layout,
    pub customer: Customer,
    pub items: Vec<DeletedItem>,
}

impl DeletedItem {
    pub fn kind_label(&self) -> &'static str {
        match self.item_kind.as_str() {
            "client" => "Client",
            "backup" => "Backup",
            _ => "Customer",
        }
    }

    pub fn by_label(&self) -> &'static str {
        match self.deleted_by_kind.as_str() {
            "admin" => "an administrator",
            "customer" => "the customer",
            "engine" => "the server (retention)",
            _ => "the client's agent",
        }
    }
}

pub async fn show_deleted_items(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let items = store::clients::deleted_items(&mut tx, id).await?;
    tx.commit().await?;
    let page = DeletedItemsPage {
        layout: Layout::new(&user, flash, "customers", format!("Deleted items of {}", customer.name)),
        customer,
        items,
    };
    Ok(render(&page)?.into_response())
}
