//! Monthly invoices: on any tick from the 1st on, each customer billed on an invoice plan during
//! the past month gets that month's invoice, computed by `domain::invoicing` from the plan of
//! each day (`invoice_plan_changes`), its daily storage and seats (`usage_daily`) and its clients.
//! Idempotent: customers that already have the month's invoice are skipped, and the unique
//! (customer_id, month) constraint stops a second one.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use sqlx::{Postgres, Transaction};

use crate::domain::invoicing::{self, BillingDay, DayUsage, Plan};

#[derive(sqlx::FromRow)]
struct Change {
    customer_id: i64,
    plan_id: Option<i64>,
    effective_on: NaiveDate,
}

#[derive(sqlx::FromRow)]
struct Billed {
    id: i64,
    reseller_id: i64,
    created_on: NaiveDate,
    deleted_on: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    name: String,
    currency: String,
    per_gb_minor: i64,
    per_client_minor: i64,
    per_seat_minor: i64,
    flat_fee_minor: i64,
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    customer_id: i64,
    day: NaiveDate,
    storage_bytes: i64,
    seats: i64,
}

#[derive(sqlx::FromRow)]
struct ClientsSince {
    customer_id: i64,
    since: NaiveDate,
    clients: i64,
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

pub async fn monthly_invoices(tx: &mut Transaction<'static, Postgres>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let month = invoicing::previous_month(now.date_naive());
    let next = invoicing::next_month(month);
    // Every plan change up to the month's end of customers without the month's invoice.
    let changes = sqlx::query_as::<_, Change>(
        "SELECT ch.customer_id, ch.plan_id, (ch.effective_at AT TIME ZONE 'UTC')::date AS effective_on \
         FROM invoice_plan_changes ch JOIN customers c ON c.id = ch.customer_id \
         WHERE ch.effective_at < $2 AND c.created_at < $2 AND (c.deleted_at IS NULL OR c.deleted_at >= $3) \
           AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = ch.customer_id AND i.month = $1) \
         ORDER BY ch.customer_id, ch.effective_at, ch.id",
    )
    .bind(month)
    .bind(start_of(next))
    .bind(start_of(month))
    .fetch_all(&mut **tx)
    .await?;
    let mut by_customer: BTreeMap<i64, Vec<Change>> = BTreeMap::new();
    for change in changes {
        by_customer.entry(change.customer_id).or_default().push(change);
    }
    // Customers with some plan in force during the month.
    by_customer.retain(|_, changes| {
        let before: Option<i64> = changes
            .iter()
            .rfind(|c| c.effective_on <= month)
            .and_then(|c| c.plan_id);
        before.is_some() || changes.iter().any(|c| c.effective_on > month && c.plan_id.is_some())
    });
    if by_customer.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = by_customer.keys().copied().collect();
    let plan_ids: Vec<i64> = by_customer.values().flatten().filter_map(|c| c.plan_id).collect();
    let plans: HashMap<i64, Plan> = sqlx::query_as::<_, PlanRow>(
        "SELECT id, name, currency, per_gb_minor, per_client_minor, per_seat_minor, flat_fee_minor \
         FROM invoice_plans WHERE id = ANY($1)",
    )
    .bind(&plan_ids)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|p| {
        (
            p.id,
            Plan {
                id: p.id,
                name: p.name,
                currency: p.currency,
                per_gb_minor: p.per_gb_minor,
                per_client_minor: p.per_client_minor,
                per_seat_minor: p.per_seat_minor,
                flat_fee_minor: p.flat_fee_minor,
            },
        )
    })
    .collect();
    let customers = sqlx::query_as::<_, Billed>(
        "SELECT id, reseller_id, (created_at AT TIME ZONE 'UTC')::date AS created_on, \
                (deleted_at AT TIME ZONE 'UTC')::date AS deleted_on \
         FROM customers WHERE id = ANY($1) ORDER BY id",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut usage: HashMap<(i64, NaiveDate), DayUsage> = HashMap::new();
    let rows = sqlx::query_as::<_, UsageRow>(
        "SELECT customer_id, day, storage_bytes, \
                coalesce((SELECT sum(CASE WHEN jsonb_typeof(v) = 'number' THEN v::text::numeric ELSE 0 END) \
                          FROM jsonb_each(seats) AS s(k, v)), 0)::bigint AS seats \
         FROM usage_daily WHERE customer_id = ANY($1) AND day >= $2 AND day < $3",
    )
    .bind(&ids)
    .bind(month)
    .bind(next)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let day = usage.entry((row.customer_id, row.day)).or_default();
        day.storage_bytes = row.storage_bytes;
        day.seats = row.seats;
    }
    // Clients count from the day they were created (deleted clients are gone and not billed).
    let clients = sqlx::query_as::<_, ClientsSince>(
        "SELECT customer_id, (created_at AT TIME ZONE 'UTC')::date AS since, count(*) AS clients \
         FROM clients WHERE customer_id = ANY($1) AND created_at < $2 GROUP BY 1, 2",
    )
    .bind(&ids)
    .bind(start_of(next))
    .fetch_all(&mut **tx)
    .await?;
    let mut client_steps: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
    for row in clients {
        client_steps
            .entry(row.customer_id)
            .or_default()
            .push((row.since, row.clients));
    }

    let month_days = invoicing::days_in_month(month);
    let mut created = 0;
    for customer in customers {
        let Some(changes) = by_customer.get(&customer.id) else {
            continue;
        };
        let steps = client_steps.get(&customer.id);
        let days: Vec<BillingDay<'_>> = (0..month_days)
            .map(|offset| {
                let day = month + Duration::days(offset);
                let exists = invoicing::customer_exists_on(day, customer.created_on, customer.deleted_on);
                let plan = changes
                    .iter()
                    .rfind(|c| c.effective_on <= day)
                    .and_then(|c| c.plan_id)
                    .and_then(|id| plans.get(&id))
                    .filter(|_| exists);
                let mut today = usage.get(&(customer.id, day)).copied().unwrap_or_default();
                today.clients = steps
                    .map(|s| s.iter().filter(|(since, _)| *since <= day).map(|(_, n)| n).sum())
                    .unwrap_or(0);
                BillingDay { plan, usage: today }
            })
            .collect();
        let Some(invoice) = invoicing::invoice(&days) else {
            continue;
        };
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO invoices (reseller_id, customer_id, month, currency, total_minor, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (customer_id, month) DO NOTHING RETURNING id",
        )
        .bind(customer.reseller_id)
        .bind(customer.id)
        .bind(month)
        .bind(&invoice.currency)
        .bind(invoice.total_minor)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(id) = id else {
            continue;
        };
        let descriptions: Vec<&str> = invoice.lines.iter().map(|l| l.description.as_str()).collect();
        let quantities: Vec<String> = invoice.lines.iter().map(|l| l.quantity_text()).collect();
        let units: Vec<i64> = invoice.lines.iter().map(|l| l.unit_minor).collect();
        let amounts: Vec<i64> = invoice.lines.iter().map(|l| l.amount_minor).collect();
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, reseller_id, description, quantity, unit_minor, amount_minor) \
             SELECT $1, $2, d, q::numeric, u, a FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[]) \
                 WITH ORDINALITY AS t(d, q, u, a, n) ORDER BY n",
        )
        .bind(id)
        .bind(customer.reseller_id)
        .bind(&descriptions)
        .bind(&quantities)
        .bind(&units)
        .bind(&amounts)
        .execute(&mut **tx)
        .await?;
        created += 1;
    }
    Ok(created)
}
