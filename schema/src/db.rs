//! Connection pool and migrations. Migrations are embedded in the binaries and applied
//! only by an explicit `migrate` command, never by a server on start.

use std::time::Duration;

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Builds the application's pool. Connections are opened lazily; `wait_timeout`
/// bounds how long a request waits for a free connection when the pool is exhausted.
pub fn build_pool(database_url: &str, max_size: usize) -> Result<DbPool, SchemaError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| SchemaError::Pool(e.to_string()))
}

/// Applies every pending migration and returns the versions it applied.
pub async fn run_migrations(database_url: &str) -> Result<Vec<String>, SchemaError> {
    let conn = AsyncPgConnection::establish(database_url).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| SchemaError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts every applied migration, newest first (used by the redo test).
pub async fn revert_all_migrations(database_url: &str) -> Result<Vec<String>, SchemaError> {
    let conn = AsyncPgConnection::establish(database_url).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let reverted = harness
        .revert_all_migrations(MIGRATIONS)
        .map_err(|e| SchemaError::Migration(e.to_string()))?;
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// The versions of the embedded migrations, oldest first.
pub fn embedded_versions() -> Result<Vec<String>, SchemaError> {
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map_err(|e| SchemaError::Migration(e.to_string()))?;
    Ok(migrations.iter().map(|m| m.name().version().to_string()).collect())
}

/// Whether every embedded migration has been applied (for `/readyz`). Reads the
/// migration table with plain SQL so it never blocks a runtime thread.
pub async fn migrations_current(conn: &mut AsyncPgConnection) -> Result<bool, SchemaError> {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let applied: Vec<Version> =
        match diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load(conn)
            .await
        {
            Ok(rows) => rows,
            // The table does not exist yet: nothing has been migrated.
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("does not exist") =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
    let applied: std::collections::HashSet<String> =
        applied.into_iter().map(|v| v.version).collect();
    Ok(embedded_versions()?.iter().all(|v| applied.contains(v)))
}
