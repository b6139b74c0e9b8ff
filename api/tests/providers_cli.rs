//! `tentabo-api providers list|test`, run as an operator would: what is configured and
//! active, a live test that records the provider's health and an audit row, its exit
//! status, and one clear line for bad input.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};

use app::TestApp;

const ADMIN: &str = "superadmin@salescommand.com";

async fn providers(url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tentabo-api"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("TENTABO_SECRETS_KEY")
        .env("RUST_LOG", "warn")
        .env("USER", "ops-test")
        .arg("providers")
        .args(args)
        .args(["--database-url", url]);
    // Off the test's runtime, which serves the Odoo peer meanwhile.
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn refused(out: &Output, expected: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}{}", text(&out.stdout));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
}

#[tokio::test]
async fn operators_list_and_test_providers_from_the_command_line() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let url = app.db.url.clone();
    let peer = odoo::OdooPeer::with_credentials("sync@example.com", "odoo-s3cret").await;
    app.configure_odoo(&admin, &peer.url(), "odoo-s3cret").await;

    let out = providers(&url, &["list", "--output", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let odoo = items.iter().find(|p| p["name"] == "odoo").unwrap();
    assert_eq!(
        (&odoo["kind"], &odoo["configured"], &odoo["active"]),
        (
            &serde_json::json!("erp"),
            &serde_json::json!(true),
            &serde_json::json!(false)
        ),
        "{odoo}"
    );
    let pennylane = items.iter().find(|p| p["name"] == "pennylane").unwrap();
    assert_eq!(pennylane["configured"], false);
    let out = providers(&url, &["list"]).await;
    assert!(
        text(&out.stdout)
            .lines()
            .any(|l| l.starts_with("erp      odoo         configured")),
        "{}",
        text(&out.stdout)
    );

    // A live test: healthy, exit 0, health recorded, an audit row naming the operator.
    let out = providers(
        &url,
        &[
            "test",
            "erp",
            "odoo",
            "--secrets-key",
            app::SECRETS_KEY,
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(
        (&result["ok"], &result["status"]),
        (&true.into(), &"healthy".into())
    );
    let out = providers(&url, &["list", "--output", "json"]).await;
    assert!(text(&out.stdout).contains(r#""health":"healthy""#));
    let audit = app
        .db
        .count(
            "SELECT count(*) AS n FROM audit_logs WHERE action = 'provider.tested' \
             AND object_id = 'erp/odoo' AND request_id = 'cli:ops-test'",
        )
        .await;
    assert_eq!(audit, 1);

    // The source refuses the password: the reason, exit status 3, health recorded.
    app.configure_odoo(&admin, &peer.url(), "not-the-password")
        .await;
    let out = providers(
        &url,
        &["test", "erp", "odoo", "--secrets-key", app::SECRETS_KEY],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(line.starts_with("erp/odoo: offline in "), "{line}");
    assert!(
        !line.contains("not-the-password"),
        "never the secret: {line}"
    );
    let out = providers(&url, &["list", "--output", "json"]).await;
    assert!(text(&out.stdout).contains(r#""health":"offline""#));

    // Bad input: one line each, exit 1.
    refused(
        &providers(&url, &["test", "erp", "sap"]).await,
        "error: unknown provider `erp/sap` (one of: ",
    );
    refused(
        &providers(&url, &["test", "billing", "pennylane"]).await,
        "error: `billing/pennylane` is not configured",
    );
    refused(
        &providers(&url, &["test", "erp", "odoo"]).await,
        "secrets key",
    );
    refused(
        &providers("postgres://nobody@127.0.0.1:1/none", &["list"]).await,
        "error: cannot connect to the database",
    );
}
