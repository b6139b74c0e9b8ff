//! Schedules (apalis-cron): each tick writes an outbox row whose key is the tick's day,
//! so every worker process may run the schedule and the job still runs once a day;
//! the job itself then goes the durable way (relay → Redis → worker → ledger).

use std::str::FromStr;

use apalis_cron::CronScheduler;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tentabo_schema::DbPool;
use tentabo_workflows::jobs::{self, JobKind, JobRequest, payloads};
use tokio_util::sync::CancellationToken;

use crate::WorkerError;

/// Parses a cron expression (with seconds, UTC).
pub fn parse(expr: &str) -> Result<cron::Schedule, WorkerError> {
    cron::Schedule::from_str(expr)
        .map_err(|e| WorkerError::Schedule(format!("bad cron expression `{expr}`: {e}")))
}

/// The outbox row of the contract-expiry scan for `day`.
pub fn expiry_scan_job(day: DateTime<Utc>) -> JobRequest {
    let day = day.format("%Y-%m-%d").to_string();
    let key = format!("{}:{day}", JobKind::ContractExpiryScan.queue());
    JobRequest::new(
        &payloads::ContractExpiryScan {
            day,
            within_days: None,
        },
        key,
    )
}

/// The outbox row of the directory sync for `day`.
pub fn directory_sync_job(day: DateTime<Utc>) -> JobRequest {
    let day = day.format("%Y-%m-%d").to_string();
    let key = format!("{}:{day}", JobKind::DirectorySync.queue());
    JobRequest::new(&payloads::DirectorySync { day }, key)
}

/// Runs the contract-expiry schedule until `shutdown`.
pub async fn contract_expiry(schedule: cron::Schedule, db: DbPool, shutdown: CancellationToken) {
    on_ticks(schedule, shutdown, move |at| {
        let db = db.clone();
        async move {
        let job = expiry_scan_job(at);
        let mut conn = db.get().await?;
        let ids = jobs::enqueue(&mut conn, std::slice::from_ref(&job)).await?;
        tracing::info!(key = %job.idempotency_key(), new = !ids.is_empty(), "contract expiry scan scheduled");
        Ok(())
        }
    })
    .await;
}

/// Checks every configured provider (a live call each, recorded as its health:
/// healthy | degraded | offline, from the call and this process's breaker) and prunes
/// the call log past its retention. Every worker process runs it: each reports what it
/// sees, and a provider's latest check wins.
pub async fn provider_health(
    schedule: cron::Schedule,
    platform: std::sync::Arc<tentabo_workflows::providers::platform::Platform>,
    db: DbPool,
    retention_days: i32,
    shutdown: CancellationToken,
) {
    on_ticks(schedule, shutdown, move |_| {
        let platform = platform.clone();
        let db = db.clone();
        async move {
            let checked = platform.check_all().await?;
            let mut conn = db.get().await?;
            let pruned =
                tentabo_workflows::outbound::calllog::prune(&mut conn, retention_days).await?;
            tracing::info!(checked, pruned, "provider health checked");
            Ok(())
        }
    })
    .await;
}

/// The nightly incremental syncs: Pennylane's invoices when Pennylane is the active
/// billing provider, Pipedrive's deals, inbox items, persons, organizations and
/// activities when Pipedrive is the active CRM, every Odoo model when an ERP source is
/// active; one run per source per day (the outbox key is the source and the date, so several workers schedule it
/// once).
pub async fn nightly_sync(schedule: cron::Schedule, db: DbPool, shutdown: CancellationToken) {
    on_ticks(schedule, shutdown, move |at| {
        let db = db.clone();
        async move {
            let day = at.format("%Y-%m-%d");
            let mut conn = db.get().await?;
            use tentabo_workflows::providers::{ProviderKind, registry, store};
            // Invoices and their payments come back from the active billing provider.
            if store::active(&mut conn, ProviderKind::Billing)
                .await?
                .is_some_and(|p| p.name == registry::PENNYLANE)
            {
                let key = format!("sync_run:pennylane:invoices:{day}");
                match tentabo_workflows::pipeline::pennylane::request(
                    &mut conn,
                    tentabo_workflows::pipeline::run::Mode::Incremental,
                    None,
                    Some(key),
                )
                .await
                {
                    Ok(id) => {
                        tracing::info!(run_id = %id, "nightly Pennylane invoice sync scheduled")
                    }
                    Err(tentabo_workflows::WorkflowError::Conflict { .. }) => {
                        tracing::info!("a Pennylane invoice sync is already queued or running");
                    }
                    Err(e) => return Err(e),
                }
            }
            // What changed in the active CRM (Pipedrive): what a lost webhook missed.
            if store::active(&mut conn, ProviderKind::Crm)
                .await?
                .is_some_and(|p| p.name == registry::PIPEDRIVE)
            {
                use tentabo_workflows::pipeline::pipedrive::{self, Source};
                for source in Source::ALL {
                    let key = format!("sync_run:pipedrive:{}:{day}", source.as_str());
                    match pipedrive::request(
                        &mut conn,
                        source,
                        tentabo_workflows::pipeline::run::Mode::Incremental,
                        None,
                        Some(key),
                    )
                    .await
                    {
                        Ok(id) => tracing::info!(source = source.as_str(), run_id = %id, "nightly Pipedrive sync scheduled"),
                        Err(tentabo_workflows::WorkflowError::Conflict { .. }) => {
                            tracing::info!(source = source.as_str(), "a Pipedrive sync of this source is already queued or running");
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            // The directory's users: the gone and the unmapped are disabled.
            if let Some(row) = store::active(&mut conn, ProviderKind::Auth).await?
                && row.name == registry::LDAP
                && row
                    .configuration
                    .get("nightly_sync")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(true)
            {
                let job = directory_sync_job(at);
                let ids = jobs::enqueue(&mut conn, std::slice::from_ref(&job)).await?;
                tracing::info!(key = %job.idempotency_key(), new = !ids.is_empty(), "nightly directory sync scheduled");
            }
            if store::active_stamp(&mut conn, ProviderKind::Erp)
                .await?
                .is_none()
            {
                tracing::info!("no ERP source is active; no nightly Odoo sync");
                return Ok(());
            }
            for (model, _) in tentabo_workflows::pipeline::odoo::MODELS {
                let key = format!("sync_run:odoo:{model}:{day}");
                match tentabo_workflows::pipeline::run::request(
                    &mut conn,
                    model,
                    tentabo_workflows::pipeline::run::Mode::Incremental,
                    None,
                    Some(key),
                )
                .await
                {
                    Ok(id) => tracing::info!(%model, run_id = %id, "nightly sync scheduled"),
                    Err(tentabo_workflows::WorkflowError::Conflict { .. }) => {
                        tracing::info!(%model, "a sync of this model is already queued or running");
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
    })
    .await;
}

/// Calls `on_tick` at every tick of `schedule` (UTC) until `shutdown`; a failed tick is
/// logged and the schedule goes on.
async fn on_ticks<F, Fut>(schedule: cron::Schedule, shutdown: CancellationToken, on_tick: F)
where
    F: Fn(DateTime<Utc>) -> Fut,
    Fut: std::future::Future<Output = Result<(), tentabo_workflows::WorkflowError>> + Send,
{
    let mut ticks = Box::pin(CronScheduler::new(schedule).into_stream());
    loop {
        let tick = tokio::select! {
            () = shutdown.cancelled() => return,
            t = ticks.next() => t,
        };
        let Some(tick) = tick else { return };
        let at = match tick {
            Ok(t) => i64::try_from(t.get_timestamp())
                .ok()
                .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
                .unwrap_or_else(Utc::now),
            Err(e) => {
                tracing::warn!(error = %e, "contract expiry schedule tick failed");
                continue;
            }
        };
        if let Err(e) = on_tick(at).await {
            tracing::error!(error = %e, "a scheduled job could not be enqueued");
        }
    }
}
