//! Organisation and user administration: validation, conflicts, audit rows, pagination.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";

async fn body(res: reqwest::Response) -> (u16, Value) {
    (res.status().as_u16(), res.json().await.unwrap())
}

#[derive(diesel::QueryableByName, Debug)]
struct Audit {
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    details: Value,
}

async fn audits(app: &TestApp, object_id: &str) -> Vec<Audit> {
    let mut conn = app.db.conn().await;
    diesel::sql_query("SELECT action, details FROM audit_logs WHERE object_id = $1 ORDER BY id")
        .bind::<Text, _>(object_id)
        .load(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn organisations_are_validated_and_names_are_unique() {
    let app = TestApp::seeded().await;
    let t = app.token(ADMIN).await;
    let (status, created) = body(
        app.send_as(
            Method::POST,
            &t,
            "/api/v1/partners",
            Some(json!({ "name": "  Delta Partner " })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(created["name"], "Delta Partner");
    assert_eq!(created["is_active"], true);

    let (status, err) = body(
        app.send_as(
            Method::POST,
            &t,
            "/api/v1/partners",
            Some(json!({ "name": "delta partner" })),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("name_taken"))
    );
    let (status, err) = body(
        app.send_as(
            Method::POST,
            &t,
            "/api/v1/partners",
            Some(json!({ "name": "   " })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        err["error"]["details"]["fields"]["name"],
        json!(["required"])
    );
    let (status, _) = body(
        app.send_as(
            Method::POST,
            &t,
            "/api/v1/partners",
            Some(json!({ "name": "X", "is_active": false })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "unknown fields are refused");
    let id = created["id"].as_str().unwrap();
    let (status, err) = body(
        app.send_as(
            Method::PATCH,
            &t,
            &format!("/api/v1/partners/{id}"),
            Some(json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["details"]["fields"]["body"].clone()),
        (422, json!(["empty_patch"]))
    );
    let (status, _) = body(
        app.send_as(
            Method::PATCH,
            &t,
            &format!("/api/v1/partners/{}", uuid::Uuid::new_v4()),
            Some(json!({ "name": "Z" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);

    let (status, disabled) = body(
        app.send_as(
            Method::PATCH,
            &t,
            &format!("/api/v1/partners/{id}"),
            Some(json!({ "is_active": false })),
        )
        .await,
    )
    .await;
    assert_eq!((status, disabled["is_active"].clone()), (200, json!(false)));
    let actions: Vec<String> = audits(&app, id)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, ["partner_created", "partner_disabled"]);
}

#[tokio::test]
async fn users_are_validated_against_their_role_and_organisation() {
    let app = TestApp::seeded().await;
    let t = app.token(ADMIN).await;
    let acme = app.id_of("partners", "name", "Acme Partner").await;
    let post = |b: Value| {
        let (app, t) = (&app, t.clone());
        async move {
            body(
                app.send_as(Method::POST, &t, "/api/v1/users", Some(b))
                    .await,
            )
            .await
        }
    };

    let (status, err) = post(json!({ "email": "p@example.com", "full_name": "P", "password": "long-enough", "role": "partner" })).await;
    assert_eq!(
        (
            status,
            err["error"]["details"]["fields"]["partner_id"].clone()
        ),
        (422, json!(["required_for_role"]))
    );
    let (status, err) = post(json!({ "email": "p@example.com", "full_name": "P", "password": "long-enough", "role": "partner", "partner_id": uuid::Uuid::new_v4() })).await;
    assert_eq!(
        (
            status,
            err["error"]["details"]["fields"]["partner_id"].clone()
        ),
        (422, json!(["not_found"]))
    );
    let (status, err) = post(json!({ "email": "p@example.com", "full_name": "P", "password": "long-enough", "role": "admin", "partner_id": acme })).await;
    assert_eq!(
        (
            status,
            err["error"]["details"]["fields"]["partner_id"].clone()
        ),
        (422, json!(["not_allowed_for_role"]))
    );
    let (status, err) =
        post(json!({ "email": "bad", "full_name": "", "password": "short", "role": "root" })).await;
    assert_eq!(status, 422);
    let fields = &err["error"]["details"]["fields"];
    assert_eq!(
        (fields["email"].clone(), fields["full_name"].clone()),
        (json!(["invalid_email"]), json!(["required"]))
    );
    assert_eq!(
        (fields["password"].clone(), fields["role"].clone()),
        (json!(["too_short"]), json!(["unknown_role"]))
    );

    let (status, user) = post(json!({ "email": "New.User@Example.com", "full_name": "New User", "password": "long-enough", "role": "partner", "partner_id": acme })).await;
    assert_eq!(status, 201);
    assert_eq!(user["email"], "new.user@example.com");
    assert!(user.get("password_hash").is_none());
    let (status, err) =
        post(json!({ "email": "new.user@example.com", "full_name": "Twin", "role": "fulfiller" }))
            .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("email_taken"))
    );

    // The new user can log in with the password the admin set.
    assert_eq!(
        app.login_response("new.user@example.com", "long-enough")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn role_changes_are_audited_and_admins_cannot_lock_themselves_out() {
    let app = TestApp::seeded().await;
    let t = app.token(ADMIN).await;
    let am2 = app.id_of("users", "email", "am2@salescommand.com").await;
    let dist = app.id_of("distributors", "name", "Demo Distribution").await;

    // partner → distributor needs the distributor and drops the partner organisation.
    let (status, err) = body(
        app.send_as(
            Method::PATCH,
            &t,
            &format!("/api/v1/users/{am2}"),
            Some(json!({ "role": "distributor" })),
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            status,
            err["error"]["details"]["fields"]["distributor_id"].clone()
        ),
        (422, json!(["required_for_role"]))
    );
    let (status, user) = body(
        app.send_as(
            Method::PATCH,
            &t,
            &format!("/api/v1/users/{am2}"),
            Some(json!({ "role": "distributor", "distributor_id": dist })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            user["role"].clone(),
            user["partner_id"].clone(),
            user["distributor_id"].clone()
        ),
        (json!("distributor"), Value::Null, json!(dist))
    );

    let log = audits(&app, &am2.to_string()).await;
    let change = log
        .iter()
        .find(|a| a.action == "role_changed")
        .expect("role_changed audited");
    assert_eq!(change.details["from"], "partner");
    assert_eq!(change.details["to"], "distributor");

    let me = app.id_of("users", "email", ADMIN).await;
    let (status, err) = body(
        app.send_as(
            Method::PATCH,
            &t,
            &format!("/api/v1/users/{me}"),
            Some(json!({ "is_active": false })),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("cannot_modify_self"))
    );
    let (status, _) = body(
        app.send_as(
            Method::PATCH,
            &t,
            &format!("/api/v1/users/{me}"),
            Some(json!({ "role": "fulfiller" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn logins_failures_disables_and_attachments_leave_audit_rows() {
    let app = TestApp::seeded().await;
    let t = app.token(ADMIN).await;
    assert_eq!(
        app.login_response("am1@salescommand.com", "wrong-password")
            .await
            .status(),
        401
    );
    let am1 = app.id_of("users", "email", "am1@salescommand.com").await;
    app.send_as(
        Method::PATCH,
        &t,
        &format!("/api/v1/users/{am1}"),
        Some(json!({ "is_active": false })),
    )
    .await;
    let dist = app.id_of("distributors", "name", "Demo Distribution").await;
    let gamma = app.id_of("partners", "name", "Gamma Partner").await;
    app.send_as(
        Method::PUT,
        &t,
        &format!("/api/v1/distributors/{dist}/partners/{gamma}"),
        None,
    )
    .await;
    app.send_as(
        Method::DELETE,
        &t,
        &format!("/api/v1/distributors/{dist}/partners/{gamma}"),
        None,
    )
    .await;

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        request_id: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        details: Value,
    }
    let mut conn = app.db.conn().await;
    let rows: Vec<Row> =
        diesel::sql_query("SELECT action, request_id, details FROM audit_logs ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "login_succeeded",
            "login_failed",
            "user_disabled",
            "partner_attached",
            "partner_detached"
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.request_id.as_deref().is_some_and(|id| id.len() == 36)),
        "every row names its request"
    );
    assert_eq!(rows[1].details["email"], "am1@salescommand.com");
    assert_eq!(rows[1].details["reason"], "invalid_credentials");
    assert_eq!(rows[1].details["client_ip"], "127.0.0.1");
    assert!(
        !rows
            .iter()
            .any(|r| r.details.to_string().contains("wrong-password"))
    );
}

#[tokio::test]
async fn lists_page_by_cursor_filter_and_sort() {
    let app = TestApp::seeded().await;
    let t = app.token(ADMIN).await;
    for i in 0..7 {
        app.send_as(
            Method::POST,
            &t,
            "/api/v1/partners",
            Some(json!({ "name": format!("Zeta {i}") })),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/partners?limit=3&cursor={c}"),
            None => "/api/v1/partners?limit=3".to_owned(),
        };
        let (status, page) = body(app.get_as(&t, &path).await).await;
        assert_eq!(status, 200);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4, "10 partners in pages of 3");
    let mut sorted = seen.clone();
    sorted.sort_by_key(|s| s.to_lowercase());
    assert_eq!(seen, sorted, "sorted by name, nothing repeated or skipped");
    assert_eq!(seen.len(), 10);

    let (_, desc) = body(app.get_as(&t, "/api/v1/partners?sort=-name&limit=1").await).await;
    assert_eq!(desc["items"][0]["name"], "Zeta 6");
    let (_, found) = body(app.get_as(&t, "/api/v1/partners?q=zeta%205").await).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, partners) = body(app.get_as(&t, "/api/v1/users?role=partner").await).await;
    assert_eq!(partners["items"].as_array().unwrap().len(), 3);

    for (path, field) in [
        ("/api/v1/partners?cursor=garbage", "cursor"),
        ("/api/v1/partners?limit=0", "limit"),
        ("/api/v1/partners?sort=secret", "sort"),
        ("/api/v1/users?role=root", "role"),
    ] {
        let (status, err) = body(app.get_as(&t, path).await).await;
        assert_eq!(status, 422, "{path}");
        assert!(
            err["error"]["details"]["fields"][field].is_array(),
            "{path}: {err}"
        );
    }
    let (status, err) = body(app.get_as(&t, "/api/v1/partners?bogus=1").await).await;
    assert_eq!(status, 422, "unknown query parameters are refused: {err}");
    let (status, _) = body(app.get_as(&t, "/api/v1/partners?limit=abc").await).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_wrong_method_is_405_in_the_error_shape() {
    let app = TestApp::seeded().await;
    let res = app
        .client
        .delete(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    let (status, err) = body(res).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}
