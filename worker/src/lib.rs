//! The worker process: apalis-redis workers (one per job kind), the outbox relay that
//! feeds them, and the supervision that restarts them when Redis comes back.

pub mod config;
pub mod jobs;
pub mod memory;
pub mod observe;
pub mod ops;
pub mod queues;
pub mod relay;
pub mod runner;
pub mod schedule;
pub mod supervisor;

pub use config::WorkerConfig;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::relay::{Relay, RelayConfig};
use crate::runner::JobContext;
use tentabo_workflows::jobs::JobKind;
use tentabo_workflows::outbound::{CallLog, Outbound, RateLimiter};
use tentabo_workflows::providers::platform::Platform;

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Schema(#[from] tentabo_schema::SchemaError),
    #[error(transparent)]
    Workflow(#[from] tentabo_workflows::WorkflowError),
    #[error("{0}")]
    Schedule(String),
}

/// A running worker process: the relay plus one supervised worker per queue.
pub struct WorkerHandle {
    tasks: JoinSet<()>,
    grace: Duration,
    restarts: Arc<AtomicUsize>,
}

impl WorkerHandle {
    /// How many times a queue worker died and was restarted.
    pub fn restarts(&self) -> usize {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Waits for everything to stop (after the shutdown token is cancelled), at most
    /// the grace period; in-flight jobs finish within it.
    pub async fn wait(mut self) {
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.grace, all).await.is_err() {
            tracing::warn!("shutdown grace period elapsed; abandoning unfinished jobs");
        }
    }
}

/// Serves the process's metrics (relayed rows, finished jobs by outcome, worker
/// restarts) in the Prometheus text format at `http://{addr}/metrics`. One exporter per
/// process: the metrics facade is global.
pub fn serve_metrics(addr: std::net::SocketAddr) -> Result<(), String> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|e| format!("cannot serve worker metrics on {addr}: {e}"))
}

/// What every job run gets: the pool, the providers and the settings, from the
/// configuration (also what [`runner::drain`] runs jobs with in tests).
pub fn job_context(config: &WorkerConfig) -> Result<JobContext, WorkerError> {
    let db = tentabo_schema::db::build_pool(
        config.database_url.expose_secret(),
        config.database_pool_size,
    )?;
    if config.odoo_password.is_some() && config.secrets_key.is_none() {
        return Err(WorkerError::Schedule(
            "TENTABO_ODOO_PASSWORD is stored sealed in provider_configs: set TENTABO_SECRETS_KEY too"
                .into(),
        ));
    }
    let keys = config
        .secrets_key
        .as_ref()
        .map(tentabo_workflows::secrets::KeyRing::parse)
        .transpose()
        .map_err(|e| WorkerError::Schedule(e.to_string()))?
        .map(Arc::new);
    let redis = redis::Client::open(config.redis_url.expose_secret())
        .map_err(|e| WorkerError::Schedule(format!("redis url: {e}")))?;
    let outbound = Outbound::new(
        Some(RateLimiter::new(redis, &config.namespace)),
        CallLog::start(db.clone(), 50_000),
    )
    .map_err(|e| WorkerError::Schedule(e.to_string()))?;
    if let Some(dsn) = &config.sentry_dsn {
        tentabo_workflows::errors_report::install(
            dsn,
            &config.environment,
            "worker",
            outbound.clone(),
        )
        .map_err(WorkerError::Schedule)?;
    }
    let mailer = config
        .smtp_url
        .as_ref()
        .map(|url| {
            tentabo_workflows::notifications::Mailer::new(
                &tentabo_workflows::notifications::MailConfig {
                    url: url.clone(),
                    from: config.mail_from.clone(),
                    timeout: Duration::from_secs(30),
                },
                outbound.clone(),
            )
        })
        .transpose()
        .map_err(|e| WorkerError::Schedule(e.to_string()))?;
    let platform = Platform::new(db.clone(), keys, outbound, config.call_retry_policy())
        .with_bootstrap(config.bootstrap());
    Ok(JobContext {
        db,
        retry: config.retry_policy(),
        platform: Arc::new(platform),
        contract_expiry_days: config.contract_expiry_days,
        renewal_mode: tentabo_workflows::sales::contracts::RenewalMode::parse(&config.renewal_mode)
            .unwrap_or_default(),
        mailer,
        sync: config.sync_options(),
        lease_renewal: (config.run_timeout() / 3).max(Duration::from_millis(100)),
        release_memory: config.release_memory,
        authz: Arc::default(),
    })
}

/// Starts the relay, the workers and the schedules; they run until `shutdown` is
/// cancelled.
pub fn start(
    config: WorkerConfig,
    shutdown: CancellationToken,
) -> Result<WorkerHandle, WorkerError> {
    let ctx = Arc::new(job_context(&config)?);
    let expiry_schedule = schedule::parse(&config.contract_expiry_schedule)?;
    let sync_schedule = schedule::parse(&config.sync_schedule)?;
    let health_schedule = schedule::parse(&config.provider_health_schedule)?;
    let config = Arc::new(config);
    let restarts = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    // The relay has connections of its own: it must not queue behind busy jobs for one.
    let relay_db = tentabo_schema::db::build_pool(config.database_url.expose_secret(), 2)?;
    let relay = Relay::new(
        relay_db,
        config.redis_url.clone(),
        RelayConfig {
            namespace: config.namespace.clone(),
            batch: config.relay_batch,
            backlog_limit: config.backlog_limit,
            interval: config.relay_interval(),
            redeliver_after: config.redeliver_after(),
            run_timeout: config.run_timeout(),
        },
    );
    tasks.spawn(schedule::contract_expiry(
        expiry_schedule,
        ctx.db.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(schedule::provider_health(
        health_schedule,
        ctx.platform.clone(),
        ctx.db.clone(),
        config.call_log_retention_days,
        shutdown.clone(),
    ));
    tasks.spawn(schedule::nightly_sync(
        sync_schedule,
        ctx.db.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(relay.run(shutdown.clone()));
    tasks.spawn(observe::sample_queues(
        ctx.db.clone(),
        Duration::from_secs(config.queue_metrics_interval_secs.max(1)),
        shutdown.clone(),
    ));
    for kind in JobKind::ALL {
        tasks.spawn(supervisor::supervise(
            *kind,
            config.clone(),
            ctx.clone(),
            shutdown.clone(),
            restarts.clone(),
        ));
    }
    Ok(WorkerHandle {
        tasks,
        grace: Duration::from_secs(config.shutdown_grace_secs),
        restarts,
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutdown signal received");
}
