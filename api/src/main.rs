//! `tentabo-api`: the HTTP API and its administrative commands.

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use tentabo_api::config::{ApiConfig, DatabaseConfig};
use tentabo_api::startup::{Application, shutdown_signal};

#[derive(Parser)]
#[command(
    name = "tentabo-api",
    version,
    about = "Tentabo's HTTP API and its administrative commands."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (never migrates: run `migrate` first).
    Serve(ApiConfig),
    /// Apply pending database migrations, then exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseConfig,
        /// Create the database first if it does not exist.
        #[arg(long)]
        create_database: bool,
    },
    /// Insert the demo organisations and one login per role (idempotent), then exit.
    SeedDemo(DatabaseConfig),
    /// User administration from the command line (e.g. the first admin of a deployment).
    #[command(subcommand)]
    Users(UsersCommand),
    /// The secrets key ring of stored credentials.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Read the audit log: who did what, when, from which request.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the OpenAPI document the API serves at /api/v1/openapi.json (the console's
    /// client is generated from it: `tentabo-api openapi > web/openapi.json`).
    Openapi,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// The newest audit entries, oldest first (as `tail` prints a file's end), e.g.
    /// `tentabo-api audit tail --actor admin@example.com -n 50`.
    Tail {
        #[command(flatten)]
        db: DatabaseConfig,
        /// Only this actor: an email (any case) or a user id.
        #[arg(long)]
        actor: Option<String>,
        /// Only this object: `TYPE` or `TYPE:ID` (e.g. `order` or `order:0193…`).
        #[arg(long)]
        object: Option<String>,
        /// Only this action (e.g. `login_failed`, `job_retried`).
        #[arg(long)]
        action: Option<String>,
        /// How many entries (1 to 1000).
        #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=1000))]
        lines: i64,
        /// `text`: one aligned line per entry; `json`: one JSON object per line.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-encrypts every stored credential under the ring's first key. Rotation: put the
    /// new key first in TENTABO_SECRETS_KEY (`new:…,old:…`), run this, then drop the old
    /// key from the ring once it reports nothing left under it.
    Rotate {
        #[command(flatten)]
        db: DatabaseConfig,
        #[arg(
            long = "secrets-key",
            env = "TENTABO_SECRETS_KEY",
            hide_env_values = true
        )]
        secrets_key: secrecy::SecretString,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user; the password is read from standard input (one line), so it never
    /// appears in the shell history or the process list.
    Create {
        #[command(flatten)]
        db: DatabaseConfig,
        #[arg(long)]
        email: String,
        #[arg(long)]
        full_name: String,
        /// admin | restricted_admin | partner | distributor | fulfiller
        #[arg(long, default_value = "admin")]
        role: String,
        /// The partner organisation (partner role).
        #[arg(long)]
        partner_id: Option<uuid::Uuid>,
        /// The distributor (distributor role).
        #[arg(long)]
        distributor_id: Option<uuid::Uuid>,
    },
}

/// Errors end the process with one line on stderr (the cause chain, no backtrace) and
/// a non-zero status.
fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tentabo_workflows::telemetry::load_config_file().map_err(anyhow::Error::msg)?;
    tentabo_workflows::telemetry::init_logs("info,tower_http=info");
    match Cli::parse().command {
        Command::Users(UsersCommand::Create {
            db,
            email,
            full_name,
            role,
            partner_id,
            distributor_id,
        }) => {
            use diesel_async::AsyncConnection;
            use tentabo_workflows::identity::{Email, Name, Password, users};
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let password = line.trim_end_matches(['\r', '\n']);
            let input = users::NewUserInput {
                email: Email::parse(&email).map_err(|c| anyhow::anyhow!("--email: {c}"))?,
                full_name: Name::parse(&full_name)
                    .map_err(|c| anyhow::anyhow!("--full-name: {c}"))?,
                password: Some(
                    Password::parse(password)
                        .map_err(|c| anyhow::anyhow!("password (stdin): {c}"))?,
                ),
                role: role
                    .parse()
                    .map_err(|()| anyhow::anyhow!("--role: unknown role {role}"))?,
                partner_id,
                distributor_id,
            };
            let mut conn =
                diesel_async::AsyncPgConnection::establish(db.url.expose_secret()).await?;
            let ctx = tentabo_workflows::audit::AuditContext {
                request_id: Some("cli".into()),
                ..Default::default()
            };
            let user = users::create(&mut conn, &input, &ctx)
                .await
                .map_err(|e| match e {
                    tentabo_workflows::WorkflowError::Validation(f) => {
                        anyhow::anyhow!("invalid: {:?}", f.0)
                    }
                    e => anyhow::anyhow!(e),
                })?;
            println!("{}", user.id);
        }
        Command::Secrets(SecretsCommand::Rotate { db, secrets_key }) => {
            use diesel_async::AsyncConnection;
            let keys = tentabo_workflows::secrets::KeyRing::parse(&secrets_key)?;
            let mut conn =
                diesel_async::AsyncPgConnection::establish(db.url.expose_secret()).await?;
            let moved = tentabo_workflows::providers::store::rotate(&mut conn, &keys).await?;
            println!(
                "{moved} credential(s) re-encrypted under key `{}`",
                keys.current()
            );
        }
        Command::Serve(config) => {
            let app = Application::build(config).await?;
            tracing::info!(addr = %app.local_addr()?, "tentabo-api listening");
            app.run_until_stopped(shutdown_signal()).await?;
            tracing::info!("tentabo-api stopped");
        }
        Command::Migrate {
            db,
            create_database,
        } => {
            if create_database
                && tentabo_schema::db::create_database_if_missing(db.url.expose_secret()).await?
            {
                tracing::info!("database created");
            }
            let applied = tentabo_schema::db::run_migrations(db.url.expose_secret()).await?;
            tracing::info!(count = applied.len(), versions = ?applied, "migrations applied");
        }
        Command::Audit(AuditCommand::Tail {
            db,
            actor,
            object,
            action,
            lines,
            output,
        }) => {
            use diesel_async::AsyncConnection;
            let (object_type, object_id) = match object {
                Some(o) => match o.split_once(':') {
                    Some((t, id)) => (Some(t.to_owned()), Some(id.to_owned())),
                    None => (Some(o), None),
                },
                None => (None, None),
            };
            let filter = tentabo_workflows::audit::AuditFilter {
                actor,
                object_type,
                object_id,
                action,
                before: None,
            };
            let mut conn = diesel_async::AsyncPgConnection::establish(db.url.expose_secret())
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
            let mut entries = tentabo_workflows::audit::list(&mut conn, &filter, lines)
                .await
                .map_err(|e| match e {
                    tentabo_workflows::WorkflowError::Validation(f) => {
                        anyhow::anyhow!("invalid filter: {:?}", f.0)
                    }
                    e => anyhow::anyhow!(e),
                })?;
            entries.reverse();
            for e in entries {
                match output {
                    Output::Json => println!("{}", serde_json::to_string(&e)?),
                    Output::Text => println!(
                        "{}  {:<32}  {:<28}  {}{}  {}",
                        e.occurred_at.format("%Y-%m-%dT%H:%M:%SZ"),
                        e.actor_email.as_deref().unwrap_or("-"),
                        e.action,
                        e.object_type,
                        e.object_id.map(|id| format!(":{id}")).unwrap_or_default(),
                        e.details
                    ),
                }
            }
        }
        Command::Openapi => {
            println!("{}", tentabo_api::routes::api().1.to_pretty_json()?);
        }
        Command::SeedDemo(db) => {
            use diesel_async::AsyncConnection;
            let mut conn =
                diesel_async::AsyncPgConnection::establish(db.url.expose_secret()).await?;
            let created = tentabo_api::seed::seed_demo(&mut conn).await?;
            let catalogue = tentabo_workflows::catalogue::seed_demo(&mut conn).await?;
            let sales = tentabo_workflows::sales::seed::seed_demo(&mut conn).await?;
            tracing::info!(
                users_created = created,
                catalogue_entries_created = catalogue,
                leads_and_orders_created = sales,
                "demo data seeded"
            );
            // The logins, for `./dev up` to print.
            for (email, name, role) in tentabo_api::seed::DEMO_LOGINS {
                println!("{email:<30} {role:<17} {name}");
            }
        }
    }
    Ok(())
}
