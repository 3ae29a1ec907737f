//! Login throttling per username, whether or not the user exists (so the answer tells nothing
//! about which usernames are real): after a few failures, each further failure doubles a lock,
//! up to a ceiling. Kept in memory per instance; a restart forgives.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before the first lock.
pub const FREE_ATTEMPTS: u32 = 5;
/// The longest lock.
pub const MAX_LOCK_MINUTES: i64 = 15;
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
    last: DateTime<Utc>,
}

/// How long the lock after `failures` failures lasts (None: no lock yet).
pub fn lock_after(failures: u32) -> Option<Duration> {
    if failures < FREE_ATTEMPTS {
        return None;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(10);
    let minutes = (1_i64 << doublings).min(MAX_LOCK_MINUTES);
    Some(Duration::minutes(minutes))
}

impl LoginThrottle {
    fn key(username: &str) -> String {
        username.trim().to_lowercase()
    }

    /// When the username may try again, if it is locked now.
    pub fn locked_until(&self, username: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&Self::key(username))
            .and_then(|e| e.locked_until)
            .filter(|until| *until > now)
    }

    pub fn record_failure(&self, username: &str, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_KEYS {
            // Forget the quiet ones: an hour without a failure.
            entries.retain(|_, e| now - e.last < Duration::hours(1));
        }
        let entry = entries.entry(Self::key(username)).or_insert(Entry {
            failures: 0,
            locked_until: None,
            last: now,
        });
        entry.failures += 1;
        entry.last = now;
        entry.locked_until = lock_after(entry.failures).map(|d| now + d);
    }

    pub fn record_success(&self, username: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&Self::key(username));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn locks_start_after_the_free_attempts_and_double_up_to_the_ceiling() {
        assert_eq!(lock_after(4), None);
        assert_eq!(lock_after(5), Some(Duration::minutes(1)));
        assert_eq!(lock_after(6), Some(Duration::minutes(2)));
        assert_eq!(lock_after(8), Some(Duration::minutes(8)));
        assert_eq!(lock_after(9), Some(Duration::minutes(15)));
        assert_eq!(lock_after(40), Some(Duration::minutes(15)));
    }

    #[test]
    fn a_locked_username_is_free_again_after_the_lock_and_a_success_clears_it() {
        let throttle = LoginThrottle::default();
        let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().expect("date");
        for _ in 0..5 {
            throttle.record_failure("Ann", now);
        }
        assert_eq!(throttle.locked_until("ann", now), Some(now + Duration::minutes(1)));
        assert_eq!(throttle.locked_until("ann", now + Duration::minutes(1)), None);
        throttle.record_success("ANN");
        assert_eq!(throttle.locked_until("ann", now), None);
    }
}
