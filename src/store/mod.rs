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
pub mod login_throttle;
pub mod organizations;
pub mod password_tokens;
pub mod portal;
pub mod resellers;
pub mod seat_limits;
pub mod sessions;
pub mod space;
pub mod two_factor;
pub mod users;

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::domain::tenancy::{Access, Scope};

/// A transaction that has told PostgreSQL whose data it may touch.
pub struct Tx {
    inner: Transaction<'static, Postgres>,
    access: Access,
    ending: Ending,
}

/// How a transaction ends once its work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// It may have written: COMMIT.
    Commit,
    /// A page's, which wrote nothing and may write nothing (`app_open_session` made it READ ONLY):
    /// it is dropped instead. The ROLLBACK sqlx queues on drop then travels with the Sync sqlx
    /// sends when the connection goes back to its pool, where a COMMIT would cost a round trip of
    /// its own (docs/decisions.md, "A page's transaction is read only").
    Drop,
}

impl Ending {
    async fn end(self, inner: Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
        match self {
            Ending::Commit => inner.commit().await,
            Ending::Drop => Ok(()),
        }
    }
}

impl Tx {
    /// A transaction whose settings a statement of the store has already made of `access` (see
    /// `agents::open_report`).
    fn adopted(inner: Transaction<'static, Postgres>, access: Access) -> Tx {
        Tx {
            inner,
            access,
            ending: Ending::Commit,
        }
    }

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

    /// Ends the transaction, keeping what it wrote (a page's has nothing to keep, see [`Ending`]).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.ending.end(self.inner).await
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
///
/// On a page (GET) the session layer has already opened the transaction and set its user's scope
/// ([`PageTx`]); the first `scoped` of the page takes it over, so the page costs one pool acquire
/// and no extra statement. The settings are set again whenever they differ from what the caller
/// asks for. That transaction is READ ONLY: a page (GET) that must write or lock rows needs a
/// transaction of its own, begun after the page's has ended (one connection at a time), as
/// [`auth`] does.
pub async fn scoped(pool: &PgPool, access: impl Into<Access>) -> Result<Tx, sqlx::Error> {
    let access = access.into();
    match PageTx::take_current() {
        Some(mut opened) => {
            if opened.settings != Settings::of(&access) {
                set_settings(&mut opened.inner, &access).await?;
            }
            // Already READ ONLY, whatever the account may do.
            Ok(Tx {
                inner: opened.inner,
                access,
                ending: opened.ending,
            })
        }
        None => rescoped(begin(pool).await?, access).await,
    }
}

/// Ends the page's transaction if nothing took it yet.
async fn end_page_tx() -> Result<(), sqlx::Error> {
    match PageTx::take_current() {
        Some(opened) => opened.ending.end(opened.inner).await,
        None => Ok(()),
    }
}

/// A transaction for logging in and looking up sessions, before any tenant scope is known: the
/// policies let it see users and sessions and no tenant data. Its own, not the page's, since what
/// it is for usually writes.
pub async fn auth(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    end_page_tx().await?;
    let mut tx = begin(pool).await?;
    sqlx::query(
        "SELECT set_config('app.scope', 'auth', true), set_config('app.reseller_id', '', true), \
                set_config('app.customer_id', '', true), set_config('app.customer_ids', '', true)",
    )
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// Opens a transaction in a task of its own, so that it completes even if the request is dropped
/// while its BEGIN is in flight (the client went away). sqlx forgets such a BEGIN, and would return
/// the connection to the pool still inside the transaction: the next borrower's BEGIN would be a
/// no-op and any tenant settings left on it would outlive their request. Completed, the transaction
/// nobody takes is dropped, and sqlx rolls it back before the connection is lent again.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await })
        .await
        .map_err(|_| sqlx::Error::WorkerCrashed)?
}

/// The reseller and customer a scoped query must stay within (None: no limit at that level).
/// Store functions bind these into their own `WHERE` clauses, so a wrong id finds nothing even
/// before row-level security has its say.
pub fn tenant(tx: &Tx) -> (Option<i64>, Option<i64>) {
    (tx.scope().reseller_id(), tx.scope().customer_id())
}

/// Turns an auth-scope transaction (after it changed a session) into one carrying `scope`, so the
/// session change and its audit entry commit together or not at all.
pub async fn rescoped(mut inner: Transaction<'static, Postgres>, access: impl Into<Access>) -> Result<Tx, sqlx::Error> {
    let access = access.into();
    set_settings(&mut inner, &access).await?;
    // A read-only account's transaction is READ ONLY: PostgreSQL itself refuses any write it
    // tries, whichever handler forgot to check (the error maps to a 403).
    if access.read_only {
        sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *inner).await?;
    }
    Ok(Tx {
        inner,
        access,
        ending: Ending::Commit,
    })
}

async fn set_settings(inner: &mut PgConnection, access: &Access) -> Result<(), sqlx::Error> {
    let settings = Settings::of(access);
    sqlx::query(
        "SELECT set_config('app.scope', $1, true), set_config('app.reseller_id', $2, true), \
                set_config('app.customer_id', $3, true), set_config('app.customer_ids', $4, true)",
    )
    .bind(settings.scope)
    .bind(settings.reseller_id)
    .bind(settings.customer_id)
    .bind(settings.customer_ids)
    .execute(inner)
    .await?;
    Ok(())
}

/// The tenant settings of a transaction, as the row-level security policies read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub scope: String,
    pub reseller_id: String,
    pub customer_id: String,
    pub customer_ids: String,
}

impl Settings {
    pub fn of(access: &Access) -> Settings {
        let scope = &access.scope;
        Settings {
            scope: scope.kind().to_string(),
            reseller_id: scope.reseller_id().map(|id| id.to_string()).unwrap_or_default(),
            customer_id: scope.customer_id().map(|id| id.to_string()).unwrap_or_default(),
            customer_ids: access.customer_ids_setting(),
        }
    }
}

tokio::task_local! {
    static PAGE_TX: PageTx;
}

/// The transaction the session layer opened for a page, with the settings it left on it, until
/// the page's first [`scoped`] takes it (or [`auth`] ends it). Only pages (GET) get one: a form post's
/// body is read (and its CSRF token checked) before its handler runs, and a slow client must not
/// hold a pool connection meanwhile.
#[derive(Clone, Default)]
pub struct PageTx(Arc<Mutex<Option<Opened>>>);

struct Opened {
    inner: Transaction<'static, Postgres>,
    settings: Settings,
    ending: Ending,
}

impl PageTx {
    /// The transaction `sessions::open` left READ ONLY with `settings`; `activity_recorded`: the
    /// lookup wrote the session's activity stamp, which must be committed.
    pub fn new(inner: Transaction<'static, Postgres>, settings: Settings, activity_recorded: bool) -> PageTx {
        let ending = if activity_recorded {
            Ending::Commit
        } else {
            Ending::Drop
        };
        PageTx(Arc::new(Mutex::new(Some(Opened {
            inner,
            settings,
            ending,
        }))))
    }

    /// Runs the page with this transaction on offer to its store calls.
    pub async fn run<F: Future>(&self, page: F) -> F::Output {
        PAGE_TX.scope(self.clone(), page).await
    }

    /// Ends the transaction if the page did not take it, committing the session's activity stamp
    /// if the lookup wrote one.
    pub async fn finish(&self) -> Result<(), sqlx::Error> {
        match self.take() {
            Some(opened) => opened.ending.end(opened.inner).await,
            None => Ok(()),
        }
    }

    fn take(&self) -> Option<Opened> {
        // A poisoned lock means a panic while taking it: the transaction inside is still whole.
        match self.0.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }

    fn take_current() -> Option<Opened> {
        PAGE_TX.try_with(PageTx::take).ok().flatten()
    }
}

/// An optional filter of a query: `condition` when the call uses it, else `param IS NULL` (true,
/// the parameter being bound to NULL). Writing `(param IS NULL OR condition)` instead keeps one
/// SQL text for every call, but then PostgreSQL must plan each execution anew (a cached generic
/// plan could not use an index for the OR), which costs a dashboard more than running it; with
/// the filter spelled out per call, each variant's plan is cached on the connection.
pub(crate) fn filter(applies: bool, condition: &str, param: &str) -> String {
    if applies {
        condition.to_string()
    } else {
        format!("{param} IS NULL")
    }
}

/// `%part%` for ILIKE: the search text trimmed, and `%`, `_` and `\` typed by the user matching
/// themselves rather than acting as wildcards.
pub(crate) fn like_pattern(search: &str) -> String {
    let escaped = search
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `column = $1` for one reseller (bound as `$1`); every reseller (the operator's view) otherwise.
pub(crate) fn by_reseller(reseller: Option<i64>, column: &str) -> String {
    by_reseller_at(reseller, column, 1)
}

/// [`by_reseller`] with the reseller bound as parameter `param`.
pub(crate) fn by_reseller_at(reseller: Option<i64>, column: &str, param: usize) -> String {
    filter(
        reseller.is_some(),
        &format!("{column} = ${param}"),
        &format!("${param}::bigint"),
    )
}

#[cfg(test)]
mod tests {
    use super::{filter, like_pattern};

    #[test]
    fn search_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern(" con "), "%con%");
        assert_eq!(like_pattern("100%_off\\"), "%100\\%\\_off\\\\%");
    }

    #[test]
    fn an_unused_filter_only_keeps_its_parameter_typed() {
        assert_eq!(filter(true, "c.reseller_id = $1", "$1::bigint"), "c.reseller_id = $1");
        assert_eq!(filter(false, "c.reseller_id = $1", "$1::bigint"), "$1::bigint IS NULL");
    }
}
