//! The agent API under `/api/v1`: backup agents register with a customer's pass key and then report
//! jobs, connector health, seats, account activity and storage with their client token. Every
//! answer that is not a success is `{code, message}` JSON with a 4xx (or 503) status; the OpenAPI
//! document at `/api/openapi.json` is generated from these types, so it cannot drift.

pub mod batching;
pub mod rate_limit;
pub mod register;
pub mod reports;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::auth::sessions::sha256_hex;
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::store;

/// Largest body an agent may send.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/register", post(register::register_client))
        .route("/api/v1/reports", post(reports::submit_report))
        .route("/api/openapi.json", get(show_openapi))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MSP Portal agent API",
        version = "1.0.0",
        description = "Backup agents register a client with their customer's pass key, then report jobs, connector \
                       health, seat usage, account activity and storage with the client token they received. Errors \
                       are JSON objects with a machine-readable `code` and a human-readable `message`."
    ),
    paths(register::register_client, reports::submit_report),
    components(schemas(
        register::RegisterRequest,
        register::RegisterResponse,
        reports::ReportRequest,
        reports::JobReport,
        reports::JobKind,
        reports::JobStatus,
        reports::ConnectorReport,
        reports::ConnectorKind,
        reports::Health,
        reports::SeatReport,
        reports::SeatPropertyName,
        reports::AccountReport,
        reports::ReportResponse,
        reports::RefusedJob,
        ErrorResponse
    )),
    modifiers(&BearerToken)
)]
pub struct ApiDoc;

/// The shape of every error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// What went wrong, for programs: e.g. `invalid_credentials`, `mcal_pool_used_up`, `rate_limited`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn show_openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// A JSON body whose every rejection (syntax, types, unknown fields, size, content type) is a
/// `{code, message}` answer instead of axum's plain text.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(match rejection {
                JsonRejection::JsonDataError(error) => {
                    AppError::BadRequest(format!("The JSON does not fit the schema: {}", error.body_text()))
                }
                JsonRejection::JsonSyntaxError(_) => AppError::BadRequest("The body is not valid JSON.".into()),
                JsonRejection::MissingJsonContentType(_) => {
                    AppError::BadRequest("Send the body as JSON with Content-Type: application/json.".into())
                }
                JsonRejection::BytesRejection(error) if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    AppError::TooLarge
                }
                other => AppError::BadRequest(format!("The body could not be read: {}", other.body_text())),
            })),
        }
    }
}

/// The client token an agent sends (`Authorization: Bearer …`), as its hash, rate-limited per
/// token. Which client it belongs to is looked up by the handler, in the statement that opens its
/// transaction (one pool acquire per report); [`AgentToken::client`] looks it up alone.
#[derive(Debug, Clone)]
pub struct AgentToken(pub String);

impl AgentToken {
    /// The client behind the token, or the 401 for an unknown one.
    pub async fn client(&self, state: &AppState) -> Result<store::agents::AgentClient, ApiError> {
        store::agents::find_client(state.db(), &self.0)
            .await?
            .ok_or_else(invalid_token)
    }
}

/// A client an admin has disabled: neither its reports nor a new registration are accepted.
pub fn client_disabled() -> ApiError {
    refused(
        "client_disabled",
        "An administrator has disabled this client; nothing it sends is accepted until it is enabled again.",
    )
}

pub fn invalid_token() -> ApiError {
    unauthorized(
        "invalid_token",
        "The client token is not valid; register the client again.",
    )
}

impl FromRequestParts<AppState> for AgentToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or_else(|| {
                unauthorized(
                    "invalid_token",
                    "Send the client token from registration as Authorization: Bearer <token>.",
                )
            })?;
        let hash = sha256_hex(token);
        state.limiter().check(&hash, state.clock().now())?;
        Ok(AgentToken(hash))
    }
}

/// 401 rather than 403 for credentials problems, so clients know to re-authenticate.
pub fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError(AppError::BadCredentials {
        code,
        message: message.to_string(),
    })
}

/// Text with nothing but spaces and control characters in it (what the schema's patterns refuse).
pub fn is_blank(value: &str) -> bool {
    value.chars().all(|c| c == ' ' || c.is_ascii_control())
}

/// A whole number as JSON Schema understands "integer": `3` and `3.0` both, never `3.5` or `-1`.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        Float(f64),
    }
    match Number::deserialize(deserializer)? {
        Number::Whole(n) => Ok(n),
        Number::Float(f) if f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0 => Ok(f as u64),
        Number::Float(f) => Err(serde::de::Error::custom(format!(
            "{f} is not a whole number of at least 0"
        ))),
    }
}

/// The same for an optional field.
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "whole_number")] u64);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|w| w.0))
}

/// A refusal by a rule, with its documented code.
pub fn refused(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError(AppError::Refused {
        code,
        message: message.into(),
    })
}
