//! Process set-up shared by both binaries: the optional configuration file and logs.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Loads `TENTABO_CONFIG_FILE` (KEY=value lines) if set. Variables already in the
/// environment win over the file.
pub fn load_config_file() -> Result<(), String> {
    match std::env::var_os("TENTABO_CONFIG_FILE") {
        Some(path) => dotenvy::from_path(&path).map_err(|e| {
            format!(
                "cannot read TENTABO_CONFIG_FILE {}: {e}",
                path.to_string_lossy()
            )
        }),
        None => Ok(()),
    }
}

/// Logs to stderr: JSON lines by default, `TENTABO_LOG_FORMAT=pretty` for humans;
/// level from `RUST_LOG`. Safe to call more than once (tests build several apps).
pub fn init_logs(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let pretty = std::env::var("TENTABO_LOG_FORMAT").is_ok_and(|v| v == "pretty");
    let registry = tracing_subscriber::registry().with(filter);
    let _already_set = if pretty {
        registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
}
