//! A real OpenLDAP `slapd` per test (tests/ldap/slapd.sh: loopback, a private directory,
//! the seeded tree of tests/ldap/seed.ldif, a throw-away CA for StartTLS and LDAPS),
//! stopped when the guard drops. The directory is changed with Debian's `ldap-utils`
//! as its admin.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub const SUFFIX: &str = "dc=tentabo,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=tentabo,dc=test";
pub const ADMIN_PW: &str = "admin-secret";
pub const SERVICE_DN: &str = "cn=tentabo-svc,ou=services,dc=tentabo,dc=test";
pub const SERVICE_PW: &str = "svc-secret";
pub const PEOPLE: &str = "ou=people,dc=tentabo,dc=test";
pub const GROUPS: &str = "ou=groups,dc=tentabo,dc=test";

pub struct Slapd {
    pub dir: PathBuf,
    pub port: u16,
    pub ldaps_port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/ldap/slapd.sh")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Slapd {
    /// Starts a seeded slapd on two free loopback ports (tried again on a port race),
    /// logging every operation (`stats`).
    pub fn start() -> Slapd {
        Self::start_logging("stats")
    }

    /// As [`Slapd::start`], with slapd's log level (`none`: errors only, for benches).
    pub fn start_logging(level: &str) -> Slapd {
        let dir =
            std::env::temp_dir().join(format!("tentabo-slapd-{}", uuid::Uuid::new_v4().simple()));
        for attempt in 1..=3 {
            let (port, ldaps_port) = (free_port(), free_port());
            let out = Command::new("bash")
                .env("SLAPD_DEBUG", level)
                .arg(script())
                .args([
                    "start",
                    dir.to_str().unwrap(),
                    &port.to_string(),
                    &ldaps_port.to_string(),
                ])
                .stderr(Stdio::piped())
                .output()
                .expect("run tests/ldap/slapd.sh (apt-get install slapd ldap-utils)");
            if out.status.success() {
                return Slapd {
                    dir,
                    port,
                    ldaps_port,
                };
            }
            eprintln!(
                "slapd start attempt {attempt} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!("slapd did not start");
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// The CA the server's certificate chains to (PEM).
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.dir.join("tls/ca.pem")).unwrap()
    }

    /// slapd's own log (every operation at the `stats` level).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default()
    }

    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }

    fn admin_tool(&self, tool: &str, args: &[&str], stdin: Option<&str>) {
        use std::io::Write;
        let mut child = Command::new(tool)
            .args(["-x", "-H", &self.url(), "-D", ADMIN_DN, "-w", ADMIN_PW])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Deletes an entry (the memberof overlay's refint removes it from its groups).
    pub fn delete(&self, dn: &str) {
        self.admin_tool("ldapdelete", &[dn], None);
    }

    /// Removes a member from a group.
    pub fn remove_member(&self, group_dn: &str, member_dn: &str) {
        let ldif =
            format!("dn: {group_dn}\nchangetype: modify\ndelete: member\nmember: {member_dn}\n");
        self.admin_tool("ldapmodify", &[], Some(&ldif));
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
