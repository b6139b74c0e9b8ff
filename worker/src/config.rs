//! Typed worker configuration from the environment / flags.

use std::time::Duration;
use tentabo_workflows::pipeline::load::ConflictPolicy;

use secrecy::SecretString;

#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    /// Postgres URL.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: SecretString,
    /// Maximum Postgres connections of this process.
    #[arg(
        long = "database-pool-size",
        env = "DATABASE_POOL_SIZE",
        default_value_t = 16
    )]
    pub database_pool_size: usize,
    /// Redis URL.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: SecretString,
    /// Prefix of every queue key.
    #[arg(
        long = "redis-namespace",
        env = "TENTABO_REDIS_NAMESPACE",
        default_value = "tentabo"
    )]
    pub namespace: String,
    /// Jobs run at once per queue.
    #[arg(
        long = "concurrency",
        env = "TENTABO_WORKER_CONCURRENCY",
        default_value_t = 16
    )]
    pub concurrency: usize,
    /// Largest number of jobs the relay lets wait in one Redis queue. apalis-redis
    /// cannot fetch when more than about 8,000 jobs of a queue are due at once; the
    /// relay keeps the backlog far below that and leaves the rest in Postgres.
    #[arg(
        long = "queue-backlog-limit",
        env = "TENTABO_QUEUE_BACKLOG_LIMIT",
        default_value_t = 2_000
    )]
    pub backlog_limit: usize,
    /// Outbox rows the relay moves per claim.
    #[arg(
        long = "relay-batch",
        env = "TENTABO_RELAY_BATCH",
        default_value_t = 500
    )]
    pub relay_batch: usize,
    /// How often the relay looks for due rows when idle (milliseconds). An idle round is
    /// one index-only query, so this can be short: it bounds how long a transition's
    /// effect waits before it reaches Redis.
    #[arg(
        long = "relay-interval-ms",
        env = "TENTABO_RELAY_INTERVAL_MS",
        default_value_t = 10
    )]
    pub relay_interval_ms: u64,
    /// How often an idle worker asks Redis for jobs (milliseconds).
    #[arg(
        long = "poll-interval-ms",
        env = "TENTABO_POLL_INTERVAL_MS",
        default_value_t = 20
    )]
    pub poll_interval_ms: u64,
    /// A job handed to Redis but not started after this long is handed over again
    /// (seconds); Redis may have lost it.
    #[arg(
        long = "redeliver-after-secs",
        env = "TENTABO_REDELIVER_AFTER_SECS",
        default_value_t = 120
    )]
    pub redeliver_after_secs: u64,
    /// A running job whose worker stopped renewing its lease (renewed every third of
    /// this) for this long is considered lost and handed back (seconds).
    #[arg(
        long = "run-timeout-secs",
        env = "TENTABO_RUN_TIMEOUT_SECS",
        default_value_t = 900
    )]
    pub run_timeout_secs: u64,
    /// First retry delay of a failed job (milliseconds); doubles per attempt, ±30 % jitter.
    #[arg(
        long = "retry-initial-ms",
        env = "TENTABO_RETRY_INITIAL_MS",
        default_value_t = 2_000
    )]
    pub retry_initial_ms: u64,
    /// Longest retry delay of a failed job (seconds).
    #[arg(
        long = "retry-max-secs",
        env = "TENTABO_RETRY_MAX_SECS",
        default_value_t = 900
    )]
    pub retry_max_secs: u64,
    /// Where the worker serves its Prometheus metrics (`/metrics`); each worker process
    /// on a host needs its own address.
    #[arg(
        long = "metrics-bind",
        env = "TENTABO_WORKER_METRICS_BIND",
        default_value = "127.0.0.1:9091"
    )]
    pub metrics_bind: Option<std::net::SocketAddr>,
    /// How often the queue depths and the outbox lag are sampled for `/metrics` (seconds).
    #[arg(
        long = "queue-metrics-interval-secs",
        env = "TENTABO_QUEUE_METRICS_INTERVAL_SECS",
        default_value_t = 15
    )]
    pub queue_metrics_interval_secs: u64,
    /// Report dead jobs (with their job id and queue) to this Sentry-compatible DSN
    /// (`https://KEY@host/PROJECT`); unset: off.
    #[arg(
        long = "sentry-dsn",
        env = "TENTABO_SENTRY_DSN",
        hide_env_values = true
    )]
    pub sentry_dsn: Option<SecretString>,
    /// The environment name error reports carry.
    #[arg(
        long = "environment",
        env = "TENTABO_ENVIRONMENT",
        default_value = "production"
    )]
    pub environment: String,
    /// The key ring credentials are sealed with (`id:base64key[,id:key…]`, the first
    /// seals): needed to read providers configured with credentials.
    #[arg(
        long = "secrets-key",
        env = "TENTABO_SECRETS_KEY",
        hide_env_values = true
    )]
    pub secrets_key: Option<SecretString>,
    /// The CRM provider written into an empty provider table at first start (the
    /// database is the truth after that: see `/api/v1/providers`).
    #[arg(
        long = "crm-provider",
        env = "TENTABO_CRM_PROVIDER",
        default_value = "recording"
    )]
    pub crm_provider: String,
    /// The billing provider written into an empty provider table at first start.
    #[arg(
        long = "billing-provider",
        env = "TENTABO_BILLING_PROVIDER",
        default_value = "recording"
    )]
    pub billing_provider: String,
    /// The nightly contract-expiry scan flags active contracts expiring within this
    /// many days.
    #[arg(
        long = "contract-expiry-days",
        env = "TENTABO_CONTRACT_EXPIRY_DAYS",
        default_value_t = 30
    )]
    pub contract_expiry_days: i32,
    /// What the scan does for a contract due for renewal: `draft` a renewal order (the
    /// same basket at today's prices, for the sales staff to review) and notify, or
    /// `flag` it and notify only.
    #[arg(
        long = "renewal-mode",
        env = "TENTABO_RENEWAL_MODE",
        default_value = "draft",
        value_parser = ["draft", "flag"]
    )]
    pub renewal_mode: String,
    /// The SMTP server notifications are emailed through: `smtp://host:25` (plain, a
    /// local relay), `smtp://user:password@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465`. Unset: notifications stay in the console and
    /// their email is recorded as skipped.
    #[arg(long = "smtp-url", env = "TENTABO_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,
    /// The sender of notification emails.
    #[arg(
        long = "mail-from",
        env = "TENTABO_MAIL_FROM",
        default_value = "Tentabo <no-reply@tentabo.invalid>"
    )]
    pub mail_from: String,
    /// When the contract-expiry scan runs: a cron expression with seconds, in UTC.
    #[arg(
        long = "contract-expiry-schedule",
        env = "TENTABO_CONTRACT_EXPIRY_SCHEDULE",
        default_value = "0 0 2 * * *"
    )]
    pub contract_expiry_schedule: String,
    /// The Odoo server written into an empty provider table at first start
    /// (`https://erp.example.com`); after that the `erp` provider's configuration is used.
    #[arg(long = "odoo-url", env = "TENTABO_ODOO_URL")]
    pub odoo_url: Option<String>,
    #[arg(
        long = "odoo-database",
        env = "TENTABO_ODOO_DATABASE",
        default_value = ""
    )]
    pub odoo_database: String,
    #[arg(long = "odoo-login", env = "TENTABO_ODOO_LOGIN", default_value = "")]
    pub odoo_login: String,
    /// The Odoo password or API key (a secret: never printed).
    #[arg(
        long = "odoo-password",
        env = "TENTABO_ODOO_PASSWORD",
        hide_env_values = true
    )]
    pub odoo_password: Option<SecretString>,
    /// Records per sync page.
    #[arg(
        long = "sync-page-size",
        env = "TENTABO_SYNC_PAGE_SIZE",
        default_value_t = 1_000
    )]
    pub sync_page_size: usize,
    /// How far an incremental sync re-reads behind the watermark (seconds).
    #[arg(
        long = "sync-look-back-secs",
        env = "TENTABO_SYNC_LOOK_BACK_SECS",
        default_value_t = 300
    )]
    pub sync_look_back_secs: u64,
    /// What a sync does with a record changed in the source and edited locally since:
    /// `source_wins`, `local_wins` or `manual` (kept local, pending a decision).
    #[arg(
        long = "sync-conflict-policy",
        env = "TENTABO_SYNC_CONFLICT_POLICY",
        default_value = "source_wins",
        value_parser = parse_conflict_policy
    )]
    pub sync_conflict_policy: ConflictPolicy,
    /// Connections a sync run loads pages on at once: 2 (page k+1 loads while page k
    /// does; pages still commit in order) or 1.
    #[arg(
        long = "sync-lanes",
        env = "TENTABO_SYNC_LANES",
        default_value_t = 2,
        value_parser = clap::value_parser!(u8).range(1..=2)
    )]
    pub sync_lanes: u8,

    /// The installation's country (ISO 3166-1 alpha-2): the region of national phone
    /// numbers whose record names no country and whose provider sets no default.
    #[arg(
        long = "default-country",
        env = "TENTABO_DEFAULT_COUNTRY",
        value_parser = tentabo_workflows::pipeline::policy::parse_country
    )]
    pub default_country: Option<String>,

    /// Bound the allocator (two malloc arenas) and hand its free pages back to the system
    /// once a sync run ends (glibc keeps them otherwise, and the resident set ratchets up
    /// run after run).
    #[arg(
        long = "release-memory",
        env = "TENTABO_WORKER_RELEASE_MEMORY",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub release_memory: bool,
    /// When the nightly incremental syncs run: a cron expression with seconds, in UTC.
    #[arg(
        long = "sync-schedule",
        env = "TENTABO_SYNC_SCHEDULE",
        default_value = "0 30 1 * * *"
    )]
    pub sync_schedule: String,
    /// When every configured provider is checked (a cron expression with seconds, UTC).
    #[arg(
        long = "provider-health-schedule",
        env = "TENTABO_PROVIDER_HEALTH_SCHEDULE",
        default_value = "0 */5 * * * *"
    )]
    pub provider_health_schedule: String,
    /// Days the provider call log is kept.
    #[arg(
        long = "call-log-retention-days",
        env = "TENTABO_CALL_LOG_RETENTION_DAYS",
        default_value_t = 30
    )]
    pub call_log_retention_days: i32,
    /// Grace period for in-flight jobs at shutdown (seconds).
    #[arg(
        long = "shutdown-grace-secs",
        env = "TENTABO_SHUTDOWN_GRACE_SECS",
        default_value_t = 30
    )]
    pub shutdown_grace_secs: u64,
}

fn parse_conflict_policy(s: &str) -> Result<ConflictPolicy, String> {
    ConflictPolicy::parse(s)
        .ok_or_else(|| format!("`{s}`: expected source_wins, local_wins or manual"))
}

impl WorkerConfig {
    /// How sync runs read and load.
    pub fn sync_options(&self) -> tentabo_workflows::pipeline::run::Options {
        tentabo_workflows::pipeline::run::Options {
            page_size: self.sync_page_size,
            look_back: Duration::from_secs(self.sync_look_back_secs),
            conflicts: self.sync_conflict_policy,
            lanes: usize::from(self.sync_lanes),
            default_country: self.default_country.clone(),
        }
    }

    pub fn relay_interval(&self) -> Duration {
        Duration::from_millis(self.relay_interval_ms)
    }
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
    pub fn redeliver_after(&self) -> Duration {
        Duration::from_secs(self.redeliver_after_secs)
    }
    pub fn retry_policy(&self) -> tentabo_workflows::retry::RetryPolicy {
        tentabo_workflows::retry::RetryPolicy {
            initial: Duration::from_millis(self.retry_initial_ms),
            max: Duration::from_secs(self.retry_max_secs),
            ..Default::default()
        }
    }
    /// Retries inside one provider call (the outbound layer's): short, so a job that
    /// meets a longer outage fails over to its own, slower retries.
    pub fn call_retry_policy(&self) -> tentabo_workflows::retry::RetryPolicy {
        tentabo_workflows::retry::RetryPolicy {
            initial: Duration::from_millis(self.retry_initial_ms.min(200)),
            max: Duration::from_secs(self.retry_max_secs.min(10)),
            retry_after_cap: Duration::from_secs(30),
            ..Default::default()
        }
    }
    /// The providers this configuration names, for an empty provider table.
    pub fn bootstrap(&self) -> Vec<tentabo_workflows::providers::platform::Bootstrap> {
        use tentabo_workflows::providers::{ProviderKind, platform::Bootstrap};
        let mut out = vec![
            Bootstrap {
                kind: ProviderKind::Crm,
                name: self.crm_provider.clone(),
                configuration: serde_json::json!({}),
                credentials: Default::default(),
            },
            Bootstrap {
                kind: ProviderKind::Billing,
                name: self.billing_provider.clone(),
                configuration: serde_json::json!({}),
                credentials: Default::default(),
            },
        ];
        if let Some(url) = &self.odoo_url {
            out.push(Bootstrap {
                kind: ProviderKind::Erp,
                name: "odoo".into(),
                configuration: serde_json::json!({
                    "url": url,
                    "database": self.odoo_database,
                    "login": self.odoo_login,
                }),
                credentials: self
                    .odoo_password
                    .iter()
                    .map(|p| ("password".to_owned(), p.clone()))
                    .collect(),
            });
        }
        out
    }
    pub fn run_timeout(&self) -> Duration {
        Duration::from_secs(self.run_timeout_secs)
    }
}
