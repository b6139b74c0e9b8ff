//! Directory login against a real OpenLDAP `slapd` (seeded tree, memberof overlay,
//! StartTLS and LDAPS with a throw-away CA): users log in by uid or email and get the
//! role and organisation their groups map to; wrong password and unknown user are the
//! same 401; filter-injection inputs find nobody; the directory sync disables the gone;
//! a stopped directory answers 503 to its users while the database admin still logs in.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/ldap.rs"]
mod ldap;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use app::TestApp;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::RunQueryDsl;
use ldap::Slapd;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";

fn configuration(url: &str, extra: Value) -> Value {
    let mut c = json!({
        "url": url,
        "bind_dn": ldap::SERVICE_DN,
        "user_base_dn": ldap::PEOPLE,
        "timeout_seconds": 2,
        "group_mappings": [
            { "group": "tentabo-admins", "role": "admin" },
            { "group": format!("cn=partner-a-sales,{}", ldap::GROUPS), "role": "partner", "organisation": "Acme Partner" },
            { "group": "distrib-x-managers", "role": "distributor", "organisation": "demo distribution" },
        ],
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// Configures the directory (and activates it unless told not to).
async fn configure(app: &TestApp, admin: &str, configuration: Value, activate: bool) -> Value {
    let (status, body) = app
        .call(
            admin,
            Method::PUT,
            "/api/v1/providers/auth/ldap",
            Some(json!({ "configuration": configuration, "credentials": { "bind_password": ldap::SERVICE_PW } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    if !activate {
        return body;
    }
    let (status, body) = app
        .call(
            admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn login(app: &TestApp, login: &str, password: &str) -> (u16, Value) {
    let res = app.login_response(login, password).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn me(app: &TestApp, token: &str) -> (u16, Value) {
    app.call(token, Method::GET, "/api/v1/auth/me", None).await
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
async fn directory_users_log_in_with_their_mapped_role_and_organisation() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    configure(&app, &admin, configuration(&slapd.url(), json!({})), true).await;

    let (status, methods) = app
        .call(&admin, Method::GET, "/api/v1/auth/methods", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(methods["directory"], true, "{methods}");

    // By uid: a partner of Acme, created on first login.
    let (status, body) = login(&app, "jdupont", "jdupont-pw").await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, who) = me(&app, &token).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["email"], "jean.dupont@partner-a.test");
    assert_eq!(who["full_name"], "Jean Dupont");
    assert_eq!(who["role"], "partner");
    let acme = app.id_of("partners", "name", "Acme Partner").await;
    assert_eq!(who["partner_id"], acme.to_string(), "{who}");
    // A partner may create leads: the policy applies to directory users as to others.
    assert!(
        who["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "lead:create")
    );

    // By email, the same user (no second row); the audit says who was provisioned.
    let (status, body) = login(&app, "Jean.Dupont@partner-a.test", "jdupont-pw").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM users WHERE email = 'jean.dupont@partner-a.test' AND auth_provider = 'ldap'").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_logs WHERE action = 'user_provisioned'"
        )
        .await,
        1
    );

    // A distributor manager (organisation named without regard to case) and an admin.
    let (status, body) = login(&app, "mmartin", "mmartin-pw").await;
    assert_eq!(status, 200, "{body}");
    let (_, who) = me(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(who["role"], "distributor");
    let (status, body) = login(&app, "admin.ldap", "admin.ldap-pw").await;
    assert_eq!(status, 200, "{body}");
    let (_, who) = me(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(who["role"], "admin");

    // The user with an apostrophe in the uid and filter characters in the name.
    let (status, body) = login(&app, "o'brien", "tricky-pw").await;
    assert_eq!(status, 200, "{body}");
    let (_, who) = me(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(who["full_name"], "Seán O'Brien, Jr. (Sales) *");
    assert_eq!(who["email"], "sean.obrien@partner-a.test");

    // In no mapped group: the password is right, access is refused (403), nothing made.
    let (status, body) = login(&app, "nogroup", "nogroup-pw").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "account_not_mapped");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM users WHERE email = 'nora@partner-a.test'"
        )
        .await,
        0
    );

    // The database admin still logs in with a password while the directory is active.
    let (status, _) = login(&app, ADMIN, "demo123").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_401_and_injections_find_nobody() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    configure(&app, &admin, configuration(&slapd.url(), json!({})), true).await;

    let (s1, wrong) = login(&app, "jdupont", "not-the-password").await;
    let (s2, unknown) = login(&app, "no-such-user", "not-the-password").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown, "the two failures must not be told apart");
    assert_eq!(wrong["error"]["code"], "invalid_credentials");

    // Both cost the same directory round trips: service bind, search, a bind with the
    // password (the unknown login binds a DN that cannot exist). slapd's log shows
    // one refused user bind per attempt (result err=49).
    let refused_binds = slapd
        .log()
        .lines()
        .filter(|l| l.contains("RESULT tag=97 err=49"))
        .count();
    assert_eq!(refused_binds, 2, "{}", slapd.log());

    // Timing, printed (a test asserts no deadline): median of 9 attempts each.
    fn median(samples: &mut [Duration]) -> Duration {
        samples.sort();
        samples[samples.len() / 2]
    }
    let (mut w, mut u) = (Vec::new(), Vec::new());
    // Two failures per real user stay under the per-login limiter (5).
    let users = ["mmartin", "admin.ldap", "o'brien", "nogroup"];
    for i in 0..8 {
        let t = Instant::now();
        assert_eq!(login(&app, &format!("ghost{i}"), "x-pw").await.0, 401);
        u.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(login(&app, users[i % 4], "wrong-pw").await.0, 401);
        w.push(t.elapsed());
    }
    println!(
        "LDAP login failure median: wrong password {:?}, unknown user {:?}",
        median(&mut w),
        median(&mut u)
    );

    // Filter syntax and a NUL byte are literal characters of the login: nobody is
    // found (a `*` unescaped would match every user, the `)(` ones would widen the
    // filter), nobody is created, and the audit does not echo the input.
    let before = count(&app, "SELECT count(*) AS n FROM users").await;
    for hostile in [
        "*",
        "*)(uid=*))(|(uid=*",
        "admin)(|(password=*)",
        "jdupont)",
    ] {
        for password in ["jdupont-pw", "*"] {
            let (status, body) = login(&app, hostile, password).await;
            assert_eq!(status, 401, "{hostile:?}: {body}");
            assert_eq!(body["error"]["code"], "invalid_credentials");
        }
    }
    // A NUL byte never reaches the directory: the API refuses control characters in
    // any input (the filter would escape it as \00: see the unit test in
    // `providers::ldap`).
    for hostile in ["jdupont\0", "*\0*"] {
        let (status, body) = login(&app, hostile, "jdupont-pw").await;
        assert_eq!(status, 422, "{hostile:?}: {body}");
        assert_eq!(
            body["error"]["details"]["fields"]["email"][0],
            "control_character"
        );
    }
    assert_eq!(count(&app, "SELECT count(*) AS n FROM users").await, before);
    #[derive(diesel::QueryableByName)]
    struct Detail {
        #[diesel(sql_type = Text)]
        details: String,
    }
    let mut conn = app.db.conn().await;
    let rows: Vec<Detail> = diesel::sql_query(
        "SELECT details::text AS details FROM audit_logs WHERE action = 'login_failed'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    for r in &rows {
        assert!(!r.details.contains("uid=*"), "{}", r.details);
        assert!(!r.details.contains("password=*"), "{}", r.details);
        assert!(!r.details.contains("\\u0000"), "{}", r.details);
        assert!(!r.details.contains("jdupont-pw"), "{}", r.details);
    }
    // slapd received the escaped forms (\2a, \28, \29, \00), never the raw syntax.
    let log = slapd.log().to_lowercase();
    assert!(log.contains("uid=\\2a"), "{log}");
    assert!(
        log.contains("uid=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a"),
        "{log}"
    );
    assert!(
        !log.contains("(uid=*)"),
        "a raw `*` reached the directory: {log}"
    );
    // An empty password is never sent (it would be an anonymous bind, which succeeds).
    let (status, _) = login(&app, "jdupont", "").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_sync_disables_users_gone_from_the_directory_and_their_tokens_stop_at_once() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    configure(&app, &admin, configuration(&slapd.url(), json!({})), true).await;

    let (status, body) = login(&app, "leaving", "leaving-pw").await;
    assert_eq!(status, 200, "{body}");
    let leaving = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = login(&app, "jdupont", "jdupont-pw").await;
    assert_eq!(status, 200, "{body}");
    let jdupont = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = login(&app, "mmartin", "mmartin-pw").await;
    assert_eq!(status, 200, "{body}");
    let mmartin = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &leaving).await.0, 200);

    // Léa leaves the directory; Marie's only mapped group is removed.
    slapd.delete(&format!("uid=leaving,{}", ldap::PEOPLE));
    slapd.delete(&format!("cn=distrib-x-managers,{}", ldap::GROUPS));

    // Partners may not run it.
    let (status, _) = app
        .call(
            &jdupont,
            Method::POST,
            "/api/v1/providers/auth/ldap/sync",
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, report) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/sync",
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["checked"], 3, "{report}");
    assert_eq!(report["disabled"], 2, "{report}");

    // Their access tokens stop working at once; the others' do not.
    let (status, body) = me(&app, &leaving).await;
    assert!(status == 401 || status == 403, "{status} {body}");
    let (status, _) = me(&app, &mmartin).await;
    assert!(status == 401 || status == 403, "{status}");
    assert_eq!(me(&app, &jdupont).await.0, 200);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'lea.leaving@partner-a.test' AND s.revoked_at IS NULL").await,
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM audit_logs WHERE action = 'user_disabled' AND details->>'by' = 'directory_sync'").await,
        2
    );
    // She cannot log in again (gone), and a second sync finds nothing more to do.
    assert_eq!(login(&app, "leaving", "leaving-pw").await.0, 401);
    let (_, again) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/sync",
            None,
        )
        .await;
    assert_eq!(again["disabled"], 0, "{again}");
}

#[tokio::test]
async fn a_stopped_directory_answers_503_to_its_users_and_the_database_admin_still_logs_in() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    configure(&app, &admin, configuration(&slapd.url(), json!({})), true).await;
    assert_eq!(login(&app, "jdupont", "jdupont-pw").await.0, 200);

    slapd.stop();
    let (status, body) = login(&app, "jdupont", "jdupont-pw").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "directory_unavailable");
    let (status, body) = login(&app, ADMIN, "demo123").await;
    assert_eq!(status, 200, "{body}");
    // The provider's test reports it offline; the sync answers 503 and changes nothing.
    let (status, test) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/test",
            None,
        )
        .await;
    assert_eq!(status, 200, "{test}");
    assert_eq!(test["ok"], false, "{test}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/sync",
            None,
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM users WHERE auth_provider = 'ldap' AND NOT is_active"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn starttls_and_ldaps_verify_the_server_against_the_configured_ca() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let ca = slapd.ca_pem();

    // StartTLS with the CA: the test passes and users log in.
    configure(
        &app,
        &admin,
        configuration(
            &slapd.url(),
            json!({ "starttls": true, "ca_certificate": ca }),
        ),
        true,
    )
    .await;
    assert_eq!(login(&app, "jdupont", "jdupont-pw").await.0, 200);
    // LDAPS with the CA.
    configure(
        &app,
        &admin,
        configuration(&slapd.ldaps_url(), json!({ "ca_certificate": ca })),
        false,
    )
    .await;
    let (_, test) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/test",
            None,
        )
        .await;
    assert_eq!(test["ok"], true, "{test}");
    // Without it (the system's roots do not know this CA), the connection is refused.
    configure(
        &app,
        &admin,
        configuration(&slapd.ldaps_url(), json!({})),
        false,
    )
    .await;
    let (_, test) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/test",
            None,
        )
        .await;
    assert_eq!(test["ok"], false, "{test}");
    // A configuration that cannot be right is refused field by field, nothing stored.
    let (status, body) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/auth/ldap",
            Some(json!({ "configuration": configuration("http://x.example", json!({
                "starttls": true, "ca_certificate": "not a certificate", "user_filter": "(uid={login}",
                "group_mappings": [{ "group": "g", "role": "partner" }]
            })), "credentials": { "bind_password": "x" } })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let fields = body["error"]["details"]["fields"].to_string();
    for f in [
        "configuration.url",
        "configuration.ca_certificate",
        "configuration.user_filter",
        "configuration.group_mappings.0.organisation",
    ] {
        assert!(fields.contains(f), "{f} not in {fields}");
    }
}

#[tokio::test]
async fn an_admin_tests_a_login_without_creating_anything() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    // Configured, not active: the test-login works on the configuration.
    configure(&app, &admin, configuration(&slapd.url(), json!({})), false).await;
    let (status, r) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/test-login",
            Some(json!({ "login": "jdupont", "password": "jdupont-pw" })),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["role"], "partner");
    assert_eq!(r["entry"]["dn"], format!("uid=jdupont,{}", ldap::PEOPLE));
    assert!(
        r["entry"]["groups"]
            .to_string()
            .contains("cn=partner-a-admins"),
        "{r}"
    );
    let (_, r) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/test-login",
            Some(json!({ "login": "jdupont", "password": "nope" })),
        )
        .await;
    assert_eq!(
        (r["ok"].clone(), r["reason"].clone()),
        (json!(false), json!("invalid_credentials"))
    );
    let (_, r) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/test-login",
            Some(json!({ "login": "nogroup", "password": "nogroup-pw" })),
        )
        .await;
    assert_eq!(r["reason"], "account_not_mapped", "{r}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM users WHERE auth_provider = 'ldap'"
        )
        .await,
        0
    );
    // Not active: logins by user name are not sent to it (nobody by that name here).
    assert_eq!(login(&app, "jdupont", "jdupont-pw").await.0, 401);
    // Sync needs it active.
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/sync",
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    #[derive(diesel::QueryableByName)]
    struct B {
        #[diesel(sql_type = Bool)]
        b: bool,
    }
    let mut conn = app.db.conn().await;
    let stored: B = diesel::sql_query(
        "SELECT (credentials::text NOT LIKE '%svc-secret%') AS b FROM provider_configs WHERE name = 'ldap'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(stored.b, "the bind password is stored sealed");
}

#[tokio::test]
async fn concurrent_first_logins_of_one_user_make_one_user() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    configure(&app, &admin, configuration(&slapd.url(), json!({})), true).await;
    let logins = (0..8).map(|_| login(&app, "jdupont", "jdupont-pw"));
    for (status, body) in futures::future::join_all(logins).await {
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM users WHERE auth_provider = 'ldap'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_logs WHERE action = 'user_provisioned'"
        )
        .await,
        1
    );
}
