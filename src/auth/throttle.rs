//! Login throttling per username, whether or not the user exists (so the answer tells nothing
//! about which usernames are real), and per client address (one address guessing across many
//! usernames): after a few failures, each further failure doubles a lock, up to a ceiling. The
//! counts are rows of `login_throttle` ([`crate::store::login_throttle`]), shared by every
//! instance and kept across restarts; this module holds the rule and the keys.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use super::sessions::sha256_hex;

/// Failures allowed before the first lock of a username.
pub const FREE_ATTEMPTS: u32 = 5;
/// Failures allowed from one address before its first lock: an office behind one address has
/// many people mistyping, so more than one username's worth.
pub const FREE_ATTEMPTS_PER_ADDRESS: u32 = 20;
/// The longest lock.
pub const MAX_LOCK_MINUTES: i64 = 15;
/// How long a key with no failure is remembered (housekeeping forgets it then).
pub const FORGET_AFTER_HOURS: i64 = 24;

/// How long the lock after `failures` failures of a username lasts (None: no lock yet).
pub fn lock_after(failures: u32) -> Option<Duration> {
    lock_after_free(failures, FREE_ATTEMPTS)
}

pub fn lock_after_free(failures: u32, free: u32) -> Option<Duration> {
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

/// A throttled key and the failures it may have before its first lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub key: String,
    pub free: u32,
}

/// A username's key: however it was typed (case, surrounding blanks), and hashed, since people
/// now and then type their password into the username field.
pub fn username_key(username: &str) -> Key {
    Key {
        key: format!("user:{}", sha256_hex(&username.trim().to_lowercase())),
        free: FREE_ATTEMPTS,
    }
}

pub fn address_key(address: IpAddr) -> Key {
    Key {
        key: format!("addr:{address}"),
        free: FREE_ATTEMPTS_PER_ADDRESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_attempts_and_double_up_to_the_ceiling() {
        assert_eq!(lock_after(4), None);
        assert_eq!(lock_after(5), Some(Duration::minutes(1)));
        assert_eq!(lock_after(6), Some(Duration::minutes(2)));
        assert_eq!(lock_after(8), Some(Duration::minutes(8)));
        assert_eq!(lock_after(9), Some(Duration::minutes(15)));
        assert_eq!(lock_after(40), Some(Duration::minutes(15)));
        assert_eq!(lock_after_free(19, FREE_ATTEMPTS_PER_ADDRESS), None);
        assert_eq!(
            lock_after_free(20, FREE_ATTEMPTS_PER_ADDRESS),
            Some(Duration::minutes(1))
        );
    }

    #[test]
    fn a_username_is_one_key_however_it_is_typed_and_is_not_kept_as_typed() {
        let key = username_key("Ann@Example.com");
        assert_eq!(key, username_key("  ann@example.COM "));
        assert_ne!(key, username_key("anne@example.com"));
        assert!(!key.key.contains("ann"), "{}", key.key);
        assert!(key.key.len() <= 80, "the table's limit");
        let v6: IpAddr = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().expect("address");
        assert!(address_key(v6).key.len() <= 80);
        assert_ne!(address_key(v6).key, key.key);
    }
}
