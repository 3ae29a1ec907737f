//! `POST /api/v1/reports`: what an agent has done and seen since its last report. The whole report
//! is checked first and stored in one transaction, or not at all; a retried report is stored once.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::response::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AgentToken, ApiJson, ErrorResponse, client_disabled, invalid_token, refused};
use crate::error::{ApiError, AppError};
use crate::jobs::GRACE_ENDED_REASON;
use crate::state::AppState;
use crate::store;
use crate::store::agents::{AccountActivity, BatchedReport, ConnectorHealth, JobRecord};

/// Most items of each kind one report may carry.
pub const MAX_ITEMS: usize = 1000;
/// How far ahead of the server's clock a reported time may be (clock skew).
const MAX_FUTURE_SKEW_MINUTES: i64 = 10;
/// Largest byte count and seat count a report may carry (the schema says the same).
const MAX_BYTES: u64 = 1_000_000_000_000_000;
const MAX_SEATS: u64 = 10_000_000;
/// How far back a reported time may be.
const MAX_PAST_DAYS: i64 = 400;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub jobs: Vec<JobReport>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub connectors: Vec<ConnectorReport>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub seats: Vec<SeatReport>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub accounts: Vec<AccountReport>,
    /// Bytes this client now stores on the server.
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub storage_used_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Backup,
    Restore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Succeeded,
    Warning,
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Warning => "warning",
            JobStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobReport {
    /// The agent's own id for the job; a job reported twice is stored once.
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub id: String,
    pub kind: JobKind,
    /// The connector (backup set) the job ran for, by name; leave it out for the client machine itself.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub connector: Option<String>,
    /// Within the last 400 days and not more than 10 minutes ahead of the server's clock.
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    pub status: JobStatus,
    #[serde(default, deserialize_with = "super::whole_number")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    #[serde(rename = "microsoft_365")]
    Microsoft365,
    GoogleWorkspace,
    Salesforce,
    FileServer,
    VirtualMachine,
    Endpoint,
}

impl ConnectorKind {
    fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Microsoft365 => "microsoft_365",
            ConnectorKind::GoogleWorkspace => "google_workspace",
            ConnectorKind::Salesforce => "salesforce",
            ConnectorKind::FileServer => "file_server",
            ConnectorKind::VirtualMachine => "virtual_machine",
            ConnectorKind::Endpoint => "endpoint",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Warning,
    Critical,
}

impl Health {
    fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Warning => "warning",
            Health::Critical => "critical",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorReport {
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    pub kind: ConnectorKind,
    pub health: Health,
    /// Why it is not healthy (shown on the dashboard).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeatPropertyName {
    M365User,
    GoogleUser,
    SalesforceUser,
    Endpoint,
}

impl SeatPropertyName {
    fn as_str(self) -> &'static str {
        match self {
            SeatPropertyName::M365User => "m365_user",
            SeatPropertyName::GoogleUser => "google_user",
            SeatPropertyName::SalesforceUser => "salesforce_user",
            SeatPropertyName::Endpoint => "endpoint",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatReport {
    pub seat_property: SeatPropertyName,
    #[serde(deserialize_with = "super::whole_number")]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub seats_used: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountReport {
    /// The account's id in the protected service (e.g. a mailbox address).
    #[schema(
        min_length = 1,
        max_length = 254,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub id: String,
    pub seat_property: SeatPropertyName,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub display_name: String,
    /// When the account was last active; it counts towards that month's MAU.
    pub active_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedJob {
    pub id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportResponse {
    /// Jobs stored now.
    pub accepted: usize,
    /// Ids of jobs that were stored by an earlier report.
    pub duplicates: Vec<String>,
    /// Backup jobs the server refuses (they are recorded as refused).
    pub refused: Vec<RefusedJob>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError(AppError::BadRequest(message.into()))
}

fn check_name(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if super::is_blank(value) || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(bad(format!(
            "`{field}` must be 1 to {max} characters without control characters."
        )));
    }
    Ok(())
}

fn check_time(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ApiError> {
    if at > now + Duration::minutes(MAX_FUTURE_SKEW_MINUTES) {
        return Err(bad(format!("`{field}` ({at}) lies in the future.")));
    }
    if at < now - Duration::days(MAX_PAST_DAYS) {
        return Err(bad(format!("`{field}` ({at}) is more than {MAX_PAST_DAYS} days old.")));
    }
    Ok(())
}

/// Every rule a report must meet before anything is stored.
fn check_report(report: &ReportRequest, now: DateTime<Utc>) -> Result<(), ApiError> {
    for (what, len) in [
        ("jobs", report.jobs.len()),
        ("connectors", report.connectors.len()),
        ("seats", report.seats.len()),
        ("accounts", report.accounts.len()),
    ] {
        if len > MAX_ITEMS {
            return Err(bad(format!("A report carries at most {MAX_ITEMS} {what}.")));
        }
    }
    let mut ids = HashSet::new();
    for job in &report.jobs {
        check_name("jobs[].id", &job.id, 120)?;
        if !ids.insert(job.id.as_str()) {
            return Err(bad(format!("The job id `{}` appears twice in the report.", job.id)));
        }
        if let Some(connector) = &job.connector {
            check_name("jobs[].connector", connector, 120)?;
        }
        check_time("jobs[].started_at", job.started_at, now)?;
        if let Some(ended) = job.ended_at {
            check_time("jobs[].ended_at", ended, now)?;
            if ended < job.started_at {
                return Err(bad(format!("Job `{}` ends before it starts.", job.id)));
            }
        }
        if job.bytes > MAX_BYTES {
            return Err(bad(format!("Job `{}` reports an impossible size.", job.id)));
        }
    }
    let mut names = HashSet::new();
    for connector in &report.connectors {
        check_name("connectors[].name", &connector.name, 120)?;
        if connector.reason.chars().count() > 500 {
            return Err(bad("`connectors[].reason` must be at most 500 characters."));
        }
        // Stored trimmed: `a` and `a ` are the same connector.
        if !names.insert(connector.name.trim_matches(' ')) {
            return Err(bad(format!(
                "The connector `{}` appears twice in the report.",
                connector.name
            )));
        }
    }
    for account in &report.accounts {
        check_name("accounts[].id", &account.id, 254)?;
        if account.display_name.chars().count() > 200 {
            return Err(bad("`accounts[].display_name` must be at most 200 characters."));
        }
        check_time("accounts[].active_at", account.active_at, now)?;
    }
    if report.seats.iter().any(|s| s.seats_used > MAX_SEATS) {
        return Err(bad(format!("`seats[].seats_used` must be at most {MAX_SEATS}.")));
    }
    if report.storage_used_bytes.is_some_and(|b| b > MAX_BYTES) {
        return Err(bad("`storage_used_bytes` is impossibly large."));
    }
    Ok(())
}

/// Submit a report
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    request_body = ReportRequest,
    security(("client_token" = [])),
    responses(
        (status = 200, description = "Stored; refused and duplicate jobs are listed", body = ReportResponse),
        (status = 400, description = "Malformed or impossible content: `bad_request`; nothing is stored", body = ErrorResponse),
        (status = 401, description = "`invalid_token`", body = ErrorResponse),
        (status = 403, description = "`client_disabled`, `customer_deactivated`, `customer_scheduled_for_deletion`, `unknown_connector`", body = ErrorResponse),
        (status = 413, description = "`payload_too_large`", body = ErrorResponse),
        (status = 429, description = "`rate_limited`; see Retry-After", body = ErrorResponse),
    )
)]
pub async fn submit_report(
    State(state): State<AppState>,
    token: AgentToken,
    report: Result<ApiJson<ReportRequest>, ApiError>,
) -> Result<Json<ReportResponse>, ApiError> {
    let now = state.clock().now();
    // An unknown token is answered 401 whatever the body holds, as before any other refusal.
    let report = match report.and_then(|ApiJson(report)| check_report(&report, now).map(|()| report)) {
        Ok(report) => report,
        Err(refusal) => {
            token.client(&state).await?;
            return Err(refusal);
        }
    };
    if batchable(&report) {
        let jobs = report.jobs.iter().map(job_record).collect();
        if let Some(outcome) = state.reports().store(token.0.clone(), jobs, now).await {
            return Ok(answer(&report, &outcome?));
        }
    }
    let (mut tx, gate) = store::agents::open_report(state.db(), &token.0)
        .await?
        .ok_or_else(invalid_token)?;
    if gate.lifecycle != "active" {
        return Err(Refusal::ScheduledForDeletion.into());
    }
    if !gate.activated {
        return Err(Refusal::Deactivated.into());
    }
    let agent = gate.client;

    let connectors: Vec<ConnectorHealth> = report
        .connectors
        .iter()
        .map(|connector| ConnectorHealth {
            name: connector.name.trim_matches(' '),
            kind: connector.kind.as_str(),
            health: connector.health.as_str(),
            reason: if matches!(connector.health, Health::Healthy) {
                ""
            } else {
                connector.reason.trim()
            },
        })
        .collect();
    store::agents::upsert_connectors(
        &mut tx,
        agent.reseller_id,
        agent.customer_id,
        &connectors,
        GRACE_ENDED_REASON,
        now,
    )
    .await?;
    // The jobs are stored by the statement that stores a batch's (agent_store_reports, within this
    // transaction): it refuses a job naming a connector the customer does not have (those just
    // reported included), and records backups as refused while the customer's backups are blocked.
    let jobs: Vec<JobRecord> = report.jobs.iter().map(job_record).collect();
    let rows = store::agents::store_jobs(
        &mut tx,
        &BatchedReport {
            token_hash: &token.0,
            jobs: &jobs,
        },
        now,
    )
    .await?;
    let stored = super::batching::outcomes(rows, 1)
        .pop()
        .unwrap_or_else(|| Ok(StoredJobs::default()))?;
    let (reseller, customer, client) = (agent.reseller_id, agent.customer_id, agent.client_id);
    let seats: Vec<(String, i64)> = report
        .seats
        .iter()
        .map(|s| {
            (
                s.seat_property.as_str().to_string(),
                i64::try_from(s.seats_used).unwrap_or(i64::MAX),
            )
        })
        .collect();
    store::agents::record_seats(&mut tx, reseller, customer, &seats, now.date_naive()).await?;
    let activity: Vec<AccountActivity> = report
        .accounts
        .iter()
        .map(|a| AccountActivity {
            external_id: a.id.trim_matches(' ').to_string(),
            seat_property: a.seat_property.as_str().to_string(),
            display_name: a.display_name.trim().to_string(),
            active_at: a.active_at,
        })
        .collect();
    store::agents::record_activity(&mut tx, reseller, customer, &activity, now).await?;
    if let Some(bytes) = report.storage_used_bytes {
        store::agents::record_storage(
            &mut tx,
            reseller,
            customer,
            client,
            i64::try_from(bytes).unwrap_or(i64::MAX),
            now.date_naive(),
        )
        .await?;
    }
    tx.commit().await?;

    Ok(answer(&report, &stored))
}

/// Reports of jobs alone, and not too many, are stored in batches ([`super::batching`]); the
/// others alone, as they touch more than jobs.
fn batchable(report: &ReportRequest) -> bool {
    report.connectors.is_empty()
        && report.seats.is_empty()
        && report.accounts.is_empty()
        && report.storage_used_bytes.is_none()
        && report.jobs.len() <= super::batching::MAX_JOBS
}

/// The job as reported, ready to store.
fn job_record(job: &JobReport) -> JobRecord {
    JobRecord {
        external_id: job.id.clone(),
        restore: job.kind == JobKind::Restore,
        connector: job.connector.as_ref().map(|c| c.trim_matches(' ').to_string()),
        started_at: job.started_at,
        ended_at: job.ended_at,
        status: job.status.as_str().into(),
        bytes: i64::try_from(job.bytes).unwrap_or(i64::MAX),
    }
}

/// Why a whole report is refused, before any of it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    InvalidToken,
    /// An admin has disabled the client.
    ClientDisabled,
    ScheduledForDeletion,
    Deactivated,
    /// The first job naming a connector the customer does not have.
    UnknownConnector(String),
}

impl Refusal {
    /// The refusal `agent_store_reports` names by `code` (`job`: the job it names, if any).
    pub fn of_code(code: &str, job: Option<String>) -> Refusal {
        match code {
            "client_disabled" => Refusal::ClientDisabled,
            "customer_scheduled_for_deletion" => Refusal::ScheduledForDeletion,
            "customer_deactivated" => Refusal::Deactivated,
            "unknown_connector" => Refusal::UnknownConnector(job.unwrap_or_default()),
            // The function's only other refusal: `invalid_token`.
            _ => Refusal::InvalidToken,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::InvalidToken => invalid_token(),
            Refusal::ClientDisabled => client_disabled(),
            Refusal::ScheduledForDeletion => refused(
                "customer_scheduled_for_deletion",
                "The customer is scheduled for deletion; reports are not accepted.",
            ),
            Refusal::Deactivated => refused(
                "customer_deactivated",
                "The customer is deactivated; its clients may not back up.",
            ),
            Refusal::UnknownConnector(job) => refused(
                "unknown_connector",
                format!("Job `{job}` names a connector the customer does not have; report the connector first."),
            ),
        }
    }
}

/// The jobs of a report that were new, alone or in a batch.
#[derive(Debug, Default)]
pub struct StoredJobs {
    /// External ids of the jobs stored now.
    pub stored: Vec<String>,
    /// Backups stored as refused (the customer's backups are blocked), with the reason.
    pub refused: Vec<(String, String)>,
}

/// The answer to a stored report: what was new, what an earlier report had stored, and which
/// backups were refused, in the report's order.
fn answer(report: &ReportRequest, stored: &StoredJobs) -> Json<ReportResponse> {
    let new: HashSet<&str> = stored.stored.iter().map(String::as_str).collect();
    let refused_now: HashMap<&str, &str> = stored
        .refused
        .iter()
        .map(|(id, reason)| (id.as_str(), reason.as_str()))
        .collect();
    let duplicates = report
        .jobs
        .iter()
        .filter(|j| !new.contains(j.id.as_str()) && !refused_now.contains_key(j.id.as_str()))
        .map(|j| j.id.clone())
        .collect();
    let refused_jobs = report
        .jobs
        .iter()
        .filter_map(|j| {
            refused_now.get(j.id.as_str()).map(|reason| RefusedJob {
                id: j.id.clone(),
                code: "seat_limit_exceeded".into(),
                message: (*reason).to_string(),
            })
        })
        .collect();
    Json(ReportResponse {
        accepted: stored.stored.len(),
        duplicates,
        refused: refused_jobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The fixed instant the reports below are checked at (the rule takes the time as an argument).
    fn reported_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().expect("date")
    }

    fn job(id: &str, started: DateTime<Utc>, ended: Option<DateTime<Utc>>) -> JobReport {
        JobReport {
            id: id.into(),
            kind: JobKind::Backup,
            connector: None,
            started_at: started,
            ended_at: ended,
            status: JobStatus::Succeeded,
            bytes: 1,
        }
    }

    fn report(jobs: Vec<JobReport>) -> ReportRequest {
        ReportRequest {
            jobs,
            connectors: vec![],
            seats: vec![],
            accounts: vec![],
            storage_used_bytes: None,
        }
    }

    #[test]
    fn times_far_in_the_future_or_past_and_backwards_jobs_are_refused() {
        let now = reported_at();
        assert!(check_report(&report(vec![job("a", now - Duration::hours(1), Some(now))]), now).is_ok());
        assert!(
            check_report(&report(vec![job("a", now + Duration::minutes(5), None)]), now).is_ok(),
            "small skew"
        );
        assert!(check_report(&report(vec![job("a", now + Duration::days(1), None)]), now).is_err());
        assert!(check_report(&report(vec![job("a", now - Duration::days(500), None)]), now).is_err());
        assert!(check_report(&report(vec![job("a", now, Some(now - Duration::hours(1)))]), now).is_err());
    }

    #[test]
    fn repeated_ids_and_empty_names_are_refused() {
        let now = reported_at();
        assert!(check_report(&report(vec![job("a", now, None), job("a", now, None)]), now).is_err());
        assert!(check_report(&report(vec![job(" ", now, None)]), now).is_err());
        assert!(check_report(&report(vec![job("a\u{0}", now, None)]), now).is_err());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// A string an agent might send: sometimes fine, sometimes blank, long or with controls.
        fn text() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                "[a-z0-9-]{1,20}".prop_map(serde_json::Value::from),
                any::<String>().prop_map(serde_json::Value::from),
                Just(serde_json::Value::from("   ")),
                Just(serde_json::Value::from("a".repeat(121))),
                any::<i64>().prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
            ]
        }

        /// A timestamp an agent might send: near the server's now, far off, or not a time at all.
        fn time() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                (-600_000_i64..600_000)
                    .prop_map(|s| serde_json::Value::from((reported_at() + Duration::seconds(s)).to_rfc3339())),
                (-100_000_000_i64..100_000_000)
                    .prop_map(|s| serde_json::Value::from((reported_at() + Duration::seconds(s * 10)).to_rfc3339())),
                any::<String>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
            ]
        }

        fn number() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                any::<u64>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                any::<String>().prop_map(serde_json::Value::from),
            ]
        }

        fn job_json() -> impl Strategy<Value = serde_json::Value> {
            let kind = prop_oneof![
                Just("backup"),
                Just("restore"),
                Just("delete"),
                Just("BACKUP"),
                Just("")
            ];
            let status = prop_oneof![
                Just("succeeded"),
                Just("failed"),
                Just("warning"),
                Just("running"),
                Just("?")
            ];
            (text(), kind, time(), proptest::option::of(time()), status, number()).prop_map(
                |(id, kind, started, ended, status, bytes)| {
                    let mut job = serde_json::json!({
                        "id": id, "kind": kind, "started_at": started, "status": status, "bytes": bytes
                    });
                    if let Some(ended) = ended {
                        job["ended_at"] = ended;
                    }
                    job
                },
            )
        }

        proptest! {
            /// Whatever an agent sends, the decoder and the checks answer without panicking, and
            /// what they accept keeps every rule the store relies on.
            #[test]
            fn accepted_job_reports_keep_the_rules(jobs in proptest::collection::vec(job_json(), 0..6)) {
                let body = serde_json::json!({ "jobs": jobs }).to_string();
                let Ok(report) = serde_json::from_str::<ReportRequest>(&body) else {
                    return Ok(());
                };
                if check_report(&report, reported_at()).is_ok() {
                    let mut seen = HashSet::new();
                    for job in &report.jobs {
                        prop_assert!(!job.id.trim().is_empty() && job.id.chars().count() <= 120);
                        prop_assert!(!job.id.chars().any(char::is_control));
                        prop_assert!(seen.insert(job.id.clone()), "ids are unique");
                        prop_assert!(job.started_at <= reported_at() + Duration::minutes(MAX_FUTURE_SKEW_MINUTES));
                        prop_assert!(job.started_at >= reported_at() - Duration::days(MAX_PAST_DAYS));
                        prop_assert!(job.ended_at.is_none_or(|end| end >= job.started_at));
                    }
                }
            }
        }
    }
}
