//! `/customers`: the reseller tree, the customer list, its CSV export and the row actions.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn scalar_i64(app: &TestApp, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("query")
}

async fn flag(app: &TestApp, column: &str, customer: i64) -> bool {
    sqlx::query_scalar(&format!("SELECT {column} FROM customers WHERE id = $1"))
        .bind(customer)
        .fetch_one(&app.db)
        .await
        .expect("customer")
}

#[tokio::test]
async fn a_reseller_admin_sees_only_its_own_reseller_and_customers() {
    let app = TestApp::demo().await;
    let page = app.login("admin@northwind.example").await.get("/customers").await;
    assert_eq!(page.status, StatusCode::OK);
    let tree = page.texts(".tree li a span:first-child");
    assert_eq!(tree, vec!["Northwind Backup Services"]);
    let names = page.texts("#customers td.name");
    assert_eq!(names.len(), 18, "{names:?}");
    assert!(names.contains(&"Contoso".to_string()));
    assert!(!names.contains(&"Woodgrove Bank".to_string()));
    assert_eq!(
        names.first().map(String::as_str),
        Some("Adventure Works"),
        "sorted by name"
    );
}

#[tokio::test]
async fn the_list_shows_mcals_clients_space_and_status_of_each_customer() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET mcals_allotted = NULL, space_quota_bytes = 1073741824, used_space_bytes = 536870912 WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("arrange");
    let clients = scalar_i64(&app, "SELECT count(*) FROM clients WHERE customer_id = $1", contoso).await;
    let page = app.login("admin@northwind.example").await.get("/customers").await;
    let row = format!("tr[data-customer=\"{contoso}\"]");
    assert_eq!(page.text(&format!("{row} td.mcals")), "auto");
    assert_eq!(page.text(&format!("{row} td.clients")), clients.to_string());
    assert_eq!(page.text(&format!("{row} td.quota")), "1.0 GiB");
    assert_eq!(page.text(&format!("{row} td.used")), "512.0 MiB");
    assert_eq!(page.text(&format!("{row} td.status")), "active");
    let lucerne = app.customer_id("Lucerne Publishing").await;
    assert_eq!(
        page.text(&format!("tr[data-customer=\"{lucerne}\"] td.status")),
        "deactivated"
    );
    let alpine = app.customer_id("Alpine Ski House").await;
    assert_eq!(
        page.text(&format!("tr[data-customer=\"{alpine}\"] td.status")),
        "scheduled for deletion"
    );
    let blue = app.customer_id("Blue Yonder Airlines").await;
    assert_eq!(
        page.text(&format!("tr[data-customer=\"{blue}\"] td.status")),
        "evaluation"
    );
    let titles = page.attrs(&format!("{row} .row-actions [title]"), "title");
    assert!(titles.contains(&"Delete customer".to_string()), "{titles:?}");
    assert!(
        page.text(&format!("{row} .row-actions")).contains("Edit Contoso"),
        "hidden text for screen readers"
    );
}

#[tokio::test]
async fn the_operator_sees_every_reseller_and_picks_one_in_the_tree() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    let all = operator.get("/customers").await;
    let tree = all.texts(".tree li a span:first-child");
    assert!(tree.contains(&"Fabrikam Managed IT".to_string()), "{tree:?}");
    assert!(tree.contains(&"All resellers".to_string()));
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let one = operator.get(&format!("/customers?reseller={fabrikam}")).await;
    let names = one.texts("#customers td.name");
    assert_eq!(names.len(), 14);
    assert!(names.contains(&"Woodgrove Bank".to_string()));
    assert_eq!(
        operator.get("/customers?reseller=abc").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        operator.get("/customers?reseller=999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn search_sort_and_bad_parameters() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let found = admin.get("/customers?q=coNto").await;
    assert_eq!(found.texts("#customers td.name"), vec!["Contoso"]);
    let none = admin.get("/customers?q=100%25").await;
    assert!(none.text(".empty").contains("100%"));
    let by_name_desc = admin.get("/customers?sort=name&dir=desc").await;
    assert_eq!(
        by_name_desc.texts("#customers td.name").first().map(String::as_str),
        Some("Trey Research")
    );
    let by_used = admin.get("/customers?sort=used&dir=desc").await;
    let biggest: String = sqlx::query_scalar(
        "SELECT c.name FROM customers c JOIN resellers r ON r.id = c.reseller_id \
         WHERE r.name = 'Northwind Backup Services' ORDER BY used_space_bytes DESC, c.id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("biggest");
    assert_eq!(by_used.texts("#customers td.name").first(), Some(&biggest));
    assert_eq!(
        admin.get("/customers?sort=pass_key_hash").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(admin.get("/customers?after=%%%").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_list_pages_by_fifty_with_a_keyset_cursor() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    sqlx::query(
        "INSERT INTO customers (reseller_id, name, pass_key_hash, created_at) \
         SELECT $1, 'Zeta ' || lpad(n::text, 3, '0'), 'x', now() FROM generate_series(1, 40) n",
    )
    .bind(northwind)
    .execute(&app.db)
    .await
    .expect("arrange");
    let admin = app.login("admin@northwind.example").await;
    let first = admin.get("/customers?sort=clients").await;
    let first_names = first.texts("#customers td.name");
    assert_eq!(first_names.len(), 50);
    let next = first.attrs("a[rel=next]", "href");
    assert_eq!(next.len(), 1);
    let second = admin.get(&next[0]).await;
    let second_names = second.texts("#customers td.name");
    assert_eq!(second_names.len(), 8);
    assert!(second_names.iter().all(|n| !first_names.contains(n)), "no row twice");
    assert!(second.attrs("a[rel=next]", "href").is_empty());
}

#[tokio::test]
async fn the_csv_export_holds_only_the_callers_customers_escaped() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET name = '=HYPERLINK(\"x\")' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("arrange");
    let admin = app.login("admin@northwind.example").await;
    let csv = admin.get("/customers.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    assert!(!csv.body.contains("Woodgrove"), "another reseller's customer");
    assert!(csv.body.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 19, "header and 18 customers");
    let filtered = admin.get("/customers?format=csv&q=litware").await;
    assert_eq!(filtered.body.lines().count(), 2);
}

#[tokio::test]
async fn a_customer_user_may_not_open_the_customer_pages() {
    let app = TestApp::demo().await;
    let portal = app.login("contoso-portal").await;
    let contoso = app.customer_id("Contoso").await;
    assert_eq!(portal.get("/customers").await.status, StatusCode::FORBIDDEN);
    assert_eq!(portal.get("/customers.csv").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        portal.get(&format!("/customers/{contoso}/clients")).await.status,
        StatusCode::FORBIDDEN
    );
    let response = portal.post_form(&format!("/customers/{contoso}/activation"), &[]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(flag(&app, "activated", contoso).await);
}

#[tokio::test]
async fn toggling_auto_authorization_flips_it_and_is_audited() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let before = flag(&app, "auto_authorize", contoso).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    let response = admin
        .post_form(&format!("/customers/{contoso}/auto-authorize"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(flag(&app, "auto_authorize", contoso).await, !before);
    let audited = scalar_i64(
        &app,
        "SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'customer_auto_authorize_changed'",
        contoso,
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn deactivating_and_activating_a_customer_is_audited() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("owner@northwind.example").await;
    admin.get("/customers").await;
    admin.post_form(&format!("/customers/{contoso}/activation"), &[]).await;
    assert!(!flag(&app, "activated", contoso).await);
    let page = admin.get("/customers").await;
    assert!(page.text(".flash").contains("deactivated"));
    assert_eq!(
        page.text(&format!("tr[data-customer=\"{contoso}\"] td.status")),
        "deactivated"
    );
    admin.post_form(&format!("/customers/{contoso}/activation"), &[]).await;
    assert!(flag(&app, "activated", contoso).await);
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE customer_id = $1 ORDER BY id")
        .bind(contoso)
        .fetch_all(&app.db)
        .await
        .expect("audit");
    assert_eq!(actions, vec!["customer_deactivated", "customer_activated"]);
}

#[tokio::test]
async fn row_actions_without_the_csrf_token_are_refused() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    let response = admin
        .post_form_exactly(&format!("/customers/{contoso}/activation"), &[])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(flag(&app, "activated", contoso).await);
}

#[tokio::test]
async fn another_resellers_customer_is_not_found_and_unchanged() {
    let app = TestApp::demo().await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let auto = flag(&app, "auto_authorize", woodgrove).await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/customers").await;
    for path in [
        "clients",
        "clients/new",
        "deleted",
        "delete",
        "edit",
        "replication",
        "invoice-config",
        "invoices",
    ] {
        let response = admin.get(&format!("/customers/{woodgrove}/{path}")).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["auto-authorize", "activation", "pass-key"] {
        let response = admin.post_form(&format!("/customers/{woodgrove}/{path}"), &[]).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
    let response = admin
        .post_form(
            &format!("/customers/{woodgrove}/clients/new"),
            &[("client_key", "SNEAKY-1")],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let response = admin
        .post_form(&format!("/customers/{woodgrove}/delete"), &[("clients", "delete")])
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(flag(&app, "auto_authorize", woodgrove).await, auto);
    assert!(flag(&app, "activated", woodgrove).await);
    let lifecycle: String = sqlx::query_scalar("SELECT lifecycle FROM customers WHERE id = $1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    assert_eq!(lifecycle, "active");
    assert_eq!(
        scalar_i64(
            &app,
            "SELECT count(*) FROM clients WHERE customer_id = $1 AND client_key = 'SNEAKY-1'",
            woodgrove
        )
        .await,
        0
    );
    assert_eq!(admin.get("/customers/abc/clients").await.status, StatusCode::NOT_FOUND);
    // Ids that do not parse name no page: the 404 page, not the framework's plain-text answer.
    for path in [
        "/customers/abc",
        "/customers/12x/sla",
        "/customers/99999999999999999999",
        "/customers/1.5/edit",
    ] {
        let response = admin.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            response.body.contains("<title>"),
            "{path}: an HTML page, not {}",
            response.body
        );
    }
}

/// The plan of a list page after a keyset cursor, sorted by `sort_key` as the list sorts, for
/// a reseller under row-level security.
async fn cursor_plan(app: &TestApp, sort_key: &str) -> String {
    use msp_portal::domain::tenancy::Scope;

    let northwind = app.reseller_id("Northwind Backup Services").await;
    let (expression, numeric) = msp_portal::store::customers::sort_expression(sort_key);
    let cast = if numeric { "bigint" } else { "text" };
    let mut tx = msp_portal::store::scoped(&app.app_db, Scope::Reseller { reseller_id: northwind })
        .await
        .expect("scoped");
    // As on a large reseller, where the planner prefers the index to sorting.
    for setting in ["SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off"] {
        sqlx::query(setting).execute(&mut *tx).await.expect("set");
    }
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN SELECT c.id FROM customers c WHERE c.reseller_id = $1 AND c.lifecycle <> 'deleted' \
         AND ({expression}, c.id) > ($2::{cast}, $3::bigint) ORDER BY {expression}, c.id LIMIT 51"
    ))
    .bind(northwind)
    .bind(if numeric { "50" } else { "m" })
    .bind(0_i64)
    .fetch_all(&mut *tx)
    .await
    .expect("explain");
    plan.join("\n")
}

/// Page 200 costs what page 1 does only if the keyset cursor is the index scan's start and the
/// index gives the order, with no sort of the reseller's customers, for every sortable column.
/// Row-level security lets leakproof comparisons only into an index condition: over the stored
/// `sort_name`, not over `lower(name)` (migration 20261201800003); over a CASE, not coalesce()
/// (migration 20261207000005); over the stored client count, not a count (20261207000006).
#[tokio::test]
async fn every_sort_pages_off_an_index_under_row_level_security() {
    let app = TestApp::demo().await;
    for (sort_key, column) in [
        ("name", "sort_name"),
        ("mcals", "mcals_allotted"),
        ("clients", "client_count"),
        ("quota", "space_quota_bytes"),
        ("used", "used_space_bytes"),
        ("score", "sla_score"),
        ("status", "lifecycle"),
    ] {
        let plan = cursor_plan(&app, sort_key).await;
        let index_condition = plan
            .lines()
            .find(|line| line.contains("Index Cond"))
            .unwrap_or_default();
        assert!(
            index_condition.contains(column),
            "sorted by {sort_key}, the cursor should start the index scan:\n{plan}"
        );
        assert!(
            !plan.contains("Sort"),
            "sorted by {sort_key}, the index should give the order:\n{plan}"
        );
    }
}
