//! Building the command line sent in an SSH `exec` request.
//!
//! The remote login shell parses that line, so every word is quoted; values
//! from facts, parameters or variables therefore reach the program as one
//! argument each, whatever they contain.

use crate::model::Program;

/// Quote one word for a POSIX shell.
pub fn quote(word: &str) -> String {
    shell_escape::unix::escape(word.into()).into_owned()
}

/// How an action gets root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elevation {
    /// Run as the SSH user (root already, or no root needed).
    None,
    /// `sudo -n`: passwordless sudo; fails instead of prompting.
    Sudo,
    /// `sudo -S`: the password is the first line of stdin (never on the command line).
    SudoPassword,
}

impl Elevation {
    /// How `user` gets root: root needs nothing; anyone else uses sudo,
    /// reading the password from stdin when the run was given one.
    pub fn for_user(user: &str, have_password: bool) -> Elevation {
        match (user, have_password) {
            ("root", _) => Elevation::None,
            (_, true) => Elevation::SudoPassword,
            (_, false) => Elevation::Sudo,
        }
    }
}

/// A command line plus the stdin to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCommand {
    /// The line for the `exec` request.
    pub line: String,
    /// Whether the sudo password must be written before any other stdin.
    pub needs_password: bool,
}

/// The remote line for `program` with environment, elevation and timeout.
/// A timeout runs the program under coreutils' `timeout`, which kills it
/// (TERM, then KILL 10 s later) so nothing keeps running on the host.
pub fn build(program: &Program, env: &[(String, String)], elevation: Elevation, timeout_secs: Option<u32>) -> RemoteCommand {
    let mut words: Vec<String> = Vec::new();
    match elevation {
        Elevation::None => {}
        Elevation::Sudo => words.extend(["sudo", "-n", "--"].map(String::from)),
        Elevation::SudoPassword => words.extend(["sudo", "-S", "-p", "", "--"].map(String::from)),
    }
    if let Some(t) = timeout_secs {
        words.extend(["timeout", "-k", "10", &format!("{t}")].map(String::from));
    }
    if !env.is_empty() {
        words.push("env".into());
        words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    match program {
        Program::Argv(argv) => words.extend(argv.iter().cloned()),
        Program::Script(s) => words.extend(["sh".to_string(), "-c".to_string(), s.clone()]),
    }
    RemoteCommand {
        line: words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
        needs_password: elevation == Elevation::SudoPassword,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Program {
        Program::Argv(a.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn pins_exact_command_lines() {
        // (program, env, elevation, timeout, expected line)
        type Case = (Program, Vec<(String, String)>, Elevation, Option<u32>, &'static str);
        let cases: Vec<Case> = vec![
            (argv(&["systemctl", "stop", "firewalld"]), vec![], Elevation::None, None, "systemctl stop firewalld"),
            (
                argv(&["hostnamectl", "set-hostname", "$(touch /tmp/pwned)"]),
                vec![],
                Elevation::None,
                None,
                "hostnamectl set-hostname '$(touch /tmp/pwned)'",
            ),
            (argv(&["echo", "; rm -rf /"]), vec![], Elevation::Sudo, None, "sudo -n -- echo '; rm -rf /'"),
            (argv(&["sleep", "100"]), vec![], Elevation::Sudo, Some(5), "sudo -n -- timeout -k 10 5 sleep 100"),
            (
                argv(&["kubectl", "get", "nodes"]),
                vec![("KUBECONFIG".into(), "/etc/kubernetes/admin.conf".into())],
                Elevation::None,
                None,
                "env KUBECONFIG=/etc/kubernetes/admin.conf kubectl get nodes",
            ),
            (Program::Script("a && b 'c'".into()), vec![], Elevation::SudoPassword, None, "sudo -S -p '' -- sh -c 'a && b '\\''c'\\'''"),
            (argv(&["printf", "%s\n", "it's"]), vec![], Elevation::None, None, "printf '%s\n' 'it'\\''s'"),
        ];
        for (program, env, elevation, timeout, expected) in cases {
            assert_eq!(build(&program, &env, elevation, timeout).line, expected);
        }
    }
}
