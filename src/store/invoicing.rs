//! A customer's invoice configuration (which of its reseller's plans it is billed on) and the
//! invoices generated for it.

use chrono::{DateTime, NaiveDate, Utc};

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoicePlan {
    pub id: i64,
    pub name: String,
    pub currency: String,
}

/// The invoice plans of one reseller.
pub async fn plans(tx: &mut Tx, reseller_id: i64) -> Result<Vec<InvoicePlan>, sqlx::Error> {
    sqlx::query_as::<_, InvoicePlan>(
        "SELECT id, name, currency FROM invoice_plans WHERE reseller_id = $1 ORDER BY lower(name), id",
    )
    .bind(reseller_id)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceConfig {
    pub enabled: bool,
    pub plan_id: Option<i64>,
}

pub async fn config(tx: &mut Tx, customer_id: i64) -> Result<Option<InvoiceConfig>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, InvoiceConfig>(
        "SELECT enabled, plan_id FROM invoice_configs WHERE customer_id = $1 AND ($2::bigint IS NULL OR reseller_id = $2)",
    )
    .bind(customer_id)
    .bind(reseller)
    .fetch_optional(&mut **tx)
    .await
}

/// Enables invoicing on `plan_id` (one of the customer's reseller's plans), or disables it.
pub async fn set_config(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    plan_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoice_configs (customer_id, reseller_id, enabled, plan_id, updated_at) \
         VALUES ($1, $2, $3::bigint IS NOT NULL, $3, $4) \
         ON CONFLICT (customer_id) DO UPDATE SET enabled = EXCLUDED.enabled, \
             plan_id = coalesce(EXCLUDED.plan_id, invoice_configs.plan_id), updated_at = EXCLUDED.updated_at",
    )
    .bind(customer_id)
    .bind(reseller_id)
    .bind(plan_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    // The history the monthly invoice reads: which plan billed which days.
    sqlx::query(
        "INSERT INTO invoice_plan_changes (customer_id, reseller_id, plan_id, effective_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(customer_id)
    .bind(reseller_id)
    .bind(plan_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceRow {
    pub id: i64,
    pub month: NaiveDate,
    pub currency: String,
    pub total_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// The customer's invoices, newest month first (bounded: ten years of months).
pub async fn invoices(tx: &mut Tx, customer_id: i64) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, InvoiceRow>(
        "SELECT id, month, currency, total_minor, created_at FROM invoices \
         WHERE customer_id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) ORDER BY month DESC LIMIT 120",
    )
    .bind(customer_id)
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}

/// One invoice in the report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub month: NaiveDate,
    pub currency: String,
    pub total_minor: i64,
}

/// A sum of invoice totals in one currency (per reseller, or for all when `reseller_id` is None).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Total {
    pub reseller_id: Option<i64>,
    pub currency: String,
    pub invoices: i64,
    pub total_minor: i64,
}

/// Rows shown on one report page at most; the totals and the CSV always cover every invoice.
pub const REPORT_LIMIT: i64 = 2000;

/// The month's invoices in the caller's scope (optionally of one reseller), by reseller then customer.
pub async fn report(
    tx: &mut Tx,
    month: NaiveDate,
    reseller: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    let own = tx.scope().reseller_id();
    sqlx::query_as::<_, ReportRow>(
        "SELECT i.id, i.reseller_id, r.name AS reseller_name, i.customer_id, c.name AS customer_name, i.month, \
                i.currency, i.total_minor \
         FROM invoices i JOIN customers c ON c.id = i.customer_id JOIN resellers r ON r.id = i.reseller_id \
         WHERE i.month = $1 AND ($2::bigint IS NULL OR i.reseller_id = $2) AND ($3::bigint IS NULL OR i.reseller_id = $3) \
         ORDER BY lower(r.name), r.id, lower(c.name), i.id LIMIT $4",
    )
    .bind(month)
    .bind(own)
    .bind(reseller)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Totals of the month per reseller and currency, then per currency over all (reseller_id NULL).
pub async fn report_totals(tx: &mut Tx, month: NaiveDate, reseller: Option<i64>) -> Result<Vec<Total>, sqlx::Error> {
    let own = tx.scope().reseller_id();
    sqlx::query_as::<_, Total>(
        "SELECT reseller_id, currency, count(*) AS invoices, sum(total_minor)::bigint AS total_minor FROM invoices \
         WHERE month = $1 AND ($2::bigint IS NULL OR reseller_id = $2) AND ($3::bigint IS NULL OR reseller_id = $3) \
         GROUP BY GROUPING SETS ((reseller_id, currency), (currency)) ORDER BY reseller_id NULLS LAST, currency",
    )
    .bind(month)
    .bind(own)
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}

/// Months that have invoices in the caller's scope, newest first (for the month picker).
pub async fn report_months(tx: &mut Tx) -> Result<Vec<NaiveDate>, sqlx::Error> {
    let own = tx.scope().reseller_id();
    sqlx::query_scalar(
        "SELECT DISTINCT month FROM invoices WHERE ($1::bigint IS NULL OR reseller_id = $1) ORDER BY month DESC LIMIT 36",
    )
    .bind(own)
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceDetail {
    pub id: i64,
    pub month: NaiveDate,
    pub currency: String,
    pub total_minor: i64,
    pub created_at: DateTime<Utc>,
    pub customer_id: i64,
    pub customer_name: String,
    pub legal_name: String,
    pub address: String,
    pub city: String,
    pub email: String,
    pub reseller_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub description: String,
    pub quantity: String,
    pub unit_minor: i64,
    pub amount_minor: i64,
}

/// One invoice with its lines; not found outside the caller's scope.
pub async fn invoice(tx: &mut Tx, id: i64) -> Result<Option<(InvoiceDetail, Vec<LineRow>)>, sqlx::Error> {
    let (reseller, customer) = super::tenant(tx);
    let detail = sqlx::query_as::<_, InvoiceDetail>(
        "SELECT i.id, i.month, i.currency, i.total_minor, i.created_at, c.id AS customer_id, c.name AS customer_name, \
                c.legal_name, c.address, c.city, c.email, r.name AS reseller_name \
         FROM invoices i JOIN customers c ON c.id = i.customer_id JOIN resellers r ON r.id = i.reseller_id \
         WHERE i.id = $1 AND ($2::bigint IS NULL OR i.reseller_id = $2) AND ($3::bigint IS NULL OR i.customer_id = $3)",
    )
    .bind(id)
    .bind(reseller)
    .bind(customer)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(detail) = detail else {
        return Ok(None);
    };
    let lines = sqlx::query_as::<_, LineRow>(
        "SELECT description, quantity::text AS quantity, unit_minor, amount_minor FROM invoice_lines \
         WHERE invoice_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some((detail, lines)))
}
