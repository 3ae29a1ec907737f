//! `/customers`: the reseller tree and the customer list with its row toggles, and its CSV export.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{customer_audit, parse_id, require_staff};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::tenancy::Role;
use crate::domain::units::format_bytes;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::customers::{CustomerRow, ListFilter, ResellerNode};
use crate::web::listing::{Cursor, PAGE_SIZE, Sort, csv_response, link};
use crate::web::path::Path;
use crate::web::{Layout, filters, redirect_with_flash, render};

const SORTS: &[&str] = &["name", "mcals", "clients", "quota", "used", "score", "status"];
const DEFAULT_SORT: Sort = Sort {
    key: "name",
    descending: false,
};

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    reseller: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    after: Option<String>,
    format: Option<String>,
}

/// A sortable column header.
pub struct Column {
    pub label: &'static str,
    pub key: &'static str,
    pub href: String,
    pub numeric: bool,
}

#[derive(Template)]
#[template(path = "customers/list.html")]
pub struct CustomersPage {
    pub layout: Layout,
    pub resellers: Vec<ResellerNode>,
    pub selected_reseller: Option<i64>,
    pub all_href: String,
    pub show_reseller_column: bool,
    pub search: String,
    pub sort: Sort,
    pub columns: Vec<Column>,
    pub rows: Vec<CustomerRow>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub csv_href: String,
    pub new_href: String,
}

impl CustomersPage {
    fn reseller_href(&self, id: &i64) -> String {
        format!("/customers?reseller={id}")
    }

    fn is_selected(&self, id: &i64) -> bool {
        self.selected_reseller == Some(*id)
    }
}

impl CustomerRow {
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }

    pub fn mcals_label(&self) -> String {
        self.mcals_allotted
            .map_or_else(|| "auto".to_string(), |n| n.to_string())
    }

    pub fn quota_label(&self) -> String {
        self.space_quota_bytes
            .map_or_else(|| "unlimited".to_string(), format_bytes)
    }
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "scheduled_for_deletion" => "scheduled for deletion",
        "deactivated" => "deactivated",
        "evaluation" => "evaluation",
        _ => "active",
    }
}

pub fn status_badge(status: &str) -> &'static str {
    match status {
        "scheduled_for_deletion" => "badge-critical",
        "deactivated" => "badge-warning",
        "evaluation" => "badge-info",
        _ => "badge-ok",
    }
}

/// The filter a query asks for, checked: a bad reseller, sort or cursor is a 400.
fn read_filter(user: &CurrentUser, query: &ListQuery) -> Result<(ListFilter, Sort), AppError> {
    let reseller_id = match (user.role, query.reseller.as_deref().map(str::trim)) {
        (Role::Operator, Some(value)) if !value.is_empty() => Some(
            value
                .parse::<i64>()
                .map_err(|_| AppError::BadRequest("The reseller must be given by its number.".into()))?,
        ),
        _ => None,
    };
    let sort = Sort::parse(query.sort.as_deref(), query.dir.as_deref(), SORTS, DEFAULT_SORT)?;
    let after = Cursor::decode(query.after.as_deref())?;
    let search = crate::web::listing::search_text(query.q.as_deref().unwrap_or_default())?;
    if let Some(cursor) = &after
        && SORTS[1..6].contains(&sort.key)
        && cursor.key.parse::<i64>().is_err()
    {
        return Err(AppError::BadRequest(
            "The page link is not valid; start again from the first page.".into(),
        ));
    }
    Ok((
        ListFilter {
            reseller_id,
            search,
            sort_key: sort.key,
            descending: sort.descending,
            after: after.map(|c| (c.key, c.id)),
            limit: Some(PAGE_SIZE + 1),
        },
        sort,
    ))
}

pub async fn show_customers(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    if query.format.as_deref() == Some("csv") {
        return export(state, user, query).await;
    }
    let (filter, sort) = read_filter(&user, &query)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let resellers = store::customers::reseller_tree(&mut tx).await?;
    if filter
        .reseller_id
        .is_some_and(|id| !resellers.iter().any(|r| r.id == id))
    {
        return Err(AppError::NotFound);
    }
    let mut rows = store::customers::list(&mut tx, &filter).await?;
    tx.commit().await?;

    let current: Vec<(&str, String)> = [
        ("reseller", query.reseller.clone()),
        ("q", query.q.clone()),
        ("sort", query.sort.clone()),
        ("dir", query.dir.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let next_href = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|last| {
            let cursor = Cursor {
                key: last.sort_key.clone(),
                id: last.id,
            }
            .encode();
            link("/customers", &current, &[("after", &cursor)])
        })
    } else {
        None
    };
    let first_href = filter.after.is_some().then(|| link("/customers", &current, &[]));
    let columns = [
        ("Customer", "name", false),
        ("MCALs allotted", "mcals", true),
        ("MCALs used", "clients", true),
        ("Space allotted", "quota", true),
        ("Space used", "used", true),
        ("SLA", "score", true),
        ("Status", "status", false),
    ]
    .into_iter()
    .map(|(label, key, numeric)| {
        let dir = if sort.key == key && !sort.descending {
            "desc"
        } else {
            "asc"
        };
        Column {
            label,
            key,
            href: link("/customers", &current, &[("sort", key), ("dir", dir), ("after", "")]),
            numeric,
        }
    })
    .collect();
    let csv_href = link("/customers.csv", &current, &[]);
    let new_href = match filter.reseller_id {
        Some(id) => format!("/customers/new?reseller={id}"),
        None => "/customers/new".to_string(),
    };
    let page = CustomersPage {
        layout: Layout::new(&user, flash, "customers", "Customers"),
        show_reseller_column: user.role == Role::Operator && filter.reseller_id.is_none(),
        resellers,
        selected_reseller: filter.reseller_id,
        all_href: "/customers".to_string(),
        search: filter.search.clone(),
        sort,
        columns,
        rows,
        next_href,
        first_href,
        csv_href,
        new_href,
    };
    Ok(render(&page)?.into_response())
}

/// `/customers.csv`: every customer matching the list's filter (no paging).
pub async fn export_customers(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    export(state, user, query).await
}

async fn export(state: AppState, user: CurrentUser, query: ListQuery) -> Result<Response, AppError> {
    let (mut filter, _) = read_filter(&user, &query)?;
    filter.after = None;
    filter.limit = None;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let rows = store::customers::list(&mut tx, &filter).await?;
    tx.commit().await?;
    let csv_rows = rows.into_iter().map(|row| {
        vec![
            row.name.clone(),
            row.reseller_name.clone(),
            row.mcals_label(),
            row.clients.to_string(),
            row.space_quota_bytes.map(|b| b.to_string()).unwrap_or_default(),
            row.used_space_bytes.to_string(),
            row.sla_score.map(|s| s.to_string()).unwrap_or_default(),
            row.status_label().to_string(),
            if row.auto_authorize { "yes" } else { "no" }.to_string(),
        ]
    });
    Ok(csv_response(
        "customers.csv",
        &[
            "customer",
            "reseller",
            "mcals_allotted",
            "mcals_used",
            "space_allotted_bytes",
            "space_used_bytes",
            "sla_score",
            "status",
            "auto_authorization",
        ],
        csv_rows,
    ))
}

/// The badge colour of an SLA score.
pub fn score_badge(score: &i16) -> &'static str {
    match *score {
        90.. => "badge-ok",
        70..=89 => "badge-warning",
        _ => "badge-critical",
    }
}

/// Where a row action returns to: the list of the customer's reseller for the operator.
fn back_to_list(user: &CurrentUser, reseller_id: i64) -> String {
    if user.role == Role::Operator {
        format!("/customers?reseller={reseller_id}")
    } else {
        "/customers".to_string()
    }
}

pub async fn toggle_auto_authorize(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let on = store::customers::toggle_auto_authorize(&mut tx, id).await?;
    let mut entry = customer_audit(&user, now, "customer_auto_authorize_changed", customer.reseller_id, id);
    entry.changes = store::audit::diff(&[("auto_authorize", json!(!on), json!(on))]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = if on {
        format!(
            "New clients of {} are now added automatically when they connect.",
            customer.name
        )
    } else {
        format!(
            "Unknown clients of {} are now refused until you add them.",
            customer.name
        )
    };
    Ok(redirect_with_flash(
        &back_to_list(&user, customer.reseller_id),
        Flash::success(message),
    ))
}

pub async fn toggle_activation(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    if customer.lifecycle == "scheduled_for_deletion" && !customer.activated {
        return Err(AppError::Conflict(format!(
            "{} is scheduled for deletion and cannot be activated.",
            customer.name
        )));
    }
    let on = store::customers::toggle_activated(&mut tx, id).await?;
    let action = if on {
        "customer_activated"
    } else {
        "customer_deactivated"
    };
    let mut entry = customer_audit(&user, now, action, customer.reseller_id, id);
    entry.changes = store::audit::diff(&[("activated", json!(!on), json!(on))]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = if on {
        format!("{} is activated: its clients may back up again.", customer.name)
    } else {
        format!("{} is deactivated: its clients' backups are refused.", customer.name)
    };
    Ok(redirect_with_flash(
        &back_to_list(&user, customer.reseller_id),
        Flash::success(message),
    ))
}
