//! The demo dataset: three resellers, forty customers in every state the dashboard shows, and
//! their clients, connectors, accounts, usage, jobs and alerts. Deterministic, and dated relative to
//! the clock's today so that the demo shows every state whatever day it runs.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

use crate::auth::passwords;
use crate::auth::sessions::sha256_hex;
use crate::domain::units::{GIB, TIB};

pub mod scale;

pub const DEMO_PASSWORD: &str = "demo-password";

/// The logins the demo prints, with what each one is.
pub const DEMO_LOGINS: &[(&str, &str)] = &[
    ("operator", "operator of the whole installation"),
    ("owner@northwind.example", "owner of reseller Northwind Backup Services"),
    ("admin@northwind.example", "admin of reseller Northwind Backup Services"),
    ("owner@fabrikam.example", "owner of reseller Fabrikam Managed IT"),
    ("admin@fabrikam.example", "admin of reseller Fabrikam Managed IT"),
    ("owner@tailspin.example", "owner of reseller Tailspin Cloud"),
    ("contoso-portal", "web-portal user of customer Contoso (Northwind)"),
];

/// The state a demo customer is put in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scenario {
    Healthy,
    /// A connector in critical state with this reason.
    Critical(&'static str),
    /// Scheduled for deletion, deleted this many days from today.
    ScheduledDeletion(i64),
    /// An evaluation whose trial ends this many days from today.
    Trial(i64),
    /// A service that expires this many days from today.
    ServiceExpires(i64),
    /// Seats over the limit since this many days ago (grace period: 14 days).
    OverLimit(i64),
    /// Over the limit, with a raise scheduled this many days ahead.
    OverLimitRaiseScheduled(i64),
    /// Seat usage rising towards its limit.
    Approaching,
    Deactivated,
}

struct CustomerSpec {
    name: &'static str,
    city: &'static str,
    scenario: Scenario,
}

const fn spec(name: &'static str, city: &'static str, scenario: Scenario) -> CustomerSpec {
    CustomerSpec { name, city, scenario }
}

struct ResellerSpec {
    name: &'static str,
    domain: &'static str,
    max_customers: i32,
    max_accounts: i32,
    mau_allowance: i32,
    disk_tib: i64,
    mcal_pool: i32,
    customers: &'static [CustomerSpec],
}

use Scenario::*;

const RESELLERS: &[ResellerSpec] = &[
    ResellerSpec {
        name: "Northwind Backup Services",
        domain: "northwind",
        max_customers: 25,
        max_accounts: 4000,
        mau_allowance: 2500,
        disk_tib: 40,
        mcal_pool: 160,
        customers: &[
            spec("Contoso", "Seattle", Healthy),
            spec(
                "Adventure Works",
                "Bothell",
                Critical("Authentication token expired: re-authorise the Microsoft 365 connection."),
            ),
            spec("Alpine Ski House", "Denver", ScheduledDeletion(5)),
            spec("Blue Yonder Airlines", "Chicago", Trial(3)),
            spec("City Power & Light", "Portland", ServiceExpires(7)),
            spec("Coho Winery", "Napa", OverLimit(3)),
            spec("Consolidated Messenger", "Austin", OverLimit(20)),
            spec("Fourth Coffee", "Boston", OverLimitRaiseScheduled(1)),
            spec("Graphic Design Institute", "Atlanta", ServiceExpires(30)),
            spec("Humongous Insurance", "Hartford", Trial(0)),
            spec("Litware", "Raleigh", ServiceExpires(31)),
            spec("Lucerne Publishing", "New York", Deactivated),
            spec("Margie's Travel", "Miami", Approaching),
            spec(
                "Northwind Traders",
                "Tacoma",
                Critical("No successful backup for 4 days."),
            ),
            spec("Proseware", "Redmond", Healthy),
            spec("School of Fine Art", "Santa Fe", Trial(45)),
            spec("Southridge Video", "Los Angeles", ScheduledDeletion(20)),
            spec("Trey Research", "San Diego", OverLimit(14)),
        ],
    },
    ResellerSpec {
        name: "Fabrikam Managed IT",
        domain: "fabrikam",
        max_customers: 14,
        max_accounts: 2500,
        mau_allowance: 1200,
        disk_tib: 25,
        mcal_pool: 100,
        customers: &[
            spec(
                "Wide World Importers",
                "Rotterdam",
                Critical("Storage quota exceeded: backups cannot complete."),
            ),
            spec("Wingtip Toys", "Utrecht", OverLimit(9)),
            spec("Woodgrove Bank", "Amsterdam", ServiceExpires(14)),
            spec("Relecloud", "Eindhoven", Trial(8)),
            spec("Munson's Pickles and Preserves", "Leiden", ScheduledDeletion(10)),
            spec("VanArsdel", "Delft", OverLimit(30)),
            spec("Bellows College", "Groningen", Healthy),
            spec("Best For You Organics", "Haarlem", Approaching),
            spec("A. Datum Corporation", "The Hague", Healthy),
            spec("First Up Consultants", "Arnhem", Healthy),
            spec(
                "Lamna Healthcare",
                "Maastricht",
                Critical("Salesforce API limit reached during the last 3 backups."),
            ),
            spec("Liberty's Delightful Bakery", "Zwolle", Healthy),
            spec("Nod Publishers", "Breda", Deactivated),
            spec("Fabrikam Residences", "Tilburg", Healthy),
        ],
    },
    ResellerSpec {
        name: "Tailspin Cloud",
        domain: "tailspin",
        max_customers: 40,
        max_accounts: 3000,
        mau_allowance: 900,
        disk_tib: 15,
        mcal_pool: 60,
        customers: &[
            spec("Tailwind Traders", "Lyon", Healthy),
            spec("Boulder Creek Dental", "Nice", ServiceExpires(2)),
            spec("Cedar Grove Clinic", "Lille", OverLimit(2)),
            spec(
                "Harbor Logistics",
                "Marseille",
                Critical("The file server has been unreachable since the last run."),
            ),
            spec("Lakeshore Legal", "Bordeaux", Trial(20)),
            spec("Maple Leaf Accounting", "Nantes", Healthy),
            spec("Riverbend Schools", "Toulouse", Approaching),
            spec("Summit Outdoor Co", "Grenoble", Healthy),
        ],
    },
];

/// Days of grace the demo's overages get (the server setting's default).
const GRACE_DAYS: i64 = 14;

/// A small deterministic generator (SplitMix64): the same demo on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % ((high - low + 1) as u64)) as i64
    }
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The pass key of a demo customer (the real ones are random and shown once).
pub fn demo_pass_key(customer_name: &str) -> String {
    format!("demo-{}", slug(customer_name))
}

/// Whether the database has no resellers yet, i.e. nothing to keep.
pub async fn is_empty(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM resellers")
        .fetch_one(pool)
        .await?;
    Ok(count == 0)
}

/// Seeds the demo into an empty database, in one transaction. `pool` must be the owner's (the
/// seed writes every tenant's rows).
pub async fn seed_demo(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<()> {
    if !is_empty(pool).await? {
        anyhow::bail!("the database already has data; the demo is seeded only into an empty database");
    }
    let password_hash = passwords::hash_blocking(DEMO_PASSWORD.to_string()).await?;
    let mut tx = pool.begin().await?;
    let today = now.date_naive();
    catalogue(&mut tx).await?;

    sqlx::query("INSERT INTO users (username, display_name, password_hash, role, created_at, password_changed_at) VALUES ('operator', 'Operator', $1, 'operator', $2, $2)")
        .bind(&password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;

    // The default reseller and customer that catch agents without a valid customer.
    let default_reseller: i64 = sqlx::query_scalar(
        "INSERT INTO resellers (name, is_default, max_customers, max_accounts, mau_allowance, disk_space_bytes, mcal_pool, created_at) \
         VALUES ('Default Reseller', true, 1, 100, 0, $1, 20, $2) RETURNING id",
    )
    .bind(TIB)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO customers (reseller_id, is_default, name, legal_name, pass_key_hash, auto_authorize, created_at) \
         VALUES ($1, true, 'Default Customer', 'Clients without a valid customer', $2, true, $3)",
    )
    .bind(default_reseller)
    .bind(sha256_hex(&demo_pass_key("Default Customer")))
    .bind(now)
    .execute(&mut *tx)
    .await?;

    let mut rng = Rng(20_261_123);
    for reseller in RESELLERS {
        let reseller_id: i64 = sqlx::query_scalar(
            "INSERT INTO resellers (name, max_customers, max_accounts, mau_allowance, disk_space_bytes, mcal_pool, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(reseller.name)
        .bind(reseller.max_customers)
        .bind(reseller.max_accounts)
        .bind(reseller.mau_allowance)
        .bind(reseller.disk_tib * TIB)
        .bind(reseller.mcal_pool)
        .bind(now - Duration::days(400))
        .fetch_one(&mut *tx)
        .await?;
        for (role, who) in [("reseller_owner", "owner"), ("reseller_admin", "admin")] {
            sqlx::query(
                "INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, created_at, password_changed_at) \
                 VALUES ($1, $2, $1, $3, $4, $5, $6, $6)",
            )
            .bind(format!("{who}@{}.example", reseller.domain))
            .bind(format!("{} ({})", capitalise(who), reseller.name))
            .bind(&password_hash)
            .bind(role)
            .bind(reseller_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        reseller_history(&mut tx, reseller_id, reseller.mau_allowance, today, now).await?;
        for customer in reseller.customers {
            let customer_id = seed_customer(&mut tx, reseller_id, customer, &mut rng, now).await?;
            if customer.name == "Contoso" {
                sqlx::query(
                    "INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, customer_id, created_at, password_changed_at) \
                     VALUES ('contoso-portal', 'Contoso IT', 'it@contoso.example', $1, 'customer', $2, $3, $4, $4)",
                )
                .bind(&password_hash)
                .bind(reseller_id)
                .bind(customer_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        // Healthy customers (but Contoso, left for trying the page) are invoiced on the
        // reseller's plan since they were created, so the engine's first tick bills last month.
        let invoiced: Vec<&str> = reseller
            .customers
            .iter()
            .filter(|c| c.scenario == Healthy && c.name != "Contoso")
            .map(|c| c.name)
            .collect();
        sqlx::query(
            "WITH picked AS ( \
                 SELECT c.id, c.reseller_id, c.created_at, p.id AS plan_id FROM customers c \
                 JOIN invoice_plans p ON p.reseller_id = c.reseller_id AND p.name = 'Standard' \
                 WHERE c.reseller_id = $1 AND c.name = ANY($2)), \
             configs AS ( \
                 INSERT INTO invoice_configs (customer_id, reseller_id, enabled, plan_id, updated_at) \
                 SELECT id, reseller_id, true, plan_id, created_at FROM picked RETURNING 1) \
             INSERT INTO invoice_plan_changes (customer_id, reseller_id, plan_id, effective_at) \
             SELECT id, reseller_id, plan_id, created_at FROM picked",
        )
        .bind(reseller_id)
        .bind(&invoiced)
        .execute(&mut *tx)
        .await?;
    }
    // The dashboard's "approaching limits" reads the engine's stored forecast: the demo starts
    // with it, as if the engine had run once.
    crate::jobs::forecast_seat_limits(&mut tx, today).await?;
    tx.commit().await?;
    Ok(())
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn catalogue(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO service_plans (name, edition, is_evaluation, monthly_credits) VALUES \
           ('Essentials', 'Business', false, 500), ('Professional', 'Enterprise', false, 1500), \
           ('Premium', 'Elite', false, 5000), ('Evaluation', 'Elite', true, 200)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO mau_offers (name, mau_delta, term, price_minor) VALUES \
           ('100 MAU, monthly', 100, 'monthly', 9900), ('500 MAU, monthly', 500, 'monthly', 44900), \
           ('1,000 MAU, monthly', 1000, 'monthly', 84900), ('1,000 MAU, annual', 1000, 'annual', 899900), \
           ('5,000 MAU, annual', 5000, 'annual', 3999900)",
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Twelve months of MAU allowance (stepping up twice, with an order for each step) and an
/// invoice plan.
async fn reseller_history(
    tx: &mut PgConnection,
    reseller_id: i64,
    allowance: i32,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let this_month = first_of_month(today);
    sqlx::query(
        "INSERT INTO mau_allowance_history (reseller_id, month, allowance) \
         SELECT $1, ($2::date - make_interval(months => m))::date, \
                CASE WHEN m >= 8 THEN $3 - 1000 WHEN m >= 3 THEN $3 - 500 ELSE $3 END \
         FROM generate_series(0, 11) AS m",
    )
    .bind(reseller_id)
    .bind(this_month)
    .bind(allowance.max(1000))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO mau_orders (reseller_id, offer_id, mau_delta, term, starts_on, ordered_at) \
         SELECT $1, o.id, o.mau_delta, o.term, ($2::date - make_interval(months => m))::date, \
                $3 - make_interval(months => m) \
         FROM (VALUES (7), (2)) AS steps(m) JOIN mau_offers o ON o.name = '500 MAU, monthly'",
    )
    .bind(reseller_id)
    .bind(this_month)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO invoice_plans (reseller_id, name, currency, per_gb_minor, per_client_minor, per_seat_minor, flat_fee_minor) \
         VALUES ($1, 'Standard', 'EUR', 4, 500, 150, 2500)",
    )
    .bind(reseller_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

const SEAT_CONNECTORS: &[(&str, &str, &str)] = &[
    ("m365_user", "Microsoft 365", "microsoft_365"),
    ("google_user", "Google Workspace", "google_workspace"),
    ("salesforce_user", "Salesforce", "salesforce"),
];

const OPERATING_SYSTEMS: &[&str] = &[
    "Windows Server 2022",
    "Windows 11",
    "Ubuntu 24.04",
    "macOS 15",
    "Debian 12",
];

async fn seed_customer(
    tx: &mut PgConnection,
    reseller_id: i64,
    spec: &CustomerSpec,
    rng: &mut Rng,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let today = now.date_naive();
    let slug = slug(spec.name);
    let plan = match rng.between(0, 2) {
        0 => "Essentials",
        1 => "Professional",
        _ => "Premium",
    };
    let evaluation = matches!(spec.scenario, Trial(_));
    let trial_ends_on = match spec.scenario {
        Trial(days) => Some(today + Duration::days(days)),
        _ => None,
    };
    let service_expires_on = match spec.scenario {
        ServiceExpires(days) => Some(today + Duration::days(days)),
        Trial(_) => None,
        _ => Some(today + Duration::days(rng.between(60, 400))),
    };
    let (lifecycle, delete_on) = match spec.scenario {
        ScheduledDeletion(days) => ("scheduled_for_deletion", Some(today + Duration::days(days))),
        _ => ("active", None),
    };
    let quota_gib = rng.between(2, 20) * 100;
    let used = (quota_gib * GIB / 100) * rng.between(20, 85);
    let clients = rng.between(2, 6);
    let mcals_allotted = (rng.between(0, 2) == 0).then_some(clients + rng.between(0, 4));

    let customer_id: i64 = sqlx::query_scalar(
        "INSERT INTO customers (reseller_id, name, legal_name, email, address, city, phone, pass_key_hash, activated, \
             lifecycle, scheduled_for_deletion_at, delete_on, tenant_type, trial_ends_on, service_plan_id, storage_region, \
             service_expires_on, credit_quota, credit_quota_effective_on, space_quota_bytes, used_space_bytes, \
             mcals_allotted, max_clients, auto_authorize, email_reports, max_mau, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 (SELECT id FROM service_plans WHERE name = $15), $16, $17, $18::bigint, $19, $20, $21, $22, $23, $24, $25, $26, $27) \
         RETURNING id",
    )
    .bind(reseller_id)
    .bind(spec.name)
    .bind(format!("{} Ltd.", spec.name))
    .bind(format!("it@{slug}.example"))
    .bind(format!("{} Main Street", rng.between(1, 999)))
    .bind(spec.city)
    .bind(format!("+1 555 01{:02}", rng.between(0, 99)))
    .bind(sha256_hex(&demo_pass_key(spec.name)))
    .bind(spec.scenario != Deactivated)
    .bind(lifecycle)
    .bind(delete_on.map(|_| now - Duration::days(10)))
    .bind(delete_on)
    .bind(if evaluation { "evaluation" } else { "commercial" })
    .bind(trial_ends_on)
    .bind(if evaluation { "Evaluation" } else { plan })
    .bind(["eu-west", "eu-central", "us-east"][rng.between(0, 2) as usize])
    .bind(service_expires_on)
    .bind(rng.between(5, 50) * 100)
    .bind(today - Duration::days(rng.between(30, 300)))
    .bind(quota_gib * GIB)
    .bind(used)
    .bind(mcals_allotted)
    .bind(clients + 4)
    .bind(rng.between(0, 3) > 0)
    .bind(rng.between(0, 1) == 1)
    .bind(rng.between(5, 30) * 100)
    .bind(now - Duration::days(rng.between(100, 700)))
    .fetch_one(&mut *tx)
    .await?;

    // Seats: one or two properties, with usage set by the scenario.
    let properties = 1 + (rng.between(0, 2) == 0) as usize;
    let mut connector_names = Vec::new();
    for (index, (property, label, kind)) in SEAT_CONNECTORS.iter().take(properties).enumerate() {
        let limit = rng.between(3, 30) * 10;
        let (used, over_days, pending) = match spec.scenario {
            OverLimit(days) if index == 0 => (limit + rng.between(3, 25), Some(days), None),
            OverLimitRaiseScheduled(ahead) if index == 0 => {
                (limit + 12, Some(2), Some((limit + 50, today + Duration::days(ahead))))
            }
            Approaching if index == 0 => (limit - rng.between(2, 6), None, None),
            _ => (limit * rng.between(50, 95) / 100, None, None),
        };
        let over_since = over_days.map(|days| now - Duration::days(days) - Duration::hours(2));
        let grace_ends = over_since.map(|since| since + Duration::days(GRACE_DAYS));
        sqlx::query(
            "INSERT INTO seat_limits (reseller_id, customer_id, seat_property, seat_limit, seats_used, pending_limit, \
                                      pending_effective_on, over_limit_since, grace_ends_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(reseller_id)
        .bind(customer_id)
        .bind(property)
        .bind(limit as i32)
        .bind(used as i32)
        .bind(pending.map(|(l, _)| l as i32))
        .bind(pending.map(|(_, on)| on))
        .bind(over_since)
        .bind(grace_ends)
        .execute(&mut *tx)
        .await?;
        // One account per seat in use; most were active this month.
        sqlx::query(
            "INSERT INTO accounts (reseller_id, customer_id, external_id, display_name, seat_property, last_activity_at, created_at) \
             SELECT $1, $2, 'user' || n || '@' || $3 || '.example', 'User ' || n, $4, \
                    CASE WHEN n % 7 = 0 THEN $5 - interval '45 days' ELSE $5 - make_interval(hours => n % 72) END, \
                    $5 - interval '300 days' \
             FROM generate_series(1, $6) AS n",
        )
        .bind(reseller_id)
        .bind(customer_id)
        .bind(&slug)
        .bind(property)
        .bind(now)
        .bind(used as i32)
        .execute(&mut *tx)
        .await?;
        // Daily seat counts for the trend: flat for most, rising for "approaching" and overages.
        let rising = matches!(spec.scenario, Approaching | OverLimit(_) | OverLimitRaiseScheduled(_)) && index == 0;
        sqlx::query(
            "INSERT INTO usage_daily (reseller_id, customer_id, day, seats) \
             SELECT $1, $2, $3::date - d, jsonb_build_object($4::text, greatest(0, $5 - CASE WHEN $6 THEN d / 3 ELSE (d % 5) END)) \
             FROM generate_series(0, 89) AS d \
             ON CONFLICT (customer_id, day) DO UPDATE SET seats = usage_daily.seats || EXCLUDED.seats",
        )
        .bind(reseller_id)
        .bind(customer_id)
        .bind(today)
        .bind(property)
        .bind(used as i32)
        .bind(rising)
        .execute(&mut *tx)
        .await?;
        let connector_name = format!("{label} ({})", spec.name);
        connector_names.push((connector_name, *kind));
    }
    connector_names.push((format!("File server {}", spec.city), "file_server"));

    // Credits and storage for 90 days: storage grows towards today's use.
    sqlx::query(
        "UPDATE usage_daily SET credits_consumed = round((($3 % 17) + 3 + (extract(doy FROM day)::int % 9))::numeric, 2), \
                storage_bytes = greatest(0, $4 - (($5::date - day) * ($4 / 400))) \
         WHERE customer_id = $1 AND reseller_id = $2",
    )
    .bind(customer_id)
    .bind(reseller_id)
    .bind(customer_id as i32)
    .bind(used)
    .bind(today)
    .execute(&mut *tx)
    .await?;

    // Clients: agents on machines.
    sqlx::query(
        "INSERT INTO clients (reseller_id, customer_id, client_key, hostname, os, status, last_seen_at, last_success_at, \
                              used_space_bytes, created_by, created_at) \
         SELECT $1, $2, upper($3) || '-' || lpad(n::text, 3, '0'), $3 || '-ws' || n, ($4::text[])[1 + (n + $2::int) % 5], \
                CASE WHEN n = 1 AND $7 THEN 'offline' ELSE 'online' END, \
                $5 - make_interval(mins => n * 7), $5 - make_interval(hours => n), $6 / $8, \
                CASE WHEN n % 2 = 0 THEN 'auto_authorization' ELSE 'admin' END, $5 - interval '200 days' \
         FROM generate_series(1, $8) AS n",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(&slug)
    .bind(OPERATING_SYSTEMS)
    .bind(now)
    .bind(used)
    .bind(matches!(spec.scenario, Critical(_)))
    .bind(clients as i32)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO client_schedules (reseller_id, customer_id, client_id, name, schedule, reported_at) \
         SELECT reseller_id, customer_id, id, 'Daily files', 'daily at 22:00', $2 FROM clients WHERE customer_id = $1 \
         UNION ALL \
         SELECT reseller_id, customer_id, id, 'Weekly image', 'Sundays at 02:00', $2 FROM clients WHERE customer_id = $1 AND id % 2 = 0",
    )
    .bind(customer_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;

    // Connectors, one of them critical where the scenario says so.
    let grace_ended = matches!(spec.scenario, OverLimit(days) if days >= GRACE_DAYS);
    let blocked_reason =
        "Seat limit exceeded and its grace period has ended: new backups fail until usage is back under the limit.";
    for (index, (name, kind)) in connector_names.iter().enumerate() {
        let (health, reason, since, last_success) = match spec.scenario {
            Critical(reason) if index == 0 => (
                "critical",
                reason,
                now - Duration::hours(rng.between(6, 96)),
                now - Duration::days(4),
            ),
            _ if grace_ended => (
                "critical",
                blocked_reason,
                now - Duration::days(1),
                now - Duration::days(1),
            ),
            Healthy if index == 1 && spec.name == "Contoso" => (
                "warning",
                "The last backup finished with warnings: 3 files were skipped.",
                now - Duration::hours(20),
                now - Duration::hours(20),
            ),
            _ => (
                "healthy",
                "",
                now - Duration::days(30),
                now - Duration::hours(rng.between(1, 20)),
            ),
        };
        sqlx::query(
            "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_reason, health_since, last_success_at, \
                                     last_restore_at, last_restore_status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(reseller_id)
        .bind(customer_id)
        .bind(name)
        .bind(kind)
        .bind(health)
        .bind(reason)
        .bind(since)
        .bind(last_success)
        .bind((index == 0).then(|| now - Duration::days(rng.between(3, 40))))
        .bind((index == 0).then_some(if rng.between(0, 4) == 0 { "failed" } else { "succeeded" }))
        .bind(now - Duration::days(300))
        .execute(&mut *tx)
        .await?;
    }
    if grace_ended {
        sqlx::query("UPDATE customers SET backups_blocked_reason = $2 WHERE id = $1")
            .bind(customer_id)
            .bind(blocked_reason)
            .execute(&mut *tx)
            .await?;
    }

    // 90 days of nightly backup jobs per connector and per client; failures where the source is
    // unhealthy, and the odd failure or warning elsewhere.
    sqlx::query(
        "INSERT INTO backup_jobs (reseller_id, customer_id, connector_id, external_id, started_at, ended_at, status, bytes, error) \
         SELECT k.reseller_id, k.customer_id, k.id, 'seed-k' || k.id || '-' || d, \
                ($3::date - d) + time '22:00' + make_interval(mins => (k.id % 50)::int), \
                ($3::date - d) + time '22:00' + make_interval(mins => (k.id % 50)::int + 20 + (d % 30)), \
                CASE WHEN k.health = 'critical' AND k.last_success_at < ($3::date - d) THEN 'failed' \
                     WHEN (k.id + d) % 23 = 0 THEN 'failed' WHEN (k.id + d) % 11 = 0 THEN 'warning' ELSE 'succeeded' END, \
                (50 + (k.id * 7 + d * 13) % 400)::bigint * 1048576, \
                CASE WHEN k.health = 'critical' AND k.last_success_at < ($3::date - d) THEN k.health_reason ELSE '' END \
         FROM connectors k, generate_series(1, 90) AS d WHERE k.customer_id = $1 AND k.reseller_id = $2",
    )
    .bind(customer_id)
    .bind(reseller_id)
    .bind(today)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO backup_jobs (reseller_id, customer_id, client_id, external_id, started_at, ended_at, status, bytes) \
         SELECT c.reseller_id, c.customer_id, c.id, 'seed-c' || c.id || '-' || d, \
                ($3::date - d) + time '01:00' + make_interval(mins => (c.id % 40)::int), \
                ($3::date - d) + time '01:30' + make_interval(mins => (c.id % 40)::int), \
                CASE WHEN (c.id + d) % 17 = 0 THEN 'failed' WHEN (c.id + d) % 13 = 0 THEN 'warning' ELSE 'succeeded' END, \
                (10 + (c.id * 3 + d * 5) % 90)::bigint * 1048576 \
         FROM clients c, generate_series(1, 90) AS d WHERE c.customer_id = $1 AND c.reseller_id = $2",
    )
    .bind(customer_id)
    .bind(reseller_id)
    .bind(today)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO restore_jobs (reseller_id, customer_id, connector_id, external_id, started_at, ended_at, status, bytes) \
         SELECT k.reseller_id, k.customer_id, k.id, 'seed-r' || k.id || '-' || d, \
                ($2::date - d) + time '10:00', ($2::date - d) + time '10:25', \
                CASE WHEN (k.id + d) % 5 = 0 THEN 'failed' ELSE 'succeeded' END, (5 + d)::bigint * 1048576 \
         FROM connectors k, generate_series(3, 80, 11) AS d WHERE k.customer_id = $1",
    )
    .bind(customer_id)
    .bind(today)
    .execute(&mut *tx)
    .await?;

    // Sites and people.
    let locations = rng.between(1, 3);
    sqlx::query(
        "INSERT INTO locations (reseller_id, customer_id, name, address) \
         SELECT $1, $2, CASE n WHEN 1 THEN 'Head office' WHEN 2 THEN 'Warehouse' ELSE 'Branch ' || n END, \
                n || ' Harbour Road, ' || $3 \
         FROM generate_series(1, $4) AS n",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(spec.city)
    .bind(locations as i32)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO contacts (reseller_id, customer_id, name, email, phone) VALUES \
           ($1, $2, 'Morgan Lee', 'morgan.lee@' || $3 || '.example', '+1 555 0100'), \
           ($1, $2, 'Sam Rivera', 'sam.rivera@' || $3 || '.example', '+1 555 0101')",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(&slug)
    .execute(&mut *tx)
    .await?;

    // Twelve months of MAU; this month's is the count of the activity the accounts' trigger
    // recorded (migration 20261206000003).
    sqlx::query(
        "INSERT INTO mau_monthly (reseller_id, customer_id, month, mau) \
         SELECT $1, $2, (date_trunc('month', $3::date) - make_interval(months => m))::date, \
                CASE WHEN m = 0 THEN (SELECT count(*) FROM account_activity_months a \
                                      WHERE a.customer_id = $2 AND a.month = date_trunc('month', $3::date)::date) \
                     ELSE greatest(0, (SELECT count(*) FROM accounts WHERE customer_id = $2) * (85 - m * 2) / 100) END \
         FROM generate_series(0, 11) AS m",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(today)
    .execute(&mut *tx)
    .await?;

    seed_alerts_and_history(tx, reseller_id, customer_id, spec, now).await?;
    Ok(customer_id)
}

async fn seed_alerts_and_history(
    tx: &mut PgConnection,
    reseller_id: i64,
    customer_id: i64,
    spec: &CustomerSpec,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let alert = |severity: &'static str, kind: &'static str, message: String| (severity, kind, message);
    let mut alerts = Vec::new();
    match spec.scenario {
        Critical(reason) => alerts.push(alert(
            "critical",
            "connector_critical",
            format!("{}: {reason}", spec.name),
        )),
        OverLimit(days) if days >= GRACE_DAYS => alerts.push(alert(
            "critical",
            "grace_period_ended",
            format!("{}: seat grace period ended; new backups are refused.", spec.name),
        )),
        OverLimit(_) | OverLimitRaiseScheduled(_) => alerts.push(alert(
            "warning",
            "seat_limit_exceeded",
            format!(
                "{}: seat usage is over its limit; the grace period is running.",
                spec.name
            ),
        )),
        ServiceExpires(days) if days <= 30 => alerts.push(alert(
            "info",
            "service_expiring",
            format!("{}: the service expires in {days} days.", spec.name),
        )),
        Trial(days) if days <= 30 => alerts.push(alert(
            "info",
            "trial_ending",
            format!("{}: the evaluation ends in {days} days.", spec.name),
        )),
        _ => {}
    }
    for (severity, kind, message) in alerts {
        sqlx::query(
            "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
             VALUES ($1, $2, $3, $4, 'customer:' || $2, $5, $6)",
        )
        .bind(reseller_id)
        .bind(customer_id)
        .bind(severity)
        .bind(kind)
        .bind(message)
        .bind(now - Duration::hours(5))
        .execute(&mut *tx)
        .await?;
    }
    // A resolved alert from last month, so history is not empty.
    sqlx::query(
        "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at, resolved_at) \
         VALUES ($1, $2, 'warning', 'source_stale', 'customer:' || $2 || ':old', $3, $4, $5)",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(format!(
        "{}: a data source had no successful backup for 30 hours.",
        spec.name
    ))
    .bind(now - Duration::days(33))
    .bind(now - Duration::days(32))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO deleted_items (reseller_id, customer_id, customer_name, item_kind, item_name, size_bytes, \
                                    deleted_by_kind, deleted_by_name, deleted_at) \
         VALUES ($1, $2, $3, 'backup', 'Backup set of a retired laptop', 3221225472, 'admin', 'Reseller admin', $4)",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(spec.name)
    .bind(now - Duration::days(12))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert_eq!(slug("Margie's Travel"), "margie-s-travel");
        assert_eq!(slug("City Power & Light"), "city-power-light");
        assert_eq!(slug("A. Datum Corporation"), "a-datum-corporation");
    }

    #[test]
    fn the_generator_is_deterministic_and_stays_in_range() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        for _ in 0..1000 {
            let x = a.between(3, 9);
            assert_eq!(x, b.between(3, 9));
            assert!((3..=9).contains(&x));
        }
    }

    #[test]
    fn the_demo_has_about_forty_customers_with_unique_names() {
        let names: Vec<&str> = RESELLERS
            .iter()
            .flat_map(|r| r.customers.iter().map(|c| c.name))
            .collect();
        assert!((38..=42).contains(&names.len()), "{} customers", names.len());
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }
}
