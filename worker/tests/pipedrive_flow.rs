//! Pipedrive as the active CRM, end to end over HTTP, Postgres, Redis, the worker and
//! the stateful Pipedrive peer: a lead created and won is one person, one organization
//! and one deal in the peer (won, in the mapped stage) even when every create's answer
//! is lost; a deal moved in Pipedrive reaches the lead through the webhook (history by
//! the integration user), twice delivered and applied once; a delivery with wrong
//! credentials changes nothing; a change no webhook announced arrives with the next
//! incremental sync; a stage jump the lead machine refuses and a change colliding with
//! a local edit end in `sync_conflicts`; activities both ways; OAuth connect, refresh
//! before expiry and on 401, and a revoked grant turning the provider offline.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/pipedrive.rs"]
mod pipedrive;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::{Duration, Instant};

use app::TestApp;
use base64::Engine as _;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use pipedrive::PipedrivePeer;
use reqwest::Method;
use serde_json::{Value, json};
use support::eventually;
use worker::{RunningWorker, worker_config};

const WAIT: Duration = Duration::from_secs(60);
const TOKEN: &str = "pd-flow-token-4c1a";
const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";

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

/// Configures Pipedrive on the peer with `extra` settings and activates it.
async fn configure(app: &TestApp, peer: &PipedrivePeer, extra: Value, credentials: Value) {
    let admin = app.token(ADMIN).await;
    let mut configuration = json!({
        "base_url": peer.url(), "public_url": app.url(""), "timeout_seconds": 1,
        "max_attempts": 2, "rate_limit_per_second": 200, "breaker_threshold": 100,
        "conflicts": "source_wins",
    });
    for (k, v) in extra.as_object().unwrap() {
        configuration[k] = v.clone();
    }
    let (status, b) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/crm/pipedrive",
            Some(json!({ "configuration": configuration, "credentials": credentials })),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    let (status, b) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{b}");
}

fn start_worker(app: &TestApp) -> RunningWorker {
    RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ))
}

async fn new_lead(app: &TestApp, token: &str, email: &str) -> String {
    let (status, lead) = app
        .call(
            token,
            Method::POST,
            "/api/v1/leads",
            Some(json!({
                "title": "Sauvegarde des 40 agences", "organization": "Boulangeries Martin SAS",
                "contact_name": "Zoé Lefèvre", "contact_email": email,
                "contact_phone": "06 12 34 56 78", "value": "18000.00", "currency": "EUR",
                "expected_close_date": "2027-03-31T00:00:00Z",
            })),
        )
        .await;
    assert_eq!(status, 201, "{lead}");
    lead["id"].as_str().unwrap().to_owned()
}

async fn event(app: &TestApp, token: &str, id: &str, event: &str, payload: Value) -> Value {
    let (status, b) = app
        .call(
            token,
            Method::POST,
            &format!("/api/v1/leads/{id}/transitions"),
            Some(json!({ "event": event, "payload": payload })),
        )
        .await;
    assert_eq!(status, 200, "{event}: {b}");
    b
}

async fn lead(app: &TestApp, id: &str) -> Value {
    let admin = app.token(ADMIN).await;
    app.call(&admin, Method::GET, &format!("/api/v1/leads/{id}"), None)
        .await
        .1
}

fn deal_id(lead: &Value) -> Option<i64> {
    lead["crm_links"]
        .as_array()?
        .iter()
        .find(|l| l["object"] == "deal")
        .and_then(|l| l["external_id"].as_str())
        .and_then(|s| s.parse().ok())
}

async fn jobs_settled(app: &TestApp) {
    eventually(WAIT, "every job finishes", || async {
        count(
            app,
            "SELECT count(*) AS n FROM outbox WHERE status NOT IN ('done', 'dead')",
        )
        .await
            == 0
    })
    .await;
}

/// A lead pushed through to a deal in `stage` (by name).
async fn lead_with_deal(app: &TestApp, peer: &PipedrivePeer, email: &str) -> (String, i64) {
    let partner = app.token(PARTNER).await;
    let id = new_lead(app, &partner, email).await;
    event(app, &partner, &id, "contact", json!({})).await;
    event(app, &partner, &id, "qualify", json!({})).await;
    eventually(WAIT, "the lead's deal exists", || async {
        deal_id(&lead(app, &id).await).is_some()
    })
    .await;
    let deal = deal_id(&lead(app, &id).await).unwrap();
    jobs_settled(app).await;
    assert_eq!(peer.state.stage_of(deal).as_deref(), Some("Qualified"));
    (id, deal)
}

#[tokio::test]
async fn a_lead_won_is_one_person_one_organization_one_deal_even_when_every_create_answer_is_lost()
{
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(&app, &peer, json!({}), json!({ "api_token": TOKEN })).await;
    assert_eq!(
        peer.state.webhooks().len(),
        5,
        "one webhook per followed object"
    );
    assert!(peer.state.webhooks().iter().all(|h| h["subscription_url"]
        == app.url("/api/v1/webhooks/pipedrive")
        && h["version"] == "2.0"));
    *peer.state.stall.lock().unwrap() = Duration::from_millis(1_500);
    *peer.state.stall_creates.lock().unwrap() = true;
    let worker = start_worker(&app);
    let partner = app.token(PARTNER).await;
    let id = new_lead(&app, &partner, "zoe.lefevre@boulangeries-martin.fr").await;
    for e in ["contact", "qualify", "propose", "negotiate", "win"] {
        event(&app, &partner, &id, e, json!({})).await;
    }
    eventually(WAIT, "the won lead's deal is won in Pipedrive", || async {
        deal_id(&lead(&app, &id).await)
            .and_then(|d| peer.state.deal(d))
            .is_some_and(|d| d["status"] == "won")
    })
    .await;
    jobs_settled(&app).await;
    let reference = format!("tentabo-lead-{id}");
    let deals: Vec<Value> = peer
        .state
        .deals()
        .into_iter()
        .filter(|d| {
            d["custom_fields"]
                .as_object()
                .is_some_and(|c| c.values().any(|v| v == &json!(reference)))
        })
        .collect();
    assert_eq!(deals.len(), 1, "exactly one deal: {deals:?}");
    let deal = &deals[0];
    assert_eq!(deal["value"], json!(18000));
    assert_eq!(deal["currency"], "EUR");
    assert_eq!(deal["expected_close_date"], "2027-03-31");
    assert_eq!(
        deal["stage_id"].as_i64(),
        peer.state.stage_in("Tentabo", "Negotiations Started"),
        "won keeps the last stage, in the pipeline Tentabo made"
    );
    let persons: Vec<Value> = peer
        .state
        .persons()
        .into_iter()
        .filter(|p| p["emails"][0]["value"] == "zoe.lefevre@boulangeries-martin.fr")
        .collect();
    assert_eq!(persons.len(), 1, "exactly one person");
    let orgs: Vec<Value> = peer
        .state
        .orgs()
        .into_iter()
        .filter(|o| o["name"] == "Boulangeries Martin SAS")
        .collect();
    assert_eq!(orgs.len(), 1, "exactly one organization");
    assert_eq!(deal["person_id"], persons[0]["id"]);
    assert_eq!(deal["org_id"], orgs[0]["id"]);
    assert_eq!(persons[0]["org_id"], orgs[0]["id"]);
    // The inbox item it started as: one, archived when the deal took over.
    let items: Vec<Value> = peer
        .state
        .leads()
        .into_iter()
        .filter(|l| {
            l.as_object()
                .unwrap()
                .values()
                .any(|v| v == &json!(reference))
        })
        .collect();
    // The lead moved on faster than its first push: it may never have been an inbox
    // item; if it was, there is one, archived once the deal took over.
    assert!(items.len() <= 1, "at most one inbox item: {items:?}");
    assert!(items.iter().all(|i| i["is_archived"] == true));
    // Creates were answered late, so some pushes failed and were retried.
    assert!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE queue = 'crm_push_lead_status' AND attempts > 1"
        )
        .await
            > 0,
        "the lost answers made pushes retry"
    );
    let l = lead(&app, &id).await;
    assert_eq!(l["provider_name"], "pipedrive");
    assert_eq!(l["provider_id"], format!("deal:{}", deal["id"]));
    worker.stop().await;
}

#[tokio::test]
async fn an_older_push_never_overwrites_a_newer_state() {
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(&app, &peer, json!({}), json!({ "api_token": TOKEN })).await;
    let worker = start_worker(&app);
    let (id, deal) = lead_with_deal(&app, &peer, "ancien@exemple.fr").await;
    let partner = app.token(PARTNER).await;
    event(&app, &partner, &id, "propose", json!({})).await;
    eventually(WAIT, "the deal reaches Proposal Made", || async {
        peer.state.stage_of(deal).as_deref() == Some("Proposal Made")
    })
    .await;
    jobs_settled(&app).await;
    let patches = peer.state.count("PATCH", &format!("/api/v2/deals/{deal}"));
    // The push of version 3 (qualified) delivered again: it sends nothing.
    {
        let mut conn = app.db.conn().await;
        diesel::sql_query(
            "UPDATE outbox SET status = 'pending', available_at = now(), finished_at = NULL \
             WHERE idempotency_key LIKE 'lead:%:v3:crm_push_lead_status'",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    jobs_settled(&app).await;
    assert_eq!(
        peer.state.stage_of(deal).as_deref(),
        Some("Proposal Made"),
        "still the newer stage"
    );
    assert_eq!(
        peer.state.count("PATCH", &format!("/api/v2/deals/{deal}")),
        patches,
        "nothing sent"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_deal_moved_in_pipedrive_reaches_the_lead_through_the_webhook_once() {
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(&app, &peer, json!({}), json!({ "api_token": TOKEN })).await;
    let worker = start_worker(&app);
    let (id, deal) = lead_with_deal(&app, &peer, "webhook@exemple.fr").await;
    let before = lead(&app, &id).await;
    assert_eq!(before["state"], "qualified");

    let moved = Instant::now();
    peer.state.ui_move_deal(deal, "Proposal Made");
    eventually(WAIT, "the lead follows its deal", || async {
        lead(&app, &id).await["state"] == "proposal"
    })
    .await;
    let latency = moved.elapsed();
    let admin = app.token(ADMIN).await;
    let (_, history) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/leads/{id}/history"),
            None,
        )
        .await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "propose");
    let actor = app
        .id_of("users", "email", "pipedrive@integrations.tentabo.invalid")
        .await;
    assert_eq!(
        last["actor_id"],
        actor.to_string(),
        "the provider is the actor"
    );
    assert_eq!(last["payload"]["source"], "pipedrive");
    assert_eq!(
        count(&app, &format!("SELECT count(*) AS n FROM audit_logs WHERE action = 'lead.transition' AND actor_id = '{actor}'")).await,
        1
    );
    // How fast is a bench's question (tests share 2 cores); printed for the record.
    eprintln!("webhook → lead: {latency:?}");

    // Pipedrive delivers the same event again: recorded once, applied once.
    jobs_settled(&app).await;
    let version = lead(&app, &id).await["version"].clone();
    assert_eq!(peer.state.redeliver_last().await, Some(200));
    assert_eq!(
        count(
            &app,
            "SELECT max(deliveries)::bigint AS n FROM webhook_events"
        )
        .await,
        2,
        "the redelivery is counted on its event"
    );
    jobs_settled(&app).await;
    assert_eq!(lead(&app, &id).await["version"], version, "applied once");

    // Wrong credentials: 401, nothing stored.
    let events = count(&app, "SELECT count(*) AS n FROM webhook_events").await;
    let bad = base64::engine::general_purpose::STANDARD.encode("tentabo:wrong-password");
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/webhooks/pipedrive"))
        .header("authorization", format!("Basic {bad}"))
        .json(&json!({ "meta": { "id": "forged-1", "entity": "deal", "action": "change", "entity_id": deal.to_string() }, "data": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/webhooks/pipedrive"))
        .json(&json!({ "meta": { "id": "forged-2" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "no credentials");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM webhook_events").await,
        events
    );

    // A change no webhook announced: the next incremental sync applies it.
    peer.state.ui_patch_deal_silently(
        deal,
        json!({ "stage_id": peer.state.stage_in("Tentabo", "Negotiations Started") }),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lead(&app, &id).await["state"], "proposal");
    let (status, run) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/sync/pipedrive/lead",
            Some(json!({ "mode": "incremental" })),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    eventually(WAIT, "the sync applies the missed change", || async {
        lead(&app, &id).await["state"] == "negotiation"
    })
    .await;
    let path = format!("/api/v1/sync/runs/{}", run["id"].as_str().unwrap());
    eventually(WAIT, "the run ends", || async {
        app.call(&admin, Method::GET, &path, None).await.1["status"] == "succeeded"
    })
    .await;
    assert!(
        count(
            &app,
            "SELECT count(*) AS n FROM canonical_leads WHERE provider = 'pipedrive'"
        )
        .await
            >= 2,
        "deals land in the canonical zone"
    );
    // Another CRM activated: Tentabo's webhooks are removed from Pipedrive.
    let (status, b) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/crm/recording",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    let (status, b) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/recording/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{b}");
    assert!(
        peer.state.webhooks().is_empty(),
        "{:?}",
        peer.state.webhooks()
    );
    worker.stop().await;
}

/// Edits the lead in Postgres without queueing its push: a local change the CRM has
/// not seen yet.
async fn local_edit(app: &TestApp, id: &str, value: &str) {
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "UPDATE leads SET value = $2::numeric, updated_at = now() WHERE id = $1::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(id)
    .bind::<diesel::sql_types::Text, _>(value)
    .execute(&mut conn)
    .await
    .unwrap();
}

async fn conflicts(app: &TestApp, resolution: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM sync_conflicts WHERE entity = 'tentabo_lead' AND resolution = '{resolution}'"
        ),
    )
    .await
}

#[tokio::test]
async fn refused_jumps_and_collisions_end_in_sync_conflicts_with_the_policy_applied() {
    // manual: both wait for a decision; the lead keeps its state and its edit.
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(
        &app,
        &peer,
        json!({ "conflicts": "manual" }),
        json!({ "api_token": TOKEN }),
    )
    .await;
    let worker = start_worker(&app);
    let (jumped, deal) = lead_with_deal(&app, &peer, "saut@exemple.fr").await;
    // qualified → Negotiations Started skips proposal: the machine refuses.
    peer.state.ui_move_deal(deal, "Negotiations Started");
    eventually(WAIT, "the refused jump is a pending conflict", || async {
        conflicts(&app, "pending").await == 1
    })
    .await;
    assert_eq!(
        lead(&app, &jumped).await["state"],
        "qualified",
        "the lead keeps its state"
    );
    let (edited, deal) = lead_with_deal(&app, &peer, "collision@exemple.fr").await;
    local_edit(&app, &edited, "20000").await;
    peer.state.ui_patch_deal(deal, json!({ "value": 25000 }));
    eventually(WAIT, "the collision is a pending conflict too", || async {
        conflicts(&app, "pending").await == 2
    })
    .await;
    assert_eq!(
        lead(&app, &edited).await["value"],
        "20000.00",
        "the local edit stays"
    );
    // Pipedrive changes the deal again: the conflict waiting is refreshed, not doubled.
    peer.state.ui_patch_deal(deal, json!({ "value": 26000 }));
    eventually(
        WAIT,
        "the pending conflict holds the newer change",
        || async {
            count(
                &app,
                "SELECT count(*) AS n FROM sync_conflicts WHERE remote->>'value' = '26000'",
            )
            .await
                == 1
        },
    )
    .await;
    assert_eq!(conflicts(&app, "pending").await, 2);
    // Deciding them: the refused jump cannot take Pipedrive's side; keeping the lead
    // pushes it back; the collision taken from Pipedrive applies its value.
    let admin = app.token(ADMIN).await;
    #[derive(diesel::QueryableByName)]
    struct C {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let id_of = |sql: &'static str| {
        let app = &app;
        async move {
            let mut conn = app.db.conn().await;
            diesel::sql_query(sql)
                .get_result::<C>(&mut conn)
                .await
                .unwrap()
                .id
        }
    };
    let jump =
        id_of("SELECT id FROM sync_conflicts WHERE remote ? 'refused' AND resolution = 'pending'")
            .await;
    let collision = id_of(
        "SELECT id FROM sync_conflicts WHERE NOT remote ? 'refused' AND resolution = 'pending'",
    )
    .await;
    let resolve = |id: i64, keep: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.call(
                &admin,
                Method::POST,
                &format!("/api/v1/sync/conflicts/{id}/resolve"),
                Some(json!({ "keep": keep })),
            )
            .await
        }
    };
    let (status, b) = resolve(jump, "source").await;
    assert_eq!(status, 409, "{b}");
    assert_eq!(b["error"]["code"], "transition_refused");
    let (status, b) = resolve(jump, "local").await;
    assert_eq!(status, 200, "{b}");
    let jumped_deal = deal_id(&lead(&app, &jumped).await).unwrap();
    eventually(
        WAIT,
        "kept local: the deal goes back to Qualified",
        || async { peer.state.stage_of(jumped_deal).as_deref() == Some("Qualified") },
    )
    .await;
    let (status, b) = resolve(collision, "source").await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(
        lead(&app, &edited).await["value"],
        "26000.00",
        "Pipedrive's value taken"
    );
    assert_eq!(conflicts(&app, "pending").await, 0);
    worker.stop().await;

    // source_wins: a collision applies Pipedrive's change (recorded as applied); a
    // refused jump keeps the lead's state and pushes it back to Pipedrive.
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(
        &app,
        &peer,
        json!({ "conflicts": "source_wins" }),
        json!({ "api_token": TOKEN }),
    )
    .await;
    let worker = start_worker(&app);
    let (edited, deal) = lead_with_deal(&app, &peer, "source@exemple.fr").await;
    local_edit(&app, &edited, "20000").await;
    peer.state.ui_patch_deal(deal, json!({ "value": 25000 }));
    eventually(WAIT, "source wins", || async {
        lead(&app, &edited).await["value"] == "25000.00"
    })
    .await;
    assert_eq!(conflicts(&app, "source_applied").await, 1);
    let (jumped, deal) = lead_with_deal(&app, &peer, "retour@exemple.fr").await;
    peer.state.ui_move_deal(deal, "Negotiations Started");
    eventually(
        WAIT,
        "the deal is moved back to the lead's stage",
        || async { peer.state.stage_of(deal).as_deref() == Some("Qualified") },
    )
    .await;
    assert_eq!(conflicts(&app, "local_kept").await, 1);
    assert_eq!(lead(&app, &jumped).await["state"], "qualified");
    worker.stop().await;
}

#[tokio::test]
async fn activities_come_from_the_deal_and_go_to_it() {
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(&app, &peer, json!({}), json!({ "api_token": TOKEN })).await;
    let worker = start_worker(&app);
    let (id, deal) = lead_with_deal(&app, &peer, "activites@exemple.fr").await;
    let partner = app.token(PARTNER).await;
    let (status, a) = app
        .call(
            &partner,
            Method::POST,
            &format!("/api/v1/leads/{id}/activities"),
            Some(json!({ "type": "meeting", "subject": "Démonstration sur site", "due_date": "2027-01-15", "due_time": "10:30" })),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["provider"], "tentabo");
    eventually(WAIT, "the activity reaches the deal", || async {
        peer.state
            .activities()
            .iter()
            .any(|x| x["deal_id"] == json!(deal) && x["subject"] == "Démonstration sur site")
    })
    .await;
    jobs_settled(&app).await;
    let l = lead(&app, &id).await;
    let acts = l["activities"].as_array().unwrap();
    assert_eq!(acts.len(), 1, "{acts:?}");
    assert_eq!(acts[0]["provider"], "pipedrive");
    assert!(acts[0]["external_id"].is_string());
    assert_eq!(acts[0]["type"], "meeting");

    // Bad input: a clear error, nothing stored.
    let (status, e) = app
        .call(
            &partner,
            Method::POST,
            &format!("/api/v1/leads/{id}/activities"),
            Some(json!({ "type": "séance", "subject": " ", "due_time": "25:00" })),
        )
        .await;
    assert_eq!(status, 422, "{e}");
    let (_, list) = app
        .call(
            &partner,
            Method::GET,
            &format!("/api/v1/leads/{id}/activities"),
            None,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn oauth_connects_refreshes_before_expiry_and_on_401_and_a_revoked_grant_goes_offline() {
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    let admin = app.token(ADMIN).await;
    let (status, b) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/crm/pipedrive",
            Some(json!({
                "configuration": {
                    "base_url": peer.url(), "public_url": app.url(""), "auth": "oauth",
                    "oauth_client_id": peer.state.client_id,
                    "oauth_authorize_url": format!("{}/oauth/authorize", peer.url()),
                    "oauth_token_url": format!("{}/oauth/token", peer.url()),
                    "timeout_seconds": 2, "max_attempts": 1, "webhooks": false,
                },
                "credentials": { "oauth_client_secret": peer.state.client_secret },
            })),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    // Not connected yet: the test says why.
    let (_, t) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/test",
            None,
        )
        .await;
    assert_eq!(t["ok"], false, "{t}");
    peer.state.set_token_lifetime(30);
    // The admin is sent to Pipedrive, which sends them back with a code.
    let (status, a) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/oauth/authorize",
            None,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let to_pipedrive = browser
        .get(a["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(to_pipedrive.status(), 302);
    let back = to_pipedrive.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(back.starts_with(&app.url("/api/v1/providers/crm/pipedrive/oauth/callback")));
    let done = browser.get(&back).send().await.unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "/integrations?oauth=connected");
    // The same callback again: the state is spent.
    let again = browser.get(&back).send().await.unwrap();
    assert_eq!(
        again.headers()["location"],
        "/integrations?oauth=failed&reason=oauth_state_invalid"
    );
    assert_eq!(peer.state.token_calls()[0], "authorization_code");
    let (_, p) = app
        .call(&admin, Method::GET, "/api/v1/providers/crm/pipedrive", None)
        .await;
    assert!(p.to_string().contains("oauth_tokens"), "listed as set: {p}");
    assert!(!p.to_string().contains("access-"), "never returned: {p}");

    // The first token lives 30 s, less than the refresh margin: the connection check
    // that ends the connect refreshed it before it expired (Pipedrive would still have
    // accepted it).
    let (_, t) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/test",
            None,
        )
        .await;
    assert_eq!(t["ok"], true, "{t}");
    assert!(
        peer.state.token_calls()[1..]
            .iter()
            .all(|c| c == "refresh_token")
            && peer.state.token_calls().len() >= 2,
        "refreshed ahead of expiry: {:?}",
        peer.state.token_calls()
    );
    // A token with an hour to live is used as is.
    peer.state.set_token_lifetime(3600);
    let (_, t) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/test",
            None,
        )
        .await;
    assert_eq!(t["ok"], true, "{t}");
    let calls = peer.state.token_calls().len();
    let (_, t) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/test",
            None,
        )
        .await;
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(peer.state.token_calls().len(), calls, "no refresh needed");

    // Refresh on 401: Pipedrive expired the token early.
    let before = peer.state.token_calls().len();
    peer.state.expire_access_tokens();
    let (_, t) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/test",
            None,
        )
        .await;
    assert_eq!(t["ok"], true, "a 401 refreshes and retries: {t}");
    assert_eq!(peer.state.token_calls().len(), before + 1);

    // The app is uninstalled: offline, with the reason.
    peer.state.revoke_grant();
    let (_, t) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/crm/pipedrive/test",
            None,
        )
        .await;
    assert_eq!(t["ok"], false, "{t}");
    let (_, h) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/providers/crm/pipedrive/health",
            None,
        )
        .await;
    assert_eq!(h["current"]["status"], "offline", "{h}");
    assert!(
        h["current"]["reason"].as_str().unwrap().contains("revoked"),
        "{h}"
    );
    assert!(
        h["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["trigger"] == "call"),
        "the refused refresh itself marked it offline: {h}"
    );
}

#[tokio::test]
async fn deals_made_in_pipedrive_by_a_partners_seller_become_leads_when_asked() {
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(
        &app,
        &peer,
        json!({ "import_partner_deals": true, "pipeline": "Pipeline" }),
        json!({ "api_token": TOKEN }),
    )
    .await;
    let worker = start_worker(&app);
    let admin = app.token(ADMIN).await;
    let partner = app.id_of("users", "email", PARTNER).await;
    let partner_id = {
        #[derive(diesel::QueryableByName)]
        struct P {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            partner_id: uuid::Uuid,
        }
        let mut conn = app.db.conn().await;
        diesel::sql_query("SELECT partner_id FROM users WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(partner)
            .get_result::<P>(&mut conn)
            .await
            .unwrap()
            .partner_id
    };
    // Pipedrive user 5 sells for the partner; user 6 for nobody Tentabo knows.
    let (status, b) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/sync/owners/pipedrive/5",
            Some(json!({ "partner_id": partner_id })),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    let person = peer.state.seeded_person();
    let deal = peer
        .state
        .ui_create_deal("Archivage mairie", "Proposal Made", 5, Some(person));
    let other = peer
        .state
        .ui_create_deal("Hors réseau", "Qualified", 6, Some(person));
    eventually(WAIT, "the partner's deal is a lead", || async {
        count(&app, &format!("SELECT count(*) AS n FROM crm_links WHERE object = 'deal' AND external_id = '{deal}'")).await == 1
    })
    .await;
    jobs_settled(&app).await;
    #[derive(diesel::QueryableByName)]
    struct L {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let id = {
        let mut conn = app.db.conn().await;
        diesel::sql_query(format!(
            "SELECT lead_id::text AS id FROM crm_links WHERE object = 'deal' AND external_id = '{deal}'"
        ))
        .get_result::<L>(&mut conn)
        .await
        .unwrap()
        .id
    };
    let l = lead(&app, &id).await;
    assert_eq!(l["title"], "Archivage mairie");
    assert_eq!(l["state"], "proposal", "imported in the deal's stage");
    assert_eq!(l["partner_id"], partner_id.to_string());
    assert_eq!(l["contact_email"], "elodie.marchand@dupont-fils.fr");
    assert_eq!(l["organization"], "Boulangerie Dupont & Fils");
    assert_eq!(l["value"], "12500.00");
    // The partner sees it; the unlinked seller's deal made no lead.
    let p = app.token(PARTNER).await;
    let (status, _) = app
        .call(&p, Method::GET, &format!("/api/v1/leads/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        count(&app, &format!("SELECT count(*) AS n FROM crm_links WHERE object = 'deal' AND external_id = '{other}'")).await,
        0
    );
    // A partner's deal whose webhook was lost: the next incremental sync imports it.
    let silent = peer
        .state
        .ui_create_deal_silently("Archivage CCAS", "Qualified", 5, Some(person));
    let (status, run) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/sync/pipedrive/lead",
            Some(json!({ "mode": "incremental" })),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    eventually(WAIT, "the sync imports the deal no webhook announced", || async {
        count(&app, &format!("SELECT count(*) AS n FROM crm_links WHERE object = 'deal' AND external_id = '{silent}'")).await == 1
    })
    .await;
    jobs_settled(&app).await;
    // Their pushes found the deals: no second deal in Pipedrive.
    assert_eq!(
        peer.state
            .deals()
            .iter()
            .filter(|d| d["title"] == "Archivage CCAS")
            .count(),
        1
    );
    assert_eq!(
        peer.state
            .deals()
            .iter()
            .filter(|d| d["title"] == "Archivage mairie")
            .count(),
        1
    );
    worker.stop().await;
}

#[tokio::test]
async fn the_nightly_sync_asks_for_every_pipedrive_source_once_a_day() {
    let app = TestApp::seeded().await;
    let peer = PipedrivePeer::start(TOKEN).await;
    configure(
        &app,
        &peer,
        json!({ "webhooks": false }),
        json!({ "api_token": TOKEN }),
    )
    .await;
    let pool = tentabo_schema::db::build_pool(&app.db.url, 2).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    // A tick every second: each source is asked for once (its key names the day).
    let schedule = tentabo_worker::schedule::parse("* * * * * *").unwrap();
    let task = tokio::spawn(tentabo_worker::schedule::nightly_sync(
        schedule,
        pool,
        shutdown.clone(),
    ));
    eventually(WAIT, "a run per Pipedrive source", || async {
        count(
            &app,
            "SELECT count(DISTINCT entity) AS n FROM sync_runs WHERE provider = 'pipedrive'",
        )
        .await
            == 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM sync_runs WHERE provider = 'pipedrive' AND mode = 'incremental'").await,
        5,
        "once a day, whatever the ticks"
    );
}
