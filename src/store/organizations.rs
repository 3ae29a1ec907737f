//! The reseller's customers seen as organizations: MAU against the threshold, accounts,
//! locations, and creating one within the reseller's max-customers allowance.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Tx, like_pattern};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganizationRow {
    pub id: i64,
    pub name: String,
    pub reseller_name: String,
    pub mau: i64,
    pub max_mau: i32,
    pub accounts: i64,
    pub locations: i64,
    pub lifecycle: String,
    pub activated: bool,
    pub tenant_type: String,
    /// The sort column's value as text, for the next page's cursor.
    pub sort_value: String,
}

/// What to list: `reseller_id` narrows the operator's view; `search` matches names.
pub struct Filter<'a> {
    pub reseller_id: Option<i64>,
    pub search: &'a str,
    pub month: NaiveDate,
    /// One of [`SORT_KEYS`].
    pub sort: &'a str,
    pub descending: bool,
    pub after: Option<(String, i64)>,
    pub limit: i64,
}

pub const SORT_KEYS: [&str; 4] = ["name", "mau", "max_mau", "accounts"];

fn sort_expression(key: &str) -> (&'static str, &'static str) {
    // (expression over the inner query's columns, type of the cursor value)
    match key {
        "mau" => ("mau", "bigint"),
        "max_mau" => ("max_mau::bigint", "bigint"),
        "accounts" => ("accounts", "bigint"),
        _ => ("lower(name)", "text"),
    }
}

pub async fn list(tx: &mut Tx, filter: &Filter<'_>) -> Result<Vec<OrganizationRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id().or(filter.reseller_id);
    let (expression, cursor_type) = sort_expression(filter.sort);
    let (compare, order) = if filter.descending { ("<", "DESC") } else { (">", "ASC") };
    // The expression and direction come from the allow-lists above, never from the request.
    let sql = format!(
        "SELECT * FROM ( \
           SELECT c.id, c.name, r.name AS reseller_name, coalesce(m.mau, 0)::bigint AS mau, c.max_mau, \
                  coalesce(a.n, 0) AS accounts, coalesce(l.n, 0) AS locations, c.lifecycle, c.activated, \
                  c.tenant_type \
           FROM customers c \
           JOIN resellers r ON r.id = c.reseller_id \
           LEFT JOIN mau_monthly m ON m.customer_id = c.id AND m.month = $2 \
           LEFT JOIN (SELECT customer_id, count(*) AS n FROM accounts \
                      WHERE $1::bigint IS NULL OR reseller_id = $1 GROUP BY customer_id) a ON a.customer_id = c.id \
           LEFT JOIN (SELECT customer_id, count(*) AS n FROM locations \
                      WHERE $1::bigint IS NULL OR reseller_id = $1 GROUP BY customer_id) l ON l.customer_id = c.id \
           WHERE ($1::bigint IS NULL OR c.reseller_id = $1) AND NOT c.is_default AND c.lifecycle <> 'deleted' \
             AND ($3 = '' OR c.name ILIKE $4) \
         ) t \
         CROSS JOIN LATERAL (SELECT ({expression})::text AS sort_value) s \
         WHERE $5::text IS NULL OR ({expression}, t.id) {compare} ($5::{cursor_type}, $6) \
         ORDER BY {expression} {order}, t.id {order} LIMIT $7"
    );
    let (after_key, after_id) = match &filter.after {
        Some((key, id)) => (Some(key.clone()), *id),
        None => (None, 0),
    };
    sqlx::query_as::<_, OrganizationRow>(&sql)
        .bind(reseller)
        .bind(filter.month)
        .bind(filter.search)
        .bind(like_pattern(filter.search))
        .bind(after_key)
        .bind(after_id)
        .bind(filter.limit)
        .fetch_all(&mut **tx)
        .await
}

/// A reseller's customers (not deleted, not the built-in default) against its allowance.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Allowance {
    pub customers: i64,
    pub max_customers: i32,
}

impl Allowance {
    pub fn may_create(&self) -> bool {
        self.customers < i64::from(self.max_customers)
    }
}

/// The allowance of `reseller_id`; `lock` holds the reseller row until the transaction ends, so
/// two creations cannot both take the last place.
pub async fn allowance(tx: &mut Tx, reseller_id: i64, lock: bool) -> Result<Option<Allowance>, sqlx::Error> {
    let own = tx.scope().reseller_id();
    if own.is_some_and(|own| own != reseller_id) {
        return Ok(None);
    }
    if lock {
        // A statement of its own: the count below then runs on a snapshot taken after the lock
        // was granted, so it sees the customer a competing transaction just committed.
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM resellers WHERE id = $1 AND NOT is_default FOR UPDATE")
                .bind(reseller_id)
                .fetch_optional(&mut **tx)
                .await?;
        if found.is_none() {
            return Ok(None);
        }
    }
    sqlx::query_as::<_, Allowance>(
        "SELECT (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND NOT c.is_default \
                 AND c.lifecycle <> 'deleted') AS customers, r.max_customers \
         FROM resellers r WHERE r.id = $1 AND NOT r.is_default",
    )
    .bind(reseller_id)
    .fetch_optional(&mut **tx)
    .await
}

pub struct NewOrganization<'a> {
    pub reseller_id: i64,
    pub name: &'a str,
    pub max_mau: i32,
    pub pass_key_hash: &'a str,
    pub now: DateTime<Utc>,
}

/// Whether a customer of this name exists anywhere (names are unique across the installation,
/// agents register by name). Runs as the owner of the check: RLS hides other tenants' rows, so
/// the unique index is the final word; this only gives the form a friendly message first.
pub async fn name_taken(tx: &mut Tx, name: &str) -> Result<bool, sqlx::Error> {
    super::customers::name_taken(tx, name).await
}

pub async fn create(tx: &mut Tx, new: NewOrganization<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO customers (reseller_id, name, pass_key_hash, max_mau, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(new.reseller_id)
    .bind(new.name)
    .bind(new.pass_key_hash)
    .bind(new.max_mau)
    .bind(new.now)
    .fetch_one(&mut **tx)
    .await
}
