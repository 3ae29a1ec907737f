//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1, 6 digits, 30-second
//! steps): what every authenticator app speaks. Pure: the time and the secret are arguments.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds a code stays current.
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are still accepted: clocks of phones drift, and people type slowly.
pub const DRIFT_STEPS: i64 = 1;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

/// The 30-second step a Unix time falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The HOTP value of `secret` at `counter`, as a number below 10^DIGITS.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would only give code 0.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10_u32.pow(DIGITS)
}

/// The code an authenticator shows for `secret` during `step`.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(secret, step.max(0) as u64), width = DIGITS as usize)
}

/// What the user typed, reduced to its digits ("123 456" and "123-456" are common spellings).
pub fn normalize_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (digits.len() == DIGITS as usize && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// The step whose code `typed` is, if it is current at `unix_seconds` within the allowed drift
/// and newer than `last_used_step` (a code is accepted once; an older one never again).
pub fn verify(secret: &[u8], typed: &str, unix_seconds: i64, last_used_step: Option<i64>) -> Option<i64> {
    let typed = normalize_code(typed)?;
    let now = step_at(unix_seconds);
    let mut found = None;
    // Every candidate is computed and compared, so the time taken does not tell which one matched.
    for step in (now - DRIFT_STEPS)..=(now + DRIFT_STEPS) {
        let fresh = last_used_step.is_none_or(|last| step > last);
        if constant_time_eq(code_at_step(secret, step).as_bytes(), typed.as_bytes()) && fresh {
            found = Some(step);
        }
    }
    found
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The secret as authenticator apps take it: base32 without padding.
pub fn encode_secret(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

pub fn decode_secret(encoded: &str) -> Option<Vec<u8>> {
    BASE32_NOPAD
        .decode(encoded.trim().as_bytes())
        .ok()
        .filter(|s| !s.is_empty())
}

/// The `otpauth://` URI a QR code carries (Google's Key Uri Format, which every app reads).
pub fn provisioning_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer_enc = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{account}?secret={secret}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = encode_secret(secret),
    )
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A recovery code as shown to the user: ten characters from an alphabet without look-alikes,
/// grouped as `xxxxx-xxxxx`, from 50 random bits given as bytes.
pub fn format_recovery_code(random: &[u8; 8]) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut value = u64::from_be_bytes(*random);
    let mut code = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            code.push('-');
        }
        code.push(ALPHABET[(value % ALPHABET.len() as u64) as usize] as char);
        value /= ALPHABET.len() as u64;
    }
    code
}

/// A typed recovery code in the form it is stored (hashed) in: lower case, no spaces or dashes.
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == 10 && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret and its 8-digit codes; the last six digits are ours.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        for (time, eight_digits) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at_step(RFC_SECRET, step_at(time)), eight_digits[2..], "at {time}");
        }
    }

    #[test]
    fn hotp_matches_the_rfc_4226_test_vectors() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64), value);
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_not_further() {
        let now = 1_234_567_890;
        let step = step_at(now);
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at_step(RFC_SECRET, step + offset);
            assert_eq!(
                verify(RFC_SECRET, &code, now, None).is_some(),
                accepted,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_used_code_is_never_accepted_again() {
        let now = 1_234_567_890;
        let code = code_at_step(RFC_SECRET, step_at(now));
        let used = verify(RFC_SECRET, &code, now, None).expect("fresh code");
        assert_eq!(verify(RFC_SECRET, &code, now, Some(used)), None);
        assert_eq!(verify(RFC_SECRET, &code, now + 20, Some(used)), None);
        let next = code_at_step(RFC_SECRET, used + 1);
        assert_eq!(verify(RFC_SECRET, &next, now + 30, Some(used)), Some(used + 1));
    }

    #[test]
    fn typed_codes_may_carry_spaces_and_dashes_but_nothing_else() {
        assert_eq!(normalize_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize_code("123-456").as_deref(), Some("123456"));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(normalize_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_round_trip_through_base32() {
        let encoded = encode_secret(RFC_SECRET);
        assert_eq!(encoded, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(decode_secret(&encoded).as_deref(), Some(RFC_SECRET));
        assert_eq!(decode_secret("not base32!"), None);
    }

    #[test]
    fn the_provisioning_uri_names_issuer_account_and_secret() {
        let uri = provisioning_uri("MSP Portal", "ann@northwind.example", RFC_SECRET);
        assert_eq!(
            uri,
            "otpauth://totp/MSP%20Portal:ann%40northwind.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=MSP%20Portal&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_grouped_and_read_back_in_any_case() {
        let code = format_recovery_code(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(normalize_recovery_code(&typed), Some(code.replace('-', "")));
        assert_eq!(normalize_recovery_code("short"), None);
    }
}
