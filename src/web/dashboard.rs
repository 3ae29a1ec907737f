//! `/dashboard`: the partner dashboard of reseller staff and the operator. A KPI header and four
//! tabs — critical connectors, expiring soon, exceeding usage, approaching limits — each with its own
//! URL, search, sort, pages of 50 rows and a CSV export; htmx swaps tabs in place.

use askama::Template;
use axum::Router;
use axum::extract::{Query, RawForm, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::listing::{Cursor, PAGE_SIZE, Page, Sort, csv_response, link};
use super::{Layout, audit_entry, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::licensing::{GraceStatus, LimitChange, SeatProperty, check_limit_change, grace_status};
use crate::domain::lifecycle::{Expiring, days_until};
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::dashboard::{Kpis, ResellerOption, TabQuery};
use crate::web::path::Path;

/// What counts as "expiring soon" (DESIGN.md: within 30 days).
pub const EXPIRING_WINDOW_DAYS: i32 = 30;
/// The approaching tab lists limits forecast to be exceeded within this many days.
pub const APPROACHING_HORIZON_DAYS: i64 = crate::domain::forecast::HORIZON_DAYS;
/// Most rows a CSV export carries.
const CSV_MAX_ROWS: i64 = 100_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(show_dashboard))
        .route("/dashboard/{tab}", get(show_tab))
        .route("/dashboard/exceeding/bulk", post(preview_bulk_limits))
        .route("/dashboard/exceeding/bulk/apply", post(apply_bulk_limits))
}

/// The four tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Critical,
    Expiring,
    Exceeding,
    Approaching,
}

impl Tab {
    const ALL: [Tab; 4] = [Tab::Critical, Tab::Expiring, Tab::Exceeding, Tab::Approaching];

    fn key(self) -> &'static str {
        match self {
            Tab::Critical => "critical",
            Tab::Expiring => "expiring",
            Tab::Exceeding => "exceeding",
            Tab::Approaching => "approaching",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Critical => "Critical connectors",
            Tab::Expiring => "Expiring soon",
            Tab::Exceeding => "Exceeding usage",
            Tab::Approaching => "Approaching limits",
        }
    }

    fn parse(value: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.key() == value)
    }

    fn sorts(self) -> &'static [&'static str] {
        match self {
            Tab::Critical => store::dashboard::CRITICAL_SORTS,
            Tab::Expiring => store::dashboard::EXPIRING_SORTS,
            Tab::Exceeding => store::dashboard::EXCEEDING_SORTS,
            Tab::Approaching => store::dashboard::APPROACHING_SORTS,
        }
    }

    fn default_sort(self) -> Sort {
        match self {
            Tab::Critical => Sort {
                key: "since",
                descending: true,
            },
            Tab::Expiring => Sort {
                key: "date",
                descending: false,
            },
            Tab::Exceeding => Sort {
                key: "grace",
                descending: false,
            },
            Tab::Approaching => Sort {
                key: "days",
                descending: false,
            },
        }
    }

    /// The column headers: label, sort key (None: not sortable), right-aligned.
    fn columns(self, operator: bool) -> Vec<(&'static str, Option<&'static str>, bool)> {
        let mut columns = vec![("Customer", Some("customer"), false), ("Email", None, false)];
        if operator {
            columns.push(("Reseller", None, false));
        }
        match self {
            Tab::Critical => columns.extend([
                ("Connector", Some("connector"), false),
                ("Details", None, false),
                ("Critical since", Some("since"), false),
            ]),
            Tab::Expiring => columns.extend([
                ("What expires", Some("kind"), false),
                ("Date", Some("date"), false),
                ("Days left", None, true),
            ]),
            Tab::Exceeding => columns.extend([
                ("Seat property", None, false),
                ("Usage", Some("overage"), true),
                ("Limit", None, true),
                ("Grace period", Some("grace"), true),
            ]),
            Tab::Approaching => columns.extend([
                ("Seat property", None, false),
                ("Usage", None, true),
                ("Limit", None, true),
                ("Over the limit in", Some("days"), true),
            ]),
        }
        columns.push(("Action", None, false));
        columns
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TabParams {
    /// Operator only: one reseller's customers.
    reseller: Option<String>,
    #[serde(default)]
    q: String,
    sort: Option<String>,
    dir: Option<String>,
    after: Option<String>,
    format: Option<String>,
}

impl TabParams {
    /// The parameters links of this page keep.
    fn current(&self) -> Vec<(&'static str, String)> {
        let mut current = Vec::new();
        if let Some(reseller) = &self.reseller {
            current.push(("reseller", reseller.clone()));
        }
        if !self.q.is_empty() {
            current.push(("q", self.q.clone()));
        }
        if let Some(sort) = &self.sort {
            current.push(("sort", sort.clone()));
        }
        if let Some(dir) = &self.dir {
            current.push(("dir", dir.clone()));
        }
        current
    }
}

/// A tab in the tab bar.
#[derive(Debug, Clone)]
pub struct TabLink {
    pub key: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub href: String,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct Header {
    pub label: &'static str,
    pub href: Option<String>,
    pub numeric: bool,
    /// "ascending"/"descending" when the list is sorted by this column.
    pub sorted: Option<&'static str>,
    /// The arrow shown beside a sorted column's label.
    pub arrow: &'static str,
}

/// One row of whichever tab is open, ready to show.
#[derive(Debug, Clone)]
pub struct Row {
    pub customer_id: i64,
    pub customer: String,
    pub email: String,
    pub reseller: String,
    /// The cells after customer, email (and reseller).
    pub cells: Vec<Cell>,
    pub action: Action,
    /// For the bulk limit change: "customer_id:seat_property".
    pub select_value: Option<String>,
    pub critical: bool,
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub numeric: bool,
    /// A second, visibly distinct line (a pending limit change).
    pub note: Option<String>,
    /// A badge class for the text (badge-critical…), if it is a status.
    pub badge: Option<&'static str>,
    pub title: Option<String>,
    /// A second, quiet line (what kind of thing the text names).
    pub sub: Option<&'static str>,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            numeric: false,
            note: None,
            badge: None,
            title: None,
            sub: None,
        }
    }

    fn number(text: impl Into<String>) -> Cell {
        Cell {
            numeric: true,
            ..Cell::text(text)
        }
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    Link { href: String, label: &'static str },
    Text(&'static str),
}

/// Everything the tab panel shows.
#[derive(Debug, Clone)]
pub struct TabView {
    pub tab_key: &'static str,
    pub tab_label: &'static str,
    pub tabs: Vec<TabLink>,
    pub headers: Vec<Header>,
    pub rows: Vec<Row>,
    pub search: String,
    pub reseller_param: String,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub csv_href: String,
    pub empty_message: &'static str,
    pub as_of: String,
    pub bulk: bool,
    pub operator: bool,
    pub earliest_effective: String,
}

#[derive(Template)]
#[template(path = "dashboard/index.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub kpis: Kpis,
    pub resellers: Vec<ResellerOption>,
    pub selected_reseller: Option<i64>,
    pub view: TabView,
    pub csrf_token: String,
}

impl DashboardPage {
    fn is_selected(&self, reseller_id: &i64) -> bool {
        self.selected_reseller == Some(*reseller_id)
    }
}

/// The tab panel alone, for htmx tab switches.
#[derive(Template)]
#[template(path = "dashboard/panel.html")]
pub struct DashboardPanel {
    pub view: TabView,
    pub csrf_token: String,
}

async fn show_dashboard(
    state: State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    headers: HeaderMap,
    params: Query<TabParams>,
) -> Result<Response, AppError> {
    render_tab(state, user, flash, headers, params, Tab::Critical).await
}

async fn show_tab(
    state: State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    headers: HeaderMap,
    Path(tab): Path<String>,
    params: Query<TabParams>,
) -> Result<Response, AppError> {
    let tab = Tab::parse(&tab).ok_or(AppError::NotFound)?;
    render_tab(state, user, flash, headers, params, tab).await
}

fn require_staff(user: &CurrentUser) -> Result<(), AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin])
}

/// The operator's reseller filter; reseller staff always see their own reseller.
fn reseller_filter(user: &CurrentUser, value: Option<&str>) -> Result<Option<i64>, AppError> {
    match (user.effective_role(), value.map(str::trim)) {
        (Role::Operator, Some(value)) if !value.is_empty() => value
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::BadRequest("The reseller filter must be a number.".into())),
        _ => Ok(None),
    }
}

async fn render_tab(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    headers: HeaderMap,
    Query(params): Query<TabParams>,
    tab: Tab,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let selected_reseller = reseller_filter(&user, params.reseller.as_deref())?;
    let sort = Sort::parse(
        params.sort.as_deref(),
        params.dir.as_deref(),
        tab.sorts(),
        tab.default_sort(),
    )?;
    let after = Cursor::decode(params.after.as_deref())?;
    if params.q.chars().count() > 200 {
        return Err(AppError::BadRequest("The search text is too long.".into()));
    }
    let csv = match params.format.as_deref() {
        None | Some("") | Some("html") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::BadRequest("The format must be html or csv.".into())),
    };
    let now = state.clock().now();
    let today = now.date_naive();
    let query = TabQuery {
        reseller: selected_reseller,
        search: params.q.clone(),
        sort,
        after: if csv { None } else { after.clone() },
        today,
        window_days: EXPIRING_WINDOW_DAYS,
    };
    let limit = if csv { CSV_MAX_ROWS } else { PAGE_SIZE };
    let operator = user.effective_role() == Role::Operator;

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let resellers = if operator {
        store::dashboard::reseller_options(&mut tx).await?
    } else {
        vec![]
    };
    if selected_reseller.is_some_and(|id| !resellers.iter().any(|r| r.id == id)) {
        return Err(AppError::NotFound);
    }
    let kpis = store::dashboard::kpis(&mut tx, selected_reseller, today, EXPIRING_WINDOW_DAYS).await?;
    let page = match tab {
        Tab::Critical => {
            let page = store::dashboard::critical(&mut tx, &query, limit).await?;
            map_page(page, critical_row)
        }
        Tab::Expiring => {
            let page = store::dashboard::expiring(&mut tx, &query, limit).await?;
            map_page(page, |r| expiring_row(r, today))
        }
        Tab::Exceeding => {
            let page = store::dashboard::exceeding(&mut tx, &query, limit).await?;
            map_page(page, |r| exceeding_row(r, now))
        }
        Tab::Approaching => {
            let page = store::dashboard::approaching(&mut tx, &query, limit).await?;
            map_page(page, approaching_row)
        }
    };
    tx.commit().await?;

    if csv {
        return Ok(csv_export(tab, operator, &page.rows));
    }

    let current = params.current();
    let counts = [
        kpis.critical_connectors,
        kpis.expiring_soon,
        kpis.exceeding_usage,
        kpis.approaching_limits,
    ];
    let tabs = Tab::ALL
        .into_iter()
        .zip(counts)
        .map(|(t, count)| TabLink {
            key: t.key(),
            label: t.label(),
            count,
            href: link(
                &format!("/dashboard/{}", t.key()),
                &keep(&current, &["reseller", "q"]),
                &[],
            ),
            active: t == tab,
        })
        .collect();
    let path = format!("/dashboard/{}", tab.key());
    let headers_row = tab
        .columns(operator)
        .into_iter()
        .map(|(label, key, numeric)| {
            let sorted = key
                .filter(|k| *k == sort.key)
                .map(|_| if sort.descending { "descending" } else { "ascending" });
            let href = key.map(|key| {
                let dir = if key == sort.key && !sort.descending {
                    "desc"
                } else {
                    "asc"
                };
                link(&path, &current, &[("sort", key), ("dir", dir), ("after", "")])
            });
            let arrow = match sorted {
                Some("descending") => "▼",
                Some(_) => "▲",
                None => "",
            };
            Header {
                label,
                href,
                numeric,
                sorted,
                arrow,
            }
        })
        .collect();
    let view = TabView {
        tab_key: tab.key(),
        tab_label: tab.label(),
        tabs,
        headers: headers_row,
        next_href: page
            .next
            .as_ref()
            .map(|c| link(&path, &current, &[("after", &c.encode())])),
        first_href: after.is_some().then(|| link(&path, &current, &[])),
        csv_href: link(&path, &current, &[("format", "csv")]),
        rows: page.rows,
        search: params.q.clone(),
        reseller_param: selected_reseller.map(|id| id.to_string()).unwrap_or_default(),
        empty_message: match tab {
            Tab::Critical => "No connector is in a critical state.",
            Tab::Expiring => "Nothing expires in the next 30 days.",
            Tab::Exceeding => "No customer is over a seat limit.",
            Tab::Approaching => "No customer is on course to exceed a seat limit in the next 90 days.",
        },
        as_of: match kpis.as_of {
            Some(at) => format!("Figures as of {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => "Figures as stored; the engine has not recomputed them yet".to_string(),
        },
        bulk: tab == Tab::Exceeding,
        operator,
        earliest_effective: crate::domain::licensing::earliest_limit_effective_date(today)
            .format("%Y-%m-%d")
            .to_string(),
    };
    let csrf_token = user.csrf_token.clone();
    // htmx asks for the panel only when it swaps tabs; a plain request gets the whole page.
    if headers.get("hx-request").is_some() && headers.get("hx-history-restore-request").is_none() {
        return Ok(render(&DashboardPanel { view, csrf_token })?.into_response());
    }
    let page = DashboardPage {
        layout: Layout::new(&user, flash, "dashboard", format!("Dashboard · {}", tab.label())),
        kpis,
        resellers,
        selected_reseller,
        view,
        csrf_token,
    };
    Ok(render(&page)?.into_response())
}

fn keep(current: &[(&'static str, String)], names: &[&str]) -> Vec<(&'static str, String)> {
    current.iter().filter(|(k, _)| names.contains(k)).cloned().collect()
}

fn map_page<T>(page: Page<T>, to_row: impl Fn(T) -> Row) -> Page<Row> {
    Page {
        rows: page.rows.into_iter().map(to_row).collect(),
        next: page.next,
    }
}

fn customer_href(id: i64) -> String {
    format!("/customers/{id}")
}

fn seat_label(property: &str) -> String {
    SeatProperty::parse(property)
        .map(|p| p.label().to_string())
        .unwrap_or_else(|| property.to_string())
}

/// How a connector's kind is named to a person.
pub fn connector_kind_label(kind: &str) -> &'static str {
    match kind {
        "microsoft_365" => "Microsoft 365",
        "google_workspace" => "Google Workspace",
        "salesforce" => "Salesforce",
        "file_server" => "File server",
        "virtual_machine" => "Virtual machine",
        "endpoint" => "Endpoint",
        _ => "Connector",
    }
}

fn critical_row(r: store::dashboard::CriticalRow) -> Row {
    Row {
        customer_id: r.customer_id,
        customer: r.customer_name,
        email: r.email,
        reseller: r.reseller_name,
        cells: vec![
            Cell {
                sub: Some(connector_kind_label(&r.kind)),
                ..Cell::text(r.connector_name)
            },
            Cell::text(r.reason),
            Cell::text(r.since.format("%Y-%m-%d %H:%M UTC").to_string()),
        ],
        action: Action::Link {
            href: customer_href(r.customer_id),
            label: "Open customer",
        },
        select_value: None,
        critical: true,
    }
}

fn expiring_row(r: store::dashboard::ExpiringRow, today: NaiveDate) -> Row {
    let kind = Expiring::parse(&r.kind);
    let days = days_until(r.ends_on, today);
    let action = match kind {
        Some(Expiring::ScheduledDeletion) => Action::Link {
            href: format!("/customers/{}/revive", r.customer_id),
            label: "Revive",
        },
        Some(Expiring::TrialEnding) => Action::Link {
            href: format!("/customers/{}/convert", r.customer_id),
            label: "Select a paid plan",
        },
        _ => Action::Text("Contact support to extend the service"),
    };
    let days_text = match days {
        d if d < 0 => "ended".to_string(),
        0 => "today".to_string(),
        d => crate::domain::units::format_days(d),
    };
    Row {
        customer_id: r.customer_id,
        customer: r.name,
        email: r.email,
        reseller: r.reseller_name,
        cells: vec![
            Cell {
                badge: Some(if kind == Some(Expiring::ScheduledDeletion) {
                    "badge-critical"
                } else {
                    "badge-warning"
                }),
                ..Cell::text(kind.map(Expiring::label).unwrap_or("Expires"))
            },
            Cell::text(r.ends_on.format("%Y-%m-%d").to_string()),
            Cell::number(days_text),
        ],
        action,
        select_value: None,
        critical: kind == Some(Expiring::ScheduledDeletion),
    }
}

fn limit_cell(limit: i32, pending: Option<i32>, pending_on: Option<NaiveDate>) -> Cell {
    let note = match (pending, pending_on) {
        (Some(pending), Some(on)) => Some(format!("→ {pending} from {}", on.format("%Y-%m-%d"))),
        _ => None,
    };
    Cell {
        note,
        ..Cell::number(limit.to_string())
    }
}

fn exceeding_row(r: store::dashboard::ExceedingRow, now: DateTime<Utc>) -> Row {
    let grace = r.grace_ends_at.map(|end| grace_status(end, now));
    let grace_cell = match grace {
        Some(GraceStatus::Ended) => Cell {
            title: Some("The grace period has ended: new backups fail.".into()),
            badge: Some("badge-critical"),
            ..Cell::number("—")
        },
        Some(status) => Cell::number(status.display()),
        None => Cell {
            title: Some("The engine starts the grace period on its next run.".into()),
            ..Cell::number("…")
        },
    };
    let overage = r.seats_used - r.seat_limit;
    Row {
        customer_id: r.customer_id,
        customer: r.name,
        email: r.email,
        reseller: r.reseller_name,
        cells: vec![
            Cell::text(seat_label(&r.seat_property)),
            Cell {
                title: Some(format!("{overage} over the limit")),
                ..Cell::number(r.seats_used.to_string())
            },
            limit_cell(r.seat_limit, r.pending_limit, r.pending_effective_on),
            grace_cell,
        ],
        action: Action::Link {
            href: format!("/customers/{}/seat-limits?property={}", r.customer_id, r.seat_property),
            label: "Raise limit",
        },
        select_value: Some(format!("{}:{}", r.customer_id, r.seat_property)),
        critical: grace == Some(GraceStatus::Ended),
    }
}

fn approaching_row(r: store::dashboard::ApproachingRow) -> Row {
    Row {
        customer_id: r.customer_id,
        customer: r.name,
        email: r.email,
        reseller: r.reseller_name,
        cells: vec![
            Cell::text(seat_label(&r.seat_property)),
            Cell::number(r.seats_used.to_string()),
            Cell::number(r.seat_limit.to_string()),
            Cell::number(crate::domain::units::format_days(i64::from(r.days))),
        ],
        action: Action::Link {
            href: format!("/customers/{}/seat-limits?property={}", r.customer_id, r.seat_property),
            label: "Raise limit",
        },
        select_value: None,
        critical: false,
    }
}

fn csv_export(tab: Tab, operator: bool, rows: &[Row]) -> Response {
    let headers: Vec<&str> = tab
        .columns(operator)
        .into_iter()
        .map(|(label, _, _)| label)
        .filter(|label| *label != "Action")
        .chain(matches!(tab, Tab::Exceeding).then_some("Pending limit"))
        .collect();
    let lines = rows.iter().map(|row| {
        let mut line = vec![row.customer.clone(), row.email.clone()];
        if operator {
            line.push(row.reseller.clone());
        }
        line.extend(row.cells.iter().map(|c| c.text.clone()));
        if tab == Tab::Exceeding {
            line.push(row.cells.get(2).and_then(|c| c.note.clone()).unwrap_or_default());
        }
        line
    });
    csv_response(
        &format!("dashboard-{}.csv", tab.key()),
        &headers,
        lines.collect::<Vec<_>>(),
    )
}

// ---- Bulk limit change -------------------------------------------------------------------------

/// The bulk form's fields; `row` repeats, so the body is read as pairs.
struct BulkForm {
    rows: Vec<(i64, SeatProperty)>,
    mode: String,
    value: String,
    effective_on: String,
}

fn read_bulk_form(body: &[u8]) -> Result<BulkForm, AppError> {
    let form = crate::web::forms::RepeatedForm::parse(body)?;
    let rows = form.distinct(
        "row",
        500,
        |value| {
            let (id, property) = value.split_once(':')?;
            Some((id.parse::<i64>().ok()?, SeatProperty::parse(property)?))
        },
        "A selected row is not valid.",
    )?;
    Ok(BulkForm {
        rows,
        mode: form.field("mode"),
        value: form.field("value"),
        effective_on: form.field("effective_on"),
    })
}

/// Checks the change; `Err` carries the message to show.
fn check_bulk(form: &BulkForm, today: NaiveDate) -> Result<(LimitChange, NaiveDate), String> {
    if form.rows.is_empty() {
        return Err("Select at least one row.".into());
    }
    let value: i64 = form
        .value
        .trim()
        .parse()
        .map_err(|_| "Enter a whole number for the change.".to_string())?;
    let change = match form.mode.as_str() {
        "absolute" if (0..=10_000_000).contains(&value) => LimitChange::Absolute(value),
        "absolute" => return Err("A limit must be between 0 and 10,000,000.".into()),
        "percent" if (-100..=1000).contains(&value) => LimitChange::Percent(value),
        "percent" => return Err("A percentage must be between -100 and 1000.".into()),
        _ => return Err("Choose a new limit or a percentage.".into()),
    };
    let effective_on = NaiveDate::parse_from_str(form.effective_on.trim(), "%Y-%m-%d")
        .map_err(|_| "Enter the effective date as YYYY-MM-DD.".to_string())?;
    check_limit_change(0, effective_on, today).map_err(|e| e.to_string())?;
    Ok((change, effective_on))
}

#[derive(Template)]
#[template(path = "dashboard/bulk_preview.html")]
pub struct BulkPreviewPage {
    pub layout: Layout,
    pub changes: Vec<store::seat_limits::PlannedChange>,
    pub hidden: Vec<(String, String)>,
    pub effective_on: String,
    pub description: String,
}

async fn preview_bulk_limits(
    State(state): State<AppState>,
    user: CurrentUser,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let form = read_bulk_form(&body)?;
    let today = state.clock().today();
    let (change, effective_on) = match check_bulk(&form, today) {
        Ok(checked) => checked,
        Err(message) => return Ok(redirect_with_flash("/dashboard/exceeding", Flash::error(message))),
    };
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let changes = store::seat_limits::plan(&mut tx, &form.rows, change).await?;
    tx.commit().await?;
    if changes.len() != form.rows.len() {
        return Err(AppError::NotFound);
    }
    let mut hidden: Vec<(String, String)> = form
        .rows
        .iter()
        .map(|(id, property)| ("row".to_string(), format!("{id}:{}", property.as_str())))
        .collect();
    hidden.extend([
        ("mode".to_string(), form.mode.clone()),
        ("value".to_string(), form.value.trim().to_string()),
        ("effective_on".to_string(), form.effective_on.trim().to_string()),
    ]);
    let description = match change {
        LimitChange::Absolute(limit) => format!("Set each selected limit to {limit}"),
        LimitChange::Percent(percent) => format!("Change each selected limit by {percent:+}%"),
    };
    let page = BulkPreviewPage {
        layout: Layout::new(&user, FlashMessage::default(), "dashboard", "Review limit changes"),
        changes,
        hidden,
        effective_on: effective_on.format("%Y-%m-%d").to_string(),
        description,
    };
    Ok(render(&page)?.into_response())
}

async fn apply_bulk_limits(
    State(state): State<AppState>,
    user: CurrentUser,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let form = read_bulk_form(&body)?;
    let now = state.clock().now();
    let (change, effective_on) = match check_bulk(&form, now.date_naive()) {
        Ok(checked) => checked,
        Err(message) => return Ok(redirect_with_flash("/dashboard/exceeding", Flash::error(message))),
    };
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let changes = store::seat_limits::plan(&mut tx, &form.rows, change).await?;
    if changes.len() != form.rows.len() {
        return Err(AppError::NotFound);
    }
    for change in &changes {
        store::seat_limits::schedule(
            &mut tx,
            change.customer_id,
            &change.seat_property,
            change.new_limit,
            effective_on,
        )
        .await?;
    }
    // One audit entry per customer, listing each of its limits that changed.
    let mut customers: Vec<i64> = changes.iter().map(|c| c.customer_id).collect();
    customers.dedup();
    for customer_id in customers {
        let mut entry = audit_entry(&user, now, "seat_limit_scheduled", "customer", customer_id);
        entry.customer_id = Some(customer_id);
        entry.reseller_id = changes
            .iter()
            .find(|c| c.customer_id == customer_id)
            .map(|c| c.reseller_id);
        let fields: Vec<(String, serde_json::Value, serde_json::Value)> = changes
            .iter()
            .filter(|c| c.customer_id == customer_id)
            .map(|c| {
                (
                    format!("{} pending limit", c.seat_property),
                    serde_json::json!(c.pending_limit),
                    serde_json::json!({"limit": c.new_limit, "effective_on": effective_on}),
                )
            })
            .collect();
        let borrowed: Vec<(&str, serde_json::Value, serde_json::Value)> = fields
            .iter()
            .map(|(k, b, a)| (k.as_str(), b.clone(), a.clone()))
            .collect();
        entry.changes = store::audit::diff(&borrowed);
        entry.reason = "bulk limit change";
        store::audit::record(&mut tx, entry).await?;
    }
    tx.commit().await?;
    let message = format!(
        "{} limit change{} scheduled for {}.",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        effective_on.format("%Y-%m-%d")
    );
    Ok(redirect_with_flash("/dashboard/exceeding", Flash::success(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(rows: Vec<(i64, SeatProperty)>, mode: &str, value: &str, on: &str) -> BulkForm {
        BulkForm {
            rows,
            mode: mode.into(),
            value: value.into(),
            effective_on: on.into(),
        }
    }

    #[test]
    fn bulk_changes_are_checked_before_anything_is_shown() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).expect("date");
        let row = vec![(1, SeatProperty::M365User)];
        assert!(check_bulk(&form(vec![], "absolute", "10", "2026-06-16"), today).is_err());
        assert!(check_bulk(&form(row.clone(), "absolute", "-1", "2026-06-16"), today).is_err());
        assert!(check_bulk(&form(row.clone(), "absolute", "ten", "2026-06-16"), today).is_err());
        assert!(check_bulk(&form(row.clone(), "percent", "2000", "2026-06-16"), today).is_err());
        assert!(check_bulk(&form(row.clone(), "sideways", "10", "2026-06-16"), today).is_err());
        assert!(
            check_bulk(&form(row.clone(), "absolute", "10", "2026-06-15"), today).is_err(),
            "not today"
        );
        assert_eq!(
            check_bulk(&form(row, "percent", "10", "2026-06-16"), today),
            Ok((
                LimitChange::Percent(10),
                NaiveDate::from_ymd_opt(2026, 6, 16).expect("date")
            ))
        );
    }

    #[test]
    fn bulk_rows_must_name_a_customer_and_a_seat_property() {
        assert!(
            read_bulk_form(b"row=12%3Am365_user&row=12%3Am365_user&mode=absolute").is_ok_and(|f| f.rows.len() == 1)
        );
        assert!(read_bulk_form(b"row=12%3Aprinter").is_err());
        assert!(read_bulk_form(b"row=abc%3Am365_user").is_err());
    }

    #[test]
    fn every_tab_has_a_url_and_a_default_sort_it_allows() {
        for tab in Tab::ALL {
            assert_eq!(Tab::parse(tab.key()), Some(tab));
            assert!(tab.sorts().contains(&tab.default_sort().key), "{tab:?}");
        }
        assert_eq!(Tab::parse("secrets"), None);
    }
}
