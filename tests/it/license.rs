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

/// Adds `count` organizations named `prefix 0001`… to the reseller, each with MAU in June and
/// May 2026 (the demo's current and previous month) that differ per organization.
async fn add_organizations(app: &TestApp, reseller: &str, prefix: &str, count: i32) {
    let reseller = app.reseller_id(reseller).await;
    sqlx::query(
        "WITH added AS ( \
           INSERT INTO customers (reseller_id, name, pass_key_hash, created_at) \
           SELECT $1, $2 || ' ' || lpad(n::text, 4, '0'), 'x', now() FROM generate_series(1, $3) n \
           RETURNING id) \
         INSERT INTO mau_monthly (reseller_id, customer_id, month, mau) \
         SELECT $1, id, month, (id % 17 + extract(month FROM month))::int \
         FROM added, (VALUES ('2026-05-01'::date), ('2026-06-01'::date)) AS m(month)",
    )
    .bind(reseller)
    .bind(prefix)
    .bind(count)
    .execute(&app.db)
    .await
    .expect("add organizations");
}

/// The reseller's listed organizations (not deleted, not the default), in the table's order.
async fn listed_organizations(app: &TestApp, reseller: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT c.id FROM customers c JOIN resellers r ON r.id = c.reseller_id \
         WHERE r.name = $1 AND c.lifecycle <> 'deleted' AND NOT c.is_default ORDER BY lower(c.name), c.id",
    )
    .bind(reseller)
    .fetch_all(&app.db)
    .await
    .expect("organizations")
}

fn row_ids(page: &crate::common::TestResponse) -> Vec<i64> {
    page.attrs("#organization-mau tbody tr", "data-id")
        .iter()
        .map(|id| id.parse().expect("numeric id"))
        .collect()
}

#[tokio::test]
async fn the_organization_table_pages_by_fifty_without_overlap_or_gap() {
    let app = TestApp::demo().await;
    add_organizations(&app, "Northwind Backup Services", "Zeta", 70).await;
    let expected = listed_organizations(&app, "Northwind Backup Services").await;
    assert!(expected.len() > 50, "more than one page");
    let owner = app.login("owner@northwind.example").await;
    let mut page = owner.get("/license").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.texts(".pager a").iter().all(|t| t != "First page"),
        "page 1 has no first-page link"
    );
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let ids = row_ids(&page);
        assert!(!ids.is_empty() && ids.len() <= 50, "page {pages}: {} rows", ids.len());
        seen.extend(ids);
        match page.attrs("a[rel=next]", "href").pop() {
            Some(next) => {
                assert_eq!(row_ids(&page).len(), 50, "a page before the last is full");
                page = owner.get(&next).await;
                assert_eq!(page.status, StatusCode::OK);
                assert!(page.texts(".pager a").contains(&"First page".to_string()));
            }
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(pages, expected.len().div_ceil(50));
    assert_eq!(
        seen, expected,
        "every organization once, in name order, no gap and no repeat"
    );
    // The page's HTML stays bounded: no dropdown of every organization.
    assert!(
        page.html()
            .select(&scraper::Selector::parse("select#customer").expect("selector"))
            .next()
            .is_none()
    );
    assert!(
        owner.get("/license").await.texts("option").len() <= 13,
        "the month choice only"
    );
}

#[tokio::test]
async fn the_search_narrows_the_table_and_takes_pattern_characters_literally() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    for name in ["100% Cloud", "1000 Cloud", "Under_Score", "UnderXScore"] {
        sqlx::query("INSERT INTO customers (reseller_id, name, pass_key_hash, created_at) VALUES ($1, $2, 'x', now())")
            .bind(northwind)
            .bind(name)
            .execute(&app.db)
            .await
            .expect("arrange");
    }
    let owner = app.login("owner@northwind.example").await;
    let names = |page: &crate::common::TestResponse| page.texts("#organization-mau tbody td:first-child");
    assert_eq!(names(&owner.get("/license?q=coNto").await), vec!["Contoso"]);
    assert_eq!(names(&owner.get("/license?q=100%25").await), vec!["100% Cloud"]);
    assert_eq!(names(&owner.get("/license?q=r_s").await), vec!["Under_Score"]);
    assert_eq!(
        names(&owner.get("/license?q=%20%20").await),
        names(&owner.get("/license").await),
        "blanks alone are no search"
    );
    let none = owner.get("/license?q=no%20such%20organization").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.texts("#organization-mau").is_empty());
    assert!(
        none.text(".empty")
            .contains("No organization matches “no such organization”")
    );
    // The search stays in the links that page, chart and export.
    let filtered = owner.get("/license?q=cloud").await;
    assert!(filtered.attrs("#export-csv", "href")[0].contains("q=cloud"));
    assert!(
        filtered
            .attrs("#organization-mau tbody a", "href")
            .iter()
            .all(|h| h.contains("q=cloud"))
    );
}

#[tokio::test]
async fn totals_sum_every_listed_organization_not_only_the_page() {
    let app = TestApp::demo().await;
    add_organizations(&app, "Northwind Backup Services", "Zeta", 70).await;
    let owner = app.login("owner@northwind.example").await;
    let expected = |search: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT coalesce(sum(m.mau), 0)::bigint FROM mau_monthly m JOIN customers c ON c.id = m.customer_id \
                 JOIN resellers r ON r.id = c.reseller_id \
                 WHERE r.name = 'Northwind Backup Services' AND c.lifecycle <> 'deleted' AND NOT c.is_default \
                   AND m.month = '2026-06-01' AND c.name ILIKE '%' || $1 || '%'",
            )
            .bind(search)
            .fetch_one(&db)
            .await
            .expect("sum")
        }
    };
    let page = owner.get("/license?month=2026-06").await;
    let total: i64 = page.text("#organization-mau tfoot td").parse().expect("number");
    assert_eq!(total, expected("").await);
    let shown: i64 = page
        .texts("#organization-mau tbody td.num")
        .iter()
        .map(|v| v.parse::<i64>().expect("number"))
        .sum();
    assert!(shown < total, "the page holds only part of it");
    let next = page.attrs("a[rel=next]", "href").pop().expect("a second page");
    assert_eq!(
        owner.get(&next).await.text("#organization-mau tfoot td"),
        total.to_string(),
        "the same on every page"
    );
    let all_months = owner.get("/license").await;
    assert_eq!(
        all_months.text("[data-kpi=month-mau]"),
        month_mau(&app, "Northwind Backup Services", "2026-06-01")
            .await
            .to_string(),
        "the licence figures count every organization too"
    );
    assert_eq!(all_months.texts("#organization-mau tfoot td").len(), 12);
    assert_eq!(all_months.texts("#organization-mau tfoot td")[11], total.to_string());
    let searched = owner.get("/license?month=2026-06&q=zeta").await;
    assert_eq!(
        searched.text("#organization-mau tfoot td"),
        expected("zeta").await.to_string()
    );
    assert!(
        searched
            .text("[data-organization-count]")
            .starts_with("70 organizations match")
    );
}

#[tokio::test]
async fn another_resellers_organizations_never_appear() {
    let app = TestApp::demo().await;
    add_organizations(&app, "Fabrikam Managed IT", "Fabrikam Extra", 60).await;
    let owner = app.login("owner@northwind.example").await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let ours = listed_organizations(&app, "Northwind Backup Services").await;
    for path in [
        "/license".to_string(),
        "/license?q=fabrikam".to_string(),
        "/license?q=woodgrove".to_string(),
        format!("/license?reseller={fabrikam}"),
    ] {
        let page = owner.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(row_ids(&page).iter().all(|id| ours.contains(id)), "{path}");
        assert!(
            !page.body.contains("Woodgrove") && !page.body.contains("Fabrikam Extra"),
            "{path}"
        );
    }
    let csv = owner.get(&format!("/license?format=csv&reseller={fabrikam}")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(!csv.body.contains("Woodgrove") && !csv.body.contains("Fabrikam Extra"));
    // The operator sees Fabrikam's when it chooses Fabrikam, and its totals are Fabrikam's.
    let operator = app.login("operator").await;
    let theirs = operator.get(&format!("/license?reseller={fabrikam}&q=extra")).await;
    assert_eq!(row_ids(&theirs).len(), 50);
    assert!(theirs.attrs("a[rel=next]", "href")[0].contains(&format!("reseller={fabrikam}")));
    assert!(!theirs.body.contains("Contoso"));
}

#[tokio::test]
async fn a_malformed_cursor_or_export_format_is_a_bad_request() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    for path in ["/license?after=%%%", "/license?after=garbage!", "/license?format=xml"] {
        assert_eq!(owner.get(path).await.status, StatusCode::BAD_REQUEST, "{path}");
    }
}

#[tokio::test]
async fn a_row_charts_its_organization_and_the_chart_returns_to_all() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    let contoso = app.customer_id("Contoso").await;
    let page = owner.get("/license?q=contoso").await;
    let href = page
        .attrs("#organization-mau tbody a", "href")
        .pop()
        .expect("a chart link");
    assert!(href.contains(&format!("customer={contoso}")), "{href}");
    let charted = owner.get(&href).await;
    assert!(charted.texts("main h2").contains(&"MAU history: Contoso".to_string()));
    assert_eq!(
        charted.texts("#organization-mau tbody tr").len(),
        1,
        "the search is kept"
    );
    let back = charted.attrs("#chart-all", "href").pop().expect("a way back");
    assert!(!back.contains("customer="));
    assert!(
        owner
            .get(&back)
            .await
            .texts("main h2")
            .iter()
            .any(|h| h.contains("(all organizations)"))
    );
}

#[tokio::test]
async fn the_csv_export_holds_every_organization_across_chunks() {
    let app = TestApp::demo().await;
    add_organizations(&app, "Northwind Backup Services", "Bulk", 1_050).await;
    let listed = listed_organizations(&app, "Northwind Backup Services").await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET name = '=cmd()' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("arrange");
    let owner = app.login("owner@northwind.example").await;
    let csv = owner.get("/license?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), listed.len() + 1, "a header and one line per organization");
    assert!(lines[0].starts_with("Organization,Jul 2025,"), "{}", lines[0]);
    assert!(lines[0].ends_with("Jun 2026"));
    assert!(csv.body.contains("'=cmd()"), "a formula is defused");
    let names: std::collections::HashSet<&str> = lines[1..].iter().filter_map(|l| l.split(',').next()).collect();
    assert_eq!(names.len(), listed.len(), "no organization twice");
    let one = owner.get("/license?format=csv&q=bulk%200007&month=2026-06").await;
    let expected: i32 = sqlx::query_scalar(
        "SELECT m.mau FROM mau_monthly m JOIN customers c ON c.id = m.customer_id \
         WHERE c.name = 'Bulk 0007' AND m.month = '2026-06-01'",
    )
    .fetch_one(&app.db)
    .await
    .expect("mau");
    assert_eq!(one.body, format!("Organization,Jun 2026\r\nBulk 0007,{expected}\r\n"));
}

#[tokio::test]
async fn a_search_longer_than_any_list_accepts_is_a_bad_request() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    let longest = "a".repeat(120);
    assert_eq!(owner.get(&format!("/license?q={longest}")).await.status, StatusCode::OK);
    let too_long = owner.get(&format!("/license?q={longest}a")).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.body.contains("at most 120 characters"), "{}", too_long.body);
}
