//! The Odoo client against a peer that speaks Odoo's JSON-RPC: keyset paging with ties on
//! `write_date` across page boundaries, bad credentials, records edited while a run
//! pages, and injected faults (429 with Retry-After, 5xx, stalls, malformed bodies).

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/odoo.rs"]
mod odoo;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use odoo::{Fault, OdooPeer, Peer};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tentabo_workflows::providers::odoo::{Keyset, OdooClient, OdooConfig, OdooError};
use tentabo_workflows::retry::RetryPolicy;

/// `n` partners; every block of 40 consecutive ids shares one `write_date`, so ties
/// straddle every page boundary of a 100-record page.
fn partners(n: i64) -> Vec<Map<String, Value>> {
    (1..=n)
        .map(|id| {
            let minute = id / 40;
            let rec = json!({
                "id": id,
                "name": format!("Partner {id}"),
                "email": if id % 3 == 0 { json!(false) } else { json!(format!("p{id}@example.com")) },
                "country_id": [75, "France"],
                "write_date": format!("2026-01-01 {:02}:{:02}:00", minute / 60, minute % 60),
            });
            rec.as_object().unwrap().clone()
        })
        .collect()
}

fn config(peer: &OdooPeer, password: &str) -> OdooConfig {
    OdooConfig {
        url: peer.url(),
        database: "prod".into(),
        login: "sync@example.com".into(),
        password: SecretString::from(password.to_owned()),
        timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(100),
            multiplier: 2.0,
            retry_after_cap: Duration::from_secs(5),
            randomization: 0.0,
        },
        max_attempts: 8,
        rate_limit_per_second: None,
    }
}

async fn peer(records: Vec<Map<String, Value>>) -> OdooPeer {
    let peer = OdooPeer::start(Peer {
        database: "prod".into(),
        login: "sync@example.com".into(),
        password: "s3cret".into(),
        stall: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    peer.set("res.partner", records);
    peer
}

/// Pages through the model from `after`, calling `between` after each page.
async fn pull(
    client: &mut OdooClient,
    mut after: Keyset,
    mut between: impl FnMut(usize),
) -> (Vec<(i64, String)>, Keyset) {
    let mut seen = Vec::new();
    let mut page_no = 0;
    loop {
        let page = client
            .page("res.partner", &["name", "email"], after, 100)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Keyset {
            write_date: Some(last.write_date),
            id: last.id,
        };
        for r in &page {
            let v: Value = serde_json::from_str(r.raw.get()).unwrap();
            seen.push((r.id, v["write_date"].as_str().unwrap().to_owned()));
        }
        page_no += 1;
        between(page_no);
    }
    (seen, after)
}

#[tokio::test]
async fn keyset_paging_reads_every_record_once_even_when_write_dates_tie_across_pages() {
    let peer = peer(partners(1_050)).await;
    let mut client = OdooClient::new(
        config(&peer, "s3cret"),
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    let (seen, last) = pull(&mut client, Keyset::default(), |_| {}).await;
    let ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        (1..=1_050).collect::<Vec<_>>(),
        "all, once, in (write_date, id) order"
    );
    assert_eq!(last.id, 1_050);
    // An incremental pull from the last keyset finds nothing new; after 3 edits, exactly them.
    let (again, _) = pull(&mut client, last, |_| {}).await;
    assert!(again.is_empty());
    for id in [5, 500, 1_000] {
        peer.edit("res.partner", id, |r| {
            r.insert("write_date".into(), json!("2026-02-01 00:00:00"));
        });
    }
    let (changed, _) = pull(&mut client, last, |_| {}).await;
    assert_eq!(
        changed.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![5, 500, 1_000]
    );
}

#[tokio::test]
async fn a_record_edited_while_the_run_pages_is_not_lost() {
    let peer = peer(partners(1_000)).await;
    let mut client = OdooClient::new(
        config(&peer, "s3cret"),
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    // After page 3, record 50 (already read) and record 950 (not yet read) change.
    let (seen, _) = pull(&mut client, Keyset::default(), |page| {
        if page == 3 {
            for id in [50, 950] {
                peer.edit("res.partner", id, |r| {
                    r.insert("write_date".into(), json!("2026-03-01 00:00:00"));
                });
            }
        }
    })
    .await;
    let mut count: HashMap<i64, usize> = HashMap::new();
    for (id, _) in &seen {
        *count.entry(*id).or_default() += 1;
    }
    assert!(
        (1..=1_000).all(|id| count.contains_key(&id)),
        "nothing lost"
    );
    let last_two: Vec<&(i64, String)> = seen.iter().rev().take(2).collect();
    assert!(
        last_two.iter().all(|(_, wd)| wd == "2026-03-01 00:00:00"),
        "the edited records are read again in their new version: {last_two:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_access_denied_and_not_retried() {
    let peer = peer(partners(10)).await;
    let mut client = OdooClient::new(
        config(&peer, "wrong"),
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    assert_eq!(client.login().await, Err(OdooError::AccessDenied));
    let err = client
        .page("res.partner", &["name"], Keyset::default(), 10)
        .await;
    assert_eq!(err.err(), Some(OdooError::AccessDenied));
    assert_eq!(client.calls, 2, "one call each, no retries");
    // execute_kw with a uid but the wrong password: Odoo's AccessDenied error.
    let mut raw = OdooClient::new(
        config(&peer, "wrong"),
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    let e = raw
        .call(
            "object",
            "execute_kw",
            json!(["prod", 2, "wrong", "res.partner", "search_read", [[]], {}]),
        )
        .await;
    assert_eq!(e.err(), Some(OdooError::AccessDenied));
}

#[tokio::test]
async fn faults_on_one_call_in_ten_are_ridden_out_and_retry_after_is_honoured() {
    let peer = peer(partners(1_000)).await;
    *peer.state.fault_every.lock().unwrap() = Some((
        10,
        vec![
            Fault::TooManyRequests,
            Fault::ServerError,
            Fault::Stall,
            Fault::Malformed,
        ],
    ));
    let mut client = OdooClient::new(
        config(&peer, "s3cret"),
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    let started = Instant::now();
    let mut pages = 0;
    let mut after = Keyset::default();
    let mut ids = Vec::new();
    // Small pages: many calls, so every kind of fault comes up.
    loop {
        let page = client
            .page("res.partner", &["name"], after, 20)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Keyset {
            write_date: Some(last.write_date),
            id: last.id,
        };
        ids.extend(page.iter().map(|r| r.id));
        pages += 1;
    }
    assert_eq!(ids, (1..=1_000).collect::<Vec<_>>());
    let faults = peer
        .state
        .faults_sent
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(faults >= 4, "every kind of fault was served ({faults})");
    // Backoff alone is 10–100 ms and a stall costs the 0.5 s timeout: only waiting the
    // 429's Retry-After (1 s) makes the run take a second or more.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the 429's Retry-After of 1 s was waited ({:?} in all, {pages} pages)",
        started.elapsed()
    );
}

#[tokio::test]
async fn fields_get_lists_a_models_fields() {
    let peer = peer(partners(3)).await;
    let mut client = OdooClient::new(
        config(&peer, "s3cret"),
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    let fields = client.fields_get("res.partner").await.unwrap();
    assert_eq!(fields["country_id"]["type"], "many2one");
    assert!(fields.get("write_date").is_some());
}

/// The generated model the crash test and the bench page through: every record once, in
/// `(write_date, id)` order, edited records last, counts that match, ~740-byte records.
#[tokio::test]
async fn a_generated_model_pages_like_a_stored_one() {
    let peer = peer(Vec::new()).await;
    let g = odoo::Generated {
        count: 10_000,
        edited_every: Some(100),
    };
    peer.generate("crm.lead", g);
    let mut client = OdooClient::new(
        config(&peer, "s3cret"),
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    assert_eq!(
        client.count("crm.lead", Keyset::default()).await.unwrap(),
        10_000
    );
    let mut after = Keyset::default();
    let mut ids = Vec::new();
    loop {
        let page = client
            .page("crm.lead", &["name"], after, 333)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Keyset {
            write_date: Some(last.write_date),
            id: last.id,
        };
        ids.extend(page.iter().map(|r| r.id));
        if ids.len() == 5_000 {
            assert_eq!(client.count("crm.lead", after).await.unwrap(), 5_000);
        }
    }
    assert_eq!(ids.len(), 10_000);
    let edited: Vec<i64> = ids.iter().copied().filter(|i| i % 100 == 0).collect();
    assert_eq!(
        &ids[9_900..],
        &edited[..],
        "the 100 edited records come last"
    );
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=10_000).collect::<Vec<_>>());
    let size = g.record(123_456).len();
    assert!(
        (650..=850).contains(&size),
        "a record is ~740 bytes: {size}"
    );
    let parsed: Value = serde_json::from_str(&g.record(7)).unwrap();
    assert_eq!(parsed["write_date"], json!(g.write_date(7)));
}
