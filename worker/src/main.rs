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
    Run(Box<WorkerConfig>),
    /// Job operations.
    #[command(subcommand)]
    Jobs(JobsCommand),
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Enqueue a no-op job through the outbox, to check the whole path end to end.
    Ping(Box<WorkerConfig>),
    /// Every queue with its jobs counted by state (pending, retrying, enqueued in Redis,
    /// running, dead, discarded).
    Queues {
        #[command(flatten)]
        db: Db,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Recent failures, newest first: dead, discarded and retrying jobs with their last
    /// error.
    Failures {
        #[command(flatten)]
        db: Db,
        /// Only this queue (e.g. `crm_push_lead_status`).
        #[arg(long)]
        queue: Option<String>,
        /// How many (1 to 1000).
        #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=1000))]
        lines: i64,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// One job: queue, status, attempts, last error, dates.
    Show {
        #[command(flatten)]
        db: Db,
        /// The job's id (the outbox row's).
        id: i64,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Give a dead or discarded job one more attempt, now (audited).
    Retry {
        #[command(flatten)]
        db: Db,
        id: i64,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Set a dead or retrying job aside for good (audited).
    Discard {
        #[command(flatten)]
        db: Db,
        id: i64,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

/// The database the ops commands read (nothing else is needed for them).
#[derive(clap::Args)]
struct Db {
    /// Postgres URL, e.g. postgres://tentabo@127.0.0.1:5432/tentabo
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    url: secrecy::SecretString,
}

impl Db {
    async fn connect(&self) -> anyhow::Result<diesel_async::AsyncPgConnection> {
        use diesel_async::AsyncConnection;
        diesel_async::AsyncPgConnection::establish(self.url.expose_secret())
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

/// A job in one line (text) or as JSON.
fn print_job(job: &tentabo_workflows::jobs::JobSummary, output: Output) -> anyhow::Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string(job)?),
        Output::Text => println!(
            "{:>8}  {:<26}  {:<10}  attempt {}/{}  created {}  {}",
            job.id,
            job.queue,
            job.status,
            job.attempts,
            job.max_attempts,
            job.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
            job.last_error.as_deref().unwrap_or("")
        ),
    }
    Ok(())
}

/// The operator's identity on audit rows written from the command line.
fn cli_audit() -> tentabo_workflows::audit::AuditContext {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    tentabo_workflows::audit::AuditContext {
        actor_id: None,
        request_id: Some(format!("cli:{who}")),
        client_ip: None,
    }
}

/// A workflow error as one line an operator can act on.
fn ops_error(e: tentabo_workflows::WorkflowError, id: i64) -> anyhow::Error {
    match e {
        tentabo_workflows::WorkflowError::NotFound => anyhow::anyhow!("no job {id}"),
        tentabo_workflows::WorkflowError::Conflict { message, .. } => anyhow::anyhow!("{message}"),
        e => anyhow::anyhow!(e),
    }
}

/// Errors end the process with one line on stderr (the cause chain, no backtrace) and
/// a non-zero status.
fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> anyhow::Result<()> {
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
        Command::Run(config) => run(*config).await,
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
        Command::Jobs(JobsCommand::Queues { db, output }) => {
            let queues = tentabo_workflows::jobs::queue_counts(&mut db.connect().await?).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string(&queues)?),
                Output::Text => {
                    println!(
                        "{:<26} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
                        "queue", "pending", "retrying", "enqueued", "running", "dead", "discarded"
                    );
                    for q in queues {
                        println!(
                            "{:<26} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
                            q.queue,
                            q.pending,
                            q.retrying,
                            q.enqueued,
                            q.running,
                            q.dead,
                            q.discarded
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Jobs(JobsCommand::Failures {
            db,
            queue,
            lines,
            output,
        }) => {
            let jobs = tentabo_workflows::jobs::failures(
                &mut db.connect().await?,
                queue.as_deref(),
                None,
                lines,
            )
            .await?;
            for job in &jobs {
                print_job(job, output)?;
            }
            Ok(())
        }
        Command::Jobs(JobsCommand::Show { db, id, output }) => {
            let job = tentabo_workflows::jobs::job(&mut db.connect().await?, id)
                .await
                .map_err(|e| ops_error(e, id))?;
            print_job(&job, output)
        }
        Command::Jobs(JobsCommand::Retry { db, id, output }) => {
            let job = tentabo_workflows::jobs::retry(&mut db.connect().await?, &cli_audit(), id)
                .await
                .map_err(|e| ops_error(e, id))?;
            print_job(&job, output)
        }
        Command::Jobs(JobsCommand::Discard { db, id, output }) => {
            let job = tentabo_workflows::jobs::discard(&mut db.connect().await?, &cli_audit(), id)
                .await
                .map_err(|e| ops_error(e, id))?;
            print_job(&job, output)
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
