//! The per-session CSRF token of every state-changing request: in the `X-CSRF-Token` header
//! (htmx sends it) or the `csrf_token` field of a urlencoded form. tower-http's cross-site check
//! runs in front of this as a first wall.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header;

use super::sessions::constant_time_eq;
use crate::error::AppError;

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "csrf_token";
/// Forms are small; a larger body is refused before the handler sees it.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// Passes the request on (with its body intact) if it carries the expected token.
pub async fn verify(request: Request, expected: Option<&str>) -> Result<Request, AppError> {
    let Some(expected) = expected.filter(|token| !token.is_empty()) else {
        return Err(AppError::Csrf);
    };
    if let Some(sent) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if constant_time_eq(sent, expected) {
            Ok(request)
        } else {
            Err(AppError::Csrf)
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
    let sent = fields
        .iter()
        .find(|(key, _)| key == FIELD)
        .map(|(_, value)| value.as_str());
    match sent {
        Some(sent) if constant_time_eq(sent, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(AppError::Csrf),
    }
}
