//! Migrations apply to an empty database, revert completely and apply again; the
//! committed `schema.rs` is what the diesel CLI prints for them.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use support::TestDb;

#[derive(diesel::QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    table_name: String,
}

async fn tables(db: &TestDb) -> Vec<String> {
    let mut conn = db.conn().await;
    let mut names: Vec<String> = diesel::sql_query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name <> '__diesel_schema_migrations' ORDER BY table_name",
    )
    .load::<Table>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|t| t.table_name)
    .collect();
    names.sort();
    names
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_redo_cleanly() {
    let db = TestDb::empty().await;
    let mut conn = db.conn().await;
    assert!(
        !tentabo_schema::db::migrations_current(&mut conn)
            .await
            .unwrap()
    );

    let applied = tentabo_schema::db::run_migrations(&db.url).await.unwrap();
    assert_eq!(applied, tentabo_schema::db::embedded_versions().unwrap());
    assert!(
        tentabo_schema::db::migrations_current(&mut conn)
            .await
            .unwrap()
    );
    let first = tables(&db).await;
    for t in [
        "audit_logs",
        "distributor_partners",
        "distributors",
        "outbox",
        "partners",
        "users",
    ] {
        assert!(
            first.contains(&t.to_owned()),
            "missing table {t}: {first:?}"
        );
    }
    // Applying again is a no-op.
    assert!(
        tentabo_schema::db::run_migrations(&db.url)
            .await
            .unwrap()
            .is_empty()
    );

    let reverted = tentabo_schema::db::revert_all_migrations(&db.url)
        .await
        .unwrap();
    assert_eq!(reverted.len(), applied.len());
    assert!(
        tables(&db).await.is_empty(),
        "down migrations left tables behind"
    );

    tentabo_schema::db::run_migrations(&db.url).await.unwrap();
    assert_eq!(tables(&db).await, first);
}

#[tokio::test]
async fn schema_rs_matches_the_migrations() {
    let db = TestDb::new().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("diesel")
        .args(["print-schema", "--database-url", &db.url])
        .current_dir(&root)
        .output()
        .expect("the diesel CLI must be installed (./dev test installs it)");
    assert!(
        out.status.success(),
        "diesel print-schema failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(root.join("schema/src/schema.rs")).unwrap();
    assert_eq!(
        printed, committed,
        "schema/src/schema.rs is stale: run `diesel print-schema > schema/src/schema.rs`"
    );
}

#[tokio::test]
async fn a_bad_database_url_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err =
        tentabo_schema::db::run_migrations(&format!("postgres://postgres@127.0.0.1:{port}/x"))
            .await
            .unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
}
