//! Checks on what people type: addresses, names, numbers. Pure, so forms and the agent API agree.

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces.
/// (Deliverability is the mail server's business; this catches typos.)
pub fn is_valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.len() <= 253
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

/// A comma- or semicolon-separated list of email addresses; each must be valid.
pub fn parse_email_list(value: &str) -> Result<Vec<String>, String> {
    let addresses: Vec<String> = value
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match addresses.iter().find(|a| !is_valid_email(a)) {
        Some(bad) => Err(format!("\u{201c}{bad}\u{201d} is not an email address.")),
        None => Ok(addresses),
    }
}

/// Text that ends up in a CSV cell: a leading `=`, `+`, `-`, `@`, tab, carriage return or NUL
/// would make a spreadsheet run it as a formula, so such cells get a leading apostrophe; cells
/// with separators, quotes or line breaks are quoted.
pub fn csv_cell(value: &str) -> String {
    let guarded = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\0') => format!("'{value}"),
        _ => value.to_string(),
    };
    if guarded.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A non-negative amount with at most two decimals ("1500", "1500.5", "1500.50"), returned in a
/// canonical form PostgreSQL's numeric accepts. Never floating point.
pub fn parse_amount(value: &str) -> Option<String> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 12
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.chars().all(|c| c.is_ascii_digit())
        && !(value.contains('.') && fraction.is_empty());
    ok.then(|| {
        if fraction.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{fraction}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for good in ["it@contoso.example", "a.b+c@d.e", "x@sub.domain.example"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@contoso.example",
            "it@",
            "it@contoso",
            "it@.example",
            "it@contoso.",
            "a b@c.d",
            "a@b@c.d",
            "a@b..c",
            "<a@b.c>",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn email_lists_accept_commas_and_semicolons_and_name_the_bad_one() {
        assert_eq!(parse_email_list("a@b.c, d@e.f;g@h.i").map(|v| v.len()), Ok(3));
        assert_eq!(parse_email_list("  ").map(|v| v.len()), Ok(0));
        let error = parse_email_list("a@b.c, nope").expect_err("nope is not an address");
        assert!(error.contains("nope"));
    }

    #[test]
    fn amounts_are_non_negative_with_at_most_two_decimals() {
        assert_eq!(parse_amount(" 1500 "), Some("1500".into()));
        assert_eq!(parse_amount("1500.5"), Some("1500.5".into()));
        assert_eq!(parse_amount("0.25"), Some("0.25".into()));
        for bad in ["", "-1", "1.234", "1,5", "abc", "1.", ".5", "1e3", "9999999999999"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        let cases = [
            ("Contoso", "Contoso"),
            ("=1+1", "'=1+1"),
            ("+cmd", "'+cmd"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\0x", "'\0x"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=a,b", "\"'=a,b\""),
            ("two\nlines", "\"two\nlines\""),
        ];
        for (value, expected) in cases {
            assert_eq!(csv_cell(value), expected, "{value:?}");
        }
    }
}

/// Property tests: the parsers of untrusted text never panic, and their promises hold for any input.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn no_csv_cell_starts_a_formula(value in any::<String>()) {
            // What a spreadsheet reads from the cell: a quoted cell without its quotes.
            let cell = csv_cell(&value);
            let read = match cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => cell.clone(),
            };
            let first = read.chars().next();
            prop_assert!(!matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\0')), "{cell:?}");
        }

        #[test]
        fn a_quoted_csv_cell_round_trips(value in any::<String>()) {
            let cell = csv_cell(&value);
            if let Some(inner) = cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
                let unquoted = inner.replace("\"\"", "\"");
                let guarded = format!("'{}", value);
                prop_assert!(unquoted == value || unquoted == guarded);
            }
        }

        #[test]
        fn amounts_parse_only_to_plain_decimals(value in any::<String>()) {
            if let Some(amount) = parse_amount(&value) {
                prop_assert!(amount.chars().all(|c| c.is_ascii_digit() || c == '.'));
                prop_assert!(amount.split('.').nth(1).is_none_or(|f| f.len() <= 2));
            }
        }

        #[test]
        fn email_checks_and_lists_never_panic(value in any::<String>()) {
            let _ = is_valid_email(&value);
            let _ = parse_email_list(&value);
        }
    }
}
