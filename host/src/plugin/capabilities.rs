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
}

/// Environment variables an action may set only when the workflow grants
/// them by name: they change which program runs, what it loads, or what a
/// shell executes on start (ld.so(8), bash(1) `BASH_ENV`/`ENV`, glibc's
/// `GCONV_PATH`, interpreters' library paths).
pub fn is_sensitive_env(name: &str) -> bool {
    name.starts_with("LD_")
        || matches!(
            name,
            "PATH"
                | "BASH_ENV"
                | "ENV"
                | "IFS"
                | "CDPATH"
                | "SHELLOPTS"
                | "BASHOPTS"
                | "PS4"
                | "GCONV_PATH"
                | "NLSPATH"
                | "LOCPATH"
                | "HOSTALIASES"
                | "PYTHONPATH"
                | "PYTHONHOME"
                | "PYTHONSTARTUP"
                | "PERL5LIB"
                | "PERL5OPT"
                | "PERLLIB"
                | "RUBYLIB"
                | "RUBYOPT"
                | "NODE_OPTIONS"
                | "NODE_PATH"
                | "JAVA_TOOL_OPTIONS"
                | "SUDO_ASKPASS"
        )
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
    /// Sensitive environment variables (PATH, LD_*, ...) the step's actions
    /// may set: the other thing a grant adds; none unless granted.
    pub env: Option<Vec<String>>,
    /// Actions and probes may run as root.
    pub sudo: Option<bool>,
    /// Only these of the plugin's probes may run; a step whose plugin
    /// declares others is refused before any host is contacted.
    pub probes: Option<Vec<String>>,
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
        }
    }

    /// Whether a program (argv[0]) may be started: exactly as declared. A
    /// declared name allows that name (found on the search path), not some
    /// `/tmp/x/name`; a declared absolute path allows that path only.
    pub fn allows_program(&self, argv0: &str) -> bool {
        self.programs.iter().any(|p| p == argv0)
    }

    /// Whether actions may set the environment variable `name`.
    pub fn allows_env(&self, name: &str) -> bool {
        !is_sensitive_env(name) || self.env.iter().any(|e| e == name)
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
    fn programs_match_exactly_and_sensitive_env_needs_a_grant() {
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
        for (name, want) in
            [("LANG", true), ("KUBECONFIG", true), ("PATH", false), ("LD_PRELOAD", false), ("LD_LIBRARY_PATH", false), ("BASH_ENV", false)]
        {
            assert_eq!(c.allows_env(name), want, "{name}");
        }
        let granted = c.narrow(&Grants { env: Some(vec!["LD_LIBRARY_PATH".into()]), ..Grants::default() });
        assert!(granted.allows_env("LD_LIBRARY_PATH") && !granted.allows_env("LD_PRELOAD"));
    }
}
