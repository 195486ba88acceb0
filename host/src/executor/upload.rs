//! The one script that puts a file on a host, for single actions and
//! batches alike: it compares the file with what is wanted (sha256, then
//! mode and owner), and, when asked to write, writes the content from stdin
//! to a temporary file beside the target, checks its sha256, sets mode and
//! owner (or copies them from the file it replaces) and renames it over the
//! target. It prints `up to date`, or why the file needs (or got) writing.

use crate::model::{Program, PutFile};
use crate::output::ActionStatus;
use sha2::{Digest, Sha256};

use super::outcome::Outcome;

/// Arguments: path, sha256, mode, owner, group, parent folder, and `1` to
/// write from stdin, `2` to write text from stdin (a batch's
/// here-document, which the shell copies itself), else it only reports.
/// Spawns as few processes as it can: `sha256sum` (+ `stat` with a mode or
/// owner) for an existing file; `mktemp`, `cat` (not for text),
/// `sha256sum`, `chmod`, `chown` for an owner (with the group: one call)
/// and `mv` (+ `mkdir` for a new folder) to write. The temporary file is made by `mktemp` beside the
/// target (an unpredictable name, created 0600, so nobody can plant or
/// read it first).
const PUT: &str = r#"p=$1 want=$2 mode=$3 owner=$4 group=$5 dir=$6 write=$7
why="new file"
if [ -e "$p" ]; then
  set -- $(sha256sum -- "$p" 2>/dev/null)
  if [ "${1:-}" = "$want" ]; then
    why=
    if [ -n "$mode$owner$group" ]; then
      set -- $(stat -c '%a %U %G' -- "$p" 2>/dev/null)
      [ -z "$mode" ] || [ "${1:-}" = "$mode" ] || why="mode ${1:-?}, not $mode"
      [ -z "$owner" ] || [ "${2:-}" = "$owner" ] || why="${why:+$why; }owner ${2:-?}, not $owner"
      [ -z "$group" ] || [ "${3:-}" = "$group" ] || why="${why:+$why; }group ${3:-?}, not $group"
    fi
    [ -n "$why" ] || { echo "up to date"; exit 0; }
  else
    why="content differs"
  fi
fi
[ "$write" = 1 ] || [ "$write" = 2 ] || { echo "$why"; exit 0; }
[ -d "$dir" ] || mkdir -p -- "$dir" || exit 1
t=$(mktemp "$p.plait-tmp.XXXXXXXX") || exit 1
trap 'rm -f "$t"' EXIT
if [ "$write" = 2 ]; then
  while IFS= read -r l; do printf '%s\n' "$l"; done > "$t" || exit 1
else
  cat > "$t" || exit 1
fi
set -- $(sha256sum -- "$t" 2>/dev/null)
[ "${1:-}" = "$want" ] || { echo "checksum mismatch after upload" >&2; exit 3; }
if [ -n "$mode" ]; then chmod "$mode" "$t"; elif [ -e "$p" ]; then chmod --reference="$p" "$t"; else chmod 644 "$t"; fi || exit 1
if [ -n "$owner" ]; then chown "$owner${group:+:$group}" "$t"; elif [ -e "$p" ]; then chown --reference="$p" "$t"; fi || exit 1
if [ -z "$owner" ] && [ -n "$group" ]; then chgrp "$group" "$t" || exit 1; fi
mv -f "$t" "$p" || exit 1
trap - EXIT
echo "$why""#;

/// Check only, or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Report whether the file would change.
    Check,
    /// Write it (only reachable with an [`super::runner::Apply`]).
    Write,
    /// Write text that ends in a newline and has no NUL, given in a
    /// here-document: the shell copies it (no `cat`); the checksum after
    /// writing still verifies every byte.
    WriteText,
}

/// The sha256 of what `f` wants on the host.
pub fn sha256(f: &PutFile) -> String {
    hex::encode(Sha256::digest(&f.content))
}

/// `sh -c PUT sh ARGS...` for `f` (the content goes on stdin when writing).
pub fn program(f: &PutFile, put: Put) -> Program {
    let dir = std::path::Path::new(&f.path).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into());
    let mode = f.mode.map(|m| format!("{m:o}")).unwrap_or_default();
    let write = match put {
        Put::Check => "0",
        Put::Write => "1",
        Put::WriteText => "2",
    };
    let args = [f.path.as_str(), &sha256(f), &mode, f.owner.as_deref().unwrap_or(""), f.group.as_deref().unwrap_or(""), &dir, write];
    Program::Argv(["sh", "-c", PUT, "sh"].into_iter().chain(args).map(String::from).collect())
}

/// How an upload is shown in reports (the script is long and always the same).
pub fn shown(f: &PutFile) -> String {
    format!("upload {} ({} bytes, sha256 {})", f.path, f.content.len(), &sha256(f)[..12])
}

/// The outcome of the script: `up to date`, or why it (would have) written.
pub fn outcome(f: &PutFile, put: Put, code: i32, stdout: &str, stderr: String) -> Outcome {
    let said = stdout.trim();
    let (status, note) = match (code, said, put) {
        (0, "up to date", _) => (ActionStatus::Ok, "up to date".to_string()),
        (0, why, Put::Check) => (ActionStatus::Changed, format!("would write {} bytes ({why})", f.content.len())),
        (0, why, Put::Write | Put::WriteText) => (ActionStatus::Changed, format!("wrote {} bytes ({why})", f.content.len())),
        (_, _, _) => (ActionStatus::Failed, format!("writing {} failed", f.path)),
    };
    Outcome { status, note: Some(note), command: Some(shown(f)), exit_code: Some(code), stdout: String::new(), stderr, diff: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_one_for_checking_and_writing() {
        let f = PutFile { path: "/etc/x/y.conf".into(), content: b"a\n".to_vec(), mode: Some(0o644), owner: None, group: None };
        let (Program::Argv(check), Program::Argv(write)) = (program(&f, Put::Check), program(&f, Put::Write)) else { panic!() };
        assert_eq!(check[2], write[2], "the same script");
        assert_eq!(&check[4..], ["/etc/x/y.conf", &sha256(&f), "644", "", "", "/etc/x", "0"]);
        assert_eq!(write.last().map(String::as_str), Some("1"));
        assert!(PUT.contains("checksum mismatch after upload"), "the written file is checked");
        assert!(PUT.contains(r#"t=$(mktemp "$p.plait-tmp.XXXXXXXX")"#), "an unpredictable temporary name");
        assert!(!PUT.contains("$$"), "no name derived from the PID");
    }

    /// Run the script with the local `sh`, in a temporary folder.
    fn put_locally(f: &PutFile, put: Put, stdin: &[u8]) -> (i32, String) {
        use std::io::Write;
        let Program::Argv(argv) = program(f, put) else { panic!() };
        let mut child = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    #[test]
    fn text_copied_by_the_shell_arrives_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hosts").to_string_lossy().into_owned();
        // Backslashes, leading and trailing blanks, tabs, a CR, an empty
        // line, `%` (printf's format is fixed), non-ASCII.
        let text = "  10.0.0.1 a\\b \t%s\n\n\tx\r\n\\n end  \nné\n".to_string();
        let f = PutFile { path: path.clone(), content: text.clone().into_bytes(), mode: Some(0o640), owner: None, group: None };
        assert_eq!(put_locally(&f, Put::WriteText, text.as_bytes()), (0, "new file".to_string()));
        assert_eq!(std::fs::read(&path).unwrap(), text.as_bytes());
        assert_eq!(put_locally(&f, Put::Check, b""), (0, "up to date".to_string()));
        // A truncated here-document is caught by the checksum, and the
        // file is left as it was.
        let g = PutFile { content: b"new\ncontent\n".to_vec(), ..f.clone() };
        let (code, _) = put_locally(&g, Put::WriteText, b"new\n");
        assert_eq!(code, 3, "checksum mismatch after upload");
        assert_eq!(std::fs::read(&path).unwrap(), text.as_bytes());
    }
}
