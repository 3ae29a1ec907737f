//! `/audit`: who did what to which object and when, with every changed field's before and after
//! values. The operator sees everything, a reseller owner its reseller's rows.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::listing::{Cursor, PAGE_SIZE, csv_response, link};
use super::{Layout, filters, render};
use crate::auth::CurrentUser;
use crate::auth::current_user::FlashMessage;
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::audit::{ChangeLine, CustomerOption, LogFilter, LogRow, change_lines};

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(show_audit))
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    object_id: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    after: Option<String>,
    format: Option<String>,
}

pub struct AuditLine {
    pub row: LogRow,
    pub changes: Vec<ChangeLine>,
}

#[derive(Template)]
#[template(path = "audit/index.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub lines: Vec<AuditLine>,
    pub actions: Vec<String>,
    pub kinds: Vec<String>,
    pub customers: Vec<CustomerOption>,
    pub query: AuditQuery,
    pub next_page: Option<String>,
    pub first_page: Option<String>,
    pub csv_link: String,
}

impl AuditPage {
    fn is_action(&self, value: &str) -> bool {
        self.query.action == value
    }

    fn is_customer(&self, id: &i64) -> bool {
        self.query.customer.trim() == id.to_string()
    }

    fn is_kind(&self, value: &str) -> bool {
        self.query.object == value
    }
}

/// An action as people read it: "client_added" → "Client added"; the few that need it get
/// their own words.
pub fn action_label(action: &str) -> String {
    match action {
        "impersonation_started" => "Logged in as the customer".to_string(),
        "impersonation_ended" => "Stopped acting as the customer".to_string(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

fn day(value: &str, what: &str) -> Result<Option<NaiveDate>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| AppError::BadRequest(format!("Write the {what} date as YYYY-MM-DD.")))
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn non_empty(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

async fn show_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner])?;
    let from = day(&query.from, "from")?;
    let to = day(&query.to, "to")?;
    let customer_id = match non_empty(&query.customer) {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest("The customer filter must be a number.".into()))?,
        ),
    };
    let csv = match query.format.as_deref() {
        None | Some("") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::BadRequest("The only export format is csv.".into())),
    };
    let before = match Cursor::decode(query.after.as_deref())? {
        Some(c) if !csv => Some((
            DateTime::parse_from_rfc3339(&c.key)
                .map_err(|_| {
                    AppError::BadRequest("The page link is not valid; start again from the first page.".into())
                })?
                .with_timezone(&Utc),
            c.id,
        )),
        _ => None,
    };
    let filter = LogFilter {
        action: non_empty(&query.action),
        object_kind: non_empty(&query.object),
        object_id: non_empty(&query.object_id),
        customer_id,
        actor: non_empty(&query.actor),
        from: from.map(start_of),
        until: to.map(|d| start_of(d) + Duration::days(1)),
        before,
        limit: if csv { 100_000 } else { PAGE_SIZE + 1 },
    };
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let mut rows = store::audit::list(&mut tx, &filter).await?;
    let (actions, kinds, customers) = if csv {
        (vec![], vec![], vec![])
    } else {
        let (actions, kinds) = store::audit::vocabulary(&mut tx).await?;
        (actions, kinds, store::audit::customer_options(&mut tx).await?)
    };
    tx.commit().await?;

    if csv {
        return Ok(csv_response(
            "audit-log.csv",
            &[
                "At (UTC)",
                "Actor",
                "While logged in as customer",
                "Reseller",
                "Customer",
                "Action",
                "Object",
                "Object id",
                "Changes",
                "Reason",
            ],
            rows.iter().map(|r| {
                vec![
                    r.at.to_rfc3339(),
                    r.actor_name.clone(),
                    if r.impersonator_name.is_some() {
                        "yes".into()
                    } else {
                        String::new()
                    },
                    r.reseller_name.clone().unwrap_or_default(),
                    r.customer_name.clone().unwrap_or_default(),
                    r.action.clone(),
                    r.object_kind.clone(),
                    r.object_id.clone(),
                    change_lines(&r.changes)
                        .iter()
                        .map(|c| format!("{}: {} → {}", c.field, c.before, c.after))
                        .collect::<Vec<_>>()
                        .join("; "),
                    r.reason.clone(),
                ]
            }),
        ));
    }

    let current: Vec<(&str, String)> = [
        ("action", &query.action),
        ("object", &query.object),
        ("object_id", &query.object_id),
        ("customer", &query.customer),
        ("actor", &query.actor),
        ("from", &query.from),
        ("to", &query.to),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.trim().to_string()))
    .collect();
    let next_page = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|last| {
            let cursor = Cursor {
                key: last.at.to_rfc3339(),
                id: last.id,
            };
            link("/audit", &current, &[("after", &cursor.encode())])
        })
    } else {
        None
    };
    let page = AuditPage {
        layout: Layout::new(&user, flash, "audit", "Audit log"),
        lines: rows
            .into_iter()
            .map(|row| AuditLine {
                changes: change_lines(&row.changes),
                row,
            })
            .collect(),
        actions,
        kinds,
        customers,
        next_page,
        first_page: query
            .after
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|_| link("/audit", &current, &[])),
        csv_link: link("/audit", &current, &[("format", "csv")]),
        query,
    };
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn actions_read_as_words() {
        assert_eq!(super::action_label("client_added"), "Client added");
        assert_eq!(
            super::action_label("impersonation_started"),
            "Logged in as the customer"
        );
        assert_eq!(super::action_label(""), "");
    }
}
