//! The web console (`web/`, built into `web/dist`) served beside the API on the same
//! origin: files as built, `index.html` for the console's own routes (client-side
//! routing), long-lived caching for content-hashed assets, and a strict
//! Content-Security-Policy. Paths under `/api/` never reach it: an unknown API path
//! answers the API's JSON 404.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderName};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;

/// Scripts and styles from the console's own origin only (Radix sets inline style
/// attributes, hence `'unsafe-inline'` for styles and nothing else).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

#[derive(Debug, Clone)]
pub struct Console {
    dir: PathBuf,
}

impl Console {
    /// The console built into `dir`; refused unless `dir/index.html` exists, so a
    /// misconfigured path fails at start, not on a person's first visit.
    pub fn new(dir: &Path) -> anyhow::Result<Console> {
        let index = dir.join("index.html");
        anyhow::ensure!(
            index.is_file(),
            "TENTABO_CONSOLE_DIR {}: no index.html (build the console: cd web && npm run build)",
            dir.display()
        );
        Ok(Console {
            dir: dir.to_owned(),
        })
    }

    /// Answers a request no API route matched.
    pub async fn serve(&self, req: Request) -> Response {
        let path = req.uri().path();
        if !matches!(*req.method(), Method::GET | Method::HEAD)
            || path.starts_with("/api/")
            || path == "/api"
        {
            return ApiError::NotFound.into_response();
        }
        // Built assets carry a content hash in their names: cache them for good. A
        // missing asset is a 404, never the index page (a stale page would otherwise
        // get HTML for a script).
        let asset = path.starts_with("/assets/");
        let result = if asset {
            ServeDir::new(&self.dir).try_call(req).await
        } else {
            ServeDir::new(&self.dir)
                .fallback(ServeFile::new(self.dir.join("index.html")))
                .try_call(req)
                .await
        };
        let mut res = match result {
            Ok(res) => res.map(Body::new),
            Err(e) => {
                tracing::error!(error = %e, "console file unreadable");
                return ApiError::NotFound.into_response();
            }
        };
        if res.status().as_u16() == 404 {
            return ApiError::NotFound.into_response();
        }
        let headers = res.headers_mut();
        let cache = if asset {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        headers.insert(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        );
        res
    }
}
