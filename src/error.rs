//! One error type for the whole application. Pages render it as an HTML error page, the agent API
//! as `{code, message}` JSON (see [`ApiError`]). Internal details are logged, never shown.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

/// Messages for form fields, keyed by field name.
pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// A read-only account tried to change something.
    #[error("this account may not change anything")]
    ReadOnly,
    /// Not logged in: pages redirect to the login form and come back to `next` afterwards.
    #[error("not logged in")]
    Unauthenticated { next: Option<String> },
    #[error("the request's security token is missing or out of date")]
    Csrf,
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// A rule refuses the request; `code` names the rule for machines (the agent API documents them).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// Credentials (a pass key, a client token) that are missing or wrong.
    #[error("{message}")]
    BadCredentials { code: &'static str, message: String },
    #[error("the request body is too large")]
    TooLarge,
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("the database is unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::from([(field, message.into())]))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::ReadOnly | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Refused { .. } => StatusCode::FORBIDDEN,
            Self::BadCredentials { .. } => StatusCode::UNAUTHORIZED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable name, used by the API and in logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::ReadOnly => "read_only",
            Self::Unauthenticated { .. } => "unauthenticated",
            Self::Csrf => "csrf_failed",
            Self::Invalid(_) => "invalid",
            Self::BadRequest(_) => "bad_request",
            Self::Conflict(_) => "conflict",
            Self::Refused { code, .. } | Self::BadCredentials { code, .. } => code,
            Self::TooLarge => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn title_and_message(&self) -> (&'static str, String) {
        match self {
            Self::NotFound => ("Not found", "There is nothing here, or it is not yours to see.".into()),
            Self::Forbidden => (
                "Not allowed",
                "Your role does not give access to this page or action.".into(),
            ),
            Self::ReadOnly => (
                "Read-only access",
                "Your account can look at everything of your reseller but change nothing. \
                 Ask your reseller's owner if you need to make changes."
                    .into(),
            ),
            Self::Unauthenticated { .. } => ("Please log in", "Log in to continue.".into()),
            Self::Csrf => (
                "Form expired",
                "The form's security token was missing or out of date. Go back, reload the page and try again.".into(),
            ),
            Self::Invalid(fields) => (
                "Some values are not valid",
                fields.values().cloned().collect::<Vec<_>>().join(" "),
            ),
            Self::BadRequest(message) => ("Bad request", message.clone()),
            Self::Conflict(message) => ("Conflict", message.clone()),
            Self::Refused { message, .. } => ("Refused", message.clone()),
            Self::BadCredentials { message, .. } => ("Not authenticated", message.clone()),
            Self::TooLarge => ("Too large", "The request is larger than the portal accepts.".into()),
            Self::RateLimited { retry_after_secs } => (
                "Too many requests",
                format!("Too many requests; try again in {retry_after_secs} seconds."),
            ),
            Self::Unavailable => (
                "Temporarily unavailable",
                "The portal cannot reach its database right now. Try again in a moment.".into(),
            ),
            Self::Internal(_) => (
                "Something went wrong",
                "An unexpected error occurred. It has been logged.".into(),
            ),
        }
    }

    fn log(&self) -> Option<String> {
        match self {
            Self::Internal(error) => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
                tracing::error!(error = ?error, reference = %reference, "internal error");
                Some(reference)
            }
            Self::Unavailable => {
                tracing::warn!("database unavailable");
                None
            }
            _ => None,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Unavailable
            }
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // A constraint the handler did not turn into a field message: refuse, don't crash.
                Some("23505") => Self::Conflict("That conflicts with something that already exists.".into()),
                Some("23514") | Some("23502") | Some("22003") | Some("22001") => {
                    Self::BadRequest("A value is outside what is allowed.".into())
                }
                Some("23503") => Self::Conflict("Something this refers to does not exist any more.".into()),
                // A write inside a read-only transaction: a read-only account's (store::rescoped), or
                // a page's (GET) that tried to write through the transaction it was handed, which is
                // a bug to find, hence the warning.
                Some("25006") => {
                    tracing::warn!(error = %db.message(), "a write refused in a read-only transaction");
                    Self::ReadOnly
                }
                // A row the scope's policies do not admit (a scope-checking function refused, or a
                // write outside the caller's customers): never a crash, never a hint of what exists.
                Some("42501") => Self::NotFound,
                // Text PostgreSQL cannot store (a NUL character, from a search box or a form field)
                // is the sender's mistake, not ours: a 400, not a logged 500.
                Some("22021") | Some("22P05") => {
                    Self::BadRequest("A value contains a character that is not allowed.".into())
                }
                // Connection lost, admin shutdown, cannot connect now, statement timeout.
                Some(code) if code.starts_with("08") || code.starts_with("57P") || code == "57014" => Self::Unavailable,
                _ => Self::Internal(error.into()),
            },
            // A server (or a proxy in front of it) that accepts the connection and closes it before
            // answering: sqlx reports the missing answer to its TLS request as a protocol error.
            // It is the database being unreachable, like a refused connection, not a bug of ours.
            sqlx::Error::Protocol(message) if message.starts_with("unexpected response from SSLRequest") => {
                Self::Unavailable
            }
            _ => Self::Internal(error.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::Internal(error.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    reference: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Unauthenticated { next } = &self {
            let target = match next {
                Some(next) => format!("/login?next={}", urlencode(next)),
                None => "/login".to_string(),
            };
            return Redirect::to(&target).into_response();
        }
        let reference = self.log();
        let status = self.status();
        let (title, message) = self.title_and_message();
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
            reference,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response(),
        }
    }
}

/// The same error, answered as JSON for the agent API.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a FieldErrors>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reference = self.0.log();
        let (_, mut message) = self.0.title_and_message();
        if let Some(reference) = reference {
            message = format!("{message} Reference: {reference}.");
        }
        let fields = match &self.0 {
            AppError::Invalid(fields) => Some(fields),
            _ => None,
        };
        let status = self.0.status();
        let mut response = (
            status,
            Json(ErrorBody {
                code: self.0.code(),
                message,
                fields,
            }),
        )
            .into_response();
        if let AppError::RateLimited { retry_after_secs } = self.0
            && let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Percent-encodes a value for a query string.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s[2..].to_string())
        .unwrap_or_default()
}
