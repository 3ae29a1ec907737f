//! `/customers/new` and `/customers/{id}/edit`: every setting of a customer.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

pub async fn show_new_customer(State(_state): State<AppState>, _user: CurrentUser) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn create_customer(State(_state): State<AppState>, _user: CurrentUser) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn show_edit_customer(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn update_customer(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
pub async fn regenerate_pass_key(
    State(_state): State<AppState>,
    _user: CurrentUser,
    Path(_id): Path<String>,
) -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
