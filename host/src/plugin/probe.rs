//! Probes under capabilities. A probe is a command the host runs before a
//! plugin plans, also during `plait plan` and `plait facts`, so it is held
//! to the same consent as an action: a probe that is one program with plain
//! arguments needs that program in `programs` (or `shell`, since probes run
//! through `sh -c`); anything else is shell code and needs `shell`; a probe run as root needs `sudo`. A workflow narrows
//! probes like actions (`grants = { programs, shell, sudo, probes }`), and
//! the check runs when the workflow is bound, before any host is contacted.

use super::capabilities::{Capabilities, Grants};
use super::info::Probe;
use serde::Serialize;

/// What a probe's command is, as far as capabilities are concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "program", rename_all = "snake_case")]
pub enum ProbeShape {
    /// One program with literal or parameter arguments: no pipes,
    /// redirections, expansions or second command.
    Program(String),
    /// Shell code.
    Shell,
}

/// Characters a word may contain outside quotes without the shell giving
/// them meaning (POSIX sh, "Shell Command Language" 2.2 and 2.6).
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c)
}

/// Classify a probe template (before parameters are substituted; a
/// `{param}` placeholder becomes quoted words, so it is a safe argument,
/// but not a program).
pub fn shape(template: &str) -> ProbeShape {
    let mut program = String::new();
    let mut first_word = true;
    let mut in_word = false;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    first_word = false;
                }
                in_word = false;
                continue;
            }
            '\'' => {
                // A single-quoted string is literal up to the next quote.
                if first_word {
                    return ProbeShape::Shell;
                }
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(_) => {}
                        None => return ProbeShape::Shell,
                    }
                }
            }
            '{' if chars.peek() == Some(&'{') => return ProbeShape::Shell,
            '{' => {
                if first_word {
                    return ProbeShape::Shell;
                }
                for ch in chars.by_ref() {
                    if ch == '}' {
                        break;
                    }
                }
            }
            c if plain(c) => {
                if first_word {
                    program.push(c);
                }
            }
            _ => return ProbeShape::Shell,
        }
        in_word = true;
    }
    // `VAR=value cmd` is an assignment, not a program.
    if program.is_empty() || program.contains('=') { ProbeShape::Shell } else { ProbeShape::Program(program) }
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
    let what = match shape(&p.command) {
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
        match shape(&p.command) {
            // A probe runs through `sh -c`, so a plugin allowed shell code
            // may run any program from a probe, as it could from a script.
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

    #[test]
    fn probes_are_programs_only_when_the_shell_adds_nothing() {
        // (template, shape)
        let cases = [
            ("rpm -q chrony", ProbeShape::Program("rpm".into())),
            ("systemctl is-enabled chronyd", ProbeShape::Program("systemctl".into())),
            ("grep -E '^[[:space:]]*SELINUX=' /etc/selinux/config", ProbeShape::Program("grep".into())),
            ("sysctl {sysctls}", ProbeShape::Program("sysctl".into())),
            ("/usr/sbin/ip -4 route show default", ProbeShape::Program("/usr/sbin/ip".into())),
            ("cat /etc/hosts | wc -l", ProbeShape::Shell),
            ("cat /etc/hosts; touch /tmp/x", ProbeShape::Shell),
            ("cat /etc/hosts && rm -f x", ProbeShape::Shell),
            ("cat /etc/hosts > /tmp/x", ProbeShape::Shell),
            ("echo $(id)", ProbeShape::Shell),
            ("echo `id`", ProbeShape::Shell),
            ("echo \"$HOME\"", ProbeShape::Shell),
            ("ls /etc/*.conf", ProbeShape::Shell),
            ("PATH=/tmp rpm -q x", ProbeShape::Shell),
            ("{program} -q", ProbeShape::Shell),
            ("'rm' -rf /", ProbeShape::Shell),
            ("echo {{x}}", ProbeShape::Shell),
            ("echo 'unclosed", ProbeShape::Shell),
            ("rpm -q x\ntouch /tmp/y", ProbeShape::Shell),
            ("", ProbeShape::Shell),
        ];
        for (t, want) in cases {
            assert_eq!(shape(t), want, "{t:?}");
        }
    }

    fn probe(name: &str, command: &str, sudo: bool) -> Probe {
        Probe { name: name.into(), command: command.into(), sudo }
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
