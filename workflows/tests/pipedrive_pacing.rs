//! Pipedrive's rate-limit headers slow Tentabo down before a 429: against the stateful
//! peer allowing 5 requests per 2-second window (and saying so in
//! `x-ratelimit-remaining` / `x-ratelimit-reset`), 15 calls in a row are never
//! refused — the client waits for the window's reset once 2 calls are left — and the
//! waits show in the elapsed time. Calls sent all at once, before any answer says what
//! is left, meet 429s and succeed after `Retry-After`.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/pipedrive.rs"]
mod pipedrive;

use std::time::{Duration, Instant};

use pipedrive::PipedrivePeer;
use secrecy::SecretString;
use serde_json::json;
use tentabo_workflows::outbound::Outbound;
use tentabo_workflows::providers::pipedrive::{Auth, Pipedrive, PipedriveSettings};
use tentabo_workflows::providers::registry::{self, ProviderKind};
use tentabo_workflows::retry::RetryPolicy;

fn client(url: &str, reserve: u32) -> Pipedrive {
    let spec = registry::find(ProviderKind::Crm, registry::PIPEDRIVE).unwrap();
    let settings: PipedriveSettings = registry::settings(
        &spec
            .check(
                &json!({ "base_url": url, "rate_limit_reserve": reserve, "max_attempts": 4,
                "rate_limit_per_second": 1000 }),
            )
            .unwrap(),
    )
    .unwrap();
    Pipedrive::new(
        Outbound::standalone(),
        settings,
        Auth::Token(SecretString::from("t".to_owned())),
        RetryPolicy::default(),
    )
}

#[tokio::test]
async fn the_headers_budget_is_kept_without_a_single_429() {
    let peer = PipedrivePeer::start("t").await;
    *peer.state.burst.lock().unwrap() = 5;
    let c = client(&peer.url(), 2);
    let started = Instant::now();
    for _ in 0..15 {
        c.me().await.unwrap();
    }
    assert_eq!(*peer.state.throttled.lock().unwrap(), 0, "never refused");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "15 calls at 5 per 2 s window took {:?}: the client did not wait",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_burst_sent_at_once_meets_429s_and_every_call_succeeds_after_retry_after() {
    let peer = PipedrivePeer::start("t").await;
    *peer.state.burst.lock().unwrap() = 5;
    // Sent at once, before any answer carries the budget: the pause cannot help.
    let c = std::sync::Arc::new(client(&peer.url(), 0));
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.me().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        *peer.state.throttled.lock().unwrap() > 0,
        "parallel calls beyond the budget meet 429s, then succeed after Retry-After"
    );
}
