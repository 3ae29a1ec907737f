//! `/space`: disk space and MCALs of resellers → customers → clients, each client's backup
//! schedules, space limits edited inline at every level, and a client's bandwidth throttling.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::customers::{ThrottlingInput, check_throttling};
use super::forms::FormCheck;
use super::{Layout, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::space::{SpaceRefusal, check_child, check_parent};
use crate::domain::tenancy::Role;
use crate::domain::throttling::{self, Throttling};
use crate::domain::units::format_bytes;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::space::{ClientContext, ClientSpace, CustomerSpace, ResellerSpace};
use crate::web::path::Path;

const GIB: i64 = 1 << 30;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/space", get(show_space))
        .route("/space/resellers/{id}", post(update_reseller_space))
        .route("/space/customers/{id}", post(update_customer_space))
        .route("/space/clients/{id}", post(update_client_space))
        .route(
            "/space/clients/{id}/throttling",
            get(show_client_throttling).post(update_client_throttling),
        )
}

fn require_staff(user: &CurrentUser) -> Result<(), AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin])
}

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().map_err(|_| AppError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
pub struct SpaceQuery {
    reseller: Option<String>,
}

/// A refused inline edit: which row, what was typed, why.
pub struct RowError {
    pub row: String,
    pub value: String,
    pub message: String,
}

pub struct CustomerNode {
    pub customer: CustomerSpace,
    pub clients: Vec<ClientSpace>,
}

pub struct ResellerNode {
    pub reseller: ResellerSpace,
    /// Empty when the operator has not opened this reseller.
    pub customers: Vec<CustomerNode>,
    pub expanded: bool,
}

#[derive(Template)]
#[template(path = "space/index.html")]
pub struct SpacePage {
    pub layout: Layout,
    pub tree: Vec<ResellerNode>,
    pub operator: bool,
    pub row_error: Option<RowError>,
}

impl SpacePage {
    fn bytes(&self, value: impl std::borrow::Borrow<i64>) -> String {
        format_bytes(*value.borrow())
    }

    fn limit(&self, value: &Option<i64>) -> String {
        value.map_or_else(|| "no limit".to_string(), format_bytes)
    }

    /// The GiB value an inline form shows: what was just refused, or the stored value.
    fn gib(&self, row: &str, value: &Option<i64>) -> String {
        match &self.row_error {
            Some(error) if error.row == row => error.value.clone(),
            _ => value.map(|v| (v / GIB).to_string()).unwrap_or_default(),
        }
    }

    fn gib_bytes(&self, row: &str, value: impl std::borrow::Borrow<i64>) -> String {
        self.gib(row, &Some(*value.borrow()))
    }

    fn error_for(&self, row: &str) -> Option<&str> {
        self.row_error
            .as_ref()
            .filter(|e| e.row == row)
            .map(|e| e.message.as_str())
    }

    fn free(&self, allotted: &Option<i64>, given: &i64) -> String {
        allotted.map_or_else(|| "—".to_string(), |a| format_bytes((a - given).max(0)))
    }
}

impl ResellerSpace {
    pub fn mcals_free(&self) -> i64 {
        crate::domain::licensing::mcal_pool_free(i64::from(self.mcal_pool), self.mcals_drawn)
    }
}

async fn space_page(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashMessage,
    selected: Option<i64>,
    row_error: Option<RowError>,
) -> Result<Response, AppError> {
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let resellers = store::space::resellers(&mut tx, None).await?;
    // Reseller staff see their own reseller opened; the operator opens one at a time (or the
    // only one there is), so the page stays bounded whatever the installation's size.
    let open = match selected {
        Some(id) => Some(id),
        None if resellers.len() == 1 => resellers.first().map(|r| r.id),
        None => None,
    };
    if let Some(id) = open
        && !resellers.iter().any(|r| r.id == id)
    {
        return Err(AppError::NotFound);
    }
    let (customers, clients) = match open {
        Some(id) => (
            store::space::customers(&mut tx, id).await?,
            store::space::clients(&mut tx, id).await?,
        ),
        None => (vec![], vec![]),
    };
    tx.commit().await?;
    let mut clients_by_customer: std::collections::HashMap<i64, Vec<ClientSpace>> = Default::default();
    for client in clients {
        clients_by_customer.entry(client.customer_id).or_default().push(client);
    }
    let mut customer_nodes: Vec<CustomerNode> = customers
        .into_iter()
        .map(|customer| CustomerNode {
            clients: clients_by_customer.remove(&customer.id).unwrap_or_default(),
            customer,
        })
        .collect();
    let tree = resellers
        .into_iter()
        .map(|reseller| {
            let expanded = open == Some(reseller.id);
            ResellerNode {
                customers: if expanded {
                    std::mem::take(&mut customer_nodes)
                } else {
                    vec![]
                },
                reseller,
                expanded,
            }
        })
        .collect();
    let status = if row_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SpacePage {
        layout: Layout::new(user, flash, "space", "Disk space and clients"),
        tree,
        operator: user.role == Role::Operator,
        row_error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn show_space(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<SpaceQuery>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let selected = match query.reseller.as_deref().map(str::trim) {
        Some(value) if !value.is_empty() => Some(
            value
                .parse::<i64>()
                .map_err(|_| AppError::BadRequest("The reseller must be given by its number.".into()))?,
        ),
        _ => None,
    };
    space_page(&state, &user, flash, selected, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LimitInput {
    gib: String,
}

/// The typed GiB value: empty is "no limit" where `optional`; anything else must be a whole number ≥ 0.
fn read_gib(value: &str, optional: bool) -> Result<Option<i64>, String> {
    let mut check = FormCheck::new();
    let parsed = if optional {
        check.optional_number("gib", value, 0, i64::MAX / GIB)
    } else {
        Some(check.number("gib", value, 0, i64::MAX / GIB))
    };
    match check.errors.remove("gib") {
        Some(message) => Err(message),
        None => Ok(parsed.map(|gib| gib * GIB)),
    }
}

fn refusal_message(refusal: SpaceRefusal, parent: &str, children: &str) -> String {
    match refusal {
        SpaceRefusal::ExceedsParent { free } => {
            format!("That is more than {parent} has left to allot ({}).", format_bytes(free))
        }
        SpaceRefusal::BelowChildren { allotted_to_children } => format!(
            "{children} already have {} between them; lower theirs first.",
            format_bytes(allotted_to_children)
        ),
    }
}

fn space_link(user: &CurrentUser, reseller_id: i64) -> String {
    if user.role == Role::Operator {
        format!("/space?reseller={reseller_id}")
    } else {
        "/space".to_string()
    }
}

async fn update_reseller_space(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<LimitInput>,
) -> Result<Response, AppError> {
    // The operator gives resellers their space; a reseller cannot give itself more.
    user.require(&[Role::Operator])?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let row = format!("reseller-{id}");
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let reseller = store::resellers::lock(&mut tx, id).await?;
    let refused = match read_gib(&input.gib, false) {
        Err(message) => Some(message),
        Ok(bytes) => check_parent(bytes, reseller.allotted_to_customers)
            .err()
            .map(|r| refusal_message(r, "the reseller", "Its customers")),
    };
    if let Some(message) = refused {
        drop(tx);
        let error = RowError {
            row,
            value: input.gib,
            message,
        };
        return space_page(&state, &user, FlashMessage::default(), Some(id), Some(error)).await;
    }
    let bytes = read_gib(&input.gib, false).ok().flatten().unwrap_or(0);
    store::space::set_reseller_disk_space(&mut tx, id, bytes).await?;
    let mut entry = super::audit_entry(&user, now, "reseller_disk_space_changed", "reseller", id);
    entry.reseller_id = Some(id);
    entry.changes = store::audit::diff(&[("disk_space_bytes", json!(reseller.disk_space_bytes), json!(bytes))]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &space_link(&user, id),
        Flash::success(format!(
            "{} now has {} of disk space.",
            reseller.name,
            format_bytes(bytes)
        )),
    ))
}

async fn update_customer_space(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<LimitInput>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    store::customers::lock(&mut tx, id).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let snapshot = store::customers::reseller_snapshot(&mut tx, customer.reseller_id, Some(id), true).await?;
    let clients = store::space::customers(&mut tx, customer.reseller_id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.allotted_to_clients)
        .unwrap_or(0);
    let refused = match read_gib(&input.gib, true) {
        Err(message) => Some(message),
        Ok(bytes) => check_child(Some(snapshot.disk_space_bytes), snapshot.allotted_to_customers, bytes)
            .and_then(|()| check_parent(bytes, clients))
            .err()
            .map(|r| refusal_message(r, "the reseller", "Its clients")),
    };
    if let Some(message) = refused {
        drop(tx);
        let error = RowError {
            row: format!("customer-{id}"),
            value: input.gib,
            message,
        };
        return space_page(
            &state,
            &user,
            FlashMessage::default(),
            Some(customer.reseller_id),
            Some(error),
        )
        .await;
    }
    let bytes = read_gib(&input.gib, true).ok().flatten();
    store::space::set_customer_quota(&mut tx, id, bytes).await?;
    let mut entry = super::audit_entry(&user, now, "customer_space_quota_changed", "customer", id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(id);
    entry.changes = store::audit::diff(&[("space_quota_bytes", json!(customer.space_quota_bytes), json!(bytes))]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let limit = bytes.map_or_else(|| "no limit".to_string(), format_bytes);
    Ok(redirect_with_flash(
        &space_link(&user, customer.reseller_id),
        Flash::success(format!("{}'s space: {limit}.", customer.name)),
    ))
}

async fn update_client_space(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<LimitInput>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let client = store::space::client(&mut tx, id).await?;
    // The customer's row is the lock that serialises its clients' limits.
    store::customers::lock(&mut tx, client.customer_id).await?;
    let client = store::space::client(&mut tx, id).await?;
    let refused = match read_gib(&input.gib, true) {
        Err(message) => Some(message),
        Ok(bytes) => check_child(client.customer_quota, client.others_allotted, bytes)
            .err()
            .map(|r| refusal_message(r, "the customer", "")),
    };
    if let Some(message) = refused {
        drop(tx);
        let error = RowError {
            row: format!("client-{id}"),
            value: input.gib,
            message,
        };
        return space_page(
            &state,
            &user,
            FlashMessage::default(),
            Some(client.reseller_id),
            Some(error),
        )
        .await;
    }
    let bytes = read_gib(&input.gib, true).ok().flatten();
    store::space::set_client_limit(&mut tx, id, bytes).await?;
    let mut entry = super::audit_entry(&user, now, "client_space_limit_changed", "client", id);
    entry.reseller_id = Some(client.reseller_id);
    entry.customer_id = Some(client.customer_id);
    entry.changes = store::audit::diff(&[("space_limit_bytes", json!(client.space_limit_bytes), json!(bytes))]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let limit = bytes.map_or_else(|| "no limit".to_string(), format_bytes);
    Ok(redirect_with_flash(
        &space_link(&user, client.reseller_id),
        Flash::success(format!("Client {}: {limit}.", client.client_key)),
    ))
}

#[derive(Template)]
#[template(path = "space/client_throttling.html")]
pub struct ClientThrottlingPage {
    pub layout: Layout,
    pub client: ClientContext,
    pub input: ThrottlingInput,
    pub errors: FieldErrors,
    pub inherited: String,
    pub effective: String,
}

fn resolved(client: &ClientContext) -> (String, String) {
    let own = Throttling::from_json(client.bandwidth_throttling.as_ref());
    let customer = Throttling::from_json(client.customer_throttling.as_ref());
    let reseller = Throttling::from_json(client.reseller_throttling.as_ref());
    let server = Throttling::from_json(client.server_throttling.as_ref());
    (
        throttling::resolve(None, customer.as_ref(), reseller.as_ref(), server.as_ref()).describe(),
        throttling::resolve(own.as_ref(), customer.as_ref(), reseller.as_ref(), server.as_ref()).describe(),
    )
}

async fn show_client_throttling(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let client = store::space::client(&mut tx, id).await?;
    tx.commit().await?;
    let (inherited, effective) = resolved(&client);
    let page = ClientThrottlingPage {
        layout: Layout::new(
            &user,
            flash,
            "space",
            format!("Throttling of client {}", client.client_key),
        ),
        input: ThrottlingInput::of(client.bandwidth_throttling.as_ref()),
        client,
        errors: FieldErrors::new(),
        inherited,
        effective,
    };
    Ok(render(&page)?.into_response())
}

async fn update_client_throttling(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<ThrottlingInput>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut check = FormCheck::new();
    let setting = check_throttling(&mut check, &input.fields());
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let client = store::space::client(&mut tx, id).await?;
    if !check.is_ok() {
        drop(tx);
        let (inherited, effective) = resolved(&client);
        let page = ClientThrottlingPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "space",
                format!("Throttling of client {}", client.client_key),
            ),
            client,
            input,
            errors: check.errors,
            inherited,
            effective,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    store::space::set_client_throttling(&mut tx, id, setting.as_ref()).await?;
    let mut entry = super::audit_entry(&user, now, "client_throttling_changed", "client", id);
    entry.reseller_id = Some(client.reseller_id);
    entry.customer_id = Some(client.customer_id);
    entry.changes = store::audit::diff(&[(
        "bandwidth_throttling",
        json!(client.bandwidth_throttling),
        json!(setting),
    )]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/space/clients/{id}/throttling"),
        Flash::success(format!("Throttling of client {} was saved.", client.client_key)),
    ))
}
