//! `/portal`: a customer's own view of its backups.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use super::{Layout, filters, render};
use crate::auth::CurrentUser;
use crate::auth::current_user::FlashMessage;
use crate::domain::tenancy::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;
use crate::store::portal::{ConnectorRow, CustomerSummary, JobRow};

pub fn routes() -> Router<AppState> {
    Router::new().route("/portal", get(show_portal))
}

#[derive(Template)]
#[template(path = "portal/index.html")]
pub struct PortalPage {
    pub layout: Layout,
    pub customer: CustomerSummary,
    pub connectors: Vec<ConnectorRow>,
    pub jobs: Vec<JobRow>,
}

async fn show_portal(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashMessage,
) -> Result<Html<String>, AppError> {
    user.require(&[Role::Customer])?;
    let mut tx = store::scoped(state.db(), &user.scope()).await?;
    let customer = store::portal::summary(&mut tx).await?;
    let connectors = store::portal::connectors(&mut tx).await?;
    let jobs = store::portal::recent_jobs(&mut tx, 20).await?;
    tx.commit().await?;
    render(&PortalPage {
        layout: Layout::new(&user, flash, "portal", "Overview"),
        customer,
        connectors,
        jobs,
    })
}
