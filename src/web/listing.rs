//! What every list page shares: a sort chosen from an allow-list, keyset pagination cursors,
//! links that keep the other query parameters, and CSV export.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::domain::validation::csv_cell;

pub use crate::paging::{Cursor, PAGE_SIZE, Page, Sort};

/// Longest search text a list accepts.
pub const SEARCH_MAX_CHARS: usize = 120;

/// A list's search text, trimmed; longer than [`SEARCH_MAX_CHARS`] is a 400 rather than a search
/// quietly cut short.
pub fn search_text(raw: &str) -> Result<String, crate::error::AppError> {
    let search = raw.trim();
    if search.chars().count() > SEARCH_MAX_CHARS {
        return Err(crate::error::AppError::BadRequest(format!(
            "Search for at most {SEARCH_MAX_CHARS} characters."
        )));
    }
    Ok(search.to_string())
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

/// One CSV line (with its CRLF), cells escaped against formula injection.
pub fn csv_line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut line = cells.iter().map(|c| csv_cell(c.as_ref())).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn csv_headers(filename: &str) -> [(header::HeaderName, String); 2] {
    let disposition = format!(
        "attachment; filename=\"{}\"",
        filename.replace(['"', '\\', '\r', '\n'], "")
    );
    [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ]
}

/// A CSV download. Cells are escaped against formula injection.
pub fn csv_response(filename: &str, header_row: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Response {
    let mut body = csv_line(header_row);
    for row in rows {
        body.push_str(&csv_line(&row));
    }
    (csv_headers(filename), body).into_response()
}

/// A CSV download whose lines (made with [`csv_line`]) are produced while it is sent: for exports
/// too large to hold in memory at once.
pub fn csv_stream_response(filename: &str, body: Body) -> Response {
    (csv_headers(filename), body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

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
