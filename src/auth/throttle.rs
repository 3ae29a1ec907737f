//! Login throttling per username, whether or not the user exists (so the answer tells nothing
//! about which usernames are real), and per client address (one address guessing across many
//! usernames): after a few failures, each further failure doubles a lock, up to a ceiling. Kept
//! in memory per instance; a restart forgives.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before the first lock of a username.
pub const FREE_ATTEMPTS: u32 = 5;
/// Failures allowed from one address before its first lock: an office behind one address has
/// many people mistyping, so more than one username's worth.
pub const FREE_ATTEMPTS_PER_ADDRESS: u32 = 20;
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

/// How long the lock after `failures` failures of a username lasts (None: no lock yet).
pub fn lock_after(failures: u32) -> Option<Duration> {
    lock_after_free(failures, FREE_ATTEMPTS)
}

fn lock_after_free(failures: u32, free: u32) -> Option<Duration> {
    if failures < free {
        return None;
    }
    let doublings = (failures - free).min(10);
    let minutes = (1_i64 << doublings).min(MAX_LOCK_MINUTES);
    Some(Duration::minutes(minutes))
}

/// What is locked, and so what the login page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Username(DateTime<Utc>),
    Address(DateTime<Utc>),
}

impl LoginThrottle {
    fn key(username: &str) -> String {
        format!("user:{}", username.trim().to_lowercase())
    }

    fn address_key(address: IpAddr) -> String {
        format!("addr:{address}")
    }

    fn until(&self, key: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .and_then(|e| e.locked_until)
            .filter(|until| *until > now)
    }

    /// When the username may try again, if it is locked now.
    pub fn locked_until(&self, username: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.until(&Self::key(username), now)
    }

    /// The lock in force for this username or this address, the address's first.
    pub fn lock(&self, username: &str, address: Option<IpAddr>, now: DateTime<Utc>) -> Option<Lock> {
        if let Some(until) = address.and_then(|a| self.until(&Self::address_key(a), now)) {
            return Some(Lock::Address(until));
        }
        self.locked_until(username, now).map(Lock::Username)
    }

    fn bump(&self, key: String, free: u32, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_KEYS {
            // Forget the quiet ones: an hour without a failure.
            entries.retain(|_, e| now - e.last < Duration::hours(1));
        }
        let entry = entries.entry(key).or_insert(Entry {
            failures: 0,
            locked_until: None,
            last: now,
        });
        entry.failures += 1;
        entry.last = now;
        entry.locked_until = lock_after_free(entry.failures, free).map(|d| now + d);
    }

    pub fn record_failure(&self, username: &str, now: DateTime<Utc>) {
        self.bump(Self::key(username), FREE_ATTEMPTS, now);
    }

    /// A failure counted against both the username and the address it came from.
    pub fn record_failure_from(&self, username: &str, address: Option<IpAddr>, now: DateTime<Utc>) {
        self.record_failure(username, now);
        if let Some(address) = address {
            self.bump(Self::address_key(address), FREE_ATTEMPTS_PER_ADDRESS, now);
        }
    }

    /// A success forgives the username, not the address: one known account must not wipe out
    /// the record of guesses at others.
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

    #[test]
    fn one_address_guessing_across_usernames_is_locked_and_a_success_does_not_forgive_it() {
        let throttle = LoginThrottle::default();
        let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().expect("date");
        let address: IpAddr = "127.0.0.9".parse().expect("address");
        for i in 0..FREE_ATTEMPTS_PER_ADDRESS {
            assert_eq!(throttle.lock(&format!("user{i}"), Some(address), now), None);
            throttle.record_failure_from(&format!("user{i}"), Some(address), now);
        }
        let locked = throttle.lock("someone-new", Some(address), now);
        assert_eq!(locked, Some(Lock::Address(now + Duration::minutes(1))));
        throttle.record_success("someone-new");
        assert!(throttle.lock("someone-new", Some(address), now).is_some());
        let elsewhere: IpAddr = "127.0.0.10".parse().expect("address");
        assert_eq!(throttle.lock("someone-new", Some(elsewhere), now), None);
    }
}
