//! `/admins`: the reseller owner manages its admins: create, disable and re-enable, reset a
//! password. Admins have every right but this one.

use askama::Template;
use axum::Router;
use axum::extract::{Form, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::{ConfirmPage, Layout, audit_entry, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash, passwords, sessions};
use crate::domain::tenancy::Role;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::admins::{AdminRow, NewAdmin};
use crate::web::forms::{FormCheck, RepeatedForm};
use crate::web::path::Path;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admins", get(show_admins).post(create_admin))
        .route("/admins/new", get(new_admin))
        .route("/admins/{id}/disable", get(confirm_disable_admin).post(disable_admin))
        .route("/admins/{id}/enable", post(enable_admin))
        .route(
            "/admins/{id}/password",
            get(edit_admin_password).post(reset_admin_password),
        )
        .route("/admins/{id}/access", get(edit_admin_access).post(save_admin_access))
        .route("/admins/two-factor", post(set_two_factor_requirement))
}

const OWNER: [Role; 1] = [Role::ResellerOwner];

/// A one-time password the owner hands over: 96 random bits, URL-safe characters.
fn generated_password() -> String {
    sessions::random_token().chars().take(16).collect()
}

#[derive(Template)]
#[template(path = "admins/index.html")]
pub struct AdminsPage {
    pub layout: Layout,
    pub admins: Vec<AdminRow>,
    pub two_factor_required: bool,
}

async fn show_admins(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let admins = store::admins::list(&mut tx).await?;
    let two_factor_required = store::admins::requires_two_factor(&mut tx).await?;
    tx.commit().await?;
    let page = AdminsPage {
        layout: Layout::new(&user, flash, "admins", "Admins"),
        admins,
        two_factor_required,
    };
    Ok(render(&page)?.into_response())
}

/// The password part of the create and reset forms: generate one, or take the one typed twice.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordChoice {
    #[serde(default)]
    password_mode: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

impl PasswordChoice {
    /// The password to set and whether it was generated (and must be shown once).
    fn resolve(&self, check: &mut FormCheck) -> (String, bool) {
        match check.choice("password_mode", &self.password_mode, &["generate", "choose"]) {
            "choose" => {
                if let Err(message) = passwords::check_new_password(&self.new_password, &self.confirm_password) {
                    check.error("new_password", message);
                }
                (self.new_password.clone(), false)
            }
            _ => (generated_password(), true),
        }
    }

    fn generate(&self) -> bool {
        self.password_mode != "choose"
    }
}

#[derive(Template)]
#[template(path = "admins/new.html")]
pub struct NewAdminPage {
    pub layout: Layout,
    pub username: String,
    pub display_name: String,
    pub generate: bool,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(flatten)]
    password: PasswordChoice,
}

async fn new_admin(user: CurrentUser, flash: FlashMessage) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let page = NewAdminPage {
        layout: Layout::new(&user, flash, "admins", "New admin"),
        username: String::new(),
        display_name: String::new(),
        generate: true,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

/// Shown once after a password was generated.
#[derive(Template)]
#[template(path = "admins/password_shown.html")]
pub struct PasswordShownPage {
    pub layout: Layout,
    pub heading: String,
    pub username: String,
    pub password: String,
}

async fn create_admin(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let mut check = FormCheck::new();
    let username = check.email("username", &form.username, true).to_lowercase();
    let display_name = check.text("display_name", &form.display_name, true, 120);
    let (password, generated) = form.password.resolve(&mut check);
    let form_again = |errors: FieldErrors| NewAdminPage {
        layout: Layout::new(&user, FlashMessage::default(), "admins", "New admin"),
        username: form.username.trim().to_string(),
        display_name: display_name.clone(),
        generate: form.password.generate(),
        errors,
    };
    if !check.is_ok() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_again(check.errors))?).into_response());
    }
    let hash = passwords::hash_blocking(password.clone()).await?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let created = store::admins::create(
        &mut tx,
        NewAdmin {
            username: &username,
            display_name: &display_name,
            password_hash: &hash,
            must_change_password: generated,
            now,
        },
    )
    .await;
    let admin_id = match created {
        Ok(id) => id,
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505") => {
            let errors = FieldErrors::from([("username", "That username is taken.".to_string())]);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_again(errors))?).into_response());
        }
        Err(error) => return Err(error.into()),
    };
    let mut entry = audit_entry(&user, now, "admin_created", "user", admin_id);
    entry.changes = store::audit::diff(&[
        ("username", json!(null), json!(username)),
        ("display_name", json!(null), json!(display_name)),
        (
            "password",
            json!(null),
            json!(if generated { "generated" } else { "chosen" }),
        ),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, admin_id, "admin created");
    if generated {
        let page = PasswordShownPage {
            layout: Layout::new(&user, FlashMessage::default(), "admins", "Admin created"),
            heading: format!("{display_name} can now log in"),
            username,
            password,
        };
        return Ok((StatusCode::CREATED, render(&page)?).into_response());
    }
    Ok(redirect_with_flash(
        "/admins",
        Flash::success(format!("{display_name} can now log in as {username}.")),
    ))
}

async fn find_admin(state: &AppState, user: &CurrentUser, id: i64) -> Result<AdminRow, AppError> {
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let admin = store::admins::find(&mut tx, id).await?;
    tx.commit().await?;
    admin.ok_or(AppError::NotFound)
}

fn refuse_owner(admin: &AdminRow, what: &str) -> Result<(), AppError> {
    if admin.is_owner() {
        Err(AppError::Conflict(format!(
            "The reseller's owner cannot be {what} here."
        )))
    } else {
        Ok(())
    }
}

async fn confirm_disable_admin(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let admin = find_admin(&state, &user, id).await?;
    refuse_owner(&admin, "disabled")?;
    let page = ConfirmPage {
        layout: Layout::new(&user, flash, "admins", "Disable admin"),
        heading: format!("Disable {}?", admin.display_name),
        message: format!(
            "{} ({}) will be logged out everywhere and cannot log in until re-enabled.",
            admin.display_name, admin.username
        ),
        details: vec![],
        action: format!("/admins/{id}/disable"),
        hidden: vec![],
        button: "Disable admin".into(),
        cancel: "/admins".into(),
        danger: true,
    };
    Ok(render(&page)?.into_response())
}

async fn disable_admin(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    set_admin_disabled(state, user, id, true).await
}

async fn enable_admin(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    set_admin_disabled(state, user, id, false).await
}

async fn set_admin_disabled(state: AppState, user: CurrentUser, id: i64, disable: bool) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let admin = store::admins::find_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    refuse_owner(&admin, if disable { "disabled" } else { "re-enabled" })?;
    if admin.disabled_at.is_some() == disable {
        let state_now = if disable { "already disabled" } else { "already enabled" };
        return Ok(redirect_with_flash(
            "/admins",
            Flash::success(format!("{} is {state_now}.", admin.display_name)),
        ));
    }
    store::admins::set_disabled(&mut tx, id, disable.then_some(now)).await?;
    let action = if disable { "admin_disabled" } else { "admin_enabled" };
    let mut entry = audit_entry(&user, now, action, "user", id);
    entry.changes = store::audit::diff(&[("disabled", json!(!disable), json!(disable))]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    if disable {
        // The session loader already refuses a disabled user; this removes the rows.
        let mut auth = store::auth(state.db()).await?;
        store::sessions::delete_others(&mut auth, id, None, now).await?;
        auth.commit().await?;
    }
    let message = if disable {
        format!("{} is disabled and has been logged out.", admin.display_name)
    } else {
        format!("{} can log in again.", admin.display_name)
    };
    Ok(redirect_with_flash("/admins", Flash::success(message)))
}

#[derive(Template)]
#[template(path = "admins/password.html")]
pub struct ResetPasswordPage {
    pub layout: Layout,
    pub admin: AdminRow,
    pub generate: bool,
    pub errors: FieldErrors,
}

async fn edit_admin_password(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let admin = find_admin(&state, &user, id).await?;
    refuse_owner(&admin, "given a new password")?;
    let page = ResetPasswordPage {
        layout: Layout::new(&user, flash, "admins", "Reset password"),
        admin,
        generate: true,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

async fn reset_admin_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<PasswordChoice>,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let admin = find_admin(&state, &user, id).await?;
    refuse_owner(&admin, "given a new password")?;
    let mut check = FormCheck::new();
    let (password, generated) = form.resolve(&mut check);
    if !check.is_ok() {
        let page = ResetPasswordPage {
            layout: Layout::new(&user, FlashMessage::default(), "admins", "Reset password"),
            admin,
            generate: form.generate(),
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let hash = passwords::hash_blocking(password.clone()).await?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    if !store::admins::set_password(&mut tx, id, &hash, generated, now).await? {
        return Err(AppError::NotFound);
    }
    let mut entry = audit_entry(&user, now, "admin_password_reset", "user", id);
    entry.changes = json!({"password": {"before": null, "after": if generated { "generated" } else { "chosen" }}});
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    // Whoever held a session with the old password loses it.
    let mut auth = store::auth(state.db()).await?;
    store::sessions::delete_others(&mut auth, id, None, now).await?;
    auth.commit().await?;
    if generated {
        let page = PasswordShownPage {
            layout: Layout::new(&user, FlashMessage::default(), "admins", "Password reset"),
            heading: format!("New password for {}", admin.display_name),
            username: admin.username,
            password,
        };
        return Ok(render(&page)?.into_response());
    }
    Ok(redirect_with_flash(
        "/admins",
        Flash::success(format!("{} has a new password.", admin.display_name)),
    ))
}

#[derive(Template)]
#[template(path = "admins/access.html")]
pub struct AccessPage {
    pub layout: Layout,
    pub admin: AdminRow,
    pub read_only: bool,
    pub limited: bool,
    pub customers: Vec<store::admins::CustomerChoice>,
    pub errors: FieldErrors,
}

async fn edit_admin_access(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let admin = store::admins::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    refuse_owner(&admin, "limited")?;
    let customers = store::admins::customer_choices(&mut tx, id).await?;
    tx.commit().await?;
    let (read_only, limited) = (admin.read_only, admin.limited_to_granted_customers);
    let page = AccessPage {
        layout: Layout::new(&user, flash, "admins", "Admin access"),
        admin,
        read_only,
        limited,
        customers,
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

/// More customers than a checkbox list sensibly holds; beyond it, leave the admin unlimited.
const MAX_GRANTED_CUSTOMERS: usize = 5_000;

/// The access form: `customer` repeats (one checkbox per customer).
struct AccessForm {
    rights: String,
    customer_scope: String,
    customers: Vec<i64>,
}

fn read_access_form(body: &[u8]) -> Result<AccessForm, AppError> {
    let form = RepeatedForm::parse(body)?;
    let customers = form.distinct(
        "customer",
        MAX_GRANTED_CUSTOMERS,
        |value| value.parse::<i64>().ok(),
        "A chosen customer is not a customer id.",
    )?;
    Ok(AccessForm {
        rights: form.field("rights"),
        customer_scope: form.field("customer_scope"),
        customers,
    })
}

async fn save_admin_access(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let form = read_access_form(&body)?;
    let mut check = FormCheck::new();
    let read_only = check.choice("rights", &form.rights, &["full", "read_only"]) == "read_only";
    let limited = check.choice("customer_scope", &form.customer_scope, &["all", "chosen"]) == "chosen";
    if limited && form.customers.is_empty() {
        check.error(
            "customers",
            "Choose at least one customer, or let the admin see all of them.",
        );
    }
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let admin = store::admins::find_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    refuse_owner(&admin, "limited")?;
    if !check.is_ok() {
        let mut customers = store::admins::customer_choices(&mut tx, id).await?;
        for choice in &mut customers {
            choice.granted = form.customers.contains(&choice.id);
        }
        tx.commit().await?;
        let page = AccessPage {
            layout: Layout::new(&user, FlashMessage::default(), "admins", "Admin access"),
            admin,
            read_only,
            limited,
            customers,
            errors: check.errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let access = store::admins::AdminAccess {
        read_only,
        limited,
        customers: &form.customers,
    };
    let granted = store::admins::set_access(&mut tx, id, &access).await?;
    if limited && granted.is_empty() {
        return Err(AppError::BadRequest(
            "None of the chosen customers belongs to your reseller.".into(),
        ));
    }
    let mut entry = audit_entry(&user, now, "admin_access_changed", "user", id);
    entry.changes = store::audit::diff(&[
        ("read_only", json!(admin.read_only), json!(read_only)),
        (
            "limited_to_chosen_customers",
            json!(admin.limited_to_granted_customers),
            json!(limited),
        ),
        ("customers", json!(null), json!(granted)),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let rights = if read_only { "read-only" } else { "full" };
    let reach = if limited {
        format!("{} chosen customer(s)", granted.len())
    } else {
        "every customer".to_string()
    };
    Ok(redirect_with_flash(
        "/admins",
        Flash::success(format!("{} now has {rights} access to {reach}.", admin.display_name)),
    ))
}

#[derive(Debug, Deserialize)]
pub struct TwoFactorRequirementForm {
    #[serde(default)]
    required: String,
}

/// The reseller-wide rule: every owner and admin must use a second factor to log in. Those
/// without one are sent to enrol at their next page.
async fn set_two_factor_requirement(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<TwoFactorRequirementForm>,
) -> Result<Response, AppError> {
    user.require(&OWNER)?;
    let mut check = FormCheck::new();
    let required = check.choice("required", &form.required, &["yes", "no"]) == "yes";
    if !check.is_ok() {
        return Err(AppError::Invalid(check.errors));
    }
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let before = store::admins::requires_two_factor(&mut tx).await?;
    store::admins::set_requires_two_factor(&mut tx, required).await?;
    let reseller = user.reseller_id.unwrap_or_default();
    let mut entry = audit_entry(&user, now, "two_factor_requirement_changed", "reseller", reseller);
    entry.changes = store::audit::diff(&[("two_factor_required", json!(before), json!(required))]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    let message = if required {
        "Two-factor authentication is now required for you and every admin of your reseller."
    } else {
        "Two-factor authentication is now optional for your reseller's admins."
    };
    Ok(redirect_with_flash("/admins", Flash::success(message)))
}
