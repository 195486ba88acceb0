//! Probes under capabilities. A probe is a command the host runs before a
//! plugin plans, also during `plait plan` and `plait facts`, so it is held
//! to the same consent as an action: a probe that is one program with plain
//! arguments needs that program in `programs` (or `shell`, since probes run
//! through `sh -c`); anything else is shell code and needs `shell`; a probe run as root needs `sudo`. A workflow narrows
//! probes like actions (`grants = { programs, shell, sudo, probes }`), and
//! the check runs when the workflow is bound, before any host is contacted.

use super::capabilities::{Capabilities, Grants, is_launcher};
use super::info::Probe;
use crate::model::ProbeWord;
use serde::Serialize;

/// What a probe's command is, as far as capabilities are concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "program", rename_all = "snake_case")]
pub enum ProbeShape {
    /// One program started with `exec` and its words, no shell between.
    Program(String),
    /// Shell code (a script, or a template the tokenizer does not read as
    /// one program: [`crate::model::parse_template`]).
    Shell,
}

/// Classify a probe from its declaration (parameter values cannot change it).
pub fn shape(p: &Probe) -> ProbeShape {
    match p.source.program_words().as_deref() {
        Some([ProbeWord::Literal(program), ..]) if !program.is_empty() => ProbeShape::Program(program.clone()),
        _ => ProbeShape::Shell,
    }
}

/// Why a probe may not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRefusal {
    /// The probe.
    pub probe: String,
    /// What it needs that is missing, and on which side.
    pub reason: String,
    /// Whether the workflow's grants (rather than the plugin's own
    /// declaration) are what refuses it.
    pub by_grant: bool,
}

/// What a probe needs, in words (`runs grep`, `shell code`, `as root`).
pub fn describe(p: &Probe) -> String {
    let what = match shape(p) {
        ProbeShape::Program(prog) if is_launcher(&prog) => format!("runs {prog}, which runs any code: shell"),
        ProbeShape::Program(prog) => format!("runs {prog}"),
        ProbeShape::Shell => "shell code".to_string(),
    };
    if p.sudo { format!("{what}, as root") } else { what }
}

/// Check every probe against what the plugin declared and what the step's
/// grants leave (`narrowed`); the first refusal is returned.
pub fn check(probes: &[Probe], declared: &Capabilities, narrowed: &Capabilities, grants: &Grants) -> Result<(), ProbeRefusal> {
    for p in probes {
        let refuse = |reason: String, by_grant: bool| Err(ProbeRefusal { probe: p.name.clone(), reason, by_grant });
        if let Some(allowed) = &grants.probes
            && !allowed.contains(&p.name)
        {
            return refuse("the step's grants.probes does not list it".into(), true);
        }
        match shape(p) {
            // A plugin allowed shell code may run any program from a
            // probe, as it could from a script.
            ProbeShape::Program(prog) => {
                if !declared.allows_program(&prog) && !declared.shell {
                    return refuse(
                        format!("it runs `{prog}`, which the plugin declares neither in its programs nor through `shell`"),
                        false,
                    );
                }
                if !narrowed.allows_program(&prog) && !narrowed.shell {
                    return refuse(
                        format!("it runs `{prog}`, which the step's grants allow neither in programs nor through `shell`"),
                        true,
                    );
                }
                // A launcher runs whatever it is handed: as good as a shell.
                if !narrowed.shell && !narrowed.allows_without_shell(&prog) {
                    return refuse(
                        format!(
                            "it runs `{prog}`, which runs any code it is given, so it needs `shell` (or the step's grants.programs naming it)"
                        ),
                        declared.shell,
                    );
                }
            }
            ProbeShape::Shell => {
                if !declared.shell {
                    return refuse("it is shell code, and the plugin does not declare the `shell` capability".into(), false);
                }
                if !narrowed.shell {
                    return refuse("it is shell code, and the step grants `shell = false`".into(), true);
                }
            }
        }
        if p.sudo && !narrowed.sudo {
            return refuse("it runs as root, and the step grants `sudo = false`".into(), true);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &str, command: &str, sudo: bool) -> Probe {
        Probe { name: name.into(), source: crate::model::ProbeSource::Template { text: command.into() }, sudo }
    }

    #[test]
    fn launchers_need_shell_unless_the_workflow_names_them() {
        let declared = Capabilities { programs: vec!["sed".into(), "rpm".into()], ..Capabilities::default() };
        let all = Grants::default();
        let e = check(&[probe("s", "sed -n 1p /etc/hosts", false)], &declared, &declared.narrow(&all), &all).unwrap_err();
        assert!(!e.by_grant && e.reason.contains("needs `shell`"), "{e:?}");
        let named = Grants { programs: Some(vec!["sed".into(), "rpm".into()]), ..Grants::default() };
        assert_eq!(check(&[probe("s", "sed -n 1p /etc/hosts", false)], &declared, &declared.narrow(&named), &named), Ok(()));
        // A builtin template is shell code, whatever the plugin declares.
        let t = Capabilities { programs: vec!["test".into()], ..Capabilities::default() };
        let e = check(&[probe("t", "test -v 'x[$(id)]'", false)], &t, &t, &all).unwrap_err();
        assert!(e.reason.contains("shell code"), "{e:?}");
        // The hole of 9b41850: a placeholder inside quotes is shell code.
        let r = Capabilities { programs: vec!["rpm".into()], ..Capabilities::default() };
        let e = check(&[probe("q", "rpm -q 'plait-{pkg}'", false)], &r, &r, &all).unwrap_err();
        assert!(e.reason.contains("shell code"), "{e:?}");
    }

    #[test]
    fn probes_need_what_actions_need_and_grants_narrow_them() {
        let declared = Capabilities { programs: vec!["rpm".into()], shell: false, sudo: true, ..Capabilities::default() };
        let all = Grants::default();
        let ok = |probes: &[Probe], grants: &Grants| check(probes, &declared, &declared.narrow(grants), grants);
        assert_eq!(ok(&[probe("pkg", "rpm -q chrony", true)], &all), Ok(()));

        let e = ok(&[probe("shadow", "cat /etc/shadow", true)], &all).unwrap_err();
        assert!(!e.by_grant && e.reason.contains("runs `cat`"), "{e:?}");
        let e = ok(&[probe("pipe", "rpm -qa | sh", false)], &all).unwrap_err();
        assert!(!e.by_grant && e.reason.contains("shell"), "{e:?}");

        let no_rpm = Grants { programs: Some(vec![]), ..Grants::default() };
        let e = ok(&[probe("pkg", "rpm -q chrony", false)], &no_rpm).unwrap_err();
        assert!(e.by_grant && e.reason.contains("grants allow neither"), "{e:?}");
        let no_root = Grants { sudo: Some(false), ..Grants::default() };
        assert!(ok(&[probe("pkg", "rpm -q chrony", true)], &no_root).unwrap_err().by_grant);
        assert_eq!(ok(&[probe("pkg", "rpm -q chrony", false)], &no_root), Ok(()));
        let listed = Grants { probes: Some(vec!["pkg".into()]), ..Grants::default() };
        let e = ok(&[probe("pkg", "rpm -q a", false), probe("more", "rpm -q b", false)], &listed).unwrap_err();
        assert_eq!((e.probe.as_str(), e.by_grant), ("more", true));

        let shell = Capabilities { shell: true, ..declared.clone() };
        let no_shell = Grants { shell: Some(false), ..Grants::default() };
        let e = check(&[probe("pipe", "rpm -qa | wc -l", false)], &shell, &shell.narrow(&no_shell), &no_shell).unwrap_err();
        assert!(e.by_grant && e.reason.contains("shell = false"), "{e:?}");
        // Shell code may run any program, so a shell plugin's program probes pass...
        assert_eq!(check(&[probe("h", "cat /etc/hosts", false)], &shell, &shell, &all), Ok(()));
        // ...until the workflow takes `shell` away.
        assert!(check(&[probe("h", "cat /etc/hosts", false)], &shell, &shell.narrow(&no_shell), &no_shell).unwrap_err().by_grant);
    }
}
