//! MSP Portal: a multi-tenant portal in which a backup provider, its resellers (MSPs) and their
//! customers manage accounts, licences, quotas and backup health.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod emails;
pub mod error;
pub mod jobs;
pub mod paging;
pub mod seed;
pub mod simulate;
pub mod state;
pub mod store;
pub mod web;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{from_fn_with_state, map_response};
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use state::AppState;

/// Largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Where the stylesheet, htmx and icons are served from.
pub const STATIC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/static");

/// Unknown paths: a JSON answer under /api, an HTML page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        error::ApiError(error::AppError::NotFound).into_response()
    } else {
        error::AppError::NotFound.into_response()
    }
}

/// Behind https every cookie the portal sets is `Secure`. Most are made so where they are made;
/// the flash cookie is made where the configuration is not at hand, and was not (found while
/// checking the cookie flags wapiti reports, docs/security.md), so this last layer marks the rest.
async fn secure_cookies(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return response;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let secured = match cookie.to_str() {
            Ok(text) if !text.split(';').any(|part| part.trim().eq_ignore_ascii_case("secure")) => {
                HeaderValue::from_str(&format!("{text}; Secure")).ok()
            }
            _ => None,
        };
        headers.append(header::SET_COOKIE, secured.unwrap_or(cookie));
    }
    response
}

/// The whole application: `main` serves it and the tests drive it in-process.
pub fn build_router(state: AppState) -> Router {
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    // Browsers that reached the portal over https keep to https (only when PUBLIC_URL says so).
    let hsts = if state.web().secure_cookies {
        "max-age=31536000; includeSubDomains"
    } else {
        ""
    };
    let router = Router::new()
        .merge(web::routes())
        .merge(api::routes())
        .nest_service(
            "/static",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(web::assets::serve_fingerprinted))
                .service(ServeDir::new(STATIC_DIR)),
        )
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), auth::current_user::session_layer))
        // Browsers say where a request comes from; a cross-site form post is refused here first.
        .layer(CsrfLayer::new())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
        // Pages are text and compress five to ten times; the fastest level, because on two
        // cores the CPU a page costs is the limit, not the bytes.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(TraceLayer::new_for_http());
    let router = if hsts.is_empty() {
        router
    } else {
        router
            .layer(SetResponseHeaderLayer::overriding(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(hsts),
            ))
            .layer(map_response(secure_cookies))
    };
    router.with_state(state)
}
