//! `/customers/{id}/account-email`: after a customer's web-portal access is saved, staff send the
//! customer its account details — the username and a set-password link that works once and
//! expires. The password itself is never emailed.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde_json::json;

use super::{customer_audit, parse_id, require_staff};
use crate::auth::current_user::FlashMessage;
use crate::auth::sessions::{random_token, sha256_hex};
use crate::auth::{CurrentUser, Flash};
use crate::emails::{self, AccountDetails};
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::customers::{Customer, PortalUser};
use crate::web::path::Path;
use crate::web::{Layout, redirect_with_flash, render};

/// How long a set-password link works.
pub const LINK_VALID_HOURS: i64 = 72;

#[derive(Template)]
#[template(path = "customers/account_email.html")]
pub struct AccountEmailPage {
    pub layout: Layout,
    pub customer: Customer,
    /// The enabled portal user, if any.
    pub portal: Option<PortalUser>,
    pub hours: i64,
}

pub async fn confirm_account_email(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let portal = store::customers::portal_user(&mut tx, id)
        .await?
        .filter(|p| !p.disabled);
    tx.commit().await?;
    let page = AccountEmailPage {
        layout: Layout::new(
            &user,
            flash,
            "customers",
            format!("Account details for {}", customer.name),
        ),
        customer,
        portal,
        hours: LINK_VALID_HOURS,
    };
    Ok(render(&page)?.into_response())
}

pub async fn send_account_email(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_staff(&user)?;
    let id = parse_id(&id)?;
    let now = state.clock().now();
    let mut tx = store::scoped(state.db(), &user.access()).await?;
    let customer = store::customers::get(&mut tx, id).await?;
    let Some(portal) = store::customers::portal_user(&mut tx, id)
        .await?
        .filter(|p| !p.disabled)
    else {
        return Err(AppError::Conflict(
            "This customer has no web-portal access; turn it on in its settings first.".into(),
        ));
    };
    if customer.email.trim().is_empty() {
        return Err(AppError::Conflict(
            "This customer has no email address; add one in its settings first.".into(),
        ));
    }
    let token = random_token();
    let expires_at = now + Duration::hours(LINK_VALID_HOURS);
    store::password_tokens::create(
        &mut tx,
        portal.id,
        customer.reseller_id,
        id,
        &sha256_hex(&token),
        now,
        expires_at,
    )
    .await?;
    let base = &state.web().public_url;
    let details = AccountDetails {
        customer_name: customer.name.clone(),
        username: portal.username.clone(),
        link: format!("{base}/set-password/{token}"),
        login_url: format!("{base}/login"),
        expires_at,
    };
    let email = emails::account_details(customer.reseller_id, id, &customer.email, &details)?;
    emails::enqueue(&mut tx, &email, now).await?;
    let mut entry = customer_audit(&user, now, "account_details_emailed", customer.reseller_id, id);
    entry.changes = json!({"to": customer.email, "username": portal.username});
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &format!("/customers/{id}/edit"),
        Flash::success(format!(
            "The account details of {} are on their way to {}.",
            customer.name, customer.email
        )),
    ))
}
