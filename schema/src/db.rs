//! Connection pool and migrations. Migrations are embedded in the binaries and applied
//! only by an explicit `migrate` command, never by a server on start.

use std::time::Duration;

use diesel::Connection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

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
    // `Fast` recycling: the default runs a test query on every checkout, one more round
    // trip per request. A dead connection still surfaces as an error on first use.
    let mut manager_config = ManagerConfig::default();
    manager_config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        database_url,
        manager_config,
    );
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
    with_sync_connection(database_url, |conn| {
        conn.run_pending_migrations(MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Reverts every applied migration, newest first (used by the redo test).
pub async fn revert_all_migrations(database_url: &str) -> Result<Vec<String>, SchemaError> {
    with_sync_connection(database_url, |conn| {
        conn.revert_all_migrations(MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect())
    })
    .await
}

type MigrationConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// diesel's migration harness is synchronous: run it on a blocking thread over an
/// async connection (no libpq needed), whatever the caller's runtime flavour.
async fn with_sync_connection<F>(database_url: &str, f: F) -> Result<Vec<String>, SchemaError>
where
    F: FnOnce(&mut MigrationConn) -> diesel::migration::Result<Vec<String>> + Send + 'static,
{
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = <MigrationConn as Connection>::establish(&url)?;
        f(&mut conn).map_err(|e| SchemaError::Migration(e.to_string()))
    })
    .await
    .map_err(|e| SchemaError::Migration(format!("migration thread failed: {e}")))?
}

/// The versions of the embedded migrations, oldest first.
pub fn embedded_versions() -> Result<Vec<String>, SchemaError> {
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map_err(|e| SchemaError::Migration(e.to_string()))?;
    Ok(migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .collect())
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

/// The same server URL with another database name (query parameters kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// The database name of a URL, if it names one.
pub fn database_name(url: &str) -> Option<&str> {
    let base = url.split('?').next().unwrap_or(url);
    let rest = &base[base.find("://").map_or(0, |i| i + 3)..];
    rest.split_once('/')
        .map(|(_, db)| db)
        .filter(|db| !db.is_empty())
}

/// Creates the URL's database when it does not exist yet (like `diesel setup`).
/// Returns whether it created it.
pub async fn create_database_if_missing(url: &str) -> Result<bool, SchemaError> {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    let name = database_name(url)
        .ok_or_else(|| SchemaError::Migration("the database URL names no database".into()))?;
    let mut conn = AsyncPgConnection::establish(&with_database(url, "postgres")).await?;
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(name)
            .get_result(&mut conn)
            .await?;
    if found.exists {
        return Ok(false);
    }
    diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(name)))
        .execute(&mut conn)
        .await?;
    Ok(true)
}

/// Quotes an SQL identifier (database names cannot be bound as parameters).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/app", "postgres"),
            "postgres://u:p@h:5432/postgres"
        );
        assert_eq!(
            with_database("postgres://h/app?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
        assert_eq!(database_name("postgres://u@h:1/app?a=b"), Some("app"));
        assert_eq!(database_name("postgres://u@h:1"), None);
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }
}
