//! The `msp-portal` command: serve (default), migrate, seed, user.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use msp_portal::clock::{Clock, SystemClock};
use msp_portal::config::{DatabaseConfig, ServeConfig};
use msp_portal::{AppState, build_router, db, seed};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "msp-portal",
    version,
    about = "Multi-tenant portal for a backup provider, its resellers and their customers"
)]
struct Cli {
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create and migrate the database, seed the demo if it is empty, and serve the portal (default).
    Serve(ServeConfig),
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Seed a dataset into an empty database.
    Seed {
        #[arg(long, value_enum, default_value_t = Scale::Demo)]
        scale: Scale,
        /// The generated scales' random seed: the same seed on the same day gives the same rows.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run one engine tick now (or as if it were `--at`), then exit.
    Recompute {
        /// The instant to compute for, RFC 3339 (e.g. 2026-12-01T00:00:00Z). Default: now.
        #[arg(long)]
        at: Option<String>,
        /// Send the outbox through this SMTP server too (see `serve`).
        #[arg(long, env = "SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// Tick back to back for this many seconds instead of once, as a busy engine leader would
        /// (the benchmark loads pages meanwhile), then print how many ticks ran.
        #[arg(long)]
        repeat_for: Option<u64>,
    },
    /// Drive the agent API like a fleet of backup agents (demo customers), for a bounded time.
    Simulate {
        /// The portal's URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Reports per second across the fleet.
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// Clients per customer.
        #[arg(long, default_value_t = 3)]
        clients: usize,
        /// A demo customer to simulate (repeatable); default: five of them.
        #[arg(long = "customer")]
        customers: Vec<String>,
    },
    /// Set a user's password (for example to recover the operator account).
    User {
        /// The username.
        username: String,
        /// The new password; read from the MSP_PASSWORD environment variable if not given.
        #[arg(long, env = "MSP_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Scale {
    /// Three resellers and forty customers in every state the dashboard shows.
    Demo,
    /// The demo plus 200 resellers (one with 20,000 customers), 100,000 customers, 1 M clients,
    /// 2 M accounts, 300,000 connectors, 20 M backup jobs over 90 days, 9 M usage days.
    Large,
    /// About 1/100 of `large`: for the quick benchmark and CI.
    BenchSmall,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("msp-portal: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        None => serve(cli.database, ServeConfig::parse_from_env(), clock).await,
        Some(Command::Serve(config)) => serve(cli.database, config, clock).await,
        Some(Command::Migrate) => {
            db::prepare(&cli.database).await?;
            println!("The database is migrated.");
            Ok(())
        }
        Some(Command::Seed { scale: Scale::Demo, .. }) => {
            let owner = db::prepare(&cli.database).await?;
            seed::seed_demo(&owner, clock.now()).await?;
            print_demo_logins();
            Ok(())
        }
        Some(Command::Seed { scale, seed }) => {
            let spec = match scale {
                Scale::Large => seed::scale::LARGE,
                _ => seed::scale::BENCH_SMALL,
            };
            let owner = db::prepare(&cli.database).await?;
            let started = clock.now();
            let generated = seed::scale::seed_scaled(&owner, clock.as_ref(), spec, seed).await?;
            for (step, rows, seconds) in &generated.steps {
                println!("{step:<20} {rows:>10} rows {seconds:>8.1} s");
            }
            let size: String = sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
                .fetch_one(&owner)
                .await?;
            println!(
                "seeded in {} s; database size {size}",
                (clock.now() - started).num_seconds()
            );
            println!(
                "Logins (password: {}): the demo's, and {} (largest reseller) … {} ",
                seed::DEMO_PASSWORD,
                seed::scale::reseller_login("admin", 1),
                seed::scale::reseller_login("admin", spec.resellers)
            );
            Ok(())
        }
        Some(Command::Recompute {
            at,
            smtp_url,
            repeat_for,
        }) => {
            let at = match at {
                Some(text) => Some(
                    chrono::DateTime::parse_from_rfc3339(&text)
                        .map_err(|e| {
                            anyhow::anyhow!("--at must be an RFC 3339 time such as 2026-12-01T00:00:00Z ({e})")
                        })?
                        .with_timezone(&chrono::Utc),
                ),
                None => None,
            };
            // Checked before the database is touched, like `--at`.
            let repeat_for = match repeat_for {
                Some(seconds) => Some(
                    i64::try_from(seconds)
                        .ok()
                        .and_then(chrono::TimeDelta::try_seconds)
                        .ok_or_else(|| {
                            anyhow::anyhow!("--repeat-for {seconds} is more seconds than a time span holds")
                        })?,
                ),
                None => None,
            };
            let owner = db::prepare(&cli.database).await?;
            let mailer = match smtp_url.as_deref() {
                Some(url) => Some(msp_portal::jobs::Mailer::from_url(url).map_err(|e| anyhow::anyhow!(e))?),
                None => None,
            };
            let engine = msp_portal::jobs::Engine::new(owner, clock.clone()).with_mailer(mailer);
            if let Some(span) = repeat_for {
                let until = clock.now().checked_add_signed(span).ok_or_else(|| {
                    anyhow::anyhow!("--repeat-for {} s is longer than the calendar goes", span.num_seconds())
                })?;
                let done = engine.tick_until(until, at).await?;
                if !done.failed_steps.is_empty() {
                    anyhow::bail!("engine steps failed: {:?}", done.failed_steps);
                }
                println!("{} ticks in {} s", done.ticks, span.num_seconds());
                return Ok(());
            }
            let outcome = engine.tick_at(at.unwrap_or_else(|| clock.now())).await?;
            match outcome {
                msp_portal::jobs::TickOutcome::NotLeader => {
                    println!("Another instance is running a tick; nothing done.")
                }
                msp_portal::jobs::TickOutcome::Ran(steps) => {
                    for step in steps {
                        match step.error {
                            Some(error) => println!("{:<18} failed: {error}", step.step),
                            None => println!(
                                "{:<18} {} changed in {} ms",
                                step.step,
                                step.changed,
                                step.took.as_millis()
                            ),
                        }
                    }
                }
            }
            Ok(())
        }
        Some(Command::Simulate {
            url,
            rate,
            duration,
            clients,
            customers,
        }) => {
            let customers = if customers.is_empty() {
                msp_portal::simulate::DEFAULT_CUSTOMERS
                    .iter()
                    .map(|c| c.to_string())
                    .collect()
            } else {
                customers
            };
            let options = msp_portal::simulate::SimulateOptions {
                url,
                customers,
                clients_per_customer: clients.max(1),
                rate,
                duration: std::time::Duration::from_secs(duration),
            };
            let summary = msp_portal::simulate::run(options).await?;
            println!(
                "{} clients registered, {} reports sent, {} jobs accepted, {} refused or failed",
                summary.registered, summary.reports, summary.jobs_accepted, summary.refused_or_failed
            );
            Ok(())
        }
        Some(Command::User { username, password }) => {
            let owner = db::prepare(&cli.database).await?;
            if let Err(problem) = msp_portal::auth::passwords::check_new_password(&password, &password) {
                anyhow::bail!("{problem}");
            }
            let hash = msp_portal::auth::passwords::hash_blocking(password).await?;
            let changed = sqlx::query(
                "UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE lower(username) = lower($1)",
            )
            .bind(&username)
            .bind(hash)
            .bind(clock.now())
            .execute(&owner)
            .await?
            .rows_affected();
            if changed == 0 {
                anyhow::bail!("there is no user named {username}");
            }
            println!("The password of {username} is changed.");
            Ok(())
        }
    }
}

trait FromEnv {
    fn parse_from_env() -> Self;
}

impl FromEnv for ServeConfig {
    /// `msp-portal` without a subcommand serves with the settings of the environment.
    fn parse_from_env() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeConfig,
        }
        Only::parse_from(["msp-portal"]).serve
    }
}

async fn serve(database: DatabaseConfig, config: ServeConfig, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    // A wrong SMTP_URL stops the start at once, before anything else is done.
    let mailer = match config.smtp_url.as_deref() {
        Some(url) => Some(msp_portal::jobs::Mailer::from_url(url).map_err(|e| anyhow::anyhow!(e))?),
        None => {
            tracing::info!("SMTP_URL is not set: emails wait in the outbox");
            None
        }
    };
    let owner = db::prepare(&database).await?;
    if config.seed_demo && seed::is_empty(&owner).await? {
        seed::seed_demo(&owner, clock.now()).await?;
        tracing::info!("seeded the demo dataset");
        print_demo_logins();
    }
    let pool = db::app_pool(&database).await?;
    let (stop_engine, engine_stopped) = tokio::sync::watch::channel(false);
    let engine = if config.engine_tick_seconds > 0 {
        let engine = msp_portal::jobs::Engine::new(owner.clone(), clock.clone()).with_mailer(mailer);
        let every = std::time::Duration::from_secs(config.engine_tick_seconds);
        Some(tokio::spawn(engine.run(every, engine_stopped)))
    } else {
        owner.close().await;
        None
    };
    let state = AppState::new(pool.clone(), clock, config.web());
    let listener = tokio::net::TcpListener::bind(config.bind).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {} ({e}); set BIND to a free address:port",
            config.bind
        )
    })?;
    tracing::info!("MSP Portal is serving at http://{}", config.bind);
    println!("MSP Portal: http://{}/login", config.bind);
    // The peer address feeds the per-address login throttle.
    let app = build_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // The engine finishes the tick it is in (each step committed or rolled back as a whole, with the
    // rests between them: at most 2.75 s more, domain::pacing), then stops.
    let _ = stop_engine.send(true);
    if let Some(engine) = engine {
        let _ = engine.await;
    }
    owner.close().await;
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn print_demo_logins() {
    println!("Demo logins (password: {}):", seed::DEMO_PASSWORD);
    for (username, who) in seed::DEMO_LOGINS {
        println!("  {username:<26} {who}");
    }
}

/// Ctrl-C or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
