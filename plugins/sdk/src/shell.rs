//! Shell quoting for the rare action that needs a script.
//!
//! Prefer [`crate::cmd::run`] with an argv: nothing is parsed by a shell.
//! When a pipeline or redirect is unavoidable, every value that comes from
//! facts, parameters or variables must go through [`quote`].

/// Quote one word for POSIX `sh`, so it reaches the command as exactly one
/// argument whatever it contains (spaces, quotes, `$(...)`, newlines).
pub fn quote(word: &str) -> String {
    // A NUL cannot be part of an argument; drop it rather than emit a word
    // the host would reject.
    let clean: String = word.chars().filter(|c| *c != '\0').collect();
    shell_escape::unix::escape(clean.into()).into_owned()
}

/// Quote each word and join them with spaces: a safe shell command line.
pub fn join<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words.into_iter().map(|w| quote(w.as_ref())).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_words() {
        // Each case: the input must come back as one inert word.
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("$(touch /tmp/pwned)"), "'$(touch /tmp/pwned)'");
        assert_eq!(quote("a'b"), "'a'\\''b'");
        assert_eq!(quote(""), "''");
        assert_eq!(join(["echo", "; rm -rf /"]), "echo '; rm -rf /'");
    }
}
