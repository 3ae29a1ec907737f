//! Figures and rows of the partner dashboard: the KPI header and the four tabs.
//!
//! Every query is filtered by reseller (the scope's own, or the operator's chosen one) and bounded:
//! one query for the KPI header and one for the rows of the open tab, whatever the data size.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Tx, by_reseller, filter, like_pattern};
use crate::paging::{Cursor, Page, Sort};

/// The KPI header: what a reseller (or, for the operator, every reseller) has against its allowances,
/// and how many rows each tab holds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Kpis {
    pub customers: i64,
    pub max_customers: i64,
    pub accounts: i64,
    pub max_accounts: i64,
    pub locations: i64,
    pub critical_connectors: i64,
    pub expiring_soon: i64,
    pub exceeding_usage: i64,
    pub approaching_limits: i64,
    /// When the engine last ran (its seat forecasts are behind "approaching limits"; None: never).
    pub as_of: Option<DateTime<Utc>>,
}

/// What a tab's rows are filtered and ordered by.
#[derive(Debug, Clone)]
pub struct TabQuery {
    /// The reseller whose customers are shown; None = every reseller (operator only).
    pub reseller: Option<i64>,
    /// Case-insensitive part of a customer's (or connector's) name.
    pub search: String,
    pub sort: Sort,
    pub after: Option<Cursor>,
    pub today: NaiveDate,
    pub window_days: i32,
}

/// The reseller a query is limited to: the scope's own always wins over a filter.
fn reseller_of(tx: &Tx, filter: Option<i64>) -> Option<i64> {
    tx.scope().reseller_id().or(filter)
}

/// The pattern of a tab's name search (`condition`, which reads it as `param`), or none: without a
/// search the condition is left out of the SQL rather than matched against `%%` on every row, which
/// also kept PostgreSQL planning each execution anew.
fn name_search(search: &str, condition: &str, param: &str) -> (String, Option<String>) {
    let searching = !search.trim().is_empty();
    (
        filter(searching, condition, param),
        searching.then(|| like_pattern(search)),
    )
}

// The predicates behind each tab, shared by the KPI counts and the tab rows so the two agree.

/// One kind of row of the expiring tab: its name, its place in a row's key (`id * 4 + order`), the
/// date it is about and which customers have it (besides not being the default customer).
struct ExpiringKind {
    kind: &'static str,
    order: i64,
    date: &'static str,
    condition: &'static str,
}

const EXPIRING_KINDS: [ExpiringKind; 3] = [
    ExpiringKind {
        kind: "scheduled_deletion",
        order: 0,
        date: "delete_on",
        condition: "c.lifecycle = 'scheduled_for_deletion'",
    },
    ExpiringKind {
        kind: "trial_ending",
        order: 1,
        date: "trial_ends_on",
        condition: "c.lifecycle = 'active' AND c.tenant_type = 'evaluation' AND c.trial_ends_on <= $2::date + $3::int",
    },
    ExpiringKind {
        kind: "service_expiring",
        order: 2,
        date: "service_expires_on",
        condition: "c.lifecycle = 'active' AND c.service_expires_on <= $2::date + $3::int",
    },
];

/// The UNION ALL of one `SELECT … FROM customers c WHERE <kind's customers>` per kind, each
/// written by `branch` from the kind and that WHERE clause.
fn expiring_branches(reseller: Option<i64>, branch: impl Fn(&ExpiringKind, &str) -> String) -> String {
    let of_reseller = by_reseller(reseller, "c.reseller_id");
    EXPIRING_KINDS
        .iter()
        .map(|k| branch(k, &format!("{} AND NOT c.is_default AND {of_reseller}", k.condition)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Every row of the expiring tab, unordered.
fn expiring_union(reseller: Option<i64>) -> String {
    expiring_branches(reseller, |k, matching| {
        format!(
            "SELECT c.id AS customer_id, c.reseller_id, c.name, c.email, '{kind}' AS kind, c.{date} AS ends_on, \
                    {order} AS kind_order \
             FROM customers c WHERE {matching}",
            kind = k.kind,
            date = k.date,
            order = k.order,
        )
    })
}

/// The expiring tab's customers, their ids only: the header of an admin limited to chosen customers
/// counts them live, from the covering partial indexes alone (`customers_reseller_*_ids`); a whole
/// reseller's header reads `reseller_endings` instead.
fn expiring_ids(reseller: Option<i64>) -> String {
    expiring_branches(reseller, |_, matching| {
        format!("SELECT c.id FROM customers c WHERE {matching}")
    })
}

/// The customer of a row, if it is not deleted, looked up by its key for each row. `OFFSET 0`
/// keeps PostgreSQL from flattening it into a join: it overestimates how many seat limits are
/// exceeded (a comparison of two columns) and would then hash every customer of every reseller
/// (90 ms) instead of looking up the few hundred it needs (2 ms, largest reseller).
fn live_customer(row: &str) -> String {
    format!(
        "JOIN LATERAL (SELECT c.id, c.name, c.email, c.lifecycle FROM customers c \
         WHERE c.id = {row}.customer_id AND c.lifecycle <> 'deleted' OFFSET 0) c ON true"
    )
}

/// KPIs of the scope's reseller, of `reseller_filter` (operator), or of all resellers.
pub async fn kpis(
    tx: &mut Tx,
    reseller_filter: Option<i64>,
    today: NaiveDate,
    window_days: i32,
) -> Result<Kpis, sqlx::Error> {
    let reseller = reseller_of(tx, reseller_filter);
    let customers = by_reseller(reseller, "c.reseller_id");
    // The roll-ups (reseller_counts and reseller_endings, kept by triggers) count a whole reseller;
    // an admin limited to chosen customers counts its own, live. Each case gets its own
    // SQL rather than a CASE over both: PostgreSQL sets up every subquery of a plan on each
    // execution, run or not, and for this header that setup cost more than the counting.
    let counts = if tx.access().customers.is_some() {
        format!(
            "SELECT (SELECT count(*) FROM customers c WHERE {customers} AND c.lifecycle <> 'deleted' AND NOT c.is_default) AS customers, \
                    (SELECT count(*) FROM accounts a WHERE {a_reseller}) AS accounts, \
                    (SELECT count(*) FROM locations l WHERE {l_reseller}) AS locations, \
                    (SELECT count(*) FROM connectors k {k_customer} WHERE {k_reseller} AND k.health = 'critical') \
                      AS critical_connectors, \
                    (SELECT count(*) FROM seat_limits s {s_customer} WHERE {s_reseller} AND s.seats_used > s.seat_limit) \
                      AS exceeded_seat_limits, \
                    (SELECT count(*) FROM ({expiring}) e) AS expiring_soon, \
                    (SELECT count(*) FROM seat_limits s \
                     WHERE {s_reseller} AND {APPROACHING_SEATS} \
                       AND EXISTS (SELECT FROM customers c WHERE c.id = s.customer_id AND c.lifecycle = 'active')) \
                      AS approaching_limits",
            a_reseller = by_reseller(reseller, "a.reseller_id"),
            l_reseller = by_reseller(reseller, "l.reseller_id"),
            k_reseller = by_reseller(reseller, "k.reseller_id"),
            s_reseller = by_reseller(reseller, "s.reseller_id"),
            k_customer = live_customer("k"),
            s_customer = live_customer("s"),
            expiring = expiring_ids(reseller),
        )
    } else {
        // The expiring count from `reseller_endings`: the days up to the window's end, scheduled
        // deletions on -infinity among them (migration 20261201960001).
        format!(
            "SELECT coalesce(sum(n.customers), 0)::bigint AS customers, coalesce(sum(n.accounts), 0)::bigint AS accounts, \
                    coalesce(sum(n.locations), 0)::bigint AS locations, \
                    coalesce(sum(n.critical_connectors), 0)::bigint AS critical_connectors, \
                    coalesce(sum(n.exceeded_seat_limits), 0)::bigint AS exceeded_seat_limits, \
                    (SELECT coalesce(sum(e.customers), 0)::bigint FROM reseller_endings e \
                     WHERE {e_reseller} AND e.ends_on <= $2::date + $3::int) AS expiring_soon, \
                    coalesce(sum(n.approaching_seat_limits), 0)::bigint AS approaching_limits \
             FROM reseller_counts n WHERE {n_reseller}",
            n_reseller = by_reseller(reseller, "n.reseller_id"),
            e_reseller = by_reseller(reseller, "e.reseller_id"),
        )
    };
    let sql = format!(
        "SELECT n.customers, r.max_customers, n.accounts, r.max_accounts, n.locations, n.critical_connectors, \
                n.expiring_soon, n.exceeded_seat_limits AS exceeding_usage, n.approaching_limits, \
                (SELECT max(last_success_at) FROM engine_steps) AS as_of \
         FROM ({counts}) n, \
              (SELECT coalesce(sum(r.max_customers), 0)::bigint AS max_customers, \
                      coalesce(sum(r.max_accounts), 0)::bigint AS max_accounts \
               FROM resellers r WHERE {r_id} AND NOT r.is_default) r",
        r_id = by_reseller(reseller, "r.id"),
    );
    sqlx::query_as::<_, Kpis>(&sql)
        .bind(reseller)
        .bind(today)
        .bind(window_days)
        .fetch_one(&mut **tx)
        .await
}

/// A sortable column: the SQL expression (a constant, never user input) and its type for the
/// keyset comparison.
struct SortColumn {
    key: &'static str,
    expr: &'static str,
    sql_type: &'static str,
}

fn sort_column(columns: &'static [SortColumn], sort: &Sort) -> &'static SortColumn {
    columns.iter().find(|c| c.key == sort.key).unwrap_or(&columns[0])
}

/// `(ORDER BY, keyset WHERE)` for a sort column, the row's unique key and the cursor's parameters.
fn keyset(column: &SortColumn, row_key: &str, sort: &Sort, key_param: usize, id_param: usize) -> (String, String) {
    let (dir, op) = if sort.descending { ("DESC", "<") } else { ("ASC", ">") };
    let order = format!("{} {dir}, {row_key} {dir}", column.expr);
    let after = format!(
        "({}, {row_key}) {op} (${key_param}::{}, ${id_param}::bigint)",
        column.expr, column.sql_type
    );
    (order, after)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CriticalRow {
    pub connector_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub email: String,
    pub reseller_name: String,
    pub connector_name: String,
    pub kind: String,
    pub reason: String,
    pub since: DateTime<Utc>,
    pub sort_key: String,
}

pub const CRITICAL_SORTS: &[&str] = &["customer", "connector", "since"];
const CRITICAL_COLUMNS: &[SortColumn] = &[
    // The customer's sort name as the connector keeps it (migration 20261201950005): the same
    // value as lower(c.name), read in order off `connectors_reseller_critical_by_customer`.
    SortColumn {
        key: "customer",
        expr: "k.customer_sort_name",
        sql_type: "text",
    },
    SortColumn {
        key: "connector",
        expr: "lower(k.name)",
        sql_type: "text",
    },
    SortColumn {
        key: "since",
        expr: "k.health_since",
        sql_type: "timestamptz",
    },
];

/// Connectors in critical state across the reseller's customers.
pub async fn critical(tx: &mut Tx, query: &TabQuery, limit: i64) -> Result<Page<CriticalRow>, sqlx::Error> {
    let reseller = reseller_of(tx, query.reseller);
    let column = sort_column(CRITICAL_COLUMNS, &query.sort);
    let (order, after) = keyset(column, "k.id", &query.sort, 3, 4);
    let (search, pattern) = name_search(&query.search, "(c.name ILIKE $2 OR k.name ILIKE $2)", "$2::text");
    let sql = format!(
        "SELECT k.id AS connector_id, c.id AS customer_id, c.name AS customer_name, c.email, r.name AS reseller_name, \
                k.name AS connector_name, k.kind, k.health_reason AS reason, k.health_since AS since, ({expr})::text AS sort_key \
         FROM connectors k {customer} JOIN resellers r ON r.id = k.reseller_id \
         WHERE k.health = 'critical' AND {of_reseller} \
           AND {search} AND {after} \
         ORDER BY {order} LIMIT $5",
        expr = column.expr,
        customer = live_customer("k"),
        of_reseller = by_reseller(reseller, "k.reseller_id"),
        after = filter(query.after.is_some(), &after, "$3::text"),
    );
    let rows = sqlx::query_as::<_, CriticalRow>(&sql)
        .bind(reseller)
        .bind(pattern)
        .bind(query.after.as_ref().map(|c| c.key.clone()))
        .bind(query.after.as_ref().map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(&mut **tx)
        .await?;
    Ok(Page::of(rows, limit, |r| Cursor {
        key: r.sort_key.clone(),
        id: r.connector_id,
    }))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExpiringRow {
    pub customer_id: i64,
    pub name: String,
    pub email: String,
    pub reseller_name: String,
    pub kind: String,
    pub ends_on: NaiveDate,
    /// Unique per row (a customer can be both an ending trial and an expiring service).
    pub row_key: i64,
    pub sort_key: String,
}

pub const EXPIRING_SORTS: &[&str] = &["date", "customer", "kind"];
const EXPIRING_COLUMNS: &[SortColumn] = &[
    SortColumn {
        key: "date",
        expr: "e.ends_on",
        sql_type: "date",
    },
    SortColumn {
        key: "customer",
        expr: "lower(e.name)",
        sql_type: "text",
    },
    SortColumn {
        key: "kind",
        expr: "e.kind_order",
        sql_type: "int",
    },
];

/// The expiring tab in its default order (soonest first), each kind read off its own index in that
/// order (`customers_reseller_*_ids`: reseller, date, id) and cut at the page's length before the
/// three are merged, instead of reading and sorting every expiring customer of the reseller (1,559
/// for the largest) on every page. A row's key is `id * 4 + kind`, so ordering by (date, key) is
/// ordering by (date, id, kind), and a cursor (date, key) is the cursor (date, (key - kind) / 4) of
/// each kind's index: `id * 4 + kind > key` holds exactly when `id > (key - kind) / 4` (integer
/// division; for a negative `key - kind` both hold for every id). `search` is the name search's SQL
/// condition ([`name_search`]); parameters as in [`expiring`].
fn expiring_by_date(reseller: Option<i64>, search: &str, after: bool) -> String {
    let kinds = expiring_branches(reseller, |k, matching| {
        let after = filter(
            after,
            &format!(
                "(c.{date}, c.id) > ($5::date, ($6::bigint - {order}) / 4)",
                date = k.date,
                order = k.order
            ),
            "$5::text",
        );
        format!(
            "(SELECT c.id AS customer_id, c.reseller_id, c.name, c.email, '{kind}' AS kind, c.{date} AS ends_on, \
                     c.id * 4 + {order} AS row_key \
              FROM customers c WHERE {matching} AND {search} AND {after} \
              ORDER BY c.{date}, c.id LIMIT $7)",
            kind = k.kind,
            date = k.date,
            order = k.order,
        )
    });
    format!(
        "SELECT e.customer_id, e.name, e.email, r.name AS reseller_name, e.kind, e.ends_on, e.row_key, \
                e.ends_on::text AS sort_key \
         FROM ({kinds}) e JOIN resellers r ON r.id = e.reseller_id \
         ORDER BY e.ends_on, e.row_key LIMIT $7"
    )
}

/// Customers scheduled for deletion, evaluations ending and services expiring within the window.
pub async fn expiring(tx: &mut Tx, query: &TabQuery, limit: i64) -> Result<Page<ExpiringRow>, sqlx::Error> {
    let reseller = reseller_of(tx, query.reseller);
    let column = sort_column(EXPIRING_COLUMNS, &query.sort);
    let row_key = "(e.customer_id * 4 + e.kind_order)";
    let (order, after) = keyset(column, row_key, &query.sort, 5, 6);
    let (sql, pattern) = if column.key == "date" && !query.sort.descending {
        let (search, pattern) = name_search(&query.search, "c.name ILIKE $4", "$4::text");
        (expiring_by_date(reseller, &search, query.after.is_some()), pattern)
    } else {
        let (search, pattern) = name_search(&query.search, "e.name ILIKE $4", "$4::text");
        let sql = format!(
            "SELECT e.customer_id, e.name, e.email, r.name AS reseller_name, e.kind, e.ends_on, {row_key} AS row_key, \
                    ({expr})::text AS sort_key \
             FROM ({expiring}) e JOIN resellers r ON r.id = e.reseller_id \
             WHERE {search} AND {after} \
             ORDER BY {order} LIMIT $7",
            expr = column.expr,
            expiring = expiring_union(reseller),
            after = filter(query.after.is_some(), &after, "$5::text"),
        );
        (sql, pattern)
    };
    let rows = sqlx::query_as::<_, ExpiringRow>(&sql)
        .bind(reseller)
        .bind(query.today)
        .bind(query.window_days)
        .bind(pattern)
        .bind(query.after.as_ref().map(|c| c.key.clone()))
        .bind(query.after.as_ref().map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(&mut **tx)
        .await?;
    Ok(Page::of(rows, limit, |r| Cursor {
        key: r.sort_key.clone(),
        id: r.row_key,
    }))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExceedingRow {
    pub customer_id: i64,
    pub name: String,
    pub email: String,
    pub reseller_name: String,
    pub seat_property: String,
    pub seats_used: i32,
    pub seat_limit: i32,
    pub pending_limit: Option<i32>,
    pub pending_effective_on: Option<NaiveDate>,
    pub grace_ends_at: Option<DateTime<Utc>>,
    pub row_key: i64,
    pub sort_key: String,
}

pub const EXCEEDING_SORTS: &[&str] = &["grace", "customer", "overage"];
const EXCEEDING_COLUMNS: &[SortColumn] = &[
    SortColumn {
        key: "grace",
        expr: "coalesce(s.grace_ends_at, 'infinity'::timestamptz)",
        sql_type: "timestamptz",
    },
    SortColumn {
        key: "customer",
        expr: "lower(c.name)",
        sql_type: "text",
    },
    SortColumn {
        key: "overage",
        expr: "(s.seats_used - s.seat_limit)",
        sql_type: "int",
    },
];

/// The row key of a seat limit: its customer and property, as one number. The indexes that serve
/// the tabs' default order (migration `20261201900001`) repeat this expression and must match it.
const SEAT_ROW_KEY: &str = "(s.customer_id * 4 + CASE s.seat_property WHEN 'm365_user' THEN 0 \
     WHEN 'google_user' THEN 1 WHEN 'salesforce_user' THEN 2 ELSE 3 END)";

/// Seat limits whose usage is over the limit.
pub async fn exceeding(tx: &mut Tx, query: &TabQuery, limit: i64) -> Result<Page<ExceedingRow>, sqlx::Error> {
    let reseller = reseller_of(tx, query.reseller);
    let column = sort_column(EXCEEDING_COLUMNS, &query.sort);
    let (order, after) = keyset(column, SEAT_ROW_KEY, &query.sort, 3, 4);
    let (search, pattern) = name_search(&query.search, "c.name ILIKE $2", "$2::text");
    let sql = format!(
        "SELECT c.id AS customer_id, c.name, c.email, r.name AS reseller_name, s.seat_property, s.seats_used, s.seat_limit, \
                s.pending_limit, s.pending_effective_on, s.grace_ends_at, {SEAT_ROW_KEY} AS row_key, ({expr})::text AS sort_key \
         FROM seat_limits s {customer} JOIN resellers r ON r.id = s.reseller_id \
         WHERE s.seats_used > s.seat_limit AND {of_reseller} \
           AND {search} AND {after} \
         ORDER BY {order} LIMIT $5",
        expr = column.expr,
        customer = live_customer("s"),
        of_reseller = by_reseller(reseller, "s.reseller_id"),
        after = filter(query.after.is_some(), &after, "$3::text"),
    );
    let rows = sqlx::query_as::<_, ExceedingRow>(&sql)
        .bind(reseller)
        .bind(pattern)
        .bind(query.after.as_ref().map(|c| c.key.clone()))
        .bind(query.after.as_ref().map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(&mut **tx)
        .await?;
    Ok(Page::of(rows, limit, |r| Cursor {
        key: r.sort_key.clone(),
        id: r.row_key,
    }))
}

/// A seat limit not yet exceeded that the engine forecasts to be exceeded within the horizon.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApproachingRow {
    pub customer_id: i64,
    pub name: String,
    pub email: String,
    pub reseller_name: String,
    pub seat_property: String,
    pub seats_used: i32,
    pub seat_limit: i32,
    /// Whole days until usage passes the limit at its recent trend (as of the engine's last forecast).
    pub days: i32,
    pub row_key: i64,
    pub sort_key: String,
}

pub const APPROACHING_SORTS: &[&str] = &["days", "customer"];
const APPROACHING_COLUMNS: &[SortColumn] = &[
    SortColumn {
        key: "days",
        expr: "s.over_limit_in_days",
        sql_type: "int",
    },
    SortColumn {
        key: "customer",
        expr: "lower(c.name)",
        sql_type: "text",
    },
];

/// Seat limits forecast to be exceeded and not exceeded yet, of active customers: the KPI header
/// counts them (probing each customer in the index `customers_active_ids` alone), the tab lists
/// them with their customer's row. The forecast is the engine's (`jobs::steps`); usage and the
/// limit are read live, so a limit raised since drops the row at once.
const APPROACHING_SEATS: &str = "s.over_limit_in_days IS NOT NULL AND s.seats_used <= s.seat_limit";

/// Seat limits forecast to be exceeded within the horizon.
pub async fn approaching(tx: &mut Tx, query: &TabQuery, limit: i64) -> Result<Page<ApproachingRow>, sqlx::Error> {
    let reseller = reseller_of(tx, query.reseller);
    let column = sort_column(APPROACHING_COLUMNS, &query.sort);
    let (order, after) = keyset(column, SEAT_ROW_KEY, &query.sort, 3, 4);
    let (search, pattern) = name_search(&query.search, "c.name ILIKE $2", "$2::text");
    let sql = format!(
        "SELECT c.id AS customer_id, c.name, c.email, r.name AS reseller_name, s.seat_property, s.seats_used, s.seat_limit, \
                s.over_limit_in_days AS days, {SEAT_ROW_KEY} AS row_key, ({expr})::text AS sort_key \
         FROM seat_limits s {customer} JOIN resellers r ON r.id = s.reseller_id \
         WHERE {APPROACHING_SEATS} AND c.lifecycle = 'active' AND {of_reseller} \
           AND {search} AND {after} \
         ORDER BY {order} LIMIT $5",
        expr = column.expr,
        customer = live_customer("s"),
        of_reseller = by_reseller(reseller, "s.reseller_id"),
        after = filter(query.after.is_some(), &after, "$3::text"),
    );
    let rows = sqlx::query_as::<_, ApproachingRow>(&sql)
        .bind(reseller)
        .bind(pattern)
        .bind(query.after.as_ref().map(|c| c.key.clone()))
        .bind(query.after.as_ref().map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(&mut **tx)
        .await?;
    Ok(Page::of(rows, limit, |r| Cursor {
        key: r.sort_key.clone(),
        id: r.row_key,
    }))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerOption {
    pub id: i64,
    pub name: String,
}

/// Resellers the scope can see, for the operator's reseller filter.
pub async fn reseller_options(tx: &mut Tx) -> Result<Vec<ResellerOption>, sqlx::Error> {
    sqlx::query_as::<_, ResellerOption>("SELECT id, name FROM resellers ORDER BY is_default, lower(name)")
        .fetch_all(&mut **tx)
        .await
}
