//! Login throttling per username, whether or not the user exists (so the answer tells nothing
//! about which usernames are real), and per client address (one address guessing across many
//! usernames): after a few failures, each further failure doubles a lock, up to a ceiling. The
//! counts are rows of `login_throttle` ([`crate::store::login_throttle`]), shared by every
//! instance and kept across restarts; this module holds the rule and the address's key.

use std::net::{IpAddr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before the first lock of a username.
pub const FREE_ATTEMPTS: u32 = 5;
/// Failures allowed from one address before its first lock: an office behind one address has
/// many people mistyping, so more than one username's worth.
pub const FREE_ATTEMPTS_PER_ADDRESS: u32 = 20;
/// The longest lock.
pub const MAX_LOCK_MINUTES: i64 = 15;
/// How long a key still within its free attempts is remembered after its last failure.
pub const FORGET_FREE_AFTER_HOURS: i64 = 1;
/// How long any other key is remembered after its last failure (once no lock of it holds).
pub const FORGET_AFTER_HOURS: i64 = 24;

/// How long the lock after `failures` failures of a key with `free` free attempts lasts (None: no
/// lock yet).
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

/// The key an address's failures are counted under. An IPv6 client is counted by its /64, the
/// block one subscriber is usually given: counted per address, it could draw a fresh allowance
/// (and a fresh row) for every guess.
pub fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => format!("addr:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("addr:{v4}"),
            None => {
                let block = u128::from(v6) & !((1_u128 << 64) - 1);
                format!("addr:{}/64", Ipv6Addr::from(block))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_attempts_and_double_up_to_the_ceiling() {
        assert_eq!(lock_after_free(4, FREE_ATTEMPTS), None);
        assert_eq!(lock_after_free(5, FREE_ATTEMPTS), Some(Duration::minutes(1)));
        assert_eq!(lock_after_free(6, FREE_ATTEMPTS), Some(Duration::minutes(2)));
        assert_eq!(lock_after_free(8, FREE_ATTEMPTS), Some(Duration::minutes(8)));
        assert_eq!(lock_after_free(9, FREE_ATTEMPTS), Some(Duration::minutes(15)));
        assert_eq!(lock_after_free(40, FREE_ATTEMPTS), Some(Duration::minutes(15)));
        assert_eq!(lock_after_free(19, FREE_ATTEMPTS_PER_ADDRESS), None);
        assert_eq!(
            lock_after_free(20, FREE_ATTEMPTS_PER_ADDRESS),
            Some(Duration::minutes(1))
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_block_and_a_mapped_ipv4_one_by_its_address() {
        let one: IpAddr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().expect("address");
        let neighbour: IpAddr = "2001:db8:1:2::1".parse().expect("address");
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().expect("address");
        assert_eq!(address_key(one), "addr:2001:db8:1:2::/64");
        assert_eq!(address_key(one), address_key(neighbour));
        assert_ne!(address_key(one), address_key(elsewhere));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("address");
        assert_eq!(address_key(mapped), "addr:192.0.2.7");
        let widest: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().expect("address");
        assert!(address_key(widest).len() <= 80, "the table's limit");
    }
}
