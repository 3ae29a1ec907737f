//! Reading form fields into typed values, collecting a message per bad field. A handler checks
//! every field, then either saves (no errors) or re-renders the form with the input and messages
//! (HTTP 422): nothing is saved unless all is valid.

use chrono::NaiveDate;

use crate::domain::validation::is_valid_email;
use crate::error::FieldErrors;

#[derive(Debug, Default)]
pub struct FormCheck {
    pub errors: FieldErrors,
}

impl FormCheck {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Records a message for `field` (the first message for a field wins).
    pub fn error(&mut self, field: &'static str, message: impl Into<String>) {
        self.errors.entry(field).or_insert_with(|| message.into());
    }

    /// Trimmed text of at most `max` characters; `required` refuses an empty value.
    pub fn text(&mut self, field: &'static str, value: &str, required: bool, max: usize) -> String {
        let value = value.trim();
        if required && value.is_empty() {
            self.error(field, "This field is required.");
        } else if value.chars().count() > max {
            self.error(field, format!("Use at most {max} characters."));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.error(field, "Remove the control characters.");
        }
        value.to_string()
    }

    /// An email address, or empty when not `required`.
    pub fn email(&mut self, field: &'static str, value: &str, required: bool) -> String {
        let value = self.text(field, value, required, 254);
        if !value.is_empty() && !is_valid_email(&value) {
            self.error(field, "Enter an email address such as name@example.com.");
        }
        value
    }

    /// A whole number in `min..=max`, or `None` for an empty field.
    pub fn optional_number(&mut self, field: &'static str, value: &str, min: i64, max: i64) -> Option<i64> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        match value.parse::<i64>() {
            Ok(n) if n < min => {
                self.error(field, format!("Enter {min} or more."));
                None
            }
            Ok(n) if n > max => {
                self.error(field, format!("Enter {max} or less."));
                None
            }
            Ok(n) => Some(n),
            Err(_) => {
                self.error(field, "Enter a whole number.");
                None
            }
        }
    }

    /// A whole number in `min..=max` that must be given.
    pub fn number(&mut self, field: &'static str, value: &str, min: i64, max: i64) -> i64 {
        if value.trim().is_empty() {
            self.error(field, "This field is required.");
            return 0;
        }
        self.optional_number(field, value, min, max).unwrap_or(0)
    }

    /// A date written as YYYY-MM-DD (what `<input type=date>` sends), or `None` for empty.
    pub fn optional_date(&mut self, field: &'static str, value: &str) -> Option<NaiveDate> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                self.error(field, "Enter a date as YYYY-MM-DD.");
                None
            }
        }
    }

    pub fn date(&mut self, field: &'static str, value: &str) -> Option<NaiveDate> {
        if value.trim().is_empty() {
            self.error(field, "This field is required.");
            return None;
        }
        self.optional_date(field, value)
    }

    /// One of `allowed` (a select or radio group); anything else is refused.
    pub fn choice<'a>(&mut self, field: &'static str, value: &str, allowed: &[&'a str]) -> &'a str {
        match allowed.iter().find(|a| **a == value) {
            Some(found) => found,
            None => {
                self.error(field, "Choose one of the options.");
                allowed.first().copied().unwrap_or_default()
            }
        }
    }

    /// A checkbox: present (any value) means on.
    pub fn checkbox(value: &Option<String>) -> bool {
        value.is_some()
    }
}

/// A form body read as its pairs, for forms where a field repeats (one checkbox per row).
pub struct RepeatedForm {
    pairs: Vec<(String, String)>,
}

impl RepeatedForm {
    pub fn parse(body: &[u8]) -> Result<Self, crate::error::AppError> {
        let pairs = serde_urlencoded::from_bytes(body)
            .map_err(|_| crate::error::AppError::BadRequest("The form could not be read.".into()))?;
        Ok(RepeatedForm { pairs })
    }

    /// The first value of `name`, or empty.
    pub fn field(&self, name: &str) -> String {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The distinct values of `name` as `parse` reads them, in the order sent, at most `max` of
    /// them. A value `parse` refuses is a 400 saying `invalid`; more than `max` is a 400 too,
    /// found before any more work is done on a body stuffed with values.
    pub fn distinct<T: Ord + Clone>(
        &self,
        name: &str,
        max: usize,
        parse: impl Fn(&str) -> Option<T>,
        invalid: &str,
    ) -> Result<Vec<T>, crate::error::AppError> {
        use crate::error::AppError;
        let mut seen = std::collections::BTreeSet::new();
        let mut values = Vec::new();
        for (_, raw) in self.pairs.iter().filter(|(k, _)| k == name) {
            let value = parse(raw).ok_or_else(|| AppError::BadRequest(invalid.to_string()))?;
            if seen.insert(value.clone()) {
                values.push(value);
                if values.len() > max {
                    return Err(AppError::BadRequest(format!("Choose at most {max} at a time.")));
                }
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_read_once_each_in_order_and_capped() {
        let form = RepeatedForm::parse(b"c=3&c=1&c=3&x=9&c=2").expect("a form");
        let ids = form.distinct("c", 3, |v| v.parse::<i64>().ok(), "bad").expect("three");
        assert_eq!(ids, vec![3, 1, 2]);
        assert!(
            form.distinct("c", 2, |v| v.parse::<i64>().ok(), "bad").is_err(),
            "over the cap"
        );
        let bad = RepeatedForm::parse(b"c=1&c=x").expect("a form");
        assert!(bad.distinct("c", 9, |v| v.parse::<i64>().ok(), "bad").is_err());
        let many: String = (0..100_000).map(|i| format!("c={}&", i % 7)).collect();
        let repeats = RepeatedForm::parse(many.as_bytes()).expect("a form");
        assert_eq!(
            repeats
                .distinct("c", 10, |v| v.parse::<i64>().ok(), "bad")
                .map(|v| v.len())
                .ok(),
            Some(7)
        );
    }

    #[test]
    fn required_text_is_trimmed_and_bounded() {
        let mut check = FormCheck::new();
        assert_eq!(check.text("name", "  Contoso ", true, 10), "Contoso");
        check.text("empty", "   ", true, 10);
        check.text("long", "abcdefghijk", false, 10);
        check.text("control", "a\u{7}b", false, 10);
        assert_eq!(check.errors.len(), 3);
        assert_eq!(check.errors["empty"], "This field is required.");
        assert_eq!(check.errors["long"], "Use at most 10 characters.");
    }

    #[test]
    fn numbers_are_whole_and_within_bounds() {
        let mut check = FormCheck::new();
        assert_eq!(check.optional_number("a", "", 0, 10), None);
        assert_eq!(check.optional_number("b", " 7 ", 0, 10), Some(7));
        assert_eq!(check.optional_number("c", "-1", 0, 10), None);
        assert_eq!(check.optional_number("d", "11", 0, 10), None);
        assert_eq!(check.optional_number("e", "1.5", 0, 10), None);
        assert_eq!(check.optional_number("f", "ten", 0, 10), None);
        assert_eq!(check.errors["c"], "Enter 0 or more.");
        assert_eq!(check.errors["d"], "Enter 10 or less.");
        assert_eq!(check.errors["e"], "Enter a whole number.");
        assert_eq!(check.errors.len(), 4);
    }

    #[test]
    fn dates_are_iso_days() {
        let mut check = FormCheck::new();
        assert_eq!(
            check.optional_date("a", "2026-06-16"),
            NaiveDate::from_ymd_opt(2026, 6, 16)
        );
        assert_eq!(check.optional_date("b", "16/06/2026"), None);
        assert_eq!(check.optional_date("c", "2026-02-30"), None);
        assert_eq!(check.date("d", ""), None);
        assert_eq!(check.errors.len(), 3);
    }

    #[test]
    fn choices_outside_the_list_are_refused() {
        let mut check = FormCheck::new();
        assert_eq!(check.choice("a", "weekly", &["daily", "weekly"]), "weekly");
        check.choice("b", "hourly", &["daily", "weekly"]);
        assert_eq!(check.errors.len(), 1);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn form_fields_never_panic_and_numbers_stay_in_bounds(value in any::<String>()) {
            let mut check = FormCheck::new();
            let _ = check.text("t", &value, true, 50);
            let _ = check.email("e", &value, false);
            let _ = check.optional_date("d", &value);
            if let Some(n) = check.optional_number("n", &value, -5, 5) {
                prop_assert!((-5..=5).contains(&n));
            }
        }
    }
}
