//! Quantities as people read them: bytes in binary units, day counts.

/// Formats a byte count with binary units (KiB, MiB, GiB, TiB), one decimal past KiB.
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    // 1023.96 MiB would print as "1024.0 MiB": move up a unit before rounding does.
    while value >= 1023.95 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

pub const GIB: i64 = 1024 * 1024 * 1024;
pub const TIB: i64 = 1024 * GIB;

/// "1 day", "3 days", "0 days".
pub fn format_days(days: i64) -> String {
    if days.abs() == 1 {
        format!("{days} day")
    } else {
        format!("{days} days")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_binary_units_at_their_boundaries() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (GIB - 1, "1.0 GiB"),
            (GIB, "1.0 GiB"),
            (5 * TIB / 2, "2.5 TiB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(format_bytes(bytes), expected, "{bytes} bytes");
        }
    }

    #[test]
    fn one_day_is_singular() {
        assert_eq!(format_days(1), "1 day");
        assert_eq!(format_days(0), "0 days");
        assert_eq!(format_days(12), "12 days");
    }
}
