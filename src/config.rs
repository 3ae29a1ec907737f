//! Configuration from the command line and the environment.

use std::net::SocketAddr;

use clap::Args;

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/msp_portal";

/// Where the database is. Shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL URL of a role that owns the schema: runs migrations, the seed and the engine.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// PostgreSQL URL the web app and agent API use: a role without superuser or BYPASSRLS so that
    /// row-level security applies. Default: DATABASE_URL with the user `msp_app`.
    #[arg(long, env = "APP_DATABASE_URL")]
    pub app_database_url: Option<String>,

    /// Longest time one SQL statement of a request may run, in milliseconds.
    #[arg(long, env = "STATEMENT_TIMEOUT_MS", default_value_t = 5_000)]
    pub statement_timeout_ms: u64,

    /// Connections in the app's pool. Default: twice the number of cores.
    #[arg(long, env = "DATABASE_POOL_SIZE")]
    pub pool_size: Option<u32>,
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The URL users reach the portal at; an https URL makes cookies Secure.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Seconds between two ticks of the background engine; 0 turns the engine off in this instance.
    #[arg(long, env = "ENGINE_TICK_SECONDS", default_value_t = 60)]
    pub engine_tick_seconds: u64,

    /// Where emails are sent: smtp://user:password@host:port (add ?tls=required for STARTTLS) or
    /// smtps://user:password@host:port. Unset: emails wait in the outbox.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Seed the demo dataset when the database has no resellers yet.
    #[arg(long, env = "SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo: bool,

    /// Take the client's address from the last X-Forwarded-For entry (set this behind a load
    /// balancer that writes it; otherwise a client could name any address it likes).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// How long "log in as a customer" lasts before it ends by itself, in minutes.
    #[arg(long, env = "IMPERSONATION_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(i64).range(1..=1440))]
    pub impersonation_minutes: i64,
}

/// What the web layer needs to know about how it is reached and how long sessions live.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub secure_cookies: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Agent API requests a token may make at once, and how fast that allowance refills.
    pub api_burst: u32,
    pub api_per_second: u32,
    /// How long "log in as a customer" lasts.
    pub impersonation_minutes: i64,
    /// Whether SMTP_URL is set (the email settings page says so).
    pub smtp_configured: bool,
    /// The start of links in emails (set-password links), without a trailing slash.
    pub public_url: String,
    /// Whether the client address comes from X-Forwarded-For (behind a load balancer).
    pub trust_forwarded_for: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle_minutes: 120,
            session_absolute_hours: 12,
            api_burst: 60,
            api_per_second: 20,
            impersonation_minutes: 30,
            smtp_configured: false,
            public_url: "http://127.0.0.1:8080".to_string(),
            trust_forwarded_for: false,
        }
    }
}

impl ServeConfig {
    pub fn web(&self) -> WebConfig {
        let secure_cookies = self
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
        WebConfig {
            secure_cookies,
            impersonation_minutes: self.impersonation_minutes,
            smtp_configured: self.smtp_url.is_some(),
            trust_forwarded_for: self.trust_forwarded_for,
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.bind))
                .trim_end_matches('/')
                .to_string(),
            ..WebConfig::default()
        }
    }
}
