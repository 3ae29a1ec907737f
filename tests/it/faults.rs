//! The database going away under a running app: pages answer 503 within the pool's acquire
//! timeout (no hang, no panic), and the app recovers by itself when the database is back. The
//! app's pool is the production one (`db::app_pool`), reaching PostgreSQL through a proxy the test
//! cuts, so the shared database server itself is never stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use msp_portal::config::DatabaseConfig;
use msp_portal::db;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::common::TestApp;

/// A TCP proxy to PostgreSQL that can drop every connection and refuse new ones.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<JoinSet<()>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let up = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let (accept_up, accept_links) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                accept_links.lock().await.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Proxy { port, up, links }
    }

    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.links.lock().await.abort_all();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_lost_database_gives_503_quickly_and_the_app_recovers_by_itself() {
    let app = TestApp::demo().await;
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let target = server
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5432")
        .to_string();
    let proxy = Proxy::start(target).await;
    let config = DatabaseConfig {
        database_url: format!("postgres://postgres@127.0.0.1:{}/{}", proxy.port, app.name),
        app_database_url: Some(format!(
            "postgres://{}@127.0.0.1:{}/{}",
            db::APP_ROLE,
            proxy.port,
            app.name
        )),
        statement_timeout_ms: 5_000,
        pool_size: Some(4),
    };
    let pool = db::app_pool(&config)
        .await
        .expect("the app pool connects through the proxy");
    let router = app.instance_with(pool);
    let client = app.client().on(&router);
    let response = client
        .log_in("admin@northwind.example", crate::common::DEMO_PASSWORD)
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(client.get("/dashboard").await.status, StatusCode::OK);

    proxy.cut().await;
    for path in ["/dashboard", "/customers", "/healthz", "/dashboard"] {
        let started = Instant::now();
        let page = client.get(path).await;
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path} while the database is gone: {}",
            page.body.chars().take(500).collect::<String>()
        );
        // Not a speed check: a bound far above the 3 s acquire timeout that only a hang reaches.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{path} hung: {:?}",
            started.elapsed()
        );
    }

    proxy.restore();
    let started = Instant::now();
    let recovered = loop {
        if client.get("/dashboard").await.status == StatusCode::OK {
            break true;
        }
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(recovered, "the same session works again once the database is back");
}

/// Whether a transaction-local setting made by one statement on the pool's connection is still
/// there for the next: only inside a transaction left open (by an earlier borrower) would it be.
async fn settings_outlive_their_statement(pool: &sqlx::PgPool, marker: &str) -> bool {
    sqlx::query("SELECT set_config('app.leak_marker', $1, true)")
        .bind(marker)
        .execute(pool)
        .await
        .expect("set");
    let seen: Option<String> = sqlx::query_scalar("SELECT current_setting('app.leak_marker', true)")
        .fetch_one(pool)
        .await
        .expect("read");
    seen.as_deref() == Some(marker)
}

#[tokio::test]
async fn a_request_dropped_while_its_begin_is_in_flight_leaves_no_transaction_on_the_connection() {
    let app = crate::common::TestApp::new().await;
    let pool = app.app_pool_of_one().await;
    assert!(
        !settings_outlive_their_statement(&pool, "fresh").await,
        "a fresh connection"
    );
    for attempt in 0..20 {
        // One poll sends the BEGIN and finds its answer not there yet; the request goes away.
        let dropped = tokio::time::timeout(Duration::ZERO, msp_portal::store::begin(&pool)).await;
        drop(dropped);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !settings_outlive_their_statement(&pool, &format!("attempt {attempt}")).await,
            "the next borrower must not find itself inside the dropped request's transaction"
        );
    }
}
