//! Keyset pagination: `?limit=&cursor=` answered with `{items, next_cursor}`.

use chrono::NaiveDateTime;
use concerto_domain::ErrorCode;
use concerto_domain::error::DomainError;

use crate::Error;

/// The time of a cursor, with every digit the store kept: SQLite keeps a time as written (to the
/// nanosecond, for a session's start given by a client), and a cursor cut to microseconds would
/// skip the rows of its own instant.
pub(crate) fn cursor_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

/// The time of a cursor written by [`cursor_time`].
pub(crate) fn parse_cursor_time(s: &str) -> Result<NaiveDateTime, Error> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|_| DomainError::invalid("cursor", ErrorCode::InvalidCursor, "this cursor was not issued by this list").into())
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Opaque cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Which page to read: at most `limit` rows after the position the cursor names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Number of rows, already bounded by the caller (1–200).
    pub limit: i64,
    /// The sort key and id of the last row of the previous page.
    pub after: Option<(String, String)>,
}

impl PageRequest {
    /// The first page of `limit` rows.
    pub fn first(limit: i64) -> Self {
        Self { limit, after: None }
    }

    /// Reads a cursor produced by [`Page::from_rows`]; `None` when it is not one of ours.
    pub fn with_cursor(limit: i64, cursor: Option<&str>) -> Option<Self> {
        let after = match cursor {
            None => None,
            Some(c) => {
                let bytes = hex_decode(c)?;
                let text = String::from_utf8(bytes).ok()?;
                let (key, id) = text.split_once('\n')?;
                Some((key.to_owned(), id.to_owned()))
            }
        };
        Some(Self { limit, after })
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows sorted by `(key, id)`.
    pub fn from_rows(mut rows: Vec<T>, req: &PageRequest, key: impl Fn(&T) -> (String, String)) -> Self {
        let limit = usize::try_from(req.limit).unwrap_or(0);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| {
                let (k, id) = key(r);
                hex_encode(format!("{k}\n{id}").as_bytes())
            })
        } else {
            None
        };
        Self { items: rows, next_cursor }
    }

    /// The same page with each row converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 2048 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_last_page() {
        let req = PageRequest::first(2);
        let rows = vec![("a", "1"), ("b", "2"), ("c", "3")];
        let page = Page::from_rows(rows, &req, |r| (r.0.to_owned(), r.1.to_owned()));
        assert_eq!(page.items.len(), 2);
        let cursor = page.next_cursor.clone().unwrap_or_default();
        let next = PageRequest::with_cursor(2, Some(&cursor));
        assert_eq!(next.and_then(|n| n.after), Some(("b".to_owned(), "2".to_owned())));
        let last = Page::from_rows(vec![("c", "3")], &req, |r| (r.0.to_owned(), r.1.to_owned()));
        assert_eq!(last.next_cursor, None);
        assert!(PageRequest::with_cursor(2, Some("zz")).is_none());
    }
}
