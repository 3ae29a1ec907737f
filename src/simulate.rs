//! `msp-portal simulate`: a fleet of backup agents driving the public agent API over HTTP, so that
//! the demo's dashboard moves. It registers clients of demo customers (with their demo pass keys)
//! and sends reports — mostly successful jobs, some failures and warnings, slowly growing seats.

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use serde_json::{Value, json};

use crate::clock::{Clock, SystemClock};
use crate::seed::demo_pass_key;

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// Where the portal serves, e.g. http://127.0.0.1:8080.
    pub url: String,
    /// Demo customers to simulate (by name); their pass keys are the demo ones.
    pub customers: Vec<String>,
    pub clients_per_customer: usize,
    /// Reports per second across the fleet.
    pub rate: f64,
    pub duration: StdDuration,
}

/// The demo customers a default run drives.
pub const DEFAULT_CUSTOMERS: &[&str] = &[
    "Contoso",
    "Proseware",
    "Margie's Travel",
    "Bellows College",
    "Tailwind Traders",
];

struct SimAgent {
    customer: String,
    token: String,
    sequence: u64,
    seats: i64,
}

#[derive(Debug, Default)]
pub struct SimulateSummary {
    pub registered: usize,
    pub reports: u64,
    pub jobs_accepted: u64,
    pub refused_or_failed: u64,
}

/// Runs the fleet; stops after `duration` (bounded, on whatever address `url` names).
pub async fn run(options: SimulateOptions) -> anyhow::Result<SimulateSummary> {
    let http = reqwest::Client::builder().timeout(StdDuration::from_secs(10)).build()?;
    let base = options.url.trim_end_matches('/').to_string();
    let mut agents = Vec::new();
    let mut summary = SimulateSummary::default();
    for customer in &options.customers {
        for n in 1..=options.clients_per_customer {
            let body = json!({
                "customer": customer,
                "pass_key": demo_pass_key(customer),
                "client_id": format!("SIM-{n:03}"),
                "hostname": format!("sim-{}-{n}", customer.to_lowercase().replace(' ', "-")),
                "os": "Simulated Linux",
            });
            let response = http.post(format!("{base}/api/v1/register")).json(&body).send().await?;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            match answer["client_token"].as_str() {
                Some(token) => agents.push(SimAgent {
                    customer: customer.clone(),
                    token: token.to_string(),
                    sequence: 0,
                    seats: 40,
                }),
                None => eprintln!(
                    "{customer} SIM-{n:03}: registration refused ({status}): {}",
                    answer["message"]
                ),
            }
        }
    }
    summary.registered = agents.len();
    if agents.is_empty() {
        anyhow::bail!("no client could register; is the portal running at {base} with the demo data?");
    }
    let interval = StdDuration::from_secs_f64(1.0 / options.rate.max(0.1));
    let started = Instant::now();
    let mut next = 0usize;
    while started.elapsed() < options.duration {
        let count = agents.len();
        let agent = &mut agents[next % count];
        next += 1;
        agent.sequence += 1;
        let now = SystemClock.now();
        let outcome = match agent.sequence % 10 {
            0 => "failed",
            3 => "warning",
            _ => "succeeded",
        };
        if agent.sequence % 5 == 0 {
            agent.seats += 1;
        }
        let body = json!({
            "jobs": [{
                "id": format!("sim-{}-{}", agent.token.get(..8).unwrap_or("x"), agent.sequence),
                "kind": "backup",
                "started_at": (now - Duration::minutes(20)).to_rfc3339(),
                "ended_at": now.to_rfc3339(),
                "status": outcome,
                "bytes": 50_000_000 + agent.sequence * 1_000,
            }],
            "seats": [{"seat_property": "endpoint", "seats_used": agent.seats}],
            "accounts": [{"id": format!("user{}@{}.example", agent.sequence % 50, agent.customer.to_lowercase().replace(' ', "-")),
                          "seat_property": "endpoint", "active_at": now.to_rfc3339()}],
        });
        let response = http
            .post(format!("{base}/api/v1/reports"))
            .bearer_auth(&agent.token)
            .json(&body)
            .send()
            .await;
        summary.reports += 1;
        match response {
            Ok(response) if response.status().is_success() => {
                let answer: Value = response.json().await.unwrap_or(Value::Null);
                summary.jobs_accepted += answer["accepted"].as_u64().unwrap_or(0);
                summary.refused_or_failed += answer["refused"].as_array().map(|a| a.len() as u64).unwrap_or(0);
            }
            Ok(response) => {
                summary.refused_or_failed += 1;
                if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    tokio::time::sleep(StdDuration::from_secs(1)).await;
                }
            }
            Err(error) => {
                summary.refused_or_failed += 1;
                eprintln!("report failed: {error}");
            }
        }
        tokio::time::sleep(interval).await;
    }
    Ok(summary)
}
