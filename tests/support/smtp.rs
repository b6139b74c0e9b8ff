//! A real SMTP server per test: `tests/smtp/smtp.sh` runs aiosmtpd on a loopback port and
//! writes every message it accepts, decoded, as JSON in a private directory.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SmtpServer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl SmtpServer {
    /// Starts the server and waits until it listens (the first start installs aiosmtpd).
    pub async fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let dir = std::env::temp_dir().join(format!("tentabo-smtp-{}", uuid::Uuid::new_v4()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/smtp/smtp.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {script}: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .unwrap_or_else(|e| panic!("smtp server: {e}"));
            assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        SmtpServer { port, dir, child }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{e}"));
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect()
    }

    /// Waits until `n` messages arrived (or panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} messages expected, {} received: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
