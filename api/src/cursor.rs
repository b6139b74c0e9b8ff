//! Cursors a client cannot forge or reuse elsewhere. The domain pages by keyset and
//! hands out its keyset as text; at the edge that text is sealed with an HMAC over the
//! request it answers — method, path and every query parameter but `cursor` and
//! `limit` (so the sort and the filters) — and a cursor is opened only for that same
//! request. A forged, truncated or tampered cursor, or one brought to another sort,
//! filter or list, answers 422 `invalid_cursor` before any handler reads it.
//!
//! The key is derived from the token-signing secret, so every API process of one
//! installation opens the cursors of the others.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tentabo_workflows::error::FieldErrors;

use crate::error::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the tag kept in a cursor (128 bits).
const TAG_LEN: usize = 16;

/// The key cursors are sealed with.
#[derive(Clone)]
pub struct CursorKey(Arc<[u8; 32]>);

impl CursorKey {
    /// Derived from the installation's token-signing secret, under its own label.
    pub fn derive(secret: &[u8]) -> CursorKey {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"tentabo/cursor/v1");
        CursorKey(Arc::new(mac.finalize().into_bytes().into()))
    }

    fn tag(&self, scope: &str, raw: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.0.as_slice()).expect("any key length");
        mac.update(scope.as_bytes());
        mac.update(b"\n");
        mac.update(raw.as_bytes());
        mac
    }

    /// `raw` sealed for the request described by `scope`.
    pub fn seal(&self, scope: &str, raw: &str) -> String {
        let tag = self.tag(scope, raw).finalize().into_bytes();
        format!("{raw}.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]))
    }

    /// The raw keyset of a cursor sealed for `scope`; `None` for anything else.
    pub fn open(&self, scope: &str, cursor: &str) -> Option<String> {
        let (raw, tag) = cursor.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.tag(scope, raw).verify_truncated_left(&tag).ok()?;
        (tag.len() == TAG_LEN).then(|| raw.to_owned())
    }
}

/// What a request's cursor is bound to — its method, path and query parameters other
/// than `cursor` and `limit`, sorted — and the cursor it carries, from one reading of
/// the query.
fn scope_and_cursor(method: &str, uri: &Uri) -> (String, Option<String>) {
    let mut cursor = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "cursor" if cursor.is_none() => cursor = Some(v.into_owned()),
            "cursor" => {}
            "limit" => {}
            _ => pairs.push((k.into_owned(), v.into_owned())),
        }
    }
    pairs.sort();
    let mut s = format!("{method} {}", uri.path());
    for (k, v) in pairs {
        s.push('\n');
        s.push_str(&k);
        s.push('=');
        s.push_str(&v);
    }
    (s, cursor)
}

#[derive(Clone)]
struct Binding {
    key: CursorKey,
    scope: String,
}

tokio::task_local! {
    static BINDING: Binding;
}

/// Opens the request's `cursor` (or refuses it) and lets the lists the handler answers
/// seal theirs for the same request.
pub async fn guard(key: CursorKey, mut req: Request, next: Next) -> Response {
    let (scope, sealed) = scope_and_cursor(req.method().as_str(), req.uri());
    if let Some(sealed) = sealed {
        let Some(raw) = key.open(&scope, &sealed) else {
            return ApiError::from(FieldErrors::single("cursor", "invalid_cursor")).into_response();
        };
        match with_cursor(req.uri(), &raw) {
            Some(uri) => *req.uri_mut() = uri,
            None => return ApiError::BadRequest("unparsable address".into()).into_response(),
        }
    }
    BINDING.scope(Binding { key, scope }, next.run(req)).await
}

/// The URI with its `cursor` parameter replaced by the opened keyset.
fn with_cursor(uri: &Uri, raw: &str) -> Option<Uri> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if k == "cursor" {
            query.append_pair(&k, raw);
        } else {
            query.append_pair(&k, &v);
        }
    }
    format!("{}?{}", uri.path(), query.finish()).parse().ok()
}

/// A list's next keyset, sealed for the request being answered. Outside a request
/// (never in the API's handlers) it stays unsealed, and no request would open it.
pub fn seal(raw: Option<String>) -> Option<String> {
    let raw = raw?;
    Some(
        BINDING
            .try_with(|b| b.key.seal(&b.scope, &raw))
            .unwrap_or(raw),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap_or_default()
    }

    fn scope(method: &str, uri: &Uri) -> String {
        scope_and_cursor(method, uri).0
    }

    #[test]
    fn a_sealed_cursor_opens_only_for_the_request_it_was_sealed_for() {
        let key = CursorKey::derive(b"secret");
        let leads = scope("GET", &uri("/api/v1/leads?sort=title&state=new&limit=5"));
        let sealed = key.seal(&leads, "eyJrIjoiYSJ9");
        assert_eq!(key.open(&leads, &sealed).as_deref(), Some("eyJrIjoiYSJ9"));
        // The page size may change between pages; the parameter order does not matter.
        let same = scope("GET", &uri("/api/v1/leads?limit=50&state=new&sort=title"));
        assert!(key.open(&same, &sealed).is_some());
        for other in [
            "/api/v1/leads?sort=-title&state=new",
            "/api/v1/leads?sort=title",
            "/api/v1/orders?sort=title&state=new",
        ] {
            assert!(
                key.open(&scope("GET", &uri(other)), &sealed).is_none(),
                "{other}"
            );
        }
        // Tampered keysets, truncated tags, another installation's key.
        assert!(key.open(&leads, &sealed.replacen('e', "f", 1)).is_none());
        assert!(key.open(&leads, &sealed[..sealed.len() - 2]).is_none());
        assert!(key.open(&leads, "eyJrIjoiYSJ9").is_none());
        assert!(key.open(&leads, "eyJrIjoiYSJ9.").is_none());
        assert!(CursorKey::derive(b"other").open(&leads, &sealed).is_none());
    }

    #[test]
    fn the_opened_keyset_replaces_the_cursor_parameter_only() {
        let u = with_cursor(&uri("/api/v1/leads?q=a+b&cursor=x.y&limit=2"), "RAW").unwrap();
        assert_eq!(u.path(), "/api/v1/leads");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(u.query().unwrap().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("q".into(), "a b".into()),
                ("cursor".into(), "RAW".into()),
                ("limit".into(), "2".into())
            ]
        );
    }
}
