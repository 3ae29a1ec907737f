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
    match sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&db).await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ok", "database": "ok"}))),
        Err(error) => {
            tracing::warn!(error = %error, "health check cannot reach the database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            )
        }
    }
}
