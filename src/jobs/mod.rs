//! The background engine: every tick it brings the database up to date for the clock's "now" —
//! scheduled limits and quotas, seat grace periods, expirations and deletions, MAU roll-ups, stale
//! data sources, early-warning thresholds — raising and resolving alerts as states change.
//!
//! Each step is a handful of set-based statements over all tenants in a transaction of its own; a
//! step that fails is logged and retried next tick without stopping the others. Steps are
//! idempotent: a second tick at the same instant changes nothing. Several app instances may run
//! the engine; an advisory lock lets one of them do each tick's work. While other statements run
//! on the database (pages being answered, by any instance), the engine rests between steps
//! (`domain::pacing`).

mod invoices;
pub mod mailer;
mod reports;
mod steps;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};
use tokio::sync::watch;

use crate::clock::Clock;
pub use mailer::Mailer;
pub use steps::forecast_seat_limits;

/// The advisory lock key that elects the tick's leader ("msp-engine" as a number).
const LEADER_LOCK: i64 = 0x006d_7370_5f65_6e67;

/// Reasons the engine writes, so it recognises (and only ever clears) the states it set itself.
pub const GRACE_ENDED_REASON: &str =
    "Seat limit exceeded and its grace period has ended: new backups fail until usage is back under the limit.";
pub const STALE_REASON_PREFIX: &str = "No successful backup in the last";

/// One step's outcome in a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub step: &'static str,
    /// Rows changed (0 on a tick with nothing to do).
    pub changed: u64,
    pub error: Option<String>,
    /// How long the step took, by the engine's clock (a tick after a mass change is timed by step).
    pub took: StdDuration,
    /// How long the engine rested after it, because pages were being answered
    /// (`domain::pacing`).
    pub rested: StdDuration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// Another instance holds the lock and does this tick's work.
    NotLeader,
    Ran(Vec<StepReport>),
}

impl TickOutcome {
    /// Rows changed by all steps together.
    pub fn changed(&self) -> u64 {
        match self {
            TickOutcome::NotLeader => 0,
            TickOutcome::Ran(steps) => steps.iter().map(|s| s.changed).sum(),
        }
    }

    pub fn failed_steps(&self) -> Vec<&'static str> {
        match self {
            TickOutcome::NotLeader => vec![],
            TickOutcome::Ran(steps) => steps.iter().filter(|s| s.error.is_some()).map(|s| s.step).collect(),
        }
    }
}

/// What [`Engine::tick_until`] did: the ticks it ran, and the steps that failed in its last.
#[derive(Debug)]
pub struct BackToBack {
    pub ticks: u64,
    pub failed_steps: Vec<&'static str>,
}

#[derive(Clone)]
pub struct Engine {
    /// The owner's pool: the engine works across all tenants, outside row-level security.
    db: PgPool,
    clock: Arc<dyn Clock>,
    /// None: no SMTP configured, emails wait in the outbox.
    mailer: Option<Mailer>,
}

impl Engine {
    pub fn new(db: PgPool, clock: Arc<dyn Clock>) -> Engine {
        Engine {
            db,
            clock,
            mailer: None,
        }
    }

    /// Sends the outbox over `mailer` at the end of every tick.
    pub fn with_mailer(mut self, mailer: Option<Mailer>) -> Engine {
        self.mailer = mailer;
        self
    }

    /// One tick at the clock's now.
    pub async fn tick(&self) -> Result<TickOutcome, sqlx::Error> {
        self.tick_at(self.clock.now()).await
    }

    /// Ticks one after the other, each at `at` or at the clock's now, until the clock reaches
    /// `until`, as a leader with more work than time would; stops at the first tick with a failed
    /// step. The benchmark loads pages beside it (`recompute --repeat-for`).
    pub async fn tick_until(&self, until: DateTime<Utc>, at: Option<DateTime<Utc>>) -> Result<BackToBack, sqlx::Error> {
        let mut ticks = 0;
        while self.clock.now() < until {
            match self.tick_at(at.unwrap_or_else(|| self.clock.now())).await? {
                TickOutcome::NotLeader => tokio::time::sleep(StdDuration::from_millis(100)).await,
                outcome => {
                    ticks += 1;
                    let failed_steps = outcome.failed_steps();
                    if !failed_steps.is_empty() {
                        return Ok(BackToBack { ticks, failed_steps });
                    }
                }
            }
        }
        Ok(BackToBack {
            ticks,
            failed_steps: Vec::new(),
        })
    }

    /// How long since `started`, by the engine's clock (a fixed clock makes every step take no
    /// time at all).
    fn since(&self, started: DateTime<Utc>) -> StdDuration {
        (self.clock.now() - started).to_std().unwrap_or_default()
    }

    /// One tick as if it were `now`: the steps in order, if this instance wins the lock.
    pub async fn tick_at(&self, now: DateTime<Utc>) -> Result<TickOutcome, sqlx::Error> {
        let mut leader = self.db.acquire().await?;
        let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut *leader)
            .await?;
        if !won {
            return Ok(TickOutcome::NotLeader);
        }
        let started = self.clock.now();
        let mut reports = Vec::new();
        for (done, step) in steps::STEPS.iter().enumerate() {
            let mut report = self.run_step(step, now).await;
            if done + 1 < steps::STEPS.len() || self.mailer.is_some() {
                report.rested = rest(&mut leader, report.took).await;
            }
            reports.push(report);
        }
        // The mailer talks to a server between its own small transactions (see mailer.rs), so it
        // is not a transaction-wrapped step; it runs last, sending what the steps just wrote.
        if let Some(mailer) = &self.mailer {
            reports.push(self.run_mailer(mailer, now).await);
        }
        let _: bool = sqlx::query_scalar("SELECT pg_advisory_unlock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut *leader)
            .await?;
        let changed: u64 = reports.iter().map(|r| r.changed).sum();
        tracing::info!(
            at = %now,
            changed,
            failed = reports.iter().filter(|r| r.error.is_some()).count(),
            millis = self.since(started).as_millis() as u64,
            rested_millis = reports.iter().map(|r| r.rested).sum::<StdDuration>().as_millis() as u64,
            "engine tick"
        );
        Ok(TickOutcome::Ran(reports))
    }

    async fn run_step(&self, step: &steps::Step, now: DateTime<Utc>) -> StepReport {
        let started = self.clock.now();
        let result = async {
            let mut tx = self.db.begin().await?;
            // The steps' statements are estimated costly (passes over the month's roll-ups, every
            // seat limit's usage), which makes PostgreSQL compile them with LLVM: 0.1–1.3 s per
            // statement on the large dataset, spent again on every tick, for plans that run once.
            sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
            let changed = (step.run)(&mut tx, now).await?;
            record_run(&mut *tx, step.name, now, self.since(started), changed, None).await?;
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(changed)
        }
        .await;
        match result {
            Ok(changed) => {
                if changed > 0 {
                    tracing::info!(step = step.name, changed, "engine step changed rows");
                }
                StepReport {
                    step: step.name,
                    changed,
                    error: None,
                    took: self.since(started),
                    rested: StdDuration::ZERO,
                }
            }
            Err(error) => {
                tracing::error!(step = step.name, error = %error, "engine step failed; it runs again next tick");
                // Record the failure outside the rolled-back transaction, best effort.
                let _ = sqlx::query(
                    "INSERT INTO engine_steps (step, last_started_at, last_error) VALUES ($1, $2, $3) \
                     ON CONFLICT (step) DO UPDATE SET last_started_at = $2, last_error = $3",
                )
                .bind(step.name)
                .bind(now)
                .bind(error.to_string())
                .execute(&self.db)
                .await;
                StepReport {
                    step: step.name,
                    changed: 0,
                    error: Some(error.to_string()),
                    took: self.since(started),
                    rested: StdDuration::ZERO,
                }
            }
        }
    }

    async fn run_mailer(&self, mailer: &Mailer, now: DateTime<Utc>) -> StepReport {
        const NAME: &str = "mailer";
        let started = self.clock.now();
        let result = mailer::deliver(&self.db, mailer, now).await;
        let (changed, error) = match result {
            Ok(sent) => (sent, None),
            Err(error) => {
                tracing::error!(step = NAME, error = %error, "mailer failed; it runs again next tick");
                (0, Some(error.to_string()))
            }
        };
        let took = self.since(started);
        let recorded = record_run(&self.db, NAME, now, took, changed, error.as_deref()).await;
        if let Err(problem) = recorded {
            tracing::warn!(error = %problem, "could not record the mailer's run");
        }
        StepReport {
            step: NAME,
            changed,
            error,
            took,
            rested: StdDuration::ZERO,
        }
    }

    /// Ticks every `every` until `shutdown` turns true; a tick in progress finishes first (each
    /// step commits or rolls back as a whole).
    pub async fn run(self, every: StdDuration, mut shutdown: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    if let Err(error) = self.tick().await {
                        tracing::warn!(error = %error, "engine tick could not start; trying again next tick");
                    }
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        tracing::info!("engine stopped");
                        return;
                    }
                }
            }
        }
    }
}

/// Rests after a step that took `took` (by the engine's clock: a fixed one never rests) if other
/// sessions are in a statement or a transaction on the database: pages, answered by this instance
/// or another (a page's transaction sits idle between its statements, so it counts too). Asked on
/// the leader's connection, which is idle between steps. Seeing other roles' sessions' state takes
/// a superuser or a member of `pg_read_all_stats`: the engine's role is the owner, a superuser
/// (README); without those rights it sees no state and never rests. If the question fails, the
/// engine goes on without resting.
async fn rest(leader: &mut PgConnection, took: StdDuration) -> StdDuration {
    let pages_running: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() \
           AND backend_type = 'client backend' AND pid <> pg_backend_pid() \
           AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call'))",
    )
    .fetch_one(leader)
    .await
    .unwrap_or_else(|error| {
        tracing::warn!(%error, "could not tell whether pages are being answered; not resting");
        false
    });
    let rest = crate::domain::pacing::rest_after_step(took, pages_running);
    if !rest.is_zero() {
        tokio::time::sleep(rest).await;
    }
    rest
}

/// Records a run of `step` at `now`: its time, what it changed and its error if it failed (a failed
/// run keeps the last success). The steps with a daily full pass (SLA scores, seat forecasts) read
/// the last success to decide whether it is due; the bulk seed records the
/// forecast pass it makes as the day's, so the first tick after it does not repeat it.
pub async fn record_run<'e>(
    db: impl PgExecutor<'e>,
    step: &str,
    now: DateTime<Utc>,
    took: StdDuration,
    changed: u64,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO engine_steps (step, last_started_at, last_success_at, last_duration_ms, last_changed, last_error) \
         VALUES ($1, $2, CASE WHEN $5 = '' THEN $2 END, $3, $4, $5) \
         ON CONFLICT (step) DO UPDATE SET last_started_at = $2, \
             last_success_at = coalesce(EXCLUDED.last_success_at, engine_steps.last_success_at), \
             last_duration_ms = $3, last_changed = $4, last_error = $5",
    )
    .bind(step)
    .bind(now)
    .bind(i32::try_from(took.as_millis()).unwrap_or(i32::MAX))
    .bind(i32::try_from(changed).unwrap_or(i32::MAX))
    .bind(error.unwrap_or_default())
    .execute(db)
    .await?;
    Ok(())
}

/// When the engine last completed a step successfully, for `/healthz` and the pages' "as of".
pub async fn last_success(db: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT max(last_success_at) FROM engine_steps")
        .fetch_one(db)
        .await
}
