//! Emails: the outbox sent over SMTP to a sink on loopback, retries, no duplicate after a crash,
//! the emails the portal writes (account details, reports) and the operator's email page.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use chrono::Duration;
use msp_portal::jobs::{Engine, Mailer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::common::TestApp;

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }
}

/// A minimal SMTP server on 127.0.0.1: enough of RFC 5321 for lettre (EHLO/HELO, MAIL, RCPT,
/// DATA, RSET, NOOP, QUIT). It refuses the first `refuse` transactions with a 451.
pub struct SmtpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    refuse: Arc<Mutex<u32>>,
}

impl SmtpSink {
    pub async fn start(refuse: u32) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the sink");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(Mutex::new(refuse));
        let (store, refusals) = (received.clone(), refuse.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (store, refusals) = (store.clone(), refusals.clone());
                tokio::spawn(async move {
                    let _ = session(socket, store, refusals).await;
                });
            }
        });
        SmtpSink { port, received, refuse }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("sink lock").clone()
    }

    pub fn refusals_left(&self) -> u32 {
        *self.refuse.lock().expect("sink lock")
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    refusals: Arc<Mutex<u32>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ready\r\n").await?;
    let mut current = Received {
        from: String::new(),
        to: vec![],
        data: String::new(),
    };
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 sink\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            let refuse = {
                let mut left = refusals.lock().expect("sink lock");
                let refuse = *left > 0;
                *left = left.saturating_sub(1);
                refuse
            };
            if refuse {
                b"451 4.3.0 try again later\r\n"
            } else {
                current = Received {
                    from: command[10..].trim().to_string(),
                    to: vec![],
                    data: String::new(),
                };
                b"250 ok\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            current
                .to
                .push(command[8..].trim().trim_matches(['<', '>']).to_string());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            current.data = data.replace("\r\n", "\n");
            store.lock().expect("sink lock").push(current.clone());
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// No customer gets reports, and the outbox is empty (the demo's alerts wrote some on seeding).
async fn quiet(app: &TestApp) {
    sqlx::query(
        "UPDATE customers SET email_reports = false, backup_status_reports = false, consolidated_report_every = NULL",
    )
    .execute(&app.db)
    .await
    .expect("reports off");
    sqlx::query("DELETE FROM email_outbox")
        .execute(&app.db)
        .await
        .expect("clear");
}

fn engine(app: &TestApp, sink: &SmtpSink) -> Engine {
    let mailer = Mailer::from_url(&sink.url()).expect("the sink's URL is valid");
    Engine::new(app.db.clone(), Arc::new(app.clock.clone())).with_mailer(Some(mailer))
}

async fn tick(engine: &Engine) {
    let outcome = engine.tick().await.expect("tick");
    assert!(
        outcome.failed_steps().is_empty(),
        "failed: {:?}",
        outcome.failed_steps()
    );
}

/// Leaves only a test message in the outbox, and no customer that would get more emails.
async fn only_test_message(app: &TestApp, to: &str) -> i64 {
    quiet(app).await;
    sqlx::query_scalar(
        "INSERT INTO email_outbox (kind, to_addresses, subject, body_text, body_html, message_id, created_at, next_attempt_at) \
         VALUES ('test', $1, 'Hello', 'Plain hello', '<p>HTML hello</p>', '<test-1@msp-portal>', $2, $2) RETURNING id",
    )
    .bind(to)
    .bind(app.clock_now())
    .fetch_one(&app.db)
    .await
    .expect("insert")
}

async fn outbox_state(app: &TestApp, id: i64) -> (String, i32, String) {
    sqlx::query_as("SELECT state, attempts, last_error FROM email_outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("row")
}

#[tokio::test]
async fn the_mailer_sends_a_due_message_with_its_message_id_and_marks_it_sent() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    let id = only_test_message(&app, "ops@contoso.example").await;
    tick(&engine(&app, &sink)).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, vec!["ops@contoso.example"]);
    assert_eq!(messages[0].from, "<portal@msp-portal.example>");
    assert_eq!(messages[0].header("Message-ID").as_deref(), Some("<test-1@msp-portal>"));
    assert!(messages[0].data.contains("Plain hello"));
    assert!(messages[0].data.contains("<p>HTML hello</p>"));
    assert_eq!(outbox_state(&app, id).await, ("sent".into(), 1, String::new()));
    tick(&engine(&app, &sink)).await;
    assert_eq!(sink.messages().len(), 1, "a sent message is not sent again");
}

#[tokio::test]
async fn without_smtp_emails_stay_in_the_outbox() {
    let app = TestApp::demo().await;
    let id = only_test_message(&app, "ops@contoso.example").await;
    app.tick().await;
    assert_eq!(outbox_state(&app, id).await, ("queued".into(), 0, String::new()));
}

#[tokio::test]
async fn a_refused_message_is_retried_after_a_backoff_and_then_sent() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(1).await;
    let id = only_test_message(&app, "ops@contoso.example").await;
    let engine = engine(&app, &sink);
    tick(&engine).await;
    assert!(sink.messages().is_empty());
    assert_eq!(sink.refusals_left(), 0);
    let (state, attempts, error) = outbox_state(&app, id).await;
    assert_eq!((state.as_str(), attempts), ("queued", 1));
    assert!(error.contains("try again later"), "{error}");
    // Not before its wait is over.
    app.clock.advance(Duration::seconds(30));
    tick(&engine).await;
    assert!(sink.messages().is_empty());
    app.clock.advance(Duration::seconds(31));
    tick(&engine).await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(outbox_state(&app, id).await, ("sent".into(), 2, String::new()));
}

#[tokio::test]
async fn a_message_is_given_up_after_the_last_attempt_with_its_error_kept() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(100).await;
    let id = only_test_message(&app, "ops@contoso.example").await;
    let engine = engine(&app, &sink);
    for _ in 0..msp_portal::domain::email::MAX_ATTEMPTS {
        tick(&engine).await;
        app.clock.advance(Duration::hours(7));
    }
    let (state, attempts, error) = outbox_state(&app, id).await;
    assert_eq!((state.as_str(), attempts), ("failed", 8));
    assert!(error.contains("try again later"));
    tick(&engine).await;
    assert_eq!(outbox_state(&app, id).await.1, 8, "no attempt after giving up");
}

#[tokio::test]
async fn a_message_caught_mid_send_by_a_crash_is_not_sent_again() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    let id = only_test_message(&app, "ops@contoso.example").await;
    // What a crash after recording the attempt (and perhaps after sending) leaves behind.
    sqlx::query("UPDATE email_outbox SET state = 'sending', attempts = 1, last_attempt_at = $2 WHERE id = $1")
        .bind(id)
        .bind(app.clock_now())
        .execute(&app.db)
        .await
        .expect("simulate the crash");
    // A restarted mailer.
    app.clock.advance(Duration::hours(1));
    tick(&engine(&app, &sink)).await;
    assert!(sink.messages().is_empty(), "never sent twice");
    let (state, attempts, error) = outbox_state(&app, id).await;
    assert_eq!((state.as_str(), attempts), ("in_doubt", 1));
    assert!(error.contains("not sent again"));
}

#[tokio::test]
async fn alert_emails_reach_the_customer_address() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    let proseware = app.customer_id("Proseware").await;
    quiet(&app).await;
    sqlx::query("UPDATE customers SET email_reports = true, email = 'it@proseware.example' WHERE id = $1")
        .bind(proseware)
        .execute(&app.db)
        .await
        .expect("turn reports on");
    sqlx::query(
        "INSERT INTO alerts (reseller_id, customer_id, severity, kind, subject, message, raised_at) \
         SELECT reseller_id, id, 'warning', 'test', 'x', 'Disk almost full', $2 FROM customers WHERE id = $1",
    )
    .bind(proseware)
    .bind(app.clock_now())
    .execute(&app.db)
    .await
    .expect("raise");
    tick(&engine(&app, &sink)).await;
    let alert = sink
        .messages()
        .into_iter()
        .find(|m| m.data.contains("Disk almost full"))
        .expect("the alert email was sent");
    assert_eq!(alert.to, vec!["it@proseware.example"]);
    assert_eq!(
        sink.messages()
            .iter()
            .filter(|m| m.data.contains("Disk almost full"))
            .count(),
        1
    );
    let _ = StatusCode::OK;
}

async fn outbox_of(app: &TestApp, kind: &str) -> Vec<(String, String, String, String)> {
    sqlx::query_as("SELECT to_addresses, subject, body_html, message_id FROM email_outbox WHERE kind = $1 ORDER BY id")
        .bind(kind)
        .fetch_all(&app.db)
        .await
        .expect("outbox")
}

#[tokio::test]
async fn an_event_digest_reaches_the_customer_with_its_name_escaped_in_html() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    quiet(&app).await;
    let proseware = app.customer_id("Proseware").await;
    sqlx::query(
        "UPDATE customers SET name = '<script>alert(1)</script>', email_reports = true, email = 'it@proseware.example' \
         WHERE id = $1",
    )
    .bind(proseware)
    .execute(&app.db)
    .await
    .expect("rename");
    let engine = engine(&app, &sink);
    // The first run only starts the reporting: no history is sent.
    tick(&engine).await;
    assert!(outbox_of(&app, "events").await.is_empty());
    let now = app.clock_now();
    sqlx::query(
        "INSERT INTO backup_jobs (reseller_id, customer_id, connector_id, external_id, started_at, ended_at, status, bytes) \
         SELECT reseller_id, customer_id, id, 'digest-1', $2, $3, 'failed', 1024 FROM connectors WHERE customer_id = $1 LIMIT 1",
    )
    .bind(proseware)
    .bind(now + Duration::minutes(5))
    .bind(now + Duration::minutes(10))
    .execute(&app.db)
    .await
    .expect("a job");
    app.clock.advance(Duration::minutes(30));
    tick(&engine).await;
    assert!(outbox_of(&app, "events").await.is_empty(), "at most one digest an hour");
    app.clock.advance(Duration::minutes(31));
    tick(&engine).await;
    let written = outbox_of(&app, "events").await;
    assert_eq!(written.len(), 1);
    let (to, subject, html, message_id) = &written[0];
    assert_eq!(to, "it@proseware.example");
    assert!(subject.contains("1 failed"), "{subject}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || html.contains("&lt;script&gt;alert(1)"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    let sent: Vec<Received> = sink
        .messages()
        .into_iter()
        .filter(|m| m.header("Message-ID").as_deref() == Some(message_id.as_str()))
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, vec!["it@proseware.example"]);
    // The next hour has nothing new: no email.
    app.clock.advance(Duration::hours(1));
    tick(&engine).await;
    assert_eq!(outbox_of(&app, "events").await.len(), 1);
}

#[tokio::test]
async fn a_backup_status_report_is_sent_once_a_day() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    quiet(&app).await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET backup_status_reports = true, email = 'backup@contoso.example' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("turn on");
    let engine = engine(&app, &sink);
    tick(&engine).await;
    tick(&engine).await;
    let written = outbox_of(&app, "backup_status").await;
    assert_eq!(written.len(), 1);
    assert!(written[0].1.contains("2026-06-14"), "{}", written[0].1);
    assert!(written[0].2.contains("Data source"));
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.messages()[0].to, vec!["backup@contoso.example"]);
    app.clock.advance(Duration::hours(10));
    tick(&engine).await;
    assert_eq!(outbox_of(&app, "backup_status").await.len(), 1, "same day");
    app.clock.advance(Duration::hours(5));
    tick(&engine).await;
    assert_eq!(outbox_of(&app, "backup_status").await.len(), 2, "next day");
}

#[tokio::test]
async fn the_consolidated_report_goes_to_every_recipient_unless_the_global_report_is_on() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    quiet(&app).await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query(
        "UPDATE customers SET consolidated_report_every = 'weekly', \
                consolidated_report_to = 'cio@contoso.example, ops@contoso.example' WHERE id = $1",
    )
    .bind(contoso)
    .execute(&app.db)
    .await
    .expect("turn on");
    sqlx::query("UPDATE server_settings SET consolidated_report_global = true")
        .execute(&app.db)
        .await
        .expect("global on");
    let engine = engine(&app, &sink);
    tick(&engine).await;
    assert!(
        outbox_of(&app, "consolidated").await.is_empty(),
        "the global report replaces it"
    );
    sqlx::query("UPDATE server_settings SET consolidated_report_global = false")
        .execute(&app.db)
        .await
        .expect("global off");
    tick(&engine).await;
    let written = outbox_of(&app, "consolidated").await;
    assert_eq!(written.len(), 1);
    // 2026-06-15 is a Monday: the week before.
    assert!(written[0].1.contains("2026-06-08 – 2026-06-14"), "{}", written[0].1);
    let mut to = sink.messages()[0].to.clone();
    to.sort();
    assert_eq!(to, vec!["cio@contoso.example", "ops@contoso.example"]);
    app.clock.advance(Duration::days(3));
    tick(&engine).await;
    assert_eq!(outbox_of(&app, "consolidated").await.len(), 1, "once a week");
    app.clock.advance(Duration::days(4));
    tick(&engine).await;
    assert_eq!(outbox_of(&app, "consolidated").await.len(), 2);
}

/// The set-password link in the customer's account-details email.
async fn account_link(app: &TestApp, customer: i64) -> String {
    let text: String = sqlx::query_scalar(
        "SELECT body_text FROM email_outbox WHERE customer_id = $1 AND kind = 'account_details' ORDER BY id DESC LIMIT 1",
    )
    .bind(customer)
    .fetch_one(&app.db)
    .await
    .expect("an account-details email");
    let start = text.find("/set-password/").expect("a set-password link");
    text[start..].split_whitespace().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn account_details_carry_a_link_that_sets_the_password_once() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    quiet(&app).await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET email = 'it@contoso.example' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("email");
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get(&format!("/customers/{contoso}/account-email")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("#account-email").contains("contoso-portal"));
    let response = admin
        .post_form(&format!("/customers/{contoso}/account-email"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let (to, html): (String, String) = sqlx::query_as(
        "SELECT to_addresses, body_html FROM email_outbox WHERE customer_id = $1 AND kind = 'account_details'",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("queued");
    assert_eq!(to, "it@contoso.example");
    assert!(html.contains("contoso-portal") && !html.contains(crate::common::DEMO_PASSWORD));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE customer_id = $1 AND action = 'account_details_emailed'",
    )
    .bind(contoso)
    .fetch_one(&app.db)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
    tick(&engine(&app, &sink)).await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.messages()[0].to, vec!["it@contoso.example"]);

    let link = account_link(&app, contoso).await;
    let visitor = app.client();
    let form = visitor.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text("#set-password").contains("contoso-portal"));
    let short = visitor
        .post_form(&link, &[("password", "short"), ("password_confirm", "short")])
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = visitor
        .post_form(
            &link,
            &[
                ("password", "a fresh portal secret"),
                ("password_confirm", "a fresh portal secret"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/login"));
    let login = app.client().log_in("contoso-portal", "a fresh portal secret").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(app.client().get(&link).await.status, StatusCode::NOT_FOUND, "used once");
}

#[tokio::test]
async fn an_expired_or_unknown_link_does_not_work() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET email = 'it@contoso.example' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("email");
    let admin = app.login("admin@northwind.example").await;
    admin
        .post_form(&format!("/customers/{contoso}/account-email"), &[])
        .await;
    let link = account_link(&app, contoso).await;
    app.clock.advance(Duration::hours(73));
    let visitor = app.client();
    let page = visitor.get(&link).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text("#set-password").contains("no longer works"));
    let refused = visitor
        .post_form(
            &link,
            &[
                ("password", "a fresh portal secret"),
                ("password_confirm", "a fresh portal secret"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.client().get("/set-password/nonsense").await.status,
        StatusCode::NOT_FOUND
    );
    let login = app.client().log_in("contoso-portal", "a fresh portal secret").await;
    assert_ne!(login.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_new_portal_user_without_a_password_is_offered_the_account_details_email() {
    use crate::customer_form::{post, valid, with};
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let form = with(
        valid("Acme Rockets"),
        &[("portal_access", "on"), ("portal_username", "acme-portal")],
    );
    let page = post(&admin, "/customers/new", &form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let acme = app.customer_id("Acme Rockets").await;
    assert_eq!(
        page.attrs("#account-email-offer a", "href"),
        vec![format!("/customers/{acme}/account-email")]
    );
    // Nobody knows the password until the customer chooses one.
    let login = app.client().log_in("acme-portal", "").await;
    assert_ne!(login.status, StatusCode::SEE_OTHER);
    // Giving an existing customer access leads to the same offer.
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("DELETE FROM users WHERE customer_id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("no portal user");
    let edit = with(
        valid("Contoso"),
        &[("portal_access", "on"), ("portal_username", "contoso-new")],
    );
    let response = post(&admin, &format!("/customers/{contoso}/edit"), &edit).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location(), Some(format!("/customers/{contoso}/account-email")));
}

#[tokio::test]
async fn html_in_a_customer_name_is_escaped_in_the_account_details_email() {
    let app = TestApp::demo().await;
    let contoso = app.customer_id("Contoso").await;
    sqlx::query("UPDATE customers SET name = '<script>alert(1)</script>', email = 'it@contoso.example' WHERE id = $1")
        .bind(contoso)
        .execute(&app.db)
        .await
        .expect("rename");
    let admin = app.login("admin@northwind.example").await;
    let response = admin
        .post_form(&format!("/customers/{contoso}/account-email"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let (text, html): (String, String) =
        sqlx::query_as("SELECT body_text, body_html FROM email_outbox WHERE kind = 'account_details'")
            .fetch_one(&app.db)
            .await
            .expect("queued");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("alert(1)"));
    assert!(text.contains("<script>alert(1)</script>"), "plain text is not HTML");
}

#[tokio::test]
async fn the_operator_sees_the_smtp_status_and_queues_a_test_email() {
    let app = TestApp::demo().await;
    quiet(&app).await;
    let operator = app.login("operator").await;
    let page = operator.get("/settings/email").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("#email-status").contains("not configured"));
    assert_eq!(page.text("#queued"), "0");
    let refused = operator
        .post_form("/settings/email/test", &[("to", "not an address")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let response = operator
        .post_form("/settings/email/test", &[("to", "noc@provider.example")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let page = operator.get("/settings/email").await;
    assert!(page.text(".flash").contains("waits in the outbox"));
    assert_eq!(page.text("#queued"), "1");
    let sink = SmtpSink::start(0).await;
    tick(&engine(&app, &sink)).await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.messages()[0].to, vec!["noc@provider.example"]);
}

#[tokio::test]
async fn email_settings_are_for_the_operator_only() {
    let app = TestApp::demo().await;
    let admin = app.login("owner@northwind.example").await;
    assert_eq!(admin.get("/settings/email").await.status, StatusCode::FORBIDDEN);
    let response = admin.post_form("/settings/email/test", &[("to", "x@y.example")]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM email_outbox WHERE kind = 'test'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn the_global_consolidated_report_switch_is_saved_audited_and_shown_on_the_customer_form() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    let response = operator
        .post_form(
            "/settings/email",
            &[
                ("email_sender", "backup@provider.example"),
                ("consolidated_report_global", "on"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let (sender, global): (String, bool) =
        sqlx::query_as("SELECT email_sender, consolidated_report_global FROM server_settings")
            .fetch_one(&app.db)
            .await
            .expect("settings");
    assert_eq!((sender.as_str(), global), ("backup@provider.example", true));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'email_settings_changed'")
        .fetch_one(&app.db)
        .await
        .expect("audit");
    assert_eq!(audited, 1);
    let contoso = app.customer_id("Contoso").await;
    let admin = app.login("admin@northwind.example").await;
    let form = admin.get(&format!("/customers/{contoso}/edit")).await;
    assert!(
        form.text("#consolidated-global")
            .contains("global consolidated report is on")
    );
    let bad = operator
        .post_form("/settings/email", &[("email_sender", "nobody")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_invalid_sender_stops_the_mailer_without_using_up_attempts() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    let id = only_test_message(&app, "ops@contoso.example").await;
    sqlx::query("UPDATE server_settings SET email_sender = 'not an address'")
        .execute(&app.db)
        .await
        .expect("bad sender");
    let outcome = engine(&app, &sink).tick().await.expect("tick");
    assert_eq!(outcome.failed_steps(), vec!["mailer"]);
    assert_eq!(outbox_state(&app, id).await, ("queued".into(), 0, String::new()));
    let operator = app.login("operator").await;
    let page = operator.get("/settings/email").await;
    assert!(
        page.text("#mailer-run").contains("not valid"),
        "{}",
        page.text("#mailer-run")
    );
}

#[tokio::test]
async fn an_email_in_doubt_is_listed_and_sent_again_only_on_request() {
    let app = TestApp::demo().await;
    let sink = SmtpSink::start(0).await;
    let id = only_test_message(&app, "ops@contoso.example").await;
    sqlx::query("UPDATE email_outbox SET state = 'sending', attempts = 1, last_attempt_at = $2 WHERE id = $1")
        .bind(id)
        .bind(app.clock_now())
        .execute(&app.db)
        .await
        .expect("crash");
    let engine = engine(&app, &sink);
    tick(&engine).await;
    let operator = app.login("operator").await;
    let page = operator.get("/settings/email").await;
    assert!(page.text("#email-problems").contains("in doubt"));
    let response = operator
        .post_form(&format!("/settings/email/outbox/{id}/retry"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    tick(&engine).await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(outbox_state(&app, id).await.0, "sent");
    let again = operator
        .post_form(&format!("/settings/email/outbox/{id}/retry"), &[])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "a sent email is not sent again");
}

#[test]
fn an_unusable_smtp_url_stops_the_start_with_a_clear_sentence_and_no_password() {
    let stderr = crate::common::refused_start(
        std::process::Command::new(env!("CARGO_BIN_EXE_msp-portal"))
            .env("SMTP_URL", "ftp://mailer:hunter2-secret@mail.example:25")
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/msp_portal")
            .env("BIND", "127.0.0.1:0"),
    );
    assert!(stderr.contains("SMTP_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
