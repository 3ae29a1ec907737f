//! Agent reports stored in batches (`agent_store_reports`): each report of a batch is decided as
//! if it had come alone, whatever else the batch holds, and concurrent reports of many customers
//! are each stored once, under their own customer.

use axum::http::StatusCode;
use futures_util::future::join_all;
use msp_portal::auth::sessions::sha256_hex;
use msp_portal::store::agents::{BatchRow, BatchedReport, JobRecord, store_reports};
use serde_json::{Value, json};

use crate::common::{TestApp, fixed_now};

fn job(id: &str, restore: bool, connector: Option<&str>) -> JobRecord {
    JobRecord {
        external_id: id.to_string(),
        restore,
        connector: connector.map(str::to_string),
        started_at: fixed_now() - chrono::Duration::hours(2),
        ended_at: Some(fixed_now() - chrono::Duration::hours(1)),
        status: "succeeded".to_string(),
        bytes: 1024,
    }
}

async fn owner_exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(&app.db).await.expect(sql);
}

async fn client_seen(app: &TestApp, client_key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT last_seen_at FROM clients WHERE client_key = $1")
        .bind(client_key)
        .fetch_one(&app.db)
        .await
        .expect("client")
}

#[tokio::test]
async fn a_batch_decides_each_report_as_if_it_came_alone() {
    let app = TestApp::demo().await;
    let contoso = app.agent_token("Contoso", "BATCH-1").await;
    let contoso_other = app.agent_token("Contoso", "BATCH-2").await;
    let importers = app.agent_token("Wide World Importers", "BATCH-3").await;
    let litware = app.agent_token("Litware", "BATCH-4").await;
    let graphic = app.agent_token("Graphic Design Institute", "BATCH-5").await;
    let woodgrove = app.agent_token("Woodgrove Bank", "BATCH-6").await;
    let disabled = app.agent_token("Contoso", "BATCH-7").await;
    owner_exec(
        &app,
        "UPDATE clients SET status = 'disabled' WHERE client_key = 'BATCH-7'",
    )
    .await;
    owner_exec(&app, "UPDATE customers SET activated = false WHERE name = 'Litware'").await;
    owner_exec(
        &app,
        "UPDATE customers SET lifecycle = 'scheduled_for_deletion', delete_on = '2026-07-01' \
         WHERE name = 'Graphic Design Institute'",
    )
    .await;
    owner_exec(
        &app,
        "UPDATE customers SET backups_blocked_reason = 'Over the seat limit past its grace period.' \
         WHERE name = 'Woodgrove Bank'",
    )
    .await;
    owner_exec(
        &app,
        "INSERT INTO connectors (reseller_id, customer_id, name, kind, health, health_since, created_at) \
         SELECT reseller_id, id, 'Batch mail', 'microsoft_365', 'healthy', now(), now() FROM customers WHERE name = 'Contoso'",
    )
    .await;
    let seen_before = client_seen(&app, "BATCH-3").await;

    let hashes: Vec<String> = [
        &contoso,
        "not-a-token",
        &litware,
        &graphic,
        &importers,
        &woodgrove,
        &contoso_other,
        &disabled,
    ]
    .iter()
    .map(|t| sha256_hex(t))
    .collect();
    let jobs: Vec<Vec<JobRecord>> = vec![
        vec![
            job("b-1", false, None),
            job("r-1", true, Some("Batch mail")),
            job("dup", false, None),
        ],
        vec![job("u-1", false, None)],
        vec![job("l-1", false, None)],
        vec![job("g-1", false, None)],
        vec![job("w-1", false, None), job("w-2", false, Some("Nope"))],
        vec![job("x-1", false, None), job("x-2", true, None)],
        vec![job("dup", false, None), job("c-2", false, None)],
        vec![job("d-1", false, None)],
    ];
    let batch: Vec<BatchedReport> = hashes
        .iter()
        .zip(&jobs)
        .map(|(hash, jobs)| BatchedReport { token_hash: hash, jobs })
        .collect();
    let sorted = |rows: Vec<BatchRow>| {
        let mut rows: Vec<(i32, String, Option<String>, Option<String>)> = rows
            .into_iter()
            .map(|r| (r.report, r.outcome, r.detail, r.reason))
            .collect();
        rows.sort();
        rows
    };
    let rows = sorted(store_reports(&app.app_db, &batch, fixed_now()).await.expect("batch"));
    let row = |report: i32, outcome: &str, detail: Option<&str>, reason: Option<&str>| {
        (
            report,
            outcome.to_string(),
            detail.map(str::to_string),
            reason.map(str::to_string),
        )
    };
    assert_eq!(
        rows,
        vec![
            row(1, "stored", Some("b-1"), None),
            row(1, "stored", Some("dup"), None),
            row(1, "stored", Some("r-1"), None),
            row(2, "invalid_token", None, None),
            row(3, "customer_deactivated", None, None),
            row(4, "customer_scheduled_for_deletion", None, None),
            row(5, "unknown_connector", Some("w-2"), None),
            row(
                6,
                "refused",
                Some("x-1"),
                Some("Over the seat limit past its grace period.")
            ),
            row(6, "stored", Some("x-2"), None),
            row(7, "stored", Some("c-2"), None),
            row(8, "client_disabled", None, None),
        ]
    );

    // Each job under the customer and client of the token that reported it; nothing of the
    // refused reports.
    let stored: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT j.external_id, c.name, k.client_key, j.status FROM backup_jobs j JOIN customers c ON c.id = j.customer_id \
         LEFT JOIN clients k ON k.id = j.client_id \
         WHERE j.external_id IN ('b-1', 'dup', 'c-2', 'u-1', 'l-1', 'g-1', 'w-1', 'w-2', 'x-1', 'd-1') ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .expect("jobs");
    let expected = |id: &str, customer: &str, client: &str, status: &str| {
        (
            id.to_string(),
            customer.to_string(),
            Some(client.to_string()),
            status.to_string(),
        )
    };
    assert_eq!(
        stored,
        vec![
            expected("b-1", "Contoso", "BATCH-1", "succeeded"),
            expected("c-2", "Contoso", "BATCH-2", "succeeded"),
            expected("dup", "Contoso", "BATCH-1", "succeeded"),
            expected("x-1", "Woodgrove Bank", "BATCH-6", "refused"),
        ]
    );
    let restore: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_restore_at FROM connectors WHERE name = 'Batch mail'")
            .fetch_one(&app.db)
            .await
            .expect("connector");
    assert_eq!(restore, Some(fixed_now() - chrono::Duration::hours(2)));
    assert_eq!(client_seen(&app, "BATCH-1").await, Some(fixed_now()));
    assert_eq!(client_seen(&app, "BATCH-2").await, Some(fixed_now()));
    assert_eq!(
        client_seen(&app, "BATCH-3").await,
        seen_before,
        "a refused report is not heard from"
    );
    let disabled_status: String = sqlx::query_scalar("SELECT status FROM clients WHERE client_key = 'BATCH-7'")
        .fetch_one(&app.db)
        .await
        .expect("client");
    assert_eq!(
        disabled_status, "disabled",
        "a disabled client's report does not set it online"
    );

    // The same batch again stores nothing new: every job is a duplicate.
    let again = sorted(store_reports(&app.app_db, &batch, fixed_now()).await.expect("batch"));
    assert!(
        again
            .iter()
            .all(|(_, outcome, _, _)| outcome != "stored" && outcome != "refused"),
        "{again:?}"
    );
}

#[tokio::test]
async fn concurrent_reports_of_many_customers_are_each_stored_once_under_their_own_customer() {
    let app = TestApp::demo().await;
    let customers = ["Contoso", "Wide World Importers", "Woodgrove Bank", "Litware"];
    let mut tokens = Vec::new();
    for (n, customer) in customers.iter().enumerate() {
        for k in 0..2 {
            tokens.push((
                customer.to_string(),
                app.agent_token(customer, &format!("CONC-{n}-{k}")).await,
            ));
        }
    }
    let started = (fixed_now() - chrono::Duration::hours(2)).to_rfc3339();
    let report =
        |id: String| json!({"jobs": [{"id": id, "kind": "backup", "started_at": started, "status": "succeeded"}]});
    // 48 reports of one new job each, and each of the first eight sent twice more at the same time.
    let mut sends = Vec::new();
    for i in 0..48 {
        let (customer, token) = &tokens[i % tokens.len()];
        let copies = if i < 8 { 3 } else { 1 };
        for _ in 0..copies {
            sends.push((customer.clone(), token.clone(), format!("conc-{i}")));
        }
    }
    let bodies: Vec<(&str, Value)> = sends
        .iter()
        .map(|(_, token, id)| (token.as_str(), report(id.clone())))
        .collect();
    let answers = join_all(bodies.iter().map(|(token, body)| app.post_report(token, body))).await;
    let mut accepted = 0;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let body: Value = serde_json::from_str(&answer.body).expect("JSON");
        accepted += body["accepted"].as_u64().expect("accepted");
    }
    assert_eq!(accepted, 48, "each job accepted once, whichever copy came first");
    assert_eq!(
        app.state.reports().batched(),
        64,
        "every report was answered from a batch"
    );
    let stored: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT j.external_id, c.name, count(*) OVER (PARTITION BY j.external_id) \
         FROM backup_jobs j JOIN customers c ON c.id = j.customer_id JOIN clients k ON k.id = j.client_id \
         WHERE j.external_id LIKE 'conc-%' AND k.customer_id = j.customer_id ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .expect("jobs");
    assert_eq!(stored.len(), 48);
    for (id, customer, copies) in stored {
        let i: usize = id.trim_start_matches("conc-").parse().expect("number");
        assert_eq!(customer, tokens[i % tokens.len()].0, "{id}");
        assert_eq!(copies, 1, "{id}");
    }
}

/// A batch that fails stores nothing of itself and answers none of its reports, so that each is
/// stored alone (the handler's single path, which every report carrying more than jobs takes and
/// the API tests walk). Reports alone now call the batch's function too, so the failure here is a
/// database the batcher cannot reach.
#[tokio::test]
async fn a_failed_batch_answers_none_of_its_reports() {
    let unreachable = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .expect("lazy pool");
    let batcher = msp_portal::api::batching::ReportBatcher::new(unreachable);
    let answers = join_all((0..3).map(|n| {
        batcher.store(
            format!("token-{n}"),
            vec![job(&format!("j-{n}"), false, None)],
            fixed_now(),
        )
    }))
    .await;
    assert!(
        answers.iter().all(Option::is_none),
        "every report is left to be stored alone"
    );
    assert_eq!(batcher.batched(), 0);
}
