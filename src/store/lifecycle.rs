//! A customer's life: revival from scheduled deletion, conversion from evaluation to a paid plan.

use chrono::NaiveDate;

use super::{Tx, tenant};

/// What the lifecycle actions need to know about a customer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerState {
    pub id: i64,
    pub reseller_id: i64,
    pub name: String,
    pub lifecycle: String,
    pub delete_on: Option<NaiveDate>,
    pub tenant_type: String,
    pub trial_ends_on: Option<NaiveDate>,
    pub service_plan_id: Option<i64>,
    pub service_expires_on: Option<NaiveDate>,
    pub clients: i64,
    pub used_space_bytes: i64,
}

/// The customer if it is within the scope and not deleted.
pub async fn find(tx: &mut Tx, customer_id: i64) -> Result<Option<CustomerState>, sqlx::Error> {
    let (reseller, customer) = tenant(tx);
    sqlx::query_as::<_, CustomerState>(
        "SELECT c.id, c.reseller_id, c.name, c.lifecycle, c.delete_on, c.tenant_type, c.trial_ends_on, c.service_plan_id, \
                c.service_expires_on, c.client_count AS clients, c.used_space_bytes \
         FROM customers c WHERE c.id = $1 AND c.lifecycle <> 'deleted' \
           AND ($2::bigint IS NULL OR c.reseller_id = $2) AND ($3::bigint IS NULL OR c.id = $3)",
    )
    .bind(customer_id)
    .bind(reseller)
    .bind(customer)
    .fetch_optional(&mut **tx)
    .await
}

/// Brings a customer scheduled for deletion back to active, if its deletion date has not passed.
/// Returns whether it was revived.
pub async fn revive(tx: &mut Tx, customer_id: i64, today: NaiveDate) -> Result<bool, sqlx::Error> {
    let (reseller, _) = tenant(tx);
    let done = sqlx::query(
        "UPDATE customers SET lifecycle = 'active', delete_on = NULL, scheduled_for_deletion_at = NULL \
         WHERE id = $1 AND lifecycle = 'scheduled_for_deletion' AND delete_on >= $2 \
           AND ($3::bigint IS NULL OR reseller_id = $3)",
    )
    .bind(customer_id)
    .bind(today)
    .bind(reseller)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanOption {
    pub id: i64,
    pub name: String,
    pub edition: String,
    pub monthly_credits: f64,
}

/// The paid service plans an evaluation can be converted to.
pub async fn paid_plans(tx: &mut Tx) -> Result<Vec<PlanOption>, sqlx::Error> {
    sqlx::query_as::<_, PlanOption>(
        "SELECT id, name, edition, monthly_credits::float8 AS monthly_credits FROM service_plans \
         WHERE NOT is_evaluation ORDER BY monthly_credits, name",
    )
    .fetch_all(&mut **tx)
    .await
}

/// Converts an active evaluation customer to a paid plan: commercial, no trial end, the plan and
/// its service expiry. Returns whether it was converted.
pub async fn convert(
    tx: &mut Tx,
    customer_id: i64,
    plan_id: i64,
    service_expires_on: NaiveDate,
) -> Result<bool, sqlx::Error> {
    let (reseller, _) = tenant(tx);
    let done = sqlx::query(
        "UPDATE customers SET tenant_type = 'commercial', trial_ends_on = NULL, service_plan_id = $2, \
                service_expires_on = $3, activated = true \
         WHERE id = $1 AND tenant_type = 'evaluation' AND lifecycle = 'active' \
           AND ($4::bigint IS NULL OR reseller_id = $4) \
           AND EXISTS (SELECT 1 FROM service_plans p WHERE p.id = $2 AND NOT p.is_evaluation)",
    )
    .bind(customer_id)
    .bind(plan_id)
    .bind(service_expires_on)
    .bind(reseller)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
