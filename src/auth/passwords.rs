//! argon2id password hashes in PHC strings, with the crate's defaults (OWASP's m=19456, t=2, p=1).

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// Passwords users choose must be at least this long.
pub const MIN_PASSWORD_LEN: usize = 12;
/// And at most this long: argon2 accepts more, but nobody types it and it bounds the work.
pub const MAX_PASSWORD_LEN: usize = 256;

pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|error| anyhow::anyhow!("hashing a password failed: {error}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Verifies against a fixed hash so that an unknown username costs as much time as a known one
/// and the login answer does not reveal which usernames exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not-a-real-password-but-costs-the-same").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// Hashing is CPU-bound for tens of milliseconds: keep it off the async workers.
pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// Verification, off the async workers. `None` for an unknown user still costs one verification.
pub async fn verify_blocking(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify(&password, &phc),
        None => {
            verify_dummy(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// What is wrong with a new password, if anything.
pub fn check_new_password(password: &str, confirmation: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err("Use at least 12 characters.");
    }
    if length > MAX_PASSWORD_LEN {
        return Err("Use at most 256 characters.");
    }
    if password != confirmation {
        return Err("The two passwords differ.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_an_argon2id_phc_string_that_verifies_only_its_password() {
        let phc = hash("correct horse battery").expect("hashing works");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        // OWASP's recommended argon2id cost: 19 MiB, two passes, one lane.
        assert!(phc.contains("$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
    }

    #[test]
    fn a_malformed_stored_hash_never_matches() {
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify("", ""));
    }

    #[test]
    fn new_passwords_need_twelve_characters_and_a_matching_confirmation() {
        assert_eq!(check_new_password("short", "short"), Err("Use at least 12 characters."));
        assert_eq!(check_new_password("twelve-chars", "twelve-chars"), Ok(()));
        assert_eq!(
            check_new_password("twelve-chars", "twelve-charz"),
            Err("The two passwords differ.")
        );
        assert!(check_new_password(&"x".repeat(257), &"x".repeat(257)).is_err());
    }
}
