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
