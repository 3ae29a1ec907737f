//! `/license`: MAU against the allowance, its history, extending it, MAU per organization.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn month_mau(app: &TestApp, reseller: &str, month: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(m.mau), 0)::bigint FROM mau_monthly m JOIN resellers r ON r.id = m.reseller_id \
         WHERE r.name = $1 AND m.month = $2::date",
    )
    .bind(reseller)
    .bind(month)
    .fetch_one(&app.db)
    .await
    .expect("sum")
}

#[tokio::test]
async fn the_owner_sees_this_months_mau_allowance_and_overage() {
    let app = TestApp::demo().await;
    let page = app.login("owner@northwind.example").await.get("/license").await;
    assert_eq!(page.status, StatusCode::OK);
    let mau = month_mau(&app, "Northwind Backup Services", "2026-06-01").await;
    assert_eq!(page.text("[data-kpi=month-mau]"), mau.to_string());
    assert_eq!(page.text("[data-kpi=allowance]"), "2500");
    assert_eq!(page.text("[data-kpi=overage]"), (mau - 2500).max(0).to_string());
    assert_eq!(page.texts("#allowance-history tbody tr").len(), 12);
    assert_eq!(page.text("#allowance-history tbody tr td"), "Jun 2026", "newest first");
    assert_eq!(page.texts("#orders tbody tr").len(), 2);
    assert_eq!(page.texts("svg#mau-chart g.bar").len(), 12);
    assert!(page.texts("svg#mau-chart g.bar title")[11].starts_with("Jun 2026"));
}

#[tokio::test]
async fn overage_counts_only_mau_above_the_allowance() {
    let app = TestApp::demo().await;
    let mau = month_mau(&app, "Northwind Backup Services", "2026-06-01").await;
    sqlx::query("UPDATE resellers SET mau_allowance = $1 WHERE name = 'Northwind Backup Services'")
        .bind((mau - 7) as i32)
        .execute(&app.db)
        .await
        .expect("lower allowance");
    let owner = app.login("owner@northwind.example").await;
    assert_eq!(owner.get("/license").await.text("[data-kpi=overage]"), "7");
    sqlx::query("UPDATE resellers SET mau_allowance = $1 WHERE name = 'Northwind Backup Services'")
        .bind(mau as i32)
        .execute(&app.db)
        .await
        .expect("equal allowance");
    assert_eq!(owner.get("/license").await.text("[data-kpi=overage]"), "0");
}

#[tokio::test]
async fn extending_records_the_order_raises_the_allowance_and_this_months_history() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    let offers = owner.get("/license/extend").await;
    assert_eq!(offers.status, StatusCode::OK);
    let offer: i64 = sqlx::query_scalar("SELECT id FROM mau_offers WHERE name = '1,000 MAU, annual'")
        .fetch_one(&app.db)
        .await
        .expect("offer");
    let confirm = owner.get(&format!("/license/extend?offer={offer}")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text("main p").contains("2500 to 3500"));
    let response = owner
        .post_form("/license/extend", &[("offer_id", &offer.to_string())])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let reseller = app.reseller_id("Northwind Backup Services").await;
    let (allowance,): (i32,) = sqlx::query_as("SELECT mau_allowance FROM resellers WHERE id = $1")
        .bind(reseller)
        .fetch_one(&app.db)
        .await
        .expect("reseller");
    assert_eq!(allowance, 3500);
    let history: i32 = sqlx::query_scalar(
        "SELECT allowance FROM mau_allowance_history WHERE reseller_id = $1 AND month = '2026-06-01'",
    )
    .bind(reseller)
    .fetch_one(&app.db)
    .await
    .expect("history");
    assert_eq!(history, 3500);
    let (starts_on, ends_on): (chrono::NaiveDate, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT starts_on, ends_on FROM mau_orders WHERE reseller_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(reseller)
            .fetch_one(&app.db)
            .await
            .expect("order");
    assert_eq!(starts_on.to_string(), "2026-06-01");
    assert_eq!(ends_on.map(|d| d.to_string()).as_deref(), Some("2027-06-01"));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'mau_allowance_extended'")
        .fetch_one(&app.db)
        .await
        .expect("audit");
    assert_eq!(audited, 1);
    let page = owner.get("/license").await;
    assert_eq!(page.text("[data-kpi=allowance]"), "3500");
    assert_eq!(page.texts("#orders tbody tr").len(), 3);
    assert!(page.text("#allowance-history tbody tr").contains("3500"));
}

#[tokio::test]
async fn an_unknown_offer_is_refused_and_nothing_changes() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    owner.get("/license").await;
    assert_eq!(
        owner
            .post_form("/license/extend", &[("offer_id", "999999")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        owner.post_form("/license/extend", &[("offer_id", "x")]).await.status,
        StatusCode::BAD_REQUEST
    );
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM mau_orders")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(orders, 6, "the demo's two orders per reseller");
}

#[tokio::test]
async fn the_chart_and_table_follow_the_chosen_organization_and_month() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    let contoso = app.customer_id("Contoso").await;
    let page = owner.get(&format!("/license?customer={contoso}")).await;
    assert!(page.texts("main h2").contains(&"MAU history: Contoso".to_string()));
    let mau = month_mau(&app, "Northwind Backup Services", "2026-06-01").await;
    let contoso_june: i32 =
        sqlx::query_scalar("SELECT mau FROM mau_monthly WHERE customer_id = $1 AND month = '2026-06-01'")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("mau");
    assert_eq!(
        page.text("#mau-history tbody tr td:nth-child(2)"),
        contoso_june.to_string()
    );
    assert_ne!(i64::from(contoso_june), mau);
    let one_month = owner.get("/license?month=2025-12").await;
    assert_eq!(
        one_month.texts("#organization-mau thead th"),
        vec!["Organization", "Dec 2025"]
    );
    let all = owner.get("/license").await;
    assert_eq!(all.texts("#organization-mau thead th").len(), 13);
    assert_eq!(
        owner.get("/license?month=2024-01").await.status,
        StatusCode::BAD_REQUEST
    );
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    assert_eq!(
        owner.get(&format!("/license?customer={woodgrove}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_operator_sees_any_resellers_license_but_cannot_order() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let page = operator.get(&format!("/license?reseller={fabrikam}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text("[data-kpi=allowance]"), "1200");
    assert_eq!(operator.get("/license/extend").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        operator.get("/license?reseller=abc").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn admins_customers_and_strangers_may_not_see_the_license() {
    let app = TestApp::demo().await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    for who in ["admin@northwind.example", "contoso-portal"] {
        let client = app.login(who).await;
        assert_eq!(client.get("/license").await.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(
            client.get("/license/extend").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
        let post = client.post_form("/license/extend", &[("offer_id", "1")]).await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{who}");
    }
    let owner = app.login("owner@northwind.example").await;
    let other = owner.get(&format!("/license?reseller={fabrikam}")).await;
    assert_eq!(
        other.text("[data-kpi=allowance]"),
        "2500",
        "the filter is the operator's only"
    );
    assert_eq!(app.client().get("/license").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn in_january_the_history_reaches_back_across_the_year_boundary_and_an_order_counts_from_january() {
    let app = TestApp::demo().await;
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-01-10T09:00:00Z")
            .expect("instant")
            .with_timezone(&chrono::Utc),
    );
    let owner = app.login("owner@northwind.example").await;
    let page = owner.get("/license").await;
    assert_eq!(page.status, StatusCode::OK);
    let months: Vec<String> = page.texts("#allowance-history tbody tr td:first-child");
    assert_eq!(months.first().map(String::as_str), Some("Jan 2027"));
    assert_eq!(months.last().map(String::as_str), Some("Feb 2026"));
    assert!(months.contains(&"Dec 2026".to_string()));
    assert_eq!(
        page.texts("#organization-mau thead th")[1..]
            .to_vec()
            .first()
            .map(String::as_str),
        Some("Feb 2026")
    );
    let offer: i64 = sqlx::query_scalar("SELECT id FROM mau_offers WHERE name = '100 MAU, monthly'")
        .fetch_one(&app.db)
        .await
        .expect("offer");
    owner
        .post_form("/license/extend", &[("offer_id", &offer.to_string())])
        .await;
    let (month, allowance): (chrono::NaiveDate, i32) = sqlx::query_as(
        "SELECT h.month, h.allowance FROM mau_allowance_history h JOIN resellers r ON r.id = h.reseller_id \
         WHERE r.name = 'Northwind Backup Services' ORDER BY h.month DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("history");
    assert_eq!((month.to_string().as_str(), allowance), ("2027-01-01", 2600));
    let after = owner.get("/license").await;
    assert!(after.text("#allowance-history tbody tr").contains("2600"));
    assert_eq!(
        owner
            .get("/license?month=2026-02")
            .await
            .texts("#organization-mau thead th"),
        vec!["Organization", "Feb 2026"]
    );
    assert_eq!(
        owner.get("/license?month=2026-01").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn role_matrix() {
    let app = TestApp::demo().await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let contoso = app.customer_id("Contoso").await;
    // operator, owner, admin, customer user, anonymous
    let cases = [
        ("/license".to_string(), [200, 200, 403, 403, 303]),
        (format!("/license?reseller={fabrikam}"), [200, 200, 403, 403, 303]),
        (format!("/license?customer={contoso}"), [404, 200, 403, 403, 303]),
        (
            format!("/license?reseller={fabrikam}&customer={woodgrove}"),
            [200, 404, 403, 403, 303],
        ),
        ("/license/extend".to_string(), [403, 200, 403, 403, 303]),
        ("/license/extend?offer=1".to_string(), [403, 200, 403, 403, 303]),
    ];
    for (path, expected) in cases {
        assert_eq!(crate::common::get_matrix(&app, &path).await, expected, "{path}");
    }
    // Anonymous posts (with the login form's token) are sent to log in; nothing changes.
    let anonymous = app.client();
    anonymous.get("/login").await;
    assert_eq!(
        anonymous
            .post_form("/license/extend", &[("offer_id", "1")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}
