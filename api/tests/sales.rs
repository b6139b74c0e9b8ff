//! Leads, orders and contracts over HTTP: validation, filters, sorting and cursors,
//! notes and their visibility, and every refusal of the transition endpoint
//! (illegal event, stale version, idempotency-key replay and misuse, bad payloads); a
//! lead or note write and its audit row commit together.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    let app = TestApp::seeded().await;
    let mut conn = app.db.conn().await;
    tentabo_workflows::catalogue::seed_demo(&mut conn)
        .await
        .unwrap();
    app
}

fn lead_body(title: &str) -> Value {
    json!({ "title": title, "organization": "Client SA", "contact_name": "Carla",
            "contact_email": "carla@client.test", "value": "1500.50", "currency": "EUR" })
}

async fn new_lead(app: &TestApp, token: &str, title: &str) -> Value {
    let (status, body) = app
        .call(token, Method::POST, "/api/v1/leads", Some(lead_body(title)))
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn a_lead_with_bad_fields_is_refused_with_every_problem_at_once() {
    let app = app().await;
    let admin = app.token("superadmin@salescommand.com").await;
    let (status, body) = app.call(&admin, Method::POST, "/api/v1/leads", Some(json!({
        "title": "  ", "organization": "Org", "contact_name": "", "contact_email": "not-an-email",
        "value": "-3.00", "currency": "euro", "probability": 101
    }))).await;
    assert_eq!(status, 422);
    let fields = &body["error"]["details"]["fields"];
    for f in [
        "title",
        "contact_name",
        "contact_email",
        "value",
        "currency",
        "probability",
    ] {
        assert!(fields.get(f).is_some(), "{f} reported: {body}");
    }
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/leads",
            Some(json!({
                "title": "T", "organization": "O", "contact_name": "N", "contact_email": "a@b.test",
                "partner_id": uuid::Uuid::new_v4()
            })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["details"]["fields"]["partner_id"],
        json!(["unknown_partner"])
    );
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/leads",
            Some(json!({ "title": "T" })),
        )
        .await;
    assert_eq!(status, 422, "missing fields");
    let (status, _) = app.call(&admin, Method::POST, "/api/v1/leads", Some(json!({
        "title": "T", "organization": "O", "contact_name": "N", "contact_email": "a@b.test", "colour": "red"
    }))).await;
    assert_eq!(status, 422, "unknown fields");
    let count = {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = app.db.conn().await;
        diesel::sql_query("SELECT count(*) AS n FROM leads")
            .get_result::<N>(&mut conn)
            .await
            .unwrap()
            .n
    };
    assert_eq!(count, 0, "nothing was written");
}

#[tokio::test]
async fn a_distributor_may_only_name_its_attached_partners() {
    let app = app().await;
    let distributor = app.token("distributor@salescommand.com").await;
    let gamma = app.id_of("partners", "name", "Gamma Partner").await;
    let mut body = lead_body("For Gamma");
    body["partner_id"] = json!(gamma);
    let (status, body) = app
        .call(&distributor, Method::POST, "/api/v1/leads", Some(body))
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["details"]["fields"]["partner_id"],
        json!(["partner_not_attached"])
    );
}

#[tokio::test]
async fn leads_are_edited_filtered_sorted_and_paged() {
    let app = app().await;
    let partner = app.token("am1@salescommand.com").await;
    let mut ids = Vec::new();
    for title in ["Delta", "alpha", "Charlie", "bravo", "Echo"] {
        ids.push(
            new_lead(&app, &partner, title).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (status, edited) = app
        .call(
            &partner,
            Method::PATCH,
            &format!("/api/v1/leads/{}", ids[0]),
            Some(json!({ "probability": 70, "value": null, "source": "fair" })),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["probability"], 70);
    assert_eq!(edited["value"], Value::Null, "null clears");
    assert_eq!(edited["source"], "fair");
    assert_eq!(edited["title"], "Delta", "absent fields stay");
    let (status, body) = app
        .call(
            &partner,
            Method::PATCH,
            &format!("/api/v1/leads/{}", ids[0]),
            Some(json!({ "probability": -1 })),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // Titles sorted case-insensitively, two per page, the cursor chaining the pages.
    let mut titles = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            None => "/api/v1/leads?sort=title&limit=2".to_owned(),
            Some(c) => format!("/api/v1/leads?sort=title&limit=2&cursor={c}"),
        };
        let (status, page) = app.call(&partner, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        for i in page["items"].as_array().unwrap() {
            titles.push(i["title"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(titles, ["alpha", "bravo", "Charlie", "Delta", "Echo"]);

    let (_, contacted) = app
        .call(
            &partner,
            Method::POST,
            &format!("/api/v1/leads/{}/transitions", ids[1]),
            Some(json!({ "event": "contact" })),
        )
        .await;
    assert_eq!(contacted["state"], "contacted");
    let (_, page) = app
        .call(&partner, Method::GET, "/api/v1/leads?state=contacted", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["title"], "alpha");
    let (_, page) = app
        .call(&partner, Method::GET, "/api/v1/leads?q=CHAR", None)
        .await;
    assert_eq!(page["items"][0]["title"], "Charlie");
    let (_, page) = app
        .call(
            &partner,
            Method::GET,
            "/api/v1/leads?sort=-created_at&limit=1",
            None,
        )
        .await;
    assert_eq!(page["items"][0]["title"], "Echo");
    for bad in ["state=open", "sort=value", "limit=0", "cursor=zzz"] {
        let (status, body) = app
            .call(&partner, Method::GET, &format!("/api/v1/leads?{bad}"), None)
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
}

#[tokio::test]
async fn the_transition_endpoint_explains_every_refusal() {
    let app = app().await;
    let partner = app.token("am1@salescommand.com").await;
    let admin = app.token("superadmin@salescommand.com").await;
    let lead = new_lead(&app, &partner, "Refusals").await;
    assert_eq!(lead["allowed_events"], json!(["contact", "lose"]));
    let id = lead["id"].as_str().unwrap();
    let path = format!("/api/v1/leads/{id}/transitions");

    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            &path,
            Some(json!({ "event": "win" })),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "illegal_transition");
    assert_eq!(body["error"]["details"]["state"], "new");
    assert_eq!(
        body["error"]["details"]["allowed_events"],
        json!(["contact", "lose"])
    );

    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            &path,
            Some(json!({ "event": "contact", "expected_version": 7 })),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "stale_version");
    assert_eq!(body["error"]["details"]["version"], 1);

    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            &path,
            Some(json!({ "event": "explode" })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["details"]["fields"]["event"],
        json!(["unknown_event"])
    );
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &path,
            Some(json!({ "event": "contact", "payload": [1, 2] })),
        )
        .await;
    assert_eq!(status, 422, "payload must be an object");
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &format!("/api/v1/leads/{}/transitions", uuid::Uuid::new_v4()),
            Some(json!({ "event": "contact" })),
        )
        .await;
    assert_eq!(status, 404);

    // A lost lead can be reopened by an admin only.
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &path,
            Some(json!({ "event": "lose" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            &path,
            Some(json!({ "event": "reopen" })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["details"]["allowed_events"].clone()),
        (409, json!([]))
    );
    let (status, body) = app
        .call(&admin, Method::GET, &format!("/api/v1/leads/{id}"), None)
        .await;
    assert_eq!(
        (status, body["allowed_events"].clone()),
        (200, json!(["reopen"]))
    );
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            &path,
            Some(json!({ "event": "reopen" })),
        )
        .await;
    assert_eq!((status, body["state"].clone()), (200, json!("new")));

    // French messages for the new codes.
    let res = app
        .client
        .post(app.url(&path))
        .bearer_auth(&partner)
        .header("accept-language", "fr")
        .json(&json!({ "event": "win" }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Cet événement n'est pas permis dans l'état actuel"
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_request() {
    let app = app().await;
    let partner = app.token("am1@salescommand.com").await;
    let lead = new_lead(&app, &partner, "Idempotent").await;
    let path = app.url(&format!(
        "/api/v1/leads/{}/transitions",
        lead["id"].as_str().unwrap()
    ));
    let send = |body: Value, key: &'static str| {
        let req = app
            .client
            .post(&path)
            .bearer_auth(&partner)
            .header("idempotency-key", key)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let replayed = res.headers().get("idempotent-replayed").is_some();
            (
                res.status().as_u16(),
                replayed,
                res.json::<Value>().await.unwrap(),
            )
        }
    };
    let (s1, r1, first) = send(json!({ "event": "contact" }), "k-1").await;
    let (s2, r2, second) = send(json!({ "event": "contact" }), "k-1").await;
    assert_eq!((s1, r1), (200, false));
    assert_eq!((s2, r2), (200, true), "replayed, not applied again");
    assert_eq!(first, second);
    assert_eq!(second["version"], 2);
    let (status, _, body) = send(json!({ "event": "lose" }), "k-1").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
    let (status, _, body) = send(json!({ "event": "qualify" }), "k-2").await;
    assert_eq!((status, body["state"].clone()), (200, json!("qualified")));
    let (_, history) = app
        .call(
            &partner,
            Method::GET,
            &format!("/api/v1/leads/{}/history", lead["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        2,
        "contact once, qualify once"
    );

    // Another user's identical key is theirs alone.
    let admin = app.token("superadmin@salescommand.com").await;
    let res = app
        .client
        .post(&path)
        .bearer_auth(&admin)
        .header("idempotency-key", "k-1")
        .json(&json!({ "event": "propose" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let long = "k".repeat(300);
    let res = app
        .client
        .post(&path)
        .bearer_auth(&admin)
        .header("idempotency-key", long)
        .json(&json!({ "event": "negotiate" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "an over-long key is refused");
}

#[tokio::test]
async fn orders_are_priced_validated_and_editable_until_sent() {
    let app = app().await;
    let partner = app.token("am1@salescommand.com").await;
    let admin = app.token("superadmin@salescommand.com").await;
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            "/api/v1/orders",
            Some(json!({ "lines": [] })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            "/api/v1/orders",
            Some(json!({ "lines": [
        { "product_id": uuid::Uuid::new_v4(), "duration_months": 12, "quantity": 1 },
        { "product_id": storage, "duration_months": 7, "quantity": 0 }
    ] })),
        )
        .await;
    assert_eq!(status, 422);
    let fields = &body["error"]["details"]["fields"];
    assert!(
        fields["lines[0].product_id"].is_array()
            && fields["lines[1].duration_months"].is_array()
            && fields["lines[1].quantity"].is_array(),
        "{body}"
    );

    // The same basket priced by the preview and by the order agree.
    let basket =
        json!({ "lines": [{ "product_id": storage, "duration_months": 36, "quantity": 25 }] });
    let (_, preview) = app
        .call(
            &partner,
            Method::POST,
            "/api/v1/quotes/preview",
            Some(basket.clone()),
        )
        .await;
    let (status, order) = app
        .call(&partner, Method::POST, "/api/v1/orders", Some(basket))
        .await;
    assert_eq!(status, 201);
    assert_eq!(order["total"], preview["total"]);
    assert_eq!(
        order["reference"].as_str().unwrap().len(),
        "ORD-000001".len()
    );
    let id = order["id"].as_str().unwrap();

    let (status, edited) = app.call(&partner, Method::PUT, &format!("/api/v1/orders/{id}/lines"), Some(json!({
        "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 5 }], "expected_version": 1
    }))).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["version"], 2);
    assert_ne!(edited["total"], order["total"]);
    let (status, body) = app.call(&partner, Method::PUT, &format!("/api/v1/orders/{id}/lines"), Some(json!({
        "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 6 }], "expected_version": 1
    }))).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("stale_version"))
    );
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &format!("/api/v1/orders/{id}/transitions"),
            Some(json!({ "event": "send" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(
            &partner,
            Method::PUT,
            &format!("/api/v1/orders/{id}/lines"),
            Some(json!({
                "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 6 }]
            })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("order_not_editable"))
    );

    // Filters and sorting.
    let (_, page) = app
        .call(&admin, Method::GET, "/api/v1/orders?state=sent", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = app
        .call(&admin, Method::GET, "/api/v1/orders?state=created", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/orders?sort=-total&limit=5",
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn contracts_refuse_upgrades_without_a_valid_replacement_and_fulfilled_orders_stay() {
    let app = app().await;
    let admin = app.token("superadmin@salescommand.com").await;
    let fulfiller = app.token("fulfiller@salescommand.com").await;
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let (_, order) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/orders",
            Some(json!({
        "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 5 }] })),
        )
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/orders/{id}/transitions");
    for (token, e) in [
        (&admin, "send"),
        (&fulfiller, "start_fulfillment"),
        (&fulfiller, "fulfill"),
    ] {
        let (status, body) = app
            .call(token, Method::POST, &path, Some(json!({ "event": e })))
            .await;
        assert_eq!(status, 200, "{e}: {body}");
    }
    // The worker is not running here: create the contract as its job would.
    {
        let mut conn = app.db.conn().await;
        tentabo_workflows::sales::contracts::activate_for_order(&mut conn, id.parse().unwrap())
            .await
            .unwrap();
    }
    let (_, list) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/contracts?order_id={id}"),
            None,
        )
        .await;
    let contract = &list["items"][0];
    assert_eq!(
        contract["allowed_events"],
        json!(["mark_lost", "upgrade", "downgrade"])
    );
    let cpath = format!(
        "/api/v1/contracts/{}/transitions",
        contract["id"].as_str().unwrap()
    );
    for (payload, code) in [
        (json!({}), "required"),
        (json!({ "order_id": "nope" }), "invalid_uuid"),
        (json!({ "order_id": uuid::Uuid::new_v4() }), "unknown_order"),
        (json!({ "order_id": id }), "same_order"),
    ] {
        let (status, body) = app
            .call(
                &admin,
                Method::POST,
                &cpath,
                Some(json!({ "event": "upgrade", "payload": payload })),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            body["error"]["details"]["fields"]["payload.order_id"],
            json!([code])
        );
    }
    let (status, body) = app
        .call(
            &admin,
            Method::DELETE,
            &format!("/api/v1/orders/{id}"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("still_referenced"))
    );
    let (status, _) = app
        .call(&admin, Method::GET, &format!("/api/v1/orders/{id}"), None)
        .await;
    assert_eq!(status, 200, "the refused delete changed nothing");
}

#[tokio::test]
async fn internal_notes_are_for_staff_only() {
    let app = app().await;
    let partner = app.token("am1@salescommand.com").await;
    let admin = app.token("superadmin@salescommand.com").await;
    let other = app.token("am3@salescommand.com").await;
    let lead = new_lead(&app, &partner, "Notes").await;
    let notes = format!("/api/v1/leads/{}/notes", lead["id"].as_str().unwrap());
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            &notes,
            Some(json!({ "visibility": "internal", "body": "Margin is thin" })),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            &notes,
            Some(json!({ "visibility": "partner_visible", "body": "Call them Monday" })),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            &notes,
            Some(json!({ "visibility": "internal", "body": "sneaky" })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["details"]["fields"]["visibility"],
        json!(["not_allowed"])
    );
    let (status, body) = app
        .call(
            &partner,
            Method::POST,
            &notes,
            Some(json!({ "visibility": "partner_visible", "body": "   " })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["details"]["fields"]["body"].clone()),
        (422, json!(["required"]))
    );
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &notes,
            Some(json!({ "visibility": "partner_visible", "body": "Done" })),
        )
        .await;
    assert_eq!(status, 201);

    let bodies = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, seen) = app.call(&admin, Method::GET, &notes, None).await;
    assert_eq!(
        bodies(&seen),
        ["Margin is thin", "Call them Monday", "Done"]
    );
    let (_, seen) = app.call(&partner, Method::GET, &notes, None).await;
    assert_eq!(bodies(&seen), ["Call them Monday", "Done"]);
    let (status, _) = app.call(&other, Method::GET, &notes, None).await;
    assert_eq!(status, 404, "another partner's lead");
    let (status, _) = app
        .call(
            &other,
            Method::POST,
            &notes,
            Some(json!({ "visibility": "partner_visible", "body": "hi" })),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_openapi_document_describes_the_lifecycle_endpoints() {
    let app = app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/api/v1/leads",
        "/api/v1/leads/{id}",
        "/api/v1/leads/{id}/transitions",
        "/api/v1/leads/{id}/history",
        "/api/v1/leads/{id}/notes",
        "/api/v1/leads/analytics",
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/{id}/lines",
        "/api/v1/orders/{id}/transitions",
        "/api/v1/orders/{id}/reassign",
        "/api/v1/contracts",
        "/api/v1/contracts/{id}/transitions",
        "/api/v1/contracts/{id}/history",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}

#[tokio::test]
async fn demo_sales_data_is_seeded_once_and_scoped_like_any_other() {
    let app = app().await;
    let mut conn = app.db.conn().await;
    assert_eq!(
        tentabo_workflows::sales::seed::seed_demo(&mut conn)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        tentabo_workflows::sales::seed::seed_demo(&mut conn)
            .await
            .unwrap(),
        0
    );
    let partner = app.token("am1@salescommand.com").await;
    let (_, leads) = app.call(&partner, Method::GET, "/api/v1/leads", None).await;
    assert_eq!(
        leads["items"].as_array().unwrap().len(),
        1,
        "am1 sees its own lead only"
    );
    let distributor = app.token("distributor@salescommand.com").await;
    let (_, leads) = app
        .call(&distributor, Method::GET, "/api/v1/leads", None)
        .await;
    assert_eq!(
        leads["items"].as_array().unwrap().len(),
        3,
        "its own and its attached partners'"
    );
    let (_, orders) = app
        .call(&partner, Method::GET, "/api/v1/orders", None)
        .await;
    assert_eq!(
        orders["items"][0]["allowed_events"],
        json!(["send", "cancel"])
    );
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_apply_once_and_replay() {
    let app = app().await;
    let partner = app.token("am1@salescommand.com").await;
    let lead = new_lead(&app, &partner, "Racing").await;
    let url = app.url(&format!(
        "/api/v1/leads/{}/transitions",
        lead["id"].as_str().unwrap()
    ));
    let requests = (0..10).map(|_| {
        let req = app
            .client
            .post(&url)
            .bearer_auth(&partner)
            .header("idempotency-key", "race-1")
            .json(&json!({ "event": "contact" }));
        async move {
            let res = req.send().await.unwrap();
            let replayed = res.headers().get("idempotent-replayed").is_some();
            (res.status().as_u16(), replayed)
        }
    });
    let results = futures::future::join_all(requests).await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    assert_eq!(
        results.iter().filter(|(_, r)| !r).count(),
        1,
        "applied once: {results:?}"
    );
    let (_, history) = app
        .call(
            &partner,
            Method::GET,
            &format!("/api/v1/leads/{}/history", lead["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

/// A write and its audit row commit together: when the audit row cannot be written
/// (a trigger refuses it here), the write is rolled back too — for creating, editing and
/// deleting a lead and adding a note.
#[tokio::test]
async fn a_write_whose_audit_row_fails_is_rolled_back() {
    let app = app().await;
    let admin = app.token("superadmin@salescommand.com").await;
    let lead = new_lead(&app, &admin, "Kept").await;
    let id = lead["id"].as_str().unwrap().to_owned();
    let count = |sql: String| {
        let db = &app.db;
        async move { db.count(&sql).await }
    };
    {
        let mut conn = app.db.conn().await;
        for sql in [
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW \
             EXECUTE FUNCTION refuse_audit()",
        ] {
            diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn)
                .await
                .unwrap();
        }
    }
    let audits_before = count("SELECT count(*) AS n FROM audit_logs".into()).await;
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/leads",
            Some(lead_body("Lost")),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        count("SELECT count(*) AS n FROM leads WHERE title = 'Lost'".into()).await,
        0
    );
    let (status, _) = app
        .call(
            &admin,
            Method::PATCH,
            &format!("/api/v1/leads/{id}"),
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        count(format!(
            "SELECT count(*) AS n FROM leads WHERE id = '{id}' AND title = 'Kept'"
        ))
        .await,
        1
    );
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/leads/{id}/notes"),
            Some(json!({ "visibility": "internal", "body": "Lost too" })),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        count("SELECT count(*) AS n FROM notes WHERE body = 'Lost too'".into()).await,
        0
    );
    let (status, _) = app
        .call(&admin, Method::DELETE, &format!("/api/v1/leads/{id}"), None)
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        count(format!("SELECT count(*) AS n FROM leads WHERE id = '{id}'")).await,
        1
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM audit_logs".into()).await,
        audits_before
    );
}

#[tokio::test]
async fn the_effects_of_a_row_show_how_each_went_with_errors_for_ops_only() {
    let app = app().await;
    let partner = app.token("am1@salescommand.com").await;
    let other = app.token("am2@salescommand.com").await;
    let admin = app.token("superadmin@salescommand.com").await;
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let basket =
        json!({ "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 3 }] });
    let (status, order) = app
        .call(&partner, Method::POST, "/api/v1/orders", Some(basket))
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/orders/{id}/effects");
    let (status, body) = app.call(&partner, Method::GET, &path, None).await;
    assert_eq!(
        (status, body["items"].as_array().unwrap().len()),
        (200, 0),
        "{body}"
    );

    let (status, sent) = app
        .call(
            &partner,
            Method::POST,
            &format!("/api/v1/orders/{id}/transitions"),
            Some(json!({ "event": "send", "expected_version": 1 })),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let (status, body) = app.call(&partner, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["queue"], "billing_request_quote");
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["version"], 2);
    assert_eq!(items[0]["attempts"], 0);

    // A failed attempt: ops read the error, the partner sees only that it failed.
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE outbox SET attempts = 1, last_error = 'billing provider answered 503' \
             WHERE queue = 'billing_request_quote'",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let (_, body) = app.call(&partner, Method::GET, &path, None).await;
    assert_eq!(body["items"][0]["attempts"], 1);
    assert!(body["items"][0]["last_error"].is_null(), "{body}");
    let (_, body) = app.call(&admin, Method::GET, &path, None).await;
    assert_eq!(
        body["items"][0]["last_error"],
        "billing provider answered 503"
    );

    // Another partner's order does not exist for this caller; neither does a stranger.
    let (status, _) = app.call(&other, Method::GET, &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            &partner,
            Method::GET,
            &format!("/api/v1/orders/{}/effects", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Leads and contracts answer the same way.
    let lead = new_lead(&app, &partner, "Effects").await;
    let (status, body) = app
        .call(
            &partner,
            Method::GET,
            &format!("/api/v1/leads/{}/effects", lead["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
