//! A customer's life: service expiry, evaluation trials, scheduled deletion and revival.

use chrono::{Duration, NaiveDate};

/// Whole days from `today` to `date` (negative when it has passed).
pub fn days_until(date: NaiveDate, today: NaiveDate) -> i64 {
    (date - today).num_days()
}

/// A service or trial ending within `window_days` (inclusive) shows as "expiring soon"; one that
/// has already ended stays there until the engine acts on it.
pub fn is_expiring_soon(ends_on: NaiveDate, today: NaiveDate, window_days: i64) -> bool {
    days_until(ends_on, today) <= window_days
}

/// The date a customer whose service expired on `expired_on` is deleted.
pub fn deletion_date(scheduled_on: NaiveDate, retention_days: i64) -> NaiveDate {
    scheduled_on + Duration::days(retention_days)
}

/// A customer scheduled for deletion can be revived up to and including its deletion date;
/// the day after, it is deleted.
pub fn can_revive(delete_on: NaiveDate, today: NaiveDate) -> bool {
    today <= delete_on
}

/// Whether a customer whose deletion date is `delete_on` is due for deletion today.
pub fn is_due_for_deletion(delete_on: NaiveDate, today: NaiveDate) -> bool {
    today > delete_on
}

/// What is about to end for a customer, as the dashboard's "expiring soon" tab lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expiring {
    ScheduledDeletion,
    TrialEnding,
    ServiceExpiring,
}

impl Expiring {
    pub fn as_str(self) -> &'static str {
        match self {
            Expiring::ScheduledDeletion => "scheduled_deletion",
            Expiring::TrialEnding => "trial_ending",
            Expiring::ServiceExpiring => "service_expiring",
        }
    }

    pub fn parse(value: &str) -> Option<Expiring> {
        [
            Expiring::ScheduledDeletion,
            Expiring::TrialEnding,
            Expiring::ServiceExpiring,
        ]
        .into_iter()
        .find(|e| e.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Expiring::ScheduledDeletion => "Scheduled for deletion",
            Expiring::TrialEnding => "Evaluation ends",
            Expiring::ServiceExpiring => "Service expires",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn expiring_soon_includes_the_thirtieth_day_and_not_the_thirty_first() {
        let today = day(2026, 6, 15);
        assert!(is_expiring_soon(day(2026, 7, 15), today, 30));
        assert!(!is_expiring_soon(day(2026, 7, 16), today, 30));
        assert!(is_expiring_soon(today, today, 30), "ending today");
        assert!(
            is_expiring_soon(day(2026, 6, 14), today, 30),
            "ended yesterday, not yet acted on"
        );
    }

    #[test]
    fn days_until_counts_across_month_and_year_ends() {
        assert_eq!(days_until(day(2027, 1, 1), day(2026, 12, 31)), 1);
        assert_eq!(days_until(day(2026, 3, 1), day(2026, 2, 28)), 1);
        assert_eq!(days_until(day(2026, 6, 14), day(2026, 6, 15)), -1);
    }

    #[test]
    fn revival_is_possible_through_the_deletion_date_and_not_after() {
        let delete_on = day(2026, 7, 1);
        assert!(can_revive(delete_on, day(2026, 6, 30)));
        assert!(can_revive(delete_on, day(2026, 7, 1)));
        assert!(!can_revive(delete_on, day(2026, 7, 2)));
        assert!(!is_due_for_deletion(delete_on, day(2026, 7, 1)));
        assert!(is_due_for_deletion(delete_on, day(2026, 7, 2)));
    }

    #[test]
    fn deletion_follows_the_retention_period() {
        assert_eq!(deletion_date(day(2026, 6, 15), 30), day(2026, 7, 15));
        assert_eq!(deletion_date(day(2026, 6, 15), 0), day(2026, 6, 15));
    }
}
