//! A Postgres server of the test's own (Debian's `postgresql` binaries), on a free
//! loopback port, for tests that stop and restart the database under traffic. Run as
//! the `postgres` user when the tests run as root (Postgres refuses root).

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    bindir: PathBuf,
}

fn bindir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Postgres binaries in /usr/lib/postgresql (apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The command, run as the `postgres` user when the tests run as root.
fn as_postgres(bin: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivatePostgres {
    /// Initialises a cluster in a fresh directory and starts it.
    pub fn start() -> PrivatePostgres {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("tentabo-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        // The postgres user must own the directory when the server runs as it.
        let _ = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .output();
        let pg = PrivatePostgres {
            port,
            dir,
            bindir: bindir(),
        };
        let mut init = as_postgres(&pg.bindir.join("initdb"));
        init.arg("-D").arg(pg.dir.join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]);
        run(init, "initdb");
        pg.start_again();
        pg
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the (stopped) server again and waits until it accepts connections.
    pub fn start_again(&self) {
        let mut c = as_postgres(&self.bindir.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
                self.port,
                self.dir.display()
            ))
            .arg("start");
        run(c, "pg_ctl start");
    }

    /// Stops the server at once (`immediate`: as a crash would, open connections cut).
    pub fn stop(&self) {
        let mut c = as_postgres(&self.bindir.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        run(c, "pg_ctl stop");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut c = as_postgres(&self.bindir.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"]);
        let _ = c.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
