//! The server-rendered pages, one module per page area (the same names as `templates/` and
//! `tests/it/`). `routes` is the list every page is reachable from.

pub mod account;
pub mod admins;
pub mod alerts;
pub mod assets;
pub mod audit;
pub mod charts;
pub mod customer_details;
pub mod customers;
pub mod dashboard;
pub mod filters;
pub mod forms;
pub mod health;
pub mod impersonation;
pub mod invoices;
pub mod license;
pub mod lifecycle;
pub mod listing;
pub mod login;
pub mod organizations;
pub mod path;
pub mod portal;
pub mod resellers;
pub mod seat_limits;
pub mod set_password;
pub mod settings;
pub mod space;
pub mod two_factor;

use askama::Template;
use axum::Router;
use axum::http::header;
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::auth::current_user::{FlashMessage, MaybeUser};
use crate::auth::{CurrentUser, Flash};
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;

/// Every page route, area by area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(show_home))
        .merge(login::routes())
        .merge(account::routes())
        .merge(two_factor::routes())
        .merge(dashboard::routes())
        .merge(customer_details::routes())
        .merge(lifecycle::routes())
        .merge(seat_limits::routes())
        .merge(customers::routes())
        .merge(resellers::routes())
        .merge(space::routes())
        .merge(portal::routes())
        .merge(impersonation::routes())
        .merge(organizations::routes())
        .merge(admins::routes())
        .merge(license::routes())
        .merge(alerts::routes())
        .merge(audit::routes())
        .merge(health::routes())
        .merge(invoices::routes())
        .merge(set_password::routes())
        .merge(settings::routes())
}

/// `/` sends a user to its home page and anybody else to the login form.
async fn show_home(MaybeUser(user): MaybeUser) -> Redirect {
    match user {
        Some(user) => Redirect::to(user.effective_role().home_path()),
        None => Redirect::to("/login"),
    }
}

/// Renders a template into a page, turning a template failure into a logged 500.
pub fn render(template: &impl Template) -> Result<Html<String>, AppError> {
    Ok(Html(template.render()?))
}

/// A 303 redirect that shows `flash` on the page it leads to.
pub fn redirect_with_flash(to: &str, flash: Flash) -> Response {
    (
        AppendHeaders([(header::SET_COOKIE, flash.set_cookie())]),
        Redirect::to(to),
    )
        .into_response()
}

/// A link in the main navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub key: &'static str,
    pub href: &'static str,
    pub label: &'static str,
}

/// What the base layout needs on every page: who is logged in, where they are, the CSRF token
/// for the page's forms and the flash message.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub active: &'static str,
    pub user_name: String,
    pub role_label: &'static str,
    pub nav: Vec<NavItem>,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    /// "Logged in as" banner: the customer's name and when it ends.
    pub impersonating: Option<(String, String)>,
    /// What limits the user's account: read-only, chosen customers only (shown as a banner).
    pub access_note: Option<String>,
    /// A read-only account: the stylesheet hides the forms and links that would change things.
    pub read_only: bool,
    pub logged_in: bool,
}

impl Layout {
    pub fn new(user: &CurrentUser, flash: FlashMessage, active: &'static str, title: impl Into<String>) -> Self {
        let access = user.access();
        Layout {
            title: title.into(),
            active,
            user_name: user.name().to_string(),
            role_label: user.role.label(),
            nav: nav_for(user.effective_role()),
            csrf_token: user.csrf_token.clone(),
            flash: flash.0,
            impersonating: user.impersonating.as_ref().map(|imp| {
                (
                    imp.customer_name.clone(),
                    imp.expires_at.format("%H:%M UTC").to_string(),
                )
            }),
            access_note: access_note(&access),
            read_only: access.read_only,
            logged_in: true,
        }
    }

    /// For pages shown before login.
    pub fn anonymous(title: impl Into<String>, csrf_token: String, flash: FlashMessage) -> Self {
        Layout {
            title: title.into(),
            active: "",
            user_name: String::new(),
            role_label: "",
            nav: Vec::new(),
            csrf_token,
            flash: flash.0,
            impersonating: None,
            access_note: None,
            read_only: false,
            logged_in: false,
        }
    }
}

fn access_note(access: &crate::domain::tenancy::Access) -> Option<String> {
    match (access.read_only, &access.customers) {
        (false, None) => None,
        (true, None) => Some("Read-only access: you can see everything of your reseller and change nothing.".into()),
        (read_only, Some(ids)) => Some(format!(
            "{}You see only the {} customer(s) your reseller's owner chose for you.",
            if read_only { "Read-only access. " } else { "" },
            ids.len()
        )),
    }
}

/// The navigation a role sees: only pages it may open.
pub fn nav_for(role: Role) -> Vec<NavItem> {
    let item = |key, href, label| NavItem { key, href, label };
    match role {
        Role::Customer => vec![item("portal", "/portal", "Overview")],
        Role::Operator | Role::ResellerOwner | Role::ResellerAdmin => {
            let mut items = vec![
                item("dashboard", "/dashboard", "Dashboard"),
                item("customers", "/customers", "Customers"),
                item("organizations", "/organizations", "Organizations"),
                item("space", "/space", "Disk space"),
                item("alerts", "/alerts", "Alerts"),
                item("invoices", "/invoices", "Invoices"),
            ];
            if role == Role::Operator {
                items.push(item("resellers", "/resellers", "Resellers"));
                items.push(item("email-settings", "/settings/email", "Email"));
            }
            if role == Role::ResellerOwner {
                items.push(item("admins", "/admins", "Admins"));
            }
            if role != Role::ResellerAdmin {
                items.push(item("license", "/license", "License"));
                items.push(item("audit", "/audit", "Audit log"));
            }
            items
        }
    }
}

/// An audit entry for an action of `user`: while logged in as a customer, the real admin is
/// named as the one who acted.
pub fn audit_entry<'a>(
    user: &'a CurrentUser,
    now: chrono::DateTime<chrono::Utc>,
    action: &'a str,
    object_kind: &'a str,
    object_id: impl ToString,
) -> crate::store::audit::Entry<'a> {
    let mut entry = crate::store::audit::Entry::new(now, user.name(), action, object_kind, object_id.to_string());
    entry.actor_user_id = Some(user.id);
    let scope = user.scope();
    entry.reseller_id = scope.reseller_id();
    entry.customer_id = scope.customer_id();
    if user.impersonating.is_some() {
        entry.impersonator_name = Some(user.name());
    }
    entry
}

/// "Are you sure?" before a destructive or weighty action: a page of its own, so it works
/// without JavaScript; the form posts to `action`.
#[derive(askama::Template)]
#[template(path = "components/confirm.html")]
pub struct ConfirmPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    pub details: Vec<String>,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub button: String,
    pub cancel: String,
    pub danger: bool,
}
