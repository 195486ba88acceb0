//! What a probe runs. Contract 0.3 declares a probe as a program and its
//! argument words, or as a script; 0.1 and 0.2 declare a shell template.
//! Either way the host decides here, before any value is substituted, what
//! will run: a template is a program only when a POSIX shell tokenizer
//! reads it as one simple command of plain words whose placeholders are
//! whole words, and whose first word is no builtin, keyword or
//! assignment. Anything else is shell code.
//!
//! A program probe is never handed to a shell as text: the host quotes
//! each final word and starts it with `exec`, so the tokenizer's reading is
//! what runs (the differential test in `tests/tests/probe_oracle.rs`
//! checks that against real `dash` and `bash`).

use serde::Serialize;

/// One word of a probe's argv.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ProbeWord {
    /// Taken as it is.
    Literal(String),
    /// The value of this parameter: one word for a scalar, one per item
    /// for a list, one per key for a table.
    Param(String),
}

/// A probe as its plugin declared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeSource {
    /// Contract 0.1/0.2: shell text with `{param}` placeholders.
    Template {
        /// The template.
        text: String,
    },
    /// Contract 0.3: a program (the first word, a literal) and its arguments.
    Argv {
        /// The words.
        words: Vec<ProbeWord>,
    },
    /// Contract 0.3: shell code; its arguments are `$1`, `$2`, ...
    Script {
        /// The code.
        code: String,
        /// Its positional parameters.
        args: Vec<ProbeWord>,
    },
}

/// What a probe runs, with the step's parameters in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeRun {
    /// A program started with these words, no shell between.
    Exec {
        /// argv.
        argv: Vec<String>,
    },
    /// Shell code with positional parameters.
    Shell {
        /// The code.
        code: String,
        /// `$1`, `$2`, ...
        args: Vec<String>,
    },
}

impl ProbeSource {
    /// The words of a program probe (`None`: shell code). Decided from the
    /// declaration alone, so parameter values cannot change it.
    pub fn program_words(&self) -> Option<Vec<ProbeWord>> {
        match self {
            ProbeSource::Template { text } => parse_template(text),
            ProbeSource::Argv { words } => Some(words.clone()),
            ProbeSource::Script { .. } => None,
        }
    }

    /// The probe as text, for listings (`rpm -q {pkg}`).
    pub fn display(&self) -> String {
        let words = |w: &[ProbeWord]| {
            w.iter()
                .map(|w| match w {
                    ProbeWord::Literal(s) => shell_escape::unix::escape(s.as_str().into()).into_owned(),
                    ProbeWord::Param(p) => format!("{{{p}}}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            ProbeSource::Template { text } => text.clone(),
            ProbeSource::Argv { words: w } => words(w),
            ProbeSource::Script { code, args } if args.is_empty() => code.clone(),
            ProbeSource::Script { code, args } => format!("{code} [args: {}]", words(args)),
        }
    }
}

/// Shell builtins and reserved words of bash (the `sh` of CentOS/RHEL) and
/// dash (Debian's): as a template's first word they run inside the shell,
/// where `test -v 'a[$(cmd)]'`, `printf -v` and `read` evaluate array
/// subscripts (bash(1) "Arrays"; `help test`), so a template starting with
/// one is shell code. Bash 4.2 `builtins/*.def` and `parse.y`'s
/// `word_token_alist`; dash 0.5.12 `src/builtins.def.in`.
const SHELL_WORDS: &[&str] = &[
    "!",
    ".",
    ":",
    "[",
    "[[",
    "]]",
    "{",
    "}",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "case",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "coproc",
    "declare",
    "dirs",
    "disown",
    "do",
    "done",
    "echo",
    "elif",
    "else",
    "enable",
    "esac",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "fi",
    "for",
    "function",
    "getopts",
    "hash",
    "help",
    "history",
    "if",
    "in",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "select",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "then",
    "time",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "until",
    "wait",
    "while",
];

/// Whether `word` is a builtin or reserved word of bash or dash.
pub fn is_shell_word(word: &str) -> bool {
    SHELL_WORDS.contains(&word)
}

/// Characters a word may hold outside quotes without the shell giving them
/// meaning (POSIX "Shell Command Language" 2.2, 2.6; bash's brace
/// expansion makes `{` and `,`-lists special too, so braces are not here).
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c)
}

/// Read a 0.1/0.2 probe template as a program and its words, or `None`
/// when it is shell code: an operator, redirection, expansion, glob,
/// escape, comment, newline or anything else the shell would interpret;
/// a placeholder that is not a whole unquoted word (`'x{p}'` would be
/// closed by the quoted value); a first word that is a placeholder, an
/// assignment, a builtin or a reserved word; an unclosed quote or brace.
/// `{{` and `}}` stand for literal braces inside quotes, as the template
/// language has always had them.
pub fn parse_template(text: &str) -> Option<Vec<ProbeWord>> {
    let mut words: Vec<ProbeWord> = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let Some(&c) = chars.peek() else { break };
        if c == '{' {
            chars.next();
            if chars.peek() == Some(&'{') {
                return None;
            }
            let mut name = String::new();
            loop {
                match chars.next()? {
                    '}' => break,
                    ch if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' => name.push(ch),
                    _ => return None,
                }
            }
            // A whole word: the next character ends it.
            if name.is_empty() || chars.peek().is_some_and(|c| *c != ' ' && *c != '\t') {
                return None;
            }
            words.push(ProbeWord::Param(name));
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            match c {
                ' ' | '\t' => break,
                '\'' | '"' => {
                    chars.next();
                    quoted_part(&mut chars, c, &mut word)?;
                }
                c if plain(c) => {
                    chars.next();
                    word.push(c);
                }
                _ => return None,
            }
        }
        words.push(ProbeWord::Literal(word));
    }
    match words.first() {
        // `-a`, `-c`, `-l`, `--`: options of bash's `exec` (and of launchers
        // like `env`), which then runs the next word: never a program.
        Some(ProbeWord::Literal(first))
            if !first.is_empty() && !first.starts_with('-') && !first.contains('=') && !is_shell_word(first) =>
        {
            // A quoted first word is still looked up as a builtin by the
            // shell (`'test'` runs the builtin), so the check above holds.
            Some(words)
        }
        _ => None,
    }
}

/// The inside of a quoted part up to its closing `quote` (consumed). In
/// double quotes `$`, `` ` `` and `\` keep their meaning, so they make the
/// template shell code; a placeholder inside quotes does too.
fn quoted_part(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char, word: &mut String) -> Option<()> {
    loop {
        let c = chars.next()?;
        match c {
            c if c == quote => return Some(()),
            '{' if chars.next_if_eq(&'{').is_some() => word.push('{'),
            '}' if chars.next_if_eq(&'}').is_some() => word.push('}'),
            '{' | '}' => return None,
            '$' | '`' | '\\' if quote == '"' => return None,
            '\n' | '\0' => return None,
            c => word.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> ProbeWord {
        ProbeWord::Literal(s.into())
    }

    #[test]
    fn templates_are_programs_only_when_a_shell_would_add_nothing() {
        use ProbeWord::Param;
        // (template, words when it is a program)
        let cases: &[(&str, Option<Vec<ProbeWord>>)] = &[
            ("rpm -q chrony", Some(vec![lit("rpm"), lit("-q"), lit("chrony")])),
            (
                "grep -E '^[[:space:]]*SELINUX=' /etc/selinux/config",
                Some(vec![lit("grep"), lit("-E"), lit("^[[:space:]]*SELINUX="), lit("/etc/selinux/config")]),
            ),
            ("sysctl {sysctls}", Some(vec![lit("sysctl"), Param("sysctls".into())])),
            ("kubectl get x -o 'jsonpath={{.spec}}'", Some(vec![lit("kubectl"), lit("get"), lit("x"), lit("-o"), lit("jsonpath={.spec}")])),
            ("ls \"a b\" ''", Some(vec![lit("ls"), lit("a b"), lit("")])),
            ("/usr/sbin/ip -4 route", Some(vec![lit("/usr/sbin/ip"), lit("-4"), lit("route")])),
            // The hole of 9b41850: a placeholder inside quotes.
            ("rpm -q 'plait-{pkg}'", None),
            ("rpm -q \"plait-{pkg}\"", None),
            ("rpm -q plait-{pkg}", None),
            ("rpm -q {pkg}x", None),
            ("{program} -q", None),
            // Builtins and keywords run inside the shell.
            ("test -v 'x[$(id)]'", None),
            ("test -f /etc/hosts", None),
            ("printf -v x 1", None),
            ("read x", None),
            ("'test' -f x", None),
            // bash's `exec -- sh -c ...` / `exec -a rpm sh` run sh (review of this change).
            ("-- sh -c 'touch M'", None),
            ("-a rpm sh -c id", None),
            ("'--' sh", None),
            ("-la /etc", None),
            ("if true", None),
            ("A=1 rpm -q x", None),
            // Shell syntax.
            ("cat /etc/hosts | wc -l", None),
            ("cat /etc/hosts; touch /tmp/x", None),
            ("cat /etc/hosts && rm -f x", None),
            ("cat /etc/hosts > /tmp/x", None),
            ("echo $(id)", None),
            ("cat `id`", None),
            ("cat \"$HOME\"", None),
            ("cat \"\\x\"", None),
            ("cat a\\ b", None),
            ("ls /etc/*.conf", None),
            ("cat ~/x", None),
            ("cat x #y", None),
            ("cat {a,b}", None),
            ("cat {{x}}", None),
            ("cat 'unclosed", None),
            ("rpm -q x\ntouch /tmp/y", None),
            ("", None),
            ("   ", None),
        ];
        for (t, want) in cases {
            assert_eq!(&parse_template(t), want, "{t:?}");
        }
    }
}
