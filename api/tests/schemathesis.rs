//! The API against an independent fuzzer: schemathesis generates requests from
//! `/api/v1/openapi.json` for every operation (examples, coverage, fuzzing, stateful
//! phases) and checks every answer: no 5xx, the body matches its documented schema, the
//! status is documented, the content type too, and a request the schema allows is not
//! refused (`tests/schemathesis/hooks.py` lists the few rules a JSON Schema cannot
//! state). It runs as an admin and as a partner, on the demo data.
//!
//! `tests/schemathesis/run.sh` installs the pinned schemathesis in `.dev/venv` on first
//! use (it needs `python3` with `venv`, which `./dev test` installs).

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;

use app::TestApp;

async fn fuzz_as(app: &TestApp, email: &str, seed: &str) {
    let token = app.token(email).await;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("tests/schemathesis/run.sh");
    let url = format!("http://{}", app.addr);
    let examples =
        std::env::var("TENTABO_SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "25".into());
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .env("TENTABO_API_URL", &url)
        .env("TENTABO_API_TOKEN", &token)
        .env("TENTABO_SCHEMATHESIS_MAX_EXAMPLES", examples)
        .env("TENTABO_SCHEMATHESIS_SEED", seed)
        .env(
            "TENTABO_SCHEMATHESIS_REPORT_DIR",
            root.join(format!(
                ".dev/schemathesis/{}",
                email.split('@').next().unwrap()
            )),
        )
        .output()
        .await
        .expect("run tests/schemathesis/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout
        .find("SUMMARY")
        .map_or(stdout.as_ref(), |i| &stdout[i..]);
    println!("schemathesis as {email}:\n{summary}");
    assert!(
        out.status.success(),
        "schemathesis as {email} failed ({:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    // It really ran: operations were tested and requests generated.
    assert!(summary.contains("Tested:"), "{summary}");
    assert!(summary.contains(" generated"), "{summary}");
}

#[tokio::test]
async fn no_operation_answers_off_its_contract_for_an_admin_or_a_partner() {
    let app = TestApp::seeded_with_sales().await;
    fuzz_as(&app, "superadmin@salescommand.com", "20261201").await;
    fuzz_as(&app, "am1@salescommand.com", "20261202").await;
    // The runs ended neither the admin's account nor the partner's.
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM users WHERE is_active AND email IN ('superadmin@salescommand.com', 'am1@salescommand.com')")
            .await,
        2
    );
}
