//! Pinned RPM packages on yum-based hosts (CentOS 7): which pins are
//! missing or at another version, and the actions that install them and
//! then check that they really are installed.
//!
//! Why the check matters: CentOS 7's yum 3.4.3 skips names it cannot find
//! (`skip_missing_names_on_install` defaults to True, yum.conf(5)), prints
//! "No package X available." and still exits 0 when something else was
//! installed; a dependency then pulls the newest version of the skipped
//! package. So installs run with `--setopt=skip_missing_names_on_install=0`,
//! and a read-only `rpm -q` of every pinned name-version-release follows.
//! `yum install` of an older version than the installed one does nothing,
//! so a newer installed version is brought back with `yum downgrade`.

use crate::{Action, cmd, version};
use std::cmp::Ordering;

/// One package a plugin wants, as the workflow wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The spec given to yum: `docker-ce-3:20.10.8-3.el7.x86_64`, `kubelet-1.21.10`, `containerd.io`.
    pub spec: String,
    /// The package name: `docker-ce`.
    pub name: String,
    /// The wanted version without epoch, as `rpm -q` prints it after the
    /// name (`20.10.8-3.el7.x86_64`, `1.21.10`), or none for any version.
    pub version: Option<String>,
}

impl Pin {
    /// A pin from `name` and a yum spec whose version part follows `name-`.
    pub fn new(name: &str, spec: &str) -> Pin {
        let rest = spec.strip_prefix(name).and_then(|r| r.strip_prefix('-')).filter(|r| !r.is_empty());
        let version = rest.map(|r| r.split_once(':').map(|(_, v)| v).unwrap_or(r).to_string());
        Pin { spec: spec.to_string(), name: name.to_string(), version }
    }

    /// A pin from a yum spec alone: `name-epoch:version-release[.arch]`
    /// (the name is what precedes the epoch's `-`), `name-version-release[.arch]`
    /// (the name is what precedes the first `-` and digit: a version starts
    /// with one, as in Docker's `containerd.io-1.6.33-3.1.el7.x86_64`), or a
    /// bare `name`.
    pub fn parse(spec: &str) -> Pin {
        match spec.split_once(':') {
            Some((name_epoch, _)) => {
                let name = name_epoch.rsplit_once('-').map(|(n, _)| n).unwrap_or(name_epoch);
                Pin::new(name, spec)
            }
            None => match spec.match_indices('-').find(|(i, _)| spec[i + 1..].starts_with(|c: char| c.is_ascii_digit())) {
                Some((i, _)) => Pin::new(&spec[..i], spec),
                None => Pin { spec: spec.to_string(), name: spec.to_string(), version: None },
            },
        }
    }

    /// The installed version of this package in `rpm -q NAME...` output
    /// (`docker-ce-20.10.8-3.el7.x86_64` -> `20.10.8-3.el7.x86_64`).
    pub fn installed_in<'a>(&self, rpm_q: &'a str) -> Option<&'a str> {
        rpm_q.lines().map(str::trim).find_map(|l| {
            let v = l.strip_prefix(&self.name)?.strip_prefix('-')?;
            v.starts_with(|c: char| c.is_ascii_digit()).then_some(v)
        })
    }

    /// Whether `installed` (version-release.arch) is the wanted version.
    pub fn satisfied_by(&self, installed: &str) -> bool {
        match &self.version {
            None => true,
            Some(want) => installed == want || installed.starts_with(&format!("{want}-")) || installed.starts_with(&format!("{want}.")),
        }
    }

    /// What `rpm -q` takes to confirm this pin: `name-version` or `name`.
    pub fn query(&self) -> String {
        match &self.version {
            Some(v) => format!("{}-{v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A shell probe printing `rpm -q NAME` for every spec of list parameter
/// `param` (the name taken from `name-epoch:...` and `name-version...`
/// specs as [`Pin::parse`] takes it; bare names are queried as written). Each line is `name-version-release.arch` or
/// `package X is not installed`.
/// Declare it with `probe_script(NAME, rpm::PROBE_SCRIPT, "{param}")`: the
/// specs are the script's arguments, never part of its code.
pub const PROBE_SCRIPT: &str =
    "for s in \"$@\"; do case $s in *:*) n=${s%%:*}; n=${n%-*} ;; *-[0-9]*) n=${s%%-[0-9]*} ;; *) n=$s ;; esac; rpm -q \"$n\"; done; true";

/// Pins and their state on a host.
#[derive(Debug, Default)]
pub struct PinState<'a> {
    /// Not installed at all.
    pub missing: Vec<&'a Pin>,
    /// Installed at an older version than wanted (yum install updates them).
    pub older: Vec<(&'a Pin, String)>,
    /// Installed at a newer version than wanted (needs yum downgrade).
    pub newer: Vec<(&'a Pin, String)>,
}

impl PinState<'_> {
    /// Whether every pin is installed at its version.
    pub fn converged(&self) -> bool {
        self.missing.is_empty() && self.older.is_empty() && self.newer.is_empty()
    }
}

/// Compare pins with `rpm -q` output.
pub fn state<'a>(pins: &'a [Pin], rpm_q: &str) -> PinState<'a> {
    let mut st = PinState::default();
    for p in pins {
        match p.installed_in(rpm_q) {
            None => st.missing.push(p),
            Some(v) if p.satisfied_by(v) => {}
            Some(v) => {
                let want = p.version.as_deref().unwrap_or("");
                if version::compare(v, want) == Ordering::Greater {
                    st.newer.push((p, v.to_string()));
                } else {
                    st.older.push((p, v.to_string()));
                }
            }
        }
    }
    st
}

/// Actions that bring every pin to its version: one `yum install` (missing
/// and older pins), one `yum downgrade` (newer ones), then a read-only
/// `rpm -q` of every pin, so a package yum skipped fails the step.
pub fn converge(pins: &[Pin], st: &PinState, enable_repos: &[&str]) -> Vec<Action> {
    let mut actions: Vec<Action> = Vec::new();
    let yum = |verb: &str, specs: Vec<&str>| {
        let mut argv: Vec<String> = vec!["yum".into(), "-y".into(), "--setopt=skip_missing_names_on_install=0".into()];
        argv.extend(enable_repos.iter().map(|r| format!("--enablerepo={r}")));
        argv.push(verb.into());
        argv.extend(specs.iter().map(|s| s.to_string()));
        argv
    };
    let mut install: Vec<&str> = st.missing.iter().map(|p| p.spec.as_str()).collect();
    install.extend(st.older.iter().map(|(p, _)| p.spec.as_str()));
    if !install.is_empty() {
        let what = st
            .missing
            .iter()
            .map(|p| p.spec.clone())
            .chain(st.older.iter().map(|(p, v)| format!("{} (update from {v})", p.spec)))
            .collect::<Vec<_>>()
            .join(" ");
        actions.push(cmd::run(yum("install", install)).timeout_secs(1800).summary(format!("install {what}")).into());
    }
    if !st.newer.is_empty() {
        let specs: Vec<&str> = st.newer.iter().map(|(p, _)| p.spec.as_str()).collect();
        let what = st.newer.iter().map(|(p, v)| format!("{} (from {v})", p.spec)).collect::<Vec<_>>().join(" ");
        actions.push(cmd::run(yum("downgrade", specs)).timeout_secs(1800).summary(format!("downgrade to {what}")).into());
    }
    if !actions.is_empty() {
        let mut argv = vec!["rpm".to_string(), "-q".into()];
        argv.extend(pins.iter().map(Pin::query));
        actions.push(cmd::run(argv).as_user().read_only().summary("verify the pinned package versions are installed").into());
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yum_specs() {
        // Docker's el7 packages: docker-ce has epoch 3, docker-ce-cli epoch 1.
        let p = Pin::parse("docker-ce-cli-1:20.10.8-3.el7.x86_64");
        assert_eq!((p.name.as_str(), p.version.as_deref()), ("docker-ce-cli", Some("20.10.8-3.el7.x86_64")));
        assert_eq!(p.query(), "docker-ce-cli-20.10.8-3.el7.x86_64");
        let p = Pin::parse("containerd.io");
        assert_eq!((p.name.as_str(), p.version), ("containerd.io", None));
        let p = Pin::parse("containerd.io-1.6.33-3.1.el7.x86_64");
        assert_eq!((p.name.as_str(), p.version.as_deref()), ("containerd.io", Some("1.6.33-3.1.el7.x86_64")));
        assert_eq!(Pin::parse("docker-ce-cli").version, None, "a name with dashes but no version");
        let p = Pin::new("kubelet", "kubelet-1.21.10");
        assert_eq!(p.version.as_deref(), Some("1.21.10"));
    }

    #[test]
    fn finds_installed_versions_by_exact_name() {
        let out = "docker-ce-cli-26.1.4-1.el7.x86_64\ndocker-ce-20.10.8-3.el7.x86_64\npackage containerd.io is not installed\n";
        // docker-ce must not match docker-ce-cli's line.
        assert_eq!(Pin::parse("docker-ce-3:20.10.8-3.el7.x86_64").installed_in(out), Some("20.10.8-3.el7.x86_64"));
        assert_eq!(Pin::parse("containerd.io").installed_in(out), None);
        let pins: Vec<Pin> =
            ["docker-ce-3:20.10.8-3.el7.x86_64", "docker-ce-cli-1:20.10.8-3.el7.x86_64", "containerd.io"].map(Pin::parse).to_vec();
        let st = state(&pins, out);
        assert_eq!(st.missing.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["containerd.io"]);
        assert_eq!(st.newer.len(), 1, "the newest CLI a dependency pulled in is downgraded");
        assert!(st.older.is_empty());
        let kubelet = [Pin::new("kubelet", "kubelet-1.21.10")];
        assert!(state(&kubelet, "kubelet-1.21.10-0.x86_64\n").converged());
        assert_eq!(state(&kubelet, "kubelet-1.21.9-0.x86_64\n").older.len(), 1);
        assert!(!Pin::new("kubelet", "kubelet-1.21.1").satisfied_by("1.21.10-0.x86_64"), "1.21.1 is not 1.21.10");
    }

    #[test]
    fn converging_fails_on_skipped_names_and_verifies() {
        let pins = [Pin::parse("docker-ce-cli-1:20.10.8-3.el7.x86_64")];
        let st = state(&pins, "package docker-ce-cli is not installed\n");
        let a = converge(&pins, &st, &[]);
        assert_eq!(a.len(), 2);
        let argv = |a: &Action| match &a.kind {
            crate::ActionKind::Run(r) => match &r.program {
                crate::Program::Argv(v) => v.join(" "),
                crate::Program::Script(s) => s.clone(),
            },
            _ => String::new(),
        };
        assert_eq!(argv(&a[0]), "yum -y --setopt=skip_missing_names_on_install=0 install docker-ce-cli-1:20.10.8-3.el7.x86_64");
        assert_eq!(argv(&a[1]), "rpm -q docker-ce-cli-20.10.8-3.el7.x86_64");
    }
}
