//! The deployment files are checked without a Docker engine (none runs on these
//! machines): docker-compose.yml is parsed and held to the rules it must keep, and every
//! path the Dockerfile copies exists.

#![allow(clippy::unwrap_used)]

use serde_yaml::Value;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose() -> Value {
    let text =
        std::fs::read_to_string(root().join("docker-compose.yml")).expect("docker-compose.yml");
    let mut doc: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is valid YAML");
    doc.apply_merge().expect("merge keys resolve");
    doc
}

fn service<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["services"]
        .get(name)
        .unwrap_or_else(|| panic!("service {name} is missing"))
}

#[test]
fn compose_has_every_service_with_the_right_images() {
    let doc = compose();
    assert!(
        service(&doc, "postgres")["image"]
            .as_str()
            .unwrap()
            .starts_with("postgres:16")
    );
    assert!(
        service(&doc, "redis")["image"]
            .as_str()
            .unwrap()
            .starts_with("redis:7")
    );
    assert!(
        service(&doc, "openldap")["image"]
            .as_str()
            .unwrap()
            .contains("openldap")
    );
    for app in ["migrate", "api", "worker"] {
        assert!(
            service(&doc, app)["image"]
                .as_str()
                .unwrap()
                .starts_with("tentabo"),
            "{app} runs our image"
        );
    }
    assert!(
        service(&doc, "migrate")["build"].is_string()
            || service(&doc, "migrate")["build"].is_mapping()
    );
}

#[test]
fn compose_services_have_healthchecks() {
    let doc = compose();
    for name in ["postgres", "redis", "openldap", "api", "worker"] {
        let test = &service(&doc, name)["healthcheck"]["test"];
        assert!(
            test.is_sequence() || test.is_string(),
            "{name} has no healthcheck"
        );
    }
}

#[test]
fn compose_binds_every_port_to_loopback() {
    let doc = compose();
    let mut seen = 0;
    for (name, svc) in doc["services"].as_mapping().unwrap() {
        for port in svc["ports"]
            .as_sequence()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let port = port.as_str().expect("ports are strings");
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name:?} publishes {port} beyond loopback"
            );
            seen += 1;
        }
    }
    assert!(
        seen >= 4,
        "expected published ports for postgres, redis, openldap and api"
    );
}

#[test]
fn api_and_worker_wait_for_the_one_shot_migration() {
    let doc = compose();
    let migrate = service(&doc, "migrate");
    let cmd: Vec<&str> = migrate["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(cmd, ["tentabo-api", "migrate"]);
    assert_eq!(
        migrate["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    assert_eq!(migrate["restart"], "no");
    for name in ["api", "worker"] {
        let svc = service(&doc, name);
        assert_eq!(
            svc["depends_on"]["migrate"]["condition"], "service_completed_successfully",
            "{name}"
        );
        let env = &svc["environment"];
        assert!(
            env["DATABASE_URL"]
                .as_str()
                .unwrap()
                .contains("@postgres:5432/"),
            "{name} DATABASE_URL"
        );
        assert!(
            env["REDIS_URL"]
                .as_str()
                .unwrap()
                .starts_with("redis://redis:6379"),
            "{name} REDIS_URL"
        );
    }
    let api_cmd = service(&doc, "api")["command"][1].as_str().unwrap();
    assert_eq!(api_cmd, "serve", "servers never migrate on start");
}

#[test]
fn dockerfile_is_multi_stage_and_copies_existing_paths() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let stages = text
        .lines()
        .filter(|l| l.trim_start().starts_with("FROM "))
        .count();
    assert!(
        stages >= 2,
        "multi-stage build expected, found {stages} stage(s)"
    );
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            assert!(
                root().join(src).exists(),
                "Dockerfile copies missing path {src}"
            );
        }
    }
    assert!(text.contains("tentabo-api") && text.contains("tentabo-worker"));
}

#[test]
fn kubernetes_manifests_alert_rules_and_the_dashboard_validate_offline() {
    // kubectl kustomize + kubernetes-validate (bundled schemas), promtool check/test
    // rules, the dashboard's structure and PromQL, and every metric read exported.
    let out = std::process::Command::new("bash")
        .arg(root().join("deploy/check.sh"))
        .output()
        .expect("bash runs deploy/check.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "deploy/check.sh failed:\n{text}");
    assert!(
        text.contains("k8s/overlays/example: 10 resources valid"),
        "{text}"
    );
    assert!(text.contains("every metric read is exported"), "{text}");
}

#[test]
fn compose_starts_from_env_example_and_can_seed_the_demo() {
    let doc = compose();
    let example = std::fs::read_to_string(root().join(".env.example")).expect(".env.example");
    // Every variable compose insists on (`${VAR:?…}`) is in .env.example.
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    for required in text.split("${").skip(1).filter_map(|s| {
        let name = s.split([':', '}', '-']).next()?;
        s[name.len()..].starts_with(":?").then_some(name)
    }) {
        assert!(
            example
                .lines()
                .any(|l| l.starts_with(&format!("{required}="))),
            "{required} is required by docker-compose.yml but not in .env.example"
        );
    }
    let seed = service(&doc, "seed-demo");
    assert_eq!(seed["command"][1], "seed-demo");
    assert_eq!(seed["profiles"][0], "demo");
    assert_eq!(
        seed["depends_on"]["migrate"]["condition"],
        "service_completed_successfully"
    );
}
