//! The SLA score: one number from 0 to 100 that says how well a customer's backups are doing.
//!
//! score = 100 × (0.60 × success + 0.25 × freshness + 0.15 × alerts), rounded, where
//! - success   = (succeeded jobs + ½ × jobs with warnings) ÷ all finished jobs of the period
//!   (1 when nothing ran and nothing is protected; 0 when sources exist but nothing ran),
//! - freshness = share of data sources with a successful backup within the stale threshold
//!   (1 without sources),
//! - alerts    = 1 − ¼ per open critical alert, never below 0.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaInputs {
    pub succeeded: i64,
    pub warnings: i64,
    pub failed: i64,
    pub sources: i64,
    pub fresh_sources: i64,
    pub open_critical_alerts: i64,
}

pub const SUCCESS_WEIGHT: f64 = 0.60;
pub const FRESHNESS_WEIGHT: f64 = 0.25;
pub const ALERT_WEIGHT: f64 = 0.15;
pub const PENALTY_PER_CRITICAL_ALERT: f64 = 0.25;

pub fn success_rate(succeeded: i64, warnings: i64, failed: i64) -> Option<f64> {
    let total = succeeded + warnings + failed;
    (total > 0).then(|| (succeeded as f64 + 0.5 * warnings as f64) / total as f64)
}

pub fn score(inputs: SlaInputs) -> u8 {
    let success = success_rate(inputs.succeeded, inputs.warnings, inputs.failed).unwrap_or(if inputs.sources > 0 {
        0.0
    } else {
        1.0
    });
    let freshness = if inputs.sources > 0 {
        (inputs.fresh_sources.clamp(0, inputs.sources)) as f64 / inputs.sources as f64
    } else {
        1.0
    };
    let alerts = (1.0 - PENALTY_PER_CRITICAL_ALERT * inputs.open_critical_alerts.max(0) as f64).max(0.0);
    let value = 100.0 * (SUCCESS_WEIGHT * success + FRESHNESS_WEIGHT * freshness + ALERT_WEIGHT * alerts);
    value.round().clamp(0.0, 100.0) as u8
}

/// A source is stale when its last successful backup is older than `stale_hours`, or never happened.
pub fn is_stale(last_success_at: Option<DateTime<Utc>>, now: DateTime<Utc>, stale_hours: i64) -> bool {
    match last_success_at {
        Some(at) => now - at >= Duration::hours(stale_hours),
        None => true,
    }
}

/// When the first of a customer's fresh sources turns stale, given the oldest good backup among
/// them (`is_stale` at that instant and after, not before): until then time alone cannot move its
/// score. None without a fresh source.
pub fn fresh_until(oldest_fresh_success: Option<DateTime<Utc>>, stale_hours: i64) -> Option<DateTime<Utc>> {
    oldest_fresh_success.map(|at| at + Duration::hours(stale_hours))
}

/// "2 h", "3 d", "never": how long ago a backup was, for tables.
pub fn age(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(since) = since else { return "never".into() };
    let elapsed = now - since;
    if elapsed < Duration::hours(1) {
        format!("{} min ago", elapsed.num_minutes().max(0))
    } else if elapsed < Duration::hours(48) {
        format!("{} h ago", elapsed.num_hours())
    } else {
        format!("{} days ago", elapsed.num_days())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn inputs(succeeded: i64, warnings: i64, failed: i64, sources: i64, fresh: i64, critical: i64) -> SlaInputs {
        SlaInputs {
            succeeded,
            warnings,
            failed,
            sources,
            fresh_sources: fresh,
            open_critical_alerts: critical,
        }
    }

    #[test]
    fn a_perfect_customer_scores_one_hundred_and_a_hopeless_one_zero() {
        assert_eq!(score(inputs(30, 0, 0, 3, 3, 0)), 100);
        assert_eq!(score(inputs(0, 0, 30, 3, 0, 4)), 0);
        assert_eq!(
            score(inputs(0, 0, 30, 3, 0, 9)),
            0,
            "the alert part never goes negative"
        );
    }

    #[test]
    fn each_part_weighs_as_documented() {
        assert_eq!(
            score(inputs(0, 0, 10, 2, 2, 0)),
            40,
            "no success: freshness and alerts remain"
        );
        assert_eq!(score(inputs(10, 0, 0, 2, 0, 0)), 75, "all stale");
        assert_eq!(
            score(inputs(10, 0, 0, 2, 2, 1)),
            96,
            "one open critical alert costs 0.15 × 0.25"
        );
        assert_eq!(score(inputs(0, 10, 0, 1, 1, 0)), 70, "warnings count half");
        assert_eq!(score(inputs(9, 0, 1, 4, 3, 0)), 88, "54 + 18.75 + 15");
    }

    #[test]
    fn a_customer_with_nothing_to_protect_is_not_punished_but_one_with_silent_sources_is() {
        assert_eq!(score(SlaInputs::default()), 100);
        assert_eq!(score(inputs(0, 0, 0, 2, 0, 0)), 15);
    }

    #[test]
    fn staleness_starts_at_the_threshold() {
        let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().expect("date");
        assert!(!is_stale(Some(now - Duration::hours(25)), now, 26));
        assert!(is_stale(Some(now - Duration::hours(26)), now, 26));
        assert!(is_stale(None, now, 26));
    }

    #[test]
    fn a_fresh_source_turns_stale_at_the_instant_foreseen_for_it() {
        let backed_up = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().expect("date");
        let until = fresh_until(Some(backed_up), 26).expect("a fresh source");
        assert!(!is_stale(Some(backed_up), until - Duration::seconds(1), 26));
        assert!(is_stale(Some(backed_up), until, 26));
        assert_eq!(fresh_until(None, 26), None);
    }

    #[test]
    fn ages_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().expect("date");
        assert_eq!(age(None, now), "never");
        assert_eq!(age(Some(now - Duration::minutes(5)), now), "5 min ago");
        assert_eq!(age(Some(now - Duration::hours(30)), now), "30 h ago");
        assert_eq!(age(Some(now - Duration::days(4)), now), "4 days ago");
    }
}
