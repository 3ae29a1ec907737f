//! `/organizations`: the reseller's customers seen as organizations (MAU this month against the
//! threshold, accounts, locations), "log in as" each one, and creating one within the reseller's
//! max-customers allowance.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::listing::{Cursor, PAGE_SIZE, Sort, csv_response, link};
use super::{Layout, audit_entry, render};
use crate::auth::current_user::FlashMessage;
use crate::auth::{CurrentUser, sessions};
use crate::domain::months;
use crate::domain::tenancy::Role;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::store;
use crate::store::dashboard::ResellerOption;
use crate::store::organizations::{Allowance, Filter, NewOrganization, OrganizationRow, SORT_KEYS};
use crate::web::forms::FormCheck;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organizations", get(show_organizations).post(create_organization))
        .route("/organizations/new", get(new_organization))
}

const STAFF: [Role; 3] = [Role::Operator, Role::ResellerOwner, Role::ResellerAdmin];
const DEFAULT_SORT: Sort = Sort {
    key: "name",
    descending: false,
};
/// The reference's advice for "never block onboarding": a threshold nobody reaches.
pub const DEFAULT_MAX_MAU: i64 = 1_000_000;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    reseller: Option<String>,
    #[serde(default)]
    q: String,
    sort: Option<String>,
    dir: Option<String>,
    after: Option<String>,
    format: Option<String>,
}

/// One column header: its label, key, link and whether it is numeric.
pub struct Column {
    pub label: &'static str,
    pub key: &'static str,
    pub href: String,
    pub numeric: bool,
}

#[derive(Template)]
#[template(path = "organizations/index.html")]
pub struct OrganizationsPage {
    pub layout: Layout,
    pub rows: Vec<OrganizationRow>,
    pub columns: Vec<Column>,
    pub sort: Sort,
    pub q: String,
    pub month_label: String,
    pub next_page: Option<String>,
    pub first_page: Option<String>,
    pub csv_link: String,
    pub resellers: Vec<ResellerOption>,
    pub selected_reseller: Option<i64>,
    pub allowance: Option<Allowance>,
    pub new_link: String,
    pub show_reseller: bool,
}

impl OrganizationsPage {
    fn is_selected(&self, reseller_id: &i64) -> bool {
        self.selected_reseller == Some(*reseller_id)
    }
}

/// The reseller the page is about: staff's own; the operator's choice (or none: all resellers).
fn selected_reseller(user: &CurrentUser, value: Option<&str>) -> Result<Option<i64>, AppError> {
    if user.effective_role() != Role::Operator {
        return Ok(user.scope().reseller_id());
    }
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => value
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::BadRequest("The reseller filter must be a number.".into())),
    }
}

async fn show_organizations(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    user.require(&STAFF)?;
    let reseller = selected_reseller(&user, query.reseller.as_deref())?;
    let sort = Sort::parse(query.sort.as_deref(), query.dir.as_deref(), &SORT_KEYS, DEFAULT_SORT)?;
    let cursor = Cursor::decode(query.after.as_deref())?;
    // A cursor made for a numeric column carries a number; anything else was tampered with.
    if sort.key != "name" && cursor.as_ref().is_some_and(|c| c.key.parse::<i64>().is_err()) {
        return Err(AppError::BadRequest(
            "The page link is not valid; start again from the first page.".into(),
        ));
    }
    let search = query.q.trim().chars().take(120).collect::<String>();
    let csv = match query.format.as_deref() {
        None | Some("") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::BadRequest("The only export format is csv.".into())),
    };
    let month = months::first_of_month(state.clock().today());

    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let resellers = if user.effective_role() == Role::Operator {
        store::dashboard::reseller_options(&mut tx).await?
    } else {
        vec![]
    };
    if user.effective_role() == Role::Operator && reseller.is_some_and(|id| !resellers.iter().any(|r| r.id == id)) {
        return Err(AppError::NotFound);
    }
    let filter = Filter {
        reseller_id: reseller,
        search: &search,
        month,
        sort: sort.key,
        descending: sort.descending,
        after: if csv { None } else { cursor.map(|c| (c.key, c.id)) },
        limit: if csv { i64::MAX } else { PAGE_SIZE + 1 },
    };
    let mut rows = store::organizations::list(&mut tx, &filter).await?;
    let allowance = match reseller {
        Some(id) => store::organizations::allowance(&mut tx, id, false).await?,
        None => None,
    };
    tx.commit().await?;

    if csv {
        return Ok(csv_response(
            &format!("organizations-{}.csv", months::key(month)),
            &[
                "Organization",
                "Reseller",
                "MAU this month",
                "Max MAU",
                "Accounts",
                "Locations",
                "Status",
            ],
            rows.iter().map(|r| {
                vec![
                    r.name.clone(),
                    r.reseller_name.clone(),
                    r.mau.to_string(),
                    r.max_mau.to_string(),
                    r.accounts.to_string(),
                    r.locations.to_string(),
                    status_label(r).to_string(),
                ]
            }),
        ));
    }

    let current: Vec<(&str, String)> = [
        (
            "reseller",
            // Staff have one reseller; only the operator's filter belongs in links.
            reseller
                .filter(|_| user.effective_role() == Role::Operator)
                .map(|id| id.to_string())
                .unwrap_or_default(),
        ),
        ("q", search.clone()),
        (
            "sort",
            if sort == DEFAULT_SORT {
                String::new()
            } else {
                sort.key.to_string()
            },
        ),
        (
            "dir",
            if sort.descending {
                "desc".to_string()
            } else {
                String::new()
            },
        ),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let next_page = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|last| {
            let cursor = Cursor {
                key: last.sort_value.clone(),
                id: last.id,
            };
            link("/organizations", &current, &[("after", &cursor.encode())])
        })
    } else {
        None
    };
    let first_page = query
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|_| link("/organizations", &current, &[]));
    let columns = [
        ("Organization", "name", false),
        ("MAU this month", "mau", true),
        ("Max MAU", "max_mau", true),
        ("Accounts", "accounts", true),
    ]
    .into_iter()
    .map(|(label, key, numeric)| {
        let descending = sort.key == key && !sort.descending;
        Column {
            label,
            key,
            numeric,
            href: link(
                "/organizations",
                &current,
                &[("sort", key), ("dir", if descending { "desc" } else { "" })],
            ),
        }
    })
    .collect();
    let new_link = match reseller {
        Some(id) if user.effective_role() == Role::Operator => format!("/organizations/new?reseller={id}"),
        _ => "/organizations/new".to_string(),
    };
    let page = OrganizationsPage {
        layout: Layout::new(&user, flash, "organizations", "Organizations"),
        rows,
        columns,
        sort,
        q: search,
        month_label: months::label(month),
        next_page,
        first_page,
        csv_link: link("/organizations", &current, &[("format", "csv")]),
        show_reseller: user.effective_role() == Role::Operator && reseller.is_none(),
        resellers,
        selected_reseller: reseller,
        allowance,
        new_link,
    };
    Ok(render(&page)?.into_response())
}

/// The badge colour of a status.
pub fn status_class(row: &OrganizationRow) -> &'static str {
    match status_label(row) {
        "Active" => "ok",
        "Evaluation" => "info",
        "Deactivated" => "warning",
        _ => "critical",
    }
}

pub fn status_label(row: &OrganizationRow) -> &'static str {
    if row.lifecycle == "scheduled_for_deletion" {
        "Scheduled for deletion"
    } else if !row.activated {
        "Deactivated"
    } else if row.tenant_type == "evaluation" {
        "Evaluation"
    } else {
        "Active"
    }
}

#[derive(Template)]
#[template(path = "organizations/new.html")]
pub struct NewOrganizationPage {
    pub layout: Layout,
    pub reseller_id: i64,
    pub allowance: Allowance,
    pub name: String,
    pub max_mau: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "organizations/choose_reseller.html")]
pub struct ChooseResellerPage {
    pub layout: Layout,
    pub resellers: Vec<ResellerOption>,
}

#[derive(Template)]
#[template(path = "organizations/created.html")]
pub struct CreatedPage {
    pub layout: Layout,
    pub customer_id: i64,
    pub name: String,
    pub pass_key: String,
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    reseller: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    reseller_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    max_mau: String,
}

/// The reseller a new organization goes to: staff's own, the operator's chosen one (required).
fn target_reseller(user: &CurrentUser, value: Option<&str>) -> Result<i64, AppError> {
    selected_reseller(user, value)?
        .ok_or_else(|| AppError::BadRequest("Choose the reseller the organization belongs to.".into()))
}

async fn new_organization(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    user.require(&STAFF)?;
    user.require_unlimited()?;
    if user.effective_role() == Role::Operator && selected_reseller(&user, query.reseller.as_deref())?.is_none() {
        // The operator first says which reseller the organization is for.
        let mut tx = store::scoped(state.db(), &user.access()).await?;
        let resellers = store::license::reseller_options(&mut tx).await?;
        tx.commit().await?;
        let page = ChooseResellerPage {
            layout: Layout::new(&user, flash, "organizations", "New organization"),
            resellers,
        };
        return Ok(render(&page)?.into_response());
    }
    let reseller_id = target_reseller(&user, query.reseller.as_deref())?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let allowance = store::organizations::allowance(&mut tx, reseller_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let page = NewOrganizationPage {
        layout: Layout::new(&user, flash, "organizations", "New organization"),
        reseller_id,
        allowance,
        name: String::new(),
        max_mau: DEFAULT_MAX_MAU.to_string(),
        errors: FieldErrors::new(),
    };
    Ok(render(&page)?.into_response())
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

async fn create_organization(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    user.require(&STAFF)?;
    user.require_unlimited()?;
    let reseller_id = target_reseller(&user, Some(&form.reseller_id))?;
    let mut check = FormCheck::new();
    let name = check.text("name", &form.name, true, 120);
    let max_mau = check.number("max_mau", &form.max_mau, 0, i64::from(i32::MAX));

    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let allowance = store::organizations::allowance(&mut tx, reseller_id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if !allowance.may_create() {
        return Err(AppError::Conflict(format!(
            "The reseller already has {} of its {} organizations; no more can be created.",
            allowance.customers, allowance.max_customers
        )));
    }
    if check.is_ok() && store::organizations::name_taken(&mut tx, &name).await? {
        check.error("name", "That name is taken: organization names are unique.");
    }
    let form_again = |check: FormCheck, name: String| NewOrganizationPage {
        layout: Layout::new(&user, FlashMessage::default(), "organizations", "New organization"),
        reseller_id,
        allowance,
        name,
        max_mau: form.max_mau.clone(),
        errors: check.errors,
    };
    if !check.is_ok() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_again(check, name))?).into_response());
    }
    let pass_key = sessions::random_token();
    let pass_key_hash = sessions::sha256_hex(&pass_key);
    let created = store::organizations::create(
        &mut tx,
        NewOrganization {
            reseller_id,
            name: &name,
            max_mau: i32::try_from(max_mau).unwrap_or(i32::MAX),
            pass_key_hash: &pass_key_hash,
            now,
        },
    )
    .await;
    let customer_id = match created {
        Ok(id) => id,
        Err(error) if is_unique_violation(&error) => {
            let mut check = FormCheck::new();
            check.error("name", "That name is taken: organization names are unique.");
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_again(check, name))?).into_response());
        }
        Err(error) => return Err(error.into()),
    };
    let mut entry = audit_entry(&user, now, "customer_created", "customer", customer_id);
    entry.reseller_id = Some(reseller_id);
    entry.customer_id = Some(customer_id);
    entry.changes = store::audit::diff(&[
        ("name", json!(null), json!(name)),
        ("max_mau", json!(null), json!(max_mau)),
    ]);
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, customer_id, "organization created");
    let page = CreatedPage {
        layout: Layout::new(&user, FlashMessage::default(), "organizations", "Organization created"),
        customer_id,
        name,
        pass_key,
    };
    Ok((StatusCode::CREATED, render(&page)?).into_response())
}
