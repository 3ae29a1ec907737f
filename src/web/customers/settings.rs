//! `/customers/{id}/replication`, `/invoice-config` and `/invoices`.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

pub async fn show_replication(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn update_replication(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn show_invoice_config(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn update_invoice_config(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn show_invoices(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
