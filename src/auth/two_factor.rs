//! Second factors: new TOTP secrets and recovery codes, and checking what a user typed against
//! them. The rules themselves (codes, steps, drift) are in `domain::totp`.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sqlx::PgConnection;

use super::sessions::sha256;
use crate::domain::totp;
use crate::store;

/// The cookie that names a login waiting for its second factor.
pub const CHALLENGE_COOKIE: &str = "msp_login_challenge";
/// How long a login may wait for its code.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Wrong codes one challenge accepts before the login starts over.
pub const CHALLENGE_ATTEMPTS: i32 = 5;
/// Recovery codes handed out at a time.
pub const RECOVERY_CODES: usize = 10;
/// The issuer name authenticator apps show beside the account.
pub const ISSUER: &str = "MSP Portal";

/// A new random secret, base32-encoded as stored and as apps take it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; totp::SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    totp::encode_secret(&bytes)
}

/// Fresh recovery codes: as shown once to the user, and as stored (hashed).
pub fn new_recovery_codes() -> (Vec<String>, Vec<Vec<u8>>) {
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    while shown.len() < RECOVERY_CODES {
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let code = totp::format_recovery_code(&bytes);
        if shown.contains(&code) {
            continue;
        }
        hashes.push(recovery_code_hash(&code).unwrap_or_default());
        shown.push(code);
    }
    (shown, hashes)
}

fn recovery_code_hash(typed: &str) -> Option<Vec<u8>> {
    totp::normalize_recovery_code(typed).map(|code| sha256(&code))
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Code,
    RecoveryCode,
}

/// Checks a typed code (six digits) or recovery code against the user's second factor, and spends
/// it: a code's step, a recovery code itself. `None` when it proves nothing.
pub async fn check(
    conn: &mut PgConnection,
    user_id: i64,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<Option<Proof>, sqlx::Error> {
    let Some(stored) = store::two_factor::secret(conn, user_id).await? else {
        return Ok(None);
    };
    if totp::normalize_code(typed).is_some() {
        let Some(secret) = totp::decode_secret(&stored.secret) else {
            return Ok(None);
        };
        return match totp::verify(&secret, typed, now.timestamp(), stored.last_step) {
            Some(step) if store::two_factor::accept_step(conn, user_id, step).await? => Ok(Some(Proof::Code)),
            _ => Ok(None),
        };
    }
    match recovery_code_hash(typed) {
        Some(hash) if store::two_factor::use_recovery_code(conn, user_id, &hash, now).await? => {
            Ok(Some(Proof::RecoveryCode))
        }
        _ => Ok(None),
    }
}

/// The code an authenticator holding `secret` shows at `now` (tests and the enrolment check).
pub fn current_code(secret: &str, now: DateTime<Utc>) -> Option<String> {
    let bytes = totp::decode_secret(secret)?;
    Some(totp::code_at_step(&bytes, totp::step_at(now.timestamp())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_hashed_as_typed_in_any_case() {
        let (shown, hashes) = new_recovery_codes();
        assert_eq!(shown.len(), RECOVERY_CODES);
        let mut unique = shown.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert_eq!(recovery_code_hash(&shown[0].to_uppercase()), Some(hashes[0].clone()));
    }

    #[test]
    fn a_new_secret_decodes_to_160_bits() {
        let secret = new_secret();
        assert_eq!(totp::decode_secret(&secret).map(|s| s.len()), Some(totp::SECRET_BYTES));
    }
}
