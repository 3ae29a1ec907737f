//! The state every handler can ask for: the app's database pool, the clock, web settings.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::api::batching::ReportBatcher;
use crate::api::rate_limit::RateLimiter;
use crate::clock::Clock;
use crate::config::WebConfig;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: PgPool,
    clock: Arc<dyn Clock>,
    web: WebConfig,
    limiter: RateLimiter,
    reports: ReportBatcher,
}

impl AppState {
    /// `db` must connect as the app role (row-level security applies to it).
    pub fn new(db: PgPool, clock: Arc<dyn Clock>, web: WebConfig) -> Self {
        let limiter = RateLimiter::new(web.api_burst, web.api_per_second);
        Self(Arc::new(Inner {
            reports: ReportBatcher::new(db.clone()),
            db,
            clock,
            web,
            limiter,
        }))
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

    /// Agent reports waiting to be stored together.
    pub fn reports(&self) -> &ReportBatcher {
        &self.0.reports
    }

    /// The agent API's per-token request limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.0.db.clone()
    }
}
