//! The console's session cookie. A browser keeps the refresh token in an httpOnly,
//! `SameSite=Strict` cookie scoped to `/api/v1/auth`: scripts never read it, other
//! sites never send it, and a page reload restores the session through
//! `POST /api/v1/auth/refresh`. The access token stays in the page's memory.
//! API clients that ask for no cookie get the refresh token in the body, as before.

use std::time::Duration;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

pub const NAME: &str = "tentabo_refresh";
pub const PATH: &str = "/api/v1/auth";

/// `Set-Cookie` carrying `token` for `max_age`.
pub fn set(token: &str, max_age: Duration, secure: bool) -> HeaderMap {
    let age = cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
    header(
        Cookie::build((NAME, token.to_owned())).max_age(age).into(),
        secure,
    )
}

/// `Set-Cookie` that removes the cookie.
pub fn clear(secure: bool) -> HeaderMap {
    header(
        Cookie::build((NAME, ""))
            .max_age(cookie::time::Duration::ZERO)
            .into(),
        secure,
    )
}

fn header(mut c: Cookie<'static>, secure: bool) -> HeaderMap {
    c.set_path(PATH);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(secure);
    let mut headers = HeaderMap::new();
    // A cookie value is base64url and the attributes are fixed: always a valid header.
    if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
        headers.insert(SET_COOKIE, v);
    }
    headers
}

/// The refresh token of the request's cookie, if it has a non-empty one.
pub fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == NAME && !c.value().trim().is_empty())
        .map(|c| c.value().trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_auth() {
        let h = set("abc-_123", Duration::from_secs(60), true);
        let v = h.get(SET_COOKIE).unwrap().to_str().unwrap();
        for part in [
            "tentabo_refresh=abc-_123",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/api/v1/auth",
            "Max-Age=60",
        ] {
            assert!(v.contains(part), "{v} lacks {part}");
        }
        let plain = set("t", Duration::from_secs(1), false);
        assert!(
            !plain
                .get(SET_COOKIE)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        let gone = clear(true);
        assert!(
            gone.get(SET_COOKIE)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }

    #[test]
    fn reads_the_token_among_other_cookies_and_ignores_empty_ones() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; tentabo_refresh=tok; b=2"),
        );
        assert_eq!(read(&h).as_deref(), Some("tok"));
        let mut empty = HeaderMap::new();
        empty.append(COOKIE, HeaderValue::from_static("tentabo_refresh="));
        assert_eq!(read(&empty), None);
        assert_eq!(read(&HeaderMap::new()), None);
        let mut junk = HeaderMap::new();
        junk.append(COOKIE, HeaderValue::from_static(";;=;tentabo_refresh"));
        assert_eq!(read(&junk), None);
    }
}
