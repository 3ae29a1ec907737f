//! `/license`: the reseller's MAU licence for its owner (the operator sees any reseller's):
//! this month's MAU against the allowance, the allowance's history with every order, extending
//! it with an offer, and MAU history overall, per organization and per month.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::charts::{Bar, BarChart, Segment};
use super::{ConfirmPage, Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::licensing::mau_overage;
use crate::domain::months;
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::dashboard::ResellerOption;
use crate::store::license::{CustomerMonth, CustomerOption, Extension, MonthFigures, Offer, OrderRow, ResellerLicense};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/license", get(show_license))
        .route("/license/extend", get(choose_extension).post(extend_license))
}

/// Months of history the page shows.
const HISTORY_MONTHS: u32 = 12;

#[derive(Debug, Default, Deserialize)]
pub struct LicenseQuery {
    reseller: Option<String>,
    customer: Option<String>,
    month: Option<String>,
}

pub struct HistoryRow {
    pub label: String,
    pub mau: i64,
    pub allowance: Option<i32>,
    pub overage: Option<i64>,
}

pub struct OrganizationMonths {
    pub id: i64,
    pub name: String,
    pub values: Vec<i64>,
}

#[derive(Template)]
#[template(path = "license/index.html")]
pub struct LicensePage {
    pub layout: Layout,
    pub reseller: ResellerLicense,
    pub resellers: Vec<ResellerOption>,
    pub month_label: String,
    pub month_mau: i64,
    pub overage: i64,
    pub history: Vec<HistoryRow>,
    pub orders: Vec<OrderRow>,
    /// The MAU chart's SVG, and whether it draws the allowance line.
    pub chart_svg: String,
    pub allowance_line: bool,
    pub chart_subject: String,
    pub chart_rows: Vec<(String, i64)>,
    pub customers: Vec<CustomerOption>,
    pub selected_customer: Option<i64>,
    pub month_options: Vec<(String, String)>,
    pub selected_month: String,
    pub table_months: Vec<String>,
    pub organizations: Vec<OrganizationMonths>,
    pub can_extend: bool,
}

impl LicensePage {
    fn is_reseller(&self, id: &i64) -> bool {
        self.reseller.id == *id
    }

    fn is_month(&self, key: &str) -> bool {
        self.selected_month == key
    }

    fn is_customer(&self, id: &i64) -> bool {
        self.selected_customer == Some(*id)
    }
}

fn parse_id(value: Option<&str>, what: &str) -> Result<Option<i64>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::BadRequest(format!("The {what} must be a number."))),
    }
}

/// Owner: its own reseller. Operator: the chosen one, or the first reseller when none is chosen.
async fn licensed_reseller(
    tx: &mut store::Tx,
    user: &CurrentUser,
    requested: Option<&str>,
) -> Result<(ResellerLicense, Vec<ResellerOption>), AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner])?;
    if user.effective_role() == Role::ResellerOwner {
        let own = user.scope().reseller_id().ok_or(AppError::Forbidden)?;
        let reseller = store::license::reseller(tx, own).await?.ok_or(AppError::NotFound)?;
        return Ok((reseller, vec![]));
    }
    let choices = store::license::reseller_options(tx).await?;
    let id = match parse_id(requested, "reseller")? {
        Some(id) => id,
        None => store::license::first_reseller(tx).await?.ok_or(AppError::NotFound)?,
    };
    let reseller = store::license::reseller(tx, id).await?.ok_or(AppError::NotFound)?;
    Ok((reseller, choices))
}

async fn show_license(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<LicenseQuery>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner])?;
    let today = state.clock().today();
    let this_month = months::first_of_month(today);
    let window = months::months_ending_at(today, HISTORY_MONTHS);
    let from = window.first().copied().unwrap_or(this_month);
    let selected_customer = parse_id(query.customer.as_deref(), "organization")?;
    let selected_month: Option<NaiveDate> = match query.month.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(value) => Some(
            months::parse(value)
                .filter(|m| window.contains(m))
                .ok_or_else(|| AppError::BadRequest("Choose one of the last twelve months.".into()))?,
        ),
    };

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let (reseller, resellers) = licensed_reseller(&mut tx, &user, query.reseller.as_deref()).await?;
    let customers = store::license::customers(&mut tx, reseller.id).await?;
    if selected_customer.is_some_and(|id| !customers.iter().any(|c| c.id == id)) {
        return Err(AppError::NotFound);
    }
    let overall = store::license::monthly(&mut tx, reseller.id, None, from, this_month).await?;
    let charted = match selected_customer {
        Some(id) => store::license::monthly(&mut tx, reseller.id, Some(id), from, this_month).await?,
        None => overall.clone(),
    };
    let orders = store::license::orders(&mut tx, reseller.id).await?;
    let per_customer = store::license::customer_months(&mut tx, reseller.id, from, this_month).await?;
    tx.commit().await?;

    let month_mau = overall.last().map(|m| m.mau).unwrap_or(0);
    let allowance = i64::from(reseller.mau_allowance);
    let history = history_rows(&overall);
    let chart_subject = match selected_customer.and_then(|id| customers.iter().find(|c| c.id == id)) {
        Some(customer) => customer.name.clone(),
        None => format!("{} (all organizations)", reseller.name),
    };
    // The allowance line only makes sense against the reseller's total.
    let allowance_line = selected_customer.is_none().then_some(overall.as_slice());
    let chart = mau_chart(&charted, allowance_line, reseller.mau_allowance, &chart_subject);
    let chart_rows = charted.iter().rev().map(|m| (months::label(m.month), m.mau)).collect();
    let table_window: Vec<NaiveDate> = match selected_month {
        Some(month) => vec![month],
        None => window.clone(),
    };
    let organizations = organization_table(&customers, per_customer, &table_window);

    let page = LicensePage {
        layout: Layout::new(&user, flash, "license", "License"),
        month_label: months::label(this_month),
        month_mau,
        overage: mau_overage(month_mau, allowance),
        history,
        orders,
        allowance_line: chart.line_points.is_some(),
        chart_svg: chart.svg(),
        chart_subject,
        chart_rows,
        selected_customer,
        month_options: window
            .iter()
            .rev()
            .map(|m| (months::key(*m), months::label(*m)))
            .collect(),
        selected_month: selected_month.map(months::key).unwrap_or_default(),
        table_months: table_window.iter().map(|m| months::label(*m)).collect(),
        organizations,
        customers,
        can_extend: user.effective_role() == Role::ResellerOwner,
        resellers,
        reseller,
    };
    Ok(render(&page)?.into_response())
}

/// The allowance history, newest month first, with each month's overage where an allowance
/// was recorded.
fn history_rows(overall: &[MonthFigures]) -> Vec<HistoryRow> {
    overall
        .iter()
        .rev()
        .map(|m| HistoryRow {
            label: months::label(m.month),
            mau: m.mau,
            allowance: m.allowance,
            overage: m.allowance.map(|a| mau_overage(m.mau, i64::from(a))),
        })
        .collect()
}

/// MAU bars per month, with the allowance as a line when `allowance` months are given (a month
/// without a recorded allowance takes the current one).
fn mau_chart(charted: &[MonthFigures], allowance: Option<&[MonthFigures]>, current: i32, subject: &str) -> BarChart {
    let bars: Vec<Bar> = charted
        .iter()
        .map(|m| Bar {
            label: m.month.format("%b").to_string(),
            segments: vec![Segment {
                value: m.mau as f64,
                class: "seg-primary",
            }],
            title: format!("{}: {} MAU", months::label(m.month), m.mau),
        })
        .collect();
    let line = allowance.map(|months| {
        (
            months
                .iter()
                .map(|m| f64::from(m.allowance.unwrap_or(current)))
                .collect(),
            "MAU allowance".to_string(),
        )
    });
    BarChart::with_line(
        "mau-chart",
        &format!("Monthly active users of {subject}, last twelve months"),
        bars,
        line,
        |v| format!("{v:.0}"),
    )
}

/// Each organization's MAU for each of `months` (0 where nothing was recorded).
fn organization_table(
    customers: &[CustomerOption],
    per_customer: Vec<CustomerMonth>,
    months: &[NaiveDate],
) -> Vec<OrganizationMonths> {
    let by_key: HashMap<(i64, NaiveDate), i64> = per_customer
        .into_iter()
        .map(|row| ((row.customer_id, row.month), i64::from(row.mau)))
        .collect();
    customers
        .iter()
        .map(|c| OrganizationMonths {
            id: c.id,
            name: c.name.clone(),
            values: months
                .iter()
                .map(|m| by_key.get(&(c.id, *m)).copied().unwrap_or(0))
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "license/extend.html")]
pub struct ExtendPage {
    pub layout: Layout,
    pub reseller: ResellerLicense,
    pub offers: Vec<Offer>,
}

#[derive(Debug, Deserialize)]
pub struct ExtendQuery {
    offer: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ExtendForm {
    #[serde(default)]
    offer_id: String,
}

/// Only the owner orders; the operator sets allowances elsewhere.
fn owner_reseller(user: &CurrentUser) -> Result<i64, AppError> {
    user.require(&[Role::ResellerOwner])?;
    user.scope().reseller_id().ok_or(AppError::Forbidden)
}

async fn choose_extension(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<ExtendQuery>,
) -> Result<Response, AppError> {
    let reseller_id = owner_reseller(&user)?;
    let offer_id = parse_id(query.offer.as_deref(), "offer")?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let reseller = store::license::reseller(&mut tx, reseller_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let offer = match offer_id {
        Some(id) => Some(store::license::offer(&mut tx, id).await?.ok_or(AppError::NotFound)?),
        None => None,
    };
    let offers = store::license::offers(&mut tx).await?;
    tx.commit().await?;
    let Some(offer) = offer else {
        let page = ExtendPage {
            layout: Layout::new(&user, flash, "license", "Extend the MAU allowance"),
            reseller,
            offers,
        };
        return Ok(render(&page)?.into_response());
    };
    let month = months::first_of_month(state.clock().today());
    let page = ConfirmPage {
        layout: Layout::new(&user, flash, "license", "Confirm the order"),
        heading: format!("Order {}?", offer.name),
        message: format!(
            "The MAU allowance of {} rises from {} to {} from {} on.",
            reseller.name,
            reseller.mau_allowance,
            i64::from(reseller.mau_allowance) + i64::from(offer.mau_delta),
            months::label(month)
        ),
        details: vec![
            format!("+{} MAU, {} term", offer.mau_delta, offer.term),
            format!("Price: {}", offer.price()),
        ],
        action: "/license/extend".into(),
        hidden: vec![("offer_id".into(), offer.id.to_string())],
        button: "Place the order".into(),
        cancel: "/license/extend".into(),
        danger: false,
    };
    Ok(render(&page)?.into_response())
}

async fn extend_license(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ExtendForm>,
) -> Result<Response, AppError> {
    let reseller_id = owner_reseller(&user)?;
    let offer_id =
        parse_id(Some(&form.offer_id), "offer")?.ok_or_else(|| AppError::BadRequest("Choose an offer.".into()))?;
    let now = state.clock().now();
    let starts_on = months::first_of_month(state.clock().today());
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let offer = store::license::offer(&mut tx, offer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let ends_on = (offer.term == "annual").then(|| months::add_months(starts_on, 12));
    let (before, after) = store::license::extend(
        &mut tx,
        Extension {
            reseller_id,
            offer: &offer,
            ordered_by: user.id,
            now,
            starts_on,
            ends_on,
        },
    )
    .await?;
    let mut entry = audit_entry(&user, now, "mau_allowance_extended", "reseller", reseller_id);
    entry.changes = json!({
        "mau_allowance": {"before": before, "after": after},
        "offer": {"before": null, "after": offer.name},
    });
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, reseller_id, offer_id, "MAU allowance extended");
    Ok(redirect_with_flash(
        "/license",
        Flash::success(format!("Ordered {}: the MAU allowance is now {after}.", offer.name)),
    ))
}
