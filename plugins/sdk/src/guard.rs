//! Read-only checks used as `unless` guards: when the check exits 0 the
//! action is already done and is skipped. All values are passed as argv or
//! quoted, never spliced into shell code raw.

use crate::Program;
use crate::shell::quote;

/// The file contains this exact line.
pub fn line_present(path: &str, line: &str) -> Program {
    crate::cmd::argv(["grep", "-qxF", "--", line, path])
}

/// The file exists with exactly this content (compared by sha256).
/// Needs the `shell` capability.
pub fn file_has_content(path: &str, content: &[u8]) -> Program {
    let digest = sha256_hex(content);
    Program::Script(format!("printf '%s  %s\\n' {} {} | sha256sum -c --status -", quote(&digest), quote(path)))
}

/// The RPM package is installed (`name` may carry a version: `kubelet-1.21.10`).
pub fn package_installed(name: &str) -> Program {
    crate::cmd::argv(["rpm", "-q", "--quiet", name])
}

/// The path exists.
pub fn path_exists(path: &str) -> Program {
    crate::cmd::argv(["test", "-e", path])
}

/// SHA-256 of `content`, lowercase hex (what `sha256sum` prints).
pub fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(content))
}
