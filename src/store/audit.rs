//! The audit log: who did what to which tenant's object, with before/after values.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Tx;

/// One audited action. `changes` is `{"field": {"before": …, "after": …}}`.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_name: &'a str,
    pub impersonator_name: Option<&'a str>,
    pub reseller_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: String,
    pub changes: Value,
    pub reason: &'a str,
}

pub async fn record(tx: &mut Tx, entry: Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_name, impersonator_name, reseller_id, customer_id, \
                                action, object_kind, object_id, changes, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(entry.at)
    .bind(entry.actor_user_id)
    .bind(entry.actor_name)
    .bind(entry.impersonator_name)
    .bind(entry.reseller_id)
    .bind(entry.customer_id)
    .bind(entry.action)
    .bind(entry.object_kind)
    .bind(entry.object_id)
    .bind(entry.changes)
    .bind(entry.reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl<'a> Entry<'a> {
    /// An entry with no changes, reason or tenant yet; fill in what applies.
    pub fn new(
        at: DateTime<Utc>,
        actor_name: &'a str,
        action: &'a str,
        object_kind: &'a str,
        object_id: String,
    ) -> Self {
        Entry {
            at,
            actor_user_id: None,
            actor_name,
            impersonator_name: None,
            reseller_id: None,
            customer_id: None,
            action,
            object_kind,
            object_id,
            changes: Value::Object(Default::default()),
            reason: "",
        }
    }
}

/// `{"field": {"before": …, "after": …}}` for the fields whose values differ.
pub fn diff(fields: &[(&str, Value, Value)]) -> Value {
    let mut changes = serde_json::Map::new();
    for (name, before, after) in fields {
        if before != after {
            changes.insert(
                (*name).to_string(),
                serde_json::json!({"before": before, "after": after}),
            );
        }
    }
    Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_diff_lists_only_changed_fields() {
        let changes = super::diff(&[("name", json!("A"), json!("A")), ("limit", json!(10), json!(20))]);
        assert_eq!(changes, json!({"limit": {"before": 10, "after": 20}}));
    }
}

/// One row of the audit log as the audit page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub impersonator_name: Option<String>,
    pub reseller_name: Option<String>,
    pub customer_name: Option<String>,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub changes: Value,
    pub reason: String,
}

/// Which rows: every filter is optional; `from`/`until` bound `at` (until exclusive).
#[derive(Debug, Default)]
pub struct LogFilter<'a> {
    pub action: Option<&'a str>,
    pub object_kind: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub customer_id: Option<i64>,
    pub actor: Option<&'a str>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, i64)>,
    pub limit: i64,
}

/// Newest first, within the scope (a reseller sees its own rows, a customer its own).
pub async fn list(tx: &mut Tx, filter: &LogFilter<'_>) -> Result<Vec<LogRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    let own_customer = tx.scope().customer_id();
    let (before_at, before_id) = match filter.before {
        Some((at, id)) => (Some(at), id),
        None => (None, 0),
    };
    let actor = filter
        .actor
        .map(|a| format!("%{}%", a.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    sqlx::query_as::<_, LogRow>(
        "SELECT l.id, l.at, l.actor_name, l.impersonator_name, r.name AS reseller_name, c.name AS customer_name, \
                l.action, l.object_kind, l.object_id, l.changes, l.reason \
         FROM audit_log l \
         LEFT JOIN resellers r ON r.id = l.reseller_id \
         LEFT JOIN customers c ON c.id = l.customer_id \
         WHERE ($1::bigint IS NULL OR l.reseller_id = $1) \
           AND ($2::bigint IS NULL OR l.customer_id = $2) \
           AND ($3::text IS NULL OR l.action = $3) \
           AND ($4::text IS NULL OR l.object_kind = $4) \
           AND ($5::text IS NULL OR l.object_id = $5) \
           AND ($6::bigint IS NULL OR l.customer_id = $6) \
           AND ($7::text IS NULL OR l.actor_name ILIKE $7 OR l.impersonator_name ILIKE $7) \
           AND ($8::timestamptz IS NULL OR l.at >= $8) \
           AND ($9::timestamptz IS NULL OR l.at < $9) \
           AND ($10::timestamptz IS NULL OR (l.at, l.id) < ($10, $11)) \
         ORDER BY l.at DESC, l.id DESC LIMIT $12",
    )
    .bind(reseller)
    .bind(own_customer)
    .bind(filter.action)
    .bind(filter.object_kind)
    .bind(filter.object_id)
    .bind(filter.customer_id)
    .bind(actor)
    .bind(filter.from)
    .bind(filter.until)
    .bind(before_at)
    .bind(before_id)
    .bind(filter.limit)
    .fetch_all(&mut **tx)
    .await
}

/// The actions and object kinds recorded in the scope, for the filters' dropdowns.
pub async fn vocabulary(tx: &mut Tx) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    let actions = sqlx::query_scalar(
        "SELECT DISTINCT action FROM audit_log WHERE $1::bigint IS NULL OR reseller_id = $1 ORDER BY action",
    )
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await?;
    let kinds = sqlx::query_scalar(
        "SELECT DISTINCT object_kind FROM audit_log WHERE $1::bigint IS NULL OR reseller_id = $1 ORDER BY object_kind",
    )
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await?;
    Ok((actions, kinds))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerOption {
    pub id: i64,
    pub name: String,
}

/// Customers of the scope that appear in the log, for the customer filter.
pub async fn customer_options(tx: &mut Tx) -> Result<Vec<CustomerOption>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, CustomerOption>(
        "SELECT c.id, c.name FROM customers c \
         WHERE ($1::bigint IS NULL OR c.reseller_id = $1) \
           AND EXISTS (SELECT 1 FROM audit_log l WHERE l.customer_id = c.id) \
         ORDER BY lower(c.name), c.id",
    )
    .bind(reseller)
    .fetch_all(&mut **tx)
    .await
}

/// One changed field: its name and its values before and after, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLine {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// `{"field": {"before": …, "after": …}}` as lines; other shapes show their value as "after".
pub fn change_lines(changes: &Value) -> Vec<ChangeLine> {
    let text = |value: Option<&Value>| match value {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let Value::Object(fields) = changes else {
        return vec![];
    };
    fields
        .iter()
        .map(|(field, value)| match value {
            Value::Object(pair) if pair.contains_key("before") || pair.contains_key("after") => ChangeLine {
                field: field.clone(),
                before: text(pair.get("before")),
                after: text(pair.get("after")),
            },
            other => ChangeLine {
                field: field.clone(),
                before: "—".to_string(),
                after: text(Some(other)),
            },
        })
        .collect()
}

#[cfg(test)]
mod change_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changes_read_as_field_before_and_after() {
        let lines = change_lines(
            &json!({"limit": {"before": 10, "after": 20}, "name": {"before": null, "after": "A"},
                                         "other_sessions_ended": 2}),
        );
        assert_eq!(
            lines,
            vec![
                ChangeLine {
                    field: "limit".into(),
                    before: "10".into(),
                    after: "20".into()
                },
                ChangeLine {
                    field: "name".into(),
                    before: "—".into(),
                    after: "A".into()
                },
                ChangeLine {
                    field: "other_sessions_ended".into(),
                    before: "—".into(),
                    after: "2".into()
                },
            ]
        );
        assert!(change_lines(&json!([])).is_empty());
    }
}
