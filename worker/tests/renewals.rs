//! Renewals that reach people: a contract entering its renewal window gets one draft
//! renewal order and one email per person — its owner (in French, her language) and the
//! distributor her partner is attached to (in English) — read back from a real SMTP
//! server, once, with two worker processes running the scan at the same time; the
//! notifications are in each person's inbox (`/api/v1/notifications`), marked read there.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/smtp.rs"]
mod smtp;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use app::TestApp;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;
use support::eventually;
use tentabo_workflows::jobs::{JobRequest, payloads};
use uuid::Uuid;
use worker::{RunningWorker, worker_config};

const ADMIN: &str = "superadmin@salescommand.com";
const OWNER: &str = "am1@salescommand.com";
const DISTRIBUTOR: &str = "distributor@salescommand.com";
const WAIT: Duration = Duration::from_secs(60);

/// A fulfilled order of `am1` and its contract (activated as the worker's job would).
async fn contract(app: &TestApp) -> (Uuid, String) {
    let owner = app.token(OWNER).await;
    let admin = app.token(ADMIN).await;
    let fulfiller = app.token("fulfiller@salescommand.com").await;
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let (status, order) = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/orders",
            Some(json!({ "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 5 }] })),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id: Uuid = order["id"].as_str().unwrap().parse().unwrap();
    for (token, e) in [
        (&admin, "send"),
        (&fulfiller, "start_fulfillment"),
        (&fulfiller, "fulfill"),
    ] {
        let (status, body) = app
            .call(
                token,
                Method::POST,
                &format!("/api/v1/orders/{id}/transitions"),
                Some(json!({ "event": e })),
            )
            .await;
        assert_eq!(status, 200, "{e}: {body}");
    }
    let mut conn = app.db.conn().await;
    tentabo_workflows::sales::contracts::activate_for_order(&mut conn, id)
        .await
        .unwrap();
    let c = tentabo_workflows::sales::contracts::for_order(&mut conn, id)
        .await
        .unwrap()
        .unwrap();
    (c.id, order["reference"].as_str().unwrap().to_owned())
}

async fn exec(app: &TestApp, statement: &str) {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(statement)
        .execute(&mut app.db.conn().await)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_contract_due_gets_one_draft_and_one_email_per_person_even_with_two_workers() {
    let app = TestApp::seeded().await;
    tentabo_workflows::catalogue::seed_demo(&mut app.db.conn().await)
        .await
        .unwrap();
    let admin = app.token(ADMIN).await;
    let (contract_id, reference) = contract(&app).await;
    // The owner reads French.
    let owner_id = app.id_of("users", "email", OWNER).await;
    let (status, user) = app
        .call(
            &admin,
            Method::PATCH,
            &format!("/api/v1/users/{owner_id}"),
            Some(json!({ "language": "fr" })),
        )
        .await;
    assert_eq!((status, &user["language"]), (200, &json!("fr")), "{user}");
    let (status, body) = app
        .call(
            &admin,
            Method::PATCH,
            &format!("/api/v1/users/{owner_id}"),
            Some(json!({ "language": "de" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // It expires on 2030-01-15: inside the scans' window (five years).
    exec(
        &app,
        &format!(
            "UPDATE contracts SET expiration_date = '2030-01-15 12:00Z', \
             activation_date = '2029-01-15 12:00Z' WHERE id = '{contract_id}'"
        ),
    )
    .await;
    let smtp = smtp::SmtpServer::start().await;

    // Two worker processes; two scans (as if two ticks had been scheduled) at once.
    let config = || {
        let mut c = worker_config(&app.db.url, &app.redis.url, &app.redis.namespace);
        c.smtp_url = Some(SecretString::from(smtp.url()));
        c.mail_from = "Tentabo <no-reply@tentabo.test>".into();
        c.metrics_bind = None;
        c
    };
    let (w1, w2) = (
        RunningWorker::start(config()),
        RunningWorker::start(config()),
    );
    let days = 365 * 5;
    tentabo_workflows::jobs::enqueue(
        &mut app.db.conn().await,
        &[
            JobRequest::new(
                &payloads::ContractExpiryScan {
                    day: "scan-a".into(),
                    within_days: Some(days),
                },
                "contract_expiry_scan:test-a",
            ),
            JobRequest::new(
                &payloads::ContractExpiryScan {
                    day: "scan-b".into(),
                    within_days: Some(days),
                },
                "contract_expiry_scan:test-b",
            ),
        ],
    )
    .await
    .unwrap();
    let messages = smtp.wait_for(2, WAIT).await;
    // Every job settled; still two messages.
    eventually(WAIT, "every job is done", || async {
        app.db
            .count("SELECT count(*) AS n FROM outbox WHERE status <> 'done' AND queue IN ('contract_expiry_scan', 'notification_email')")
            .await
            == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages_after = smtp.messages();
    assert_eq!(messages_after.len(), 2, "{messages_after:?}");
    assert_eq!(messages.len(), 2);

    let drafts = app
        .db
        .count(&format!(
            "SELECT count(*) AS n FROM orders WHERE renews_contract_id = '{contract_id}' AND state = 'created'"
        ))
        .await;
    assert_eq!(drafts, 1);
    #[derive(diesel::QueryableByName)]
    struct Draft {
        #[diesel(sql_type = diesel::sql_types::Text)]
        reference: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        total: String,
    }
    let draft: Draft = {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(format!(
            "SELECT reference, total::text AS total FROM orders WHERE renews_contract_id = '{contract_id}'"
        ))
        .get_result(&mut app.db.conn().await)
        .await
        .unwrap()
    };
    // The same basket at today's prices: 5 TB × 10.00 × 12 months.
    assert_eq!(draft.total, "600.00");

    let to = |who: &str| {
        messages
            .iter()
            .find(|m| m["rcpt_tos"] == json!([who]))
            .unwrap_or_else(|| panic!("no message to {who}: {messages:?}"))
            .clone()
    };
    let fr = to(OWNER);
    assert_eq!(
        fr["subject"],
        format!("Renouvellement à prévoir : le contrat {reference} expire le 15/01/2030")
    );
    assert_eq!(fr["content_language"], "fr");
    assert_eq!(fr["from"], "Tentabo <no-reply@tentabo.test>");
    assert!(
        fr["body"]
            .as_str()
            .unwrap()
            .contains(&format!("commande de renouvellement {}", draft.reference)),
        "{fr}"
    );
    let en = to(DISTRIBUTOR);
    assert_eq!(
        en["subject"],
        format!("Renewal due: contract {reference} expires on 2030-01-15")
    );
    assert_eq!(en["content_language"], "en");

    // In the console: the owner's inbox, marked read; nobody else's.
    let owner = app.token(OWNER).await;
    let (status, inbox) = app
        .call(&owner, Method::GET, "/api/v1/notifications", None)
        .await;
    assert_eq!(status, 200, "{inbox}");
    assert_eq!(inbox["unread"], 1);
    let item = &inbox["items"][0];
    assert_eq!(
        (&item["kind"], &item["email_status"], &item["object_id"]),
        (
            &json!("renewal_due"),
            &json!("sent"),
            &json!(contract_id.to_string())
        )
    );
    assert_eq!(item["data"]["draft_reference"], json!(draft.reference));
    let id = item["id"].as_str().unwrap().to_owned();
    let distributor = app.token(DISTRIBUTOR).await;
    let (status, _) = app
        .call(
            &distributor,
            Method::POST,
            &format!("/api/v1/notifications/{id}/read"),
            None,
        )
        .await;
    assert_eq!(status, 404, "another person's notification");
    let (status, read) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/notifications/{id}/read"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{read}");
    assert!(read["read_at"].is_string());
    let (_, inbox) = app
        .call(
            &owner,
            Method::GET,
            "/api/v1/notifications?unread=true",
            None,
        )
        .await;
    assert_eq!((&inbox["unread"], &inbox["items"]), (&json!(0), &json!([])));
    let (status, all) = app
        .call(
            &distributor,
            Method::POST,
            "/api/v1/notifications/read-all",
            None,
        )
        .await;
    assert_eq!((status, &all["read"]), (200, &json!(1)));
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_logs WHERE action IN ('notification.read', 'notification.read_all')")
            .await,
        2
    );
    w1.stop().await;
    w2.stop().await;
}

#[tokio::test]
async fn flag_mode_drafts_nothing_and_without_a_mail_server_the_email_is_skipped() {
    use tentabo_workflows::notifications::{self, Emailed};
    use tentabo_workflows::sales::contracts::{self, RenewalMode};
    let app = TestApp::seeded().await;
    tentabo_workflows::catalogue::seed_demo(&mut app.db.conn().await)
        .await
        .unwrap();
    let (contract_id, _) = contract(&app).await;
    exec(
        &app,
        &format!(
            "UPDATE contracts SET expiration_date = now() + interval '3 days' WHERE id = '{contract_id}'"
        ),
    )
    .await;
    let mut conn = app.db.conn().await;
    assert_eq!(
        contracts::flag_expiring(&mut conn, 30, RenewalMode::Flag)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        contracts::flag_expiring(&mut conn, 30, RenewalMode::Draft)
            .await
            .unwrap(),
        0,
        "flagged once"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM orders WHERE renews_contract_id IS NOT NULL")
            .await,
        0
    );
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let ids: Vec<N> = {
        use diesel_async::RunQueryDsl;
        diesel::sql_query("SELECT id FROM notifications ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(ids.len(), 2, "the owner and the distributor");
    assert_eq!(
        notifications::email(&mut conn, None, ids[0].id)
            .await
            .unwrap(),
        Emailed::Skipped
    );
    assert_eq!(
        notifications::email(&mut conn, None, ids[0].id)
            .await
            .unwrap(),
        Emailed::AlreadyDone
    );
    // A mail server that is not there: the job's error, the row still pending.
    let mailer = notifications::Mailer::new(
        &notifications::MailConfig {
            url: SecretString::from("smtp://127.0.0.1:1".to_owned()),
            from: "Tentabo <no-reply@tentabo.test>".into(),
            timeout: Duration::from_secs(2),
        },
        tentabo_workflows::outbound::Outbound::standalone(),
    )
    .unwrap();
    let err = notifications::email(&mut conn, Some(&mailer), ids[1].id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mail"), "{err}");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM notifications WHERE email_status = 'pending' AND email_error IS NOT NULL")
            .await,
        1
    );
    assert!(
        notifications::Mailer::new(
            &notifications::MailConfig {
                url: SecretString::from("ftp://nowhere".to_owned()),
                from: "Tentabo <no-reply@tentabo.test>".into(),
                timeout: Duration::from_secs(2),
            },
            tentabo_workflows::outbound::Outbound::standalone(),
        )
        .is_err()
    );
}
