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

/// Words as one shell line, each quoted.
pub fn quote_words(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// How an action gets root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elevation {
    /// Run as the SSH user (root already, or no root needed).
    None,
    /// `sudo -n`: passwordless sudo; fails instead of prompting.
    Sudo,
    /// sudo with a password: the first line of stdin, read by a wrapper
    /// shell and given to sudo only when sudo asks (see [`SUDO_FN`]); never
    /// on a command line, never to the program.
    SudoPassword,
}

/// `plait_sudo PROGRAM ARGS...`: run as root with the password in the
/// shell variable `P` (not exported). The program always runs as `sudo -n`
/// with its own stdin untouched: the password never goes ahead of a
/// program's input, because sudo reads it only when it prompts, and a
/// program sudo does not prompt for (NOPASSWD, cached credentials, a rule
/// for that command only) would read it instead (an upload would write it
/// into the file). When `sudo -n -v` says credentials are needed, `sudo -v`
/// authenticates from a pipe fed by the `printf` builtin (no argv) and
/// caches them (sudoers(5) `timestamp_type`: per parent process without a
/// terminal, and every sudo here is a child of the same shell); a sudoers
/// that caches nothing (`timestamp_timeout=0`) is refused with a message.
pub const SUDO_FN: &str = r#"plait_sudo() {
  if ! sudo -n -v 2>/dev/null; then
    printf '%s
' "$P" | sudo -S -p '' -v 2>/dev/null || { echo 'sudo: the sudo password was refused' >&2; return 1; }
    sudo -n -v 2>/dev/null || { echo 'sudo: credentials are not cached (timestamp_timeout=0?): plait never sends the password ahead of a program; allow caching or NOPASSWD for this user' >&2; return 1; }
  fi
  sudo -n -- "$@"
}
"#;

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

/// A limit in the whole seconds the remote `timeout` takes (at least 1).
pub fn timeout_secs(limit: std::time::Duration) -> u32 {
    u32::try_from(limit.as_secs()).unwrap_or(u32::MAX).max(1)
}

/// `sh -c ENV_READER plait-env PROGRAM ARGS...`: set the environment
/// from the first lines of stdin, then exec the program (which reads the
/// rest). Values never appear on a command line, where `ps`,
/// `/proc/*/cmdline` and sudo's log would show them. The block is a count,
/// then `NAME OCTAL` per variable, the value's bytes as `\ooo` escapes (a
/// `printf` format with nothing else in it); `x` keeps trailing newlines
/// through the command substitution.
pub const ENV_READER: &str = r#"IFS= read -r n || exit 126
while [ "$n" -gt 0 ]; do
  IFS=' ' read -r k e || exit 126
  v=$(printf "${e}x"); export "$k=${v%x}"; n=$((n - 1))
done
exec "$@""#;

/// The stdin block [`ENV_READER`] reads. Names are checked by the plan
/// validator (letters, digits, `_`).
pub fn env_block(env: &[(String, String)]) -> Vec<u8> {
    let mut out = format!("{}\n", env.len());
    for (k, v) in env {
        out.push_str(k);
        out.push(' ');
        for b in v.bytes() {
            out.push_str(&format!("\\{b:03o}"));
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// A command line plus the stdin to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCommand {
    /// The line for the `exec` request.
    pub line: String,
    /// Whether the sudo password must be written before any other stdin.
    pub needs_password: bool,
    /// Written to stdin after the password and before the program's own
    /// input: the environment block ([`env_block`]), empty without env.
    pub stdin_prefix: Vec<u8>,
    /// The line as reports show it: as the plugin asked for it, without
    /// the run's default limit ([`build_bounded`]).
    pub shown: String,
}

/// The remote line for `program` with environment, elevation and timeout.
/// A timeout runs the program under coreutils' `timeout`, which kills it
/// (TERM, then KILL 10 s later) so nothing keeps running on the host.
pub fn build(program: &Program, env: &[(String, String)], elevation: Elevation, timeout_secs: Option<u32>) -> RemoteCommand {
    let mut words: Vec<String> = Vec::new();
    match elevation {
        Elevation::None => {}
        Elevation::Sudo => words.extend(["sudo", "-n", "--"].map(String::from)),
        // The wrapper reads the password line itself; the program gets
        // only what follows.
        Elevation::SudoPassword => {
            words.extend(["sh".into(), "-c".into(), format!("IFS= read -r P || exit 126\n{SUDO_FN}plait_sudo \"$@\""), "plait-sudo".into()])
        }
    }
    if let Some(t) = timeout_secs {
        words.extend(["timeout", "-k", "10", &format!("{t}")].map(String::from));
    }
    // Reports show the variables as the plugin set them; the line sent
    // carries only their names' reader (values follow on stdin).
    let mut shown_words = words.clone();
    if !env.is_empty() {
        shown_words.push("env".into());
        shown_words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        words.extend(["sh".into(), "-c".into(), ENV_READER.into(), "plait-env".into()]);
    }
    let program_words = match program {
        Program::Argv(argv) => argv.clone(),
        Program::Script(s) => vec!["sh".to_string(), "-c".to_string(), s.clone()],
    };
    words.extend(program_words.iter().cloned());
    shown_words.extend(program_words);
    RemoteCommand {
        shown: quote_words(&shown_words),
        line: quote_words(&words),
        needs_password: elevation == Elevation::SudoPassword,
        stdin_prefix: if env.is_empty() { Vec::new() } else { env_block(env) },
    }
}

/// [`build`], with `default_limit` as the timeout when the program has none
/// of its own: no command outlives the run's limit on the host (the remote
/// `timeout` kills it). Reports still show the line as asked for.
pub fn build_bounded(
    program: &Program,
    env: &[(String, String)],
    elevation: Elevation,
    timeout_secs: Option<u32>,
    default_limit: std::time::Duration,
) -> RemoteCommand {
    let shown = build(program, env, elevation, timeout_secs).shown;
    let bounded = build(program, env, elevation, Some(timeout_secs.unwrap_or_else(|| self::timeout_secs(default_limit))));
    RemoteCommand { shown, ..bounded }
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
            (argv(&["printf", "%s\n", "it's"]), vec![], Elevation::None, None, "printf '%s\n' 'it'\\''s'"),
        ];
        for (program, env, elevation, timeout, expected) in cases {
            assert_eq!(build(&program, &env, elevation, timeout).line, expected);
        }
    }

    #[test]
    fn environment_values_go_on_stdin_never_on_the_command_line() {
        let env = vec![("TOKEN".to_string(), "s3cret value\n".to_string()), ("KUBECONFIG".into(), "/etc/k.conf".into())];
        let c = build(&argv(&["kubectl", "get", "nodes"]), &env, Elevation::Sudo, None);
        assert_eq!(c.line, format!("sudo -n -- sh -c {} plait-env kubectl get nodes", quote(ENV_READER)));
        assert!(!c.line.contains("s3cret") && !c.line.contains("/etc/k.conf"), "{}", c.line);
        assert_eq!(c.shown, "sudo -n -- env 'TOKEN=s3cret value\n' KUBECONFIG=/etc/k.conf kubectl get nodes");
        let block = String::from_utf8(c.stdin_prefix).unwrap();
        assert!(block.starts_with("2\nTOKEN \\163\\063"), "{block}");
        assert!(build(&argv(&["true"]), &[], Elevation::Sudo, None).stdin_prefix.is_empty());
    }

    /// The reader, run by this machine's `sh`, exports exactly the values
    /// (spaces, quotes, newlines, trailing newlines, `%`, backslashes) and
    /// leaves the rest of stdin to the program.
    #[test]
    fn the_environment_reader_restores_every_byte() {
        use std::io::Write;
        let env = vec![
            ("A".to_string(), "it's a \"value\" with %s and \\n\n\n".to_string()),
            ("B".to_string(), String::new()),
            ("C".to_string(), "ünïcode $(touch /tmp/x) `id`".to_string()),
        ];
        let mut child = std::process::Command::new("sh")
            .args(["-c", ENV_READER, "plait-env", "sh", "-c", "printf '%s|%s|%s|' \"$A\" \"$B\" \"$C\"; cat"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = env_block(&env);
        input.extend(b"program input\n");
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{}|{}|{}|program input\n", env[0].1, env[1].1, env[2].1));
    }

    #[test]
    fn with_a_password_the_wrapper_reads_it_and_the_program_follows_as_arguments() {
        let c = build(&argv(&["cat", "/x y"]), &[], Elevation::SudoPassword, Some(5));
        assert!(c.needs_password);
        let wrapper = format!("IFS= read -r P || exit 126\n{SUDO_FN}plait_sudo \"$@\"");
        assert_eq!(c.line, format!("sh -c {} plait-sudo timeout -k 10 5 cat '/x y'", quote(&wrapper)));
    }
}
