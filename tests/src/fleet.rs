//! A simulated fleet for end-to-end tests (tests/fleet/fleet): started by a
//! test, torn down when dropped.

use crate::{plait_bin, repo_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Why end-to-end tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    // SAFETY of the check: geteuid via `id -u` keeps this crate free of libc.
    let uid = Command::new("id").arg("-u").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.as_deref() != Some("0") {
        return Some("end-to-end tests need root to create network and mount namespaces".into());
    }
    if !Path::new("/usr/sbin/sshd").exists() {
        return Some("end-to-end tests need OpenSSH's sshd (apt-get install openssh-server; scripts/setup does)".into());
    }
    None
}

/// Skip (only with PLAIT_SKIP_E2E=1, saying so) or fail when the fleet cannot run.
/// Returns true when the test should return early.
pub fn skip_unless_available() -> bool {
    match unavailable() {
        None => false,
        Some(why) if std::env::var_os("PLAIT_SKIP_E2E").is_some() => {
            eprintln!("SKIPPED (PLAIT_SKIP_E2E is set): {why}");
            true
        }
        Some(why) => panic!("{why}; set PLAIT_SKIP_E2E=1 to skip end-to-end tests explicitly"),
    }
}

/// A running fleet.
pub struct Fleet {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

fn script() -> PathBuf {
    repo_root().join("tests/fleet/fleet")
}

fn check(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

impl Fleet {
    /// Start `n` hosts: master, node1, ...
    pub fn up(n: usize) -> Fleet {
        Fleet::up_with(n, &[])
    }

    /// Start `n` hosts with more `fleet up` options (`--uefi`, `--catalog FILE`).
    pub fn up_with(n: usize, options: &[&str]) -> Fleet {
        let tmp = tempfile::Builder::new().prefix("plait-fleet-").tempdir().expect("temp dir");
        let dir = tmp.path().join("fleet");
        check(Command::new(script()).arg("up").arg(&dir).arg(n.to_string()).args(options).output().expect("fleet up"), "fleet up");
        Fleet { dir, _tmp: tmp }
    }

    /// The fleet's folder (keys, known_hosts, inventories).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The inventory file for `root`, `plait` or `plaitpw`.
    pub fn inventory(&self, user: &str) -> PathBuf {
        self.dir.join(if user == "root" { "inventory.toml".to_string() } else { format!("inventory-{user}.toml") })
    }

    /// Lines of a host's sshd log that record successful logins.
    pub fn login_lines(&self, host: &str) -> Vec<String> {
        self.exec(host, "grep 'Accepted publickey' /var/log/sshd.log || true").lines().map(String::from).collect()
    }

    /// Run `plait` in the controller namespace from the repository root.
    pub fn plait(&self, args: &[&str]) -> Output {
        self.plait_env(args, &[])
    }

    /// Like [`Fleet::plait`], with extra environment variables.
    pub fn plait_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.plait_command(args).envs(env.iter().copied()).output().expect("running plait in the fleet")
    }

    /// Start `plait` in the controller namespace without waiting (stdout and
    /// stderr piped).
    pub fn spawn_plait(&self, args: &[&str]) -> std::process::Child {
        self.plait_command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting plait in the fleet")
    }

    /// `plait ARGS` in the controller namespace, from the repository root,
    /// with the tests' plugin cache and no inherited plugin path.
    fn plait_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(script());
        c.arg("ctl")
            .arg(&self.dir)
            .arg(plait_bin())
            .args(args)
            .current_dir(repo_root())
            .env("PLAIT_CACHE_DIR", repo_root().join("target/test-cache"))
            .env_remove("PLAIT_PLUGIN_PATH");
        c
    }

    /// Run a command inside a host, as root.
    pub fn exec(&self, host: &str, cmd: &str) -> String {
        let o =
            check(Command::new(script()).arg("exec").arg(&self.dir).arg(host).args(["bash", "-c", cmd]).output().expect("fleet exec"), cmd);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The host's state dump.
    pub fn state(&self, host: &str) -> serde_json::Value {
        let o = check(Command::new(script()).arg("state").arg(&self.dir).arg(host).output().expect("fleet state"), "fleet state");
        serde_json::from_slice(&o.stdout).expect("state dump is JSON")
    }

    /// Cut or restore a host's network.
    pub fn net(&self, host: &str, up: bool) {
        check(
            Command::new(script()).arg("net").arg(&self.dir).arg(host).arg(if up { "up" } else { "down" }).output().expect("fleet net"),
            "fleet net",
        );
    }

    /// How long `host` stays down when it reboots (seconds).
    pub fn reboot_delay(&self, host: &str, secs: u64) {
        check(
            Command::new(script()).arg("reboot-delay").arg(&self.dir).arg(host).arg(secs.to_string()).output().expect("fleet reboot-delay"),
            "fleet reboot-delay",
        );
    }

    /// Count successful SSH logins recorded by a host's sshd.
    pub fn logins(&self, host: &str) -> usize {
        self.exec(host, "grep -c 'Accepted publickey' /var/log/sshd.log || true").trim().parse().unwrap_or(0)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("down").arg(&self.dir).output();
    }
}
