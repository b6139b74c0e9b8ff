//! Cursor pagination: an opaque cursor holds the last row's sort key and id, and the
//! next page starts strictly after it (keyset, never offset), so rows inserted or
//! edited while a client pages neither repeat nor vanish.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::WorkflowError;
use crate::error::FieldErrors;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key of the last row returned (as text).
    pub k: String,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        encode(self)
    }

    pub fn decode(raw: &str) -> Result<Cursor, WorkflowError> {
        decode(raw)
    }
}

/// Any keyset as an opaque cursor (base64 of its JSON).
pub fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// A cursor back to its keyset; anything else is a 422 on `cursor`.
pub fn decode<K: DeserializeOwned>(raw: &str) -> Result<K, WorkflowError> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| FieldErrors::single("cursor", "invalid_cursor"))
}

/// A page of rows and the cursor of the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` were fetched with `limit + 1`: the extra row only says there is more.
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Page<T> {
        let more = rows.len() as i64 > limit;
        if more {
            rows.truncate(usize::try_from(limit).unwrap_or(0));
        }
        let next_cursor = if more {
            rows.last().map(|r| encode(&key(r)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Checks a requested page size.
pub fn limit(requested: Option<i64>) -> Result<i64, WorkflowError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(FieldErrors::single("limit", "out_of_range")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            k: "Acme".into(),
            id: Uuid::nil(),
        };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        assert!(Cursor::decode("not-a-cursor!").is_err());
    }

    #[test]
    fn pages_know_when_there_is_more() {
        let p = Page::from_rows(vec![1, 2, 3], 2, |n| Cursor {
            k: n.to_string(),
            id: Uuid::nil(),
        });
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(
            Cursor::decode(p.next_cursor.as_deref().unwrap_or_default())
                .map(|c| c.k)
                .ok(),
            Some("2".into())
        );
        let last = Page::from_rows(vec![1, 2], 2, |n| Cursor {
            k: n.to_string(),
            id: Uuid::nil(),
        });
        assert_eq!(last.next_cursor, None);
        assert!(limit(Some(0)).is_err() && limit(Some(201)).is_err() && limit(Some(200)).is_ok());
    }
}
