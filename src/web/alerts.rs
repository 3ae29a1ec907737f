//! `/alerts`: open and recent alerts about the customers in scope (a reseller's staff: its own;
//! the operator: all), with acknowledge and resolve actions.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::listing::{Cursor, PAGE_SIZE, link};
use super::login::safe_next;
use super::{Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::alerts::{AlertRow, CustomerOption, Filter};
use crate::web::path::Path;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(show_alerts))
        .route("/alerts/{id}/acknowledge", post(acknowledge_alert))
        .route("/alerts/{id}/resolve", post(resolve_alert))
}

const STAFF: [Role; 3] = [Role::Operator, Role::ResellerOwner, Role::ResellerAdmin];
pub const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];
pub const STATES: [&str; 5] = ["open", "recent", "acknowledged", "resolved", "all"];
/// How a state reads in the filter.
pub fn state_label(state: &str) -> &'static str {
    match state {
        "open" => "Open",
        "recent" => "Open or resolved in the last 30 days",
        "acknowledged" => "Acknowledged, not resolved",
        "resolved" => "Resolved",
        _ => "All",
    }
}

/// How far back "recent" reaches for resolved alerts.
pub const RECENT_DAYS: i64 = 30;

#[derive(Debug, Default, Deserialize)]
pub struct AlertsQuery {
    severity: Option<String>,
    customer: Option<String>,
    state: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "alerts/index.html")]
pub struct AlertsPage {
    pub layout: Layout,
    pub alerts: Vec<AlertRow>,
    pub customers: Vec<CustomerOption>,
    pub severity: String,
    pub customer: Option<i64>,
    pub state: String,
    pub next_page: Option<String>,
    pub first_page: Option<String>,
    pub here: String,
    pub show_reseller: bool,
}

/// One redrawn row, answered to htmx after an action.
#[derive(Template)]
#[template(path = "alerts/row.html")]
pub struct AlertRowFragment {
    pub layout: Layout,
    pub a: AlertRow,
    pub here: String,
    pub show_reseller: bool,
}

impl AlertsPage {
    fn is_customer(&self, id: &i64) -> bool {
        self.customer == Some(*id)
    }

    fn is_severity(&self, value: &str) -> bool {
        self.severity == value
    }

    fn is_state(&self, value: &str) -> bool {
        self.state == value
    }
}

fn allowed<'a>(value: Option<&str>, allowed: &[&'a str], what: &str) -> Result<Option<&'a str>, AppError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => allowed
            .iter()
            .find(|a| **a == v)
            .copied()
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("Unknown {what} \u{201c}{v}\u{201d}."))),
    }
}

async fn show_alerts(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<AlertsQuery>,
) -> Result<Response, AppError> {
    user.require(&STAFF)?;
    let severity = allowed(query.severity.as_deref(), &SEVERITIES, "severity")?;
    let alert_state = allowed(query.state.as_deref(), &STATES, "state")?.unwrap_or("open");
    let customer = match query.customer.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest("The customer filter must be a number.".into()))?,
        ),
    };
    let cursor = Cursor::decode(query.after.as_deref())?;
    let before = match cursor {
        None => None,
        Some(c) => Some((
            DateTime::parse_from_rfc3339(&c.key)
                .map_err(|_| {
                    AppError::BadRequest("The page link is not valid; start again from the first page.".into())
                })?
                .with_timezone(&Utc),
            c.id,
        )),
    };
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let mut alerts = store::alerts::list(
        &mut tx,
        &Filter {
            severity,
            customer_id: customer,
            state: alert_state,
            recent_since: state.clock().now() - chrono::Duration::days(RECENT_DAYS),
            only_id: None,
            before,
            limit: PAGE_SIZE + 1,
        },
    )
    .await?;
    let customers = store::alerts::customers_with_alerts(&mut tx).await?;
    tx.commit().await?;

    let customer_value = customer.map(|c| c.to_string()).unwrap_or_default();
    let current: Vec<(&str, String)> = vec![
        ("severity", severity.unwrap_or_default().to_string()),
        ("customer", customer_value),
        (
            "state",
            if alert_state == "open" {
                String::new()
            } else {
                alert_state.to_string()
            },
        ),
    ];
    let next_page = if alerts.len() as i64 > PAGE_SIZE {
        alerts.truncate(PAGE_SIZE as usize);
        alerts.last().map(|last| {
            let cursor = Cursor {
                key: last.raised_at.to_rfc3339(),
                id: last.id,
            };
            link("/alerts", &current, &[("after", &cursor.encode())])
        })
    } else {
        None
    };
    let here = link(
        "/alerts",
        &current,
        &[("after", query.after.as_deref().unwrap_or_default())],
    );
    let page = AlertsPage {
        layout: Layout::new(&user, flash, "alerts", "Alerts"),
        alerts,
        customers,
        severity: severity.unwrap_or_default().to_string(),
        customer,
        state: alert_state.to_string(),
        next_page,
        first_page: query
            .after
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|_| link("/alerts", &current, &[])),
        here,
        show_reseller: user.effective_role() == Role::Operator,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    back: String,
}

/// Back to the list as it was filtered, or to the plain list.
fn back_to(form: &ActionForm) -> String {
    match safe_next(&form.back) {
        Some(path) if path == "/alerts" || path.starts_with("/alerts?") => path.to_string(),
        _ => "/alerts".to_string(),
    }
}

async fn acknowledge_alert(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    change_alert(state, user, is_htmx(&headers), id, form, false).await
}

async fn resolve_alert(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    change_alert(state, user, is_htmx(&headers), id, form, true).await
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// The alert's row as it now stands, for htmx to swap in place of the old one.
async fn redraw_row(state: &AppState, user: &CurrentUser, id: i64, back: String) -> Result<Response, AppError> {
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let rows = store::alerts::list(
        &mut tx,
        &Filter {
            severity: None,
            customer_id: None,
            state: "all",
            recent_since: state.clock().now(),
            only_id: Some(id),
            before: None,
            limit: 1,
        },
    )
    .await?;
    tx.commit().await?;
    let a = rows.into_iter().next().ok_or(AppError::NotFound)?;
    let fragment = AlertRowFragment {
        layout: Layout::new(user, FlashMessage::default(), "alerts", "Alerts"),
        a,
        here: back,
        show_reseller: user.effective_role() == Role::Operator,
    };
    Ok(render(&fragment)?.into_response())
}

async fn change_alert(
    state: AppState,
    user: CurrentUser,
    htmx: bool,
    id: i64,
    form: ActionForm,
    resolve: bool,
) -> Result<Response, AppError> {
    user.require(&STAFF)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let alert = store::alerts::find_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = back_to(&form);
    if alert.resolved_at.is_some() || (!resolve && alert.acknowledged_at.is_some()) {
        let done = if alert.resolved_at.is_some() {
            "resolved"
        } else {
            "acknowledged"
        };
        drop(tx);
        if htmx {
            return redraw_row(&state, &user, id, back).await;
        }
        return Ok(redirect_with_flash(
            &back,
            Flash::success(format!("The alert was already {done}.")),
        ));
    }
    let (action, field) = if resolve {
        store::alerts::resolve(&mut tx, id, user.id, now).await?;
        ("alert_resolved", "resolved_at")
    } else {
        store::alerts::acknowledge(&mut tx, id, user.id, now).await?;
        ("alert_acknowledged", "acknowledged_at")
    };
    let mut entry = audit_entry(&user, now, action, "alert", id);
    entry.reseller_id = Some(alert.reseller_id);
    entry.customer_id = alert.customer_id;
    entry.changes = json!({ field: {"before": null, "after": now.format("%Y-%m-%d %H:%M UTC").to_string()} });
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = if resolve {
        "The alert is resolved."
    } else {
        "The alert is acknowledged."
    };
    if htmx {
        return redraw_row(&state, &user, id, back).await;
    }
    Ok(redirect_with_flash(&back, Flash::success(message)))
}
