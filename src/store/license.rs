//! A reseller's MAU licence: monthly MAU against the allowance, the allowance's history, MAU
//! orders and extending the allowance with an offer.

use chrono::{DateTime, NaiveDate, Utc};

use super::Tx;

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

/// One month of the reseller's licence: MAU (all customers, or one), and the allowance recorded
/// for that month, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MonthFigures {
    pub month: NaiveDate,
    pub mau: i64,
    pub allowance: Option<i32>,
}

/// `from..=to` month by month (gaps are zero MAU), for all customers or `customer_id` only.
pub async fn monthly(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<MonthFigures>, sqlx::Error> {
    sqlx::query_as::<_, MonthFigures>(
        "SELECT g.month::date AS month, \
                coalesce((SELECT sum(m.mau) FROM mau_monthly m JOIN customers c ON c.id = m.customer_id \
                          WHERE m.reseller_id = $1 AND m.month = g.month::date AND NOT c.is_default \
                            AND ($2::bigint IS NULL OR m.customer_id = $2)), 0)::bigint AS mau, \
                h.allowance \
         FROM generate_series($3::date, $4::date, interval '1 month') AS g(month) \
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

#[derive(Debug, Clone, sqlx::FromRow)]
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

/// Every order of the reseller, newest first.
pub async fn orders(tx: &mut Tx, reseller_id: i64) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as::<_, OrderRow>(
        "SELECT o.id, f.name AS offer_name, o.mau_delta, o.term, o.starts_on, o.ends_on, \
                nullif(coalesce(nullif(u.display_name, ''), u.username), '') AS ordered_by, o.ordered_at \
         FROM mau_orders o JOIN mau_offers f ON f.id = o.offer_id LEFT JOIN users u ON u.id = o.ordered_by \
         WHERE o.reseller_id = $1 ORDER BY o.ordered_at DESC, o.id DESC",
    )
    .bind(reseller_id)
    .fetch_all(&mut **tx)
    .await
}

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

/// The reseller's customers for the chart's dropdown and the per-organization table.
pub async fn customers(tx: &mut Tx, reseller_id: i64) -> Result<Vec<CustomerOption>, sqlx::Error> {
    sqlx::query_as::<_, CustomerOption>(
        "SELECT id, name FROM customers WHERE reseller_id = $1 AND NOT is_default AND lifecycle <> 'deleted' \
         ORDER BY lower(name), id",
    )
    .bind(reseller_id)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerMonth {
    pub customer_id: i64,
    pub month: NaiveDate,
    pub mau: i32,
}

/// Every customer's MAU per month in `from..=to` (months without a row are absent).
pub async fn customer_months(
    tx: &mut Tx,
    reseller_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CustomerMonth>, sqlx::Error> {
    sqlx::query_as::<_, CustomerMonth>(
        "SELECT customer_id, month, mau FROM mau_monthly WHERE reseller_id = $1 AND month BETWEEN $2 AND $3",
    )
    .bind(reseller_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// The first reseller by name (not the default one): the operator's page opens on it.
pub async fn first_reseller(tx: &mut Tx) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM resellers WHERE NOT is_default ORDER BY lower(name), id LIMIT 1")
        .fetch_optional(&mut **tx)
        .await
}

/// Every reseller but the built-in default one, for the operator's selector.
pub async fn reseller_options(tx: &mut Tx) -> Result<Vec<crate::store::dashboard::ResellerOption>, sqlx::Error> {
    sqlx::query_as::<_, crate::store::dashboard::ResellerOption>(
        "SELECT id, name FROM resellers WHERE NOT is_default ORDER BY lower(name), id",
    )
    .fetch_all(&mut **tx)
    .await
}
