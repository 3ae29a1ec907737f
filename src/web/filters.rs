//! Template filters: how figures, sizes and dates are written on every page. Templates format
//! through these and nothing else, so a date or a size reads the same everywhere.

use askama::Values;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::units;

/// 1536 → "1.5 KiB".
#[askama::filter_fn]
pub fn bytes(value: &i64, _: &dyn Values) -> askama::Result<String> {
    Ok(units::format_bytes(*value))
}

/// 3 → "3 days".
#[askama::filter_fn]
pub fn days(value: &i64, _: &dyn Values) -> askama::Result<String> {
    Ok(units::format_days(*value))
}

/// A calendar day: "2026-06-15".
#[askama::filter_fn]
pub fn date(value: &NaiveDate, _: &dyn Values) -> askama::Result<String> {
    Ok(value.format("%Y-%m-%d").to_string())
}

/// An instant, in UTC: "2026-06-15 14:03 UTC".
#[askama::filter_fn]
pub fn datetime(value: &DateTime<Utc>, _: &dyn Values) -> askama::Result<String> {
    Ok(value.format("%Y-%m-%d %H:%M UTC").to_string())
}
