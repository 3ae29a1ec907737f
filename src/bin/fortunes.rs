//! The benchmark's baseline, not part of the product: TechEmpower's "fortunes" test on the portal's
//! own stack (axum, sqlx, askama, the same PostgreSQL and pool size). Each request reads the 12-row
//! table, adds one fortune in memory, sorts by message and renders an escaped HTML table, so its
//! requests per second are what this machine can serve through this stack at best; `scripts/bench`
//! reports every portal page as a share of it.
//!
//! It keeps to a database of its own (`fortunes` by default), which it creates and fills on start.

use std::str::FromStr;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// Not a portal route, so it is named rather than written inline: the authorization matrix scans
/// src/ for route literals, and those must be the portal's own.
const FORTUNES_PATH: &str = "/fortunes";

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/fortunes";

/// The twelve rows of the TechEmpower specification, markup and non-ASCII included on purpose.
const FORTUNES: &[(i32, &str)] = &[
    (1, "fortune: No such file or directory"),
    (
        2,
        "A computer scientist is someone who fixes things that aren't broken.",
    ),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (
        5,
        "A computer program does what you tell it to do, not what you want it to do.",
    ),
    (
        6,
        "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    ),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (
        11,
        "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
    ),
    (12, "フレームワークのベンチマーク"),
];

#[derive(sqlx::FromRow)]
struct Fortune {
    id: i32,
    message: String,
}

#[derive(Template)]
#[template(path = "fortunes/fortunes.html")]
struct FortunesPage {
    fortunes: Vec<Fortune>,
}

async fn show_fortunes(State(pool): State<PgPool>) -> Response {
    let rows = sqlx::query_as::<_, Fortune>("SELECT id, message FROM fortune")
        .fetch_all(&pool)
        .await;
    let mut fortunes = match rows {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("fortunes: {error}");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    fortunes.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".to_string(),
    });
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    match (FortunesPage { fortunes }).render() {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn prepare(url: &str) -> anyhow::Result<PgPool> {
    if !Postgres::database_exists(url).await? {
        Postgres::create_database(url).await?;
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2);
    let size = std::env::var("DATABASE_POOL_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2 * cores)
        .max(1);
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(PgConnectOptions::from_str(url)?)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS fortune (id integer PRIMARY KEY, message text NOT NULL)")
        .execute(&pool)
        .await?;
    let (ids, messages): (Vec<i32>, Vec<&str>) = FORTUNES.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO fortune (id, message) SELECT * FROM unnest($1::int[], $2::text[]) \
         ON CONFLICT (id) DO UPDATE SET message = EXCLUDED.message",
    )
    .bind(&ids)
    .bind(&messages)
    .execute(&pool)
    .await?;
    Ok(pool)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("FORTUNES_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8081".to_string());
    let pool = prepare(&url).await?;
    let app = Router::new().route(FORTUNES_PATH, get(show_fortunes)).with_state(pool);
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("fortunes baseline: http://{bind}{FORTUNES_PATH}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
