//! Secret values (captured secret variables, secret parameters, the sudo
//! password) are masked in every event before anything is written.

use super::Event;
use std::sync::{Arc, RwLock};

/// The mask shown instead of a secret.
pub const MASK: &str = "********";

/// A shared, growing set of secret strings.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Arc<RwLock<Vec<String>>>,
}

impl Secrets {
    /// Register a secret; empty and very short values are ignored (masking
    /// every "1" would destroy the output and protect nothing).
    pub fn add(&self, value: &str) {
        let v = value.trim();
        if v.len() < 4 {
            return;
        }
        if let Ok(mut w) = self.values.write() {
            // As given, trimmed, and as a shell word: command lines show
            // values quoted (`'it'\''s'`), which no longer contain the value.
            let quoted = shell_escape::unix::escape(v.into()).into_owned();
            for candidate in [v.to_string(), value.to_string(), quoted] {
                if !w.contains(&candidate) {
                    w.push(candidate);
                }
            }
            // Longest first, so a secret containing another is masked whole.
            w.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every secret replaced by the mask.
    pub fn mask(&self, text: &str) -> String {
        let Ok(values) = self.values.read() else { return text.to_string() };
        let mut out = text.to_string();
        for v in values.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    /// Every string in a JSON document masked.
    pub fn mask_value(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = self.mask(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.mask_value(x)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| self.mask_value(x)),
            _ => {}
        }
    }

    /// The event with every string field masked; none when it cannot be
    /// checked (then it is withheld: never shown unmasked).
    pub fn mask_event(&self, e: Event) -> Option<Event> {
        match self.values.read() {
            Ok(v) if v.is_empty() => return Some(e),
            Ok(_) => {}
            Err(_) => return None,
        }
        let mut v = serde_json::to_value(&e).ok()?;
        self.mask_value(&mut v);
        serde_json::from_value(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let s = Secrets::default();
        s.add("abcdef.0123456789abcdef");
        s.add("abcdef");
        s.add("x");
        assert_eq!(s.mask("kubeadm join --token abcdef.0123456789abcdef and abcdef"), "kubeadm join --token ******** and ********");
        assert_eq!(s.mask("x marks"), "x marks");
    }

    #[test]
    fn a_quoted_secret_is_masked_too() {
        let s = Secrets::default();
        s.add("it's secret");
        // How a command line shows it.
        assert_eq!(s.mask("echo 'it'\\''s secret'"), "echo ********");
        assert_eq!(s.mask("it's secret"), "********");
    }
}
