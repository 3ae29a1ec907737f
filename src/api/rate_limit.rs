//! A token bucket per key (a client token's hash, a customer name at registration): agents may
//! burst, then get 429 with Retry-After. Kept in memory per instance, which is enough to stop one
//! runaway agent; it is not a global quota.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::error::{ApiError, AppError};

pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

/// Buckets kept at most; beyond it, full (idle) buckets are forgotten first.
const MAX_KEYS: usize = 100_000;

impl RateLimiter {
    pub fn new(capacity: u32, per_second: u32) -> RateLimiter {
        RateLimiter {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long to wait.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (capacity, per_second) = (self.capacity, self.per_second);
            buckets.retain(|_, b| refill(b, now, capacity, per_second) < capacity);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let tokens = refill(bucket, now, self.capacity, self.per_second);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            let wait = ((1.0 - tokens) / self.per_second).ceil().max(1.0) as u64;
            Err(ApiError(AppError::RateLimited { retry_after_secs: wait }))
        }
    }
}

fn refill(bucket: &Bucket, now: DateTime<Utc>, capacity: f64, per_second: f64) -> f64 {
    let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64 / 1000.0;
    (bucket.tokens + elapsed * per_second).min(capacity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn a_burst_is_allowed_then_refused_until_the_bucket_refills() {
        let limiter = RateLimiter::new(3, 1);
        let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().expect("date");
        for _ in 0..3 {
            assert!(limiter.check("a", now).is_ok());
        }
        match limiter.check("a", now) {
            Err(ApiError(AppError::RateLimited { retry_after_secs })) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(limiter.check("b", now).is_ok(), "keys have their own buckets");
        assert!(limiter.check("a", now + Duration::seconds(1)).is_ok());
    }
}
