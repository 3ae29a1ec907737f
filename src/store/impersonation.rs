//! The customer an admin asks to "log in as", looked up in the admin's own scope.

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TargetCustomer {
    pub id: i64,
    pub reseller_id: i64,
    pub name: String,
    pub reseller_name: String,
}

/// A customer of the scope that is not deleted; `None` for anything else (another tenant's id too).
pub async fn find_customer(tx: &mut Tx, customer_id: i64) -> Result<Option<TargetCustomer>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, TargetCustomer>(
        "SELECT c.id, c.reseller_id, c.name, r.name AS reseller_name \
         FROM customers c JOIN resellers r ON r.id = c.reseller_id \
         WHERE c.id = $1 AND ($2::bigint IS NULL OR c.reseller_id = $2) AND c.lifecycle <> 'deleted'",
    )
    .bind(customer_id)
    .bind(reseller)
    .fetch_optional(&mut **tx)
    .await
}
