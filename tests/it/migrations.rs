//! The migrations apply to an empty database, undo cleanly and apply again.

use msp_portal::db::MIGRATOR;

use crate::common::{blank_database, drop_database};

const TABLES: &[&str] = &[
    "resellers",
    "customers",
    "clients",
    "client_schedules",
    "connectors",
    "backup_jobs",
    "backup_job_days",
    "backup_job_source_days",
    "restore_jobs",
    "accounts",
    "account_activity_months",
    "seat_limits",
    "locations",
    "contacts",
    "usage_daily",
    "mau_monthly",
    "mau_allowance_history",
    "mau_offers",
    "mau_orders",
    "alerts",
    "invoice_plans",
    "invoice_configs",
    "invoices",
    "invoice_lines",
    "deleted_items",
    "audit_log",
    "email_outbox",
    "users",
    "sessions",
    "admin_customer_grants",
    "service_plans",
    "server_settings",
    "engine_steps",
    "email_report_marks",
    "password_tokens",
    "invoice_plan_changes",
    "recovery_codes",
    "login_challenges",
    "reseller_counts",
    "reseller_mau_months",
    "mau_recount",
    "seat_forecast_queue",
    "reseller_endings",
    "sla_score_queue",
    "sla_score_due",
    "login_throttle",
];

async fn public_tables(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' ORDER BY 1")
        .fetch_all(pool)
        .await
        .expect("list tables")
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_undo_and_apply_again() {
    let (name, pool) = blank_database().await;
    MIGRATOR.run(&pool).await.expect("up");
    let tables = public_tables(&pool).await;
    for table in TABLES {
        assert!(
            tables.iter().any(|t| t == table),
            "table {table} is missing; have {tables:?}"
        );
    }
    MIGRATOR.undo(&pool, 0).await.expect("down");
    assert!(public_tables(&pool).await.is_empty(), "undo leaves no tables behind");
    MIGRATOR.run(&pool).await.expect("up again");
    assert_eq!(public_tables(&pool).await.len(), TABLES.len());
    pool.close().await;
    drop_database(&name);
}

#[tokio::test]
async fn every_tenant_table_has_row_level_security_forced() {
    let (name, pool) = blank_database().await;
    MIGRATOR.run(&pool).await.expect("up");
    let unprotected: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN information_schema.columns col ON col.table_name = c.relname AND col.column_name = 'reseller_id' \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity) ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("query catalog");
    assert!(
        unprotected.is_empty(),
        "tables with reseller_id but without forced RLS: {unprotected:?}"
    );
    pool.close().await;
    drop_database(&name);
}

#[tokio::test]
async fn the_app_role_is_neither_superuser_nor_exempt_from_row_security() {
    let (name, pool) = blank_database().await;
    MIGRATOR.run(&pool).await.expect("up");
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'msp_app'")
            .fetch_one(&pool)
            .await
            .expect("the app role exists");
    assert!(!superuser && !bypass);
    pool.close().await;
    drop_database(&name);
}

#[tokio::test]
async fn every_function_that_runs_as_its_owner_fixes_its_search_path_and_only_the_app_role_may_call_it() {
    let (name, pool) = blank_database().await;
    MIGRATOR.run(&pool).await.expect("up");
    // Default privileges (a NULL acl) let PUBLIC execute a function; any other role on the cluster
    // could then run a step that crosses tenants. Without pg_temp named last, a caller's temporary
    // table would be found before the function's own.
    let open: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'public' AND p.prosecdef \
           AND (p.proacl IS NULL \
                OR EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0) \
                OR NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=public, pg_temp']) \
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("query catalog");
    assert!(
        open.is_empty(),
        "SECURITY DEFINER functions open to PUBLIC or without search_path: {open:?}"
    );
    let lookups: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p WHERE p.prosecdef \
           AND p.proname IN ('app_open_session', 'agent_store_reports') \
           AND has_function_privilege('msp_app', p.oid, 'EXECUTE') ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("query catalog");
    assert_eq!(lookups, vec!["agent_store_reports", "app_open_session"]);
    pool.close().await;
    drop_database(&name);
}
