//! The one framing of remote output that carries several results in one
//! round trip (facts and probes, batched actions): a random boundary `B`,
//! and marker lines printed as `printf '\n%s TAG\n' "$B"`, each followed by
//! its frame's body. A reader splits on `\n{B} `: the newline a marker
//! starts with belongs to the marker, so a body is exactly what was printed
//! between two markers. Text before the first marker is the prefix.

/// A fresh boundary for one script: random, so no output can forge a marker.
pub fn boundary() -> String {
    format!("@@plait-{}@@", uuid::Uuid::new_v4().simple())
}

/// Shell code printing a marker line; `tag` is shell words the shell
/// expands into the tag (quote literals: `"\"exit $rc\""`, `"gather"`).
pub fn marker(tag: &str) -> String {
    marker_under("\"$B\"", tag)
}

/// Like [`marker`], under the boundary the shell word `boundary` expands
/// to (a quoted literal: a probe's own fresh boundary).
pub fn marker_under(boundary: &str, tag: &str) -> String {
    format!("printf '\\n%s %s\\n' {boundary} {tag}\n")
}

/// One frame: the words of its marker line and its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The marker line after the boundary, e.g. `exit 3 0`.
    pub tag: &'a str,
    /// What was printed between this marker and the next.
    pub body: &'a str,
    /// Where the body starts in the whole text (to hand the rest to another reader).
    pub offset: usize,
}

impl<'a> Frame<'a> {
    /// The first word of the tag (`exit`).
    pub fn kind(&self) -> &'a str {
        self.tag.split_whitespace().next().unwrap_or("")
    }
    /// The tag's words after the first.
    pub fn args(&self) -> impl Iterator<Item = &'a str> {
        self.tag.split_whitespace().skip(1)
    }
}

/// Split `text` on `boundary`'s markers: the prefix, then every frame.
pub fn split<'a>(text: &'a str, boundary: &str) -> (&'a str, Vec<Frame<'a>>) {
    let sep = format!("\n{boundary} ");
    // A marker at the very start has no newline before it.
    let start = format!("{boundary} ");
    let (prefix, mut rest, mut base) = match text.strip_prefix(&start) {
        Some(r) => ("", Some(r), start.len()),
        None => match text.find(&sep) {
            Some(i) => (&text[..i], Some(&text[i + sep.len()..]), i + sep.len()),
            None => (text, None, text.len()),
        },
    };
    let mut frames = Vec::new();
    while let Some(chunk) = rest {
        let (this, next) = match chunk.find(&sep) {
            Some(i) => (&chunk[..i], Some(&chunk[i + sep.len()..])),
            None => (chunk, None),
        };
        let (tag, body, body_at) = match this.split_once('\n') {
            Some((t, b)) => (t, b, t.len() + 1),
            None => (this, "", this.len()),
        };
        frames.push(Frame { tag: tag.trim_end_matches('\r'), body, offset: base + body_at });
        if let Some(n) = next {
            base += this.len() + sep.len();
            rest = Some(n);
        } else {
            rest = None;
        }
    }
    (prefix, frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_exactly_what_was_printed_between_markers() {
        let b = "@@B@@";
        // As `printf 'k=v\n'; printf '\n%s probe x\n'; printf 'a\n'; printf '\n%s exit 0\n'; printf '\n%s probe y\n'; printf 'no newline'; ...`
        let text = "k=v\n\n@@B@@ probe x\na\n\n@@B@@ exit 0\n\n@@B@@ probe y\nno newline\n@@B@@ exit 1\n";
        let (prefix, f) = split(text, b);
        assert_eq!(prefix, "k=v\n");
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.tag, f.body)).collect();
        assert_eq!(got, vec![("probe x", "a\n"), ("exit 0", ""), ("probe y", "no newline"), ("exit 1", "")]);
        assert_eq!(f[1].kind(), "exit");
        assert_eq!(f[1].args().collect::<Vec<_>>(), ["0"]);
        // The offset points at the body in the whole text.
        assert_eq!(&text[f[0].offset..f[0].offset + 2], "a\n");
    }

    #[test]
    fn a_marker_at_the_start_and_text_without_markers() {
        let (p, f) = split("@@B@@ action 0\nout\n@@B@@ ok 0\n", "@@B@@");
        assert_eq!(p, "");
        assert_eq!(f.iter().map(|f| (f.tag, f.body)).collect::<Vec<_>>(), vec![("action 0", "out"), ("ok 0", "")]);
        let (p, f) = split("only text\n", "@@B@@");
        assert_eq!((p, f.len()), ("only text\n", 0));
        // Output that merely mentions the boundary mid-line is not a marker.
        let (_, f) = split("x @@B@@ exit 0\n", "@@B@@");
        assert!(f.is_empty());
    }
}
