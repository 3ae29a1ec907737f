//! Seat limits of customers: what is used, the limit, a scheduled change, the grace period.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Tx, tenant};
use crate::domain::licensing::{LimitChange, SeatProperty};

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct SeatLimitRow {
    pub seat_property: String,
    pub seat_limit: i32,
    pub seats_used: i32,
    pub pending_limit: Option<i32>,
    pub pending_effective_on: Option<NaiveDate>,
    pub over_limit_since: Option<DateTime<Utc>>,
    pub grace_ends_at: Option<DateTime<Utc>>,
}

/// The seat limits of one customer within the scope (empty when it is not the caller's).
pub async fn for_customer(tx: &mut Tx, customer_id: i64) -> Result<Vec<SeatLimitRow>, sqlx::Error> {
    let (reseller, customer) = tenant(tx);
    sqlx::query_as::<_, SeatLimitRow>(
        "SELECT seat_property, seat_limit, seats_used, pending_limit, pending_effective_on, over_limit_since, grace_ends_at \
         FROM seat_limits WHERE customer_id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) \
           AND ($3::bigint IS NULL OR customer_id = $3) \
         ORDER BY seat_property",
    )
    .bind(customer_id)
    .bind(reseller)
    .bind(customer)
    .fetch_all(&mut **tx)
    .await
}

/// A limit change worked out before it is applied, for the preview.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlannedChange {
    pub customer_id: i64,
    pub reseller_id: i64,
    pub customer_name: String,
    pub seat_property: String,
    pub seats_used: i32,
    pub seat_limit: i32,
    pub pending_limit: Option<i32>,
    #[sqlx(skip)]
    pub new_limit: i64,
}

impl PlannedChange {
    pub fn seat_label(&self) -> &'static str {
        SeatProperty::parse(&self.seat_property)
            .map(SeatProperty::label)
            .unwrap_or("Seats")
    }
}

/// The selected limits within the scope, with the new value `change` gives each. Rows that are not
/// the caller's are simply absent, so the caller can refuse the whole request.
pub async fn plan(
    tx: &mut Tx,
    rows: &[(i64, SeatProperty)],
    change: LimitChange,
) -> Result<Vec<PlannedChange>, sqlx::Error> {
    let (reseller, customer) = tenant(tx);
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let properties: Vec<&str> = rows.iter().map(|(_, p)| p.as_str()).collect();
    let mut planned = sqlx::query_as::<_, PlannedChange>(
        "SELECT s.customer_id, s.reseller_id, c.name AS customer_name, s.seat_property, s.seats_used, s.seat_limit, s.pending_limit \
         FROM unnest($1::bigint[], $2::text[]) AS wanted(customer_id, seat_property) \
         JOIN seat_limits s ON s.customer_id = wanted.customer_id AND s.seat_property = wanted.seat_property \
         JOIN customers c ON c.id = s.customer_id \
         WHERE ($3::bigint IS NULL OR s.reseller_id = $3) AND ($4::bigint IS NULL OR s.customer_id = $4) \
           AND c.lifecycle <> 'deleted' \
         ORDER BY lower(c.name), s.seat_property",
    )
    .bind(&ids)
    .bind(&properties)
    .bind(reseller)
    .bind(customer)
    .fetch_all(&mut **tx)
    .await?;
    for row in &mut planned {
        row.new_limit = change.apply(i64::from(row.seat_limit));
    }
    Ok(planned)
}

/// Schedules `new_limit` from `effective_on`, replacing any change already pending. Returns the
/// limit and pending change as they were, or None when the limit is not the caller's.
pub async fn schedule(
    tx: &mut Tx,
    customer_id: i64,
    seat_property: &str,
    new_limit: i64,
    effective_on: NaiveDate,
) -> Result<Option<(i32, Option<i32>, Option<NaiveDate>)>, sqlx::Error> {
    let (reseller, customer) = tenant(tx);
    let new_limit = i32::try_from(new_limit).unwrap_or(i32::MAX);
    sqlx::query_as::<_, (i32, Option<i32>, Option<NaiveDate>)>(
        "UPDATE seat_limits s SET pending_limit = $3, pending_effective_on = $4 \
         FROM seat_limits old \
         WHERE s.customer_id = $1 AND s.seat_property = $2 AND old.customer_id = s.customer_id \
           AND old.seat_property = s.seat_property AND ($5::bigint IS NULL OR s.reseller_id = $5) \
           AND ($6::bigint IS NULL OR s.customer_id = $6) \
         RETURNING old.seat_limit, old.pending_limit, old.pending_effective_on",
    )
    .bind(customer_id)
    .bind(seat_property)
    .bind(new_limit)
    .bind(effective_on)
    .bind(reseller)
    .bind(customer)
    .fetch_optional(&mut **tx)
    .await
}

/// Drops a pending change. Returns what was pending, or None when nothing was (or not the caller's).
pub async fn cancel_pending(
    tx: &mut Tx,
    customer_id: i64,
    seat_property: &str,
) -> Result<Option<(i32, NaiveDate)>, sqlx::Error> {
    let (reseller, customer) = tenant(tx);
    sqlx::query_as::<_, (i32, NaiveDate)>(
        "UPDATE seat_limits s SET pending_limit = NULL, pending_effective_on = NULL \
         FROM seat_limits old \
         WHERE s.customer_id = $1 AND s.seat_property = $2 AND old.customer_id = s.customer_id \
           AND old.seat_property = s.seat_property AND old.pending_limit IS NOT NULL \
           AND ($3::bigint IS NULL OR s.reseller_id = $3) AND ($4::bigint IS NULL OR s.customer_id = $4) \
         RETURNING old.pending_limit, old.pending_effective_on",
    )
    .bind(customer_id)
    .bind(seat_property)
    .bind(reseller)
    .bind(customer)
    .fetch_optional(&mut **tx)
    .await
}
