//! `/license`: the reseller's MAU licence for its owner (the operator sees any reseller's):
//! this month's MAU against the allowance, the allowance's history with every order, extending
//! it with an offer, and MAU history overall, per organization and per month.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use serde_json::json;

use super::charts::{Bar, BarChart, Segment};
use super::{ConfirmPage, Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::licensing::mau_overage;
use crate::domain::months;
use crate::domain::tenancy::{Access, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::dashboard::ResellerOption;
use crate::store::license::{
    Extension, MonthFigures, Offer, OrderRow, OrganizationEntry, OrganizationFilter, ResellerLicense,
};
use crate::web::listing::{Cursor, PAGE_SIZE, Page, csv_line, csv_stream_response, link};

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
    /// Part of an organization's name, narrowing the per-organization table.
    #[serde(default)]
    q: String,
    after: Option<String>,
    format: Option<String>,
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
    /// This page with the chart showing this organization.
    pub chart_link: String,
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
    pub selected_customer: Option<i64>,
    /// The page with the chart back on all organizations (when one is chosen).
    pub all_organizations_link: String,
    pub month_options: Vec<(String, String)>,
    pub selected_month: String,
    pub q: String,
    pub table_months: Vec<String>,
    pub organizations: Vec<OrganizationMonths>,
    /// The table's sums over every organization it lists (all pages), one per month shown.
    pub totals: Vec<i64>,
    pub organization_count: i64,
    pub next_page: Option<String>,
    pub first_page: Option<String>,
    pub csv_link: String,
    pub can_extend: bool,
}

impl LicensePage {
    fn is_reseller(&self, id: &i64) -> bool {
        self.reseller.id == *id
    }

    fn is_month(&self, key: &str) -> bool {
        self.selected_month == key
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

/// Whose licence the page shows: the owner's own reseller; for the operator the chosen one, or the
/// first by name when none is chosen, with every reseller for the selector.
async fn licensed_reseller(
    tx: &mut store::Tx,
    user: &CurrentUser,
    requested: Option<&str>,
) -> Result<(i64, Vec<ResellerOption>), AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner])?;
    if user.effective_role() == Role::ResellerOwner {
        let own = user.scope().reseller_id().ok_or(AppError::Forbidden)?;
        return Ok((own, vec![]));
    }
    let choices = store::license::reseller_options(tx).await?;
    let id = match parse_id(requested, "reseller")? {
        Some(id) => id,
        // The options are in the page's order: the first is the first reseller by name.
        None => choices.first().map(|r| r.id).ok_or(AppError::NotFound)?,
    };
    Ok((id, choices))
}

/// Organizations per chunk of the CSV export: big enough to keep the round trips few, small
/// enough that a 20,000-organization export never holds more than this in memory.
const CSV_CHUNK: i64 = 1000;

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
    let search = super::listing::search_text(&query.q)?;
    let cursor = Cursor::decode(query.after.as_deref())?;
    let csv = match query.format.as_deref() {
        None | Some("") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::BadRequest("The only export format is csv.".into())),
    };
    let table_window: Vec<NaiveDate> = match selected_month {
        Some(month) => vec![month],
        None => window.clone(),
    };
    let (table_from, table_to) = (
        table_window.first().copied().unwrap_or(this_month),
        table_window.last().copied().unwrap_or(this_month),
    );

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let (reseller_id, resellers) = licensed_reseller(&mut tx, &user, query.reseller.as_deref()).await?;
    if csv {
        let reseller = store::license::reseller(&mut tx, reseller_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        let export = CsvExport {
            state: state.clone(),
            access: user.access(),
            reseller_id: reseller.id,
            search,
            months: table_window,
        };
        return Ok(export.response(&reseller.name));
    }
    let store::license::LicenseOverview {
        reseller,
        totals,
        orders,
    } = store::license::overview(&mut tx, reseller_id, &search, from, this_month)
        .await?
        .ok_or(AppError::NotFound)?;
    let chosen = match selected_customer {
        Some(id) => Some(
            store::license::customer(&mut tx, reseller.id, id)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let overall: Vec<MonthFigures> = totals
        .iter()
        .map(|t| MonthFigures {
            month: t.month,
            mau: t.mau,
            allowance: t.allowance,
        })
        .collect();
    let charted = match selected_customer {
        Some(id) => store::license::monthly(&mut tx, reseller.id, id, from, this_month).await?,
        None => overall.clone(),
    };
    let rows = store::license::organizations(
        &mut tx,
        &OrganizationFilter {
            reseller_id: reseller.id,
            search: &search,
            after: cursor.as_ref().map(|c| (c.key.as_str(), c.id)),
            limit: PAGE_SIZE + 1,
            months: (table_from, table_to),
        },
    )
    .await?;
    let page_rows = Page::of(rows, PAGE_SIZE, |r| Cursor {
        key: r.sort_key.clone(),
        id: r.id,
    });
    tx.commit().await?;

    let month_mau = overall.last().map(|m| m.mau).unwrap_or(0);
    let allowance = i64::from(reseller.mau_allowance);
    let history = history_rows(&overall);
    let chart_subject = match &chosen {
        Some(customer) => customer.name.clone(),
        None => format!("{} (all organizations)", reseller.name),
    };
    // The allowance line only makes sense against the reseller's total.
    let allowance_line = selected_customer.is_none().then_some(overall.as_slice());
    let chart = mau_chart(&charted, allowance_line, reseller.mau_allowance, &chart_subject);
    let chart_rows = charted.iter().rev().map(|m| (months::label(m.month), m.mau)).collect();

    // The parameters every link of the page keeps; the page's own position (`after`) only where
    // it leads back to the same rows.
    let current: Vec<(&str, String)> = [
        (
            "reseller",
            // The owner has one reseller; only the operator's choice belongs in links.
            if resellers.is_empty() {
                String::new()
            } else {
                reseller.id.to_string()
            },
        ),
        (
            "customer",
            selected_customer.map(|id| id.to_string()).unwrap_or_default(),
        ),
        ("month", selected_month.map(months::key).unwrap_or_default()),
        ("q", search.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let after = query.after.clone().unwrap_or_default();
    let organizations = organization_table(&page_rows.rows, &table_window, |id| {
        format!(
            "{}#mau-history-chart",
            link(
                "/license",
                &current,
                &[("customer", &id.to_string()), ("after", &after)]
            )
        )
    });
    let next_page = page_rows
        .next
        .as_ref()
        .map(|c| link("/license", &current, &[("after", &c.encode())]));
    let first_page = cursor.is_some().then(|| link("/license", &current, &[]));

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
        all_organizations_link: format!(
            "{}#mau-history-chart",
            link("/license", &current, &[("customer", ""), ("after", &after)])
        ),
        month_options: window
            .iter()
            .rev()
            .map(|m| (months::key(*m), months::label(*m)))
            .collect(),
        selected_month: selected_month.map(months::key).unwrap_or_default(),
        q: search,
        table_months: table_window.iter().map(|m| months::label(*m)).collect(),
        organizations,
        organization_count: totals.first().map(|t| t.organizations).unwrap_or(0),
        // The table's months are some of the history's: its totals come from the same rows.
        totals: totals
            .iter()
            .filter(|t| table_window.contains(&t.month))
            .map(|t| t.listed_mau)
            .collect(),
        next_page,
        first_page,
        csv_link: link("/license", &current, &[("customer", ""), ("format", "csv")]),
        can_extend: user.effective_role() == Role::ResellerOwner,
        resellers,
        reseller,
    };
    Ok(render(&page)?.into_response())
}

/// The whole per-organization table as CSV, read and sent a chunk at a time: each chunk is a
/// keyset page in a short transaction of its own, so a slow download holds neither the rows of
/// every organization in memory nor a pooled connection between chunks.
struct CsvExport {
    state: AppState,
    access: Access,
    reseller_id: i64,
    search: String,
    months: Vec<NaiveDate>,
}

impl CsvExport {
    fn response(self, reseller_name: &str) -> Response {
        let mut header = vec!["Organization".to_string()];
        header.extend(self.months.iter().map(|m| months::label(*m)));
        let filename = format!(
            "license-{}-{}.csv",
            reseller_name
                .to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
            self.months.last().map(|m| months::key(*m)).unwrap_or_default()
        );
        let first = csv_line(&header);
        let chunks = stream::try_unfold((self, Some(None::<Cursor>)), |(export, position)| async move {
            let Some(after) = position else {
                return Ok::<_, AppError>(None);
            };
            // The status line has gone out by now: the log is where a failed chunk is seen.
            let (text, next) = export
                .chunk(after.as_ref())
                .await
                .inspect_err(|error| tracing::error!(%error, "the licence CSV export stopped"))?;
            Ok(Some((text, (export, next.map(Some)))))
        });
        let body = stream::once(async move { Ok::<_, AppError>(first) }).chain(chunks);
        csv_stream_response(&filename, Body::from_stream(body))
    }

    /// The CSV lines of the organizations after `after`, and where the next chunk starts.
    async fn chunk(&self, after: Option<&Cursor>) -> Result<(String, Option<Cursor>), AppError> {
        let (from, to) = (
            self.months.first().copied().unwrap_or_default(),
            self.months.last().copied().unwrap_or_default(),
        );
        let mut tx = store::scoped(self.state.db(), self.access.clone()).await?;
        let rows = store::license::organizations(
            &mut tx,
            &OrganizationFilter {
                reseller_id: self.reseller_id,
                search: &self.search,
                after: after.map(|c| (c.key.as_str(), c.id)),
                limit: CSV_CHUNK + 1,
                months: (from, to),
            },
        )
        .await?;
        tx.commit().await?;
        let chunk = Page::of(rows, CSV_CHUNK, |r| Cursor {
            key: r.sort_key.clone(),
            id: r.id,
        });
        let mut text = String::new();
        for row in organization_table(&chunk.rows, &self.months, |_| String::new()) {
            let mut cells = vec![row.name];
            cells.extend(row.values.iter().map(i64::to_string));
            text.push_str(&csv_line(&cells));
        }
        Ok((text, chunk.next))
    }
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

/// Each organization's MAU for each of `months` (0 where nothing was recorded), in the rows' order.
fn organization_table(
    rows: &[OrganizationEntry],
    months: &[NaiveDate],
    chart_link: impl Fn(i64) -> String,
) -> Vec<OrganizationMonths> {
    rows.iter()
        .map(|c| OrganizationMonths {
            id: c.id,
            name: c.name.clone(),
            values: months.iter().map(|m| c.mau_of(*m)).collect(),
            chart_link: chart_link(c.id),
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
