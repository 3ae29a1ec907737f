//! What backup agents do to the database: register a client, report jobs, connector health, seats,
//! account activity and storage. Lookups before a scope exists go through the `agent_*` functions
//! of the database; everything else runs in the customer's scope.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use super::Tx;
use crate::domain::tenancy::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentCustomer {
    pub id: i64,
    pub reseller_id: i64,
    pub pass_key_hash: String,
    pub is_default: bool,
}

/// The customer an agent names (None: the default customer).
pub async fn find_customer(db: &PgPool, name: Option<&str>) -> Result<Option<AgentCustomer>, sqlx::Error> {
    sqlx::query_as::<_, AgentCustomer>("SELECT id, reseller_id, pass_key_hash, is_default FROM agent_customer($1)")
        .bind(name)
        .fetch_optional(db)
        .await
}

#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct AgentClient {
    pub client_id: i64,
    pub customer_id: i64,
    pub reseller_id: i64,
}

/// The client whose token hashes to `token_hash`.
pub async fn find_client(db: &PgPool, token_hash: &str) -> Result<Option<AgentClient>, sqlx::Error> {
    sqlx::query_as::<_, AgentClient>("SELECT client_id, customer_id, reseller_id FROM agent_client($1)")
        .bind(token_hash)
        .fetch_optional(db)
        .await
}

/// What decides whether a report is accepted, read with the customer's row locked.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportGate {
    #[sqlx(flatten)]
    pub client: AgentClient,
    pub activated: bool,
    pub lifecycle: String,
    pub backups_blocked_reason: Option<String>,
}

/// Opens the transaction of a report from the client whose token hashes to `token_hash`: one pool
/// acquire and one statement (`agent_open_report`) find the client, take its customer's scope and
/// lock the customer's row. None: no such client (nothing is left open).
pub async fn open_report(db: &PgPool, token_hash: &str) -> Result<Option<(Tx, ReportGate)>, sqlx::Error> {
    let mut inner = super::begin(db).await?;
    let gate = sqlx::query_as::<_, ReportGate>(
        "SELECT client_id, customer_id, reseller_id, activated, lifecycle, backups_blocked_reason \
         FROM agent_open_report($1)",
    )
    .bind(token_hash)
    .fetch_optional(&mut *inner)
    .await?;
    Ok(gate.map(|gate| {
        // The same ids the function made the transaction's settings of.
        let scope = Scope::Customer {
            reseller_id: gate.client.reseller_id,
            customer_id: gate.client.customer_id,
        };
        (Tx::adopted(inner, scope.into()), gate)
    }))
}

/// What registration checks about the customer, read with the row locked.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerGate {
    pub name: String,
    pub activated: bool,
    pub lifecycle: String,
    pub auto_authorize: bool,
    pub mcals_allotted: Option<i32>,
    pub max_clients: Option<i32>,
    pub space_quota_bytes: Option<i64>,
    pub used_space_bytes: i64,
    pub backups_blocked_reason: Option<String>,
    pub clients: i64,
}

pub async fn customer_gate(tx: &mut Tx, customer_id: i64) -> Result<CustomerGate, sqlx::Error> {
    sqlx::query_as::<_, CustomerGate>(
        "SELECT c.name, c.activated, c.lifecycle, c.auto_authorize, c.mcals_allotted, c.max_clients, c.space_quota_bytes, \
                c.used_space_bytes, c.backups_blocked_reason, c.client_count AS clients \
         FROM customers c WHERE c.id = $1 FOR UPDATE",
    )
    .bind(customer_id)
    .fetch_one(&mut **tx)
    .await
}

/// The client with this id under the customer, if any: its id and whether an admin disabled it.
pub async fn existing_client(
    tx: &mut Tx,
    customer_id: i64,
    client_key: &str,
) -> Result<Option<(i64, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, status = 'disabled' FROM clients WHERE customer_id = $1 AND lower(client_key) = lower($2)",
    )
    .bind(customer_id)
    .bind(client_key)
    .fetch_optional(&mut **tx)
    .await
}

pub struct Registration<'a> {
    pub reseller_id: i64,
    pub customer_id: i64,
    pub client_key: &'a str,
    pub hostname: &'a str,
    pub os: &'a str,
    pub token_hash: &'a str,
    pub now: DateTime<Utc>,
}

/// Gives an existing client a new token (re-registration is idempotent: the same client row).
pub async fn refresh_client(tx: &mut Tx, client_id: i64, r: &Registration<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE clients SET token_hash = $2, hostname = CASE WHEN $3 = '' THEN hostname ELSE $3 END, \
                os = CASE WHEN $4 = '' THEN os ELSE $4 END, status = 'online', last_seen_at = $5 WHERE id = $1",
    )
    .bind(client_id)
    .bind(r.token_hash)
    .bind(r.hostname)
    .bind(r.os)
    .bind(r.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates a client by auto-authorization.
pub async fn create_client(tx: &mut Tx, r: &Registration<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO clients (reseller_id, customer_id, client_key, hostname, os, status, last_seen_at, token_hash, \
                              created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'online', $6, $7, 'auto_authorization', $6) RETURNING id",
    )
    .bind(r.reseller_id)
    .bind(r.customer_id)
    .bind(r.client_key)
    .bind(r.hostname)
    .bind(r.os)
    .bind(r.now)
    .bind(r.token_hash)
    .fetch_one(&mut **tx)
    .await
}

/// One job of a report, ready to store: its status as reported (the statement that stores it
/// records a backup as refused while the customer's backups are blocked).
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub external_id: String,
    pub restore: bool,
    pub connector: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: String,
    pub bytes: i64,
}

pub struct ConnectorHealth<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub health: &'a str,
    pub reason: &'a str,
}

/// Creates or updates the reported connectors, set-based (their names are unique in a report). A
/// connector the engine holds critical for an ended grace period keeps that state: the agent
/// cannot report its way out of it.
pub async fn upsert_connectors(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    connectors: &[ConnectorHealth<'_>],
    grace_reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if connectors.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = connectors.iter().map(|c| c.name).collect();
    let kinds: Vec<&str> = connectors.iter().map(|c| c.kind).collect();
    let health: Vec<&str> = connectors.iter().map(|c| c.health).collect();
    let reasons: Vec<&str> = connectors.iter().map(|c| c.reason).collect();
    sqlx::query(
        "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_reason, health_since, created_at) \
         SELECT $1, $2, r.name, r.kind, r.health, r.reason, $7, $7 \
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS r(name, kind, health, reason) \
         ON CONFLICT ON CONSTRAINT connectors_name_key DO UPDATE SET kind = EXCLUDED.kind, \
             health = EXCLUDED.health, health_reason = EXCLUDED.health_reason, \
             health_since = CASE WHEN connectors.health = EXCLUDED.health THEN connectors.health_since ELSE EXCLUDED.health_since END \
         WHERE connectors.health_reason IS DISTINCT FROM $8",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(&names)
    .bind(&kinds)
    .bind(&health)
    .bind(&reasons)
    .bind(now)
    .bind(grace_reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One report of a batch for [`store_reports`]: its token's hash and its jobs (their status as
/// reported; the batch decides which backups a blocked customer refuses).
pub struct BatchedReport<'a> {
    pub token_hash: &'a str,
    pub jobs: &'a [JobRecord],
}

/// What [`store_reports`] says of one report: a refusal of the whole report, or one job stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRow {
    /// The report's position in the batch, from 1.
    pub report: i32,
    /// `stored`, `refused` (a blocked backup, stored as refused) or the report's refusal code.
    pub outcome: String,
    /// The job's external id (for `unknown_connector`: the first job naming an unknown connector).
    pub detail: Option<String>,
    /// Why a backup was refused.
    pub reason: Option<String>,
}

/// Stores the reports in one statement (`agent_store_reports`), each as if it had come alone:
/// refused whole, or its new jobs stored. Committed before it returns.
pub async fn store_reports(
    db: &PgPool,
    reports: &[BatchedReport<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<BatchRow>, sqlx::Error> {
    // One statement, so no BEGIN and COMMIT: it is its own transaction, committed before its
    // last message reaches us (sqlx reads up to ReadyForQuery, which follows the commit). Two round
    // trips fewer per batch.
    call_store_reports(db, reports, now).await
}

/// Stores the jobs of the report whose transaction `tx` is (opened by [`open_report`]), with the
/// same statement as a batch: what a report alone and a batch decide and write is one SQL text.
pub async fn store_jobs(
    tx: &mut Tx,
    report: &BatchedReport<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<BatchRow>, sqlx::Error> {
    call_store_reports(&mut **tx, std::slice::from_ref(report), now).await
}

async fn call_store_reports<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    reports: &[BatchedReport<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<BatchRow>, sqlx::Error> {
    let tokens: Vec<&str> = reports.iter().map(|r| r.token_hash).collect();
    let jobs = reports
        .iter()
        .zip(1i32..)
        .flat_map(|(r, number)| r.jobs.iter().map(move |job| (number, job)));
    let (mut report, mut ids, mut restores, mut connectors) = (vec![], vec![], vec![], vec![]);
    let (mut started, mut ended, mut statuses, mut bytes) = (vec![], vec![], vec![], vec![]);
    for (number, job) in jobs {
        report.push(number);
        ids.push(job.external_id.as_str());
        restores.push(job.restore);
        connectors.push(job.connector.as_deref());
        started.push(job.started_at);
        ended.push(job.ended_at);
        statuses.push(job.status.as_str());
        bytes.push(job.bytes);
    }
    sqlx::query_as::<_, BatchRow>(
        "SELECT report, outcome, detail, reason \
         FROM agent_store_reports($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&tokens)
    .bind(&report)
    .bind(&ids)
    .bind(&restores)
    .bind(&connectors)
    .bind(&started)
    .bind(&ended)
    .bind(&statuses)
    .bind(&bytes)
    .bind(now)
    .fetch_all(executor)
    .await
}

/// Reported seat counts: the limit rows that exist, and today's daily figures for the trend.
pub async fn record_seats(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    seats: &[(String, i64)],
    today: NaiveDate,
) -> Result<(), sqlx::Error> {
    if seats.is_empty() {
        return Ok(());
    }
    let properties: Vec<&str> = seats.iter().map(|(p, _)| p.as_str()).collect();
    let counts: Vec<i32> = seats
        .iter()
        .map(|(_, n)| i32::try_from(*n).unwrap_or(i32::MAX))
        .collect();
    sqlx::query(
        "UPDATE seat_limits s SET seats_used = r.used FROM unnest($2::text[], $3::int[]) AS r(property, used) \
         WHERE s.customer_id = $1 AND s.seat_property = r.property AND s.seats_used IS DISTINCT FROM r.used",
    )
    .bind(customer_id)
    .bind(&properties)
    .bind(&counts)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO usage_daily (reseller_id, customer_id, day, seats) \
         SELECT $1, $2, $3, jsonb_object_agg(r.property, r.used) FROM unnest($4::text[], $5::int[]) AS r(property, used) \
         ON CONFLICT (customer_id, day) DO UPDATE SET seats = usage_daily.seats || EXCLUDED.seats",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(today)
    .bind(&properties)
    .bind(&counts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub struct AccountActivity {
    pub external_id: String,
    pub seat_property: String,
    pub display_name: String,
    pub active_at: DateTime<Utc>,
}

/// Accounts seen active: created if new, last activity moved forward, and each month they were
/// reported active in counted for MAU. The month of an account's last activity is recorded by the
/// accounts' own trigger (migration 20261206000003); this statement records the earlier months a
/// report carries (a late report of last month's activity, say), for new accounts too.
pub async fn record_activity(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    activity: &[AccountActivity],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if activity.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = activity.iter().map(|a| a.external_id.as_str()).collect();
    let properties: Vec<&str> = activity.iter().map(|a| a.seat_property.as_str()).collect();
    let names: Vec<&str> = activity.iter().map(|a| a.display_name.as_str()).collect();
    let at: Vec<DateTime<Utc>> = activity.iter().map(|a| a.active_at).collect();
    sqlx::query(
        "WITH reported AS ( \
             SELECT DISTINCT ON (property, external_id) external_id, property, display_name, active_at \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS r(external_id, property, display_name, active_at) \
             ORDER BY property, external_id, active_at DESC), \
         upserted AS ( \
             INSERT INTO accounts (reseller_id, customer_id, external_id, display_name, seat_property, last_activity_at, created_at) \
             SELECT $1, $2, external_id, display_name, property, active_at, $7 FROM reported \
             ON CONFLICT ON CONSTRAINT accounts_external_key DO UPDATE SET \
                 last_activity_at = greatest(accounts.last_activity_at, EXCLUDED.last_activity_at), \
                 display_name = CASE WHEN EXCLUDED.display_name = '' THEN accounts.display_name ELSE EXCLUDED.display_name END \
             RETURNING id, external_id, seat_property, last_activity_at) \
         INSERT INTO account_activity_months (reseller_id, customer_id, account_id, month) \
         SELECT DISTINCT $1::bigint, $2::bigint, u.id, date_trunc('month', r.active_at AT TIME ZONE 'UTC')::date \
         FROM upserted u \
         JOIN unnest($3::text[], $4::text[], $6::timestamptz[]) AS r(external_id, property, active_at) \
           ON r.external_id = u.external_id AND r.property = u.seat_property \
         WHERE date_trunc('month', r.active_at AT TIME ZONE 'UTC') \
               <> date_trunc('month', u.last_activity_at AT TIME ZONE 'UTC') \
         ON CONFLICT DO NOTHING",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(&ids)
    .bind(&properties)
    .bind(&names)
    .bind(&at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The client's reported storage, the customer's total (the sum over its clients) and today's figure.
pub async fn record_storage(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    client_id: i64,
    bytes: i64,
    today: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE clients SET used_space_bytes = $2 WHERE id = $1")
        .bind(client_id)
        .bind(bytes)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "WITH total AS (SELECT coalesce(sum(used_space_bytes), 0)::bigint AS bytes FROM clients WHERE customer_id = $2), \
         customer AS (UPDATE customers SET used_space_bytes = (SELECT bytes FROM total) WHERE id = $2 RETURNING 1) \
         INSERT INTO usage_daily (reseller_id, customer_id, day, storage_bytes) SELECT $1, $2, $3, bytes FROM total \
         ON CONFLICT (customer_id, day) DO UPDATE SET storage_bytes = EXCLUDED.storage_bytes",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(today)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
