//! No password, hash or token ever reaches the logs. The test captures every log line
//! the application writes (at TRACE, in the production JSON format) while it logs in,
//! refreshes, calls the API, creates a user and fails logins.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use app::{DEMO_PASSWORD, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[tokio::test]
async fn no_password_hash_or_token_is_logged() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(capture.clone())
        .init();

    let app = TestApp::seeded().await;
    let tokens: Value = app
        .login_response("superadmin@salescommand.com", DEMO_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    let rotated: Value = res.json().await.unwrap();
    assert_eq!(app.get_as(&access, "/api/v1/users").await.status(), 200);
    let res = app
        .send_as(Method::POST, &access, "/api/v1/users", Some(json!({
            "email": "logged@example.com", "full_name": "L", "password": "a-new-secret-pw", "role": "fulfiller" })))
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        app.login_response("superadmin@salescommand.com", "guess-secret-pw")
            .await
            .status(),
        401
    );
    // A reused refresh token is logged as an event — without the token.
    assert_eq!(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .json(&json!({ "refresh_token": refresh }))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("login succeeded") && logs.contains("login failed"),
        "the capture saw the application's logs"
    );
    assert!(logs.contains("refresh token reused"));
    let secrets = [
        DEMO_PASSWORD,
        "a-new-secret-pw",
        "guess-secret-pw",
        access.as_str(),
        refresh.as_str(),
        rotated["access_token"].as_str().unwrap(),
        rotated["refresh_token"].as_str().unwrap(),
        "$argon2",
        app::JWT_SECRET,
    ];
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {secret}"
        );
    }
}
