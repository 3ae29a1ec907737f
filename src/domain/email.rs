//! Email delivery rules: how long to wait before trying a failed message again, when to give up.

use chrono::{Datelike, Duration, Months, NaiveDate};

/// Attempts after which a message is given up (its last error is kept for the operator).
pub const MAX_ATTEMPTS: i32 = 8;

/// The wait after the `attempts`-th failed attempt: 1, 2, 4 … minutes, at most six hours.
pub fn retry_delay(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 30) - 1;
    let minutes = 1i64.checked_shl(exponent as u32).unwrap_or(i64::MAX).min(6 * 60);
    Duration::minutes(minutes)
}

/// Whether a message that has failed `attempts` times is tried again.
pub fn should_retry(attempts: i32, permanent: bool) -> bool {
    !permanent && attempts < MAX_ATTEMPTS
}

/// Splits a recipients field ("a@x, b@y") into addresses, dropping blanks.
pub fn recipients(field: &str) -> Vec<&str> {
    field
        .split([',', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect()
}

/// How often a consolidated report is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Daily,
    Weekly,
    Monthly,
}

impl Every {
    pub fn parse(value: &str) -> Option<Every> {
        match value {
            "daily" => Some(Every::Daily),
            "weekly" => Some(Every::Weekly),
            "monthly" => Some(Every::Monthly),
            _ => None,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Every::Daily => "Daily",
            Every::Weekly => "Weekly",
            Every::Monthly => "Monthly",
        }
    }
}

/// The last complete period before `today`: (first day, first day after it). Weeks start on
/// Monday; a daily report covers yesterday, a monthly one the previous calendar month.
pub fn report_period(every: Every, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let end = match every {
        Every::Daily => today,
        Every::Weekly => today - Duration::days(i64::from(today.weekday().num_days_from_monday())),
        Every::Monthly => today.with_day(1).unwrap_or(today),
    };
    let start = match every {
        Every::Daily => end - Duration::days(1),
        Every::Weekly => end - Duration::days(7),
        Every::Monthly => end.checked_sub_months(Months::new(1)).unwrap_or(end),
    };
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn report_periods_are_the_last_complete_day_week_or_month() {
        // 2026-06-15 is a Monday; 2026-06-17 a Wednesday.
        let cases = [
            (Every::Daily, date(2026, 6, 15), date(2026, 6, 14), date(2026, 6, 15)),
            (Every::Daily, date(2026, 3, 1), date(2026, 2, 28), date(2026, 3, 1)),
            (Every::Weekly, date(2026, 6, 15), date(2026, 6, 8), date(2026, 6, 15)),
            (Every::Weekly, date(2026, 6, 17), date(2026, 6, 8), date(2026, 6, 15)),
            (Every::Weekly, date(2026, 6, 14), date(2026, 6, 1), date(2026, 6, 8)),
            (Every::Monthly, date(2026, 6, 1), date(2026, 5, 1), date(2026, 6, 1)),
            (Every::Monthly, date(2026, 3, 31), date(2026, 2, 1), date(2026, 3, 1)),
            (Every::Monthly, date(2026, 1, 15), date(2025, 12, 1), date(2026, 1, 1)),
        ];
        for (every, today, start, end) in cases {
            assert_eq!(report_period(every, today), (start, end), "{every:?} on {today}");
        }
    }

    #[test]
    fn the_wait_doubles_and_is_capped() {
        let cases = [(1, 1), (2, 2), (3, 4), (4, 8), (9, 256), (10, 360), (40, 360), (0, 1)];
        for (attempts, minutes) in cases {
            assert_eq!(retry_delay(attempts), Duration::minutes(minutes), "after {attempts}");
        }
    }

    #[test]
    fn a_message_is_given_up_after_the_last_attempt_or_a_permanent_refusal() {
        assert!(should_retry(1, false));
        assert!(should_retry(MAX_ATTEMPTS - 1, false));
        assert!(!should_retry(MAX_ATTEMPTS, false));
        assert!(!should_retry(1, true));
    }

    #[test]
    fn recipients_are_split_on_commas_and_semicolons() {
        assert_eq!(
            recipients("a@x.example, b@y.example;c@z.example ,"),
            vec!["a@x.example", "b@y.example", "c@z.example"]
        );
        assert!(recipients(" ").is_empty());
    }
}
