//! The agent API: registration and its refusals at their boundaries, reports, idempotent retries,
//! tenant separation, bad input, throttling, and the OpenAPI document.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, TestClient, TestResponse, fixed_now};

async fn post_json(client: &TestClient, path: &str, body: &Value, token: Option<&str>) -> TestResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth.as_str()));
    }
    client.send(Method::POST, path, Some(body.to_string()), &headers).await
}

fn json_of(response: &TestResponse) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|_| panic!("not JSON: {}", response.body))
}

async fn register(app: &TestApp, customer: &str, client_id: &str) -> TestResponse {
    register_from(&app.client(), customer, client_id).await
}

async fn register_from(client: &TestClient, customer: &str, client_id: &str) -> TestResponse {
    let pass_key = msp_portal::seed::demo_pass_key(customer);
    post_json(client, "/api/v1/register", &json!({"customer": customer, "pass_key": pass_key, "client_id": client_id, "hostname": "host-1", "os": "Linux"}), None).await
}

async fn token_for(app: &TestApp, customer: &str, client_id: &str) -> String {
    let response = register(app, customer, client_id).await;
    assert!(response.status.is_success(), "{}", response.body);
    json_of(&response)["client_token"].as_str().expect("token").to_string()
}

fn code(response: &TestResponse) -> String {
    json_of(response)["code"].as_str().unwrap_or_default().to_string()
}

async fn clients_of(app: &TestApp, customer: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM clients WHERE customer_id = $1")
        .bind(customer)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn an_agent_registers_with_the_pass_key_and_again_idempotently() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let before = clients_of(&app, contoso).await;
    let first = register(&app, "Contoso", "NEW-LAPTOP").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(json_of(&first)["created"], true);
    let again = register(&app, "contoso", "new-laptop").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(json_of(&again)["created"], false);
    assert_eq!(clients_of(&app, contoso).await, before + 1);
    let token = json_of(&first)["client_token"].as_str().expect("token").to_string();
    let stored: Option<String> =
        sqlx::query_scalar("SELECT token_hash FROM clients WHERE customer_id = $1 AND client_key = 'NEW-LAPTOP'")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_ne!(stored.as_deref(), Some(token.as_str()), "only a hash is stored");
}

#[tokio::test]
async fn a_wrong_pass_key_and_an_unknown_customer_get_the_same_answer() {
    let app = TestApp::demo().await;
    let client = app.client();
    let wrong = post_json(
        &client,
        "/api/v1/register",
        &json!({"customer": "Contoso", "pass_key": "nope", "client_id": "X"}),
        None,
    )
    .await;
    let unknown = post_json(
        &client,
        "/api/v1/register",
        &json!({"customer": "Nobody Inc", "pass_key": "nope", "client_id": "X"}),
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(code(&wrong), "invalid_credentials");
}

#[tokio::test]
async fn an_agent_without_a_customer_lands_under_the_default_customer() {
    let app = TestApp::demo().await;
    let response = post_json(
        &app.client(),
        "/api/v1/register",
        &json!({"client_id": "STRAY-1"}),
        None,
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert_eq!(json_of(&response)["default_customer"], true);
    assert_eq!(json_of(&response)["customer"], "Default Customer");
}

async fn set(app: &TestApp, sql: &str, customer: i64) {
    sqlx::query(sql)
        .bind(customer)
        .execute(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn every_refusal_has_its_own_code() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    let cases: &[(&str, &str)] = &[
        (
            "UPDATE customers SET activated = false WHERE id = $1",
            "customer_deactivated",
        ),
        (
            "UPDATE customers SET lifecycle = 'scheduled_for_deletion', delete_on = '2026-07-01' WHERE id = $1",
            "customer_scheduled_for_deletion",
        ),
        (
            "UPDATE customers SET auto_authorize = false WHERE id = $1",
            "client_not_authorized",
        ),
        (
            "UPDATE customers SET max_clients = (SELECT count(*) FROM clients WHERE customer_id = $1) WHERE id = $1",
            "max_clients_reached",
        ),
        (
            "UPDATE customers SET space_quota_bytes = used_space_bytes WHERE id = $1",
            "space_quota_exceeded",
        ),
        (
            "UPDATE customers SET max_clients = NULL, mcals_allotted = (SELECT count(*) FROM clients WHERE customer_id = $1) WHERE id = $1",
            "mcal_allotment_used_up",
        ),
    ];
    for (arrange, expected) in cases {
        let app = TestApp::demo().await;
        set(
            &app,
            "UPDATE customers SET max_clients = NULL, mcals_allotted = NULL, space_quota_bytes = NULL WHERE id = $1",
            contoso,
        )
        .await;
        set(&app, arrange, contoso).await;
        let before = clients_of(&app, contoso).await;
        let response = register(&app, "Contoso", "REFUSED-1").await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{expected}: {}", response.body);
        assert_eq!(code(&response), *expected);
        assert_eq!(clients_of(&app, contoso).await, before, "{expected}: nothing stored");
    }
    drop(app);
}

/// A registration that waits for another transaction adding a client to the same customer counts
/// that client once it commits: a statement that waited for a row re-reads the row, but not what
/// its sub-selects counted before the wait, so the count is the one stored on the customer's row.
#[tokio::test]
async fn a_registration_counts_the_client_it_waited_for() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    set(
        &app,
        "UPDATE customers SET max_clients = (SELECT count(*) + 1 FROM clients WHERE customer_id = $1), \
                              mcals_allotted = (SELECT count(*) + 10 FROM clients WHERE customer_id = $1), \
                              space_quota_bytes = NULL, auto_authorize = true WHERE id = $1",
        contoso,
    )
    .await;
    let before = clients_of(&app, contoso).await;
    let mut other = app.db.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO clients (reseller_id, customer_id, client_key, created_by, created_at) \
         SELECT reseller_id, id, 'TAKES-THE-LAST-PLACE', 'admin', now() FROM customers WHERE id = $1",
    )
    .bind(contoso)
    .execute(&mut *other)
    .await
    .expect("the other writer's client");
    let client = app.client();
    let registration = tokio::spawn(async move { register_from(&client, "Contoso", "WAITS-1").await });
    app.until_a_statement_waits_for_a_lock().await;
    other.commit().await.expect("commit");
    let response = registration.await.expect("the registration's task");
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    assert_eq!(code(&response), "max_clients_reached");
    assert_eq!(
        clients_of(&app, contoso).await,
        before + 1,
        "only the other writer's client"
    );
}

#[tokio::test]
async fn the_last_allotted_mcal_is_granted_and_the_next_refused() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    set(&app, "UPDATE customers SET max_clients = NULL, space_quota_bytes = NULL, mcals_allotted = (SELECT count(*) + 1 FROM clients WHERE customer_id = $1) WHERE id = $1", contoso).await;
    assert_eq!(register(&app, "Contoso", "LAST-ONE").await.status, StatusCode::CREATED);
    let next = register(&app, "Contoso", "ONE-TOO-MANY").await;
    assert_eq!(code(&next), "mcal_allotment_used_up");
    assert_eq!(
        register(&app, "Contoso", "LAST-ONE").await.status,
        StatusCode::OK,
        "re-registering takes no new MCAL"
    );
}

#[tokio::test]
async fn the_pool_decides_for_customers_without_an_allotment() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    set(
        &app,
        "UPDATE customers SET max_clients = NULL, space_quota_bytes = NULL, mcals_allotted = NULL WHERE id = $1",
        contoso,
    )
    .await;
    set(
        &app,
        "UPDATE resellers r SET mcal_pool = (SELECT count(*) + 1 FROM clients k JOIN customers c ON c.id = k.customer_id \
           WHERE k.reseller_id = r.id AND c.mcals_allotted IS NULL AND c.lifecycle <> 'deleted') \
         WHERE r.id = (SELECT reseller_id FROM customers WHERE id = $1)",
        contoso,
    )
    .await;
    assert_eq!(register(&app, "Contoso", "POOL-LAST").await.status, StatusCode::CREATED);
    assert_eq!(
        code(&register(&app, "Contoso", "POOL-EMPTY").await),
        "mcal_pool_used_up"
    );
    // An allotment caps a customer even when the pool is empty, and lets it go on within it.
    set(
        &app,
        "UPDATE customers SET mcals_allotted = (SELECT count(*) + 1 FROM clients WHERE customer_id = $1) WHERE id = $1",
        contoso,
    )
    .await;
    assert_eq!(register(&app, "Contoso", "ALLOTTED").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_client_added_by_an_admin_registers_even_without_auto_authorization() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    set(
        &app,
        "UPDATE customers SET auto_authorize = false WHERE id = $1",
        contoso,
    )
    .await;
    let existing: String =
        sqlx::query_scalar("SELECT client_key FROM clients WHERE customer_id = $1 ORDER BY id LIMIT 1")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("client");
    assert_eq!(register(&app, "Contoso", &existing).await.status, StatusCode::OK);
}

fn job(id: &str, kind: &str, connector: Option<&str>, status: &str) -> Value {
    let started = (fixed_now() - chrono::Duration::hours(2)).to_rfc3339();
    let ended = (fixed_now() - chrono::Duration::hours(1)).to_rfc3339();
    json!({"id": id, "kind": kind, "connector": connector, "started_at": started, "ended_at": ended, "status": status, "bytes": 1024})
}

#[tokio::test]
async fn a_report_stores_jobs_once_even_when_retried() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Contoso", "REPORTER").await;
    let report = json!({
        "connectors": [{"name": "Exchange", "kind": "microsoft_365", "health": "healthy"}],
        "jobs": [job("j-1", "backup", Some("Exchange"), "succeeded"), job("j-2", "backup", None, "failed"), job("r-1", "restore", Some("Exchange"), "succeeded")],
        "seats": [{"seat_property": "m365_user", "seats_used": 77}],
        "accounts": [{"id": "ann@contoso.example", "seat_property": "m365_user", "active_at": fixed_now().to_rfc3339()}],
        "storage_used_bytes": 123456
    });
    let first = post_json(&app.client(), "/api/v1/reports", &report, Some(&token)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(json_of(&first)["accepted"], 3);
    let retry = post_json(&app.client(), "/api/v1/reports", &report, Some(&token)).await;
    assert_eq!(json_of(&retry)["accepted"], 0);
    assert_eq!(json_of(&retry)["duplicates"].as_array().map(Vec::len), Some(3));
    let contoso = app.customer_id("Contoso").await;
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM backup_jobs WHERE customer_id = $1 AND external_id IN ('j-1', 'j-2')")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert_eq!(jobs, 2);
    let seats: i32 =
        sqlx::query_scalar("SELECT seats_used FROM seat_limits WHERE customer_id = $1 AND seat_property = 'm365_user'")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("seats");
    assert_eq!(seats, 77);
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_activity_months m JOIN accounts a ON a.id = m.account_id \
         WHERE a.external_id = 'ann@contoso.example' AND m.month = '2026-06-01'",
    )
    .fetch_one(&app.db)
    .await
    .expect("activity");
    assert_eq!(active, 1);
    let restore: Option<String> =
        sqlx::query_scalar("SELECT last_restore_status FROM connectors WHERE customer_id = $1 AND name = 'Exchange'")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("connector");
    assert_eq!(restore.as_deref(), Some("succeeded"));
}

/// Every month a report says an account was active in is counted, for a new account too, and a
/// late report of an earlier month leaves the account's last activity where it was.
#[tokio::test]
async fn a_report_records_every_month_its_accounts_were_active_in() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Contoso", "MONTHS").await;
    let report = json!({
        "accounts": [
            {"id": "new@contoso.example", "seat_property": "m365_user", "active_at": "2026-06-10T09:00:00Z"},
            {"id": "new@contoso.example", "seat_property": "m365_user", "active_at": "2026-05-20T09:00:00Z"},
        ]
    });
    let answer = post_json(&app.client(), "/api/v1/reports", &report, Some(&token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        app.activity_months("new@contoso.example").await,
        ["2026-05-01", "2026-06-01"]
    );
    let late = json!({
        "accounts": [{"id": "new@contoso.example", "seat_property": "m365_user", "active_at": "2026-04-30T23:00:00Z"}]
    });
    let answer = post_json(&app.client(), "/api/v1/reports", &late, Some(&token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        app.activity_months("new@contoso.example").await,
        ["2026-04-01", "2026-05-01", "2026-06-01"]
    );
    let last: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT last_activity_at FROM accounts WHERE external_id = 'new@contoso.example'")
            .fetch_one(&app.db)
            .await
            .expect("last activity");
    assert_eq!(last.to_rfc3339(), "2026-06-10T09:00:00+00:00");
}

type SourceFigures = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<String>,
);

/// The connector's last good backup, last restore and its status; the client's last good backup.
async fn source_figures(
    app: &TestApp,
    customer: i64,
    client_key: &str,
) -> (SourceFigures, Option<chrono::DateTime<chrono::Utc>>) {
    let connector: SourceFigures = sqlx::query_as(
        "SELECT last_success_at, last_restore_at, last_restore_status FROM connectors \
         WHERE customer_id = $1 AND name = 'Figures Mailbox'",
    )
    .bind(customer)
    .fetch_one(&app.db)
    .await
    .expect("connector");
    let client: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_success_at FROM clients WHERE customer_id = $1 AND client_key = $2")
            .bind(customer)
            .bind(client_key)
            .fetch_one(&app.db)
            .await
            .expect("client");
    (connector, client)
}

#[tokio::test]
async fn a_report_moves_its_sources_last_backup_and_restore_forward_only() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Contoso", "FIGURES").await;
    let contoso = app.customer_id("Contoso").await;
    let ago = |hours: i64| fixed_now() - chrono::Duration::hours(hours);
    let job_ending = |id: &str, kind: &str, connector: Option<&str>, status: &str, hours_ago: i64| {
        json!({"id": id, "kind": kind, "connector": connector, "started_at": ago(hours_ago + 1).to_rfc3339(),
               "ended_at": ago(hours_ago).to_rfc3339(), "status": status, "bytes": 1})
    };
    let mailbox = Some("Figures Mailbox");
    let first = json!({
        "connectors": [{"name": "Figures Mailbox", "kind": "microsoft_365", "health": "healthy"}],
        "jobs": [
            job_ending("fig-backup", "backup", mailbox, "succeeded", 2),
            job_ending("fig-failed", "backup", mailbox, "failed", 1),
            job_ending("fig-machine", "backup", None, "warning", 3),
            job_ending("fig-restore", "restore", mailbox, "failed", 1),
        ]
    });
    let response = post_json(&app.client(), "/api/v1/reports", &first, Some(&token)).await;
    assert_eq!(json_of(&response)["accepted"], 4, "{}", response.body);
    let after_first = source_figures(&app, contoso, "FIGURES").await;
    assert_eq!(
        after_first,
        ((Some(ago(2)), Some(ago(2)), Some("failed".to_string())), Some(ago(3))),
        "a failed backup is no good backup; a restore counts from its start"
    );

    // Older jobs, reported late, move nothing back; a running restore is not a last restore.
    let late = json!({"jobs": [
        job_ending("fig-old-backup", "backup", mailbox, "succeeded", 10),
        job_ending("fig-old-machine", "backup", None, "succeeded", 10),
        job_ending("fig-old-restore", "restore", mailbox, "succeeded", 10),
        json!({"id": "fig-running", "kind": "restore", "connector": "Figures Mailbox",
               "started_at": ago(0).to_rfc3339(), "status": "running"}),
    ]});
    let response = post_json(&app.client(), "/api/v1/reports", &late, Some(&token)).await;
    assert_eq!(json_of(&response)["accepted"], 4, "{}", response.body);
    assert_eq!(source_figures(&app, contoso, "FIGURES").await, after_first);

    let newer = json!({"jobs": [
        job_ending("fig-new-backup", "backup", mailbox, "warning", 0),
        job_ending("fig-new-restore", "restore", mailbox, "succeeded", 0),
        job_ending("fig-between-restore", "restore", mailbox, "failed", 5),
        job_ending("fig-machine-failed", "backup", None, "failed", 0),
    ]});
    post_json(&app.client(), "/api/v1/reports", &newer, Some(&token)).await;
    assert_eq!(
        source_figures(&app, contoso, "FIGURES").await,
        (
            (Some(ago(0)), Some(ago(1)), Some("succeeded".to_string())),
            Some(ago(3))
        ),
        "the connector's jobs do not count for the client machine"
    );
    // A newer backup and an older restore in one report: the one moves, the other does not.
    let latest = fixed_now() + chrono::Duration::minutes(5);
    let mixed = json!({"jobs": [
        json!({"id": "fig-latest", "kind": "backup", "connector": "Figures Mailbox",
               "started_at": ago(1).to_rfc3339(), "ended_at": latest.to_rfc3339(), "status": "succeeded"}),
        job_ending("fig-stale-restore", "restore", mailbox, "failed", 20),
    ]});
    post_json(&app.client(), "/api/v1/reports", &mixed, Some(&token)).await;
    assert_eq!(
        source_figures(&app, contoso, "FIGURES").await,
        (
            (Some(latest), Some(ago(1)), Some("succeeded".to_string())),
            Some(ago(3))
        )
    );
    let seen: (Option<chrono::DateTime<chrono::Utc>>, String) =
        sqlx::query_as("SELECT last_seen_at, status FROM clients WHERE customer_id = $1 AND client_key = 'FIGURES'")
            .bind(contoso)
            .fetch_one(&app.db)
            .await
            .expect("client");
    assert_eq!(seen, (Some(fixed_now()), "online".to_string()));
}

#[tokio::test]
async fn connectors_named_alike_but_for_spaces_are_one_connector_and_refused_twice() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Contoso", "TWINS").await;
    let report = json!({"connectors": [
        {"name": "Twin", "kind": "endpoint", "health": "healthy"},
        {"name": "Twin ", "kind": "endpoint", "health": "critical", "reason": "disk"},
    ]});
    let response = post_json(&app.client(), "/api/v1/reports", &report, Some(&token)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM connectors WHERE name = 'Twin'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_customer_past_its_grace_period_gets_new_backups_refused() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Consolidated Messenger", "BLOCKED").await;
    let report = json!({"jobs": [job("b-1", "backup", None, "succeeded"), job("r-1", "restore", None, "succeeded")]});
    let response = post_json(&app.client(), "/api/v1/reports", &report, Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let body = json_of(&response);
    assert_eq!(body["refused"][0]["id"], "b-1");
    assert_eq!(body["refused"][0]["code"], "seat_limit_exceeded");
    assert_eq!(body["accepted"], 1, "the restore is not refused");
    let status: String = sqlx::query_scalar("SELECT status FROM backup_jobs WHERE external_id = 'b-1'")
        .fetch_one(&app.db)
        .await
        .expect("job");
    assert_eq!(status, "refused");
}

#[tokio::test]
async fn a_token_reports_only_for_its_own_customer() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Contoso", "MINE").await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let connector: String = sqlx::query_scalar("SELECT name FROM connectors WHERE customer_id = $1 LIMIT 1")
        .bind(woodgrove)
        .fetch_one(&app.db)
        .await
        .expect("connector");
    let report = json!({"jobs": [job("sneaky", "backup", Some(&connector), "succeeded")]});
    let response = post_json(&app.client(), "/api/v1/reports", &report, Some(&token)).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(code(&response), "unknown_connector");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM backup_jobs WHERE external_id = 'sneaky'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn bad_input_gets_a_json_4xx_and_stores_nothing() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Contoso", "BAD-INPUT").await;
    let future = (fixed_now() + chrono::Duration::days(3)).to_rfc3339();
    let cases: Vec<(String, StatusCode)> = vec![
        ("{not json".into(), StatusCode::BAD_REQUEST),
        (json!({"jobs": "many"}).to_string(), StatusCode::BAD_REQUEST),
        (json!({"surprise": 1}).to_string(), StatusCode::BAD_REQUEST),
        (json!({"storage_used_bytes": -5}).to_string(), StatusCode::BAD_REQUEST),
        (
            json!({"seats": [{"seat_property": "printer", "seats_used": 3}]}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"jobs": [{"id": "f", "kind": "backup", "started_at": future, "status": "succeeded"}]}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"jobs": [{"id": "g", "kind": "backup", "started_at": "yesterday", "status": "succeeded"}]})
                .to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "{{\"accounts\": [{}]}}",
                vec![
                    json!({"id": "x".repeat(200), "seat_property": "endpoint", "active_at": fixed_now().to_rfc3339()})
                        .to_string();
                    2000
                ]
                .join(",")
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (body, expected) in cases {
        let response = app
            .client()
            .send(
                Method::POST,
                "/api/v1/reports",
                Some(body.clone()),
                &[
                    ("content-type", "application/json"),
                    ("authorization", &format!("Bearer {token}")),
                ],
            )
            .await;
        assert_eq!(
            response.status,
            expected,
            "{}: {}",
            &body[..body.len().min(80)],
            response.body
        );
        let parsed = json_of(&response);
        assert!(
            parsed["code"].is_string() && parsed["message"].is_string(),
            "{}",
            response.body
        );
    }
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM backup_jobs WHERE external_id IN ('f', 'g')")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(jobs, 0);
    let wrong_type = app
        .client()
        .send(
            Method::POST,
            "/api/v1/reports",
            Some("{}".into()),
            &[
                ("content-type", "text/plain"),
                ("authorization", &format!("Bearer {token}")),
            ],
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_refused() {
    let app = TestApp::demo().await;
    let none = post_json(&app.client(), "/api/v1/reports", &json!({}), None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let unknown = post_json(&app.client(), "/api/v1/reports", &json!({}), Some("not-a-token")).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&unknown), "invalid_token");
}

#[tokio::test]
async fn too_many_requests_get_429_with_retry_after() {
    let app = TestApp::demo().await;
    let token = token_for(&app, "Contoso", "CHATTY").await;
    let mut last = None;
    for _ in 0..80 {
        let response = post_json(&app.client(), "/api/v1/reports", &json!({}), Some(&token)).await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            last = Some(response);
            break;
        }
    }
    let limited = last.expect("the limit is reached within 80 requests at a standing clock");
    assert!(limited.headers.get("retry-after").is_some());
    assert_eq!(code(&limited), "rate_limited");
}

#[tokio::test]
async fn the_openapi_document_lists_every_api_route() {
    let app = TestApp::new().await;
    let response = app.client().get("/api/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK);
    let doc = json_of(&response);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for route in ["/api/v1/register", "/api/v1/reports"] {
        assert!(paths.contains(&route), "{route} missing from {paths:?}");
    }
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
    let unknown = app.client().get("/api/v1/nothing").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(code(&unknown), "not_found");
}
