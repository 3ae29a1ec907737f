//! A reseller's MAU licence: monthly MAU against the allowance, the allowance's history, MAU
//! orders and extending the allowance with an offer.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Tx, like_pattern};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerLicense {
    pub id: i64,
    pub name: String,
    pub mau_allowance: i32,
}

/// The reseller if the scope may see it (never the built-in default reseller).
pub async fn reseller(tx: &mut Tx, reseller_id: i64) -> Result<Option<ResellerLicense>, sqlx::Error> {
    let own = tx.scope().reseller_id();
    sqlx::query_as::<_, ResellerLicense>(
        "SELECT id, name, mau_allowance FROM resellers \
         WHERE id = $1 AND ($2::bigint IS NULL OR id = $2) AND NOT is_default",
    )
    .bind(reseller_id)
    .bind(own)
    .fetch_optional(&mut **tx)
    .await
}

/// The licence page's head in one statement: the reseller (if the scope may see it, never the
/// built-in default one) with its [`totals`] and every MAU order, newest first, as JSON columns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LicenseOverview {
    #[sqlx(flatten)]
    pub reseller: ResellerLicense,
    #[sqlx(json)]
    pub totals: Vec<MonthTotals>,
    #[sqlx(json)]
    pub orders: Vec<OrderRow>,
}

pub async fn overview(
    tx: &mut Tx,
    reseller_id: i64,
    search: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<LicenseOverview>, sqlx::Error> {
    let own = tx.scope().reseller_id();
    let sql = format!(
        "SELECT r.id, r.name, r.mau_allowance, \
                (SELECT json_agg(t ORDER BY t.month) FROM ({totals}) t) AS totals, \
                (SELECT coalesce(json_agg(o ORDER BY o.ordered_at DESC, o.id DESC), '[]') FROM ({ORDERS}) o) AS orders \
         FROM resellers r WHERE r.id = $1 AND ($6::bigint IS NULL OR r.id = $6) AND NOT r.is_default",
        totals = totals_sql(search),
    );
    sqlx::query_as::<_, LicenseOverview>(&sql)
        .bind(reseller_id)
        .bind(search)
        .bind(like_pattern(search))
        .bind(from)
        .bind(to)
        .bind(own)
        .fetch_optional(&mut **tx)
        .await
}

/// One month of the reseller's licence: MAU (all customers, or one), and the allowance recorded
/// for that month, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MonthFigures {
    pub month: NaiveDate,
    pub mau: i64,
    pub allowance: Option<i32>,
}

/// `from..=to` month by month (gaps are zero MAU) for one customer, through its primary key.
pub async fn monthly(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<MonthFigures>, sqlx::Error> {
    sqlx::query_as::<_, MonthFigures>(
        "SELECT g.month::date AS month, coalesce(m.mau, 0)::bigint AS mau, h.allowance \
         FROM generate_series($3::date, $4::date, interval '1 month') AS g(month) \
         LEFT JOIN mau_monthly m ON m.customer_id = $2 AND m.month = g.month::date AND m.reseller_id = $1 \
         LEFT JOIN mau_allowance_history h ON h.reseller_id = $1 AND h.month = g.month::date \
         ORDER BY g.month",
    )
    .bind(reseller_id)
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct OrderRow {
    pub id: i64,
    pub offer_name: String,
    pub mau_delta: i32,
    pub term: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub ordered_by: Option<String>,
    pub ordered_at: DateTime<Utc>,
}

/// Every order of reseller $1.
const ORDERS: &str = "SELECT o.id, f.name AS offer_name, o.mau_delta, o.term, o.starts_on, o.ends_on, \
        nullif(coalesce(nullif(u.display_name, ''), u.username), '') AS ordered_by, o.ordered_at \
    FROM mau_orders o JOIN mau_offers f ON f.id = o.offer_id LEFT JOIN users u ON u.id = o.ordered_by \
    WHERE o.reseller_id = $1";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Offer {
    pub id: i64,
    pub name: String,
    pub mau_delta: i32,
    pub term: String,
    pub price_minor: i64,
    pub currency: String,
}

impl Offer {
    /// "449.00 EUR".
    pub fn price(&self) -> String {
        format!(
            "{}.{:02} {}",
            self.price_minor / 100,
            self.price_minor % 100,
            self.currency
        )
    }
}

pub async fn offers(tx: &mut Tx) -> Result<Vec<Offer>, sqlx::Error> {
    sqlx::query_as::<_, Offer>(
        "SELECT id, name, mau_delta, term, price_minor, currency FROM mau_offers ORDER BY term DESC, mau_delta, id",
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn offer(tx: &mut Tx, offer_id: i64) -> Result<Option<Offer>, sqlx::Error> {
    sqlx::query_as::<_, Offer>("SELECT id, name, mau_delta, term, price_minor, currency FROM mau_offers WHERE id = $1")
        .bind(offer_id)
        .fetch_optional(&mut **tx)
        .await
}

pub struct Extension<'a> {
    pub reseller_id: i64,
    pub offer: &'a Offer,
    pub ordered_by: i64,
    pub now: DateTime<Utc>,
    /// The first day of the current month: the order counts from it.
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

/// Records the order, raises the allowance and this month's history row. Returns the allowance
/// before and after. Run it in the transaction that also audits it.
pub async fn extend(tx: &mut Tx, extension: Extension<'_>) -> Result<(i32, i32), sqlx::Error> {
    let before: i32 = sqlx::query_scalar("SELECT mau_allowance FROM resellers WHERE id = $1 FOR UPDATE")
        .bind(extension.reseller_id)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO mau_orders (reseller_id, offer_id, mau_delta, term, starts_on, ends_on, ordered_by, ordered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(extension.reseller_id)
    .bind(extension.offer.id)
    .bind(extension.offer.mau_delta)
    .bind(&extension.offer.term)
    .bind(extension.starts_on)
    .bind(extension.ends_on)
    .bind(extension.ordered_by)
    .bind(extension.now)
    .execute(&mut **tx)
    .await?;
    let after: i32 = sqlx::query_scalar(
        "UPDATE resellers SET mau_allowance = mau_allowance + $2 WHERE id = $1 RETURNING mau_allowance",
    )
    .bind(extension.reseller_id)
    .bind(extension.offer.mau_delta)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO mau_allowance_history (reseller_id, month, allowance) VALUES ($1, $2, $3) \
         ON CONFLICT (reseller_id, month) DO UPDATE SET allowance = EXCLUDED.allowance",
    )
    .bind(extension.reseller_id)
    .bind(extension.starts_on)
    .bind(after)
    .execute(&mut **tx)
    .await?;
    Ok((before, after))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerOption {
    pub id: i64,
    pub name: String,
}

/// One organization of the reseller (listed: neither deleted nor the built-in default), or none.
pub async fn customer(tx: &mut Tx, reseller_id: i64, customer_id: i64) -> Result<Option<CustomerOption>, sqlx::Error> {
    sqlx::query_as::<_, CustomerOption>(
        "SELECT id, name FROM customers \
         WHERE id = $1 AND reseller_id = $2 AND NOT is_default AND lifecycle <> 'deleted'",
    )
    .bind(customer_id)
    .bind(reseller_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Which organizations the per-organization table lists, from where, and which months of each.
pub struct OrganizationFilter<'a> {
    pub reseller_id: i64,
    /// Part of the name, any case; empty: every organization.
    pub search: &'a str,
    /// Keyset position: (lower-cased name, id) of the last row already shown.
    pub after: Option<(&'a str, i64)>,
    pub limit: i64,
    /// The first and last month of each organization's MAU.
    pub months: (NaiveDate, NaiveDate),
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganizationEntry {
    pub id: i64,
    pub name: String,
    /// The row's sort key, for the next page's cursor.
    pub sort_key: String,
    /// The filter's months that have a MAU row, and their MAU at the same positions.
    pub months: Vec<NaiveDate>,
    pub mau: Vec<i32>,
}

impl OrganizationEntry {
    /// The MAU recorded for `month` (0 when none was).
    pub fn mau_of(&self, month: NaiveDate) -> i64 {
        self.months
            .iter()
            .position(|m| *m == month)
            .and_then(|at| self.mau.get(at))
            .map_or(0, |mau| i64::from(*mau))
    }
}

/// Up to `limit` organizations in name order after the cursor, each with its MAU per month: the
/// walk follows `customers_reseller_sort_name`, so a page costs the same wherever it is in the
/// list, and each organization's months are read through `mau_monthly`'s primary key.
pub async fn organizations(
    tx: &mut Tx,
    filter: &OrganizationFilter<'_>,
) -> Result<Vec<OrganizationEntry>, sqlx::Error> {
    // `reseller_id + 0` keeps the tenant filter out of index matching: under a generic plan
    // PostgreSQL otherwise walked all of the reseller's MAU rows by `mau_monthly_reseller_month_mau`
    // and tested each against the organizations (1.8 s for a chunk of 1,000 organizations of the
    // largest reseller) instead of looking each up by primary key (6 ms).
    // Months and MAU come as two arrays of one aggregate: as JSON objects built per MAU row the
    // statement cost more than the two it replaced (pgbench: 1,800 against 2,400 pages/s; as
    // arrays 2,480).
    // The page's organizations are picked first (LIMIT inside), and one SQL text per combination
    // of search and cursor (store::filter): with both spelled `($2 = '' OR …)` in one text, the
    // cached generic plan guessed one organization, sorted all 19,805 of the largest reseller and
    // read each one's months before keeping 51 (155 ms a page, against 1.3 ms).
    let searched = super::filter(
        !filter.search.trim().is_empty(),
        "name ILIKE $3",
        "nullif($2::text, '')",
    );
    let after = super::filter(filter.after.is_some(), "(sort_name, id) > ($4::text, $5)", "$4::text");
    sqlx::query_as::<_, OrganizationEntry>(&format!(
        "SELECT c.id, c.name, c.sort_key, coalesce(m.months, '{{}}') AS months, coalesce(m.mau, '{{}}') AS mau \
         FROM (SELECT id, name, sort_name AS sort_key FROM customers \
               WHERE reseller_id = $1 AND lifecycle <> 'deleted' AND NOT is_default AND {searched} AND {after} \
               ORDER BY sort_name, id LIMIT $6) c \
         LEFT JOIN LATERAL ( \
             SELECT array_agg(month) AS months, array_agg(mau) AS mau FROM mau_monthly \
             WHERE customer_id = c.id AND month BETWEEN $7 AND $8 AND reseller_id + 0 = $1) m ON true \
         ORDER BY c.sort_key, c.id"
    ))
    .bind(filter.reseller_id)
    // Trimmed as the choice of filter above: blanks alone are no search.
    .bind(filter.search.trim())
    .bind(like_pattern(filter.search))
    .bind(filter.after.map(|(key, _)| key))
    .bind(filter.after.map(|(_, id)| id))
    .bind(filter.limit)
    .bind(filter.months.0)
    .bind(filter.months.1)
    .fetch_all(&mut **tx)
    .await
}

/// One month of the page's totals: the reseller's MAU (every customer, as the licence counts
/// it), the allowance recorded for the month, and the MAU of the organizations the
/// per-organization table lists (all its pages: not deleted, matching the search).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct MonthTotals {
    pub month: NaiveDate,
    pub mau: i64,
    pub allowance: Option<i32>,
    pub listed_mau: i64,
    /// How many organizations the table lists (the same in every row).
    pub organizations: i64,
}

/// Every total of the page for `from..=to`, month by month (gaps are zero MAU), in one query
/// whatever page of the table is shown.
pub async fn totals(
    tx: &mut Tx,
    reseller_id: i64,
    search: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<MonthTotals>, sqlx::Error> {
    sqlx::query_as::<_, MonthTotals>(&format!("{} ORDER BY month", totals_sql(search)))
        .bind(reseller_id)
        .bind(search)
        .bind(like_pattern(search))
        .bind(from)
        .bind(to)
        .fetch_all(&mut **tx)
        .await
}

/// [`totals`]' statement: $1 the reseller, $2 the search and $3 its pattern, $4 and $5 the first
/// and last month.
fn totals_sql(search: &str) -> &'static str {
    // Without a search the totals are the trigger-kept `reseller_mau_months`, which keeps apart
    // the MAU of the customers the table lists (neither deleted nor the built-in default customer)
    // and the default customer's, which the headline leaves out (migration 20261201960002):
    // twelve rows instead of a pass over the reseller's 240,000 MAU rows.
    //
    // With a search, one pass over the reseller's MAU rows: the default customer excluded by id
    // (an init plan) without joining every MAU row to its customer; `IN (listed)` is a hashed
    // subplan probed per row (a join of the same rows hashed the 240,000 MAU rows instead).
    if search.trim().is_empty() {
        "SELECT g.month::date AS month, (coalesce(t.mau, 0) - coalesce(t.default_mau, 0))::bigint AS mau, h.allowance, \
                coalesce(t.listed_mau, 0)::bigint AS listed_mau, \
                coalesce((SELECT n.customers FROM reseller_counts n WHERE n.reseller_id = $1), 0) AS organizations \
         FROM generate_series($4::date, $5::date, interval '1 month') AS g(month) \
         LEFT JOIN reseller_mau_months t ON t.reseller_id = $1 AND t.month = g.month::date \
         LEFT JOIN mau_allowance_history h ON h.reseller_id = $1 AND h.month = g.month::date"
    } else {
        "WITH listed AS MATERIALIZED ( \
           SELECT id FROM customers \
           WHERE reseller_id = $1 AND lifecycle <> 'deleted' AND NOT is_default \
             AND ($2::text = '' OR name ILIKE $3)), \
         sums AS ( \
           SELECT m.month, sum(m.mau) AS mau, \
                  sum(m.mau) FILTER (WHERE m.customer_id IN (SELECT id FROM listed)) AS listed_mau \
           FROM mau_monthly m \
           WHERE m.reseller_id = $1 AND m.month BETWEEN $4 AND $5 \
             AND m.customer_id IS DISTINCT FROM (SELECT id FROM customers WHERE is_default) \
           GROUP BY m.month) \
         SELECT g.month::date AS month, coalesce(s.mau, 0)::bigint AS mau, h.allowance, \
                coalesce(s.listed_mau, 0)::bigint AS listed_mau, (SELECT count(*) FROM listed) AS organizations \
         FROM generate_series($4::date, $5::date, interval '1 month') AS g(month) \
         LEFT JOIN sums s ON s.month = g.month::date \
         LEFT JOIN mau_allowance_history h ON h.reseller_id = $1 AND h.month = g.month::date"
    }
}

/// Every reseller but the built-in default one, for the operator's selector.
pub async fn reseller_options(tx: &mut Tx) -> Result<Vec<crate::store::dashboard::ResellerOption>, sqlx::Error> {
    sqlx::query_as::<_, crate::store::dashboard::ResellerOption>(
        "SELECT id, name FROM resellers WHERE NOT is_default ORDER BY lower(name), id",
    )
    .fetch_all(&mut **tx)
    .await
}
