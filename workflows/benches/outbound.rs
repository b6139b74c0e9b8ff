//! Calls per second through the outbound layer against bare `reqwest`, to the same
//! local peer, 64 calls in flight: the layer's cost (breaker, retry driver, call-log row
//! handed to its writer, metrics) and, separately, with the Redis-shared rate limit
//! switched on at a rate too high to bind (its Redis round trip per call). The target:
//! at least 50 % of bare. Every call-log row is checked written at the end.
//!
//!   ./dev bench -p tentabo-workflows --bench outbound      (TENTABO_BENCH_CALLS: calls per round)

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use tentabo_workflows::outbound::{
    BreakerSettings, CallLog, Endpoint, Outbound, Rate, RateLimiter, Request,
};
use tentabo_workflows::retry::RetryPolicy;

const CONCURRENCY: usize = 64;

async fn peer() -> String {
    let app = axum::Router::new().route(
        "/ping",
        axum::routing::get(|| async {
            axum::Json(
                serde_json::json!({ "ok": true, "id": 2147483901_i64, "status": "upcoming" }),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn bare(client: &reqwest::Client, url: &str, calls: usize) -> f64 {
    let started = Instant::now();
    futures::stream::iter(0..calls)
        .map(|_| async {
            let res = client
                .get(format!("{url}/ping"))
                .send()
                .await
                .expect("call");
            assert!(res.status().is_success());
            res.bytes().await.expect("body");
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    calls as f64 / started.elapsed().as_secs_f64()
}

async fn layered(outbound: &Outbound, ep: &Endpoint, calls: usize) -> f64 {
    let started = Instant::now();
    futures::stream::iter(0..calls)
        .map(|_| async {
            let res = outbound
                .send(ep, &Request::get("/ping"))
                .await
                .expect("call");
            assert!(res.is_success());
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    calls as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("TENTABO_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let url = peer().await;
    let db = support::TestDb::new().await;
    let redis = support::TestRedis::new();
    let pool = tentabo_schema::db::build_pool(&db.url, 4).expect("pool");
    let plain = Outbound::new(None, CallLog::start(pool.clone(), 50_000)).expect("layer");
    let limiter = RateLimiter::new(
        redis::Client::open(redis.url.as_str()).expect("redis"),
        &redis.namespace,
    );
    let limited = Outbound::new(Some(limiter), CallLog::start(pool, 50_000)).expect("layer");
    let endpoint = |rate: Option<Rate>| Endpoint {
        provider: "bench".into(),
        base_url: url.clone(),
        timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
        max_attempts: 3,
        rate,
        pacing: None,
        breaker: BreakerSettings::default(),
    };
    let ep = endpoint(None);
    let ep_limited = endpoint(Some(Rate {
        per_second: 1_000_000.0,
        burst: 1_000,
    }));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");

    // Warm-up: connections open, code paths hot.
    bare(&client, &url, 2_000).await;
    layered(&plain, &ep, 2_000).await;
    layered(&limited, &ep_limited, 2_000).await;

    let (mut b, mut p, mut l) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        b.push(bare(&client, &url, calls).await);
        p.push(layered(&plain, &ep, calls).await);
        l.push(layered(&limited, &ep_limited, calls).await);
    }
    let (b, p, l) = (median(b), median(p), median(l));
    plain.call_log().flush().await;
    limited.call_log().flush().await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel_async::RunQueryDsl;
    let rows: N = diesel::sql_query("SELECT count(*) AS n FROM provider_call_log")
        .get_result(&mut db.conn().await)
        .await
        .expect("count");
    // Warm-ups included (the bare client's leave no row).
    let expected = (4_000 + 6 * calls) as i64;
    println!(
        "outbound layer, {calls} calls per round, {CONCURRENCY} in flight, median of 3 rounds:"
    );
    println!("  bare reqwest:                          {b:>9.0} calls/s");
    println!(
        "  outbound layer (breaker, retry driver, call log, metrics): {p:>9.0} calls/s  = {:.0} % of bare (target ≥ 50 %)",
        100.0 * p / b
    );
    println!(
        "  + Redis-shared rate limit (not binding): {l:>9.0} calls/s  = {:.0} % of bare",
        100.0 * l / b
    );
    println!("  call-log rows written: {} of {expected}", rows.n);
}
