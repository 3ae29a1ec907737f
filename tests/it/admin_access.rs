//! Admins an owner limits to chosen customers, and read-only admins: what they see, what they
//! can't change, and the store layer's walls beneath the pages.

use axum::http::StatusCode;
use msp_portal::domain::tenancy::{Access, Scope};
use msp_portal::store;

use crate::common::{DEMO_PASSWORD, TestApp, TestClient};

const ADMIN: &str = "admin@northwind.example";

async fn admin_id(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(ADMIN)
        .fetch_one(&app.db)
        .await
        .expect("admin")
}

async fn owner(app: &TestApp) -> TestClient {
    let owner = app.login("owner@northwind.example").await;
    owner.get("/admins").await;
    owner
}

async fn set_access(owner: &TestClient, admin: i64, fields: &[(&str, &str)]) -> crate::common::TestResponse {
    owner.post_form(&format!("/admins/{admin}/access"), fields).await
}

/// Limits the admin (full rights) to these customers.
async fn limit_to(owner: &TestClient, admin: i64, customers: &[i64]) -> crate::common::TestResponse {
    let ids: Vec<String> = customers.iter().map(i64::to_string).collect();
    let mut fields = vec![("rights", "full"), ("customer_scope", "chosen")];
    fields.extend(ids.iter().map(|id| ("customer", id.as_str())));
    set_access(owner, admin, &fields).await
}

#[tokio::test]
async fn a_limited_admin_sees_only_its_customers_on_every_page() {
    let app = TestApp::demo().await;
    let admin = admin_id(&app).await;
    let contoso = app.customer_id("Contoso").await;
    let coho = app.customer_id("Coho Winery").await;
    let adventure = app.customer_id("Adventure Works").await;
    let owner = owner(&app).await;
    let page = owner.get(&format!("/admins/{admin}/access")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.texts("#customer-choices label").len() > 10);
    let saved = limit_to(&owner, admin, &[contoso, coho]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    let client = app.login(ADMIN).await;
    let body = client.get("/customers").await.body;
    assert!(body.contains("Contoso") && body.contains("Coho Winery"));
    for hidden in ["Adventure Works", "Trey Research", "Proseware", "Woodgrove Bank"] {
        assert!(
            !body.contains(hidden),
            "{hidden} must not be listed for a limited admin"
        );
    }
    let csv = client.get("/customers.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), 3, "a header and two customers:\n{}", csv.body);

    let exceeding = client.get("/dashboard/exceeding").await;
    assert!(exceeding.body.contains("Coho Winery"));
    assert!(!exceeding.body.contains("Consolidated Messenger"));
    let critical = client.get("/dashboard/critical").await;
    assert!(!critical.body.contains("Adventure Works"));
    let organizations = client.get("/organizations").await;
    assert!(!organizations.body.contains("Adventure Works"));

    assert_eq!(
        client.get(&format!("/customers/{contoso}")).await.status,
        StatusCode::OK
    );
    for path in [
        format!("/customers/{adventure}"),
        format!("/customers/{adventure}/sla"),
        format!("/customers/{adventure}/edit"),
        format!("/impersonation/new?customer={adventure}"),
    ] {
        assert_eq!(client.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    client.get(&format!("/customers/{contoso}")).await;
    let toggled = client
        .post_form(&format!("/customers/{adventure}/activation"), &[])
        .await;
    assert_eq!(toggled.status, StatusCode::NOT_FOUND);

    let create = client.get("/customers/new").await;
    assert_eq!(
        create.status,
        StatusCode::FORBIDDEN,
        "a customer it creates would be one it cannot see"
    );
    assert!(create.body.contains("cannot create new ones"));

    // Back to every customer: the next page shows them all, without logging out.
    let all = set_access(&owner, admin, &[("rights", "full"), ("customer_scope", "all")]).await;
    assert_eq!(all.status, StatusCode::SEE_OTHER);
    assert!(client.get("/customers").await.body.contains("Adventure Works"));
}

#[tokio::test]
async fn a_read_only_admin_sees_everything_and_changes_nothing() {
    let app = TestApp::demo().await;
    let admin = admin_id(&app).await;
    let contoso = app.customer_id("Contoso").await;
    let owner = owner(&app).await;
    let saved = set_access(&owner, admin, &[("rights", "read_only"), ("customer_scope", "all")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);

    let client = app.login(ADMIN).await;
    for path in [
        "/dashboard",
        "/customers",
        "/customers.csv",
        "/organizations",
        "/space",
        "/alerts",
    ] {
        assert_eq!(client.get(path).await.status, StatusCode::OK, "{path}");
    }
    let page = client.get(&format!("/customers/{contoso}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Read-only access"));
    assert_eq!(
        page.attrs("body", "class"),
        vec!["read-only"],
        "the stylesheet hides the controls"
    );
    let before: bool = sqlx::query_scalar("SELECT activated FROM customers WHERE id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    for (path, fields) in [
        (format!("/customers/{contoso}/activation"), vec![]),
        ("/customers/new".to_string(), vec![("name", "Sneaky Ltd")]),
        (
            format!("/customers/{contoso}/contacts"),
            vec![("name", "Eve"), ("email", "eve@example.com")],
        ),
        (
            "/impersonation".to_string(),
            vec![("customer", "1"), ("reason", "look")],
        ),
    ] {
        let refused = client.post_form(&path, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert!(refused.body.contains("change nothing"), "{path}: a clear message");
    }
    let after: bool = sqlx::query_scalar("SELECT activated FROM customers WHERE id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    assert_eq!(before, after);
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE name = 'Sneaky Ltd'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(created, 0);

    // Its own password is still its own to change.
    client.get("/account/password").await;
    let changed = client
        .post_form(
            "/account/password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "a-new-password-123"),
                ("confirm_password", "a-new-password-123"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_store_layer_refuses_a_read_only_write_whatever_the_handler_does() {
    let app = TestApp::demo().await;
    let reseller_id = app.reseller_id("Northwind Backup Services").await;
    let contoso = app.customer_id("Contoso").await;
    let access = Access {
        scope: Scope::Reseller { reseller_id },
        customers: None,
        read_only: true,
    };
    let mut tx = store::scoped(&app.app_db, &access).await.expect("tx");
    let error = store::customers::toggle_activated(&mut tx, contoso)
        .await
        .expect_err("a read-only transaction cannot write");
    let code = error.as_database_error().and_then(|e| e.code()).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("25006"));
}

#[tokio::test]
async fn row_security_admits_only_a_limited_admins_customers_even_unfiltered() {
    let app = TestApp::demo().await;
    let reseller_id = app.reseller_id("Northwind Backup Services").await;
    let contoso = app.customer_id("Contoso").await;
    let count = |access: Access, sql: &'static str| {
        let pool = app.app_db.clone();
        async move {
            let mut tx = store::scoped(&pool, &access).await.expect("tx");
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.expect(sql);
            n
        }
    };
    let full = Access::from(Scope::Reseller { reseller_id });
    let limited = Access {
        customers: Some(vec![contoso]),
        ..full.clone()
    };
    let none = Access {
        customers: Some(Vec::new()),
        ..full.clone()
    };
    assert!(count(full.clone(), "SELECT count(*) FROM customers").await > 10);
    assert_eq!(count(limited.clone(), "SELECT count(*) FROM customers").await, 1);
    assert_eq!(count(none, "SELECT count(*) FROM customers").await, 0);
    let clients_all = count(full, "SELECT count(DISTINCT customer_id) FROM clients").await;
    let clients_limited = count(limited, "SELECT count(DISTINCT customer_id) FROM clients").await;
    assert!(clients_all > 1);
    assert_eq!(clients_limited, 1);
}

#[tokio::test]
async fn bad_access_forms_change_nothing() {
    let app = TestApp::demo().await;
    let admin = admin_id(&app).await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let owner = owner(&app).await;
    let none = set_access(&owner, admin, &[("rights", "full"), ("customer_scope", "chosen")]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.text("#customers-error").contains("at least one"));
    let bad_rights = set_access(&owner, admin, &[("rights", "admin"), ("customer_scope", "all")]).await;
    assert_eq!(bad_rights.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_id = set_access(
        &owner,
        admin,
        &[("rights", "full"), ("customer_scope", "chosen"), ("customer", "x")],
    )
    .await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    let foreign = limit_to(&owner, admin, &[woodgrove]).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "another reseller's customer");
    let (limited, grants): (bool, i64) = sqlx::query_as(
        "SELECT limited_to_granted_customers, (SELECT count(*) FROM admin_customer_grants WHERE user_id = $1) \
         FROM users WHERE id = $1",
    )
    .bind(admin)
    .fetch_one(&app.db)
    .await
    .expect("admin");
    assert!(!limited);
    assert_eq!(grants, 0);

    let owner_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'owner@northwind.example'")
        .fetch_one(&app.db)
        .await
        .expect("owner");
    let own = set_access(&owner, owner_id, &[("rights", "read_only"), ("customer_scope", "all")]).await;
    assert_eq!(own.status, StatusCode::CONFLICT, "the owner is never limited");
    let other_admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin@fabrikam.example'")
        .fetch_one(&app.db)
        .await
        .expect("admin");
    let other = set_access(
        &owner,
        other_admin,
        &[("rights", "read_only"), ("customer_scope", "all")],
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_limited_admins_header_counts_only_its_customers_accounts_even_after_the_roll_up() {
    let app = TestApp::demo().await;
    // A tick fills the reseller roll-up.
    app.tick().await;
    let admin = admin_id(&app).await;
    let contoso = app.customer_id("Contoso").await;
    let owner = owner(&app).await;
    let saved = limit_to(&owner, admin, &[contoso]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let (contoso_accounts, all_accounts): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE customer_id = $1), count(*) FROM accounts \
         WHERE reseller_id = (SELECT reseller_id FROM customers WHERE id = $1)",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("counts");
    assert!(all_accounts > contoso_accounts, "the demo has accounts elsewhere too");
    let kpi = |body: &str| {
        crate::common::TestResponse {
            status: StatusCode::OK,
            headers: Default::default(),
            body: body.to_string(),
        }
        .text("[data-kpi=accounts]")
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
    };
    let limited = app.login(ADMIN).await.get("/dashboard").await;
    assert_eq!(kpi(&limited.body), contoso_accounts.to_string());
    let full = owner.get("/dashboard").await;
    assert_eq!(kpi(&full.body), all_accounts.to_string());
}

/// The dashboard header's figures, as the raw rows count them, for the customers `granted` (every
/// customer of the reseller when None).
async fn raw_header(app: &TestApp, reseller: i64, granted: Option<&[i64]>) -> Vec<i64> {
    use msp_portal::clock::Clock;
    let today = app.clock.today();
    sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64)>(
        "WITH c AS (SELECT * FROM customers WHERE reseller_id = $1 AND ($2::bigint[] IS NULL OR id = ANY ($2))) \
         SELECT (SELECT count(*) FROM c WHERE lifecycle <> 'deleted' AND NOT is_default), \
                (SELECT count(*) FROM locations l WHERE l.reseller_id = $1 AND ($2::bigint[] IS NULL OR l.customer_id = ANY ($2))), \
                (SELECT count(*) FROM connectors k JOIN c ON c.id = k.customer_id \
                  WHERE k.health = 'critical' AND c.lifecycle <> 'deleted'), \
                (SELECT count(*) FROM c WHERE NOT is_default AND (lifecycle = 'scheduled_for_deletion' \
                   OR (lifecycle = 'active' AND tenant_type = 'evaluation' AND trial_ends_on <= $3::date + 30) \
                   OR (lifecycle = 'active' AND service_expires_on <= $3::date + 30))) \
                 + (SELECT count(*) FROM c WHERE NOT is_default AND lifecycle = 'active' AND tenant_type = 'evaluation' \
                     AND trial_ends_on <= $3::date + 30 AND service_expires_on <= $3::date + 30), \
                (SELECT count(*) FROM seat_limits s JOIN c ON c.id = s.customer_id \
                  WHERE s.seats_used > s.seat_limit AND c.lifecycle <> 'deleted'), \
                (SELECT count(*) FROM seat_limits s JOIN c ON c.id = s.customer_id \
                  WHERE s.over_limit_in_days IS NOT NULL AND s.seats_used <= s.seat_limit AND c.lifecycle = 'active')",
    )
    .bind(reseller)
    .bind(granted)
    .bind(today)
    .fetch_one(&app.db)
    .await
    .map(|(a, b, c, d, e, f)| vec![a, b, c, d, e, f])
    .expect("raw counts")
}

/// The header's figures as the page shows them, and the approaching tab's count on its link.
fn shown_header(page: &crate::common::TestResponse) -> Vec<i64> {
    let number = |text: String| -> i64 {
        let first = text.split_whitespace().next().unwrap_or_default().to_string();
        first.parse().unwrap_or_else(|_| panic!("a number, not {text:?}"))
    };
    let mut figures: Vec<i64> = ["customers", "locations", "critical", "expiring", "exceeding"]
        .iter()
        .map(|name| number(page.text(&format!("[data-kpi={name}]"))))
        .collect();
    figures.push(number(page.text("a[data-tab=approaching] .tab-count")));
    figures
}

#[tokio::test]
async fn the_dashboard_header_counts_what_the_raw_rows_hold_for_an_owner_and_for_a_limited_admin() {
    let app = TestApp::demo().await;
    let reseller: i64 = sqlx::query_scalar("SELECT reseller_id FROM users WHERE username = $1")
        .bind(ADMIN)
        .fetch_one(&app.db)
        .await
        .expect("reseller");
    let owner = owner(&app).await;
    let full = raw_header(&app, reseller, None).await;
    assert!(full.iter().all(|n| *n > 0), "the demo has some of everything: {full:?}");
    assert_eq!(shown_header(&owner.get("/dashboard").await), full, "the roll-ups");

    // Every other customer: some of each kind are in, some out.
    let granted: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE reseller_id = $1 ORDER BY id")
        .bind(reseller)
        .fetch_all(&app.db)
        .await
        .expect("customers")
        .into_iter()
        .step_by(2)
        .collect();
    let saved = limit_to(&owner, admin_id(&app).await, &granted).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let limited = raw_header(&app, reseller, Some(&granted)).await;
    assert_ne!(limited, full);
    assert_eq!(
        shown_header(&app.login(ADMIN).await.get("/dashboard").await),
        limited,
        "counted live"
    );
}
