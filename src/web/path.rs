//! The path extractor of page routes. A segment that does not parse (`/customers/abc`) names no
//! page, so it gets the 404 page every other unknown thing gets, not axum's plain-text 400.

use axum::extract::FromRequestParts;
use axum::extract::rejection::PathRejection;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(AppError::NotFound),
            // A route whose pattern and extractor disagree: the code is wrong, not the address.
            Err(other) => Err(AppError::Internal(anyhow::anyhow!("path extractor: {other}"))),
        }
    }
}
