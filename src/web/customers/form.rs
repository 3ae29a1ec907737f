//! `/customers/new` and `/customers/{id}/edit`: every setting of a customer, checked on the
//! server; the pass key, shown once on creation and on regeneration.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{customer_audit, parse_id, require_staff};
use crate::auth::current_user::FlashMessage;
use crate::auth::sessions::{random_token, sha256_hex};
use crate::auth::{CurrentUser, Flash, passwords};
use crate::domain::space::{SpaceRefusal, check_child, check_parent};
use crate::domain::tenancy::Role;
use crate::domain::throttling::{self, Throttling};
use crate::domain::units::format_bytes;
use crate::domain::validation::parse_email_list;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::Tx;
use crate::store::customers::{
    CreditQuotaChange, Customer, CustomerSettings, PortalAccess, ResellerSnapshot, ServicePlan,
};
use crate::store::dashboard::ResellerOption;
use crate::web::forms::FormCheck;
use crate::web::path::Path;
use crate::web::{ConfirmPage, Layout, filters, redirect_with_flash, render};

const GIB: i64 = 1 << 30;
pub const STORAGE_REGIONS: &[&str] = &["eu-west", "eu-central", "us-east"];

/// The form as typed: every field a string (checkboxes present or not), so a refused form comes
/// back exactly as the user left it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CustomerInput {
    pub reseller_id: String,
    pub name: String,
    pub legal_name: String,
    pub email: String,
    pub address: String,
    pub city: String,
    pub phone: String,
    pub fax: String,
    pub notes: String,
    pub backup_location: String,
    pub space_quota_gib: String,
    pub auto_authorize: Option<String>,
    pub email_reports: Option<String>,
    pub backup_status_reports: Option<String>,
    pub portal_access: Option<String>,
    pub portal_username: String,
    pub portal_password: String,
    pub portal_password_confirm: String,
    pub mcals_mode: String,
    pub mcals_allotted: String,
    pub activated: Option<String>,
    pub max_clients: String,
    #[serde(flatten)]
    pub throttling: ThrottlingInput,
    pub report_to: String,
    pub report_every: String,
    pub max_mau: String,
    pub service_plan_id: String,
    pub storage_region: String,
    pub tenant_type: String,
    pub trial_ends_on: String,
    pub service_expires_on: String,
    pub credit_quota: String,
    pub credit_quota_effective_on: String,
}

fn on(flag: bool) -> Option<String> {
    flag.then(|| "on".to_string())
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

impl CustomerInput {
    /// A new customer's defaults: activated, auto-authorization on, MCALs from the pool.
    fn blank(reseller_id: Option<i64>) -> Self {
        CustomerInput {
            reseller_id: reseller_id.map(|id| id.to_string()).unwrap_or_default(),
            backup_location: "primary".into(),
            auto_authorize: on(true),
            activated: on(true),
            mcals_mode: "auto".into(),
            throttling: ThrottlingInput::of(None),
            report_every: "none".into(),
            max_mau: "1000000".into(),
            storage_region: STORAGE_REGIONS[0].into(),
            tenant_type: "commercial".into(),
            ..Default::default()
        }
    }

    fn of(customer: &Customer, portal: Option<&store::customers::PortalUser>) -> Self {
        CustomerInput {
            reseller_id: customer.reseller_id.to_string(),
            name: customer.name.clone(),
            legal_name: customer.legal_name.clone(),
            email: customer.email.clone(),
            address: customer.address.clone(),
            city: customer.city.clone(),
            phone: customer.phone.clone(),
            fax: customer.fax.clone(),
            notes: customer.notes.clone(),
            backup_location: customer.backup_location.clone(),
            space_quota_gib: customer
                .space_quota_bytes
                .map(|b| (b / GIB).to_string())
                .unwrap_or_default(),
            auto_authorize: on(customer.auto_authorize),
            email_reports: on(customer.email_reports),
            backup_status_reports: on(customer.backup_status_reports),
            portal_access: on(portal.is_some_and(|p| !p.disabled)),
            portal_username: portal.map(|p| p.username.clone()).unwrap_or_default(),
            portal_password: String::new(),
            portal_password_confirm: String::new(),
            mcals_mode: if customer.mcals_allotted.is_some() {
                "fixed"
            } else {
                "auto"
            }
            .into(),
            mcals_allotted: customer.mcals_allotted.map(|n| n.to_string()).unwrap_or_default(),
            activated: on(customer.activated),
            max_clients: customer.max_clients.map(|n| n.to_string()).unwrap_or_default(),
            throttling: ThrottlingInput::of(customer.bandwidth_throttling.as_ref()),
            report_to: customer.consolidated_report_to.clone(),
            report_every: customer
                .consolidated_report_every
                .clone()
                .unwrap_or_else(|| "none".into()),
            max_mau: customer.max_mau.to_string(),
            service_plan_id: customer.service_plan_id.map(|id| id.to_string()).unwrap_or_default(),
            storage_region: customer.storage_region.clone(),
            tenant_type: customer.tenant_type.clone(),
            trial_ends_on: date_text(customer.trial_ends_on),
            service_expires_on: date_text(customer.service_expires_on),
            credit_quota: customer.credit_quota.clone().unwrap_or_default(),
            credit_quota_effective_on: date_text(customer.credit_quota_effective_on),
        }
    }
}

/// The customer being edited, or `None` on `/customers/new`.
pub struct Editing {
    pub customer: Customer,
    pub has_portal_user: bool,
}

#[derive(Template)]
#[template(path = "customers/form.html")]
pub struct CustomerFormPage {
    pub layout: Layout,
    pub editing: Option<Editing>,
    pub input: CustomerInput,
    pub errors: FieldErrors,
    pub snapshot: Option<ResellerSnapshot>,
    pub resellers: Vec<ResellerOption>,
    pub plans: Vec<ServicePlan>,
    pub regions: &'static [&'static str],
    /// What the customer's throttling resolves to when it inherits.
    pub inherited_throttling: String,
    /// What it resolves to with the saved setting.
    pub effective_throttling: String,
    /// The operator's global consolidated report is on: the customer's own one is not sent.
    pub consolidated_global: bool,
}

impl CustomerFormPage {
    fn action(&self) -> String {
        match &self.editing {
            Some(e) => format!("/customers/{}/edit", e.customer.id),
            None => "/customers/new".to_string(),
        }
    }

    fn has_portal_user(&self) -> bool {
        self.editing.as_ref().is_some_and(|e| e.has_portal_user)
    }

    fn is_default(&self) -> bool {
        self.editing.as_ref().is_some_and(|e| e.customer.is_default)
    }

    fn bytes(&self, value: impl std::borrow::Borrow<i64>) -> String {
        format_bytes(*value.borrow())
    }

    fn invalid(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }

    fn plan_selected(&self, id: &i64) -> bool {
        self.input.service_plan_id == id.to_string()
    }

    fn reseller_selected(&self, id: &i64) -> bool {
        self.input.reseller_id == id.to_string()
    }
}

#[derive(Template)]
#[template(path = "customers/pass_key.html")]
pub struct PassKeyPage {
    pub layout: Layout,
    pub customer_id: i64,
    pub customer_name: String,
    pub pass_key: String,
    pub created: bool,
    /// The customer has web-portal access and an email address: offer to send its account details.
    pub account_email: bool,
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    reseller: Option<String>,
}

/// Loads what the form shows around the fields: the reseller's snapshot, plans, resellers.
async fn page_context(
    tx: &mut Tx,
    user: &CurrentUser,
    reseller_id: Option<i64>,
    excluding: Option<i64>,
    own_throttling: Option<&Value>,
) -> Result<
    (
        Option<ResellerSnapshot>,
        Vec<ResellerOption>,
        Vec<ServicePlan>,
        String,
        String,
    ),
    AppError,
> {
    let snapshot = match reseller_id {
        Some(id) => Some(store::customers::reseller_snapshot(tx, id, excluding, false).await?),
        None => None,
    };
    let resellers = if user.role == Role::Operator {
        store::dashboard::reseller_options(tx).await?
    } else {
        vec![]
    };
    let plans = store::customers::service_plans(tx).await?;
    let (reseller_t, server_t) = snapshot
        .as_ref()
        .map(|s| {
            (
                Throttling::from_json(s.bandwidth_throttling.as_ref()),
                Throttling::from_json(s.server_throttling.as_ref()),
            )
        })
        .unwrap_or((None, None));
    let inherited = throttling::resolve(None, None, reseller_t.as_ref(), server_t.as_ref()).describe();
    let own = Throttling::from_json(own_throttling);
    let effective = throttling::resolve(None, own.as_ref(), reseller_t.as_ref(), server_t.as_ref()).describe();
    Ok((snapshot, resellers, plans, inherited, effective))
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashMessage,
    editing: Option<Editing>,
    input: CustomerInput,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let reseller_id = match &editing {
        Some(e) => Some(e.customer.reseller_id),
        None => user.scope().reseller_id().or_else(|| input.reseller_id.parse().ok()),
    };
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let excluding = editing.as_ref().map(|e| e.customer.id);
    let own = editing.as_ref().and_then(|e| e.customer.bandwidth_throttling.clone());
    let snapshot_result = page_context(&mut tx, user, reseller_id, excluding, own.as_ref()).await;
    let (snapshot, resellers, plans, inherited, effective) = match snapshot_result {
        Ok(context) => context,
        // An operator's ?reseller= that does not exist: show the form without a snapshot.
        Err(AppError::NotFound) if editing.is_none() => {
            let mut tx = store::scoped(state.db(), &user.access()).await?;
            page_context(&mut tx, user, None, None, None).await?
        }
        Err(error) => return Err(error),
    };
    let consolidated_global = store::email::settings(&mut tx).await?.consolidated_report_global;
    tx.commit().await?;
    let title = match &editing {
        Some(e) => format!("Edit {}", e.customer.name),
        None => "New customer".to_string(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = CustomerFormPage {
        layout: Layout::new(user, flash, "customers", title),
        editing,
        input,
        errors,
        snapshot,
        resellers,
        plans,
        regions: STORAGE_REGIONS,
        inherited_throttling: inherited,
        effective_throttling: effective,
        consolidated_global,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn show_new_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    user.require_unlimited()?;
    let reseller = match user.scope().reseller_id() {
        Some(own) => Some(own),
        None => query.reseller.as_deref().and_then(|r| r.trim().parse::<i64>().ok()),
    };
    form_page(
        &state,
        &user,
        flash,
        None,
        CustomerInput::blank(reseller),
        FieldErrors::new(),
    )
    .await
}

pub async fn show_edit_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let portal = store::customers::portal_user(&mut tx, id).await?;
    tx.commit().await?;
    let input = CustomerInput::of(&customer, portal.as_ref());
    let editing = Editing {
        customer,
        has_portal_user: portal.is_some(),
    };
    form_page(&state, &user, flash, Some(editing), input, FieldErrors::new()).await
}

/// Everything the form sets, checked. `existing`: the customer being edited.
struct Checked {
    settings: CustomerSettings,
    credit: CreditQuotaChange,
    portal: PortalAccessInput,
}

enum PortalAccessInput {
    Unchanged,
    Disable,
    Enable {
        username: String,
        password: Option<String>,
        /// No portal user exists yet.
        new_user: bool,
    },
}

fn parse_time(check: &mut FormCheck, field: &'static str, value: &str) -> Option<NaiveTime> {
    match NaiveTime::parse_from_str(value.trim(), "%H:%M") {
        Ok(time) => Some(time),
        Err(_) => {
            check.error(field, "Enter a time as HH:MM, for example 08:00.");
            None
        }
    }
}

/// A money-like amount with at most two decimals, at least 0, kept as text for `numeric`.
fn parse_credits(check: &mut FormCheck, field: &'static str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let valid = !whole.is_empty()
        && whole.len() <= 12
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.chars().all(|c| c.is_ascii_digit());
    if valid {
        Some(value.to_string())
    } else {
        check.error(field, "Enter 0 or more credits, with at most two decimals.");
        None
    }
}

fn same_amount(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    norm(a) == norm(b)
}

/// The throttling part of a form (customers, resellers, clients use the same fields).
pub struct ThrottlingFields<'a> {
    pub mode: &'a str,
    pub enabled: bool,
    pub when: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub off_on_weekends: bool,
    pub max_kbps: &'a str,
}

/// The throttling fields as a form sends and shows them; customers, resellers and clients share
/// them (flattened into their forms).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ThrottlingInput {
    pub throttling_mode: String,
    pub throttle_enabled: Option<String>,
    pub throttle_when: String,
    pub throttle_from: String,
    pub throttle_to: String,
    pub throttle_off_weekends: Option<String>,
    pub throttle_max_kbps: String,
}

impl ThrottlingInput {
    /// The form for a stored setting (`None`: inherit, with a custom default ready to edit).
    pub fn of(value: Option<&Value>) -> Self {
        let custom = Throttling::from_json(value);
        let shown = custom.clone().unwrap_or(Throttling {
            enabled: true,
            window: None,
            off_on_weekends: false,
            max_kbps: 0,
        });
        let time = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
        ThrottlingInput {
            throttling_mode: if custom.is_some() { "custom" } else { "inherit" }.into(),
            throttle_enabled: on(shown.enabled),
            throttle_when: if shown.window.is_some() { "window" } else { "always" }.into(),
            throttle_from: shown.window.map(|w| time(w.0)).unwrap_or_default(),
            throttle_to: shown.window.map(|w| time(w.1)).unwrap_or_default(),
            throttle_off_weekends: on(shown.off_on_weekends),
            throttle_max_kbps: if shown.max_kbps > 0 {
                shown.max_kbps.to_string()
            } else {
                String::new()
            },
        }
    }

    pub fn fields(&self) -> ThrottlingFields<'_> {
        ThrottlingFields {
            mode: &self.throttling_mode,
            enabled: self.throttle_enabled.is_some(),
            when: &self.throttle_when,
            from: &self.throttle_from,
            to: &self.throttle_to,
            off_on_weekends: self.throttle_off_weekends.is_some(),
            max_kbps: &self.throttle_max_kbps,
        }
    }
}

/// `None`: inherit; otherwise the custom setting as stored (jsonb).
pub fn check_throttling(check: &mut FormCheck, fields: &ThrottlingFields<'_>) -> Option<Value> {
    if check.choice("throttling_mode", fields.mode, &["inherit", "custom"]) != "custom" {
        return None;
    }
    let window = match check.choice("throttle_when", fields.when, &["always", "window"]) {
        "window" => {
            let from = parse_time(check, "throttle_from", fields.from);
            let to = parse_time(check, "throttle_to", fields.to);
            from.zip(to)
        }
        _ => None,
    };
    let max_kbps = if fields.enabled {
        check.number("throttle_max_kbps", fields.max_kbps, 1, 100_000_000)
    } else {
        check
            .optional_number("throttle_max_kbps", fields.max_kbps, 1, 100_000_000)
            .unwrap_or(0)
    };
    let setting = Throttling {
        enabled: fields.enabled,
        window,
        off_on_weekends: fields.off_on_weekends,
        max_kbps,
    };
    if let Err(error) = setting.check() {
        let field = match error {
            throttling::ThrottlingError::EmptyWindow => "throttle_to",
            throttling::ThrottlingError::NonPositiveRate => "throttle_max_kbps",
        };
        check.error(field, error.to_string());
    }
    serde_json::to_value(&setting).ok()
}

fn check_input(
    input: &CustomerInput,
    existing: Option<&Editing>,
    snapshot: &ResellerSnapshot,
    plans: &[ServicePlan],
    today: NaiveDate,
    check: &mut FormCheck,
) -> Checked {
    let legal_name = check.text("legal_name", &input.legal_name, false, 200);
    let email = check.email("email", &input.email, false);
    let address = check.text("address", &input.address, false, 300);
    let city = check.text("city", &input.city, false, 120);
    let phone = check.text("phone", &input.phone, false, 40);
    let fax = check.text("fax", &input.fax, false, 40);
    let notes = check.text("notes", &input.notes, false, 4000);
    let backup_location = check.text("backup_location", &input.backup_location, true, 200);

    let space_quota_bytes = check
        .optional_number("space_quota_gib", &input.space_quota_gib, 0, i64::MAX / GIB)
        .map(|gib| gib * GIB);
    let unchanged = existing.is_some_and(|e| e.customer.space_quota_bytes == space_quota_bytes);
    if !unchanged {
        let clients_hold = existing.map_or(0, |e| e.customer.allotted_to_clients);
        match check_child(
            Some(snapshot.disk_space_bytes),
            snapshot.allotted_to_customers,
            space_quota_bytes,
        )
        .and_then(|()| check_parent(space_quota_bytes, clients_hold))
        {
            Err(SpaceRefusal::ExceedsParent { free }) => check.error(
                "space_quota_gib",
                format!(
                    "The reseller has {} free to allot; enter at most {} GiB.",
                    format_bytes(free),
                    free / GIB
                ),
            ),
            Err(SpaceRefusal::BelowChildren { allotted_to_children }) => check.error(
                "space_quota_gib",
                format!(
                    "Its clients already have {} between them; enter at least that or lower their limits on the disk space page.",
                    format_bytes(allotted_to_children)
                ),
            ),
            Ok(()) => {}
        }
    }

    let is_default = existing.is_some_and(|e| e.customer.is_default);
    let mcals_allotted = if is_default {
        // The default customer catches unknown agents; its MCALs always come from the pool.
        existing.and_then(|e| e.customer.mcals_allotted)
    } else {
        match check.choice("mcals_mode", &input.mcals_mode, &["auto", "fixed"]) {
            "fixed" => {
                let n = check.number("mcals_allotted", &input.mcals_allotted, 0, 1_000_000);
                Some(n as i32)
            }
            _ => None,
        }
    };
    let max_clients = check
        .optional_number("max_clients", &input.max_clients, 0, 1_000_000)
        .map(|n| n as i32);

    let bandwidth_throttling = check_throttling(check, &input.throttling.fields());

    let report_to = check.text("report_to", &input.report_to, false, 1000);
    if let Err(message) = parse_email_list(&report_to) {
        check.error("report_to", message);
    }
    let report_every = match check.choice(
        "report_every",
        &input.report_every,
        &["none", "daily", "weekly", "monthly"],
    ) {
        "none" => None,
        every => Some(every.to_string()),
    };
    if report_every.is_some() && report_to.trim().is_empty() {
        check.error("report_to", "Add at least one recipient for the consolidated report.");
    }
    if (input.email_reports.is_some() || input.backup_status_reports.is_some()) && email.is_empty() {
        check.error("email", "Email reports need an address to go to.");
    }
    let max_mau = check.number("max_mau", &input.max_mau, 0, i64::from(i32::MAX)) as i32;

    let service_plan_id = if input.service_plan_id.trim().is_empty() {
        None
    } else {
        match input
            .service_plan_id
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|id| plans.iter().find(|p| p.id == id))
        {
            Some(plan) => Some(plan.id),
            None => {
                check.error("service_plan_id", "Choose one of the plans.");
                None
            }
        }
    };
    let storage_region = check
        .choice("storage_region", &input.storage_region, STORAGE_REGIONS)
        .to_string();
    let tenant_type = check
        .choice("tenant_type", &input.tenant_type, &["commercial", "evaluation"])
        .to_string();
    let trial_ends_on = check.optional_date("trial_ends_on", &input.trial_ends_on);
    if tenant_type == "evaluation" && trial_ends_on.is_none() && !check.errors.contains_key("trial_ends_on") {
        check.error("trial_ends_on", "An evaluation needs the day its trial ends.");
    }
    let plan = service_plan_id.and_then(|id| plans.iter().find(|p| p.id == id));
    if tenant_type == "commercial" && plan.is_some_and(|p| p.is_evaluation) {
        check.error("service_plan_id", "A commercial customer needs a paid plan.");
    }
    let service_expires_on = check.optional_date("service_expires_on", &input.service_expires_on);

    let quota = parse_credits(check, "credit_quota", &input.credit_quota);
    let effective_on = check
        .optional_date("credit_quota_effective_on", &input.credit_quota_effective_on)
        .unwrap_or(today);
    let current = existing.and_then(|e| e.customer.credit_quota.clone());
    let credit = match (quota, current) {
        (None, None) => CreditQuotaChange::Unchanged,
        (None, Some(_)) => CreditQuotaChange::Clear,
        (Some(new), Some(old)) if same_amount(&new, &old) => CreditQuotaChange::Unchanged,
        (Some(_), _) if effective_on < today => {
            check.error(
                "credit_quota_effective_on",
                "A new credit quota takes effect today at the earliest.",
            );
            CreditQuotaChange::Unchanged
        }
        (Some(new), _) if effective_on > today => CreditQuotaChange::Pending {
            quota: new,
            on: effective_on,
        },
        (Some(new), _) => CreditQuotaChange::Now {
            quota: new,
            on: effective_on,
        },
    };

    let has_user = existing.is_some_and(|e| e.has_portal_user);
    let portal = if input.portal_access.is_some() {
        let username = check.text("portal_username", &input.portal_username, true, 254);
        // Empty for a new user: the customer chooses its password through the emailed link.
        let password = if input.portal_password.is_empty() && (has_user || input.portal_password_confirm.is_empty()) {
            None
        } else {
            match passwords::check_new_password(&input.portal_password, &input.portal_password_confirm) {
                Ok(()) => Some(input.portal_password.clone()),
                Err(message) => {
                    check.error("portal_password", message);
                    None
                }
            }
        };
        PortalAccessInput::Enable {
            username,
            password,
            new_user: !has_user,
        }
    } else if has_user {
        PortalAccessInput::Disable
    } else {
        PortalAccessInput::Unchanged
    };

    Checked {
        settings: CustomerSettings {
            legal_name,
            email,
            address,
            city,
            phone,
            fax,
            notes,
            backup_location,
            space_quota_bytes,
            auto_authorize: input.auto_authorize.is_some(),
            email_reports: input.email_reports.is_some(),
            backup_status_reports: input.backup_status_reports.is_some(),
            mcals_allotted,
            activated: input.activated.is_some(),
            max_clients,
            bandwidth_throttling,
            consolidated_report_to: report_to,
            consolidated_report_every: report_every,
            max_mau,
            service_plan_id,
            storage_region,
            tenant_type: tenant_type.clone(),
            trial_ends_on: if tenant_type == "evaluation" {
                trial_ends_on
            } else {
                None
            },
            service_expires_on,
        },
        credit,
        portal,
    }
}

/// A unique-index violation turned into a message next to its field.
fn unique_violation(error: &sqlx::Error) -> Option<(&'static str, &'static str)> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    match db.constraint() {
        Some("customers_name_key") => Some(("name", "A customer with this name already exists.")),
        Some("users_username_key") => Some(("portal_username", "This username is taken; choose another.")),
        _ => None,
    }
}

async fn hash_portal_password(portal: PortalAccessInput) -> Result<PortalAccess, AppError> {
    Ok(match portal {
        PortalAccessInput::Unchanged => PortalAccess::Unchanged,
        PortalAccessInput::Disable => PortalAccess::Disable,
        PortalAccessInput::Enable {
            username,
            password,
            new_user,
        } => PortalAccess::Enable {
            username,
            password_hash: match password {
                Some(password) => Some(passwords::hash_blocking(password).await?),
                // Nobody knows this one: the user logs in after choosing a password by link.
                None if new_user => Some(passwords::hash_blocking(random_token()).await?),
                None => None,
            },
        },
    })
}

pub async fn create_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<CustomerInput>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    user.require_unlimited()?;
    let now = state.clock().now();
    let today = state.clock().today();
    let mut check = FormCheck::new();
    let reseller_id = match user.scope().reseller_id() {
        Some(own) => own,
        None => match input.reseller_id.trim().parse::<i64>() {
            Ok(id) => id,
            Err(_) => {
                check.error("reseller_id", "Choose the reseller this customer belongs to.");
                return form_page(&state, &user, FlashMessage::default(), None, input, check.errors).await;
            }
        },
    };
    let name = check.text("name", &input.name, true, 120);

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let snapshot = store::customers::reseller_snapshot(&mut tx, reseller_id, None, false).await?;
    let plans = store::customers::service_plans(&mut tx).await?;
    if snapshot.customers >= i64::from(snapshot.max_customers) {
        check.error(
            "name",
            format!(
                "{} has reached its allowance of {} customers; ask the operator for more.",
                snapshot.name, snapshot.max_customers
            ),
        );
    }
    if !name.is_empty() && store::customers::name_taken(&mut tx, &name).await? {
        check.error("name", "A customer with this name already exists.");
    }
    let checked = check_input(&input, None, &snapshot, &plans, today, &mut check);
    tx.commit().await?;
    if !check.is_ok() {
        return form_page(&state, &user, FlashMessage::default(), None, input, check.errors).await;
    }
    let portal = hash_portal_password(checked.portal).await?;
    let pass_key = random_token();

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    // Under the lock, the allowance is checked again: two creations cannot take the last place.
    let locked = store::customers::reseller_snapshot(&mut tx, reseller_id, None, true).await?;
    if locked.customers >= i64::from(locked.max_customers) {
        drop(tx);
        let errors = FieldErrors::from([(
            "name",
            format!("{} has reached its allowance of customers.", locked.name),
        )]);
        return form_page(&state, &user, FlashMessage::default(), None, input, errors).await;
    }
    if checked
        .settings
        .space_quota_bytes
        .is_some_and(|quota| quota > locked.free_space())
    {
        drop(tx);
        let errors = FieldErrors::from([(
            "space_quota_gib",
            "The reseller no longer has that much free space.".to_string(),
        )]);
        return form_page(&state, &user, FlashMessage::default(), None, input, errors).await;
    }
    let saved = async {
        let id = store::customers::insert(
            &mut tx,
            reseller_id,
            &name,
            &checked.settings,
            &sha256_hex(&pass_key),
            now,
        )
        .await?;
        store::customers::set_credit_quota(&mut tx, id, &checked.credit).await?;
        store::customers::set_portal_access(&mut tx, reseller_id, id, &checked.settings.email, &portal, now).await?;
        Ok::<i64, sqlx::Error>(id)
    }
    .await;
    let id = match saved {
        Ok(id) => id,
        Err(error) => {
            drop(tx);
            return match unique_violation(&error) {
                Some((field, message)) => {
                    let errors = FieldErrors::from([(field, message.to_string())]);
                    form_page(&state, &user, FlashMessage::default(), None, input, errors).await
                }
                None => Err(error.into()),
            };
        }
    };
    let mut entry = customer_audit(&user, now, "customer_created", reseller_id, id);
    let mut changes = serde_json::to_value(&checked.settings).unwrap_or_default();
    if let Value::Object(map) = &mut changes {
        map.insert("name".into(), json!(name));
        map.insert(
            "portal_access".into(),
            json!(matches!(portal, PortalAccess::Enable { .. })),
        );
    }
    entry.changes = changes;
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    tracing::info!(customer_id = id, reseller_id, "customer created");
    let page = PassKeyPage {
        layout: Layout::new(
            &user,
            FlashMessage(Some(Flash::success(format!("Customer {name} was created.")))),
            "customers",
            "Customer created",
        ),
        customer_id: id,
        customer_name: name,
        pass_key,
        created: true,
        account_email: matches!(portal, PortalAccess::Enable { .. }) && !checked.settings.email.is_empty(),
    };
    Ok(render(&page)?.into_response())
}

pub async fn update_customer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<CustomerInput>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let today = state.clock().today();
    let mut check = FormCheck::new();

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let portal_user = store::customers::portal_user(&mut tx, id).await?;
    let snapshot = store::customers::reseller_snapshot(&mut tx, customer.reseller_id, Some(id), false).await?;
    let plans = store::customers::service_plans(&mut tx).await?;
    tx.commit().await?;
    let editing = Editing {
        customer,
        has_portal_user: portal_user.is_some(),
    };
    // The name is fixed after creation: whatever the form says, the stored one stays.
    let mut input = input;
    input.name = editing.customer.name.clone();
    input.reseller_id = editing.customer.reseller_id.to_string();
    let checked = check_input(&input, Some(&editing), &snapshot, &plans, today, &mut check);
    if !check.is_ok() {
        return form_page(
            &state,
            &user,
            FlashMessage::default(),
            Some(editing),
            input,
            check.errors,
        )
        .await;
    }
    let portal = hash_portal_password(checked.portal).await?;

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    store::customers::lock(&mut tx, id).await?;
    let locked = store::customers::reseller_snapshot(&mut tx, editing.customer.reseller_id, Some(id), true).await?;
    if let Some(quota) = checked.settings.space_quota_bytes
        && quota > locked.free_space()
        && editing.customer.space_quota_bytes != Some(quota)
    {
        drop(tx);
        let errors = FieldErrors::from([(
            "space_quota_gib",
            "The reseller no longer has that much free space.".to_string(),
        )]);
        return form_page(&state, &user, FlashMessage::default(), Some(editing), input, errors).await;
    }
    let reseller_id = editing.customer.reseller_id;
    let saved = async {
        store::customers::update(&mut tx, id, &checked.settings).await?;
        store::customers::set_credit_quota(&mut tx, id, &checked.credit).await?;
        store::customers::set_portal_access(&mut tx, reseller_id, id, &checked.settings.email, &portal, now).await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    if let Err(error) = saved {
        drop(tx);
        return match unique_violation(&error) {
            Some((field, message)) => {
                let errors = FieldErrors::from([(field, message.to_string())]);
                form_page(&state, &user, FlashMessage::default(), Some(editing), input, errors).await
            }
            None => Err(error.into()),
        };
    }
    let before = serde_json::to_value(CustomerSettings::of(&editing.customer)).unwrap_or_default();
    let after = serde_json::to_value(&checked.settings).unwrap_or_default();
    let mut fields: Vec<(&str, Value, Value)> = Vec::new();
    if let (Value::Object(b), Value::Object(a)) = (&before, &after) {
        for (key, value) in a {
            fields.push((key.as_str(), b.get(key).cloned().unwrap_or(Value::Null), value.clone()));
        }
    }
    let mut changes = store::audit::diff(&fields);
    if let Value::Object(map) = &mut changes {
        if checked.credit != CreditQuotaChange::Unchanged {
            map.insert("credit_quota".into(), json!(format!("{:?}", checked.credit)));
        }
        match &portal {
            PortalAccess::Enable {
                username,
                password_hash,
            } => {
                map.insert(
                    "portal_access".into(),
                    json!({"username": username, "password_changed": password_hash.is_some()}),
                );
            }
            PortalAccess::Disable => {
                map.insert("portal_access".into(), json!("disabled"));
            }
            PortalAccess::Unchanged => {}
        }
    }
    let mut entry = customer_audit(&user, now, "customer_updated", reseller_id, id);
    entry.changes = changes;
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    // Web-portal access given (or its username changed): offer to email the account details.
    let access_changed = match &portal {
        PortalAccess::Enable { username, .. } => portal_user
            .as_ref()
            .is_none_or(|p| p.disabled || &p.username != username),
        _ => false,
    };
    if access_changed && !checked.settings.email.is_empty() {
        return Ok(redirect_with_flash(
            &format!("/customers/{id}/account-email"),
            Flash::success(format!(
                "The settings of {} were saved. Send the customer its account details?",
                editing.customer.name
            )),
        ));
    }
    Ok(redirect_with_flash(
        &format!("/customers/{id}/edit"),
        Flash::success(format!("The settings of {} were saved.", editing.customer.name)),
    ))
}

/// A new pass key replaces the old one at once: agents registering afterwards need the new one.
pub async fn regenerate_pass_key(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let pass_key = random_token();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    store::customers::set_pass_key_hash(&mut tx, id, &sha256_hex(&pass_key)).await?;
    let entry = customer_audit(&user, now, "customer_pass_key_regenerated", customer.reseller_id, id);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let page = PassKeyPage {
        layout: Layout::new(&user, FlashMessage::default(), "customers", "New pass key"),
        customer_id: id,
        customer_name: customer.name,
        pass_key,
        created: false,
        account_email: false,
    };
    Ok(render(&page)?.into_response())
}

pub async fn confirm_regenerate_pass_key(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    tx.commit().await?;
    let page = ConfirmPage {
        layout: Layout::new(&user, flash, "customers", "Regenerate the pass key"),
        heading: format!("Give {} a new pass key?", customer.name),
        message: "The current key stops working at once: agents that have not registered yet will need the new one. \
                  Registered agents keep working."
            .into(),
        details: vec![],
        action: format!("/customers/{id}/pass-key"),
        hidden: vec![],
        button: "Regenerate pass key".into(),
        cancel: format!("/customers/{id}/edit"),
        danger: true,
    };
    Ok(render(&page)?.into_response())
}
