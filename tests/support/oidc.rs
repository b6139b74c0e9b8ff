//! A real OpenID provider per test: panva's certified `oidc-provider` from npm, started
//! by tests/oidc/oidc.sh on a free loopback port with one client for Tentabo, static
//! accounts, a plain login form, and control endpoints to rotate its keys and to
//! corrupt the next ID token it issues (tests/oidc/server.mjs).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::ChildGuard;

pub const CLIENT_ID: &str = "tentabo";
pub const CLIENT_SECRET: &str = "tentabo-secret";

pub struct OidcPeer {
    _child: ChildGuard,
    pub port: u16,
    client: reqwest::Client,
}

impl OidcPeer {
    /// Starts the provider with `redirect_uri` registered; waits for its READY line
    /// (the first run installs the package: allow for it).
    pub fn start(redirect_uri: &str) -> OidcPeer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc/oidc.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .env("OIDC_PORT", "0")
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", redirect_uri)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/oidc/oidc.sh (needs node and npm)");
        let stdout = child.stdout.take().unwrap();
        let guard = ChildGuard(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("oidc-provider did not start: {line:?}"))
            .parse()
            .unwrap();
        OidcPeer {
            _child: guard,
            port,
            client: reqwest::Client::new(),
        }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A new signing key; the old one leaves the JWKS. Answers the new key id.
    pub async fn rotate(&self) -> String {
        let res: serde_json::Value = self
            .client
            .post(format!("{}/__test/rotate", self.issuer()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        res["kid"].as_str().unwrap().to_owned()
    }

    /// Corrupts the next ID token issued (`wrong_aud`, `wrong_nonce`, `expired`,
    /// `unknown_kid`, `alg_none`, `wrong_iss`, `future_iat`).
    pub async fn tamper(&self, mode: &str) {
        let res = self
            .client
            .post(format!("{}/__test/tamper", self.issuer()))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "tamper {mode}");
    }
}
