//! Calendar-month arithmetic for monthly figures (MAU, allowance history): months are named by
//! their first day.

use chrono::{Datelike, NaiveDate};

/// The first day of the month `day` falls in.
pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month `months` after (or, negative, before) the month of `day`.
pub fn add_months(day: NaiveDate, months: i32) -> NaiveDate {
    let index = day.year() * 12 + day.month0() as i32 + months;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    NaiveDate::from_ymd_opt(year, month0 as u32 + 1, 1).unwrap_or_else(|| first_of_month(day))
}

/// The `count` months ending with the month of `day`, oldest first.
pub fn months_ending_at(day: NaiveDate, count: u32) -> Vec<NaiveDate> {
    (0..count as i32).rev().map(|back| add_months(day, -back)).collect()
}

/// A month as people read it: "Jun 2026".
pub fn label(month: NaiveDate) -> String {
    month.format("%b %Y").to_string()
}

/// A month as a form or a URL carries it: "2026-06". `None` for anything else.
pub fn parse(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", value.trim()), "%Y-%m-%d").ok()
}

/// The month's value in forms and URLs ("2026-06").
pub fn key(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn the_first_of_the_month_keeps_year_and_month() {
        assert_eq!(first_of_month(day(2026, 6, 15)), day(2026, 6, 1));
        assert_eq!(first_of_month(day(2026, 12, 31)), day(2026, 12, 1));
        assert_eq!(first_of_month(day(2027, 1, 1)), day(2027, 1, 1));
    }

    #[test]
    fn adding_months_rolls_over_year_boundaries_both_ways() {
        let cases = [
            (day(2026, 12, 31), 1, day(2027, 1, 1)),
            (day(2026, 11, 30), 2, day(2027, 1, 1)),
            (day(2027, 1, 15), -1, day(2026, 12, 1)),
            (day(2027, 1, 1), -12, day(2026, 1, 1)),
            (day(2027, 1, 1), -13, day(2025, 12, 1)),
            (day(2026, 6, 15), 0, day(2026, 6, 1)),
            (day(2026, 1, 31), 1, day(2026, 2, 1)),
        ];
        for (from, months, expected) in cases {
            assert_eq!(add_months(from, months), expected, "{from} + {months}");
        }
    }

    #[test]
    fn twelve_months_ending_in_january_start_in_february_of_the_year_before() {
        let months = months_ending_at(day(2027, 1, 20), 12);
        assert_eq!(months.len(), 12);
        assert_eq!(months.first(), Some(&day(2026, 2, 1)));
        assert_eq!(months.last(), Some(&day(2027, 1, 1)));
        assert!(months.windows(2).all(|w| add_months(w[0], 1) == w[1]));
        assert!(months.contains(&day(2026, 12, 1)));
    }

    #[test]
    fn months_read_and_print_as_year_and_month() {
        assert_eq!(parse("2026-12"), Some(day(2026, 12, 1)));
        assert_eq!(parse("2026-13"), None);
        assert_eq!(parse("June"), None);
        assert_eq!(key(day(2027, 1, 1)), "2027-01");
        assert_eq!(label(day(2027, 1, 1)), "Jan 2027");
    }
}
