//! Single sign-on against a real OpenID provider (npm `oidc-provider`, certified),
//! driven by a real HTTP client that follows redirects with a cookie jar: the whole
//! authorization code flow (PKCE, state, nonce) logs users in with the role their claim
//! maps to; a tampered state, a wrong nonce, a wrong audience, an expired token, an
//! unknown key, `alg: none` and a replayed one-time code are each refused; after the
//! provider rotates its keys the next login works.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/oidc.rs"]
mod oidc;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use oidc::OidcPeer;
use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";
const CALLBACK: &str = "/api/v1/auth/sso/oidc/callback";

struct Sso {
    app: TestApp,
    peer: OidcPeer,
    admin: String,
}

async fn setup(extra: Value) -> Sso {
    let app = TestApp::seeded().await;
    let peer = OidcPeer::start(&app.url(CALLBACK));
    let admin = app.token(ADMIN).await;
    let mut configuration = json!({
        "label": "Test IdP",
        "issuer": peer.issuer(),
        "client_id": oidc::CLIENT_ID,
        "public_url": app.url(""),
        "role_claim": "roles",
        "role_mappings": [
            { "group": "Tentabo.Admin", "role": "admin" },
            { "group": "Tentabo.PartnerSales", "role": "partner", "organisation": "Acme Partner" },
        ],
        "timeout_seconds": 5,
    });
    for (k, v) in extra.as_object().unwrap() {
        configuration[k] = v.clone();
    }
    let (status, body) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/auth/oidc",
            Some(json!({ "configuration": configuration, "credentials": { "client_secret": oidc::CLIENT_SECRET } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/oidc/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    Sso { app, peer, admin }
}

/// A browser: a cookie jar, following redirects until it reaches `stop_at` (a path
/// prefix of Tentabo's), where it hands over the redirect it was given.
fn browser(stop_at: &'static str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::custom(move |attempt| {
            if attempt.url().path().starts_with(stop_at) {
                attempt.stop()
            } else if attempt.previous().len() > 15 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .unwrap()
}

/// Starts a login and fills the provider's form; answers the redirect that ended the
/// browsing (at `stop_at`) as its `Location`.
async fn sign_in(s: &Sso, client: &reqwest::Client, user: &str, password: &str) -> String {
    let form = client
        .get(s.app.url("/api/v1/auth/sso/oidc/start?return_to=/leads"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200, "the provider's login form");
    assert!(
        form.url().path().starts_with("/interaction/"),
        "{}",
        form.url()
    );
    let action = format!("{}/login", form.url().as_str().trim_end_matches('/'));
    let page = form.text().await.unwrap();
    assert!(page.contains("name=\"password\""), "{page}");
    let done = client
        .post(action)
        .form(&[("login", user), ("password", password)])
        .send()
        .await
        .unwrap();
    assert!(
        done.status().is_redirection(),
        "{}: {}",
        done.status(),
        done.text().await.unwrap()
    );
    done.headers()["location"].to_str().unwrap().to_owned()
}

/// The whole flow to the console's landing URL (`/login/sso?code=…` or
/// `/login?sso_error=…`).
async fn landing(s: &Sso, user: &str, password: &str) -> String {
    sign_in(s, &browser("/login"), user, password).await
}

fn param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://console.invalid{url}")).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn exchange(s: &Sso, code: &str) -> (u16, Value) {
    let res = s
        .app
        .client
        .post(s.app.url("/api/v1/auth/sso/exchange"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

#[tokio::test]
async fn the_code_flow_logs_users_in_with_the_role_their_claim_maps_to() {
    let s = setup(json!({})).await;
    let (status, methods) = s
        .app
        .call(&s.admin, Method::GET, "/api/v1/auth/methods", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(methods["sso"][0]["label"], "Test IdP", "{methods}");
    assert_eq!(
        methods["sso"][0]["start_url"],
        "/api/v1/auth/sso/oidc/start"
    );

    let to = landing(&s, "amelie", "amelie-pw").await;
    assert!(to.starts_with("/login/sso?code="), "{to}");
    assert_eq!(param(&to, "return_to").as_deref(), Some("/leads"));
    // Our tokens never travel in a URL: only the one-time code does.
    assert!(!to.contains("access_token") && !to.contains("eyJ"), "{to}");
    let code = param(&to, "code").unwrap();
    let (status, tokens) = exchange(&s, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    let (status, me) = s
        .app
        .call(token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "amelie@tentabo.test");
    assert_eq!(me["full_name"], "Amélie Dupré-Lefèvre");
    assert_eq!(me["role"], "admin");

    // The one-time code is one time.
    let (status, body) = exchange(&s, &code).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_credentials");

    // A second login is the same user (no second row); a partner maps to Acme.
    let code = param(&landing(&s, "amelie", "amelie-pw").await, "code").unwrap();
    assert_eq!(exchange(&s, &code).await.0, 200);
    assert_eq!(
        count(
            &s.app,
            "SELECT count(*) AS n FROM users WHERE email = 'amelie@tentabo.test'"
        )
        .await,
        1
    );
    let code = param(&landing(&s, "alice", "alice-pw").await, "code").unwrap();
    let (_, tokens) = exchange(&s, &code).await;
    let (_, me) = s
        .app
        .call(
            tokens["access_token"].as_str().unwrap(),
            Method::GET,
            "/api/v1/auth/me",
            None,
        )
        .await;
    assert_eq!(me["role"], "partner");
    let acme = s.app.id_of("partners", "name", "Acme Partner").await;
    assert_eq!(me["partner_id"], acme.to_string());

    // An unverified email, and an account with no mapped role, are refused.
    let to = landing(&s, "victor", "victor-pw").await;
    assert_eq!(
        param(&to, "sso_error").as_deref(),
        Some("sso_email_unverified"),
        "{to}"
    );
    let to = landing(&s, "nobody", "nobody-pw").await;
    assert_eq!(
        param(&to, "sso_error").as_deref(),
        Some("account_not_mapped"),
        "{to}"
    );
    assert_eq!(
        count(&s.app, "SELECT count(*) AS n FROM users WHERE email IN ('victor@partner-a.test', 'nobody@elsewhere.test')").await,
        0
    );
    // Password login stays on beside SSO.
    assert_eq!(s.app.login_response(ADMIN, "demo123").await.status(), 200);

    // Deactivated (admins only, audited): back to password login alone.
    let partner = s.app.token("am1@salescommand.com").await;
    let (status, _) = s
        .app
        .call(
            &partner,
            Method::POST,
            "/api/v1/providers/auth/oidc/deactivate",
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = s
        .app
        .call(
            &s.admin,
            Method::POST,
            "/api/v1/providers/auth/oidc/deactivate",
            None,
        )
        .await;
    assert_eq!(
        (status, body["was_active"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (_, body) = s
        .app
        .call(
            &s.admin,
            Method::POST,
            "/api/v1/providers/auth/oidc/deactivate",
            None,
        )
        .await;
    assert_eq!(body["was_active"], false);
    let (_, methods) = s
        .app
        .call(&s.admin, Method::GET, "/api/v1/auth/methods", None)
        .await;
    assert_eq!(methods["sso"], json!([]), "{methods}");
    let res = browser("/login")
        .get(s.app.url("/api/v1/auth/sso/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        count(
            &s.app,
            "SELECT count(*) AS n FROM audit_logs WHERE action = 'provider.deactivated'"
        )
        .await,
        1
    );
    let (status, _) = s
        .app
        .call(
            &s.admin,
            Method::POST,
            "/api/v1/providers/auth/nosuch/deactivate",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_verified_email_links_the_existing_account() {
    let s = setup(json!({})).await;
    // A database user with Alice's email exists already (an admin made it).
    let acme = s.app.id_of("partners", "name", "Acme Partner").await;
    let (status, made) = s
        .app
        .call(
            &s.admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "email": "alice@partner-a.test", "full_name": "Alice (local)", "role": "partner",
                         "partner_id": acme, "password": "a-long-enough-password-1" })),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let code = param(&landing(&s, "alice", "alice-pw").await, "code").unwrap();
    let (_, tokens) = exchange(&s, &code).await;
    let (_, me) = s
        .app
        .call(
            tokens["access_token"].as_str().unwrap(),
            Method::GET,
            "/api/v1/auth/me",
            None,
        )
        .await;
    assert_eq!(
        me["id"], made["id"],
        "the SSO login is the existing account"
    );
    assert_eq!(
        count(
            &s.app,
            "SELECT count(*) AS n FROM audit_logs WHERE action = 'account_linked'"
        )
        .await,
        1
    );
    // Its password still works (the break-glass way).
    assert_eq!(
        s.app
            .login_response("alice@partner-a.test", "a-long-enough-password-1")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn tampered_states_and_replayed_callbacks_are_refused() {
    let s = setup(json!({})).await;
    // Browse until the provider sends us back, and hold the callback.
    let client = browser(CALLBACK);
    let back = sign_in(&s, &client, "amelie", "amelie-pw").await;
    assert!(back.starts_with(&s.app.url(CALLBACK)), "{back}");
    let state = param(back.trim_start_matches(&s.app.url("")), "state").unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let call = |url: String| {
        let c = no_redirects.clone();
        async move {
            let res = c.get(url).send().await.unwrap();
            assert_eq!(res.status(), 303);
            res.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    // A tampered state: refused, and the real one is not used up by it.
    let mut flipped = state.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = back.replace(&format!("state={state}"), &format!("state={flipped}"));
    let to = call(tampered).await;
    assert_eq!(
        param(&to, "sso_error").as_deref(),
        Some("sso_state_invalid"),
        "{to}"
    );
    let to = call(back.replace(&format!("state={state}"), "state=")).await;
    assert_eq!(
        param(&to, "sso_error").as_deref(),
        Some("sso_state_invalid"),
        "{to}"
    );
    // The genuine callback works once; replayed, it is refused.
    let to = call(back.clone()).await;
    assert!(to.starts_with("/login/sso?code="), "{to}");
    let to = call(back).await;
    assert_eq!(
        param(&to, "sso_error").as_deref(),
        Some("sso_state_invalid"),
        "{to}"
    );
    // Each refusal is audited.
    assert!(
        count(&s.app, "SELECT count(*) AS n FROM audit_logs WHERE action = 'login_failed' AND details->>'reason' = 'sso_state_invalid'").await
            >= 3
    );
}

#[tokio::test]
async fn corrupted_id_tokens_are_refused_and_a_key_rotation_is_followed() {
    let s = setup(json!({})).await;
    for mode in [
        "wrong_nonce",
        "wrong_aud",
        "expired",
        "unknown_kid",
        "alg_none",
        "wrong_iss",
        "future_iat",
    ] {
        s.peer.tamper(mode).await;
        let to = landing(&s, "amelie", "amelie-pw").await;
        assert_eq!(
            param(&to, "sso_error").as_deref(),
            Some("sso_token_refused"),
            "{mode}: {to}"
        );
    }
    assert_eq!(
        count(
            &s.app,
            "SELECT count(*) AS n FROM users WHERE email = 'amelie@tentabo.test'"
        )
        .await,
        0,
        "no refused token made a user"
    );
    // An untampered login works after all that.
    let to = landing(&s, "amelie", "amelie-pw").await;
    assert!(to.starts_with("/login/sso?code="), "{to}");

    // The provider rotates its keys: the next token's kid is unknown to the cached
    // JWKS, which is read again, and the login works.
    let kid = s.peer.rotate().await;
    assert!(!kid.is_empty());
    let to = landing(&s, "amelie", "amelie-pw").await;
    assert!(to.starts_with("/login/sso?code="), "after rotation: {to}");
    assert_eq!(exchange(&s, &param(&to, "code").unwrap()).await.0, 200);
}

#[tokio::test]
async fn sso_endpoints_refuse_what_is_not_active_or_malformed() {
    let app = TestApp::seeded().await;
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    // No SSO provider active.
    let res = client
        .get(app.url("/api/v1/auth/sso/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = client
        .get(app.url("/api/v1/auth/sso/oidc/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?sso_error=sso_not_active");
    // Exchange: an unknown code, an empty one, unknown fields.
    let post = |body: Value| {
        let c = app.client.clone();
        let url = app.url("/api/v1/auth/sso/exchange");
        async move {
            let r = c.post(url).json(&body).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(post(json!({ "code": "never-issued" })).await.0, 401);
    assert_eq!(post(json!({ "code": " " })).await.0, 422);
    assert_eq!(post(json!({ "code": "x", "extra": 1 })).await.0, 422);
    // A configuration that cannot work is refused field by field.
    let admin = app.token(ADMIN).await;
    let (status, body) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/auth/oidc",
            Some(json!({ "configuration": { "issuer": "not a url", "client_id": "c", "public_url": "not a url either",
                "allowed_algs": ["none"], "role_mappings": [{ "group": "g", "role": "distributor" }] },
                "credentials": { "client_secret": "s" } })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let fields = body["error"]["details"]["fields"].to_string();
    for f in [
        "configuration.issuer",
        "configuration.public_url",
        "configuration.allowed_algs.0",
        "configuration.role_mappings.0.organisation",
    ] {
        assert!(fields.contains(f), "{f} not in {fields}");
    }
}
