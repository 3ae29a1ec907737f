//! `/portal`: a customer's own view: its clients, data sources, backups, usage, alerts and the
//! activity on its account, and adding a client within its limits. Customer users and admins
//! logged in as the customer see it; nothing of another customer is reachable from here.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::charts::{Bar, BarChart, Segment};
use super::{Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::licensing::McalRefusal;
use crate::domain::licensing::{ClientRefusal, check_new_client};
use crate::domain::tenancy::Role;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::audit::{ChangeLine, LogFilter, LogRow, change_lines};
use crate::store::clients::NewClient;
use crate::store::portal::{AlertRow, ClientLimits, ClientRow, ConnectorRow, CustomerSummary, JobRow, UsageDay};
use crate::web::forms::FormCheck;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(show_portal))
        .route("/portal/clients", post(add_client))
}

/// Days of usage the portal shows.
const USAGE_DAYS: i64 = 30;
const ACTIVITY_ROWS: i64 = 30;

#[derive(Template)]
#[template(path = "portal/index.html")]
pub struct PortalPage {
    pub layout: Layout,
    pub customer: CustomerSummary,
    pub connectors: Vec<ConnectorRow>,
    pub jobs: Vec<JobRow>,
    pub clients: Vec<ClientRow>,
    pub usage: Vec<UsageDay>,
    /// The storage chart's SVG.
    pub usage_chart: String,
    pub alerts: Vec<AlertRow>,
    pub activity: Vec<(LogRow, Vec<ChangeLine>)>,
    pub add_refusal: Option<String>,
    pub form: ClientForm,
    pub errors: FieldErrors,
    pub impersonating: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ClientForm {
    #[serde(default)]
    pub client_key: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub os: String,
}

/// Why no client may be added now, in the customer's words; `None` when one may.
pub fn client_refusal(limits: &ClientLimits) -> Option<String> {
    let checked = check_new_client(
        limits.max_clients.map(i64::from),
        limits.clients,
        limits.mcals_allotted.map(i64::from),
        limits.pool_free,
    );
    match checked {
        Ok(()) => None,
        Err(ClientRefusal::MaxClients) => Some(format!(
            "Your account allows at most {} clients, and all are in use.",
            limits.max_clients.unwrap_or_default()
        )),
        Err(ClientRefusal::Mcal(McalRefusal::AllotmentUsedUp)) => Some(format!(
            "All {} client licences (MCALs) allotted to your account are in use.",
            limits.mcals_allotted.unwrap_or_default()
        )),
        Err(ClientRefusal::Mcal(McalRefusal::PoolUsedUp)) => {
            Some("Your provider has no client licences (MCALs) left; ask them for more.".to_string())
        }
    }
}

async fn load_page(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashMessage,
    form: ClientForm,
    errors: FieldErrors,
) -> Result<PortalPage, AppError> {
    let today = state.clock().today();
    let from = today - Duration::days(USAGE_DAYS - 1);
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::portal::summary(&mut tx).await?;
    let connectors = store::portal::connectors(&mut tx).await?;
    let jobs = store::portal::recent_jobs(&mut tx, 20).await?;
    let clients = store::portal::clients(&mut tx).await?;
    let usage = store::portal::usage(&mut tx, from).await?;
    let alerts = store::portal::alerts(&mut tx, 20).await?;
    let activity = store::audit::list(
        &mut tx,
        &LogFilter {
            limit: ACTIVITY_ROWS,
            ..LogFilter::default()
        },
    )
    .await?;
    let limits = store::portal::client_limits(&mut tx, false).await?;
    tx.commit().await?;
    // GiB once there is enough to fill bars with; MiB for small accounts.
    let largest = usage.iter().map(|u| u.storage_bytes).max().unwrap_or(0);
    let (unit, divisor) = if largest >= 10 * (1 << 30) {
        ("GiB", 1_i64 << 30)
    } else {
        ("MiB", 1_i64 << 20)
    };
    let bars: Vec<Bar> = usage
        .iter()
        .map(|u| Bar {
            label: u.day.format("%d").to_string(),
            segments: vec![Segment {
                value: (u.storage_bytes / divisor) as f64,
                class: "seg-secondary",
            }],
            title: format!(
                "{}: {} stored, {:.2} credits",
                u.day.format("%Y-%m-%d"),
                crate::domain::units::format_bytes(u.storage_bytes),
                u.credits_consumed
            ),
        })
        .collect();
    let usage_chart = BarChart::new(
        "usage-chart",
        &format!("Storage used per day, last {USAGE_DAYS} days"),
        bars,
        |v| format!("{v:.0} {unit}"),
    )
    .svg();
    Ok(PortalPage {
        layout: Layout::new(user, flash, "portal", "Overview"),
        customer,
        connectors,
        jobs,
        clients,
        usage_chart,
        usage: usage.into_iter().rev().take(7).collect(),
        alerts,
        activity: activity
            .into_iter()
            .map(|row| {
                let changes = change_lines(&row.changes);
                (row, changes)
            })
            .collect(),
        add_refusal: client_refusal(&limits),
        form,
        errors,
        impersonating: user.impersonating.is_some(),
    })
}

async fn show_portal(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
) -> Result<Html<String>, AppError> {
    user.require(&[Role::Customer])?;
    let page = load_page(&state, &user, flash, ClientForm::default(), FieldErrors::new()).await?;
    render(&page)
}

async fn add_client(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ClientForm>,
) -> Result<Response, AppError> {
    user.require(&[Role::Customer])?;
    let mut check = FormCheck::new();
    let client_key = check.text("client_key", &form.client_key, true, 120);
    let hostname = check.text("hostname", &form.hostname, false, 255);
    let os = check.text("os", &form.os, false, 120);
    if !check.is_ok() {
        let page = load_page(&state, &user, FlashMessage::default(), form, check.errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let limits = store::portal::client_limits(&mut tx, true).await?;
    if let Some(refusal) = client_refusal(&limits) {
        return Err(AppError::Conflict(refusal));
    }
    let added = store::portal::add_client(
        &mut tx,
        &NewClient {
            client_key: &client_key,
            hostname: &hostname,
            os: &os,
            created_by: "customer",
            now,
        },
    )
    .await?;
    let Some(client_id) = added else {
        drop(tx);
        let mut check = FormCheck::new();
        check.error("client_key", "You already have a client with this id.");
        let page = load_page(&state, &user, FlashMessage::default(), form, check.errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };
    let mut entry = audit_entry(&user, now, "client_added", "client", client_id);
    entry.changes = store::audit::diff(&[
        ("client_id", json!(null), json!(client_key)),
        (
            "hostname",
            json!(null),
            json!(Some(&hostname).filter(|h| !h.is_empty())),
        ),
        ("os", json!(null), json!(Some(&os).filter(|o| !o.is_empty()))),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/portal",
        Flash::success(format!("Client {client_key} added. Its agent can now connect.")),
    ))
}
