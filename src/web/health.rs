//! `/healthz`: is the server up and can it reach its database.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::{Router, routing::get};
use serde_json::json;
use sqlx::PgPool;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(show_health))
}

async fn show_health(State(db): State<PgPool>) -> impl IntoResponse {
    // The engine's last successful step tells whether the background work is keeping up.
    match crate::jobs::last_success(&db).await {
        Ok(engine) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": "ok", "engine_last_success": engine})),
        ),
        Err(error) => {
            tracing::warn!(error = %error, "health check cannot reach the database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            )
        }
    }
}
