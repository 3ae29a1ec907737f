//! The state every handler can ask for: the app's database pool, the clock, web settings.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::clock::Clock;
use crate::config::WebConfig;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: PgPool,
    clock: Arc<dyn Clock>,
    web: WebConfig,
}

impl AppState {
    /// `db` must connect as the app role (row-level security applies to it).
    pub fn new(db: PgPool, clock: Arc<dyn Clock>, web: WebConfig) -> Self {
        Self(Arc::new(Inner { db, clock, web }))
    }

    pub fn db(&self) -> &PgPool {
        &self.0.db
    }

    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    pub fn web(&self) -> &WebConfig {
        &self.0.web
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.0.db.clone()
    }
}
