//! `/organizations`: the reseller's customers as organizations, and creating one within the
//! max-customers allowance.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn customer_count(app: &TestApp, reseller: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM customers c JOIN resellers r ON r.id = c.reseller_id \
         WHERE r.name = $1 AND NOT c.is_default AND c.lifecycle <> 'deleted'",
    )
    .bind(reseller)
    .fetch_one(&app.db)
    .await
    .expect("count")
}

#[tokio::test]
async fn staff_see_their_own_organizations_with_mau_and_a_log_in_button() {
    let app = TestApp::demo().await;
    let page = app.login("admin@northwind.example").await.get("/organizations").await;
    assert_eq!(page.status, StatusCode::OK);
    let names = page.texts("#organizations tbody tr td:first-child");
    assert_eq!(names.len(), 18);
    assert!(names.contains(&"Contoso".to_string()));
    assert!(!names.contains(&"Woodgrove Bank".to_string()));
    let contoso = app.customer_id("Contoso").await;
    let mau: i32 = sqlx::query_scalar("SELECT mau FROM mau_monthly WHERE customer_id = $1 AND month = '2026-06-01'")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("mau");
    let row = page.texts(&format!("#organizations tr[data-id='{contoso}'] td"));
    assert_eq!(row[1], mau.to_string(), "{row:?}");
    assert_eq!(
        page.attrs(&format!("#organizations tr[data-id='{contoso}'] a"), "href"),
        vec![format!("/impersonation/new?customer={contoso}")]
    );
    assert_eq!(page.text("[data-allowance]"), "18 of 25 organizations allowed.");
}

#[tokio::test]
async fn search_sort_and_export_work_together() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@northwind.example").await;
    let page = owner.get("/organizations?q=co").await;
    let names = page.texts("#organizations tbody tr td:first-child");
    assert!(names.iter().all(|n| n.to_lowercase().contains("co")), "{names:?}");
    let sorted = owner.get("/organizations?sort=accounts&dir=desc").await;
    let accounts: Vec<i64> = sorted
        .texts("#organizations tbody tr td:nth-child(4)")
        .iter()
        .map(|v| v.parse().expect("number"))
        .collect();
    assert!(accounts.windows(2).all(|w| w[0] >= w[1]), "{accounts:?}");
    let csv = owner.get("/organizations?format=csv&q=contoso").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("Organization,Reseller,MAU this month"));
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    assert_eq!(
        owner.get("/organizations?sort=password").await.status,
        StatusCode::BAD_REQUEST
    );
    let empty = owner.get("/organizations?q=zzzz").await;
    assert!(empty.text(".empty").contains("zzzz"));
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps() {
    let app = TestApp::demo().await;
    sqlx::query("UPDATE resellers SET max_customers = 100 WHERE name = 'Northwind Backup Services'")
        .execute(&app.db)
        .await
        .expect("raise");
    sqlx::query(
        "INSERT INTO customers (reseller_id, name, pass_key_hash, created_at) \
         SELECT r.id, 'Extra ' || lpad(n::text, 3, '0'), 'x', now() FROM resellers r, generate_series(1, 40) n \
         WHERE r.name = 'Northwind Backup Services'",
    )
    .execute(&app.db)
    .await
    .expect("more customers");
    let owner = app.login("owner@northwind.example").await;
    let first = owner.get("/organizations?sort=mau").await;
    let mut seen = first.texts("#organizations tbody tr td:first-child");
    assert_eq!(seen.len(), 50);
    let next = first.attrs("a[rel=next]", "href");
    let second = owner.get(&next[0]).await;
    seen.extend(second.texts("#organizations tbody tr td:first-child"));
    assert_eq!(seen.len(), 58);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 58, "no row twice");
}

#[tokio::test]
async fn the_operator_sees_all_resellers_and_filters_one() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    let all = operator.get("/organizations").await;
    let names = all.texts("#organizations tbody tr td:first-child");
    assert!(names.contains(&"Contoso".to_string()) && names.contains(&"Woodgrove Bank".to_string()));
    assert!(!names.contains(&"Default Customer".to_string()));
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let one = operator.get(&format!("/organizations?reseller={fabrikam}")).await;
    assert_eq!(one.texts("#organizations tbody tr").len(), 14);
    assert_eq!(
        operator.get("/organizations?reseller=x").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn customer_users_and_anonymous_visitors_may_not_list_organizations() {
    let app = TestApp::demo().await;
    let customer = app.login("contoso-portal").await;
    assert_eq!(customer.get("/organizations").await.status, StatusCode::FORBIDDEN);
    assert_eq!(customer.get("/organizations/new").await.status, StatusCode::FORBIDDEN);
    let response = customer
        .post_form("/organizations", &[("name", "Sneaky"), ("max_mau", "10")])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(app.client().get("/organizations").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn creating_an_organization_needs_only_a_name_and_a_threshold_and_shows_the_pass_key_once() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let form = admin.get("/organizations/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let response = admin
        .post_form("/organizations", &[("name", "Tailor Made Ltd"), ("max_mau", "250")])
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let key = response.text("#pass-key");
    let (max_mau, hash, reseller): (i32, String, String) = sqlx::query_as(
        "SELECT c.max_mau, c.pass_key_hash, r.name FROM customers c JOIN resellers r ON r.id = c.reseller_id \
         WHERE c.name = 'Tailor Made Ltd'",
    )
    .fetch_one(&app.db)
    .await
    .expect("created");
    assert_eq!(max_mau, 250);
    assert_eq!(reseller, "Northwind Backup Services");
    assert_eq!(hash, msp_portal::auth::sessions::sha256_hex(&key));
    assert_ne!(hash, key);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'customer_created'")
        .fetch_one(&app.db)
        .await
        .expect("audit");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_bad_form_is_shown_again_and_nothing_is_created() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    admin.get("/organizations/new").await;
    let response = admin
        .post_form("/organizations", &[("name", "  "), ("max_mau", "-5")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.text("#name-error"), "This field is required.");
    assert_eq!(response.text("#max_mau-error"), "Enter 0 or more.");
    let taken = admin
        .post_form("/organizations", &[("name", "woodgrove bank"), ("max_mau", "5")])
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "names are unique everywhere"
    );
    assert!(taken.text("#name-error").contains("taken"));
    assert_eq!(customer_count(&app, "Northwind Backup Services").await, 18);
}

#[tokio::test]
async fn creation_is_allowed_up_to_the_allowance_and_refused_at_it() {
    let app = TestApp::demo().await;
    sqlx::query("UPDATE resellers SET max_customers = 19 WHERE name = 'Northwind Backup Services'")
        .execute(&app.db)
        .await
        .expect("set allowance");
    let owner = app.login("owner@northwind.example").await;
    let before = owner.get("/organizations").await;
    assert_eq!(
        before.attrs("a#create-organization", "href"),
        vec!["/organizations/new"]
    );
    let created = owner
        .post_form("/organizations", &[("name", "The Last One"), ("max_mau", "10")])
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(customer_count(&app, "Northwind Backup Services").await, 19);

    let at_limit = owner.get("/organizations").await;
    assert_eq!(at_limit.attrs("button#create-organization[disabled]", "id").len(), 1);
    assert!(at_limit.text("#create-explained").contains("19"));
    let forged = owner
        .post_form("/organizations", &[("name", "One Too Many"), ("max_mau", "10")])
        .await;
    assert_eq!(forged.status, StatusCode::CONFLICT);
    assert_eq!(customer_count(&app, "Northwind Backup Services").await, 19);
}

#[tokio::test]
async fn a_reseller_at_its_allowance_cannot_create_even_through_the_form_page() {
    let app = TestApp::demo().await;
    let owner = app.login("owner@fabrikam.example").await;
    let form = owner.get("/organizations/new").await;
    assert!(form.texts("form[action='/organizations']").is_empty());
    assert!(form.text("#create-explained").contains("14"));
}

#[tokio::test]
async fn staff_cannot_create_for_another_reseller_and_the_operator_must_choose_one() {
    let app = TestApp::demo().await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await.to_string();
    let tailspin = app.reseller_id("Tailspin Cloud").await.to_string();
    let admin = app.login("admin@northwind.example").await;
    admin.get("/organizations").await;
    let response = admin
        .post_form(
            "/organizations",
            &[("reseller_id", &tailspin), ("name", "Elsewhere"), ("max_mau", "1")],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "the field is ignored: staff create for their own reseller"
    );
    let reseller: String = sqlx::query_scalar(
        "SELECT r.name FROM customers c JOIN resellers r ON r.id = c.reseller_id WHERE c.name = 'Elsewhere'",
    )
    .fetch_one(&app.db)
    .await
    .expect("created");
    assert_eq!(reseller, "Northwind Backup Services");

    let operator = app.login("operator").await;
    operator.get("/organizations").await;
    let none = operator
        .post_form("/organizations", &[("name", "Nowhere"), ("max_mau", "1")])
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    let full = operator
        .post_form(
            "/organizations",
            &[("reseller_id", &fabrikam), ("name", "Over"), ("max_mau", "1")],
        )
        .await;
    assert_eq!(full.status, StatusCode::CONFLICT, "Fabrikam is at its allowance");
    let ok = operator
        .post_form(
            "/organizations",
            &[("reseller_id", &tailspin), ("name", "Tailspin New"), ("max_mau", "1")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
}

#[tokio::test]
async fn role_matrix() {
    let app = TestApp::demo().await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    // operator, owner, admin, customer user, anonymous
    let cases = [
        ("/organizations".to_string(), [200, 200, 200, 403, 303]),
        (format!("/organizations?reseller={fabrikam}"), [200, 200, 200, 403, 303]),
        ("/organizations?format=csv".to_string(), [200, 200, 200, 403, 303]),
        ("/organizations/new".to_string(), [200, 200, 200, 403, 303]),
        (
            format!("/organizations/new?reseller={fabrikam}"),
            [200, 200, 200, 403, 303],
        ),
    ];
    for (path, expected) in cases {
        assert_eq!(crate::common::get_matrix(&app, &path).await, expected, "{path}");
    }
    // Anonymous posts (with the login form's token) are sent to log in; nothing changes.
    let anonymous = app.client();
    anonymous.get("/login").await;
    let post = anonymous
        .post_form("/organizations", &[("name", "Anon"), ("max_mau", "1")])
        .await;
    assert_eq!(post.status, StatusCode::SEE_OTHER);
    assert_eq!(customer_count(&app, "Northwind Backup Services").await, 18);
}

#[tokio::test]
async fn two_creations_racing_for_the_last_place_get_one_organization() {
    let app = TestApp::demo().await;
    sqlx::query("UPDATE resellers SET max_customers = 19 WHERE name = 'Northwind Backup Services'")
        .execute(&app.db)
        .await
        .expect("set allowance");
    let owner = app.login("owner@northwind.example").await;
    let admin = app.login("admin@northwind.example").await;
    let (a, b) = tokio::join!(
        owner.post_form("/organizations", &[("name", "Racer One"), ("max_mau", "1")]),
        admin.post_form("/organizations", &[("name", "Racer Two"), ("max_mau", "1")]),
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![201, 409]);
    assert_eq!(customer_count(&app, "Northwind Backup Services").await, 19);
}

#[tokio::test]
async fn the_export_link_keeps_the_search() {
    let app = TestApp::demo().await;
    let page = app
        .login("owner@northwind.example")
        .await
        .get("/organizations?q=co&sort=mau")
        .await;
    assert_eq!(
        page.attrs("#results #export-csv", "href"),
        vec!["/organizations?q=co&sort=mau&format=csv"]
    );
}
