//! The `tentabo-api` binary's administrative commands, run as a newcomer would.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::Command;

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, RunQueryDsl};
use support::TestDb;

fn api_bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tentabo-api"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn");
    cmd
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn migrate_creates_the_database_and_seed_demo_is_idempotent() {
    let db = TestDb::new().await; // only to own a unique name that is dropped afterwards
    let fresh = format!("{}_cli", db.name);
    let url = tentabo_schema::db::with_database(&db.url, &fresh);
    let _fresh_db = support::db::Dropper(fresh.clone());

    let out = api_bin()
        .args(["migrate", "--create-database"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for _ in 0..2 {
        let out = api_bin()
            .arg("seed-demo")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.contains("superadmin@salescommand.com")
                && stdout.contains("am1@salescommand.com"),
            "{stdout}"
        );
    }
    let mut conn = diesel_async::AsyncPgConnection::establish(&url)
        .await
        .unwrap();
    let users: N = diesel::sql_query("SELECT count(*) AS n FROM users")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(users.n, 7, "seeding twice creates each user once");
    let products: N = diesel::sql_query("SELECT count(*) AS n FROM products")
        .get_result(&mut conn)
        .await
        .unwrap();
    let durations: N = diesel::sql_query("SELECT count(*) AS n FROM durations")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (products.n, durations.n),
        (2, 3),
        "and the demo catalogue once"
    );
}

#[tokio::test]
async fn a_config_file_supplies_the_environment() {
    let db = TestDb::empty().await;
    let dir = std::env::temp_dir().join(format!("tentabo-cli-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tentabo.env");
    std::fs::write(
        &file,
        format!("# test configuration\nDATABASE_URL={}\n", db.url),
    )
    .unwrap();
    let out = api_bin()
        .arg("migrate")
        .env("TENTABO_CONFIG_FILE", &file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut conn = db.conn().await;
    assert!(
        tentabo_schema::db::migrations_current(&mut conn)
            .await
            .unwrap()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let out = api_bin()
        .arg("migrate")
        .env("TENTABO_CONFIG_FILE", "/nonexistent/tentabo.env")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TENTABO_CONFIG_FILE") && stderr.contains("/nonexistent/tentabo.env"),
        "{stderr}"
    );
}

#[test]
fn a_missing_database_url_is_a_clear_error() {
    let out = api_bin().arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--database-url") || stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
}

#[test]
fn help_lists_every_command() {
    let out = api_bin().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "serve",
        "migrate",
        "seed-demo",
        "users",
        "secrets",
        "audit",
        "providers",
    ] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[tokio::test]
async fn users_create_reads_the_password_from_stdin() {
    use std::io::Write;
    let db = TestDb::new().await;
    let run = |email: &str, stdin: &str| {
        let mut child = api_bin()
            .args([
                "users",
                "create",
                "--email",
                email,
                "--full-name",
                "First Admin",
                "--role",
                "admin",
            ])
            .env("DATABASE_URL", &db.url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("first.admin@example.com", "a-strong-password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap();
    assert!(uuid::Uuid::parse_str(id.trim()).is_ok(), "{id}");

    let out = run("second@example.com", "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("too_short"));
    let out = run("first.admin@example.com", "another-strong-one\n");
    assert!(!out.status.success(), "duplicate email refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("email_taken"));
}

#[tokio::test]
async fn secrets_rotate_reseals_every_credential_under_the_first_key() {
    use secrecy::{ExposeSecret, SecretString};
    use tentabo_workflows::providers::registry::{self, ProviderKind};
    use tentabo_workflows::secrets::KeyRing;
    let db = TestDb::new().await;
    let old = "old:b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9sZCE=";
    let new = "new:bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3LW5ldyE=";
    let ring = |s: &str| KeyRing::parse(&SecretString::from(s.to_owned())).unwrap();
    {
        let mut conn = db.conn().await;
        let spec = registry::find(ProviderKind::Billing, registry::PENNYLANE).unwrap();
        let creds = [(
            "api_key".to_owned(),
            SecretString::from("pl-rotate-me".to_owned()),
        )]
        .into_iter()
        .collect();
        tentabo_workflows::providers::store::bootstrap(
            &mut conn,
            Some(&ring(old)),
            spec,
            serde_json::json!({}),
            creds,
        )
        .await
        .unwrap();
    }
    let rotate = |key: &str| {
        api_bin()
            .args(["secrets", "rotate"])
            .env("DATABASE_URL", &db.url)
            .env("TENTABO_SECRETS_KEY", key)
            .output()
            .unwrap()
    };
    // A ring without the old key cannot open what it sealed: a clear error, no change.
    let out = rotate(new);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`old`") && !err.contains("pl-rotate-me"),
        "{err}"
    );

    let out = rotate(&format!("{new},{old}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("1 credential(s) re-encrypted under key `new`")
    );
    #[derive(diesel::QueryableByName)]
    struct Sealed {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let sealed: Sealed = diesel::sql_query(
        "SELECT credentials->>'api_key' AS v FROM provider_configs WHERE name = 'pennylane'",
    )
    .get_result(&mut db.conn().await)
    .await
    .unwrap();
    assert!(sealed.v.starts_with("v1.new."), "{}", sealed.v);
    let opened = ring(new)
        .open("provider:billing:pennylane:api_key", &sealed.v)
        .unwrap();
    assert_eq!(opened.expose_secret(), "pl-rotate-me");
    let out = rotate(&format!("{new},{old}"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 credential(s)"));
}

#[tokio::test]
async fn audit_tail_prints_the_newest_entries_oldest_first_filtered() {
    let db = TestDb::new().await;
    let mut conn = diesel_async::AsyncPgConnection::establish(&db.url)
        .await
        .unwrap();
    tentabo_workflows::identity::seed::seed_demo(&mut conn)
        .await
        .unwrap();
    diesel::sql_query(
        "INSERT INTO audit_logs (actor_id, action, object_type, object_id, request_id, details) \
         SELECT u.id, a.action, a.object_type, a.object_id, 'req-' || a.n, jsonb_build_object('n', a.n) \
         FROM users u, (VALUES (1, 'order_transition', 'order', '42'), (2, 'job_retried', 'job', '7'), \
                               (3, 'order_transition', 'order', '43'), (4, 'order_transition', 'order', '42')) \
              AS a (n, action, object_type, object_id) \
         WHERE u.email = 'superadmin@salescommand.com'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let tail = |args: &[&str]| {
        api_bin()
            .args(["audit", "tail", "--database-url", &db.url])
            .args(args)
            .output()
            .unwrap()
    };
    let out = tail(&[
        "--actor",
        "SuperAdmin@salescommand.com",
        "--action",
        "order_transition",
        "-n",
        "2",
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[0]["details"]["n"].clone(),
            lines[1]["details"]["n"].clone()
        ),
        (serde_json::json!(3), serde_json::json!(4)),
        "the newest two, oldest first"
    );
    assert_eq!(lines[1]["actor_email"], "superadmin@salescommand.com");
    let out = tail(&["--object", "order:42"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains("order:42") && l.contains("order_transition")),
        "{text}"
    );
    let none = tail(&["--actor", "nobody@example.com"]);
    assert!(none.status.success());
    assert!(none.stdout.is_empty());
    // Bad input: one clear line, a non-zero exit, no panic.
    for args in [
        &["-n", "0"][..],
        &["--output", "yaml"][..],
        &["--action", " "][..],
    ] {
        let out = tail(args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("invalid") || stderr.contains("error"),
            "{args:?}: {stderr}"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = api_bin()
        .args([
            "audit",
            "tail",
            "--database-url",
            &format!("postgres://postgres@127.0.0.1:{port}/x"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot connect to the database"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
