//! Gauges and counters the worker exports for dashboards and alerts (see
//! `deploy/prometheus/alerts.yml` and `deploy/grafana/tentabo.json`): queue depths by
//! state and the outbox's lag, sampled periodically; each sync run's records and time per
//! stage, once it ended.

use std::time::Duration;

use tentabo_schema::db::DbPool;
use tentabo_workflows::pipeline::run::RunView;
use tokio_util::sync::CancellationToken;

/// Every `every`, the jobs per queue and state (`tentabo_jobs`) and how long the oldest
/// due job has waited (`tentabo_outbox_lag_seconds`). Every worker process exports the
/// same figures (they are the database's): aggregate them with `max`.
pub async fn sample_queues(db: DbPool, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = sample(&db).await {
            tracing::warn!(error = %e, "queue metrics not sampled");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

async fn sample(db: &DbPool) -> Result<(), tentabo_workflows::WorkflowError> {
    let mut conn = db.get().await?;
    for q in tentabo_workflows::jobs::queue_counts(&mut conn).await? {
        for (state, n) in [
            ("pending", q.pending),
            ("retrying", q.retrying),
            ("enqueued", q.enqueued),
            ("running", q.running),
            ("dead", q.dead),
            ("discarded", q.discarded),
        ] {
            metrics::gauge!("tentabo_jobs", "queue" => q.queue.clone(), "state" => state)
                .set(n as f64);
        }
    }
    let lag = tentabo_workflows::jobs::outbox_lag_seconds(&mut conn).await?;
    metrics::gauge!("tentabo_outbox_lag_seconds").set(lag);
    Ok(())
}

/// A finished run's figures: `tentabo_sync_runs_total{provider,entity,status}`,
/// `tentabo_sync_records_total{…,stage}` (fetched, unchanged, loaded, quarantined,
/// deleted) and the histogram `tentabo_sync_stage_seconds{…,stage}` (connector,
/// mapper, validator, normalizer, loader: the run's time in each, from its timings).
pub fn sync_run(run: &RunView) {
    let labels = |extra: (&'static str, String)| {
        [
            ("provider", run.provider.clone()),
            ("entity", run.entity.clone()),
            extra,
        ]
    };
    metrics::counter!(
        "tentabo_sync_runs_total",
        &labels(("status", run.status.clone()))
    )
    .increment(1);
    for (stage, n) in [
        ("fetched", run.fetched),
        ("unchanged", run.unchanged),
        ("loaded", run.loaded),
        ("quarantined", run.quarantined),
        ("deleted", run.deleted),
    ] {
        metrics::counter!(
            "tentabo_sync_records_total",
            &labels(("stage", stage.to_owned()))
        )
        .increment(u64::try_from(n).unwrap_or(0));
    }
    if let Some(timings) = run.timings.as_object() {
        for (stage, micros) in timings {
            if let Some(us) = micros.as_f64() {
                metrics::histogram!(
                    "tentabo_sync_stage_seconds",
                    &labels(("stage", stage.clone()))
                )
                .record(us / 1e6);
            }
        }
    }
}
