//! When will a customer go over a seat limit at its current trend? A least-squares line through
//! the recent daily seat counts, projected forward.

/// Seats gained (or lost) per day over `series` (one value per consecutive day, oldest first), by
/// least squares. `None` with fewer than two points.
pub fn trend_per_day(series: &[i64]) -> Option<f64> {
    let n = series.len();
    if n < 2 {
        return None;
    }
    let n_f = n as f64;
    let mean_x = (n_f - 1.0) / 2.0;
    let mean_y = series.iter().sum::<i64>() as f64 / n_f;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (x, y) in series.iter().enumerate() {
        let dx = x as f64 - mean_x;
        covariance += dx * (*y as f64 - mean_y);
        variance += dx * dx;
    }
    Some(covariance / variance)
}

/// How many recent days of seat counts the trend is drawn through.
pub const TREND_DAYS: i32 = 30;

/// How far ahead a forecast is worth showing: further than this is not "approaching".
pub const HORIZON_DAYS: i64 = 90;

/// Below this many seats a day, a trend is noise, not growth.
const MIN_GROWTH_PER_DAY: f64 = 0.01;

/// Whole days until usage exceeds `limit` (usage above the limit is the overage; equal is not),
/// starting from today's `current` usage and growing as `series` does. `None` when usage is flat
/// or falling, or when it is already over.
pub fn days_until_over(series: &[i64], current: i64, limit: i64) -> Option<i64> {
    if current > limit {
        return None;
    }
    let slope = trend_per_day(series)?;
    if slope < MIN_GROWTH_PER_DAY {
        return None;
    }
    let seats_to_go = (limit + 1 - current) as f64;
    Some((seats_to_go / slope).ceil() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_series_never_goes_over() {
        assert_eq!(trend_per_day(&[50; 30]), Some(0.0));
        assert_eq!(days_until_over(&[50; 30], 50, 60), None);
    }

    #[test]
    fn a_rising_series_goes_over_when_the_line_crosses_the_limit() {
        let series: Vec<i64> = (0..30).map(|d| 20 + d).collect(); // one seat a day, 49 today
        assert_eq!(trend_per_day(&series), Some(1.0));
        assert_eq!(days_until_over(&series, 49, 55), Some(7), "56 seats in seven days");
        assert_eq!(
            days_until_over(&series, 49, 49),
            Some(1),
            "at the limit today, over tomorrow"
        );
        let slow: Vec<i64> = (0..30).map(|d| 100 + d / 3).collect(); // a third of a seat a day
        let days = days_until_over(&slow, 109, 110).expect("rising slowly");
        assert!((6..=7).contains(&days), "two seats at about a third a day: {days}");
    }

    #[test]
    fn a_falling_series_never_goes_over() {
        let series: Vec<i64> = (0..30).map(|d| 80 - d).collect();
        assert!(trend_per_day(&series).is_some_and(|s| s < 0.0));
        assert_eq!(days_until_over(&series, 51, 60), None);
    }

    #[test]
    fn a_noisy_rising_series_follows_its_trend() {
        let series: Vec<i64> = (0..30).map(|d| 40 + d / 2 + if d % 2 == 0 { 3 } else { -3 }).collect();
        let slope = trend_per_day(&series).expect("enough points");
        assert!((0.4..0.6).contains(&slope), "{slope}");
        let days = days_until_over(&series, 55, 60).expect("rising");
        assert!((9..=15).contains(&days), "{days}");
    }

    #[test]
    fn usage_already_over_or_too_few_points_has_no_forecast() {
        assert_eq!(days_until_over(&[1, 2, 3], 61, 60), None);
        assert_eq!(days_until_over(&[5], 5, 60), None);
        assert_eq!(trend_per_day(&[]), None);
    }
}
