//! Agent reports that carry only jobs (the common report: jobs that finished since the last one)
//! are stored many to a transaction and a statement: the reports that arrive while a batch is
//! being stored wait in a queue and form the next one. Each report is answered once its batch has
//! committed, as it would be alone; what the batch decides for it is what storing it alone
//! decides (`agent_store_reports`). A batch that fails stores nothing, and each of its reports is
//! then stored alone, so one report's error is still its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::reports::{Refusal, StoredJobs};
use crate::store;
use crate::store::agents::{BatchRow, BatchedReport, JobRecord};

/// Most reports in one batch.
const MAX_REPORTS: usize = 64;
/// Most jobs a report may carry to be batched; a larger report is one set-based statement alone.
pub const MAX_JOBS: usize = 100;
/// Batches stored at the same time: one for each of the machine's two cores' worth of PostgreSQL
/// work, while the next batch gathers.
const WORKERS: usize = 2;
/// Reports waiting at most; when the queue is full, a report is stored alone.
const QUEUE: usize = 1024;

/// What the batch decided for one report: its new jobs, or its refusal.
pub type BatchOutcome = Result<StoredJobs, Refusal>;

struct Pending {
    token_hash: String,
    jobs: Vec<JobRecord>,
    now: DateTime<Utc>,
    answer: oneshot::Sender<Option<BatchOutcome>>,
}

/// The queue of reports waiting for a batch, and the tasks that store them (started with the
/// first report, in the server's runtime).
pub struct ReportBatcher {
    db: PgPool,
    queue: OnceLock<mpsc::Sender<Pending>>,
    /// Reports answered from a batch so far.
    batched: Arc<AtomicU64>,
}

impl ReportBatcher {
    pub fn new(db: PgPool) -> Self {
        Self {
            db,
            queue: OnceLock::new(),
            batched: Arc::default(),
        }
    }

    /// How many reports batches have answered (the others were stored alone).
    pub fn batched(&self) -> u64 {
        self.batched.load(Ordering::Relaxed)
    }

    /// Stores the report with whatever others arrive meanwhile. None: it was not stored (the
    /// queue was full or its batch failed); store it alone.
    pub async fn store(&self, token_hash: String, jobs: Vec<JobRecord>, now: DateTime<Utc>) -> Option<BatchOutcome> {
        let queue = self.queue.get_or_init(|| self.start());
        let (answer, answered) = oneshot::channel();
        queue
            .try_send(Pending {
                token_hash,
                jobs,
                now,
                answer,
            })
            .ok()?;
        answered.await.ok().flatten()
    }

    fn start(&self) -> mpsc::Sender<Pending> {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WORKERS {
            tokio::spawn(work(self.db.clone(), Arc::clone(&waiting), Arc::clone(&self.batched)));
        }
        queue
    }
}

/// Takes what waits (at least one report) and stores it, until the queue's sender is gone.
async fn work(db: PgPool, waiting: Arc<Mutex<mpsc::Receiver<Pending>>>, batched: Arc<AtomicU64>) {
    loop {
        let batch = {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_REPORTS {
                match waiting.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        let reports = batch.len() as u64;
        if store_batch(&db, batch).await {
            batched.fetch_add(reports, Ordering::Relaxed);
        }
    }
}

/// Stores the batch and answers each of its reports; false if it failed (each is to be stored alone).
async fn store_batch(db: &PgPool, batch: Vec<Pending>) -> bool {
    // The reports' clock, not this task's: the latest instant any of them was received at.
    let Some(now) = batch.iter().map(|p| p.now).max() else {
        return true;
    };
    let reports: Vec<BatchedReport> = batch
        .iter()
        .map(|p| BatchedReport {
            token_hash: &p.token_hash,
            jobs: &p.jobs,
        })
        .collect();
    let rows = match store::agents::store_reports(db, &reports, now).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(%error, reports = batch.len(), "a batch of agent reports failed; each is stored alone");
            for pending in batch {
                let _ = pending.answer.send(None);
            }
            return false;
        }
    };
    let outcomes = outcomes(rows, batch.len());
    // An agent that went away meanwhile has nobody to answer; its jobs are stored all the same,
    // as a report alone whose answer is lost after its commit.
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        let _ = pending.answer.send(Some(outcome));
    }
    true
}

/// What `agent_store_reports`' rows say of each of `reports` reports.
pub(super) fn outcomes(rows: Vec<BatchRow>, reports: usize) -> Vec<BatchOutcome> {
    let mut outcomes: Vec<BatchOutcome> = (0..reports).map(|_| Ok(StoredJobs::default())).collect();
    for row in rows {
        let Some(outcome) = usize::try_from(row.report - 1).ok().and_then(|at| outcomes.get_mut(at)) else {
            continue;
        };
        // A refused report has no stored rows: the function stores nothing of it.
        match (row.outcome.as_str(), outcome.as_mut()) {
            ("stored", Ok(jobs)) => jobs.stored.push(row.detail.unwrap_or_default()),
            ("refused", Ok(jobs)) => jobs
                .refused
                .push((row.detail.unwrap_or_default(), row.reason.unwrap_or_default())),
            ("stored" | "refused", Err(_)) => {}
            (code, _) => *outcome = Err(Refusal::of_code(code, row.detail)),
        }
    }
    outcomes
}
