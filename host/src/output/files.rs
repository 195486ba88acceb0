//! How a planned file write is shown: its content in an offline plan, and a
//! unified diff against the host's current file in a live dry run, so a
//! reviewer sees what would be written, not only a byte count.

use similar::TextDiff;
use std::fmt::Write;

/// Lines of content or diff shown before the rest is summarised.
const MAX_LINES: usize = 60;

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().filter(|t| !t.contains('\0'))
}

/// The content, each line behind `| ` (binary content is summarised).
pub fn preview(content: &[u8]) -> String {
    let Some(t) = text(content) else {
        return format!("(binary content, {} bytes)", content.len());
    };
    if t.is_empty() {
        return "(empty)".into();
    }
    let lines: Vec<&str> = t.lines().collect();
    let mut out = String::new();
    for l in lines.iter().take(MAX_LINES) {
        let _ = writeln!(out, "| {l}");
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(out, "| … {} more lines", lines.len() - MAX_LINES);
    }
    if !t.ends_with('\n') {
        out.push_str("(no newline at the end)\n");
    }
    out.trim_end_matches('\n').to_string()
}

/// A unified diff from the host's `current` content (`None`: no such file)
/// to the planned one.
pub fn diff(path: &str, current: Option<&[u8]>, planned: &[u8]) -> String {
    let old = current.unwrap_or_default();
    let (Some(a), Some(b)) = (text(old), text(planned)) else {
        return format!("(binary content: {} bytes now, {} bytes planned)", old.len(), planned.len());
    };
    let d = TextDiff::from_lines(a, b);
    let from = if current.is_some() { format!("{path} (on the host)") } else { "/dev/null (no such file)".to_string() };
    let body = d.unified_diff().context_radius(3).header(&from, &format!("{path} (planned)")).to_string();
    let lines: Vec<&str> = body.lines().collect();
    let mut out: Vec<String> = lines.iter().take(MAX_LINES + 2).map(|l| l.to_string()).collect();
    if lines.len() > MAX_LINES + 2 {
        out.push(format!("… {} more lines", lines.len() - MAX_LINES - 2));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_and_diffs_show_what_changes() {
        assert_eq!(preview(b"a\nb\n"), "| a\n| b");
        assert_eq!(preview(b"a"), "| a\n(no newline at the end)");
        assert_eq!(preview(b"\0\x01"), "(binary content, 2 bytes)");
        let long: String = (0..100).map(|i| format!("{i}\n")).collect();
        assert!(preview(long.as_bytes()).ends_with("| … 40 more lines"));
        let d = diff("/etc/hosts", Some(b"127.0.0.1 localhost\n10.0.0.1 old\n"), b"127.0.0.1 localhost\n10.0.0.1 new\n");
        assert!(d.starts_with("--- /etc/hosts (on the host)\n+++ /etc/hosts (planned)\n@@ -1,2 +1,2 @@"), "{d}");
        assert!(d.contains("\n-10.0.0.1 old\n+10.0.0.1 new"), "{d}");
        let d = diff("/etc/x", None, b"one\n");
        assert!(d.contains("--- /dev/null (no such file)") && d.contains("+one"), "{d}");
    }
}
