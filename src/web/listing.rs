//! What every list page shares: a sort chosen from an allow-list, keyset pagination cursors,
//! links that keep the other query parameters, and CSV export.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::validation::csv_cell;
use crate::error::AppError;

/// Rows on one page of a list.
pub const PAGE_SIZE: i64 = 50;

/// A column to sort by, from the page's allow-list, and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: &'static str,
    pub descending: bool,
}

impl Sort {
    /// Reads `sort` and `dir` from the query; an unknown column is refused rather than guessed.
    pub fn parse(
        sort: Option<&str>,
        dir: Option<&str>,
        allowed: &[&'static str],
        default: Sort,
    ) -> Result<Sort, AppError> {
        let key = match sort.filter(|s| !s.is_empty()) {
            None => return Ok(default),
            Some(value) => allowed.iter().find(|k| **k == value).copied().ok_or_else(|| {
                AppError::BadRequest(format!("The list cannot be sorted by \u{201c}{value}\u{201d}."))
            })?,
        };
        let descending = match dir {
            None | Some("") | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(AppError::BadRequest("The sort direction must be asc or desc.".into())),
        };
        Ok(Sort { key, descending })
    }

    pub fn dir(&self) -> &'static str {
        if self.descending { "desc" } else { "asc" }
    }
}

/// A keyset cursor: the sort key and id of the last row of the previous page, opaque to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\u{1f}{}", self.id, self.key))
    }

    /// `None` for no cursor; a cursor that was tampered with is refused.
    pub fn decode(value: Option<&str>) -> Result<Option<Cursor>, AppError> {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let bad = || AppError::BadRequest("The page link is not valid; start again from the first page.".into());
        let bytes = URL_SAFE_NO_PAD.decode(value).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (id, key) = text.split_once('\u{1f}').ok_or_else(bad)?;
        Ok(Some(Cursor {
            key: key.to_string(),
            id: id.parse().map_err(|_| bad())?,
        }))
    }
}

/// `path?query` with `changes` applied to the current query parameters (an empty value removes it).
pub fn link(path: &str, current: &[(&str, String)], changes: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = current
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    params.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    params.retain(|(_, v)| !v.is_empty());
    if params.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
    }
}

/// A CSV download. Cells are escaped against formula injection.
pub fn csv_response(filename: &str, header_row: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Response {
    let mut body = String::new();
    body.push_str(&header_row.iter().map(|h| csv_cell(h)).collect::<Vec<_>>().join(","));
    body.push_str("\r\n");
    for row in rows {
        body.push_str(&row.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        body.push_str("\r\n");
    }
    let disposition = format!(
        "attachment; filename=\"{}\"",
        filename.replace(['"', '\\', '\r', '\n'], "")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Sort = Sort {
        key: "name",
        descending: false,
    };

    #[test]
    fn only_allowed_sort_columns_are_accepted() {
        assert_eq!(Sort::parse(None, None, &["name", "email"], DEFAULT).ok(), Some(DEFAULT));
        assert_eq!(
            Sort::parse(Some("email"), Some("desc"), &["name", "email"], DEFAULT).ok(),
            Some(Sort {
                key: "email",
                descending: true
            })
        );
        assert!(Sort::parse(Some("password_hash"), None, &["name"], DEFAULT).is_err());
        assert!(Sort::parse(Some("name"), Some("sideways"), &["name"], DEFAULT).is_err());
    }

    #[test]
    fn cursors_round_trip_and_tampering_is_refused() {
        let cursor = Cursor {
            key: "Contoso, Ltd.".into(),
            id: 42,
        };
        assert_eq!(Cursor::decode(Some(&cursor.encode())).ok().flatten(), Some(cursor));
        assert_eq!(Cursor::decode(None).ok().flatten(), None);
        assert!(Cursor::decode(Some("%%%")).is_err());
        assert!(Cursor::decode(Some(&URL_SAFE_NO_PAD.encode("x\u{1f}y"))).is_err());
    }

    #[test]
    fn links_keep_other_parameters_and_drop_empty_ones() {
        let current = [("q", "con".to_string()), ("after", "abc".to_string())];
        assert_eq!(
            link("/customers", &current, &[("sort", "name"), ("after", "")]),
            "/customers?q=con&sort=name"
        );
        assert_eq!(link("/customers", &[], &[]), "/customers");
    }
}
