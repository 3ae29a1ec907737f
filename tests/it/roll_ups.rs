//! The trigger-kept `reseller_counts` (the KPI header's customers and locations, the customer
//! list's reseller tree): equal to the raw counts after every kind of change, whoever makes it,
//! and what the pages show.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use msp_portal::jobs::Engine;

use crate::common::TestApp;
use crate::customer_form::{post, valid};

type Counts = BTreeMap<i64, (i64, i64, i64)>;

/// Every reseller's (customers, default customers, locations) as the roll-up has them, zeros left out.
async fn rolled_up(app: &TestApp) -> Counts {
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT reseller_id, customers, default_customers, locations FROM reseller_counts \
         WHERE customers <> 0 OR default_customers <> 0 OR locations <> 0",
    )
    .fetch_all(&app.db)
    .await
    .expect("roll-up");
    rows.into_iter().map(|(r, a, b, c)| (r, (a, b, c))).collect()
}

/// The same figures counted from the rows themselves.
async fn counted(app: &TestApp) -> Counts {
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT r.id, \
                (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND NOT c.is_default), \
                (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.is_default), \
                (SELECT count(*) FROM locations l WHERE l.reseller_id = r.id) \
         FROM resellers r",
    )
    .fetch_all(&app.db)
    .await
    .expect("raw counts");
    rows.into_iter()
        .filter(|(_, a, b, c)| (*a, *b, *c) != (0, 0, 0))
        .map(|(r, a, b, c)| (r, (a, b, c)))
        .collect()
}

async fn execute(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn the_counts_equal_the_raw_counts_after_every_kind_of_change() {
    let app = TestApp::demo().await;
    assert_eq!(rolled_up(&app).await, counted(&app).await, "after the seed");
    assert!(!counted(&app).await.is_empty(), "the demo has customers to count");

    // Through the web, as the app role under row-level security: a new customer.
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers/new").await;
    let created = post(&admin, "/customers/new", &valid("Acme Rockets")).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(rolled_up(&app).await, counted(&app).await, "after creating a customer");

    // Bulk statements, as the seed and the engine make them.
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    sqlx::query(
        "INSERT INTO customers (reseller_id, name, legal_name, pass_key_hash, lifecycle, deleted_at, created_at) \
         SELECT CASE WHEN g % 2 = 0 THEN $1 ELSE $2 END, 'Bulk ' || g, '', 'x', \
                CASE WHEN g % 5 = 0 THEN 'deleted' ELSE 'active' END, CASE WHEN g % 5 = 0 THEN now() END, now() \
         FROM generate_series(1, 40) g",
    )
    .bind(northwind)
    .bind(fabrikam)
    .execute(&app.db)
    .await
    .expect("bulk insert");
    execute(
        &app,
        "INSERT INTO locations (reseller_id, customer_id, name, address) \
         SELECT reseller_id, id, 'Site of ' || name, '' FROM customers WHERE name LIKE 'Bulk %'",
    )
    .await;
    assert_eq!(rolled_up(&app).await, counted(&app).await, "after bulk inserts");

    execute(
        &app,
        "UPDATE customers SET lifecycle = 'deleted', deleted_at = now() WHERE name LIKE 'Bulk 1%'",
    )
    .await;
    execute(
        &app,
        "UPDATE customers SET lifecycle = 'active', deleted_at = NULL WHERE name = 'Bulk 5'",
    )
    .await;
    execute(&app, "UPDATE customers SET sla_score = 50").await;
    assert_eq!(rolled_up(&app).await, counted(&app).await, "after lifecycle changes");

    execute(&app, "DELETE FROM locations WHERE name LIKE 'Site of Bulk 2%'").await;
    // Deleting customers takes their locations with them (ON DELETE CASCADE).
    execute(&app, "DELETE FROM customers WHERE name LIKE 'Bulk 3%'").await;
    assert_eq!(rolled_up(&app).await, counted(&app).await, "after deletes");

    // The engine's own changes: scheduled deletions that fall due.
    let later = app.clock_now() + chrono::Duration::days(400);
    execute(
        &app,
        "UPDATE customers SET lifecycle = 'scheduled_for_deletion', scheduled_for_deletion_at = now(), \
         delete_on = current_date WHERE name LIKE 'Bulk 4%'",
    )
    .await;
    app.clock.set(later);
    let engine = Engine::new(app.db.clone(), Arc::new(app.clock.clone()));
    engine.tick().await.expect("tick");
    assert_eq!(rolled_up(&app).await, counted(&app).await, "after the engine's tick");
}

#[tokio::test]
async fn the_dashboard_and_the_reseller_tree_show_a_new_customer_at_once() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let number = |text: &str| -> i64 {
        text.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a number in {text:?}"))
    };
    let before = admin.get("/dashboard").await.text("[data-kpi=customers]");
    let tree_before = admin.get("/customers").await.text("ul.tree .muted");
    admin.get("/customers/new").await;
    let created = post(&admin, "/customers/new", &valid("Acme Rockets")).await;
    assert_eq!(created.status, StatusCode::OK);
    let after = admin.get("/dashboard").await.text("[data-kpi=customers]");
    assert_eq!(number(&after), number(&before) + 1, "{before} → {after}");
    let tree_after = admin.get("/customers").await.text("ul.tree .muted");
    assert_eq!(number(&tree_before), number(&before), "tree {tree_before}");
    assert_eq!(
        number(&tree_after),
        number(&tree_before) + 1,
        "tree {tree_before} → {tree_after}"
    );
}

#[tokio::test]
async fn a_reseller_sees_and_changes_only_its_own_counts() {
    use msp_portal::domain::tenancy::Scope;
    use msp_portal::store;

    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let mut tx = store::scoped(&app.app_db, Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped");
    let seen: Vec<i64> = sqlx::query_scalar("SELECT reseller_id FROM reseller_counts")
        .fetch_all(&mut *tx)
        .await
        .expect("select");
    assert_eq!(seen, vec![northwind]);
    let changed = sqlx::query("UPDATE reseller_counts SET customers = customers + 1000")
        .execute(&mut *tx)
        .await
        .expect("update")
        .rows_affected();
    assert_eq!(changed, 1, "only its own row");
}
