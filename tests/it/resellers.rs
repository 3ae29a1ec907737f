//! `/resellers`: the operator's list, creating and editing resellers with their allowances and owner.

use axum::http::StatusCode;

use crate::common::{TestApp, TestClient, TestResponse};

fn valid(name: &str, owner: &str) -> Vec<(String, String)> {
    [
        ("name", name),
        ("max_customers", "30"),
        ("max_accounts", "2000"),
        ("mau_allowance", "800"),
        ("disk_space_gib", "5000"),
        ("mcal_pool", "50"),
        ("throttling_mode", "inherit"),
        ("throttle_when", "always"),
        ("owner_username", owner),
        ("owner_display_name", "Olive Owner"),
        ("owner_email", "olive@example.com"),
        ("owner_password", "owner password 123"),
        ("owner_password_confirm", "owner password 123"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn with(mut form: Vec<(String, String)>, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    for (key, value) in changes {
        form.retain(|(k, _)| k != key);
        form.push((key.to_string(), value.to_string()));
    }
    form
}

async fn post(client: &TestClient, path: &str, form: &[(String, String)]) -> TestResponse {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    client.post_form(path, &fields).await
}

async fn resellers_named(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM resellers WHERE name = $1")
        .bind(name)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn the_operator_sees_every_reseller_with_its_usage() {
    let app = TestApp::demo().await;
    let page = app.login("operator").await.get("/resellers").await;
    assert_eq!(page.status, StatusCode::OK);
    let names = page.texts("#resellers td.name a");
    assert!(names.contains(&"Fabrikam Managed IT".to_string()), "{names:?}");
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let row = format!("tr[data-reseller=\"{northwind}\"]");
    assert_eq!(page.text(&format!("{row} td.customers")), "18 / 25");
    assert_eq!(page.text(&format!("{row} td.disk")), "40.0 TiB");
}

#[tokio::test]
async fn reseller_staff_and_customers_may_not_open_the_reseller_pages() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    for username in ["owner@northwind.example", "admin@northwind.example", "contoso-portal"] {
        let client = app.login(username).await;
        assert_eq!(
            client.get("/resellers").await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        assert_eq!(
            client.get("/resellers/new").await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        let response = post(
            &client,
            &format!("/resellers/{northwind}/edit"),
            &with(
                valid("Northwind Backup Services", "owner@northwind.example"),
                &[("max_customers", "999")],
            ),
        )
        .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{username}");
    }
    let max: i32 = sqlx::query_scalar("SELECT max_customers FROM resellers WHERE id = $1")
        .bind(northwind)
        .fetch_one(&app.db)
        .await
        .expect("reseller");
    assert_eq!(max, 25);
}

#[tokio::test]
async fn creating_a_reseller_creates_its_owner_who_can_log_in() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    operator.get("/resellers/new").await;
    let response = post(
        &operator,
        "/resellers/new",
        &valid("Contoso Cloud Partners", "olive@ccp.example"),
    )
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let (id, disk, pool): (i64, i64, i32) =
        sqlx::query_as("SELECT id, disk_space_bytes, mcal_pool FROM resellers WHERE name = 'Contoso Cloud Partners'")
            .fetch_one(&app.db)
            .await
            .expect("reseller");
    assert_eq!(disk, 5000 << 30);
    assert_eq!(pool, 50);
    let (role, reseller): (String, Option<i64>) =
        sqlx::query_as("SELECT role, reseller_id FROM users WHERE username = 'olive@ccp.example'")
            .fetch_one(&app.db)
            .await
            .expect("owner");
    assert_eq!((role.as_str(), reseller), ("reseller_owner", Some(id)));
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE reseller_id = $1 AND action = 'reseller_created'")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("audit");
    assert_eq!(audited, 1);
    let login = app.client().log_in("olive@ccp.example", "owner password 123").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn each_invalid_reseller_field_is_reported_and_nothing_is_saved() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    operator.get("/resellers/new").await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("name", "")], "name"),
        (&[("max_customers", "-1")], "max_customers"),
        (&[("max_accounts", "many")], "max_accounts"),
        (&[("mau_allowance", "")], "mau_allowance"),
        (&[("disk_space_gib", "-5")], "disk_space_gib"),
        (&[("mcal_pool", "1.5")], "mcal_pool"),
        (&[("owner_username", "")], "owner_username"),
        (&[("owner_email", "nope")], "owner_email"),
        (
            &[("owner_password", "short"), ("owner_password_confirm", "short")],
            "owner_password",
        ),
        (
            &[("owner_password_confirm", "something else entirely")],
            "owner_password",
        ),
        (
            &[
                ("throttling_mode", "custom"),
                ("throttle_enabled", "on"),
                ("throttle_when", "window"),
                ("throttle_from", "22:00"),
                ("throttle_to", "22:00"),
                ("throttle_max_kbps", "100"),
            ],
            "throttle_to",
        ),
    ];
    for (changes, field) in cases {
        let page = post(
            &operator,
            "/resellers/new",
            &with(valid("New Reseller", "new-owner"), changes),
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{changes:?}");
        assert!(
            !page.texts(&format!("#{field}-error")).is_empty(),
            "{changes:?} on {field}"
        );
        assert_eq!(resellers_named(&app, "New Reseller").await, 0);
    }
}

#[tokio::test]
async fn taken_reseller_names_and_usernames_are_field_messages() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    operator.get("/resellers/new").await;
    let page = post(
        &operator,
        "/resellers/new",
        &valid("Fabrikam Managed IT", "someone-new"),
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#name-error").contains("already exists"));
    let page = post(
        &operator,
        "/resellers/new",
        &valid("New Reseller", "ADMIN@northwind.example"),
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#owner_username-error").contains("taken"));
    assert_eq!(resellers_named(&app, "New Reseller").await, 0);
}

#[tokio::test]
async fn editing_allowances_and_throttling_is_saved_and_audited() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let operator = app.login("operator").await;
    let page = operator.get(&format!("/resellers/{northwind}/edit")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attrs("#owner_username", "value"), vec!["owner@northwind.example"]);
    let form = with(
        valid("Northwind Backup Services", "owner@northwind.example"),
        &[
            ("max_customers", "40"),
            ("disk_space_gib", "50000"),
            ("owner_password", ""),
            ("owner_password_confirm", ""),
            ("throttling_mode", "custom"),
            ("throttle_enabled", "on"),
            ("throttle_max_kbps", "8192"),
        ],
    );
    let response = post(&operator, &format!("/resellers/{northwind}/edit"), &form).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let (max, throttling): (i32, serde_json::Value) =
        sqlx::query_as("SELECT max_customers, bandwidth_throttling FROM resellers WHERE id = $1")
            .bind(northwind)
            .fetch_one(&app.db)
            .await
            .expect("reseller");
    assert_eq!(max, 40);
    assert_eq!(throttling["max_kbps"], 8192);
    let changes: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM audit_log WHERE reseller_id = $1 AND action = 'reseller_updated'")
            .bind(northwind)
            .fetch_one(&app.db)
            .await
            .expect("audit");
    assert_eq!(changes["max_customers"]["after"], 40);
    // The owner's password was left empty: it still works.
    let login = app
        .client()
        .log_in("owner@northwind.example", crate::common::DEMO_PASSWORD)
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn disk_space_below_what_customers_hold_is_refused() {
    let app = TestApp::demo().await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let operator = app.login("operator").await;
    operator.get("/resellers").await;
    let form = with(
        valid("Northwind Backup Services", "owner@northwind.example"),
        &[
            ("disk_space_gib", "1"),
            ("owner_password", ""),
            ("owner_password_confirm", ""),
        ],
    );
    let response = post(&operator, &format!("/resellers/{northwind}/edit"), &form).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text("#disk_space_gib-error").contains("already have"));
    let disk: i64 = sqlx::query_scalar("SELECT disk_space_bytes FROM resellers WHERE id = $1")
        .bind(northwind)
        .fetch_one(&app.db)
        .await
        .expect("reseller");
    assert_eq!(disk, 40 << 40);
}

#[tokio::test]
async fn an_unknown_reseller_is_not_found() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    assert_eq!(
        operator.get("/resellers/999999/edit").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(operator.get("/resellers/abc/edit").await.status, StatusCode::NOT_FOUND);
}
