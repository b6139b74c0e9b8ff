//! Typed configuration, read from the environment (and command-line flags). Secrets are
//! wrapped in `SecretString`: their `Debug` prints `[REDACTED]`.

use std::net::SocketAddr;

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
    /// Prefix of every queue key, so several deployments (or tests) can share a server.
    #[arg(
        id = "redis_namespace",
        long = "redis-namespace",
        env = "TENTABO_REDIS_NAMESPACE",
        default_value = "tentabo"
    )]
    pub namespace: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ApiConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    /// Address the API listens on.
    #[arg(
        long = "bind",
        env = "TENTABO_API_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: SocketAddr,
}
