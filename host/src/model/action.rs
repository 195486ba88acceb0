//! Actions in the host's own types (the WIT `action` record, serde-ready).

use serde::{Serialize, Serializer};

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Program {
    /// Executed without a shell.
    Argv(Vec<String>),
    /// Run with `/bin/sh -c`.
    Script(String),
}

impl Program {
    /// One line for humans: argv words quoted as a shell would need them.
    pub fn display(&self) -> String {
        match self {
            Program::Argv(a) => a.iter().map(|w| shell_escape::unix::escape(w.into()).into_owned()).collect::<Vec<_>>().join(" "),
            Program::Script(s) => s.clone(),
        }
    }
}

/// Run a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// What to run.
    pub program: Program,
    /// As root.
    pub sudo: bool,
    /// Standard input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Extra environment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    /// Retries after failure.
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
    /// Delay between retries.
    #[serde(skip_serializing_if = "is_zero")]
    pub retry_delay_secs: u32,
    /// Guard: skip when it exits 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unless: Option<Program>,
    /// Variable to capture stdout into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// Secret output.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// Only reads: never a change; runs in dry runs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Write a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PutFile {
    /// Absolute path.
    pub path: String,
    /// Content (a string when UTF-8, else `{ "hex": ... }`).
    #[serde(serialize_with = "content_ser")]
    pub content: Vec<u8>,
    /// Mode bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

fn content_ser<S: Serializer>(c: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(c) {
        Ok(text) => s.serialize_str(text),
        Err(_) => {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("hex", &hex::encode(c))?;
            m.end()
        }
    }
}

/// Reboot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reboot {
    /// Seconds to wait for the host.
    pub timeout_secs: u32,
}

/// Read a file into a variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchFile {
    /// Absolute path.
    pub path: String,
    /// Variable name.
    pub into: String,
    /// Secret content.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// The change an action makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Run a command.
    Run(Run),
    /// Write a file.
    PutFile(PutFile),
    /// Reboot.
    Reboot(Reboot),
    /// Read a file.
    FetchFile(FetchFile),
}

/// One action of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// Human description.
    pub summary: String,
    /// The change.
    #[serde(flatten)]
    pub kind: ActionKind,
    /// Indexes of earlier actions of the plan: when not empty, this one
    /// runs only if one of them changed the host (contract 0.3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub when_changed: Vec<u32>,
}
