//! `tentabo-worker`: runs jobs, the outbox relay and (later) the schedules.

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use tentabo_worker::config::WorkerConfig;
use tentabo_workflows::jobs::JobRequest;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "tentabo-worker",
    version,
    about = "Tentabo's job worker, outbox relay and schedules."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the workers and the outbox relay until SIGTERM / Ctrl-C.
    Run(WorkerConfig),
    /// Job operations.
    #[command(subcommand)]
    Jobs(JobsCommand),
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Enqueue a no-op job through the outbox, to check the whole path end to end.
    Ping(WorkerConfig),
}

fn main() -> anyhow::Result<()> {
    tentabo_workflows::telemetry::load_config_file().map_err(anyhow::Error::msg)?;
    let cli = Cli::parse();
    // Before any thread allocates: the allocator's arenas are bounded from the start.
    if let Command::Run(config) = &cli.command
        && config.release_memory
    {
        tentabo_worker::memory::limit_arenas();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> anyhow::Result<()> {
    tentabo_workflows::telemetry::init_logs("info");
    match cli.command {
        Command::Run(config) => run(config).await,
        Command::Jobs(JobsCommand::Ping(config)) => {
            let db = tentabo_schema::db::build_pool(config.database_url.expose_secret(), 1)?;
            let mut conn = db.get().await?;
            let key = format!("ping:{}", uuid::Uuid::new_v4());
            let ids = tentabo_workflows::jobs::enqueue(
                &mut conn,
                &[JobRequest::new(
                    &tentabo_workflows::jobs::payloads::Noop::default(),
                    key,
                )],
            )
            .await?;
            println!("enqueued outbox row {ids:?}");
            Ok(())
        }
    }
}

async fn run(config: WorkerConfig) -> anyhow::Result<()> {
    if let Some(addr) = config.metrics_bind {
        tentabo_worker::serve_metrics(addr).map_err(anyhow::Error::msg)?;
        tracing::info!(%addr, "worker metrics at /metrics");
    }
    let shutdown = CancellationToken::new();
    let handle = tentabo_worker::start(config, shutdown.clone())?;
    tentabo_worker::shutdown_signal().await;
    shutdown.cancel();
    handle.wait().await;
    Ok(())
}
