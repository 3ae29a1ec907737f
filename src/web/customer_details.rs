//! `/customers/{id}`: the customer details page. The summary tab (account, service plan, 90 days
//! of credits and storage, contacts) and the SLA tab (jobs, alerts, data sources, SLA score), with
//! the forms that edit the account, the service plan and the contacts.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::charts::{Bar, BarChart, Segment};
use super::forms::FormCheck;
use super::{ConfirmPage, Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash};
use crate::domain::licensing::SeatProperty;
use crate::domain::sla::{self, SlaInputs};
use crate::domain::tenancy::Role;
use crate::domain::units::format_bytes;
use crate::domain::validation::parse_amount;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::customer_details::{
    AccountFields, AlertCount, AlertRow, Contact, ContactFields, CustomerDetail, PlanChoice, ServicePlanFields,
};
use crate::web::path::Path;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}", get(show_customer))
        .route("/customers/{id}/sla", get(show_sla))
        .route("/customers/{id}/account", get(edit_account).post(update_account))
        .route(
            "/customers/{id}/service-plan",
            get(edit_service_plan).post(update_service_plan),
        )
        .route("/customers/{id}/contacts/new", get(new_contact))
        .route("/customers/{id}/contacts", post(create_contact))
        .route("/customers/{id}/contacts/{contact_id}/edit", get(edit_contact))
        .route("/customers/{id}/contacts/{contact_id}", post(update_contact))
        .route(
            "/customers/{id}/contacts/{contact_id}/delete",
            get(confirm_delete_contact).post(delete_contact),
        )
}

const STAFF: &[Role] = &[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin];

/// Regions a customer's backups can be stored in.
pub const STORAGE_REGIONS: &[&str] = &["eu-west", "eu-central", "us-east", "us-west", "ap-southeast"];

/// Days the summary's consumption section covers.
const USAGE_DAYS: i64 = 90;
/// Weeks the SLA trend covers (about 90 days).
const TREND_WEEKS: i32 = 13;

/// A chart's day label, `MM-DD`, written directly: chrono's `format("%m-%d")` parses its format
/// string for each of a chart's 90 bars.
fn month_day(day: NaiveDate) -> String {
    format!("{:02}-{:02}", day.month(), day.day())
}

async fn find(tx: &mut store::Tx, id: i64) -> Result<CustomerDetail, AppError> {
    store::customer_details::find(tx, id).await?.ok_or(AppError::NotFound)
}

/// The badges, figures and tab links at the top of both tabs.
#[derive(Debug, Clone)]
pub struct HeaderView {
    pub customer: CustomerDetail,
    pub badges: Vec<(&'static str, String)>,
    pub figures: Vec<(&'static str, String, String)>,
    pub seats: Vec<SeatView>,
    pub tab: &'static str,
    pub can_impersonate: bool,
}

#[derive(Debug, Clone)]
pub struct SeatView {
    pub label: &'static str,
    pub used: i32,
    pub limit: i32,
    pub over: bool,
    pub pending: Option<String>,
}

fn header(
    customer: CustomerDetail,
    seats: Vec<store::seat_limits::SeatLimitRow>,
    tab: &'static str,
    user: &CurrentUser,
) -> HeaderView {
    let mut badges = Vec::new();
    if customer.lifecycle == "scheduled_for_deletion" {
        let on = customer
            .delete_on
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        badges.push(("badge-critical", format!("Scheduled for deletion on {on}")));
    }
    if !customer.activated {
        badges.push(("badge-warning", "Deactivated".to_string()));
    }
    if customer.tenant_type == "evaluation" {
        let until = customer
            .trial_ends_on
            .map(|d| format!(" until {}", d.format("%Y-%m-%d")))
            .unwrap_or_default();
        badges.push(("badge-info", format!("Evaluation{until}")));
    }
    if customer.backups_blocked_reason.is_some() {
        badges.push(("badge-critical", "Backups blocked".to_string()));
    }
    if badges.is_empty() {
        badges.push(("badge-ok", "Active".to_string()));
    }
    let mcals = match customer.mcals_allotted {
        Some(allotted) => format!("of {allotted} MCALs allotted"),
        None => "MCALs drawn from the pool".to_string(),
    };
    let space = match customer.space_quota_bytes {
        Some(quota) => format!("of {}", format_bytes(quota)),
        None => "no quota".to_string(),
    };
    let figures = vec![
        ("Clients", customer.clients.to_string(), mcals),
        ("Space used", format_bytes(customer.used_space_bytes), space),
    ];
    let seats = seats
        .into_iter()
        .map(|s| SeatView {
            label: SeatProperty::parse(&s.seat_property)
                .map(SeatProperty::label)
                .unwrap_or("Seats"),
            used: s.seats_used,
            limit: s.seat_limit,
            over: s.seats_used > s.seat_limit,
            pending: s
                .pending_limit
                .zip(s.pending_effective_on)
                .map(|(l, on)| format!("→ {l} from {}", on.format("%Y-%m-%d"))),
        })
        .collect();
    HeaderView {
        customer,
        badges,
        figures,
        seats,
        tab,
        can_impersonate: user.impersonating.is_none(),
    }
}

// ---- Summary ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "customer_details/summary.html")]
pub struct CustomerPage {
    pub layout: Layout,
    pub header: HeaderView,
    pub credits_total: String,
    pub storage_now: String,
    pub storage_change: String,
    pub credits_chart: String,
    pub storage_chart: String,
    pub usage_rows: Vec<(String, String, String)>,
    pub contacts: Vec<Contact>,
}

async fn show_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let today = state.clock().today();
    let from = today - Duration::days(USAGE_DAYS - 1);
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let store::customer_details::CustomerSummary {
        customer,
        seats,
        contacts,
    } = store::customer_details::summary(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let usage = store::customer_details::usage(&mut tx, id, from, today).await?;
    tx.commit().await?;
    let credits_total = store::customer_details::credits_total(&usage);

    let credits_bars = usage
        .iter()
        .map(|u| Bar {
            label: month_day(u.day),
            segments: vec![Segment {
                value: u.credits,
                class: "seg-primary",
            }],
            title: format!("{}: {:.2} credits", u.day, u.credits),
        })
        .collect();
    let storage_bars = usage
        .iter()
        .map(|u| Bar {
            label: month_day(u.day),
            segments: vec![Segment {
                value: u.storage_bytes as f64,
                class: "seg-secondary",
            }],
            title: format!("{}: {}", u.day, format_bytes(u.storage_bytes)),
        })
        .collect();
    let first_storage = usage.first().map(|u| u.storage_bytes).unwrap_or(0);
    let last_storage = usage.last().map(|u| u.storage_bytes).unwrap_or(0);
    let change = last_storage - first_storage;
    let page = CustomerPage {
        layout: Layout::new(&user, flash, "customers", customer.name.clone()),
        credits_chart: BarChart::new(
            "credits-chart",
            "Credits consumed per day, last 90 days",
            credits_bars,
            |v| format!("{v:.0}"),
        )
        .svg(),
        storage_chart: BarChart::new(
            "storage-chart",
            "Storage used per day, last 90 days",
            storage_bars,
            |v| format_bytes(v as i64),
        )
        .svg(),
        usage_rows: usage
            .iter()
            .rev()
            .map(|u| {
                (
                    u.day.to_string(),
                    format!("{:.2}", u.credits),
                    format_bytes(u.storage_bytes),
                )
            })
            .collect(),
        credits_total,
        storage_now: format_bytes(last_storage),
        storage_change: format!("{}{}", if change >= 0 { "+" } else { "−" }, format_bytes(change.abs())),
        header: header(customer, seats, "summary", &user),
        contacts,
    };
    Ok(render(&page)?.into_response())
}

// ---- SLA -------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct SlaQuery {
    period: Option<String>,
    sort: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct JobStats {
    pub total: i64,
    pub succeeded: i64,
    pub warnings: i64,
    pub failed: i64,
    pub running: i64,
    pub success_rate: String,
}

impl JobStats {
    fn of(days: &[store::customer_details::JobDay]) -> JobStats {
        let mut stats = JobStats::default();
        for day in days {
            stats.succeeded += day.succeeded;
            stats.warnings += day.warnings;
            stats.failed += day.failed;
            stats.running += day.running;
        }
        stats.total = stats.succeeded + stats.warnings + stats.failed + stats.running;
        stats.success_rate = sla::success_rate(stats.succeeded, stats.warnings, stats.failed)
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or_else(|| "—".to_string());
        stats
    }
}

#[derive(Debug, Clone)]
pub struct SourceView {
    pub name: String,
    pub kind: String,
    pub health: String,
    pub reason: String,
    pub last_success: String,
    pub last_success_age: String,
    pub stale: bool,
    pub last_restore: String,
    pub last_restore_status: Option<String>,
}

#[derive(Template)]
#[template(path = "customer_details/sla.html")]
pub struct SlaPage {
    pub layout: Layout,
    pub header: HeaderView,
    pub period: i64,
    pub periods: Vec<(i64, bool)>,
    pub backups: JobStats,
    pub restores: JobStats,
    pub backup_chart: String,
    pub restore_chart: String,
    pub alert_counts: Vec<AlertCount>,
    pub alerts: Vec<AlertRow>,
    pub sources: Vec<SourceView>,
    pub sort: &'static str,
    pub stale_hours: i64,
    pub score: u8,
    pub score_class: &'static str,
    pub trend_chart: String,
    pub weights: (u8, u8, u8),
}

fn job_chart(id: &str, what: &str, days: &[store::customer_details::JobDay], from: NaiveDate, to: NaiveDate) -> String {
    // One bar per day of the period, empty days included, so gaps show as gaps.
    let mut bars = Vec::new();
    let mut day = from;
    while day <= to {
        let found = days.iter().find(|d| d.day == day).cloned().unwrap_or_default();
        bars.push(Bar {
            label: month_day(day),
            segments: vec![
                Segment {
                    value: found.succeeded as f64,
                    class: "seg-ok",
                },
                Segment {
                    value: found.warnings as f64,
                    class: "seg-warning",
                },
                Segment {
                    value: found.failed as f64,
                    class: "seg-failed",
                },
            ],
            title: format!(
                "{}: {} succeeded, {} with warnings, {} failed",
                day, found.succeeded, found.warnings, found.failed
            ),
        });
        day += Duration::days(1);
    }
    BarChart::new(id, &format!("{what} per day by outcome"), bars, |v| format!("{v:.0}")).svg()
}

fn score_class(score: u8) -> &'static str {
    match score {
        90..=100 => "badge-ok",
        70..=89 => "badge-warning",
        _ => "badge-critical",
    }
}

async fn show_sla(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
    Query(query): Query<SlaQuery>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let period: i64 = match query.period.as_deref() {
        None | Some("") | Some("30") => 30,
        Some("7") => 7,
        Some("90") => 90,
        Some(_) => return Err(AppError::BadRequest("The period must be 7, 30 or 90 days.".into())),
    };
    let sort = match query.sort.as_deref() {
        None | Some("") | Some("health") => "health",
        Some("name") => "name",
        Some("last_success") => "last_success",
        Some(_) => {
            return Err(AppError::BadRequest(
                "The data sources can be sorted by health, name or last_success.".into(),
            ));
        }
    };
    let now = state.clock().now();
    let to_day = now.date_naive();
    let from_day = to_day - Duration::days(period - 1);
    let from: DateTime<Utc> = from_day.and_time(chrono::NaiveTime::MIN).and_utc();

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let store::customer_details::CustomerSla {
        customer,
        seats,
        backup_days,
        restore_days,
        alert_counts,
        alerts,
        sources: source_rows,
        stale_hours,
    } = store::customer_details::sla(&mut tx, id, from, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let trend = store::customer_details::sla_trend(&mut tx, id, now, TREND_WEEKS).await?;
    tx.commit().await?;

    let backups = JobStats::of(&backup_days);
    let restores = JobStats::of(&restore_days);
    let mut sources: Vec<SourceView> = source_rows
        .iter()
        .map(|s| SourceView {
            name: s.name.clone(),
            kind: if s.source_type == "client" {
                "client machine".into()
            } else {
                s.kind.replace('_', " ")
            },
            health: s.health.clone(),
            reason: s.health_reason.clone(),
            last_success: s
                .last_success_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "never".into()),
            last_success_age: sla::age(s.last_success_at, now),
            stale: sla::is_stale(s.last_success_at, now, stale_hours),
            last_restore: s
                .last_restore_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "none".into()),
            last_restore_status: s.last_restore_status.clone(),
        })
        .collect();
    let health_rank = |h: &str| match h {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    };
    match sort {
        "name" => sources.sort_by_key(|s| s.name.to_lowercase()),
        "last_success" => {
            let order: Vec<Option<DateTime<Utc>>> = source_rows.iter().map(|s| s.last_success_at).collect();
            let mut paired: Vec<_> = order.into_iter().zip(sources).collect();
            paired.sort_by_key(|(at, _)| *at);
            sources = paired.into_iter().map(|(_, s)| s).collect();
        }
        _ => sources.sort_by_key(|s| (health_rank(&s.health), !s.stale, s.name.to_lowercase())),
    }

    let open_critical = alert_counts
        .iter()
        .find(|a| a.severity == "critical")
        .map(|a| a.open)
        .unwrap_or(0);
    let score = sla::score(SlaInputs {
        succeeded: backups.succeeded,
        warnings: backups.warnings,
        failed: backups.failed,
        sources: source_rows.len() as i64,
        fresh_sources: sources.iter().filter(|s| !s.stale).count() as i64,
        open_critical_alerts: open_critical,
    });
    let source_count = source_rows.len() as i64;
    let trend_bars = trend
        .iter()
        .map(|w| {
            let week_score = sla::score(SlaInputs {
                succeeded: w.succeeded,
                warnings: w.warnings,
                failed: w.failed,
                sources: source_count,
                fresh_sources: w.sources_ok,
                open_critical_alerts: w.critical_alerts,
            });
            let ends = to_day - Duration::days(7 * i64::from(w.weeks_ago));
            Bar {
                label: month_day(ends),
                segments: vec![Segment {
                    value: f64::from(week_score),
                    class: "seg-primary",
                }],
                title: format!("Week ending {}: score {week_score}", ends.format("%Y-%m-%d")),
            }
        })
        .collect();

    let page = SlaPage {
        layout: Layout::new(&user, flash, "customers", format!("{} · SLA", customer.name)),
        header: header(customer, seats, "sla", &user),
        period,
        periods: [7, 30, 90].into_iter().map(|p| (p, p == period)).collect(),
        backup_chart: job_chart("backup-chart", "Backup jobs", &backup_days, from_day, to_day),
        restore_chart: job_chart("restore-chart", "Restore jobs", &restore_days, from_day, to_day),
        backups,
        restores,
        alert_counts,
        alerts,
        sources,
        sort,
        stale_hours,
        score,
        score_class: score_class(score),
        trend_chart: BarChart::new("trend-chart", "SLA score per week, last 13 weeks", trend_bars, |v| {
            format!("{v:.0}")
        })
        .svg(),
        weights: (
            (sla::SUCCESS_WEIGHT * 100.0) as u8,
            (sla::FRESHNESS_WEIGHT * 100.0) as u8,
            (sla::ALERT_WEIGHT * 100.0) as u8,
        ),
    };
    Ok(render(&page)?.into_response())
}

// ---- Account details ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    legal_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    phone: String,
}

#[derive(Template)]
#[template(path = "customer_details/account_form.html")]
pub struct AccountFormPage {
    pub layout: Layout,
    pub customer: CustomerDetail,
    pub form: AccountForm,
    pub errors: FieldErrors,
}

async fn edit_account(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    tx.commit().await?;
    let form = AccountForm {
        legal_name: customer.legal_name.clone(),
        email: customer.email.clone(),
        address: customer.address.clone(),
        city: customer.city.clone(),
        phone: customer.phone.clone(),
    };
    let page = AccountFormPage {
        layout: Layout::new(
            &user,
            flash,
            "customers",
            format!("Account details of {}", customer.name),
        ),
        customer,
        form,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

async fn update_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let mut check = FormCheck::new();
    let legal_name = check.text("legal_name", &form.legal_name, false, 200);
    let email = check.email("email", &form.email, false);
    let address = check.text("address", &form.address, false, 300);
    let city = check.text("city", &form.city, false, 120);
    let phone = check.text("phone", &form.phone, false, 40);
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    if !check.is_ok() {
        let page = AccountFormPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "customers",
                format!("Account details of {}", customer.name),
            ),
            customer,
            form,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let fields = AccountFields {
        legal_name: &legal_name,
        email: &email,
        address: &address,
        city: &city,
        phone: &phone,
    };
    if !store::customer_details::update_account(&mut tx, id, &fields).await? {
        return Err(AppError::NotFound);
    }
    let mut entry = audit_entry(&user, now, "customer_account_updated", "customer", id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(id);
    entry.changes = store::audit::diff(&[
        ("legal_name", json!(customer.legal_name), json!(legal_name)),
        ("email", json!(customer.email), json!(email)),
        ("address", json!(customer.address), json!(address)),
        ("city", json!(customer.city), json!(city)),
        ("phone", json!(customer.phone), json!(phone)),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}"),
        Flash::success("The account details are saved."),
    ))
}

// ---- Service plan --------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ServicePlanForm {
    #[serde(default)]
    service_plan_id: String,
    #[serde(default)]
    storage_region: String,
    #[serde(default)]
    tenant_type: String,
    #[serde(default)]
    trial_ends_on: String,
    #[serde(default)]
    service_expires_on: String,
    #[serde(default)]
    credit_quota: String,
    #[serde(default)]
    credit_quota_effective_on: String,
}

#[derive(Template)]
#[template(path = "customer_details/service_plan_form.html")]
pub struct ServicePlanPage {
    pub layout: Layout,
    pub customer: CustomerDetail,
    pub plans: Vec<PlanChoice>,
    pub regions: &'static [&'static str],
    pub form: ServicePlanForm,
    pub errors: FieldErrors,
}

impl ServicePlanPage {
    fn plan_selected(&self, plan_id: &i64) -> bool {
        self.form.service_plan_id == plan_id.to_string()
    }
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

async fn edit_service_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    let plans = store::customer_details::plans(&mut tx).await?;
    tx.commit().await?;
    let (quota, quota_on) = match (&customer.pending_credit_quota, customer.pending_credit_quota_on) {
        (Some(pending), Some(on)) => (pending.clone(), Some(on)),
        _ => (
            customer.credit_quota.clone().unwrap_or_default(),
            customer.credit_quota_effective_on,
        ),
    };
    let form = ServicePlanForm {
        service_plan_id: customer.service_plan_id.map(|p| p.to_string()).unwrap_or_default(),
        storage_region: customer.storage_region.clone(),
        tenant_type: customer.tenant_type.clone(),
        trial_ends_on: date_text(customer.trial_ends_on),
        service_expires_on: date_text(customer.service_expires_on),
        credit_quota: quota,
        credit_quota_effective_on: date_text(quota_on),
    };
    let page = ServicePlanPage {
        layout: Layout::new(&user, flash, "customers", format!("Service plan of {}", customer.name)),
        customer,
        plans,
        regions: STORAGE_REGIONS,
        form,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

async fn update_service_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ServicePlanForm>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let today = now.date_naive();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    let plans = store::customer_details::plans(&mut tx).await?;

    let mut check = FormCheck::new();
    let plan = check
        .optional_number("service_plan_id", &form.service_plan_id, 1, i64::MAX)
        .and_then(|pid| plans.iter().find(|p| p.id == pid));
    if plan.is_none() {
        check.error("service_plan_id", "Choose one of the service plans.");
    }
    let region = check
        .choice("storage_region", &form.storage_region, STORAGE_REGIONS)
        .to_string();
    let tenant_type = check.choice("tenant_type", &form.tenant_type, &["commercial", "evaluation"]);
    let evaluation = tenant_type == "evaluation";
    let trial_ends_on = check.optional_date("trial_ends_on", &form.trial_ends_on);
    if evaluation && trial_ends_on.is_none() && !check.errors.contains_key("trial_ends_on") {
        check.error("trial_ends_on", "An evaluation needs the date its trial ends.");
    }
    if let Some(plan) = plan
        && plan.is_evaluation != evaluation
    {
        check.error(
            "service_plan_id",
            if evaluation {
                "An evaluation uses the evaluation plan."
            } else {
                "A commercial customer needs a paid plan."
            },
        );
    }
    let service_expires_on = check.optional_date("service_expires_on", &form.service_expires_on);
    let credit_quota = match form.credit_quota.trim() {
        "" => None,
        text => match parse_amount(text) {
            Some(amount) => Some(amount),
            None => {
                check.error("credit_quota", "Enter an amount of credits such as 1500 or 1500.50.");
                None
            }
        },
    };
    let credit_quota_effective_on = check.optional_date("credit_quota_effective_on", &form.credit_quota_effective_on);
    if credit_quota.is_some()
        && credit_quota_effective_on.is_none()
        && !check.errors.contains_key("credit_quota_effective_on")
    {
        check.error(
            "credit_quota_effective_on",
            "Say from which day the credit quota applies.",
        );
    }
    let Some(plan) = plan.filter(|_| check.is_ok()) else {
        let page = ServicePlanPage {
            layout: Layout::new(
                &user,
                FlashMessage::default(),
                "customers",
                format!("Service plan of {}", customer.name),
            ),
            customer,
            plans,
            regions: STORAGE_REGIONS,
            form,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };
    let fields = ServicePlanFields {
        service_plan_id: plan.id,
        storage_region: region.clone(),
        evaluation,
        trial_ends_on,
        service_expires_on,
        credit_quota: credit_quota.clone(),
        credit_quota_effective_on,
        today,
    };
    if !store::customer_details::update_service_plan(&mut tx, id, &fields).await? {
        return Err(AppError::NotFound);
    }
    let mut entry = audit_entry(&user, now, "customer_service_plan_updated", "customer", id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(id);
    entry.changes = store::audit::diff(&[
        ("service_plan_id", json!(customer.service_plan_id), json!(plan.id)),
        ("storage_region", json!(customer.storage_region), json!(region)),
        ("tenant_type", json!(customer.tenant_type), json!(tenant_type)),
        (
            "trial_ends_on",
            json!(customer.trial_ends_on),
            json!(if evaluation { trial_ends_on } else { None }),
        ),
        (
            "service_expires_on",
            json!(customer.service_expires_on),
            json!(service_expires_on),
        ),
        (
            "credit_quota",
            json!({"quota": customer.credit_quota, "effective_on": customer.credit_quota_effective_on,
                   "pending": customer.pending_credit_quota, "pending_on": customer.pending_credit_quota_on}),
            json!({"quota": credit_quota, "effective_on": credit_quota_effective_on}),
        ),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = match credit_quota_effective_on {
        Some(on) if credit_quota.is_some() && on > today => {
            format!(
                "The service plan is saved; the new credit quota takes effect on {}.",
                on.format("%Y-%m-%d")
            )
        }
        _ => "The service plan is saved.".to_string(),
    };
    Ok(redirect_with_flash(
        &format!("/customers/{id}"),
        Flash::success(message),
    ))
}

// ---- Contacts --------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
}

#[derive(Template)]
#[template(path = "customer_details/contact_form.html")]
pub struct ContactFormPage {
    pub layout: Layout,
    pub customer: CustomerDetail,
    /// None when adding a contact.
    pub contact_id: Option<i64>,
    pub form: ContactForm,
    pub errors: FieldErrors,
}

struct CheckedContact {
    name: String,
    email: String,
    phone: String,
}

fn check_contact(form: &ContactForm) -> Result<CheckedContact, FieldErrors> {
    let mut check = FormCheck::new();
    let name = check.text("name", &form.name, true, 120);
    let email = check.email("email", &form.email, false);
    let phone = check.text("phone", &form.phone, false, 40);
    if email.is_empty() && phone.is_empty() {
        check.error(
            "email",
            "Give an email address or a phone number, so the contact can be reached.",
        );
    }
    if check.is_ok() {
        Ok(CheckedContact { name, email, phone })
    } else {
        Err(check.errors)
    }
}

fn contact_form_page(
    user: &CurrentUser,
    customer: CustomerDetail,
    contact_id: Option<i64>,
    form: ContactForm,
    errors: FieldErrors,
) -> ContactFormPage {
    let title = match contact_id {
        Some(_) => format!("Edit a contact of {}", customer.name),
        None => format!("Add a contact to {}", customer.name),
    };
    ContactFormPage {
        layout: Layout::new(user, FlashMessage::default(), "customers", title),
        customer,
        contact_id,
        form,
        errors,
    }
}

async fn new_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    tx.commit().await?;
    Ok(render(&contact_form_page(
        &user,
        customer,
        None,
        ContactForm::default(),
        FieldErrors::new(),
    ))?
    .into_response())
}

async fn create_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    let contact = match check_contact(&form) {
        Ok(contact) => contact,
        Err(errors) => {
            let page = contact_form_page(&user, customer, None, form, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
    };
    let fields = ContactFields {
        name: &contact.name,
        email: &contact.email,
        phone: &contact.phone,
    };
    let contact_id = store::customer_details::add_contact(&mut tx, customer.reseller_id, id, &fields).await?;
    audit_contact(
        &mut tx,
        &user,
        now,
        &customer,
        contact_id,
        "contact_added",
        None,
        Some((&contact.name, &contact.email, &contact.phone)),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}#contacts"),
        Flash::success(format!("{} is added.", contact.name)),
    ))
}

/// A contact's name, email and phone, before or after a change.
type ContactValues<'a> = (&'a str, &'a str, &'a str);

/// The audit entry of a contact change, with the fields before and after (None: did not exist).
#[allow(clippy::too_many_arguments)]
async fn audit_contact(
    tx: &mut store::Tx,
    user: &CurrentUser,
    now: DateTime<Utc>,
    customer: &CustomerDetail,
    contact_id: i64,
    action: &'static str,
    before: Option<ContactValues<'_>>,
    after: Option<ContactValues<'_>>,
) -> Result<(), AppError> {
    let value = |values: Option<ContactValues<'_>>, pick: fn(ContactValues<'_>) -> &str| json!(values.map(pick));
    let mut entry = audit_entry(user, now, action, "contact", contact_id);
    entry.reseller_id = Some(customer.reseller_id);
    entry.customer_id = Some(customer.id);
    entry.changes = store::audit::diff(&[
        ("name", value(before, |v| v.0), value(after, |v| v.0)),
        ("email", value(before, |v| v.1), value(after, |v| v.1)),
        ("phone", value(before, |v| v.2), value(after, |v| v.2)),
    ]);
    store::audit::record(tx, entry).await?;
    Ok(())
}

async fn edit_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, contact_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    let contact = store::customer_details::contact(&mut tx, id, contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let form = ContactForm {
        name: contact.name,
        email: contact.email,
        phone: contact.phone,
    };
    Ok(render(&contact_form_page(
        &user,
        customer,
        Some(contact_id),
        form,
        FieldErrors::new(),
    ))?
    .into_response())
}

async fn update_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, contact_id)): Path<(i64, i64)>,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    let before = store::customer_details::contact(&mut tx, id, contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let contact = match check_contact(&form) {
        Ok(contact) => contact,
        Err(errors) => {
            let page = contact_form_page(&user, customer, Some(contact_id), form, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
    };
    let fields = ContactFields {
        name: &contact.name,
        email: &contact.email,
        phone: &contact.phone,
    };
    if !store::customer_details::update_contact(&mut tx, id, contact_id, &fields).await? {
        return Err(AppError::NotFound);
    }
    audit_contact(
        &mut tx,
        &user,
        now,
        &customer,
        contact_id,
        "contact_updated",
        Some((&before.name, &before.email, &before.phone)),
        Some((&contact.name, &contact.email, &contact.phone)),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}#contacts"),
        Flash::success(format!("{} is saved.", contact.name)),
    ))
}

async fn confirm_delete_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path((id, contact_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    let contact = store::customer_details::contact(&mut tx, id, contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let page = ConfirmPage {
        layout: Layout::new(&user, flash, "customers", format!("Delete contact {}", contact.name)),
        heading: format!("Delete {}?", contact.name),
        message: format!(
            "{} will no longer be listed as a contact of {}.",
            contact.name, customer.name
        ),
        details: [contact.email, contact.phone]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        action: format!("/customers/{id}/contacts/{contact_id}/delete"),
        hidden: vec![],
        button: "Delete contact".into(),
        cancel: format!("/customers/{id}#contacts"),
        danger: true,
    };
    Ok(render(&page)?.into_response())
}

async fn delete_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, contact_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    user.require(STAFF)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = find(&mut tx, id).await?;
    let contact = store::customer_details::contact(&mut tx, id, contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !store::customer_details::delete_contact(&mut tx, id, contact_id).await? {
        return Err(AppError::NotFound);
    }
    audit_contact(
        &mut tx,
        &user,
        now,
        &customer,
        contact_id,
        "contact_deleted",
        Some((&contact.name, &contact.email, &contact.phone)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}#contacts"),
        Flash::success(format!("{} is deleted.", contact.name)),
    ))
}
