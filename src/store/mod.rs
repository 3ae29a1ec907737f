//! All SQL lives here, one module per aggregate. Tenant data is reached only through a [`Tx`]
//! opened by [`scoped`], which carries the caller's scope into PostgreSQL (row-level security) and
//! into every function's own `WHERE reseller_id = …` filters.

pub mod admins;
pub mod agents;
pub mod alerts;
pub mod audit;
pub mod clients;
pub mod customer_details;
pub mod customers;
pub mod dashboard;
pub mod email;
pub mod impersonation;
pub mod invoicing;
pub mod license;
pub mod lifecycle;
pub mod organizations;
pub mod password_tokens;
pub mod portal;
pub mod resellers;
pub mod seat_limits;
pub mod sessions;
pub mod space;
pub mod two_factor;
pub mod users;

use std::ops::{Deref, DerefMut};

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::domain::tenancy::{Access, Scope};

/// A transaction that has told PostgreSQL whose data it may touch.
pub struct Tx {
    inner: Transaction<'static, Postgres>,
    access: Access,
}

impl Tx {
    pub fn scope(&self) -> &Scope {
        &self.access.scope
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Refuses a customer outside what the caller's account may see (an admin limited to chosen
    /// customers), before any query about it runs.
    pub fn check_customer(&self, customer_id: i64) -> Result<(), sqlx::Error> {
        if self.access.may_see_customer(customer_id) {
            Ok(())
        } else {
            Err(sqlx::Error::RowNotFound)
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }
}

impl Deref for Tx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}

/// Opens a transaction carrying `access` (a scope, or a user's scope with the limits of its
/// account). The settings are transaction-local (`set_config(…, true)`) so they can never leak to
/// the next request that borrows the same pooled connection.
pub async fn scoped(pool: &PgPool, access: impl Into<Access>) -> Result<Tx, sqlx::Error> {
    rescoped(pool.begin().await?, access).await
}

/// A transaction for logging in and looking up sessions, before any tenant scope is known: the
/// policies let it see users and sessions and no tenant data.
pub async fn auth(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('app.scope', 'auth', true)")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// The reseller and customer a scoped query must stay within (None: no limit at that level).
/// Store functions bind these into their own `WHERE` clauses, so a wrong id finds nothing even
/// before row-level security has its say.
pub fn tenant(tx: &Tx) -> (Option<i64>, Option<i64>) {
    (tx.scope().reseller_id(), tx.scope().customer_id())
}

/// Turns an auth-scope transaction (after it changed a session) into one carrying `scope`, so the
/// session change and its audit entry commit together or not at all.
///
/// A read-only account's transaction is READ ONLY: PostgreSQL itself refuses any write it tries,
/// whichever handler forgot to check (the error maps to a 403).
pub async fn rescoped(mut inner: Transaction<'static, Postgres>, access: impl Into<Access>) -> Result<Tx, sqlx::Error> {
    let access = access.into();
    let scope = access.scope;
    let reseller = scope.reseller_id().map(|id| id.to_string()).unwrap_or_default();
    let customer = scope.customer_id().map(|id| id.to_string()).unwrap_or_default();
    sqlx::query(
        "SELECT set_config('app.scope', $1, true), set_config('app.reseller_id', $2, true), \
                set_config('app.customer_id', $3, true), set_config('app.customer_ids', $4, true)",
    )
    .bind(scope.kind())
    .bind(reseller)
    .bind(customer)
    .bind(access.customer_ids_setting())
    .execute(&mut *inner)
    .await?;
    if access.read_only {
        sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *inner).await?;
    }
    Ok(Tx { inner, access })
}
