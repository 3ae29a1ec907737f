//! How the engine shares the machine with the pages. A step is one or a few statements, and while
//! it runs, one PostgreSQL backend takes a core of its own; on a small machine that is a page's
//! core. So while pages are being answered the engine rests after each step, ten times as long as
//! the step took and never more than a quarter of a second: it then works about a tenth of the
//! time, and fewer of the pages' requests meet one of its statements. A tick under page load takes
//! longer by at most a quarter of a second a step. With nothing else running it does not rest, and
//! a tick takes only as long as its work.

use std::time::Duration;

/// How many times a step's own time the engine rests after it while pages are waiting.
pub const REST_FACTOR: u32 = 10;
/// The longest rest after one step: a long step (the daily SLA pass) is not followed by seconds
/// of nothing.
pub const LONGEST_REST: Duration = Duration::from_millis(250);

/// The rest after a step that took `took`, when `pages_running` says whether other statements were
/// running on the database as it ended.
pub fn rest_after_step(took: Duration, pages_running: bool) -> Duration {
    if !pages_running {
        return Duration::ZERO;
    }
    took.saturating_mul(REST_FACTOR).min(LONGEST_REST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_rests_only_while_pages_run() {
        assert_eq!(rest_after_step(Duration::from_millis(12), false), Duration::ZERO);
        assert_eq!(
            rest_after_step(Duration::from_millis(12), true),
            Duration::from_millis(120)
        );
    }

    #[test]
    fn a_long_step_is_followed_by_a_quarter_of_a_second_at_most() {
        assert_eq!(
            rest_after_step(Duration::from_millis(24), true),
            Duration::from_millis(240)
        );
        assert_eq!(rest_after_step(Duration::from_millis(26), true), LONGEST_REST);
        assert_eq!(rest_after_step(Duration::from_secs(7), true), LONGEST_REST);
        assert_eq!(rest_after_step(Duration::MAX, true), LONGEST_REST);
    }
}
