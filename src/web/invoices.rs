//! `/invoices`: the invoice report — a month's invoices per reseller and customer with totals,
//! CSV export, and each invoice as a printable page (`/invoices/{id}`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::auth::current_user::FlashMessage;
use crate::domain::invoicing::{first_of_month, format_minor, previous_month};
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::dashboard::ResellerOption;
use crate::store::invoicing::{InvoiceDetail, LineRow, REPORT_LIMIT, ReportRow, Total};
use crate::web::listing::csv_response;
use crate::web::path::Path;
use crate::web::{Layout, filters, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invoices", get(show_invoice_report))
        .route("/invoices.csv", get(export_invoice_report))
        .route("/invoices/{id}", get(show_invoice))
}

fn require_staff(user: &CurrentUser) -> Result<(), AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin])
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    month: Option<String>,
    reseller: Option<String>,
}

/// The month and reseller asked for; anything malformed is a 400, not a guess.
struct Filter {
    month: NaiveDate,
    reseller: Option<i64>,
}

fn parse_month(value: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(&format!("{}-01", value.trim()), "%Y-%m-%d")
        .map_err(|_| AppError::BadRequest("The month must be written as YYYY-MM, for example 2026-05.".into()))
}

async fn filter(state: &AppState, user: &CurrentUser, query: &ReportQuery) -> Result<Filter, AppError> {
    let month = match query.month.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(value) => parse_month(value)?,
        None => previous_month(state.clock().today()),
    };
    let reseller = match query.reseller.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        // Only the operator chooses a reseller; staff of a reseller always see their own.
        Some(value) if user.role == Role::Operator => Some(
            value
                .parse::<i64>()
                .map_err(|_| AppError::BadRequest("Choose a reseller from the list.".into()))?,
        ),
        _ => None,
    };
    Ok(Filter {
        month: first_of_month(month),
        reseller,
    })
}

/// A reseller's invoices with its totals, as the page groups them.
pub struct ResellerGroup {
    pub name: String,
    pub rows: Vec<ReportRow>,
    pub totals: Vec<Total>,
}

#[derive(Template)]
#[template(path = "invoices/report.html")]
pub struct InvoiceReportPage {
    pub layout: Layout,
    pub month: String,
    pub months: Vec<String>,
    pub resellers: Vec<ResellerOption>,
    pub reseller: String,
    pub groups: Vec<ResellerGroup>,
    pub grand_totals: Vec<Total>,
    pub truncated: bool,
    pub csv_link: String,
}

impl InvoiceReportPage {
    fn money(&self, minor: &i64, currency: &str) -> String {
        format!("{} {currency}", format_minor(*minor))
    }

    fn reseller_selected(&self, id: &i64) -> bool {
        self.reseller == id.to_string()
    }
}

pub async fn show_invoice_report(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<ReportQuery>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let filter = filter(&state, &user, &query).await?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let rows = store::invoicing::report(&mut tx, filter.month, filter.reseller, Some(REPORT_LIMIT + 1)).await?;
    let totals = store::invoicing::report_totals(&mut tx, filter.month, filter.reseller).await?;
    let mut months = store::invoicing::report_months(&mut tx).await?;
    let resellers = if user.role == Role::Operator {
        store::dashboard::reseller_options(&mut tx).await?
    } else {
        vec![]
    };
    tx.commit().await?;
    if !months.contains(&filter.month) {
        months.push(filter.month);
        months.sort_by(|a, b| b.cmp(a));
    }
    let truncated = rows.len() as i64 > REPORT_LIMIT;
    let mut groups: Vec<ResellerGroup> = Vec::new();
    for row in rows.into_iter().take(REPORT_LIMIT as usize) {
        match groups.last_mut() {
            Some(group) if group.rows.first().is_some_and(|r| r.reseller_id == row.reseller_id) => group.rows.push(row),
            _ => {
                let reseller_id = row.reseller_id;
                groups.push(ResellerGroup {
                    name: row.reseller_name.clone(),
                    rows: vec![row],
                    totals: totals
                        .iter()
                        .filter(|t| t.reseller_id == Some(reseller_id))
                        .cloned()
                        .collect(),
                })
            }
        }
    }
    let month = filter.month.format("%Y-%m").to_string();
    let reseller = filter.reseller.map(|r| r.to_string()).unwrap_or_default();
    let csv_link = if reseller.is_empty() {
        format!("/invoices.csv?month={month}")
    } else {
        format!("/invoices.csv?month={month}&reseller={reseller}")
    };
    let page = InvoiceReportPage {
        layout: Layout::new(&user, flash, "invoices", format!("Invoices of {month}")),
        months: months.iter().map(|m| m.format("%Y-%m").to_string()).collect(),
        month,
        resellers,
        reseller,
        groups,
        grand_totals: totals.into_iter().filter(|t| t.reseller_id.is_none()).collect(),
        truncated,
        csv_link,
    };
    Ok(render(&page)?.into_response())
}

pub async fn export_invoice_report(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ReportQuery>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let filter = filter(&state, &user, &query).await?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let rows = store::invoicing::report(&mut tx, filter.month, filter.reseller, None).await?;
    tx.commit().await?;
    let month = filter.month.format("%Y-%m").to_string();
    Ok(csv_response(
        &format!("invoices-{month}.csv"),
        &["invoice", "month", "reseller", "customer", "currency", "total"],
        rows.into_iter().map(|r| {
            vec![
                r.id.to_string(),
                r.month.format("%Y-%m").to_string(),
                r.reseller_name,
                r.customer_name,
                r.currency,
                format_minor(r.total_minor),
            ]
        }),
    ))
}

#[derive(Template)]
#[template(path = "invoices/invoice.html")]
pub struct InvoicePage {
    pub layout: Layout,
    pub invoice: InvoiceDetail,
    pub lines: Vec<LineRow>,
}

impl InvoicePage {
    fn money(&self, minor: &i64) -> String {
        format!("{} {}", format_minor(*minor), self.invoice.currency)
    }

    /// "12.5000" → "12.5", "3.0000" → "3".
    fn quantity(&self, value: &str) -> String {
        if value.contains('.') {
            value.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            value.to_string()
        }
    }
}

pub async fn show_invoice(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let (invoice, lines) = store::invoicing::invoice(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let page = InvoicePage {
        layout: Layout::new(
            &user,
            flash,
            "invoices",
            format!("Invoice {} · {}", invoice.id, invoice.customer_name),
        ),
        invoice,
        lines,
    };
    Ok(render(&page)?.into_response())
}
