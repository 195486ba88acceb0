//! What a run reports: events (one stream for the terminal, JSON lines and
//! the journal), secret masking, and the recap.

pub mod event;
pub mod files;
mod human;
mod live;
mod secrets;

pub use event::{ActionStatus, Event, HostRecap, HostState, RolloutRecap};
pub use human::HumanReporter;
pub use secrets::Secrets;

use std::io::Write;
use std::sync::Mutex;

/// Output format of `plait run`, `plait plan` (live and offline): the one
/// `--output` of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// For people: lines (live progress on a terminal).
    #[default]
    Human,
    /// JSON: one object per line (events), or one document (offline plan).
    Json,
}

/// Receives every event, masks secrets, writes to stdout and the journal.
pub struct Reporter {
    format: Format,
    secrets: Secrets,
    human: Mutex<HumanReporter>,
    live: Option<Mutex<live::LiveView>>,
    journal: Option<Mutex<std::fs::File>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter").field("format", &self.format).finish_non_exhaustive()
    }
}

impl Reporter {
    /// A reporter; `journal` receives every event as a JSON line.
    pub fn new(format: Format, secrets: Secrets, journal: Option<std::fs::File>) -> Self {
        use std::io::IsTerminal;
        // Live per-host lines only for people at a terminal; plain lines otherwise.
        let live = (format == Format::Human && std::io::stdout().is_terminal() && std::env::var_os("PLAIT_NO_PROGRESS").is_none())
            .then(|| Mutex::new(live::LiveView::default()));
        Reporter { format, secrets, human: Mutex::new(HumanReporter::default()), live, journal: journal.map(Mutex::new) }
    }

    /// The secrets registry (values captured as secret are added here).
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Emit one event.
    pub fn emit(&self, event: Event) {
        // Fail closed: an event that cannot be checked for secrets is not shown.
        let Some(event) = self.secrets.mask_event(event) else {
            tracing::warn!("an event could not be checked for secrets and was withheld");
            return;
        };
        let line = serde_json::to_string(&event).unwrap_or_default();
        if let Some(j) = &self.journal
            && let Ok(mut f) = j.lock()
        {
            let _ = writeln!(f, "{line}");
        }
        if let Some(live) = &self.live {
            // indicatif owns the terminal: it prints history above the host lines.
            if let Ok(mut l) = live.lock() {
                l.handle(&event);
            }
            return;
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        match self.format {
            Format::Json => {
                let _ = writeln!(out, "{line}");
            }
            Format::Human => {
                if let Ok(mut h) = self.human.lock()
                    && let Some(text) = h.render(&event)
                {
                    let _ = write!(out, "{text}");
                }
            }
        }
        let _ = out.flush();
    }
}
