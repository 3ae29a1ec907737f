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
