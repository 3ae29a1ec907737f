//! The test harness: every test gets its own database cloned from a migrated (optionally seeded)
//! template, the real Router driven in-process, a cookie jar per client, and a fixed clock.

#![allow(dead_code)]

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use msp_portal::clock::FixedClock;
use msp_portal::config::WebConfig;
use msp_portal::{AppState, build_router, db, seed};
use scraper::{Html, Selector};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;
use tower::ServiceExt;

/// The instant every test starts at, unless it moves the clock.
pub const FIXED_NOW: &str = "2026-06-15T10:00:00Z";
pub const DEMO_PASSWORD: &str = seed::DEMO_PASSWORD;

pub fn fixed_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(FIXED_NOW)
        .map(|d| d.with_timezone(&Utc))
        .expect("FIXED_NOW is RFC 3339")
}

/// The server the tests use; TEST_DATABASE_URL points elsewhere. Must be a superuser (it
/// creates databases); the app under test connects as the non-superuser app role.
fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of `database` on the test server, for a `msp-portal` process the test starts.
pub fn database_url(database: &str) -> String {
    let server = server_url();
    let base = server.rsplit_once('/').map(|(base, _)| base).unwrap_or(&server);
    format!("{base}/{database}")
}

/// Runs the binary, which must refuse to start (exit code 2); its standard error.
pub fn refused_start(command: &mut std::process::Command) -> String {
    let output = command.output().expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn options_for(database: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(&server_url())
        .expect("TEST_DATABASE_URL is a valid URL")
        .database(database)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dataset {
    /// Migrated, nothing else.
    Empty,
    /// Migrated and seeded with the demo at FIXED_NOW.
    Demo,
}

static EMPTY_TEMPLATE: OnceCell<String> = OnceCell::const_new();
static DEMO_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A template's name changes whenever the migrations or the seed change, so a stale one is never used.
fn template_name(dataset: Dataset) -> String {
    let mut hasher = Sha256::new();
    for migration in db::MIGRATOR.iter() {
        hasher.update(&*migration.checksum);
    }
    hasher.update(include_bytes!("../../../src/seed.rs"));
    hasher.update(FIXED_NOW.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!(
        "msp_tmpl_{}_{hex}",
        if dataset == Dataset::Demo { "demo" } else { "empty" }
    )
}

async fn template(dataset: Dataset) -> String {
    let cell = if dataset == Dataset::Demo {
        &DEMO_TEMPLATE
    } else {
        &EMPTY_TEMPLATE
    };
    cell.get_or_init(|| build_template(dataset)).await.clone()
}

/// Builds the template once across every test process: an advisory lock serialises builders and
/// a comment on the database marks it complete.
async fn build_template(dataset: Dataset) -> String {
    let name = template_name(dataset);
    let mut admin = PgConnection::connect_with(&options_for("postgres"))
        .await
        .expect("connect to the test server");
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(&name)
        .execute(&mut admin)
        .await
        .expect("lock");
    let ready: Option<String> =
        sqlx::query_scalar("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&mut admin)
            .await
            .expect("look up template")
            .flatten();
    if ready.as_deref() != Some("ready") {
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .expect("drop");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create template");
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options_for(&name))
            .await
            .expect("connect");
        db::MIGRATOR
            .run(&pool)
            .await
            .expect("migrations apply to an empty database");
        if dataset == Dataset::Demo {
            seed::seed_demo(&pool, fixed_now()).await.expect("the demo seeds");
        }
        pool.close().await;
        admin
            .execute(format!("COMMENT ON DATABASE {name} IS 'ready'").as_str())
            .await
            .expect("mark ready");
    }
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&name)
        .execute(&mut admin)
        .await
        .expect("unlock");
    name
}

/// Creates an empty database that nothing has touched (for the migration tests).
pub async fn blank_database() -> (String, PgPool) {
    let name = format!("msp_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect_with(&options_for("postgres"))
        .await
        .expect("connect to the test server");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create");
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options_for(&name))
        .await
        .expect("connect");
    (name, pool)
}

pub fn drop_database(name: &str) {
    let name = name.to_string();
    // Drop runs outside async code; a small runtime of its own does the work.
    let _ = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        runtime.block_on(async {
            if let Ok(mut admin) = PgConnection::connect_with(&options_for("postgres")).await {
                let _ = admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        });
    })
    .join();
}

/// One test's application: its own database, the real router, a clock it controls.
pub struct TestApp {
    pub name: String,
    router: Router,
    /// The owner's pool (a superuser): for arranging data and checking what was stored.
    pub db: PgPool,
    /// The pool the app uses (the non-superuser app role, subject to row-level security).
    pub app_db: PgPool,
    pub clock: FixedClock,
    /// The state the router serves (the same for every client of this app).
    pub state: AppState,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with(Dataset::Empty).await
    }

    pub async fn demo() -> TestApp {
        TestApp::with(Dataset::Demo).await
    }

    pub async fn with(dataset: Dataset) -> TestApp {
        let template = template(dataset).await;
        let name = format!("msp_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&options_for("postgres"))
            .await
            .expect("connect to the test server");
        // Two clones of one template at the same instant can collide; try again briefly.
        let mut attempts = 0;
        loop {
            match admin
                .execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str())
                .await
            {
                Ok(_) => break,
                Err(error) if attempts < 50 => {
                    attempts += 1;
                    let _ = error;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(error) => panic!("cannot clone the template: {error}"),
            }
        }
        let db = PgPoolOptions::new()
            .max_connections(3)
            .connect_with(options_for(&name))
            .await
            .expect("owner pool");
        let app_db = PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options_for(&name).username(db::APP_ROLE))
            .await
            .expect("app pool connects as the app role");
        let clock = FixedClock::at(fixed_now());
        let state = AppState::new(app_db.clone(), Arc::new(clock.clone()), WebConfig::default());
        TestApp {
            name,
            router: build_router(state.clone()),
            db,
            app_db,
            clock,
            state,
        }
    }

    /// A browser with an empty cookie jar.
    pub fn client(&self) -> TestClient {
        TestClient {
            router: self.router.clone(),
            cookies: Arc::default(),
            csrf: Arc::default(),
            peer: None,
        }
    }

    /// A browser whose requests arrive from `peer`, as the server's listener reports it.
    pub fn client_from(&self, peer: &str) -> TestClient {
        let mut client = self.client();
        client.peer = Some(peer.parse().expect("a socket address"));
        client
    }

    /// An instance whose requests use `pool` (the fault tests route it through a proxy they cut).
    pub fn instance_with(&self, pool: PgPool) -> Router {
        let state = AppState::new(pool, Arc::new(self.clock.clone()), WebConfig::default());
        build_router(state)
    }

    /// A pool of one connection as the app role, for tests about what a connection carries from
    /// one borrower to the next.
    pub async fn app_pool_of_one(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options_for(&self.name).username(db::APP_ROLE))
            .await
            .expect("a pool of one")
    }

    /// A second instance of the application on the same database: a router of its own with a
    /// pool and in-memory state of its own, as a second server behind a load balancer would be.
    /// One engine tick at the app's clock, run as the server's engine runs it (the owner's pool).
    pub async fn tick(&self) -> msp_portal::jobs::TickOutcome {
        msp_portal::jobs::Engine::new(self.db.clone(), Arc::new(self.clock.clone()))
            .tick()
            .await
            .expect("tick")
    }

    pub async fn second_instance(&self) -> Router {
        let app_db = PgPoolOptions::new()
            .max_connections(3)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options_for(&self.name).username(db::APP_ROLE))
            .await
            .expect("second app pool");
        let state = AppState::new(app_db, Arc::new(self.clock.clone()), WebConfig::default());
        build_router(state)
    }

    /// Registers an agent for a demo customer (its demo pass key) and returns the client token.
    pub async fn agent_token(&self, customer: &str, client_id: &str) -> String {
        let pass_key = seed::demo_pass_key(customer);
        let body = serde_json::json!({"customer": customer, "pass_key": pass_key, "client_id": client_id,
                                      "hostname": "h", "os": "Linux"});
        let response = self
            .client()
            .send(
                Method::POST,
                "/api/v1/register",
                Some(body.to_string()),
                &[("content-type", "application/json")],
            )
            .await;
        assert!(response.status.is_success(), "{}", response.body);
        let value: serde_json::Value = serde_json::from_str(&response.body).expect("JSON");
        value["client_token"].as_str().expect("token").to_string()
    }

    /// Posts an agent report with the client token.
    pub async fn post_report(&self, token: &str, report: &serde_json::Value) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.client()
            .send(
                Method::POST,
                "/api/v1/reports",
                Some(report.to_string()),
                &[("content-type", "application/json"), ("authorization", auth.as_str())],
            )
            .await
    }

    /// A browser logged in as `username` with the demo password.
    pub async fn login(&self, username: &str) -> TestClient {
        let client = self.client();
        let response = client.log_in(username, DEMO_PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "login of {username} failed: {}",
            response.body
        );
        let home = client.get(&response.location().expect("login redirects")).await;
        assert_eq!(home.status, StatusCode::OK, "home page of {username}");
        client
    }

    /// A browser with an empty cookie jar, talking to this app configured as it is behind https
    /// (`PUBLIC_URL` an https URL): cookies `Secure`, HSTS.
    pub fn client_behind_https(&self) -> TestClient {
        let web = WebConfig {
            secure_cookies: true,
            ..WebConfig::default()
        };
        let state = AppState::new(self.app_db.clone(), Arc::new(self.clock.clone()), web);
        TestClient {
            router: build_router(state),
            cookies: Arc::default(),
            csrf: Arc::default(),
            peer: None,
        }
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use msp_portal::clock::Clock;
        self.clock.now()
    }

    /// Returns once a statement on this test's database waits for a lock (a row's, say), so that
    /// a test can let go of what it holds knowing the other side is queued behind it.
    pub async fn until_a_statement_waits_for_a_lock(&self) {
        self.until_a_session("wait_event_type = 'Lock'").await;
    }

    /// Returns once a session of this test's database matches `condition` (the test's own SQL over
    /// `pg_stat_activity`'s columns). Panics after ten seconds without one.
    pub async fn until_a_session(&self, condition: &str) {
        let sql =
            format!("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() AND {condition})");
        for _ in 0..1000 {
            let found: bool = sqlx::query_scalar(&sql)
                .fetch_one(&self.db)
                .await
                .expect("pg_stat_activity");
            if found {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no session matched `{condition}` within ten seconds");
    }

    /// Id of the demo customer named `name`.
    pub async fn customer_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM customers WHERE name = $1")
            .bind(name)
            .fetch_one(&self.db)
            .await
            .expect("customer")
    }

    /// The months `external_id`'s account has recorded activity in, oldest first (YYYY-MM-01).
    pub async fn activity_months(&self, external_id: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT coalesce(array_agg(m.month::text ORDER BY m.month), '{}') FROM account_activity_months m \
             JOIN accounts a ON a.id = m.account_id WHERE a.external_id = $1",
        )
        .bind(external_id)
        .fetch_one(&self.db)
        .await
        .expect("activity months")
    }

    pub async fn reseller_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM resellers WHERE name = $1")
            .bind(name)
            .fetch_one(&self.db)
            .await
            .expect("reseller")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop_database(&self.name);
    }
}

/// A browser: keeps cookies and the page's CSRF token between requests.
#[derive(Clone)]
pub struct TestClient {
    router: Router,
    cookies: Arc<Mutex<HashMap<String, String>>>,
    csrf: Arc<Mutex<Option<String>>>,
    peer: Option<std::net::SocketAddr>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The trimmed text of every element matching `selector`.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&selector)
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    pub fn text(&self, selector: &str) -> String {
        self.texts(selector)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("nothing matches {selector}:\n{}", self.body))
    }

    /// Values of `attribute` on every element matching `selector`.
    pub fn attrs(&self, selector: &str, attribute: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&selector)
            .filter_map(|e| e.value().attr(attribute).map(str::to_string))
            .collect()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }
}

impl TestClient {
    /// The same browser (cookies and all) talking to another instance.
    pub fn on(&self, router: &Router) -> TestClient {
        TestClient {
            router: router.clone(),
            ..self.clone()
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None, &[]).await
    }

    /// Posts a form with the CSRF token of the last page this client saw.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf.lock().expect("lock").clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form_exactly(path, &all).await
    }

    /// Posts exactly these fields: no CSRF token unless given.
    pub async fn post_form_exactly(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).expect("encodable form");
        self.send(
            Method::POST,
            path,
            Some(body),
            &[(header::CONTENT_TYPE.as_str(), "application/x-www-form-urlencoded")],
        )
        .await
    }

    pub async fn log_in(&self, username: &str, password: &str) -> TestResponse {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        self.post_form(
            "/login",
            &[("username", username), ("password", password), ("next", "")],
        )
        .await
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("lock").get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .expect("lock")
            .insert(name.to_string(), value.to_string());
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        let cookie_header = self
            .cookies
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie_header.is_empty() {
            request = request.header(header::COOKIE, cookie_header);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("valid request");
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        }
        let response = self.router.clone().oneshot(request).await.expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let body = String::from_utf8_lossy(&bytes).to_string();
        self.remember_cookies(&headers);
        let response = TestResponse { status, headers, body };
        // Every form of a page carries the same token; keep the latest one seen.
        let token = response
            .attrs("meta[name=csrf-token]", "content")
            .into_iter()
            .chain(response.attrs("input[name=csrf_token]", "value"))
            .find(|t| !t.is_empty());
        if let Some(token) = token {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        response
    }

    fn remember_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.cookies.lock().expect("lock");
        for value in headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let Some((pair, attributes)) = value.split_once(';').or(Some((value, ""))) else {
                continue;
            };
            let Some((name, cookie_value)) = pair.split_once('=') else {
                continue;
            };
            if attributes.contains("Max-Age=0") || cookie_value.is_empty() {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_string(), cookie_value.to_string());
            }
        }
    }
}

/// The five kinds of visitor the role matrices check, in this order.
pub const MATRIX_USERS: [Option<&str>; 5] = [
    Some("operator"),
    Some("owner@northwind.example"),
    Some("admin@northwind.example"),
    Some("contoso-portal"),
    None,
];

/// The status each of [`MATRIX_USERS`] gets for `GET path`, in order.
pub async fn get_matrix(app: &TestApp, path: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for user in MATRIX_USERS {
        let client = match user {
            Some(username) => app.login(username).await,
            None => app.client(),
        };
        statuses.push(client.get(path).await.status.as_u16());
    }
    statuses
}
