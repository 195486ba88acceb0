//! Checks on what plugins return. A plan is accepted whole or not at all:
//! the first problem rejects it, naming the action, and nothing runs.

use super::capabilities::Capabilities;
use super::info::PluginInfo;
use crate::model::{Action, ActionKind, ProbeSource, ProbeWord, Program};

/// Bounds on a plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    /// Most actions in one plan.
    pub max_actions: usize,
    /// Largest `put-file` content.
    pub max_file_bytes: usize,
    /// Largest total of file contents and stdin in one plan.
    pub max_total_bytes: usize,
    /// Longest command timeout.
    pub max_timeout_secs: u32,
    /// Most retries.
    pub max_retries: u32,
    /// Longest reboot wait.
    pub max_reboot_secs: u32,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits {
            max_actions: 10_000,
            max_file_bytes: 16 << 20,
            max_total_bytes: 64 << 20,
            max_timeout_secs: 24 * 3600,
            max_retries: 100,
            max_reboot_secs: 3600,
        }
    }
}

/// Why a plan was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Malformed.
    Invalid(String),
    /// Outside declared or granted capabilities.
    NotAllowed {
        /// Which action and what it lacks.
        problem: String,
        /// The plugin declared it, and the workflow's grants took it away.
        by_grant: bool,
    },
}

/// Refuse an action: the plugin did not declare what it needs (when
/// `declared` is false), or the step's grants do not allow it.
fn refuse(declared: bool, action: String, plugin_side: &str, grant_side: &str) -> Violation {
    if declared {
        Violation::NotAllowed { problem: format!("{action}, which the step's grants do not allow ({grant_side})"), by_grant: true }
    } else {
        Violation::NotAllowed { problem: format!("{action}, which the plugin did not declare ({plugin_side})"), by_grant: false }
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && s.len() <= 128
}

fn is_abs_clean_path(p: &str) -> bool {
    p.starts_with('/') && !p.contains('\0') && !p.split('/').any(|c| c == ".." || c == ".") && p.len() <= 4096
}

/// Check what `describe()` returned.
pub fn validate_info(info: &PluginInfo) -> Result<(), String> {
    if !is_name(&info.name) || info.name.len() > 64 {
        return Err(format!("plugin name {:?} must be lowercase letters, digits and '-'", info.name));
    }
    if info.version.trim().is_empty() {
        return Err("empty version".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &info.params {
        if !is_ident(&p.name) {
            return Err(format!("parameter name {:?} is not an identifier", p.name));
        }
        if !seen.insert(&p.name) {
            return Err(format!("parameter `{}` declared twice", p.name));
        }
        if let Some(d) = &p.default
            && !p.ty.accepts(d)
        {
            return Err(format!("default of parameter `{}` is not a {}", p.name, p.ty.name()));
        }
        p.rules.validate().map_err(|e| format!("parameter `{}`: {e}", p.name))?;
    }
    let mut probes = std::collections::BTreeSet::new();
    for p in &info.probes {
        if !is_ident(&p.name) || !probes.insert(&p.name) {
            return Err(format!("probe name {:?} is invalid or declared twice", p.name));
        }
        check_probe_source(&p.name, &p.source)?;
    }
    for w in info.capabilities.writes.iter().chain(&info.capabilities.reads) {
        if !is_abs_clean_path(w) {
            return Err(format!("capability path {w:?} must be absolute without `..`"));
        }
    }
    for v in info.produces.iter().chain(&info.consumes) {
        if !is_ident(v) {
            return Err(format!("variable name {v:?} is not an identifier"));
        }
    }
    Ok(())
}

/// A probe's declaration: a non-empty template or script without NUL, an
/// argv whose program is a literal, non-empty word.
fn check_probe_source(name: &str, source: &ProbeSource) -> Result<(), String> {
    let bad = |what: &str| Err(format!("probe `{name}` {what}"));
    let nul = |w: &[ProbeWord]| w.iter().any(|w| matches!(w, ProbeWord::Literal(s) | ProbeWord::Param(s) if s.contains('\0')));
    match source {
        ProbeSource::Template { text } if text.trim().is_empty() || text.contains('\0') => bad("has an empty or invalid command"),
        ProbeSource::Script { code, args } if code.trim().is_empty() || code.contains('\0') || nul(args) => {
            bad("has an empty or invalid script")
        }
        ProbeSource::Argv { words } if nul(words) => bad("has a NUL byte in a word"),
        ProbeSource::Argv { words } => match words.first() {
            Some(ProbeWord::Literal(p)) if p.starts_with('-') => {
                bad("starts with an option where its program belongs (`exec -- sh` runs sh)")
            }
            Some(ProbeWord::Literal(p)) if !p.trim().is_empty() => Ok(()),
            Some(ProbeWord::Param(_)) => bad("takes its program from a parameter (the program must be a literal word)"),
            _ => bad("has no program"),
        },
        _ => Ok(()),
    }
}

fn check_program(p: &Program, declared: &Capabilities, caps: &Capabilities, what: &str) -> Result<(), Violation> {
    match p {
        Program::Argv(argv) => {
            let Some(first) = argv.first() else {
                return Err(Violation::Invalid(format!("{what} has an empty argv")));
            };
            if first.is_empty() {
                return Err(Violation::Invalid(format!("{what} has an empty program name")));
            }
            // An option where the program belongs: `exec -- sh -c ...` (the
            // environment reader ends in `exec "$@"`) would run sh.
            if first.starts_with('-') {
                return Err(Violation::Invalid(format!("{what} starts with the option {first:?} where its program belongs")));
            }
            if argv.iter().any(|a| a.contains('\0')) {
                return Err(Violation::Invalid(format!("{what} has a NUL byte in an argument")));
            }
            if !caps.allows_program(first) {
                return Err(refuse(declared.allows_program(first), format!("{what} runs `{first}`"), "programs", "grants.programs"));
            }
            // A launcher runs whatever it is handed: it counts as `shell`.
            if !caps.shell && !caps.allows_without_shell(first) {
                return Err(refuse(
                    declared.shell,
                    format!("{what} runs `{first}`, which runs any code it is given"),
                    "the `shell` capability",
                    "`shell = false`; name it in grants.programs to allow it",
                ));
            }
        }
        Program::Script(s) => {
            if s.trim().is_empty() || s.contains('\0') {
                return Err(Violation::Invalid(format!("{what} has an empty or invalid script")));
            }
            if !caps.shell {
                return Err(refuse(declared.shell, format!("{what} is a shell script"), "the `shell` capability", "`shell = false`"));
            }
        }
    }
    Ok(())
}

/// Check a plan: shape, bounds and capabilities.
pub fn validate_plan(
    info: &PluginInfo,
    caps: &Capabilities,
    actions: &[Action],
    reason: Option<&str>,
    limits: &PlanLimits,
) -> Result<(), Violation> {
    if actions.len() > limits.max_actions {
        return Err(Violation::Invalid(format!("{} actions, more than the limit of {}", actions.len(), limits.max_actions)));
    }
    if actions.is_empty() && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(Violation::Invalid("an empty plan must say why nothing needs doing".into()));
    }
    let mut total = 0usize;
    for (i, a) in actions.iter().enumerate() {
        let what = format!("action {} ({:?})", i + 1, truncate(&a.summary, 80));
        match &a.kind {
            ActionKind::Run(r) => {
                let declared = &info.capabilities;
                check_program(&r.program, declared, caps, &what)?;
                if let Some(g) = &r.unless {
                    check_program(g, declared, caps, &format!("the guard of {what}"))?;
                }
                if r.sudo && !caps.sudo {
                    return Err(refuse(declared.sudo, format!("{what} runs as root"), "sudo", "`sudo = false`"));
                }
                if r.timeout_secs == Some(0) || r.timeout_secs.is_some_and(|t| t > limits.max_timeout_secs) {
                    return Err(Violation::Invalid(format!("{what} has a timeout outside 1..={} s", limits.max_timeout_secs)));
                }
                if r.retries > limits.max_retries {
                    return Err(Violation::Invalid(format!("{what} asks for {} retries (limit {})", r.retries, limits.max_retries)));
                }
                for (k, _) in &r.env {
                    if k.is_empty()
                        || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        || k.starts_with(|c: char| c.is_ascii_digit())
                    {
                        return Err(Violation::Invalid(format!("{what} sets an invalid environment variable name {k:?}")));
                    }
                    if (k.starts_with("LC_") || k == "LANG" || k == "LANGUAGE") && r.env.iter().any(|(n, v)| n == k && v.contains('/')) {
                        return Err(Violation::Invalid(format!(
                            "{what} sets {k} to a path; a locale is a name (a path would load files of the plugin's choosing)"
                        )));
                    }
                    if !caps.allows_env(k) {
                        return Err(Violation::NotAllowed {
                            problem: format!(
                                "{what} sets {k}, which changes what runs or what it loads; the workflow must grant it (grants = {{ env = [\"{k}\"] }})"
                            ),
                            by_grant: true,
                        });
                    }
                }
                if let Some(v) = &r.capture {
                    check_var(info, v, &what)?;
                }
                total += r.stdin.as_ref().map_or(0, String::len);
            }
            ActionKind::PutFile(f) => {
                if !is_abs_clean_path(&f.path) {
                    return Err(Violation::Invalid(format!("{what} writes {:?}, which is not an absolute path without `..`", f.path)));
                }
                if f.content.len() > limits.max_file_bytes {
                    return Err(Violation::Invalid(format!(
                        "{what} writes {} bytes, more than the limit of {}",
                        f.content.len(),
                        limits.max_file_bytes
                    )));
                }
                if f.mode.is_some_and(|m| m > 0o7777) {
                    return Err(Violation::Invalid(format!("{what} has an invalid mode")));
                }
                if f.mode.is_some_and(|m| m & 0o6000 != 0) && !caps.setuid {
                    return Err(Violation::NotAllowed {
                        problem: format!(
                            "{what} writes {} setuid or setgid; the workflow must grant it (grants = {{ setuid = true }})",
                            f.path
                        ),
                        by_grant: true,
                    });
                }
                for name in [&f.owner, &f.group].into_iter().flatten() {
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
                        return Err(Violation::Invalid(format!("{what} has an invalid owner or group {name:?}")));
                    }
                }
                if !caps.allows_write(&f.path) {
                    return Err(refuse(
                        info.capabilities.allows_write(&f.path),
                        format!("{what} writes {}", f.path),
                        "writes",
                        "grants.writes",
                    ));
                }
                total += f.content.len();
            }
            ActionKind::Reboot(r) => {
                if r.timeout_secs == 0 || r.timeout_secs > limits.max_reboot_secs {
                    return Err(Violation::Invalid(format!("{what} has a reboot timeout outside 1..={} s", limits.max_reboot_secs)));
                }
                if !caps.reboot {
                    return Err(refuse(info.capabilities.reboot, format!("{what} reboots the host"), "reboots", "`reboot = false`"));
                }
                if !caps.sudo {
                    return Err(refuse(
                        info.capabilities.sudo,
                        format!("{what} reboots the host, which needs root"),
                        "sudo",
                        "`sudo = false`",
                    ));
                }
            }
            ActionKind::FetchFile(f) => {
                if !is_abs_clean_path(&f.path) {
                    return Err(Violation::Invalid(format!("{what} reads {:?}, which is not an absolute path without `..`", f.path)));
                }
                check_var(info, &f.into, &what)?;
                if !caps.allows_read(&f.path) {
                    return Err(refuse(
                        info.capabilities.allows_read(&f.path),
                        format!("{what} reads {}", f.path),
                        "reads",
                        "grants.reads",
                    ));
                }
            }
        }
        if a.summary.trim().is_empty() {
            return Err(Violation::Invalid(format!("action {} has no summary", i + 1)));
        }
        if let Some(k) = a.when_changed.iter().find(|&&k| k as usize >= i) {
            return Err(Violation::Invalid(format!("{what} runs when action {} changes, which is not an earlier action", k + 1)));
        }
        if total > limits.max_total_bytes {
            return Err(Violation::Invalid(format!("the plan carries more than {} bytes of content", limits.max_total_bytes)));
        }
    }
    Ok(())
}

fn check_var(info: &PluginInfo, v: &str, what: &str) -> Result<(), Violation> {
    if !is_ident(v) {
        return Err(Violation::Invalid(format!("{what} captures into an invalid variable name {v:?}")));
    }
    if !info.produces.iter().any(|p| p == v) {
        return Err(Violation::NotAllowed {
            problem: format!("{what} captures variable `{v}`, which the plugin did not declare in `produces`"),
            by_grant: false,
        });
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n).collect::<String>() + "…" }
}
