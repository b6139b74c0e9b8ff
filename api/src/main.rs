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
    Serve(Box<ApiConfig>),
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
    /// The providers (ERP, CRM, billing, login, LLM): which are configured and active,
    /// their last health check; test one with a live call.
    #[command(subcommand)]
    Providers(ProvidersCommand),
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

#[derive(Subcommand)]
enum ProvidersCommand {
    /// Every known provider: kind, name, configured, active, last health check.
    List {
        #[command(flatten)]
        db: DatabaseConfig,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Tests a configured provider with a live call and records its health (audited as
    /// `provider.tested`), e.g. `tentabo-api providers test erp odoo`. Exit status 0 when
    /// it answered well, 3 when it did not (the reason is printed).
    Test {
        #[command(flatten)]
        db: DatabaseConfig,
        /// auth | crm | billing | erp | llm
        kind: String,
        /// e.g. odoo, pipedrive, pennylane, ldap, oidc, openai
        name: String,
        /// The key ring credentials are sealed with (needed for a provider with
        /// credentials).
        #[arg(
            long = "secrets-key",
            env = "TENTABO_SECRETS_KEY",
            hide_env_values = true
        )]
        secrets_key: Option<secrecy::SecretString>,
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
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn connect(db: &DatabaseConfig) -> anyhow::Result<diesel_async::AsyncPgConnection> {
    use diesel_async::AsyncConnection;
    diesel_async::AsyncPgConnection::establish(db.url.expose_secret())
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))
}

async fn providers(command: ProvidersCommand) -> anyhow::Result<std::process::ExitCode> {
    use tentabo_workflows::providers::{ProviderKind, registry, store};
    match command {
        ProvidersCommand::List { db, output } => {
            let rows = store::list(&mut connect(&db).await?).await?;
            for spec in registry::KNOWN {
                let row = rows
                    .iter()
                    .find(|r| r.kind == spec.kind.as_str() && r.name == spec.name);
                let item = serde_json::json!({
                    "kind": spec.kind.as_str(),
                    "name": spec.name,
                    "label": spec.label,
                    "configured": row.is_some(),
                    "active": row.is_some_and(|r| r.is_active),
                    "health": row.and_then(|r| r.health_status.clone()),
                    "health_reason": row.and_then(|r| r.health_reason.clone()),
                    "last_check": row.and_then(|r| r.last_health_check),
                });
                match output {
                    Output::Json => println!("{item}"),
                    Output::Text => println!(
                        "{:<8} {:<12} {:<10} {:<8} {:<9} {}{}",
                        spec.kind.as_str(),
                        spec.name,
                        if row.is_some() { "configured" } else { "-" },
                        if row.is_some_and(|r| r.is_active) {
                            "active"
                        } else {
                            "-"
                        },
                        row.and_then(|r| r.health_status.as_deref()).unwrap_or("-"),
                        row.and_then(|r| r.last_health_check)
                            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                            .unwrap_or_default(),
                        row.and_then(|r| r.health_reason.as_deref())
                            .map(|r| format!("  {r}"))
                            .unwrap_or_default(),
                    ),
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        ProvidersCommand::Test {
            db,
            kind,
            name,
            secrets_key,
            output,
        } => {
            let known = || {
                registry::KNOWN
                    .iter()
                    .map(|s| format!("{}/{}", s.kind.as_str(), s.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let spec = ProviderKind::parse(&kind)
                .and_then(|k| registry::find(k, &name))
                .ok_or_else(|| {
                    anyhow::anyhow!("unknown provider `{kind}/{name}` (one of: {})", known())
                })?;
            let keys = secrets_key
                .as_ref()
                .map(tentabo_workflows::secrets::KeyRing::parse)
                .transpose()?
                .map(std::sync::Arc::new);
            // One clear line when the database cannot be reached; the audit row goes here.
            let mut conn = connect(&db).await?;
            let row = store::get(&mut conn, spec.kind, spec.name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("`{kind}/{name}` is not configured"))?;
            // Without the key the test could only fail, and would record a health the
            // provider does not have.
            if keys.is_none() && row.credentials.as_object().is_some_and(|c| !c.is_empty()) {
                anyhow::bail!(
                    "`{kind}/{name}` has credentials: give the secrets key (--secrets-key or TENTABO_SECRETS_KEY)"
                );
            }
            let pool = tentabo_schema::db::build_pool(db.url.expose_secret(), 2)?;
            let log = tentabo_workflows::outbound::CallLog::start(pool.clone(), 100);
            let platform = tentabo_workflows::providers::platform::Platform::new(
                pool.clone(),
                keys,
                tentabo_workflows::outbound::Outbound::new(None, log.clone())?,
                tentabo_workflows::retry::RetryPolicy::default(),
            );
            let outcome =
                platform
                    .test(spec.kind, spec.name, "test")
                    .await
                    .map_err(|e| match e {
                        tentabo_workflows::WorkflowError::NotFound => {
                            anyhow::anyhow!("`{kind}/{name}` is not configured")
                        }
                        e => anyhow::anyhow!(e),
                    })?;
            log.flush().await;
            tentabo_workflows::audit::event(
                &mut conn,
                tentabo_workflows::audit::AuditContext::cli().entry(
                    "provider.tested",
                    "provider",
                    format!("{kind}/{name}"),
                    serde_json::json!({ "status": outcome.status, "latency_ms": outcome.latency_ms }),
                ),
            )
            .await?;
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({
                        "ok": outcome.ok,
                        "status": outcome.status,
                        "reason": outcome.reason,
                        "latency_ms": outcome.latency_ms,
                    })
                ),
                Output::Text => println!(
                    "{kind}/{name}: {} in {} ms{}",
                    outcome.status.as_str(),
                    outcome.latency_ms,
                    outcome
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            }
            Ok(if outcome.ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(3)
            })
        }
    }
}

async fn run() -> anyhow::Result<std::process::ExitCode> {
    tentabo_workflows::telemetry::load_config_file().map_err(anyhow::Error::msg)?;
    tentabo_workflows::telemetry::init_logs("info,tower_http=info");
    match Cli::parse().command {
        Command::Providers(command) => return providers(command).await,
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
            let app = Application::build(*config).await?;
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
            let mut conn = connect(&db).await?;
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
    Ok(std::process::ExitCode::SUCCESS)
}
