//! The trigger-kept `reseller_counts` (the KPI header's customers and locations, the customer
//! list's reseller tree): equal to the raw counts after every kind of change, whoever makes it,
//! and what the pages show.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use crate::common::TestApp;
use crate::customer_form::{post, valid};

/// Per reseller: customers, default customers, locations, critical connectors, exceeded seat
/// limits, approaching seat limits, accounts.
type Counts = BTreeMap<i64, [i64; 7]>;

/// Per reseller and day: rows of the expiring tab ending that day (-infinity: scheduled deletions).
type Endings = BTreeMap<(i64, String), i64>;

/// A reseller's id and its seven figures, as one query row.
type CountRow = (i64, i64, i64, i64, i64, i64, i64, i64);

fn without_zeros(rows: Vec<CountRow>) -> Counts {
    rows.into_iter()
        .map(|(r, a, b, c, d, e, f, g)| (r, [a, b, c, d, e, f, g]))
        .filter(|(_, figures)| figures.iter().any(|n| *n != 0))
        .collect()
}

/// Every reseller's figures as the roll-up has them.
async fn rolled_up(app: &TestApp) -> Counts {
    let rows = sqlx::query_as(
        "SELECT reseller_id, customers, default_customers, locations, critical_connectors, exceeded_seat_limits, \
                approaching_seat_limits, accounts \
         FROM reseller_counts",
    )
    .fetch_all(&app.db)
    .await
    .expect("roll-up");
    without_zeros(rows)
}

/// The expiring tab's days as `reseller_endings` has them.
async fn rolled_up_endings(app: &TestApp) -> Endings {
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT reseller_id, ends_on::text, customers FROM reseller_endings WHERE customers <> 0")
            .fetch_all(&app.db)
            .await
            .expect("endings roll-up");
    rows.into_iter().map(|(r, d, n)| ((r, d), n)).collect()
}

/// The same days counted from the customers, by the expiring tab's rules.
async fn counted_endings(app: &TestApp) -> Endings {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT reseller_id, ends_on::text, count(*) FROM ( \
             SELECT reseller_id, '-infinity'::date AS ends_on FROM customers \
             WHERE lifecycle = 'scheduled_for_deletion' AND NOT is_default \
             UNION ALL SELECT reseller_id, trial_ends_on FROM customers \
             WHERE lifecycle = 'active' AND tenant_type = 'evaluation' AND trial_ends_on IS NOT NULL AND NOT is_default \
             UNION ALL SELECT reseller_id, service_expires_on FROM customers \
             WHERE lifecycle = 'active' AND service_expires_on IS NOT NULL AND NOT is_default) e \
         GROUP BY 1, 2",
    )
    .fetch_all(&app.db)
    .await
    .expect("raw endings");
    rows.into_iter().map(|(r, d, n)| ((r, d), n)).collect()
}

/// Both roll-ups against the raw rows.
async fn assert_rolled_up(app: &TestApp, after: &str) {
    assert_eq!(rolled_up(app).await, counted(app).await, "{after}");
    assert_eq!(
        rolled_up_endings(app).await,
        counted_endings(app).await,
        "endings {after}"
    );
}

/// The same figures counted from the rows themselves.
async fn counted(app: &TestApp) -> Counts {
    let rows = sqlx::query_as(
        "SELECT r.id, \
                (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND NOT c.is_default), \
                (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.is_default), \
                (SELECT count(*) FROM locations l WHERE l.reseller_id = r.id), \
                (SELECT count(*) FROM connectors k JOIN customers c ON c.id = k.customer_id \
                  WHERE k.reseller_id = r.id AND k.health = 'critical' AND c.lifecycle <> 'deleted'), \
                (SELECT count(*) FROM seat_limits s JOIN customers c ON c.id = s.customer_id \
                  WHERE s.reseller_id = r.id AND s.seats_used > s.seat_limit AND c.lifecycle <> 'deleted'), \
                (SELECT count(*) FROM seat_limits s JOIN customers c ON c.id = s.customer_id \
                  WHERE s.reseller_id = r.id AND s.over_limit_in_days IS NOT NULL AND s.seats_used <= s.seat_limit \
                    AND c.lifecycle = 'active'), \
                (SELECT count(*) FROM accounts a WHERE a.reseller_id = r.id) \
         FROM resellers r",
    )
    .fetch_all(&app.db)
    .await
    .expect("raw counts");
    without_zeros(rows)
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
    assert_rolled_up(&app, "after the seed").await;
    assert!(!counted(&app).await.is_empty(), "the demo has customers to count");

    // Through the web, as the app role under row-level security: a new customer.
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers/new").await;
    let created = post(&admin, "/customers/new", &valid("Acme Rockets")).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_rolled_up(&app, "after creating a customer").await;

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
    execute(
        &app,
        "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_reason, health_since, created_at) \
         SELECT reseller_id, id, 'Mail', 'microsoft_365', CASE WHEN id % 3 = 0 THEN 'healthy' ELSE 'critical' END, '', now(), now() \
         FROM customers WHERE name LIKE 'Bulk %'",
    )
    .await;
    execute(
        &app,
        "INSERT INTO seat_limits (reseller_id, customer_id, seat_property, seat_limit, seats_used) \
         SELECT reseller_id, id, 'google_user', 10, CASE WHEN id % 2 = 0 THEN 12 ELSE 8 END \
         FROM customers WHERE name LIKE 'Bulk %'",
    )
    .await;
    execute(
        &app,
        "INSERT INTO accounts (reseller_id, customer_id, external_id, seat_property, created_at) \
         SELECT reseller_id, id, 'bulk-' || n, 'google_user', now() FROM customers, generate_series(1, 3) n \
         WHERE name LIKE 'Bulk %'",
    )
    .await;
    assert_rolled_up(&app, "after bulk inserts").await;

    execute(
        &app,
        "UPDATE connectors SET health = 'healthy' WHERE name = 'Mail' AND customer_id % 4 = 1",
    )
    .await;
    execute(
        &app,
        "UPDATE connectors SET health = 'critical' WHERE name = 'Mail' AND customer_id % 4 = 0",
    )
    .await;
    execute(
        &app,
        "UPDATE connectors SET health = 'warning' WHERE name = 'Mail' AND customer_id % 5 = 2",
    )
    .await;
    execute(
        &app,
        "UPDATE seat_limits SET seats_used = seats_used + 3 WHERE seat_property = 'google_user'",
    )
    .await;
    execute(
        &app,
        "UPDATE seat_limits SET seat_limit = 100 WHERE seat_property = 'google_user' AND customer_id % 3 = 0",
    )
    .await;
    execute(
        &app,
        "DELETE FROM seat_limits WHERE seat_property = 'google_user' AND customer_id % 7 = 0",
    )
    .await;
    assert_rolled_up(&app, "after health and usage changes").await;

    // The engine's seat forecasts, and what the expiring tab is about: evaluations, their end,
    // services' expiry.
    execute(
        &app,
        "UPDATE seat_limits SET over_limit_in_days = 5 WHERE seat_property = 'google_user' AND customer_id % 2 = 1",
    )
    .await;
    execute(
        &app,
        "UPDATE seat_limits SET over_limit_in_days = 9 WHERE over_limit_in_days = 5 AND customer_id % 3 = 1",
    )
    .await;
    execute(
        &app,
        "UPDATE seat_limits SET over_limit_in_days = NULL WHERE over_limit_in_days IS NOT NULL AND customer_id % 5 = 1",
    )
    .await;
    execute(
        &app,
        "UPDATE customers SET tenant_type = 'evaluation', trial_ends_on = current_date + (id % 40)::int \
         WHERE name LIKE 'Bulk %' AND id % 3 = 0",
    )
    .await;
    execute(
        &app,
        "UPDATE customers SET service_expires_on = current_date + (id % 50)::int WHERE name LIKE 'Bulk %' AND id % 4 <> 0",
    )
    .await;
    execute(
        &app,
        "UPDATE customers SET trial_ends_on = trial_ends_on + 7 WHERE tenant_type = 'evaluation' AND id % 2 = 0",
    )
    .await;
    execute(
        &app,
        "UPDATE customers SET tenant_type = 'commercial', trial_ends_on = NULL WHERE name LIKE 'Bulk %' AND id % 9 = 0",
    )
    .await;
    assert_rolled_up(&app, "after forecasts and end dates change").await;
    let approaching: i64 = sqlx::query_scalar("SELECT sum(approaching_seat_limits)::bigint FROM reseller_counts")
        .fetch_one(&app.db)
        .await
        .expect("approaching");
    assert!(approaching > 0, "the forecasts above left some seat limits approaching");

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
    assert_rolled_up(&app, "after lifecycle changes").await;

    execute(&app, "DELETE FROM locations WHERE name LIKE 'Site of Bulk 2%'").await;
    execute(&app, "DELETE FROM accounts WHERE external_id = 'bulk-2'").await;
    execute(
        &app,
        "DELETE FROM connectors WHERE name = 'Mail' AND customer_id % 6 = 1",
    )
    .await;
    // Deleting customers takes their locations with them (ON DELETE CASCADE).
    execute(&app, "DELETE FROM customers WHERE name LIKE 'Bulk 3%'").await;
    assert_rolled_up(&app, "after deletes").await;

    // The engine's own changes: scheduled deletions that fall due.
    let later = app.clock_now() + chrono::Duration::days(400);
    execute(
        &app,
        "UPDATE customers SET lifecycle = 'scheduled_for_deletion', scheduled_for_deletion_at = now(), \
         delete_on = current_date WHERE name LIKE 'Bulk 4%'",
    )
    .await;
    app.clock.set(later);
    app.tick().await;
    assert_rolled_up(&app, "after the engine's tick").await;
}

/// An agent's report runs in its customer's scope: the counts its connector and seat changes move
/// are its reseller's, and row-level security lets it move them.
#[tokio::test]
async fn an_agent_report_moves_its_resellers_attention_counts() {
    use serde_json::json;

    let app = TestApp::demo().await;
    let pass_key = msp_portal::seed::demo_pass_key("Contoso");
    let client = app.client();
    let registered = client
        .send(
            axum::http::Method::POST,
            "/api/v1/register",
            Some(json!({"customer": "Contoso", "pass_key": pass_key, "client_id": "COUNTER", "hostname": "h", "os": "Linux"}).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert!(registered.status.is_success(), "{}", registered.body);
    let token = serde_json::from_str::<serde_json::Value>(&registered.body).expect("json")["client_token"]
        .as_str()
        .expect("token")
        .to_string();
    let bearer = format!("Bearer {token}");
    for health in ["critical", "healthy", "critical"] {
        let report = json!({
            "connectors": [{"name": "Counted", "kind": "microsoft_365", "health": health, "reason": "Token expired"}],
            "jobs": [], "seats": [{"seat_property": "m365_user", "seats_used": 100000}], "accounts": []
        });
        let answer = client
            .send(
                axum::http::Method::POST,
                "/api/v1/reports",
                Some(report.to_string()),
                &[("content-type", "application/json"), ("authorization", bearer.as_str())],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(
            rolled_up(&app).await,
            counted(&app).await,
            "after a report with a {health} connector"
        );
    }
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

/// Per reseller and month: all MAU, the listed customers' (neither deleted nor the default
/// customer), the default customer's.
type MauParts = Vec<(i64, chrono::NaiveDate, i64, i64, i64)>;

/// Every reseller's monthly MAU as `reseller_mau_months` has it and as summed from mau_monthly.
async fn mau_sums(app: &TestApp) -> (MauParts, MauParts) {
    let rolled: MauParts = sqlx::query_as(
        "SELECT reseller_id, month, mau, listed_mau, default_mau FROM reseller_mau_months \
         WHERE (mau, listed_mau, default_mau) <> (0, 0, 0) ORDER BY 1, 2",
    )
    .fetch_all(&app.db)
    .await
    .expect("roll-up");
    let raw: MauParts = sqlx::query_as(
        "SELECT m.reseller_id, m.month, sum(m.mau)::bigint, \
                coalesce(sum(m.mau) FILTER (WHERE c.lifecycle <> 'deleted' AND NOT c.is_default), 0)::bigint, \
                coalesce(sum(m.mau) FILTER (WHERE c.is_default), 0)::bigint \
         FROM mau_monthly m JOIN customers c ON c.id = m.customer_id \
         GROUP BY 1, 2 HAVING (sum(m.mau), coalesce(sum(m.mau) FILTER (WHERE c.lifecycle <> 'deleted' AND NOT c.is_default), 0), \
                              coalesce(sum(m.mau) FILTER (WHERE c.is_default), 0)) <> (0, 0, 0) \
         ORDER BY 1, 2",
    )
    .fetch_all(&app.db)
    .await
    .expect("raw");
    (rolled, raw)
}

#[tokio::test]
async fn monthly_mau_totals_equal_the_raw_sums_after_every_kind_of_change() {
    let app = TestApp::demo().await;
    let (rolled, raw) = mau_sums(&app).await;
    assert!(!raw.is_empty(), "the demo has MAU");
    assert_eq!(rolled, raw, "after the seed");

    app.tick().await;
    let (rolled, raw) = mau_sums(&app).await;
    assert_eq!(rolled, raw, "after the engine's mau step");

    execute(&app, "UPDATE mau_monthly SET mau = mau + 7 WHERE customer_id % 2 = 0").await;
    execute(
        &app,
        "INSERT INTO mau_monthly (reseller_id, customer_id, month, mau) \
         SELECT reseller_id, id, '2020-01-01', 3 FROM customers \
         ON CONFLICT (customer_id, month) DO UPDATE SET mau = mau_monthly.mau + 1",
    )
    .await;
    execute(
        &app,
        "INSERT INTO mau_monthly (reseller_id, customer_id, month, mau) \
         SELECT reseller_id, id, '2020-01-01', 3 FROM customers WHERE id % 3 = 0 \
         ON CONFLICT (customer_id, month) DO UPDATE SET mau = mau_monthly.mau + 1",
    )
    .await;
    execute(&app, "DELETE FROM mau_monthly WHERE customer_id % 5 = 0").await;
    let (rolled, raw) = mau_sums(&app).await;
    assert_eq!(rolled, raw, "after updates, upserts and deletes");

    // Customers deleted, restored and removed outright move their MAU between the parts.
    execute(
        &app,
        "UPDATE customers SET lifecycle = 'deleted', deleted_at = now() \
         WHERE NOT is_default AND id % 2 = 1 AND id IN (SELECT customer_id FROM mau_monthly)",
    )
    .await;
    let (rolled, raw) = mau_sums(&app).await;
    assert!(
        raw.iter().any(|(_, _, all, listed, _)| all > listed),
        "some deleted customer has MAU"
    );
    assert_eq!(rolled, raw, "after customers are deleted");
    execute(
        &app,
        "UPDATE customers SET lifecycle = 'active', deleted_at = NULL WHERE lifecycle = 'deleted' AND id % 4 = 1",
    )
    .await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    execute(
        &app,
        &format!(
            "INSERT INTO customers (reseller_id, name, legal_name, pass_key_hash, created_at) \
             SELECT {northwind}, 'Gone ' || g, '', 'x', now() FROM generate_series(1, 6) g"
        ),
    )
    .await;
    execute(
        &app,
        "INSERT INTO mau_monthly (reseller_id, customer_id, month, mau) \
         SELECT c.reseller_id, c.id, '2020-02-01', 11 FROM customers c WHERE c.name LIKE 'Gone %' OR c.is_default",
    )
    .await;
    execute(
        &app,
        "UPDATE customers SET lifecycle = 'deleted', deleted_at = now() WHERE name IN ('Gone 1', 'Gone 2')",
    )
    .await;
    execute(
        &app,
        "DELETE FROM customers WHERE name IN ('Gone 2', 'Gone 3', 'Gone 4')",
    )
    .await;
    let (rolled, raw) = mau_sums(&app).await;
    assert_eq!(rolled, raw, "after customers are restored and removed");
    assert!(
        raw.iter().any(|(_, _, _, _, default)| *default > 0),
        "the default customer's MAU is kept apart"
    );
}

#[tokio::test]
async fn the_licence_totals_without_a_search_equal_the_raw_sums() {
    use msp_portal::domain::tenancy::Scope;
    use msp_portal::store;

    let app = TestApp::demo().await;
    app.tick().await;
    // The reseller with the most MAU, and one of its customers with MAU deleted: its MAU counts
    // in the headline but not in the listed organizations' total.
    let (reseller, customer): (i64, i64) = sqlx::query_as(
        "SELECT m.reseller_id, max(m.customer_id) FROM mau_monthly m JOIN customers c ON c.id = m.customer_id \
         WHERE NOT c.is_default AND m.mau > 0 GROUP BY 1 ORDER BY sum(m.mau) DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("a reseller with MAU");
    sqlx::query("UPDATE customers SET lifecycle = 'deleted', deleted_at = now() WHERE id = $1")
        .bind(customer)
        .execute(&app.db)
        .await
        .expect("delete");
    let (from, to): (chrono::NaiveDate, chrono::NaiveDate) =
        sqlx::query_as("SELECT min(month), max(month) FROM mau_monthly WHERE reseller_id = $1")
            .bind(reseller)
            .fetch_one(&app.db)
            .await
            .expect("months");
    let raw: Vec<(chrono::NaiveDate, i64, i64, i64)> = sqlx::query_as(
        "SELECT g.month::date, \
                coalesce((SELECT sum(m.mau) FROM mau_monthly m JOIN customers c ON c.id = m.customer_id \
                          WHERE m.reseller_id = $1 AND m.month = g.month::date AND NOT c.is_default), 0)::bigint, \
                coalesce((SELECT sum(m.mau) FROM mau_monthly m JOIN customers c ON c.id = m.customer_id \
                          WHERE m.reseller_id = $1 AND m.month = g.month::date AND NOT c.is_default \
                            AND c.lifecycle <> 'deleted'), 0)::bigint, \
                (SELECT count(*) FROM customers c WHERE c.reseller_id = $1 AND NOT c.is_default AND c.lifecycle <> 'deleted') \
         FROM generate_series($2::date, $3::date, interval '1 month') g(month) ORDER BY 1",
    )
    .bind(reseller)
    .bind(from)
    .bind(to)
    .fetch_all(&app.db)
    .await
    .expect("raw");
    let mut tx = store::scoped(&app.app_db, Scope::Reseller { reseller_id: reseller })
        .await
        .expect("scoped");
    let totals = store::license::totals(&mut tx, reseller, "", from, to)
        .await
        .expect("totals");
    let shown: Vec<(chrono::NaiveDate, i64, i64, i64)> = totals
        .iter()
        .map(|m| (m.month, m.mau, m.listed_mau, m.organizations))
        .collect();
    assert!(
        raw.iter().any(|(_, all, listed, _)| all > listed),
        "the deleted customer's MAU is left out of the list"
    );
    assert_eq!(shown, raw);
}

/// Every customer's stored client count and its clients counted, by customer id.
async fn client_counts(app: &TestApp) -> (BTreeMap<i64, i64>, BTreeMap<i64, i64>) {
    let stored: Vec<(i64, i64)> = sqlx::query_as("SELECT id, client_count FROM customers")
        .fetch_all(&app.db)
        .await
        .expect("stored");
    let counted: Vec<(i64, i64)> =
        sqlx::query_as("SELECT c.id, (SELECT count(*) FROM clients k WHERE k.customer_id = c.id) FROM customers c")
            .fetch_all(&app.db)
            .await
            .expect("counted");
    (stored.into_iter().collect(), counted.into_iter().collect())
}

async fn assert_client_counts(app: &TestApp, after: &str) {
    let (stored, counted) = client_counts(app).await;
    assert_eq!(
        stored, counted,
        "{after}: the stored client counts differ from the clients"
    );
}

/// The client count the customer list shows and sorts by (migration 20261207000006) is the
/// customer's clients, after every kind of change, whoever makes it.
#[tokio::test]
async fn the_stored_client_counts_equal_the_clients_after_every_kind_of_change() {
    let app = TestApp::demo().await;
    assert_client_counts(&app, "after the seed").await;
    let (_, counted) = client_counts(&app).await;
    assert!(counted.values().any(|n| *n > 1), "the demo has customers with clients");

    // As the app role under row-level security: a customer adds one in its portal, an agent
    // registers one, an admin deletes one.
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, max_clients = NULL WHERE name = 'Contoso'")
        .execute(&app.db)
        .await
        .expect("room");
    let customer = app.login("contoso-portal").await;
    customer.get("/portal").await;
    let added = customer
        .post_form(
            "/portal/clients",
            &[("client_key", "laptop-077"), ("hostname", "laptop-077")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    app.agent_token("Contoso", "COUNT-1").await;
    let contoso = app.customer_id("Contoso").await;
    let client: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE client_key = 'laptop-077'")
        .fetch_one(&app.db)
        .await
        .expect("client");
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let deleted = admin
        .post_form(&format!("/customers/{contoso}/clients/{client}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_client_counts(&app, "after the portal, an agent and an admin").await;

    // Bulk statements over several customers, a move, and deletes with their customer.
    execute(
        &app,
        "INSERT INTO customers (reseller_id, name, legal_name, pass_key_hash, created_at) \
         SELECT r.id, 'Counted ' || g, '', 'x', now() FROM resellers r CROSS JOIN generate_series(1, 6) g \
         WHERE r.name = 'Northwind Backup Services'",
    )
    .await;
    execute(
        &app,
        "INSERT INTO clients (reseller_id, customer_id, client_key, hostname, created_by, created_at) \
         SELECT c.reseller_id, c.id, 'bulk-' || n, 'bulk-' || n, 'admin', now() \
         FROM customers c CROSS JOIN generate_series(1, 5) n WHERE c.name LIKE 'Counted %' AND n <= c.id % 5 + 1",
    )
    .await;
    assert_client_counts(&app, "after a bulk insert").await;
    execute(
        &app,
        "UPDATE clients SET customer_id = (SELECT id FROM customers WHERE name = 'Counted 1'), \
                client_key = 'moved-' || id \
         WHERE client_key = 'bulk-1' AND customer_id IN (SELECT id FROM customers WHERE name IN ('Counted 2', 'Counted 3'))",
    )
    .await;
    execute(
        &app,
        "UPDATE clients SET hostname = 'renamed' WHERE client_key = 'bulk-2'",
    )
    .await;
    assert_client_counts(&app, "after moving clients").await;
    execute(&app, "DELETE FROM clients WHERE client_key = 'bulk-3'").await;
    execute(&app, "DELETE FROM customers WHERE name = 'Counted 4'").await;
    assert_client_counts(&app, "after deletes").await;

    // The engine's deletion of a customer whose retention has ended.
    execute(
        &app,
        "UPDATE customers SET lifecycle = 'scheduled_for_deletion', scheduled_for_deletion_at = now(), \
         delete_on = current_date WHERE name = 'Counted 5'",
    )
    .await;
    app.clock.set(app.clock_now() + chrono::Duration::days(400));
    app.tick().await;
    assert_client_counts(&app, "after the engine's deletion").await;
    let gone: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id WHERE c.name LIKE 'Counted 5%'",
    )
    .fetch_one(&app.db)
    .await
    .expect("gone");
    assert_eq!(gone, 0, "the engine deleted the customer's clients");

    execute(&app, "TRUNCATE clients CASCADE").await;
    assert_client_counts(&app, "after a truncate").await;
}
