//! "Log in as" a customer: the session side of it. Starting and ending change the session row
//! (auth scope) and write the audit entry (the customer's scope) in one transaction, so neither
//! happens without the other.
//!
//! An impersonation that runs past its time limit (`IMPERSONATION_MINUTES`, 30 by default) is ended
//! by the first request of that session that sees it expired (the session loader): that request
//! records `impersonation_ended` with "time limit" and the admin is back in its own session. When
//! no request comes (the admin walked away), the engine's housekeeping ends it and records the same
//! within a tick, or "session expired" if the session's absolute expiry came first (jobs::steps).
//! Log out records the end too. A session ended with the others of its user (log out elsewhere, a
//! password reset, a disabled account) is expired rather than deleted while it acts as a customer,
//! so that housekeeping records its end as well (store::sessions::delete_others), and so is the
//! session a browser replaces by logging in again (store::sessions::end_replaced).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::domain::tenancy::Scope;
use crate::store;
use crate::store::sessions::{EndedImpersonation, StartImpersonation};

/// Who is acting: the admin behind the session.
pub struct Actor<'a> {
    pub user_id: i64,
    pub name: &'a str,
}

/// The customer to act as, looked up in the admin's own scope beforehand.
pub struct Target<'a> {
    pub customer_id: i64,
    pub reseller_id: i64,
    pub customer_name: &'a str,
}

/// Starts acting as `target` for `time_limit` (`IMPERSONATION_MINUTES`, 30 by default). False when the session is already acting as a
/// customer (nothing changed).
pub async fn start(
    db: &PgPool,
    session_hash: &[u8],
    actor: Actor<'_>,
    target: Target<'_>,
    reason: &str,
    now: DateTime<Utc>,
    time_limit: Duration,
) -> Result<bool, sqlx::Error> {
    let mut tx = store::auth(db).await?;
    let expires_at = now + time_limit;
    let started = store::sessions::start_impersonation(
        &mut tx,
        session_hash,
        StartImpersonation {
            customer_id: target.customer_id,
            reseller_id: target.reseller_id,
            customer_name: target.customer_name,
            reason,
            now,
            expires_at,
        },
    )
    .await?;
    if !started {
        return Ok(false);
    }
    let scope = Scope::Customer {
        reseller_id: target.reseller_id,
        customer_id: target.customer_id,
    };
    let mut tx = store::rescoped(tx, &scope).await?;
    let mut entry = store::audit::Entry::new(
        now,
        actor.name,
        "impersonation_started",
        "customer",
        target.customer_id.to_string(),
    );
    entry.actor_user_id = Some(actor.user_id);
    entry.reseller_id = Some(target.reseller_id);
    entry.customer_id = Some(target.customer_id);
    entry.reason = reason;
    entry.changes = json!({"logged_in_as": {"before": null, "after": target.customer_name},
                           "ends_at": {"before": null, "after": expires_at.format("%Y-%m-%d %H:%M UTC").to_string()}});
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(true)
}

/// Why an impersonation ended, as the audit log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    Exit,
    TimeLimit,
    LogOut,
}

impl EndedBy {
    fn as_str(self) -> &'static str {
        match self {
            EndedBy::Exit => "exit",
            EndedBy::TimeLimit => "time limit",
            EndedBy::LogOut => "log out",
        }
    }
}

/// Ends the session's impersonation and records it. With [`EndedBy::TimeLimit`] only an
/// impersonation whose time is up ends. `None` when there was nothing (more) to end.
pub async fn end(
    db: &PgPool,
    session_hash: &[u8],
    actor: Actor<'_>,
    ended_by: EndedBy,
    now: DateTime<Utc>,
) -> Result<Option<EndedImpersonation>, sqlx::Error> {
    let mut tx = store::auth(db).await?;
    let only_expired = (ended_by == EndedBy::TimeLimit).then_some(now);
    let Some(ended) = store::sessions::end_impersonation(&mut tx, session_hash, only_expired).await? else {
        return Ok(None);
    };
    // The customer row may be gone (its impersonation then has no customer id left to name).
    if ended.customer_id == 0 || ended.reseller_id == 0 {
        tx.commit().await?;
        return Ok(Some(ended));
    }
    let scope = Scope::Customer {
        reseller_id: ended.reseller_id,
        customer_id: ended.customer_id,
    };
    let mut tx = store::rescoped(tx, &scope).await?;
    let mut entry = store::audit::Entry::new(
        now,
        actor.name,
        "impersonation_ended",
        "customer",
        ended.customer_id.to_string(),
    );
    entry.actor_user_id = Some(actor.user_id);
    entry.reseller_id = Some(ended.reseller_id);
    entry.customer_id = Some(ended.customer_id);
    entry.reason = &ended.reason;
    entry.changes = json!({
        "logged_in_as": {"before": ended.customer_name, "after": null},
        "ended_by": {"before": null, "after": ended_by.as_str()},
        "minutes": {"before": null, "after": (now - ended.started_at).num_minutes()},
    });
    store::audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(Some(ended))
}
