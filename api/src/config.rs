//! Typed configuration, read from the environment (and command-line flags). Secrets are
//! wrapped in `SecretString`: their `Debug` prints `[REDACTED]`.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// Postgres URL, e.g. postgres://tentabo@127.0.0.1:5432/tentabo
    #[arg(
        id = "database_url",
        long = "database-url",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub url: SecretString,
    /// Maximum connections in the pool.
    #[arg(
        id = "database_pool_size",
        long = "database-pool-size",
        env = "DATABASE_POOL_SIZE",
        default_value_t = 32
    )]
    pub pool_size: usize,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RedisConfig {
    /// Redis URL, e.g. redis://127.0.0.1:6379/0
    #[arg(
        id = "redis_url",
        long = "redis-url",
        env = "REDIS_URL",
        hide_env_values = true
    )]
    pub url: SecretString,
    /// Prefix of every key, so several deployments (or tests) can share a server.
    #[arg(
        id = "redis_namespace",
        long = "redis-namespace",
        env = "TENTABO_REDIS_NAMESPACE",
        default_value = "tentabo"
    )]
    pub namespace: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// Secret that signs access tokens (HS256), at least 32 bytes.
    #[arg(
        long = "jwt-secret",
        env = "TENTABO_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: SecretString,
    /// Lifetime of an access token (seconds).
    #[arg(
        long = "access-token-ttl-secs",
        env = "TENTABO_ACCESS_TOKEN_TTL_SECS",
        default_value_t = 900
    )]
    pub access_ttl_secs: u64,
    /// Lifetime of a session / refresh token (seconds).
    #[arg(long = "refresh-token-ttl-secs", env = "TENTABO_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_ttl_secs: u64,
    /// Failed logins allowed per account per window.
    #[arg(
        long = "login-max-failures",
        env = "TENTABO_LOGIN_MAX_FAILURES",
        default_value_t = 5
    )]
    pub login_max_failures: u64,
    /// The per-account window (seconds).
    #[arg(
        long = "login-failure-window-secs",
        env = "TENTABO_LOGIN_FAILURE_WINDOW_SECS",
        default_value_t = 900
    )]
    pub login_failure_window_secs: u64,
    /// Login attempts allowed per client address per window.
    #[arg(
        long = "login-max-per-ip",
        env = "TENTABO_LOGIN_MAX_PER_IP",
        default_value_t = 30
    )]
    pub login_max_per_ip: u64,
    /// The per-address window (seconds).
    #[arg(
        long = "login-ip-window-secs",
        env = "TENTABO_LOGIN_IP_WINDOW_SECS",
        default_value_t = 60
    )]
    pub login_ip_window_secs: u64,
    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(
        long = "trust-forwarded-for",
        env = "TENTABO_TRUST_FORWARDED_FOR",
        default_value_t = false
    )]
    pub trust_forwarded_for: bool,
}

impl AuthConfig {
    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_ttl_secs)
    }
    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_ttl_secs)
    }
    pub fn limits(&self) -> crate::ratelimit::Limits {
        crate::ratelimit::Limits {
            max_failures_per_account: self.login_max_failures,
            account_window: Duration::from_secs(self.login_failure_window_secs),
            max_attempts_per_ip: self.login_max_per_ip,
            ip_window: Duration::from_secs(self.login_ip_window_secs),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ApiConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    /// Address the API listens on.
    #[arg(
        long = "bind",
        env = "TENTABO_API_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: SocketAddr,
    /// The installation's country (ISO 3166-1 alpha-2): the region of national phone
    /// numbers when a quarantined record is retried (as the worker's setting of the
    /// same name does for sync runs).
    #[arg(
        long = "default-country",
        env = "TENTABO_DEFAULT_COUNTRY",
        value_parser = tentabo_workflows::pipeline::policy::parse_country
    )]
    pub default_country: Option<String>,
    /// Mapping proposals at or above this confidence (0 to 1) are approved without a
    /// person; the rest wait for one.
    #[arg(
        long = "mapping-auto-approve",
        env = "TENTABO_MAPPING_AUTO_APPROVE",
        default_value_t = tentabo_workflows::mapping::store::DEFAULT_AUTO_APPROVE,
        value_parser = parse_share
    )]
    pub mapping_auto_approve: f64,
    /// Bearer token that `/metrics` requires; unset, `/metrics` is off (404) on the
    /// API's address, so the public listener never hands its figures to anyone.
    #[arg(
        long = "metrics-token",
        env = "TENTABO_METRICS_TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<SecretString>,
    /// The key ring provider credentials are sealed with (`id:base64key[,id:key…]`;
    /// the first seals, the others still open older values — see `secrets rotate`).
    #[arg(
        long = "secrets-key",
        env = "TENTABO_SECRETS_KEY",
        hide_env_values = true
    )]
    pub secrets_key: Option<SecretString>,
    /// Report server errors (with their request id) to this Sentry-compatible DSN
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
    /// How long a request may take before it answers 503 `request_timeout` (ms).
    #[arg(
        long = "request-timeout-ms",
        env = "TENTABO_REQUEST_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub request_timeout_ms: u64,
    #[command(flatten)]
    pub limits: LimitsConfig,
    #[command(flatten)]
    pub console: ConsoleConfig,
}

/// The web console served beside the API, and how its session cookie is set.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleConfig {
    /// The built console (`web/dist`), served at `/` with the API on the same origin;
    /// unset, only the API is served.
    #[arg(long = "console-dir", env = "TENTABO_CONSOLE_DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// Mark the console's refresh cookie `Secure` (sent over HTTPS only). Turn off only
    /// for plain HTTP on loopback (`./dev up`, the end-to-end tests).
    #[arg(
        long = "cookie-secure",
        env = "TENTABO_COOKIE_SECURE",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub cookie_secure: bool,
    /// Demo mode: the login page lists the demo logins (`seed-demo`'s, password
    /// `demo123`). Never on in production.
    #[arg(
        long = "demo",
        env = "TENTABO_DEMO",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub demo: bool,
}

impl Default for ConsoleConfig {
    /// No console, secure cookies, no demo logins (what the tests' API starts with).
    fn default() -> Self {
        ConsoleConfig {
            dir: None,
            cookie_secure: true,
            demo: false,
        }
    }
}

/// Sane business ranges for what people type (see `tentabo_workflows::limits`).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitsConfig {
    /// Most units on one order or quote line.
    #[arg(
        long = "max-line-quantity",
        env = "TENTABO_MAX_LINE_QUANTITY",
        default_value_t = 1_000_000
    )]
    pub max_line_quantity: u64,
    /// Largest amount a person may type (a lead's value), a decimal string.
    #[arg(
        long = "max-amount",
        env = "TENTABO_MAX_AMOUNT",
        default_value = "1000000000000"
    )]
    pub max_amount: rust_decimal::Decimal,
    /// No business date (a lead's expected close) before this day.
    #[arg(
        long = "earliest-date",
        env = "TENTABO_EARLIEST_DATE",
        default_value = "2000-01-01"
    )]
    pub earliest_date: chrono::NaiveDate,
    /// No business date more than this many years ahead.
    #[arg(
        long = "max-years-ahead",
        env = "TENTABO_MAX_YEARS_AHEAD",
        default_value_t = 30
    )]
    pub max_years_ahead: u32,
}

impl LimitsConfig {
    pub fn business_limits(&self) -> tentabo_workflows::limits::BusinessLimits {
        tentabo_workflows::limits::BusinessLimits {
            max_line_quantity: self.max_line_quantity,
            max_amount: self.max_amount,
            earliest_date: self.earliest_date,
            max_years_ahead: self.max_years_ahead,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let d = tentabo_workflows::limits::BusinessLimits::default();
        LimitsConfig {
            max_line_quantity: d.max_line_quantity,
            max_amount: d.max_amount,
            earliest_date: d.earliest_date,
            max_years_ahead: d.max_years_ahead,
        }
    }
}

/// A number in [0, 1].
fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a number between 0 and 1")),
    }
}
