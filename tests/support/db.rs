//! Per-test Postgres databases cloned from a migrated template.

use std::hash::{Hash, Hasher};

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tentabo_schema::db::{quote_ident, with_database};
use tokio::sync::OnceCell;

/// The server the tests use: `DATABASE_URL` (any database on it) or the local default.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn admin_url() -> String {
    with_database(&server_url(), "postgres")
}

/// Template name: a hash of the migrations this binary embeds and of the migration
/// files, so a template is built once per set of migrations (the first test of a run
/// builds it, the others wait for it), and a binary that embeds another set (built
/// before a migration was added) never shares a template with one that does not.
fn template_name() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tentabo_schema::db::embedded_versions()
        .expect("the embedded migrations")
        .hash(&mut h);
    for f in files {
        f.strip_prefix(&dir).unwrap().hash(&mut h);
        std::fs::read(&f).unwrap().hash(&mut h);
    }
    format!("tentabo_tpl_{:016x}", h.finish())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

async fn exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(name)
        .get_result::<Exists>(conn)
        .await
        .unwrap()
        .exists
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Builds the template once; an advisory lock serialises test processes.
async fn template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = template_name();
            let mut admin = AsyncPgConnection::establish(&admin_url())
                .await
                .expect("connect to Postgres (is ./dev services up?)");
            diesel::sql_query("SELECT pg_advisory_lock(1952804468)")
                .execute(&mut admin)
                .await
                .unwrap();
            if !exists(&mut admin, &name).await {
                let building = format!("{name}_building");
                diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&building)
                ))
                .execute(&mut admin)
                .await
                .unwrap();
                diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&building)))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let url = with_database(&server_url(), &building);
                tokio::task::spawn(async move { tentabo_schema::db::run_migrations(&url).await })
                    .await
                    .unwrap()
                    .expect("migrate the template");
                diesel::sql_query(format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident(&building),
                    quote_ident(&name)
                ))
                .execute(&mut admin)
                .await
                .unwrap();
                // Templates of older migration sets are dead weight now; one still being
                // cloned by another run survives (the drop fails while it is in use).
                #[derive(diesel::QueryableByName)]
                struct Stale {
                    #[diesel(sql_type = Text)]
                    datname: String,
                }
                let stale: Vec<Stale> = diesel::sql_query(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'tentabo_tpl_%' AND datname <> $1",
                )
                .bind::<Text, _>(&name)
                .load(&mut admin)
                .await
                .unwrap_or_default();
                for old in stale {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {}", quote_ident(&old.datname)))
                        .execute(&mut admin)
                        .await;
                }
            }
            diesel::sql_query("SELECT pg_advisory_unlock(1952804468)")
                .execute(&mut admin)
                .await
                .unwrap();
            name
        })
        .await
        .clone()
}

/// A database owned by one test, dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A migrated database (a clone of the template).
    pub async fn new() -> TestDb {
        let tpl = template().await;
        Self::create(Some(&tpl)).await
    }

    /// An empty database, for migration tests.
    pub async fn empty() -> TestDb {
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> TestDb {
        let name = format!("tentabo_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url())
            .await
            .expect("connect to Postgres");
        let sql = match template {
            Some(t) => format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(&name),
                quote_ident(t)
            ),
            None => format!("CREATE DATABASE {}", quote_ident(&name)),
        };
        // Concurrent clones of one template can collide briefly ("being accessed").
        let mut tries = 0;
        loop {
            match diesel::sql_query(&sql).execute(&mut admin).await {
                Ok(_) => break,
                Err(e) if tries < 50 && e.to_string().contains("being accessed") => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("create test database: {e}"),
            }
        }
        TestDb {
            url: with_database(&server_url(), &name),
            name,
        }
    }

    /// The `n` column (a `bigint`) of the one row `sql` answers.
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn().await;
        diesel_async::RunQueryDsl::get_result::<N>(diesel::sql_query(sql), &mut conn)
            .await
            .unwrap()
            .n
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url)
            .await
            .expect("connect to the test database")
    }

    pub fn pool(&self, size: usize) -> tentabo_schema::DbPool {
        tentabo_schema::db::build_pool(&self.url, size).unwrap()
    }
}

/// Drops a database by name when it goes out of scope (for databases a test creates
/// itself, e.g. through a command under test).
pub struct Dropper(pub String);

impl Drop for Dropper {
    fn drop(&mut self) {
        drop_database(self.0.clone());
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_database(self.name.clone());
    }
}

fn drop_database(name: String) {
    // Drop may run inside a runtime: do the async work on a thread of its own.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url()).await {
                let _ = diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                ))
                .execute(&mut admin)
                .await;
            }
        });
    })
    .join();
}
