//! Every role on every organisation and user endpoint, over real HTTP, against the demo
//! data: Demo Distribution with Acme and Beta attached, Gamma unattached.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;

use app::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";
const RESTRICTED: &str = "restricted@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";
const DISTRIBUTOR: &str = "distributor@salescommand.com";
const FULFILLER: &str = "fulfiller@salescommand.com";
const ROLES: [&str; 5] = [ADMIN, RESTRICTED, PARTNER, DISTRIBUTOR, FULFILLER];

async fn names(res: reqwest::Response, field: &str) -> Result<BTreeSet<String>, u16> {
    if res.status() != 200 {
        return Err(res.status().as_u16());
    }
    let body: Value = res.json().await.unwrap();
    Ok(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect())
}

/// What a list shows, or the status it answers instead.
type Visible = Result<BTreeSet<String>, u16>;

fn set(items: &[&str]) -> Visible {
    Ok(items.iter().map(|s| (*s).to_owned()).collect())
}

#[tokio::test]
async fn lists_show_exactly_the_callers_scope() {
    let app = TestApp::seeded().await;
    let all_partners = set(&["Acme Partner", "Beta Partner", "Gamma Partner"]);
    let all_users = set(&[
        ADMIN,
        RESTRICTED,
        PARTNER,
        "am2@salescommand.com",
        "am3@salescommand.com",
        DISTRIBUTOR,
        FULFILLER,
    ]);
    let expected: [(&str, Visible, Visible, Visible); 5] = [
        (
            ADMIN,
            all_partners.clone(),
            set(&["Demo Distribution"]),
            all_users.clone(),
        ),
        (
            RESTRICTED,
            all_partners.clone(),
            set(&["Demo Distribution"]),
            all_users.clone(),
        ),
        (PARTNER, set(&["Acme Partner"]), Err(403), set(&[PARTNER])),
        (
            DISTRIBUTOR,
            set(&["Acme Partner", "Beta Partner"]),
            set(&["Demo Distribution"]),
            set(&[DISTRIBUTOR, PARTNER, "am2@salescommand.com"]),
        ),
        (FULFILLER, Err(403), Err(403), Err(403)),
    ];
    for (who, partners, distributors, users) in expected {
        let t = app.token(who).await;
        assert_eq!(
            names(app.get_as(&t, "/api/v1/partners").await, "name").await,
            partners,
            "{who} partners"
        );
        assert_eq!(
            names(app.get_as(&t, "/api/v1/distributors").await, "name").await,
            distributors,
            "{who} distributors"
        );
        assert_eq!(
            names(app.get_as(&t, "/api/v1/users?limit=200").await, "email").await,
            users,
            "{who} users"
        );
    }
}

#[tokio::test]
async fn a_resource_outside_the_scope_is_404_never_its_content() {
    let app = TestApp::seeded().await;
    let acme = app.id_of("partners", "name", "Acme Partner").await;
    let beta = app.id_of("partners", "name", "Beta Partner").await;
    let gamma = app.id_of("partners", "name", "Gamma Partner").await;
    let dist = app.id_of("distributors", "name", "Demo Distribution").await;
    let am2 = app.id_of("users", "email", "am2@salescommand.com").await;
    let am3 = app.id_of("users", "email", "am3@salescommand.com").await;

    // (who, path, expected status)
    let cases: Vec<(&str, String, u16)> = vec![
        (ADMIN, format!("/api/v1/partners/{gamma}"), 200),
        (RESTRICTED, format!("/api/v1/partners/{gamma}"), 200),
        (PARTNER, format!("/api/v1/partners/{acme}"), 200),
        (PARTNER, format!("/api/v1/partners/{beta}"), 404),
        (PARTNER, format!("/api/v1/partners/{gamma}"), 404),
        (PARTNER, format!("/api/v1/users/{am2}"), 404),
        (PARTNER, format!("/api/v1/distributors/{dist}"), 403),
        (DISTRIBUTOR, format!("/api/v1/partners/{beta}"), 200),
        (DISTRIBUTOR, format!("/api/v1/partners/{gamma}"), 404),
        (DISTRIBUTOR, format!("/api/v1/users/{am2}"), 200),
        (DISTRIBUTOR, format!("/api/v1/users/{am3}"), 404),
        (DISTRIBUTOR, format!("/api/v1/distributors/{dist}"), 200),
        (FULFILLER, format!("/api/v1/partners/{acme}"), 403),
        (FULFILLER, format!("/api/v1/users/{am2}"), 403),
        (
            ADMIN,
            format!("/api/v1/partners/{}", uuid::Uuid::new_v4()),
            404,
        ),
    ];
    for (who, path, status) in cases {
        let t = app.token(who).await;
        let res = app.get_as(&t, &path).await;
        assert_eq!(res.status().as_u16(), status, "{who} GET {path}");
        if status == 404 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "not_found");
            assert!(body.get("name").is_none() && body.get("email").is_none());
        }
    }
}

#[tokio::test]
async fn only_admins_manage_organisations_and_users() {
    let app = TestApp::seeded().await;
    let acme = app.id_of("partners", "name", "Acme Partner").await;
    let gamma = app.id_of("partners", "name", "Gamma Partner").await;
    let dist = app.id_of("distributors", "name", "Demo Distribution").await;
    let am2 = app.id_of("users", "email", "am2@salescommand.com").await;

    for (i, who) in ROLES.iter().enumerate() {
        let t = app.token(who).await;
        let admin = *who == ADMIN;
        let ok = |status: u16, expected_ok: u16| {
            if admin {
                assert_eq!(status, expected_ok, "{who}")
            } else {
                assert_eq!(status, 403, "{who}")
            }
        };
        let calls: Vec<(Method, String, Option<Value>, u16)> = vec![
            (
                Method::POST,
                "/api/v1/partners".into(),
                Some(json!({ "name": format!("New Partner {i}") })),
                201,
            ),
            (
                Method::POST,
                "/api/v1/distributors".into(),
                Some(json!({ "name": format!("New Distributor {i}") })),
                201,
            ),
            (
                Method::PATCH,
                format!("/api/v1/partners/{acme}"),
                Some(json!({ "name": "Acme Partner" })),
                200,
            ),
            (
                Method::PATCH,
                format!("/api/v1/distributors/{dist}"),
                Some(json!({ "name": "Demo Distribution" })),
                200,
            ),
            (
                Method::PUT,
                format!("/api/v1/distributors/{dist}/partners/{gamma}"),
                None,
                204,
            ),
            (
                Method::DELETE,
                format!("/api/v1/distributors/{dist}/partners/{gamma}"),
                None,
                204,
            ),
            (
                Method::POST,
                "/api/v1/users".into(),
                Some(
                    json!({ "email": format!("new{i}@example.com"), "full_name": "New", "password": "long-enough-pw", "role": "fulfiller" }),
                ),
                201,
            ),
            (
                Method::PATCH,
                format!("/api/v1/users/{am2}"),
                Some(json!({ "full_name": "Bruno P." })),
                200,
            ),
        ];
        for (method, path, body, expected) in calls {
            ok(
                app.send_as(method, &t, &path, body).await.status().as_u16(),
                expected,
            );
        }
    }
}

#[tokio::test]
async fn a_distributor_sees_attached_partners_only_and_follows_attach_and_detach() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let dist_token = app.token(DISTRIBUTOR).await;
    let dist = app.id_of("distributors", "name", "Demo Distribution").await;
    let gamma = app.id_of("partners", "name", "Gamma Partner").await;
    let attached = |t: String| {
        let app = &app;
        async move {
            names(
                app.get_as(&t, &format!("/api/v1/distributors/{dist}/partners"))
                    .await,
                "name",
            )
            .await
        }
    };
    assert_eq!(
        attached(dist_token.clone()).await,
        set(&["Acme Partner", "Beta Partner"])
    );
    assert_eq!(
        app.get_as(&dist_token, &format!("/api/v1/partners/{gamma}"))
            .await
            .status(),
        404
    );

    assert_eq!(
        app.send_as(
            Method::PUT,
            &admin,
            &format!("/api/v1/distributors/{dist}/partners/{gamma}"),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        attached(dist_token.clone()).await,
        set(&["Acme Partner", "Beta Partner", "Gamma Partner"])
    );
    assert_eq!(
        app.get_as(&dist_token, &format!("/api/v1/partners/{gamma}"))
            .await
            .status(),
        200
    );
    let users = names(app.get_as(&dist_token, "/api/v1/users").await, "email")
        .await
        .unwrap();
    assert!(
        users.contains("am3@salescommand.com"),
        "attached partner's users become visible"
    );

    assert_eq!(
        app.send_as(
            Method::DELETE,
            &admin,
            &format!("/api/v1/distributors/{dist}/partners/{gamma}"),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        app.get_as(&dist_token, &format!("/api/v1/partners/{gamma}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.send_as(
            Method::DELETE,
            &admin,
            &format!("/api/v1/distributors/{dist}/partners/{gamma}"),
            None
        )
        .await
        .status(),
        404
    );

    let partner = app.token(PARTNER).await;
    assert_eq!(
        app.get_as(&partner, &format!("/api/v1/distributors/{dist}/partners"))
            .await
            .status(),
        403
    );
}
