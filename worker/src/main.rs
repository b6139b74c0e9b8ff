//! `tentabo-worker`: runs jobs, the outbox relay and (later) the schedules.

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use tentabo_worker::config::WorkerConfig;
use tentabo_workflows::jobs::JobRequest;
use tentabo_workflows::pipeline::run::RunView;
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
    /// Ask for a sync run and follow it, or look at runs: `tentabo-worker sync odoo lead
    /// --mode full --follow`, `tentabo-worker sync runs`, `tentabo-worker sync show <id>`.
    Sync(SyncArgs),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct SyncArgs {
    #[command(subcommand)]
    command: Option<SyncCommand>,
    /// `odoo`, `pipedrive` or `pennylane`.
    #[arg(required = true)]
    provider: Option<String>,
    /// Odoo: organization, contact, lead, order, product; Pipedrive: lead (deals),
    /// lead_inbox, contact, organization, activity; Pennylane: invoice.
    #[arg(required = true)]
    entity: Option<String>,
    /// `incremental`: what changed since the last run's watermark; `full`: everything
    /// (records the source no longer has are marked deleted).
    #[arg(long, value_enum, default_value_t = SyncMode::Incremental)]
    mode: SyncMode,
    /// Wait for the run (a running worker takes it), showing its progress on stderr;
    /// the exit status is then the run's: 0 succeeded, 3 partial, 4 failed.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    db: Option<Db>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SyncMode {
    Incremental,
    Full,
}

#[derive(Subcommand)]
enum SyncCommand {
    /// The newest runs with their counts, newest first.
    Runs {
        #[command(flatten)]
        db: Db,
        /// How many (1 to 200).
        #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=200))]
        lines: i64,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// One run: status, counts per stage, time per stage, error.
    Show {
        #[command(flatten)]
        db: Db,
        id: uuid::Uuid,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
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
    /// The newest jobs, oldest first; with `--follow`, then every new job and every
    /// change of status or attempt as it happens, until Ctrl-C.
    Tail {
        #[command(flatten)]
        db: Db,
        /// Only this queue.
        #[arg(long)]
        queue: Option<String>,
        /// How many to start with (0 to 1000).
        #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(i64).range(0..=1000))]
        lines: i64,
        #[arg(long, short = 'f')]
        follow: bool,
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

/// A run in one line or a few (text) or as JSON.
fn print_run(run: &RunView, output: Output, detailed: bool) -> anyhow::Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string(run)?),
        Output::Text => {
            println!(
                "{}  {:<9} {:<18} {:<11} {:<9} created {}  read {} loaded {} unchanged {} quarantined {} deleted {}{}",
                run.id,
                run.provider,
                run.entity,
                run.mode,
                run.status,
                run.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                run.fetched,
                run.loaded,
                run.unchanged,
                run.quarantined,
                run.deleted,
                run.error
                    .as_deref()
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default()
            );
            if detailed {
                println!(
                    "  estimate    {}",
                    run.estimate.map(|e| e.to_string()).unwrap_or("-".into())
                );
                println!(
                    "  started     {}",
                    run.started_at.map(|t| t.to_rfc3339()).unwrap_or("-".into())
                );
                println!(
                    "  finished    {}",
                    run.finished_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or("-".into())
                );
                println!("  conflicts   {}  warned {}", run.conflicts, run.warned);
                println!("  warnings    {}", run.warnings);
                println!("  quarantine  {}", run.quarantine_reasons);
                println!("  timings µs  {}", run.timings);
            }
        }
    }
    Ok(())
}

/// Asks for a run (the run row and its job commit together) and, with `follow`, polls
/// it until it ends: the progress on stderr, the run on stdout, the run's exit status.
async fn sync(args: SyncArgs) -> anyhow::Result<std::process::ExitCode> {
    use tentabo_workflows::pipeline::run::{self, Mode, UnknownSource};
    let (Some(provider), Some(entity)) = (args.provider, args.entity) else {
        anyhow::bail!("give a provider and an entity, e.g. `tentabo-worker sync odoo lead`");
    };
    let Some(db) = args.db else {
        anyhow::bail!("give the database: --database-url or DATABASE_URL");
    };
    let source = run::source_of(&provider, &entity).map_err(|e| {
        let providers: Vec<&str> = run::SYNC_SOURCES.iter().map(|(p, _)| *p).collect();
        match e {
            UnknownSource::Provider => anyhow::anyhow!(
                "unknown provider `{provider}` (one of: {})",
                providers.join(", ")
            ),
            UnknownSource::Entity => anyhow::anyhow!(
                "`{provider}` has no entity `{entity}` (one of: {})",
                run::SYNC_SOURCES
                    .iter()
                    .find(|(p, _)| *p == provider)
                    .map(|(_, e)| e.join(", "))
                    .unwrap_or_default()
            ),
        }
    })?;
    let mode = match args.mode {
        SyncMode::Incremental => Mode::Incremental,
        SyncMode::Full => Mode::Full,
    };
    let mut conn = db.connect().await?;
    let id = run::request_for(&mut conn, &provider, source, mode, None, None)
        .await
        .map_err(|e| match e {
            tentabo_workflows::WorkflowError::Conflict { message, .. } => {
                anyhow::anyhow!("{message}")
            }
            e => anyhow::anyhow!(e),
        })?;
    if !args.follow {
        print_run(&run::get(&mut conn, id).await?, args.output, false)?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    use std::io::{IsTerminal, Write};
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut progress = tentabo_worker::ops::Progress::default();
    let mut last = String::new();
    let view = loop {
        let view = run::get(&mut conn, id).await?;
        let line = progress.line(&view, started.elapsed());
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else if line != last {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
        last = line;
        if tentabo_worker::ops::finished(&view.status) {
            break view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    if tty {
        eprintln!();
    }
    print_run(&view, args.output, args.output == Output::Text)?;
    Ok(std::process::ExitCode::from(
        tentabo_worker::ops::exit_code(&view.status),
    ))
}

/// `jobs tail`: the newest jobs, then (following) new jobs and changes as they happen.
async fn tail(
    db: Db,
    queue: Option<String>,
    lines: i64,
    follow: bool,
    output: Output,
) -> anyhow::Result<()> {
    let mut conn = db.connect().await?;
    let jobs = tentabo_workflows::jobs::tail(&mut conn, queue.as_deref(), lines).await?;
    for job in &jobs {
        print_job(job, output)?;
    }
    if !follow {
        return Ok(());
    }
    // The newest id seen, and the jobs not yet ended with their status and attempts.
    let mut after = match jobs.last() {
        Some(j) => j.id,
        None => tentabo_workflows::jobs::tail(&mut conn, queue.as_deref(), 1)
            .await?
            .last()
            .map_or(0, |j| j.id),
    };
    let open = |j: &tentabo_workflows::jobs::JobSummary| {
        !matches!(j.status.as_str(), "done" | "discarded" | "dead")
    };
    let mut watched: Vec<(i64, String, i32)> = jobs
        .iter()
        .filter(|j| open(j))
        .map(|j| (j.id, j.status.clone(), j.attempts))
        .collect();
    loop {
        tokio::select! {
            () = tentabo_worker::shutdown_signal() => return Ok(()),
            () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
        }
        let (new, changed) =
            tentabo_workflows::jobs::changes(&mut conn, queue.as_deref(), after, &watched, 500)
                .await?;
        for job in changed.iter().chain(&new) {
            print_job(job, output)?;
            watched.retain(|w| w.0 != job.id);
            if open(job) {
                watched.push((job.id, job.status.clone(), job.attempts));
            }
            after = after.max(job.id);
        }
        // Bounded: the oldest watched jobs are let go first.
        if watched.len() > 10_000 {
            watched.drain(..watched.len() - 10_000);
        }
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
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> anyhow::Result<std::process::ExitCode> {
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

async fn async_main(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    tentabo_workflows::telemetry::init_logs("info");
    match cli.command {
        Command::Run(config) => run(*config).await,
        Command::Jobs(command) => jobs_command(command).await,
        Command::Sync(args) => return sync_command(args).await,
    }?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn sync_command(args: SyncArgs) -> anyhow::Result<std::process::ExitCode> {
    use tentabo_workflows::pipeline::run;
    match args.command {
        None => sync(args).await,
        Some(SyncCommand::Runs { db, lines, output }) => {
            let page = run::recent(&mut db.connect().await?, None, lines).await?;
            for r in &page.items {
                print_run(r, output, false)?;
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Some(SyncCommand::Show { db, id, output }) => {
            let view = run::get(&mut db.connect().await?, id)
                .await
                .map_err(|e| match e {
                    tentabo_workflows::WorkflowError::NotFound => {
                        anyhow::anyhow!("no sync run {id}")
                    }
                    e => anyhow::anyhow!(e),
                })?;
            print_run(&view, output, true)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

async fn jobs_command(command: JobsCommand) -> anyhow::Result<()> {
    match command {
        JobsCommand::Ping(config) => {
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
        JobsCommand::Queues { db, output } => {
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
        JobsCommand::Failures {
            db,
            queue,
            lines,
            output,
        } => {
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
        JobsCommand::Show { db, id, output } => {
            let job = tentabo_workflows::jobs::job(&mut db.connect().await?, id)
                .await
                .map_err(|e| ops_error(e, id))?;
            print_job(&job, output)
        }
        JobsCommand::Retry { db, id, output } => {
            let job = tentabo_workflows::jobs::retry(
                &mut db.connect().await?,
                &tentabo_workflows::audit::AuditContext::cli(),
                id,
            )
            .await
            .map_err(|e| ops_error(e, id))?;
            print_job(&job, output)
        }
        JobsCommand::Tail {
            db,
            queue,
            lines,
            follow,
            output,
        } => tail(db, queue, lines, follow, output).await,
        JobsCommand::Discard { db, id, output } => {
            let job = tentabo_workflows::jobs::discard(
                &mut db.connect().await?,
                &tentabo_workflows::audit::AuditContext::cli(),
                id,
            )
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
