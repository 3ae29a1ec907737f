//! Generated datasets at MSP scale (`seed --scale large | bench-small`): the demo, plus resellers
//! with a skewed size distribution and every row kind the pages read, generated set-based in
//! PostgreSQL (`generate_series` and `INSERT … SELECT`), never row by row from Rust.
//!
//! Deterministic: the same `--seed` on the same day gives the same rows. Randomness is
//! `hashint8extended(key, seed)`, so no row depends on the order the server produces them in.
//! Dates are relative to the clock's now, as in the demo, so the dashboard always has something to
//! show.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, PgPool};

use crate::auth::passwords;
use crate::clock::Clock;

/// The shape of a generated dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleSpec {
    pub resellers: usize,
    /// Customers of the largest reseller (the first one).
    pub largest_reseller: usize,
    /// Customers of the next nine, in order: the "medium" tier of the skew.
    pub medium_resellers: [usize; 9],
    pub customers: usize,
    pub clients_per_customer: i32,
    pub connectors_per_customer: i32,
    pub accounts_per_customer: i32,
    /// Backup jobs of every customer but the first of the largest reseller …
    pub jobs_per_customer: i32,
    /// … which has this many (the SLA page's worst case).
    pub jobs_of_biggest_customer: i32,
    pub usage_days: i32,
    pub mau_months: i32,
}

/// 200 resellers, 100,000 customers, 1 M clients, 2 M accounts, 300,000 connectors, 20 M jobs.
pub const LARGE: ScaleSpec = ScaleSpec {
    resellers: 200,
    largest_reseller: 20_000,
    medium_resellers: [4_000, 3_500, 3_000, 2_500, 2_000, 2_000, 1_500, 1_500, 1_000],
    customers: 100_000,
    clients_per_customer: 10,
    connectors_per_customer: 3,
    accounts_per_customer: 20,
    jobs_per_customer: 199,
    jobs_of_biggest_customer: 100_000,
    usage_days: 90,
    mau_months: 12,
};

/// About 1/100 of [`LARGE`]: what CI can afford for the quick benchmark and the seed's test.
pub const BENCH_SMALL: ScaleSpec = ScaleSpec {
    resellers: 20,
    largest_reseller: 200,
    medium_resellers: [40, 35, 30, 25, 20, 20, 15, 15, 10],
    customers: 1_000,
    clients_per_customer: 10,
    connectors_per_customer: 3,
    accounts_per_customer: 20,
    jobs_per_customer: 199,
    jobs_of_biggest_customer: 1_000,
    usage_days: 90,
    mau_months: 12,
};

impl ScaleSpec {
    /// Customers of each generated reseller, largest first; they add up to `customers`. The tail
    /// shares what the first ten leave, each a few hundred (±50 %), deterministic in `seed`.
    pub fn reseller_sizes(&self, seed: u64) -> Vec<usize> {
        let mut sizes = vec![self.largest_reseller];
        sizes.extend(
            self.medium_resellers
                .iter()
                .copied()
                .take(self.resellers.saturating_sub(1)),
        );
        let head: usize = sizes.iter().sum();
        let tail = self.resellers.saturating_sub(sizes.len());
        if tail == 0 {
            return sizes;
        }
        let left = self.customers.saturating_sub(head);
        let mean = left / tail;
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut tail_sizes: Vec<usize> = (0..tail)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let spread = (state >> 33) as usize % (mean.max(1) + 1);
                (mean / 2 + spread).max(1)
            })
            .collect();
        // Make the total exact by nudging sizes one at a time, never below one customer.
        let mut total: usize = tail_sizes.iter().sum();
        let mut i = 0;
        while total != left && !tail_sizes.is_empty() {
            let slot = i % tail_sizes.len();
            if total < left {
                tail_sizes[slot] += 1;
                total += 1;
            } else if tail_sizes[slot] > 1 {
                tail_sizes[slot] -= 1;
                total -= 1;
            }
            i += 1;
            if i > 100 * self.customers {
                break;
            }
        }
        sizes.extend(tail_sizes);
        sizes
    }
}

/// Usernames of the generated resellers' owner and admin: `admin@r001.bench.example` is the
/// largest reseller's admin.
pub fn reseller_login(role: &str, number: usize) -> String {
    format!("{role}@r{number:03}.bench.example")
}

/// The bearer token of generated client `k` of generated customer `g` (only `k = 1` has one), so
/// the benchmark can post agent reports without registering first.
pub fn agent_token(customer: i64) -> String {
    format!("bench-agent-{customer}-1")
}

/// What was generated, for the command's report.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    pub steps: Vec<(&'static str, u64, f64)>,
}

impl Generated {
    /// One generation step: its name, the rows it wrote and the time since `started` by `clock`,
    /// returned.
    fn record(&mut self, clock: &dyn Clock, step: &'static str, rows: u64, started: DateTime<Utc>) -> StdDuration {
        let took = (clock.now() - started).to_std().unwrap_or_default();
        self.steps.push((step, rows, took.as_secs_f64()));
        took
    }
}

/// Tables whose secondary indexes and foreign keys are dropped during the load and rebuilt after:
/// one sort per index is far cheaper than maintaining it row by row, and one join per foreign key
/// far cheaper than a trigger per row.
const BULK_TABLES: &[&str] = &[
    "backup_jobs",
    "backup_job_days",
    "backup_job_source_days",
    "restore_jobs",
    "usage_daily",
    "accounts",
    "account_activity_months",
    "clients",
    "connectors",
    "mau_monthly",
];

/// Seeds the demo, then the generated resellers, into an empty database (`pool`: the owner's), as
/// of `clock`'s now; the steps are timed by `clock` too.
pub async fn seed_scaled(pool: &PgPool, clock: &dyn Clock, spec: ScaleSpec, seed: u64) -> anyhow::Result<Generated> {
    let now = clock.now();
    super::seed_demo(pool, now).await?;
    let mut conn = pool.acquire().await?;
    let conn = conn.acquire().await?;
    let mut generated = Generated::default();
    sqlx::query("SET maintenance_work_mem = '512MB'")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET synchronous_commit = off").execute(&mut *conn).await?;
    sqlx::query("SET max_parallel_maintenance_workers = 2")
        .execute(&mut *conn)
        .await?;

    let password_hash = passwords::hash_blocking(super::DEMO_PASSWORD.to_string()).await?;
    let sizes = spec.reseller_sizes(seed);
    let seed = i64::try_from(seed % (i64::MAX as u64)).unwrap_or(0);

    let definitions = drop_bulk_indexes(conn).await?;
    let started = clock.now();
    let rows = resellers(conn, &sizes, &password_hash, now).await?;
    generated.record(clock, "resellers", rows, started);
    let before = Ids::of(conn, "customers").await?;
    let started = clock.now();
    let rows = customers(conn, now, seed).await?;
    generated.record(clock, "customers", rows, started);
    let customers = Ids::check(conn, "customers", before).await?;
    let sql_steps: &[(&'static str, String)] = &[
        ("clients", clients_sql(&spec)),
        ("connectors", connectors_sql(&spec)),
        ("accounts", accounts_sql(&spec)),
        ("seat_limits", SEAT_LIMITS_SQL.to_string()),
        ("locations_contacts", LOCATIONS_SQL.to_string()),
        ("usage_daily", usage_sql(&spec)),
        ("mau", mau_sql(&spec)),
    ];
    let mut clients_first = 0;
    let mut connectors_first = 0;
    for (name, sql) in sql_steps {
        let before = Ids::of(conn, table_of(name)).await?;
        let started = clock.now();
        let rows = sqlx::query(sql)
            .bind(now)
            .bind(seed)
            .bind(customers)
            .execute(&mut *conn)
            .await
            .map_err(|e| anyhow::anyhow!("generating {name}: {e}"))?
            .rows_affected();
        generated.record(clock, name, rows, started);
        match *name {
            "clients" => clients_first = Ids::check(conn, "clients", before).await?,
            "connectors" => connectors_first = Ids::check(conn, "connectors", before).await?,
            _ => {}
        }
    }
    // The roll-up trigger would aggregate 20 M jobs from its transition table (gigabytes of
    // temporary files) and upsert them one key at a time; the same figures are far cheaper as one
    // GROUP BY after the insert. Both in one transaction with the trigger off: if either fails the
    // trigger is back on and no job is left out of the roll-up.
    let mut load = conn.begin().await?;
    // The SLA queue's trigger would keep that transition table too, to queue one customer per
    // job: every score is marked due instead, with the load (an engine tick may have taken the
    // new customers off the queue before it).
    sqlx::query("INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (NULL, NULL)")
        .execute(&mut *load)
        .await?;
    for trigger in JOB_LOAD_TRIGGERS {
        sqlx::query(&format!("ALTER TABLE backup_jobs DISABLE TRIGGER {trigger}"))
            .execute(&mut *load)
            .await?;
    }
    let started = clock.now();
    let rows = sqlx::query(&jobs_sql(&spec))
        .bind(now)
        .bind(seed)
        .bind(customers)
        .bind(clients_first)
        .bind(connectors_first)
        .execute(&mut *load)
        .await
        .map_err(|e| anyhow::anyhow!("generating backup jobs: {e}"))?
        .rows_affected();
    generated.record(clock, "backup_jobs", rows, started);
    let started = clock.now();
    let mut rows = 0;
    for sql in [JOB_DAYS_SQL, JOB_SOURCE_DAYS_SQL] {
        rows += sqlx::query(sql)
            .bind(customers)
            .execute(&mut *load)
            .await
            .map_err(|e| anyhow::anyhow!("rolling up backup jobs: {e}"))?
            .rows_affected();
    }
    for trigger in JOB_LOAD_TRIGGERS {
        sqlx::query(&format!("ALTER TABLE backup_jobs ENABLE TRIGGER {trigger}"))
            .execute(&mut *load)
            .await?;
    }
    load.commit().await?;
    generated.record(clock, "backup_job_days", rows, started);
    let started = clock.now();
    let rows = sqlx::query(&restores_sql(&spec))
        .bind(now)
        .bind(seed)
        .bind(customers)
        .bind(connectors_first)
        .execute(&mut *conn)
        .await
        .map_err(|e| anyhow::anyhow!("generating restore jobs: {e}"))?
        .rows_affected();
    generated.record(clock, "restore_jobs", rows, started);

    let started = clock.now();
    restore_bulk_indexes(conn, &definitions).await?;
    generated.record(clock, "indexes", definitions.len() as u64, started);
    let started = clock.now();
    for table in BULK_TABLES
        .iter()
        .chain(["customers", "seat_limits", "locations", "contacts", "resellers"].iter())
    {
        // VACUUM sets the visibility map, so counts can be index-only scans from the first request.
        sqlx::query(&format!("VACUUM (ANALYZE) {table}"))
            .execute(&mut *conn)
            .await?;
    }
    generated.record(clock, "vacuum_analyze", 0, started);
    // The dashboard reads the stored forecasts, so the seed makes the engine's full pass for its
    // day (the demo's limits included) and records it as that day's: the engine's first tick on
    // the same day forecasts only what changes after it.
    let started = clock.now();
    let rows = crate::jobs::forecast_seat_limits(conn, now.date_naive()).await?;
    let took = generated.record(clock, "seat_forecasts", rows, started);
    crate::jobs::record_run(&mut *conn, "seat_forecasts", now, took, rows, None).await?;
    Ok(generated)
}

/// The triggers on inserted backup jobs that the bulk load turns off (see above).
const JOB_LOAD_TRIGGERS: [&str; 2] = ["backup_job_days_insert", "sla_score_queue_inserted"];

fn table_of(step: &str) -> &'static str {
    match step {
        "clients" => "clients",
        "connectors" => "connectors",
        "accounts" => "accounts",
        "locations_contacts" => "locations",
        _ => "customers",
    }
}

/// Identity values of one `INSERT … SELECT … ORDER BY` are consecutive on a database nobody else
/// writes to; the generators compute ids arithmetically from that (no join against 20 M rows), and
/// this checks the assumption held.
struct Ids;

impl Ids {
    async fn of(conn: &mut PgConnection, table: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(&format!("SELECT coalesce(max(id), 0) FROM {table}"))
            .fetch_one(&mut *conn)
            .await
    }

    /// The first id inserted after `before`, once the ids are known to be consecutive.
    async fn check(conn: &mut PgConnection, table: &str, before: i64) -> anyhow::Result<i64> {
        let (first, last, count): (Option<i64>, Option<i64>, i64) =
            sqlx::query_as(&format!("SELECT min(id), max(id), count(*) FROM {table} WHERE id > $1"))
                .bind(before)
                .fetch_one(&mut *conn)
                .await?;
        match (first, last) {
            (Some(first), Some(last)) if last - first + 1 == count => Ok(first),
            _ => anyhow::bail!("the generated {table} ids are not consecutive; seed into a database nobody else uses"),
        }
    }
}

/// `(table, name, definition, is_constraint)` of what was dropped.
type Definitions = Vec<(String, String, String, bool)>;

async fn drop_bulk_indexes(conn: &mut PgConnection) -> anyhow::Result<Definitions> {
    let tables: Vec<String> = BULK_TABLES.iter().map(|t| t.to_string()).collect();
    // Foreign keys first (on the bulk tables, and those elsewhere pointing at them), then unique
    // constraints and plain indexes; primary keys stay (ids arrive in order, cheap to maintain).
    let constraints: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype::text \
         FROM pg_constraint c \
         WHERE (c.contype = 'f' AND (c.conrelid::regclass::text = ANY($1) OR c.confrelid::regclass::text = ANY($1))) \
            OR (c.contype = 'u' AND c.conrelid::regclass::text = ANY($1)) \
         ORDER BY c.contype = 'u', c.conname",
    )
    .bind(&tables)
    .fetch_all(&mut *conn)
    .await?;
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i \
         WHERE i.indrelid::regclass::text = ANY($1) AND NOT i.indisprimary \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
         ORDER BY 2",
    )
    .bind(&tables)
    .fetch_all(&mut *conn)
    .await?;
    let mut dropped = Definitions::new();
    for (table, name, definition, _) in constraints {
        sqlx::query(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))
            .execute(&mut *conn)
            .await?;
        dropped.push((table, name, definition, true));
    }
    for (table, name, definition) in indexes {
        sqlx::query(&format!("DROP INDEX {name}")).execute(&mut *conn).await?;
        dropped.push((table, name, definition, false));
    }
    Ok(dropped)
}

async fn restore_bulk_indexes(conn: &mut PgConnection, dropped: &Definitions) -> anyhow::Result<()> {
    // Indexes and unique constraints before foreign keys: the keys' checks use them.
    let (keys, others): (Vec<_>, Vec<_>) = dropped
        .iter()
        .partition(|(_, _, definition, is_constraint)| *is_constraint && definition.starts_with("FOREIGN KEY"));
    for (table, name, definition, is_constraint) in others.into_iter().chain(keys) {
        let sql = if *is_constraint {
            format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        } else {
            definition.clone()
        };
        sqlx::query(&sql)
            .execute(&mut *conn)
            .await
            .map_err(|e| anyhow::anyhow!("rebuilding {name}: {e}"))?;
    }
    Ok(())
}

/// A uniform number in [0, 1) from a key and a salt: `u(key, salt)` in the generators' SQL.
const U: &str = "((hashint8extended(({key})::bigint, $2::bigint + {salt}) & 4294967295)::float8 / 4294967296.0)";

fn u(key: &str, salt: u32) -> String {
    U.replace("{key}", key).replace("{salt}", &salt.to_string())
}

async fn resellers(
    conn: &mut PgConnection,
    sizes: &[usize],
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let numbers: Vec<i32> = (1..=sizes.len() as i32).collect();
    let counts: Vec<i32> = sizes.iter().map(|&s| s as i32).collect();
    let inserted = sqlx::query(
        "WITH r AS ( \
           INSERT INTO resellers (name, max_customers, max_accounts, mau_allowance, disk_space_bytes, mcal_pool, created_at) \
           SELECT format('Bench Reseller %s', lpad(n::text, 3, '0')), c + c / 10 + 10, c * 25, c * 18, \
                  c::bigint * 2199023255552 / 10, c * 6, $3 - interval '800 days' \
           FROM unnest($1::int[], $2::int[]) AS s(n, c) ORDER BY n RETURNING id, name) \
         INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, created_at, password_changed_at) \
         SELECT format('%s@r%s.bench.example', who, right(r.name, 3)), format('%s (%s)', initcap(who), r.name), \
                format('%s@r%s.bench.example', who, right(r.name, 3)), $4, role, r.id, $3, $3 \
         FROM r CROSS JOIN (VALUES ('owner', 'reseller_owner'), ('admin', 'reseller_admin')) AS w(who, role)",
    )
    .bind(&numbers)
    .bind(&counts)
    .bind(now)
    .bind(password_hash)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // The generator tables the later statements join on: reseller number → id and customer range.
    sqlx::query("DROP TABLE IF EXISTS pg_temp.bench_resellers")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "CREATE TEMP TABLE bench_resellers AS \
         SELECT s.n, r.id, s.c AS customers, \
                (sum(s.c) OVER (ORDER BY s.n) - s.c + 1)::int AS first_g \
         FROM unnest($1::int[], $2::int[]) AS s(n, c) \
         JOIN resellers r ON r.name = format('Bench Reseller %s', lpad(s.n::text, 3, '0'))",
    )
    .bind(&numbers)
    .bind(&counts)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO mau_allowance_history (reseller_id, month, allowance) \
         SELECT b.id, (date_trunc('month', $1 AT TIME ZONE 'UTC') - make_interval(months => m))::date, b.customers * 18 \
         FROM bench_resellers b CROSS JOIN generate_series(0, 11) AS m",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(inserted / 2)
}

async fn customers(conn: &mut PgConnection, now: DateTime<Utc>, seed: i64) -> Result<u64, sqlx::Error> {
    // h: the customer's state, per mille. 0–19 scheduled for deletion, 20–49 evaluation,
    // 50–89 service expiring within 30 days, 90–99 deactivated, 100–109 deleted; the rest active.
    // Customer g = 1 (the largest reseller's first) is always healthy and active: the SLA page's
    // worst case with 100,000 jobs.
    let h = u("g.g", 1);
    let sql = format!(
        "INSERT INTO customers (reseller_id, name, legal_name, email, city, pass_key_hash, activated, lifecycle, \
                                scheduled_for_deletion_at, delete_on, deleted_at, tenant_type, trial_ends_on, \
                                service_plan_id, service_expires_on, space_quota_bytes, used_space_bytes, \
                                mcals_allotted, max_clients, email_reports, created_at) \
         SELECT b.id, format('%s %s %s', (ARRAY['Alpine','Blue','Cedar','Delta','Ember','Falcon','Granite','Harbor'])[1 + g.g % 8], \
                                         (ARRAY['Logistics','Dental','Legal','Foods','Retail','Clinic','Works','Studio','Labs'])[1 + g.g % 9], \
                                         lpad(g.g::text, 6, '0')), \
                format('Customer %s Ltd', g.g), format('it@c%s.example', g.g), \
                (ARRAY['Berlin','Lyon','Leeds','Porto','Turin','Ghent','Basel'])[1 + g.g % 7], \
                encode(sha256(convert_to('bench-pass-' || g.g, 'UTF8')), 'hex'), \
                NOT (h.h BETWEEN 90 AND 109), \
                CASE WHEN h.h < 20 THEN 'scheduled_for_deletion' WHEN h.h BETWEEN 100 AND 109 THEN 'deleted' ELSE 'active' END, \
                CASE WHEN h.h < 20 THEN $1 - interval '2 days' END, \
                CASE WHEN h.h < 20 THEN ($1 AT TIME ZONE 'UTC')::date + 1 + (g.g % 28) END, \
                CASE WHEN h.h BETWEEN 100 AND 109 THEN $1 - make_interval(days => 1 + (g.g % 60)::int) END, \
                CASE WHEN h.h BETWEEN 20 AND 49 THEN 'evaluation' ELSE 'commercial' END, \
                CASE WHEN h.h BETWEEN 20 AND 49 THEN ($1 AT TIME ZONE 'UTC')::date - 3 + (g.g % 60)::int END, \
                CASE WHEN h.h BETWEEN 20 AND 49 THEN p.evaluation ELSE p.paid[1 + (g.g % cardinality(p.paid))::int] END, \
                CASE WHEN h.h BETWEEN 50 AND 89 THEN ($1 AT TIME ZONE 'UTC')::date + (g.g % 30)::int \
                     ELSE ($1 AT TIME ZONE 'UTC')::date + 31 + (g.g % 700)::int END, \
                CASE WHEN g.g % 3 = 0 THEN NULL ELSE 53687091200 * (1 + g.g % 20) END, \
                (10737418240 * (1 + g.g % 20) * {used})::bigint, \
                CASE WHEN g.g % 2 = 0 THEN NULL ELSE 12 + (g.g % 8)::int END, \
                CASE WHEN g.g % 5 = 0 THEN 40 END, \
                g.g % 10 = 0, \
                $1 - make_interval(days => 120 + (g.g % 900)::int) \
         FROM bench_resellers b \
         CROSS JOIN (SELECT array_agg(id ORDER BY id) FILTER (WHERE NOT is_evaluation) AS paid, \
                            min(id) FILTER (WHERE is_evaluation) AS evaluation FROM service_plans) AS p \
         CROSS JOIN LATERAL generate_series(b.first_g, b.first_g + b.customers - 1) AS g(g) \
         CROSS JOIN LATERAL (SELECT CASE WHEN g.g = 1 THEN 999 ELSE floor({h} * 1000)::int END AS h) AS h \
         ORDER BY g.g",
        used = u("g.g", 2),
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(seed)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(rows)
}

// The statements below take $1 = now, $2 = seed, $3 = the first generated customer's id; customer
// g has id $3 + g - 1, and its reseller is looked up once per customer in `bench_customers`.
fn customer_source() -> &'static str {
    "(SELECT c.id, c.reseller_id, c.id - $3::bigint + 1 AS g, c.lifecycle FROM customers c WHERE c.id >= $3::bigint) AS c"
}

fn clients_sql(spec: &ScaleSpec) -> String {
    format!(
        "INSERT INTO clients (reseller_id, customer_id, client_key, hostname, os, status, last_seen_at, last_success_at, \
                              used_space_bytes, token_hash, created_by, created_at) \
         SELECT c.reseller_id, c.id, 'host-' || k, format('c%s-pc%s', c.g, k), \
                (ARRAY['Windows Server 2022','Windows 11','Ubuntu 24.04','macOS 15','Debian 12'])[1 + (c.g + k) % 5], \
                CASE WHEN {offline} < 0.05 THEN 'offline' ELSE 'online' END, \
                $1 - make_interval(mins => floor({seen} * 600)::int), \
                $1 - make_interval(mins => floor({success} * {success_span})::int), \
                floor({space} * 107374182400)::bigint, \
                CASE WHEN k = 1 THEN encode(sha256(convert_to('bench-agent-' || c.g || '-1', 'UTF8')), 'hex') END, \
                'admin', $1 - interval '100 days' \
         FROM {source} CROSS JOIN generate_series(1, {n}) AS k \
         ORDER BY c.id, k",
        n = spec.clients_per_customer,
        offline = u("c.g * 64 + k", 3),
        seen = u("c.g * 64 + k", 4),
        success = u("c.g * 64 + k", 5),
        // Most succeeded within a day; 3 % are between 1 and 4 days old (the engine turns them stale).
        success_span = "CASE WHEN k = 2 AND c.g % 33 = 0 THEN 5760 ELSE 1200 END",
        space = u("c.g * 64 + k", 6),
        source = customer_source(),
    )
}

fn connectors_sql(spec: &ScaleSpec) -> String {
    format!(
        "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_reason, health_since, \
                                 last_success_at, last_restore_at, last_restore_status, created_at) \
         SELECT c.reseller_id, c.id, kinds.label || ' ' || k, kinds.kind, \
                CASE WHEN {h} < 0.02 THEN 'critical' WHEN {h} < 0.05 THEN 'warning' ELSE 'healthy' END, \
                CASE WHEN {h} < 0.02 THEN (ARRAY['Authentication to the tenant failed','Storage quota reached', \
                     'Agent unreachable for 3 days'])[1 + c.g % 3] WHEN {h} < 0.05 THEN 'Last backup finished with warnings' ELSE '' END, \
                $1 - make_interval(hours => floor({h2} * 200)::int), \
                $1 - make_interval(mins => floor({success} * 1300)::int), \
                CASE WHEN k = 1 THEN $1 - make_interval(days => 1 + (c.g % 40)::int) END, \
                CASE WHEN k = 1 THEN (ARRAY['succeeded','succeeded','warning','failed'])[1 + c.g % 4] END, \
                $1 - interval '200 days' \
         FROM {source} CROSS JOIN generate_series(1, {n}) AS k \
         CROSS JOIN LATERAL (SELECT (ARRAY['microsoft_365','google_workspace','file_server','virtual_machine','salesforce'])[1 + (c.g + k) % 5] AS kind, \
                                    (ARRAY['Microsoft 365','Google Workspace','File server','Virtual machine','Salesforce'])[1 + (c.g + k) % 5] AS label) AS kinds \
         ORDER BY c.id, k",
        n = spec.connectors_per_customer,
        h = u("c.g * 8 + k", 7),
        h2 = u("c.g * 8 + k", 8),
        success = u("c.g * 8 + k", 9),
        source = customer_source(),
    )
}

fn accounts_sql(spec: &ScaleSpec) -> String {
    // Four of five accounts are Microsoft 365 users, the rest endpoints; most were active this month.
    format!(
        "INSERT INTO accounts (reseller_id, customer_id, external_id, display_name, seat_property, last_activity_at, created_at) \
         SELECT c.reseller_id, c.id, 'user' || k, format('User %s of %s', k, c.g), \
                CASE WHEN k % 5 = 0 THEN 'endpoint' ELSE 'm365_user' END, \
                $1 - make_interval(hours => floor({active} * 1500)::int), \
                $1 - interval '300 days' \
         FROM {source} CROSS JOIN generate_series(1, {n}) AS k \
         ORDER BY c.id, k",
        n = spec.accounts_per_customer,
        active = u("c.g * 64 + k", 10),
        source = customer_source(),
    )
}

/// Seats in use equal the accounts per property; 4 % of customers are over their Microsoft 365
/// limit (some past the grace period), 2 % approach it.
const SEAT_LIMITS_SQL: &str = "\
    INSERT INTO seat_limits (reseller_id, customer_id, seat_property, seat_limit, seats_used, over_limit_since, grace_ends_at) \
    SELECT a.reseller_id, a.customer_id, a.seat_property, \
           CASE WHEN a.seat_property = 'm365_user' AND c.g % 25 = 3 THEN a.used - 2 \
                WHEN a.seat_property = 'm365_user' AND c.g % 50 = 7 THEN a.used + 1 \
                ELSE a.used + 5 END, \
           a.used, \
           CASE WHEN a.seat_property = 'm365_user' AND c.g % 25 = 3 THEN $1 - make_interval(days => (c.g % 25)::int) END, \
           CASE WHEN a.seat_property = 'm365_user' AND c.g % 25 = 3 THEN $1 - make_interval(days => (c.g % 25)::int) + interval '14 days' END \
    FROM (SELECT reseller_id, customer_id, seat_property, count(*)::int AS used FROM accounts \
          WHERE customer_id >= $3::bigint GROUP BY 1, 2, 3) a \
    JOIN (SELECT id, id - $3::bigint + 1 AS g FROM customers WHERE id >= $3::bigint AND $2::bigint IS NOT NULL) c ON c.id = a.customer_id \
    WHERE $1::timestamptz IS NOT NULL";

const LOCATIONS_SQL: &str = "\
    WITH l AS ( \
      INSERT INTO locations (reseller_id, customer_id, name, address) \
      SELECT c.reseller_id, c.id, 'Head office', format('%s Main Street', 1 + c.id % 200) \
      FROM customers c WHERE c.id >= $3::bigint AND $2::bigint IS NOT NULL AND $1::timestamptz IS NOT NULL RETURNING 1) \
    INSERT INTO contacts (reseller_id, customer_id, name, email, phone) \
    SELECT c.reseller_id, c.id, 'IT Manager', format('it-manager@c%s.example', c.id), '+44 20 7946 0000' \
    FROM customers c WHERE c.id >= $3::bigint AND (SELECT count(*) FROM l) >= 0";

fn usage_sql(spec: &ScaleSpec) -> String {
    // Seats per day only for the last 30 days (the trend forecast reads no further back).
    let seats = format!(
        "{} - CASE WHEN c.g % 50 = 7 THEN d / 6 ELSE 0 END",
        spec.accounts_per_customer * 4 / 5
    );
    format!(
        "INSERT INTO usage_daily (reseller_id, customer_id, day, credits_consumed, storage_bytes, seats) \
         SELECT c.reseller_id, c.id, ($1 AT TIME ZONE 'UTC')::date - d, round(({credits} * 40)::numeric, 2), \
                (5368709120 * (1 + c.g % 20) * (1 + (90 - d) / 180.0))::bigint, \
                CASE WHEN d < 30 THEN jsonb_build_object('m365_user', {seats}) ELSE '{{}}'::jsonb END \
         FROM {source} CROSS JOIN generate_series(0, {days} - 1) AS d \
         WHERE c.lifecycle <> 'deleted' OR d >= 60 \
         ORDER BY c.id, d DESC",
        days = spec.usage_days,
        credits = u("c.g * 128 + d", 11),
        source = customer_source(),
    )
}

fn mau_sql(spec: &ScaleSpec) -> String {
    // This month and the last are counted from the activity the accounts recorded (as the engine
    // counts them, and as the demo does), earlier months made up around the accounts per customer.
    // Every generated customer gets a row for every month, so the recounts the accounts' activity
    // queued for them would find nothing to change: they are taken off the queue (the demo's stay).
    format!(
        "WITH recounted AS (DELETE FROM mau_recount WHERE customer_id >= $3::bigint) \
         INSERT INTO mau_monthly (reseller_id, customer_id, month, mau) \
         SELECT c.reseller_id, c.id, months.month, \
                CASE WHEN m <= 1 THEN coalesce(a.active, 0) \
                     ELSE greatest(0, {accounts} - 4 + floor({jitter} * 8)::int) END \
         FROM {source} CROSS JOIN generate_series(0, {months} - 1) AS m \
         CROSS JOIN LATERAL (SELECT (date_trunc('month', $1 AT TIME ZONE 'UTC') - make_interval(months => m))::date AS month) months \
         LEFT JOIN (SELECT customer_id, month, count(*)::int AS active FROM account_activity_months \
                    WHERE customer_id >= $3::bigint AND month >= (date_trunc('month', $1 AT TIME ZONE 'UTC') - interval '1 month')::date \
                    GROUP BY customer_id, month) a ON a.customer_id = c.id AND a.month = months.month \
         ORDER BY c.id, m",
        accounts = spec.accounts_per_customer,
        jitter = u("c.g * 16 + m", 12),
        months = spec.mau_months,
        source = customer_source(),
    )
}

fn jobs_sql(spec: &ScaleSpec) -> String {
    // $4 = first generated client id, $5 = first generated connector id (consecutive, in customer
    // order). Every fourth job is the client machine's own, the others a connector's.
    format!(
        "INSERT INTO backup_jobs (reseller_id, customer_id, connector_id, client_id, external_id, started_at, ended_at, status, bytes) \
         SELECT c.reseller_id, c.id, \
                CASE WHEN j % 4 <> 0 THEN $5::bigint + (c.g - 1) * {connectors} + (j % {connectors}) END, \
                CASE WHEN j % 4 = 0 THEN $4::bigint + (c.g - 1) * {clients} + (j % {clients}) END, \
                'j' || j, s.started, \
                CASE WHEN s.r < 0.0005 THEN NULL ELSE s.started + make_interval(mins => 5 + (j % 90)::int) END, \
                CASE WHEN s.r < 0.0005 THEN 'running' WHEN s.r < 0.05 THEN 'failed' WHEN s.r < 0.10 THEN 'warning' ELSE 'succeeded' END, \
                (j % 1000)::bigint * 104857600 \
         FROM {source} \
         CROSS JOIN LATERAL generate_series(1, CASE WHEN c.g = 1 THEN {biggest} ELSE {per} END) AS j \
         CROSS JOIN LATERAL (SELECT $1 - make_interval(secs => {when} * 7776000) AS started, {r} AS r) AS s \
         ORDER BY c.id, j",
        connectors = spec.connectors_per_customer,
        clients = spec.clients_per_customer,
        biggest = spec.jobs_of_biggest_customer,
        per = spec.jobs_per_customer,
        when = u("c.g * 131072 + j", 13),
        r = u("c.g * 131072 + j", 14),
        source = customer_source(),
    )
}

/// The roll-ups of the generated customers' jobs (ids from $1 on; the demo's are kept by the
/// trigger), the same aggregates as migration 20261201700001's backfill.
const JOB_DAYS_SQL: &str = "INSERT INTO backup_job_days (reseller_id, customer_id, day, succeeded, warning, failed, refused, running) \
     SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date, \
            count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'warning'), \
            count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'refused'), \
            count(*) FILTER (WHERE status = 'running') \
     FROM backup_jobs WHERE customer_id >= $1 \
     GROUP BY 1, 2, 3";

const JOB_SOURCE_DAYS_SQL: &str = "INSERT INTO backup_job_source_days (reseller_id, customer_id, day, source, first_ok_at, last_ok_at) \
     SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date, coalesce(connector_id, -client_id), \
            min(started_at), max(started_at) \
     FROM backup_jobs WHERE customer_id >= $1 AND status IN ('succeeded', 'warning') \
     GROUP BY 1, 2, 3, 4";

fn restores_sql(spec: &ScaleSpec) -> String {
    format!(
        "INSERT INTO restore_jobs (reseller_id, customer_id, connector_id, external_id, started_at, ended_at, status, bytes) \
         SELECT c.reseller_id, c.id, $4::bigint + (c.g - 1) * {connectors}, 'r1', \
                $1 - make_interval(days => 1 + (c.g % 40)::int), $1 - make_interval(days => 1 + (c.g % 40)::int) + interval '20 minutes', \
                (ARRAY['succeeded','succeeded','warning','failed'])[1 + c.g % 4], 1073741824 \
         FROM {source} WHERE $2::bigint IS NOT NULL \
         ORDER BY c.id",
        connectors = spec.connectors_per_customer,
        source = customer_source(),
    )
}
