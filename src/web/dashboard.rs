//! `/dashboard`: the partner dashboard of reseller staff and the operator.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;

use super::{Layout, render};
use crate::auth::CurrentUser;
use crate::auth::current_user::FlashMessage;
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::dashboard::{Kpis, ResellerOption};

/// What counts as "expiring soon" (DESIGN.md: within 30 days).
pub const EXPIRING_WINDOW_DAYS: i32 = 30;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(show_dashboard))
}

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    /// Operator only: one reseller's figures.
    reseller: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/index.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub kpis: Kpis,
    pub resellers: Vec<ResellerOption>,
    pub selected_reseller: Option<i64>,
}

async fn show_dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
    Query(query): Query<DashboardQuery>,
) -> Result<Html<String>, AppError> {
    user.require(&[Role::Operator, Role::ResellerOwner, Role::ResellerAdmin])?;
    // An empty or unparsable reseller filter means "all resellers"; only the operator has one.
    let selected_reseller = match (user.role, query.reseller.as_deref().map(str::trim)) {
        (Role::Operator, Some(value)) if !value.is_empty() => Some(
            value
                .parse::<i64>()
                .map_err(|_| AppError::BadRequest("The reseller filter must be a number.".into()))?,
        ),
        _ => None,
    };
    let mut tx = store::scoped(state.db(), &user.scope()).await?;
    let kpis = store::dashboard::kpis(&mut tx, selected_reseller, state.clock().today(), EXPIRING_WINDOW_DAYS).await?;
    let resellers = if user.role == Role::Operator {
        store::dashboard::reseller_options(&mut tx).await?
    } else {
        vec![]
    };
    tx.commit().await?;
    if selected_reseller.is_some_and(|id| !resellers.iter().any(|r| r.id == id)) {
        return Err(AppError::NotFound);
    }
    render(&DashboardPage {
        layout: Layout::new(&user, flash, "dashboard", "Dashboard"),
        kpis,
        resellers,
        selected_reseller,
    })
}

impl DashboardPage {
    fn is_selected(&self, reseller_id: &i64) -> bool {
        self.selected_reseller == Some(*reseller_id)
    }
}
