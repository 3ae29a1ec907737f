//! PostgreSQL's row-level security, the second wall behind the store's own filters.

use msp_portal::domain::tenancy::Scope;
use msp_portal::store;

use crate::common::TestApp;

#[tokio::test]
async fn an_unfiltered_select_sees_only_the_scoped_resellers_customers() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let mut tx = store::scoped(&app.app_db, &Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped tx");
    let resellers: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT reseller_id FROM customers")
        .fetch_all(&mut *tx)
        .await
        .expect("select");
    assert_eq!(resellers, vec![northwind]);
    let clients_elsewhere: i64 = sqlx::query_scalar("SELECT count(*) FROM clients WHERE reseller_id <> $1")
        .bind(northwind)
        .fetch_one(&mut *tx)
        .await
        .expect("select");
    assert_eq!(clients_elsewhere, 0);
}

#[tokio::test]
async fn without_a_scope_the_app_role_sees_no_tenant_rows() {
    let app = TestApp::demo().await;
    insert_failed_login(&app).await;
    for table in [
        "customers",
        "clients",
        "connectors",
        "accounts",
        "backup_jobs",
        "backup_job_days",
        "backup_job_source_days",
        "reseller_counts",
        "reseller_endings",
        "reseller_mau_months",
        "users",
        "sessions",
        "login_throttle",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&app.app_db)
            .await
            .expect("select");
        assert_eq!(count, 0, "{table} leaks rows without a scope");
    }
}

/// One address's failed logins, as the login page counts them.
async fn insert_failed_login(app: &TestApp) {
    sqlx::query("INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ('addr:192.0.2.1', 3, now())")
        .execute(&app.db)
        .await
        .expect("a failed login");
}

#[tokio::test]
async fn failed_logins_are_seen_in_the_login_scope_only() {
    let app = TestApp::demo().await;
    insert_failed_login(&app).await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    for scope in [Scope::Operator, Scope::Reseller { reseller_id: northwind }] {
        let mut tx = store::scoped(&app.app_db, &scope).await.expect("scoped tx");
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM login_throttle")
            .fetch_one(&mut *tx)
            .await
            .expect("select");
        assert_eq!(seen, 0, "{scope:?}");
    }
    let mut tx = store::auth(&app.app_db).await.expect("auth tx");
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM login_throttle")
        .fetch_one(&mut *tx)
        .await
        .expect("select");
    assert_eq!(seen, 1);
}

#[tokio::test]
async fn a_customer_scope_sees_only_that_customer() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let scope = Scope::Customer {
        reseller_id: northwind,
        customer_id: contoso,
    };
    let mut tx = store::scoped(&app.app_db, &scope).await.expect("scoped tx");
    let customers: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers")
        .fetch_all(&mut *tx)
        .await
        .expect("select");
    assert_eq!(customers, vec![contoso]);
    let other_jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM backup_jobs WHERE customer_id <> $1")
        .bind(contoso)
        .fetch_one(&mut *tx)
        .await
        .expect("select");
    assert_eq!(other_jobs, 0);
}

#[tokio::test]
async fn a_reseller_scope_cannot_write_into_another_reseller() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let fabrikam_customer = app.customer_id("Woodgrove Bank").await;
    let mut tx = store::scoped(&app.app_db, &Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped tx");
    let changed = sqlx::query("UPDATE customers SET notes = 'hijacked' WHERE id = $1")
        .bind(fabrikam_customer)
        .execute(&mut *tx)
        .await
        .expect("update runs")
        .rows_affected();
    assert_eq!(changed, 0);
    tx.commit().await.expect("commit");
    let notes: String = sqlx::query_scalar("SELECT notes FROM customers WHERE id = $1")
        .bind(fabrikam_customer)
        .fetch_one(&app.db)
        .await
        .expect("select");
    assert_eq!(notes, "");
}

#[tokio::test]
async fn scope_settings_do_not_leak_to_the_next_transaction_on_a_pooled_connection() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let mut conn = app.app_db.acquire().await.expect("connection");
    let mut tx = sqlx::Connection::begin(&mut *conn).await.expect("begin");
    sqlx::query("SELECT set_config('app.scope', 'reseller', true), set_config('app.reseller_id', $1, true)")
        .bind(northwind.to_string())
        .execute(&mut *tx)
        .await
        .expect("set");
    tx.commit().await.expect("commit");
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut *conn)
        .await
        .expect("select");
    assert_eq!(visible, 0);
}

#[tokio::test]
async fn the_cross_tenant_functions_refuse_a_customer_outside_the_callers_scope() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let clients = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM clients WHERE customer_id = $1")
            .bind(woodgrove)
            .fetch_one(&app.db)
            .await
            .expect("count")
    };
    let before = clients().await;
    let mut tx = store::scoped(&app.app_db, &Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped tx");
    let refused = sqlx::query("SELECT move_clients_to_default_customer($1)")
        .bind(woodgrove)
        .execute(&mut *tx)
        .await;
    assert!(refused.is_err(), "moving another reseller's clients must fail");
    drop(tx);
    assert_eq!(clients().await, before);
    let mut tx = store::scoped(&app.app_db, &Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped tx");
    let taken: bool = sqlx::query_scalar("SELECT customer_name_taken('woodgrove bank')")
        .fetch_one(&mut *tx)
        .await
        .expect("answer");
    assert!(taken, "names are global: another reseller's name counts as taken");
}

/// The MCAL pool's functions run as their owner, for whoever adds a client: they answer for the
/// caller's own reseller only (an operator's for any), and lock nothing of another.
#[tokio::test]
async fn the_mcal_pool_functions_answer_only_for_the_callers_reseller() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let contoso = app.customer_id("Contoso").await;
    for scope in [
        Scope::Reseller { reseller_id: northwind },
        Scope::Customer {
            reseller_id: northwind,
            customer_id: contoso,
        },
    ] {
        let mut tx = store::scoped(&app.app_db, &scope).await.expect("scoped tx");
        for function in ["mcal_pool_usage", "lock_mcal_pool"] {
            let own: Option<i64> = sqlx::query_scalar(&format!("SELECT drawing_from_pool FROM {function}($1)"))
                .bind(northwind)
                .fetch_optional(&mut *tx)
                .await
                .expect("own pool");
            assert!(own.is_some(), "{scope:?} {function}: its own reseller's pool");
            let other: Option<i64> = sqlx::query_scalar(&format!("SELECT drawing_from_pool FROM {function}($1)"))
                .bind(fabrikam)
                .fetch_optional(&mut *tx)
                .await
                .expect("other pool");
            assert_eq!(other, None, "{scope:?} {function}: another reseller's pool");
        }
        let free: Option<i64> = sqlx::query_scalar("SELECT reseller_mcal_pool_free($1)")
            .bind(fabrikam)
            .fetch_one(&mut *tx)
            .await
            .expect("free");
        assert_eq!(free, None, "{scope:?}: another reseller's free MCALs");
        // Nothing of Fabrikam's is locked: the owner can still lock its row without waiting.
        let mut owner = app.db.begin().await.expect("begin");
        let locked: Option<i64> = sqlx::query_scalar("SELECT id FROM resellers WHERE id = $1 FOR NO KEY UPDATE NOWAIT")
            .bind(fabrikam)
            .fetch_optional(&mut *owner)
            .await
            .expect("another reseller's row is not held");
        assert_eq!(locked, Some(fabrikam));
    }
    let mut tx = store::scoped(&app.app_db, &Scope::Operator).await.expect("operator tx");
    let any: Option<i64> = sqlx::query_scalar("SELECT drawing_from_pool FROM mcal_pool_usage($1)")
        .bind(fabrikam)
        .fetch_optional(&mut *tx)
        .await
        .expect("operator");
    assert!(any.is_some(), "an operator sees any reseller's pool");
}

#[tokio::test]
async fn another_tenants_backup_job_roll_ups_are_invisible_and_cannot_be_written() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let contoso = app.customer_id("Contoso").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    for table in ["backup_job_days", "backup_job_source_days"] {
        let (theirs, total): (i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*) FILTER (WHERE reseller_id <> $1), count(*) FROM {table}"
        ))
        .bind(northwind)
        .fetch_one(&app.db)
        .await
        .expect("owner count");
        assert!(
            theirs > 0 && total > theirs,
            "{table}: the demo has rows of several resellers"
        );

        let mut tx = store::scoped(&app.app_db, &Scope::Reseller { reseller_id: northwind })
            .await
            .expect("scoped tx");
        let (seen, elsewhere): (i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*), count(*) FILTER (WHERE reseller_id <> $1) FROM {table}"
        ))
        .bind(northwind)
        .fetch_one(&mut *tx)
        .await
        .expect("select");
        assert_eq!((seen, elsewhere), (total - theirs, 0), "{table} under a reseller scope");
        let changed = sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = $1"))
            .bind(woodgrove)
            .execute(&mut *tx)
            .await
            .expect("delete")
            .rows_affected();
        assert_eq!(changed, 0, "{table}: another reseller's rows cannot be deleted");
        drop(tx);

        let scope = Scope::Customer {
            reseller_id: northwind,
            customer_id: contoso,
        };
        let mut tx = store::scoped(&app.app_db, &scope).await.expect("scoped tx");
        let (seen, elsewhere): (i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*), count(*) FILTER (WHERE customer_id <> $1) FROM {table}"
        ))
        .bind(contoso)
        .fetch_one(&mut *tx)
        .await
        .expect("select");
        assert!(
            seen > 0 && elsewhere == 0,
            "{table} under a customer scope: {seen} rows, {elsewhere} of others"
        );
    }
    let mut tx = store::scoped(&app.app_db, &Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped tx");
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let refused = sqlx::query(
        "INSERT INTO backup_job_days (reseller_id, customer_id, day, succeeded) VALUES ($1, $2, '2026-06-01', 1000)",
    )
    .bind(fabrikam)
    .bind(woodgrove)
    .execute(&mut *tx)
    .await;
    assert!(refused.is_err(), "a row of another reseller cannot be written");
}

/// A write allowed in its scope may remove rows of another tenant through a cascade: a client moved
/// to the default customer keeps its jobs under their first customer. The SLA queue's triggers run
/// as their owner, so queuing that customer does not refuse the write.
#[tokio::test]
async fn a_cascade_into_another_tenants_jobs_is_not_refused_by_the_sla_queue() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let (client, owner): (i64, i64) =
        sqlx::query_as("SELECT id, customer_id FROM clients WHERE reseller_id = $1 ORDER BY id LIMIT 1")
            .bind(northwind)
            .fetch_one(&app.db)
            .await
            .expect("a client of Northwind");
    let woodgroves_reseller: i64 = sqlx::query_scalar("SELECT reseller_id FROM customers WHERE id = $1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("Woodgrove's reseller");
    assert_ne!(woodgroves_reseller, northwind, "another tenant's customer");
    sqlx::query(
        "INSERT INTO backup_jobs (reseller_id, customer_id, client_id, external_id, started_at, ended_at, status, bytes) \
         VALUES ($1, $2, $3, 'left-behind', now() - interval '1 hour', now(), 'succeeded', 1)",
    )
    .bind(woodgroves_reseller)
    .bind(woodgrove)
    .bind(client)
    .execute(&app.db)
    .await
    .expect("a job left under its first customer");
    sqlx::query("DELETE FROM sla_score_queue")
        .execute(&app.db)
        .await
        .expect("empty queue");

    let mut tx = store::scoped(&app.app_db, &Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped tx");
    let deleted = sqlx::query("DELETE FROM clients WHERE id = $1")
        .bind(client)
        .execute(&mut *tx)
        .await
        .expect("the reseller deletes its client")
        .rows_affected();
    assert_eq!(deleted, 1);
    tx.commit().await.expect("commit");
    let queued: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT customer_id FROM sla_score_queue ORDER BY 1")
        .fetch_all(&app.db)
        .await
        .expect("queue");
    let mut expected = vec![owner, woodgrove];
    expected.sort_unstable();
    assert_eq!(queued, expected, "both customers' scores are due");
}
