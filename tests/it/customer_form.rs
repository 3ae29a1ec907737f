//! `/customers/new` and `/customers/{id}/edit`: creating and editing a customer, every
//! validation rule, pass keys and the portal user.

use axum::http::StatusCode;

use crate::common::{TestApp, TestClient, TestResponse};

/// A valid form for a new customer; tests change one field at a time.
pub(crate) fn valid(name: &str) -> Vec<(String, String)> {
    [
        ("name", name),
        ("legal_name", "Example Ltd."),
        ("email", "it@example.com"),
        ("address", "1 Main Street"),
        ("city", "Springfield"),
        ("phone", "+1 555 0100"),
        ("fax", ""),
        ("notes", "Signed in June."),
        ("backup_location", "primary"),
        ("space_quota_gib", "100"),
        ("auto_authorize", "on"),
        ("activated", "on"),
        ("mcals_mode", "auto"),
        ("mcals_allotted", ""),
        ("max_clients", "10"),
        ("throttling_mode", "inherit"),
        ("throttle_when", "always"),
        ("report_to", ""),
        ("report_every", "none"),
        ("max_mau", "500"),
        ("service_plan_id", ""),
        ("storage_region", "eu-west"),
        ("tenant_type", "commercial"),
        ("trial_ends_on", ""),
        ("service_expires_on", "2027-06-30"),
        ("credit_quota", ""),
        ("credit_quota_effective_on", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub(crate) fn with(mut form: Vec<(String, String)>, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    for (key, value) in changes {
        form.retain(|(k, _)| k != key);
        if !value.is_empty() || !["auto_authorize", "activated", "portal_access", "throttle_enabled"].contains(key) {
            form.push((key.to_string(), value.to_string()));
        }
    }
    form
}

pub(crate) async fn post(client: &TestClient, path: &str, form: &[(String, String)]) -> TestResponse {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    client.post_form(path, &fields).await
}

async fn customer_count(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM customers WHERE lower(name) = lower($1)")
        .bind(name)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

async fn admin(app: &TestApp) -> TestClient {
    let client = app.login("admin@northwind.example").await;
    client.get("/customers/new").await;
    client
}

#[tokio::test]
async fn creating_a_customer_shows_its_pass_key_once_and_stores_only_its_hash() {
    let app = TestApp::demo().await;
    let client = admin(&app).await;
    let page = post(&client, "/customers/new", &valid("Acme Rockets")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let key = page.text("#pass-key");
    assert!(key.len() >= 20, "a random key: {key}");
    let (id, hash, reseller, quota): (i64, String, i64, Option<i64>) = sqlx::query_as(
        "SELECT id, pass_key_hash, reseller_id, space_quota_bytes FROM customers WHERE name = 'Acme Rockets'",
    )
    .fetch_one(&app.db)
    .await
    .expect("created");
    assert_eq!(hash, msp_portal::auth::sessions::sha256_hex(&key));
    assert_ne!(hash, key);
    assert_eq!(reseller, app.reseller_id("Northwind Backup Services").await);
    assert_eq!(quota, Some(100 << 30));
    let stored_anywhere: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM audit_log WHERE changes::text LIKE '%' || $1 || '%') \
              + (SELECT count(*) FROM customers WHERE row_to_json(customers)::text LIKE '%' || $1 || '%')",
    )
    .bind(&key)
    .fetch_one(&app.db)
    .await
    .expect("search");
    assert_eq!(stored_anywhere, 0, "the pass key is stored nowhere in clear");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'customer_created'")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("audit");
    assert_eq!(audited, 1);
    let again = client.get(&format!("/customers/{id}/edit")).await;
    assert!(!again.body.contains(&key), "the key is not shown again");
}

#[tokio::test]
async fn web_portal_access_creates_a_customer_user_that_can_log_in() {
    let app = TestApp::demo().await;
    let client = admin(&app).await;
    let form = with(
        valid("Acme Rockets"),
        &[
            ("portal_access", "on"),
            ("portal_username", "acme-portal"),
            ("portal_password", "a long enough secret"),
            ("portal_password_confirm", "a long enough secret"),
        ],
    );
    let page = post(&client, "/customers/new", &form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (role, hash): (String, String) =
        sqlx::query_as("SELECT role, password_hash FROM users WHERE username = 'acme-portal'")
            .fetch_one(&app.db)
            .await
            .expect("user");
    assert_eq!(role, "customer");
    assert!(hash.starts_with("$argon2id$"));
    let portal = app.client();
    let response = portal.log_in("acme-portal", "a long enough secret").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location().as_deref(), Some("/portal"));
}

#[tokio::test]
async fn each_invalid_field_is_reported_next_to_it_and_nothing_is_saved() {
    let app = TestApp::demo().await;
    let client = admin(&app).await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("name", "")], "name"),
        (&[("name", &"x".repeat(121))], "name"),
        (&[("email", "not-an-address")], "email"),
        (&[("phone", &"1".repeat(41))], "phone"),
        (&[("backup_location", " ")], "backup_location"),
        (&[("space_quota_gib", "-1")], "space_quota_gib"),
        (&[("space_quota_gib", "999999999")], "space_quota_gib"),
        (&[("max_clients", "-3")], "max_clients"),
        (&[("max_clients", "ten")], "max_clients"),
        (&[("max_mau", "")], "max_mau"),
        (&[("mcals_mode", "fixed"), ("mcals_allotted", "-1")], "mcals_allotted"),
        (&[("mcals_mode", "lots")], "mcals_mode"),
        (
            &[
                ("throttling_mode", "custom"),
                ("throttle_enabled", "on"),
                ("throttle_when", "window"),
                ("throttle_from", "08:00"),
                ("throttle_to", "08:00"),
                ("throttle_max_kbps", "512"),
            ],
            "throttle_to",
        ),
        (
            &[
                ("throttling_mode", "custom"),
                ("throttle_enabled", "on"),
                ("throttle_max_kbps", "0"),
            ],
            "throttle_max_kbps",
        ),
        (
            &[
                ("throttling_mode", "custom"),
                ("throttle_when", "window"),
                ("throttle_from", "8 am"),
                ("throttle_to", "18:00"),
            ],
            "throttle_from",
        ),
        (&[("email", ""), ("email_reports", "on")], "email"),
        (&[("report_to", "ops@example.com, nope")], "report_to"),
        (&[("report_every", "weekly")], "report_to"),
        (&[("report_every", "hourly")], "report_every"),
        (&[("storage_region", "moon")], "storage_region"),
        (&[("tenant_type", "evaluation")], "trial_ends_on"),
        (&[("service_expires_on", "30/06/2027")], "service_expires_on"),
        (&[("credit_quota", "-5")], "credit_quota"),
        (&[("credit_quota", "1.234")], "credit_quota"),
        (
            &[("credit_quota", "100"), ("credit_quota_effective_on", "2026-06-14")],
            "credit_quota_effective_on",
        ),
        (&[("service_plan_id", "999999")], "service_plan_id"),
        (
            &[
                ("portal_access", "on"),
                ("portal_username", "acme"),
                ("portal_password", "short"),
                ("portal_password_confirm", "short"),
            ],
            "portal_password",
        ),
        (
            &[
                ("portal_access", "on"),
                ("portal_username", "acme"),
                ("portal_password", "a long enough secret"),
                ("portal_password_confirm", "a different secret!"),
            ],
            "portal_password",
        ),
        (
            &[
                ("portal_access", "on"),
                ("portal_username", ""),
                ("portal_password", "a long enough secret"),
                ("portal_password_confirm", "a long enough secret"),
            ],
            "portal_username",
        ),
    ];
    for (changes, field) in cases {
        let form = with(valid("Acme Rockets"), changes);
        let page = post(&client, "/customers/new", &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{changes:?}");
        assert!(
            !page.texts(&format!("#{field}-error")).is_empty(),
            "{changes:?} should be reported on {field}: {:?}",
            page.texts(".field-error")
        );
        assert_eq!(
            page.attrs("#legal_name", "value"),
            vec!["Example Ltd."],
            "input is kept"
        );
        assert_eq!(customer_count(&app, "Acme Rockets").await, 0, "{changes:?}");
    }
}

#[tokio::test]
async fn a_taken_customer_name_or_username_is_a_field_message_not_an_error_page() {
    let app = TestApp::demo().await;
    let client = admin(&app).await;
    // Another reseller's customer: names are unique across the installation.
    let page = post(&client, "/customers/new", &valid("woodgrove bank")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#name-error").contains("already exists"));
    let form = with(
        valid("Acme Rockets"),
        &[
            ("portal_access", "on"),
            ("portal_username", "Contoso-Portal"),
            ("portal_password", "a long enough secret"),
            ("portal_password_confirm", "a long enough secret"),
        ],
    );
    let page = post(&client, "/customers/new", &form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#portal_username-error").contains("taken"));
    assert_eq!(customer_count(&app, "Acme Rockets").await, 0);
}

#[tokio::test]
async fn a_reseller_at_its_max_customers_cannot_create_another() {
    let app = TestApp::demo().await;
    sqlx::query(
        "UPDATE resellers SET max_customers = (SELECT count(*) FROM customers c WHERE c.reseller_id = resellers.id \
                                               AND c.lifecycle <> 'deleted' AND NOT c.is_default) \
         WHERE name = 'Northwind Backup Services'",
    )
    .execute(&app.db)
    .await
    .expect("arrange");
    let client = admin(&app).await;
    let page = post(&client, "/customers/new", &valid("Acme Rockets")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#name-error").contains("allowance"));
    assert_eq!(customer_count(&app, "Acme Rockets").await, 0);
}

#[tokio::test]
async fn the_form_shows_the_resellers_space_snapshot() {
    let app = TestApp::demo().await;
    let page = app.login("admin@northwind.example").await.get("/customers/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let figures = page.texts("#space-snapshot dd");
    assert_eq!(figures.len(), 4);
    assert_eq!(figures[0], "40.0 TiB");
}

#[tokio::test]
async fn editing_keeps_the_name_saves_every_field_and_is_audited() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let client = app.login("admin@northwind.example").await;
    let page = client.get(&format!("/customers/{contoso}/edit")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text("#name"), "Contoso");
    let form = with(
        valid("Renamed"),
        &[
            ("city", "Tacoma"),
            ("mcals_mode", "fixed"),
            ("mcals_allotted", "12"),
            ("throttling_mode", "custom"),
            ("throttle_enabled", "on"),
            ("throttle_when", "window"),
            ("throttle_from", "08:00"),
            ("throttle_to", "18:00"),
            ("throttle_off_weekends", "on"),
            ("throttle_max_kbps", "2048"),
            ("report_to", "a@contoso.example; b@contoso.example"),
            ("report_every", "monthly"),
            ("space_quota_gib", ""),
        ],
    );
    let response = post(&client, &format!("/customers/{contoso}/edit"), &form).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let (name, city, mcals, throttling, every, quota): (
        String,
        String,
        Option<i32>,
        serde_json::Value,
        Option<String>,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT name, city, mcals_allotted, bandwidth_throttling, consolidated_report_every, space_quota_bytes \
             FROM customers WHERE id = $1",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("customer");
    assert_eq!(name, "Contoso", "the name is fixed after creation");
    assert_eq!(city, "Tacoma");
    assert_eq!(mcals, Some(12));
    assert_eq!(throttling["max_kbps"], 2048);
    assert_eq!(throttling["off_on_weekends"], true);
    assert_eq!(every.as_deref(), Some("monthly"));
    assert_eq!(quota, None);
    let changes: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM audit_log WHERE customer_id = $1 AND action = 'customer_updated'")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("audit");
    assert_eq!(changes["city"]["after"], "Tacoma");
    let page = client.get(&format!("/customers/{contoso}/edit")).await;
    assert!(
        page.text("#throttling-effective")
            .contains("2048 kbit/s, 08:00–18:00, not at weekends (set for the customer)")
    );
}

#[tokio::test]
async fn throttling_that_inherits_shows_what_the_reseller_sets() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query(
        "UPDATE resellers SET bandwidth_throttling = '{\"enabled\": true, \"window\": null, \"off_on_weekends\": false, \"max_kbps\": 4096}' \
         WHERE name = 'Northwind Backup Services'",
    )
    .execute(&app.db)
    .await
    .expect("arrange");
    let page = app
        .login("admin@northwind.example")
        .await
        .get(&format!("/customers/{contoso}/edit"))
        .await;
    assert!(
        page.text("#throttling-effective")
            .contains("4096 kbit/s, all day (set for the reseller)"),
        "{}",
        page.text("#throttling-effective")
    );
}

#[tokio::test]
async fn a_credit_quota_with_a_future_date_is_scheduled_not_applied() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let before: Option<String> = sqlx::query_scalar("SELECT credit_quota::text FROM customers WHERE id = $1")
        .bind(contoso)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    let client = app.login("admin@northwind.example").await;
    client.get(&format!("/customers/{contoso}/edit")).await;
    let form = with(
        valid("x"),
        &[("credit_quota", "7500.50"), ("credit_quota_effective_on", "2026-07-01")],
    );
    let response = post(&client, &format!("/customers/{contoso}/edit"), &form).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let (now, pending, on): (Option<String>, Option<String>, Option<chrono::NaiveDate>) = sqlx::query_as(
        "SELECT credit_quota::text, pending_credit_quota::text, pending_credit_quota_on FROM customers WHERE id = $1",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("customer");
    assert_eq!(now, before);
    assert_eq!(pending.as_deref(), Some("7500.50"));
    assert_eq!(on, chrono::NaiveDate::from_ymd_opt(2026, 7, 1));
    let page = client.get(&format!("/customers/{contoso}/edit")).await;
    assert!(page.text("#pending-credit-quota").contains("7500.50"));
}

#[tokio::test]
async fn changing_the_portal_password_and_turning_access_off() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let client = app.login("admin@northwind.example").await;
    let page = client.get(&format!("/customers/{contoso}/edit")).await;
    assert_eq!(page.attrs("#portal_username", "value"), vec!["contoso-portal"]);
    let form = with(
        valid("x"),
        &[
            ("portal_access", "on"),
            ("portal_username", "contoso-portal"),
            ("portal_password", "a brand new secret"),
            ("portal_password_confirm", "a brand new secret"),
        ],
    );
    let response = post(&client, &format!("/customers/{contoso}/edit"), &form).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let login = app.client().log_in("contoso-portal", "a brand new secret").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let response = post(&client, &format!("/customers/{contoso}/edit"), &valid("x")).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let disabled: bool =
        sqlx::query_scalar("SELECT disabled_at IS NOT NULL FROM users WHERE username = 'contoso-portal'")
            .fetch_one(&app.db)
            .await
            .expect("user");
    assert!(disabled);
}

#[tokio::test]
async fn the_default_customers_mcals_cannot_be_changed() {
    let app = TestApp::demo().await;
    let default = app.customer_id("Default Customer").await;
    let operator = app.login("operator").await;
    let page = operator.get(&format!("/customers/{default}/edit")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.attrs("input[name=mcals_mode]", "value").is_empty());
    let form = with(
        valid("x"),
        &[
            ("mcals_mode", "fixed"),
            ("mcals_allotted", "3"),
            ("space_quota_gib", ""),
        ],
    );
    let response = post(&operator, &format!("/customers/{default}/edit"), &form).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let mcals: Option<i32> = sqlx::query_scalar("SELECT mcals_allotted FROM customers WHERE id = $1")
        .bind(default)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    assert_eq!(mcals, None);
}

#[tokio::test]
async fn regenerating_the_pass_key_asks_first_then_shows_the_new_key_once() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let hash_of = || async {
        sqlx::query_scalar::<_, String>("SELECT pass_key_hash FROM customers WHERE id = $1")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("customer")
    };
    let before = hash_of().await;
    let client = app.login("admin@northwind.example").await;
    let confirm = client.get(&format!("/customers/{contoso}/pass-key")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(hash_of().await, before);
    let page = client.post_form(&format!("/customers/{contoso}/pass-key"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let key = page.text("#pass-key");
    let after = hash_of().await;
    assert_ne!(after, before);
    assert_eq!(after, msp_portal::auth::sessions::sha256_hex(&key));
    let leaked: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE changes::text LIKE '%' || $1 || '%'")
        .bind(&key)
        .fetch_one(&app.db)
        .await
        .expect("audit");
    assert_eq!(leaked, 0);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'customer_pass_key_regenerated'",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn the_operator_creates_a_customer_for_a_chosen_reseller() {
    let app = TestApp::demo().await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    sqlx::query("UPDATE resellers SET max_customers = 20 WHERE id = $1")
        .bind(fabrikam)
        .execute(&app.db)
        .await
        .expect("arrange");
    let operator = app.login("operator").await;
    operator.get("/customers/new").await;
    let missing = post(&operator, "/customers/new", &valid("Acme Rockets")).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!missing.texts("#reseller_id-error").is_empty());
    let form = with(valid("Acme Rockets"), &[("reseller_id", &fabrikam.to_string())]);
    let page = post(&operator, "/customers/new", &form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let reseller: i64 = sqlx::query_scalar("SELECT reseller_id FROM customers WHERE name = 'Acme Rockets'")
        .fetch_one(&app.db)
        .await
        .expect("customer");
    assert_eq!(reseller, fabrikam);
}

#[tokio::test]
async fn a_reseller_cannot_create_a_customer_under_another_reseller_or_edit_its_customers() {
    let app = TestApp::demo().await;
    let fabrikam = app.reseller_id("Fabrikam Managed IT").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let client = admin(&app).await;
    let form = with(valid("Acme Rockets"), &[("reseller_id", &fabrikam.to_string())]);
    let page = post(&client, "/customers/new", &form).await;
    assert_eq!(page.status, StatusCode::OK);
    let reseller: i64 = sqlx::query_scalar("SELECT reseller_id FROM customers WHERE name = 'Acme Rockets'")
        .fetch_one(&app.db)
        .await
        .expect("customer");
    assert_eq!(
        reseller,
        app.reseller_id("Northwind Backup Services").await,
        "the form's reseller is ignored"
    );
    let before: String = sqlx::query_scalar("SELECT city FROM customers WHERE id = $1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    let response = post(
        &client,
        &format!("/customers/{woodgrove}/edit"),
        &with(valid("x"), &[("city", "Hacked")]),
    )
    .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let after: String = sqlx::query_scalar("SELECT city FROM customers WHERE id = $1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("customer");
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_quota_below_what_its_clients_hold_is_refused_on_the_edit_form() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE clients SET space_limit_bytes = 60 * 1073741824::bigint WHERE customer_id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("arrange");
    let client = app.login("admin@northwind.example").await;
    client.get(&format!("/customers/{contoso}/edit")).await;
    let response = post(
        &client,
        &format!("/customers/{contoso}/edit"),
        &with(valid("x"), &[("space_quota_gib", "10")]),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text("#space_quota_gib-error")
            .contains("Its clients already have")
    );
}
