//! Login, tokens, refresh rotation, logout, rate limits and refusals, over real HTTP.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::{DEMO_PASSWORD, JWT_SECRET, TestApp};
use base64::Engine;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use support::{TestDb, TestRedis};

const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";

async fn error_code(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query("SELECT count(*) AS n FROM audit_logs WHERE action = $1")
        .bind::<Text, _>(action)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

#[tokio::test]
async fn login_returns_the_token_shape_and_me_answers() {
    let app = TestApp::seeded().await;
    let res = app.login_response(ADMIN, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    let token = body["access_token"].as_str().unwrap();

    let me: Value = app
        .get_as(token, "/api/v1/auth/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], ADMIN);
    assert_eq!(me["role"], "admin");
    assert!(me.get("password_hash").is_none());
    assert_eq!(audit_count(&app, "login_succeeded").await, 1);
}

#[tokio::test]
async fn the_email_is_case_and_space_insensitive() {
    let app = TestApp::seeded().await;
    assert_eq!(
        app.login_response("  SuperAdmin@SalesCommand.com ", DEMO_PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_401() {
    let app = TestApp::seeded().await;
    assert_eq!(
        error_code(app.login_response(ADMIN, "wrong-password").await).await,
        (401, "invalid_credentials".into())
    );
    assert_eq!(
        error_code(
            app.login_response("nobody@example.com", DEMO_PASSWORD)
                .await
        )
        .await,
        (401, "invalid_credentials".into())
    );
    assert_eq!(audit_count(&app, "login_failed").await, 2);
}

#[tokio::test]
async fn bad_login_bodies_get_clear_errors() {
    let app = TestApp::seeded().await;
    let url = app.url("/api/v1/auth/login");
    let raw = |body: &'static str, ct: &'static str| {
        app.client
            .post(&url)
            .header("content-type", ct)
            .body(body)
            .send()
    };

    assert_eq!(
        error_code(raw("{\"email\": ", "application/json").await.unwrap()).await,
        (400, "malformed_json".into())
    );
    assert_eq!(
        error_code(
            raw("email=a", "application/x-www-form-urlencoded")
                .await
                .unwrap()
        )
        .await,
        (415, "unsupported_media_type".into())
    );
    let (status, code) = error_code(
        raw(r#"{"email":"a@b.co"}"#, "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "validation_failed"));
    // Unknown fields are refused rather than ignored.
    let res = raw(
        r#"{"email":"a@b.co","password":"x","role":"admin"}"#,
        "application/json",
    )
    .await
    .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(
        body["error"]["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown field"),
        "{body}"
    );

    let res = app
        .client
        .post(&url)
        .json(&json!({ "email": " ", "password": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["details"]["fields"]["email"],
        json!(["required"])
    );
    assert_eq!(
        body["error"]["details"]["fields"]["password"],
        json!(["required"])
    );
    // Not an email, and no directory to ask: it identifies nobody (the same 401).
    let res = app
        .client
        .post(&url)
        .json(&json!({ "email": "not-an-email", "password": "whatever-it-is" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_credentials");
}

fn forge(claims: Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_none_expired_and_missing_tokens_are_refused() {
    let app = TestApp::seeded().await;
    let token = app.token(ADMIN).await;
    let claims = claims_of(&token);

    let res = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_code(res).await, (401, "missing_token".into()));

    let forged = forge(claims.clone(), b"another-secret-that-is-long-enough-xx");
    assert_eq!(
        error_code(app.get_as(&forged, "/api/v1/auth/me").await).await,
        (401, "invalid_token".into())
    );

    let header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let none = format!("{header}.{}.", token.split('.').nth(1).unwrap());
    assert_eq!(
        error_code(app.get_as(&none, "/api/v1/auth/me").await).await,
        (401, "invalid_token".into())
    );

    let mut expired = claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 10);
    let expired = forge(expired, JWT_SECRET.as_bytes());
    assert_eq!(
        error_code(app.get_as(&expired, "/api/v1/auth/me").await).await,
        (401, "token_expired".into())
    );

    // A well-signed token whose role claim was changed still acts with the stored role.
    let mut escalated = claims_of(&app.token(PARTNER).await);
    escalated["role"] = json!("admin");
    let escalated = forge(escalated, JWT_SECRET.as_bytes());
    assert_eq!(
        app.get_as(&escalated, "/api/v1/distributors")
            .await
            .status(),
        403
    );

    assert_eq!(
        error_code(app.get_as("garbage", "/api/v1/auth/me").await).await,
        (401, "invalid_token".into())
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let app = TestApp::seeded().await;
    let first: Value = app
        .login_response(ADMIN, DEMO_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let refresh = |t: Value| {
        let t = t.as_str().unwrap().to_owned();
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/auth/refresh"))
                .json(&json!({ "refresh_token": t }))
                .send()
                .await
                .unwrap()
        }
    };

    let res = refresh(first["refresh_token"].clone()).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(
        app.get_as(second["access_token"].as_str().unwrap(), "/api/v1/auth/me")
            .await
            .status(),
        200
    );

    // The rotated token comes back: it leaked. The whole session dies.
    assert_eq!(
        error_code(refresh(first["refresh_token"].clone()).await).await,
        (401, "refresh_token_reused".into())
    );
    assert_eq!(
        error_code(refresh(second["refresh_token"].clone()).await).await,
        (401, "session_revoked".into())
    );
    assert_eq!(
        error_code(
            app.get_as(second["access_token"].as_str().unwrap(), "/api/v1/auth/me")
                .await
        )
        .await,
        (401, "session_revoked".into())
    );
    assert_eq!(audit_count(&app, "refresh_token_reused").await, 1);

    assert_eq!(
        error_code(refresh(json!("never-issued")).await).await,
        (401, "invalid_token".into())
    );
}

#[tokio::test]
async fn logout_ends_the_session_and_its_access_tokens() {
    let app = TestApp::seeded().await;
    let tokens: Value = app
        .login_response(PARTNER, DEMO_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({ "refresh_token": tokens["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        error_code(app.get_as(access, "/api/v1/auth/me").await).await,
        (401, "session_revoked".into())
    );
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": tokens["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (401, "session_revoked".into()));
    // Other sessions of the same user live on.
    let other = app.token(PARTNER).await;
    assert_eq!(app.get_as(&other, "/api/v1/auth/me").await.status(), 200);
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_its_tokens_stop_working() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let partner = app.token(PARTNER).await;
    let id = app.id_of("users", "email", PARTNER).await;
    let res = app
        .send_as(
            reqwest::Method::PATCH,
            &admin,
            &format!("/api/v1/users/{id}"),
            Some(json!({ "is_active": false })),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        error_code(app.get_as(&partner, "/api/v1/auth/me").await).await,
        (403, "account_disabled".into())
    );
    assert_eq!(
        error_code(app.login_response(PARTNER, DEMO_PASSWORD).await).await,
        (403, "account_disabled".into())
    );
    // With a wrong password, a disabled account looks like any failure.
    assert_eq!(
        error_code(app.login_response(PARTNER, "wrong-password").await).await,
        (401, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn a_disabled_organisation_locks_its_users_out() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let partner = app.token(PARTNER).await;
    let acme = app.id_of("partners", "name", "Acme Partner").await;
    let res = app
        .send_as(
            reqwest::Method::PATCH,
            &admin,
            &format!("/api/v1/partners/{acme}"),
            Some(json!({ "is_active": false })),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        error_code(app.get_as(&partner, "/api/v1/auth/me").await).await,
        (403, "account_disabled".into())
    );
    assert_eq!(
        error_code(app.login_response(PARTNER, DEMO_PASSWORD).await).await,
        (403, "account_disabled".into())
    );
}

async fn limited_app(max_failures: u64, max_per_ip: u64) -> TestApp {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let mut cfg = app::config(&db.url, &redis.url, &redis.namespace);
    cfg.auth.login_max_failures = max_failures;
    cfg.auth.login_max_per_ip = max_per_ip;
    let app = TestApp::spawn_with(db, redis, cfg).await;
    app.seed().await;
    app
}

#[tokio::test]
async fn failed_logins_per_account_are_rate_limited() {
    let app = limited_app(3, 1_000).await;
    for _ in 0..3 {
        assert_eq!(
            app.login_response(ADMIN, "wrong-password").await.status(),
            401
        );
    }
    let res = app.login_response(ADMIN, DEMO_PASSWORD).await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(res).await, (429, "rate_limited".into()));
    // Other accounts are unaffected.
    assert_eq!(
        app.login_response(PARTNER, DEMO_PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn a_successful_login_resets_the_account_counter() {
    let app = limited_app(3, 1_000).await;
    for _ in 0..2 {
        assert_eq!(
            app.login_response(ADMIN, "wrong-password").await.status(),
            401
        );
    }
    assert_eq!(app.login_response(ADMIN, DEMO_PASSWORD).await.status(), 200);
    for _ in 0..2 {
        assert_eq!(
            app.login_response(ADMIN, "wrong-password").await.status(),
            401
        );
    }
    assert_eq!(app.login_response(ADMIN, DEMO_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn attempts_per_client_address_are_rate_limited() {
    let app = limited_app(1_000, 4).await;
    for email in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ] {
        assert_eq!(
            app.login_response(email, "whatever-password")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        error_code(app.login_response(ADMIN, DEMO_PASSWORD).await).await,
        (429, "rate_limited".into())
    );
}

#[tokio::test]
async fn errors_speak_french_when_asked() {
    let app = TestApp::seeded().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("accept-language", "fr-FR,fr;q=0.9,en;q=0.5")
        .json(&json!({ "email": ADMIN, "password": "wrong-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-language"], "fr");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_credentials");
    assert_eq!(
        body["error"]["message"],
        "Adresse e-mail ou mot de passe incorrect"
    );

    let body: Value = app
        .client
        .get(app.url("/nowhere"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"]["message"], "Ressource introuvable");
    let body: Value = app
        .client
        .get(app.url("/nowhere"))
        .header("accept-language", "en-GB")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"]["message"], "Resource not found");
}
