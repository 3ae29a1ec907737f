//! Sorting and keyset pagination of lists: which column, which direction, where the next page
//! starts. Shared by the store (which turns them into SQL) and the pages (which turn them into links).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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

/// One page of rows and the cursor of the next page, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Cuts `rows` (fetched with a limit of `limit + 1`) to `limit`; the extra row, if any,
    /// proves there is a next page, which starts after the last row kept.
    pub fn of(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page { rows, next }
    }
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
    fn a_page_has_a_next_cursor_only_when_more_rows_exist() {
        let page = Page::of(vec![1, 2, 3], 2, |n| Cursor {
            key: n.to_string(),
            id: *n,
        });
        assert_eq!(page.rows, vec![1, 2]);
        assert_eq!(page.next, Some(Cursor { key: "2".into(), id: 2 }));
        let last = Page::of(vec![1, 2], 2, |n| Cursor {
            key: n.to_string(),
            id: *n,
        });
        assert_eq!(last.next, None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_cursor_text_is_refused_or_read_never_a_panic(value in any::<String>()) {
            let _ = Cursor::decode(Some(&value));
        }

        #[test]
        fn cursors_round_trip(key in any::<String>(), id in any::<i64>()) {
            let cursor = Cursor { key, id };
            prop_assert_eq!(Cursor::decode(Some(&cursor.encode())).ok().flatten(), Some(cursor));
        }
    }
}
