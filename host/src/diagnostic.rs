//! Errors that point into a source file (workflow, inventory, facts): the
//! file name, the line and column, the offending span underlined, a hint.
//! Rendered by miette.

use miette::{Diagnostic, NamedSource, SourceSpan};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// A problem at a place in a file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct SourceError {
    /// What is wrong, as a lowercase fragment.
    pub message: String,
    /// The file, for the snippet; `None` when the file could not be read.
    #[source_code]
    pub src: Option<NamedSource<Arc<str>>>,
    /// Where in the file.
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    /// Text under the caret.
    pub label: String,
    /// How to fix it.
    #[help]
    pub help: Option<String>,
    /// `path:line:column` for plain-text consumers (JSON output, logs).
    pub location: String,
    /// Whether the problem is the file's or a plugin's it names.
    pub category: Category,
}

/// Whose problem an error at a place in a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The file is wrong.
    Input,
    /// The plugin the file names failed to load or misbehaved.
    Plugin,
}

/// A file's text, shared by every error that points into it.
#[derive(Debug, Clone)]
pub struct Source {
    /// Display name (the path as given).
    pub name: String,
    /// Full text.
    pub text: Arc<str>,
}

impl Source {
    /// Wrap a file's text.
    pub fn new(path: &Path, text: &str) -> Self {
        Source { name: path.display().to_string(), text: Arc::from(text) }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        (line, col)
    }

    /// An error at `span`.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> SourceError {
        let (line, col) = self.line_col(span.start);
        SourceError {
            message: message.into(),
            src: Some(NamedSource::new(self.name.clone(), self.text.clone())),
            span: Some(SourceSpan::from(span)),
            label: label.into(),
            help: None,
            location: format!("{}:{line}:{col}", self.name),
            category: Category::Input,
        }
    }
}

impl SourceError {
    /// The file could not be read at all.
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        SourceError {
            message: format!("cannot read {}: {e}", path.display()),
            src: None,
            span: None,
            label: String::new(),
            help: None,
            location: path.display().to_string(),
            category: Category::Input,
        }
    }

    /// A TOML syntax or shape error, located by the parser.
    pub fn from_toml(path: &Path, text: &str, e: &toml::de::Error) -> Self {
        let src = Source::new(path, text);
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim_end().to_string();
        let first = message.lines().next().unwrap_or("invalid TOML").to_string();
        src.error(span, first, "here")
    }

    /// Add a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// One line: `file:line:col: message (help)`.
    pub fn one_line(&self) -> String {
        match &self.help {
            Some(h) => format!("{}: {} ({h})", self.location, self.message),
            None => format!("{}: {}", self.location, self.message),
        }
    }
}
