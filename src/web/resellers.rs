//! `/resellers`: the operator's list of resellers, and creating or editing one with its
//! allowances, bandwidth throttling and owner.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::customers::{ThrottlingInput, check_throttling};
use super::forms::FormCheck;
use super::{Layout, filters, redirect_with_flash, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, Flash, passwords};
use crate::domain::tenancy::Role;
use crate::domain::throttling::{self, Throttling};
use crate::domain::units::format_bytes;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::resellers::{OwnerSettings, Reseller, ResellerRow, ResellerSettings};
use crate::web::path::Path;

const GIB: i64 = 1 << 30;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resellers", get(show_resellers))
        .route("/resellers/new", get(show_new_reseller).post(create_reseller))
        .route("/resellers/{id}/edit", get(show_edit_reseller).post(update_reseller))
}

#[derive(Template)]
#[template(path = "resellers/list.html")]
pub struct ResellersPage {
    pub layout: Layout,
    pub resellers: Vec<ResellerRow>,
}

impl ResellerRow {
    pub fn mcal_pool_free(&self) -> i64 {
        crate::domain::licensing::mcal_pool_free(i64::from(self.mcal_pool), self.mcals_used)
    }
}

async fn show_resellers(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let resellers = store::resellers::list(&mut tx).await?;
    tx.commit().await?;
    let page = ResellersPage {
        layout: Layout::new(&user, flash, "resellers", "Resellers"),
        resellers,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResellerInput {
    pub name: String,
    pub max_customers: String,
    pub max_accounts: String,
    pub mau_allowance: String,
    pub disk_space_gib: String,
    pub mcal_pool: String,
    #[serde(flatten)]
    pub throttling: ThrottlingInput,
    pub owner_username: String,
    pub owner_display_name: String,
    pub owner_email: String,
    pub owner_password: String,
    pub owner_password_confirm: String,
}

impl ResellerInput {
    fn blank() -> Self {
        ResellerInput {
            max_customers: "100".into(),
            max_accounts: "1000".into(),
            mau_allowance: "0".into(),
            disk_space_gib: "0".into(),
            mcal_pool: "0".into(),
            throttling: ThrottlingInput::of(None),
            ..Default::default()
        }
    }

    fn of(reseller: &Reseller, owner: Option<&store::resellers::Owner>) -> Self {
        ResellerInput {
            name: reseller.name.clone(),
            max_customers: reseller.max_customers.to_string(),
            max_accounts: reseller.max_accounts.to_string(),
            mau_allowance: reseller.mau_allowance.to_string(),
            disk_space_gib: (reseller.disk_space_bytes / GIB).to_string(),
            mcal_pool: reseller.mcal_pool.to_string(),
            throttling: ThrottlingInput::of(reseller.bandwidth_throttling.as_ref()),
            owner_username: owner.map(|o| o.username.clone()).unwrap_or_default(),
            owner_display_name: owner.map(|o| o.display_name.clone()).unwrap_or_default(),
            owner_email: owner.map(|o| o.email.clone()).unwrap_or_default(),
            owner_password: String::new(),
            owner_password_confirm: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "resellers/form.html")]
pub struct ResellerFormPage {
    pub layout: Layout,
    pub editing: Option<Reseller>,
    pub has_owner: bool,
    pub input: ResellerInput,
    pub errors: FieldErrors,
    pub inherited_throttling: String,
    pub effective_throttling: String,
}

impl ResellerFormPage {
    fn action(&self) -> String {
        match &self.editing {
            Some(r) => format!("/resellers/{}/edit", r.id),
            None => "/resellers/new".to_string(),
        }
    }

    fn bytes(&self, value: impl std::borrow::Borrow<i64>) -> String {
        format_bytes(*value.borrow())
    }
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashMessage,
    editing: Option<Reseller>,
    has_owner: bool,
    input: ResellerInput,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let server: Option<Value> = match &editing {
        Some(r) => r.server_throttling.clone(),
        None => {
            let mut tx = store::scoped(state.db(), &user.access()).await?;
            let value = store::customers::server_throttling(&mut tx).await?;
            tx.commit().await?;
            value
        }
    };
    let server = Throttling::from_json(server.as_ref());
    let own = editing
        .as_ref()
        .and_then(|r| Throttling::from_json(r.bandwidth_throttling.as_ref()));
    let title = match &editing {
        Some(r) => format!("Edit {}", r.name),
        None => "New reseller".to_string(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ResellerFormPage {
        layout: Layout::new(user, flash, "resellers", title),
        editing,
        has_owner,
        input,
        errors,
        inherited_throttling: throttling::resolve(None, None, None, server.as_ref()).describe(),
        effective_throttling: throttling::resolve(None, None, own.as_ref(), server.as_ref()).describe(),
    };
    Ok((status, render(&page)?).into_response())
}

async fn show_new_reseller(
    user: CurrentUser,
    flash: FlashMessage,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    form_page(
        &state,
        &user,
        flash,
        None,
        false,
        ResellerInput::blank(),
        FieldErrors::new(),
    )
    .await
}

fn parse_reseller_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().map_err(|_| AppError::NotFound)
}

async fn show_edit_reseller(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    let id = parse_reseller_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let reseller = store::resellers::get(&mut tx, id).await?;
    let owner = store::resellers::owner(&mut tx, id).await?;
    tx.commit().await?;
    let input = ResellerInput::of(&reseller, owner.as_ref());
    form_page(
        &state,
        &user,
        flash,
        Some(reseller),
        owner.is_some(),
        input,
        FieldErrors::new(),
    )
    .await
}

struct Checked {
    settings: ResellerSettings,
    owner_password: Option<String>,
}

fn check_input(input: &ResellerInput, editing: Option<&Reseller>, has_owner: bool, check: &mut FormCheck) -> Checked {
    let name = check.text("name", &input.name, true, 120);
    let max = i64::from(i32::MAX);
    let max_customers = check.number("max_customers", &input.max_customers, 0, max) as i32;
    let max_accounts = check.number("max_accounts", &input.max_accounts, 0, max) as i32;
    let mau_allowance = check.number("mau_allowance", &input.mau_allowance, 0, max) as i32;
    let disk_space_bytes = check.number("disk_space_gib", &input.disk_space_gib, 0, i64::MAX / GIB) * GIB;
    if let Some(reseller) = editing
        && disk_space_bytes < reseller.allotted_to_customers
        && !check.errors.contains_key("disk_space_gib")
    {
        check.error(
            "disk_space_gib",
            format!(
                "Its customers already have {} allotted; enter at least {} GiB or lower their quotas first.",
                format_bytes(reseller.allotted_to_customers),
                (reseller.allotted_to_customers + GIB - 1) / GIB
            ),
        );
    }
    let mcal_pool = check.number("mcal_pool", &input.mcal_pool, 0, max) as i32;
    let bandwidth_throttling = check_throttling(check, &input.throttling.fields());
    check.text("owner_username", &input.owner_username, true, 254);
    check.text("owner_display_name", &input.owner_display_name, false, 120);
    check.email("owner_email", &input.owner_email, false);
    let owner_password = if input.owner_password.is_empty() && has_owner {
        None
    } else {
        match passwords::check_new_password(&input.owner_password, &input.owner_password_confirm) {
            Ok(()) => Some(input.owner_password.clone()),
            Err(message) => {
                check.error("owner_password", message);
                None
            }
        }
    };
    Checked {
        settings: ResellerSettings {
            name,
            max_customers,
            max_accounts,
            mau_allowance,
            disk_space_bytes,
            mcal_pool,
            bandwidth_throttling,
        },
        owner_password,
    }
}

fn unique_violation(error: &sqlx::Error) -> Option<(&'static str, &'static str)> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    match db.constraint() {
        Some("resellers_name_key") => Some(("name", "A reseller with this name already exists.")),
        Some("users_username_key") => Some(("owner_username", "This username is taken; choose another.")),
        _ => None,
    }
}

async fn create_reseller(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<ResellerInput>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    let now = state.clock().now();
    let mut check = FormCheck::new();
    let checked = check_input(&input, None, false, &mut check);
    if !check.is_ok() {
        return form_page(&state, &user, FlashMessage::default(), None, false, input, check.errors).await;
    }
    let hash = match checked.owner_password.clone() {
        Some(password) => Some(passwords::hash_blocking(password).await?),
        None => None,
    };
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let owner = OwnerSettings {
        username: input.owner_username.trim(),
        display_name: input.owner_display_name.trim(),
        email: input.owner_email.trim(),
        password_hash: hash.as_deref(),
    };
    let saved = async {
        let id = store::resellers::insert(&mut tx, &checked.settings, now).await?;
        store::resellers::set_owner(&mut tx, id, None, &owner, now).await?;
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
                    form_page(&state, &user, FlashMessage::default(), None, false, input, errors).await
                }
                None => Err(error.into()),
            };
        }
    };
    let mut entry = super::audit_entry(&user, now, "reseller_created", "reseller", id);
    entry.reseller_id = Some(id);
    let mut changes = serde_json::to_value(&checked.settings).unwrap_or_default();
    if let Value::Object(map) = &mut changes {
        map.insert("owner".into(), json!(input.owner_username.trim()));
    }
    entry.changes = changes;
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/resellers",
        Flash::success(format!("Reseller {} was created.", checked.settings.name)),
    ))
}

async fn update_reseller(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(input): Form<ResellerInput>,
) -> Result<Response, AppError> {
    user.require(&[Role::Operator])?;
    let id = parse_reseller_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let reseller = store::resellers::get(&mut tx, id).await?;
    let owner = store::resellers::owner(&mut tx, id).await?;
    tx.commit().await?;
    let mut check = FormCheck::new();
    let checked = check_input(&input, Some(&reseller), owner.is_some(), &mut check);
    if !check.is_ok() {
        return form_page(
            &state,
            &user,
            FlashMessage::default(),
            Some(reseller),
            owner.is_some(),
            input,
            check.errors,
        )
        .await;
    }
    let hash = match checked.owner_password.clone() {
        Some(password) => Some(passwords::hash_blocking(password).await?),
        None => None,
    };
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    // Under the reseller's lock, the space rule is checked again against what customers hold now.
    let current = store::resellers::lock(&mut tx, id).await?;
    if checked.settings.disk_space_bytes < current.allotted_to_customers {
        drop(tx);
        let errors = FieldErrors::from([(
            "disk_space_gib",
            "Its customers now have more space allotted than that.".to_string(),
        )]);
        return form_page(
            &state,
            &user,
            FlashMessage::default(),
            Some(reseller),
            owner.is_some(),
            input,
            errors,
        )
        .await;
    }
    let owner_settings = OwnerSettings {
        username: input.owner_username.trim(),
        display_name: input.owner_display_name.trim(),
        email: input.owner_email.trim(),
        password_hash: hash.as_deref(),
    };
    let saved = async {
        store::resellers::update(&mut tx, id, &checked.settings).await?;
        store::resellers::set_owner(&mut tx, id, owner.as_ref().map(|o| o.id), &owner_settings, now).await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    if let Err(error) = saved {
        drop(tx);
        return match unique_violation(&error) {
            Some((field, message)) => {
                let errors = FieldErrors::from([(field, message.to_string())]);
                form_page(
                    &state,
                    &user,
                    FlashMessage::default(),
                    Some(reseller),
                    owner.is_some(),
                    input,
                    errors,
                )
                .await
            }
            None => Err(error.into()),
        };
    }
    let before = serde_json::to_value(ResellerSettings::of(&reseller)).unwrap_or_default();
    let after = serde_json::to_value(&checked.settings).unwrap_or_default();
    let mut fields: Vec<(&str, Value, Value)> = Vec::new();
    if let (Value::Object(b), Value::Object(a)) = (&before, &after) {
        for (key, value) in a {
            fields.push((key.as_str(), b.get(key).cloned().unwrap_or(Value::Null), value.clone()));
        }
    }
    let mut changes = store::audit::diff(&fields);
    if let Value::Object(map) = &mut changes {
        let before_owner = owner.as_ref().map(|o| o.username.clone());
        if before_owner.as_deref() != Some(input.owner_username.trim()) {
            map.insert(
                "owner".into(),
                json!({"before": before_owner, "after": input.owner_username.trim()}),
            );
        }
        if hash.is_some() {
            map.insert("owner_password_changed".into(), json!(true));
        }
    }
    let mut entry = super::audit_entry(&user, now, "reseller_updated", "reseller", id);
    entry.reseller_id = Some(id);
    entry.changes = changes;
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        "/resellers",
        Flash::success(format!("The settings of {} were saved.", checked.settings.name)),
    ))
}
