//! Live progress on a terminal: one line per host (current step, action,
//! elapsed time) under the scrolling history of finished actions.

use super::event::Event;
use super::human::HumanReporter;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::time::Duration;

/// The terminal view.
#[derive(Debug)]
pub struct LiveView {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    steps: HashMap<String, String>,
    lines: HumanReporter,
}

impl Default for LiveView {
    fn default() -> Self {
        LiveView { multi: MultiProgress::new(), bars: HashMap::new(), steps: HashMap::new(), lines: HumanReporter::default() }
    }
}

impl LiveView {
    fn bar(&self, host: &str) -> Option<&ProgressBar> {
        self.bars.get(host)
    }

    /// Update the view for one event.
    pub fn handle(&mut self, e: &Event) {
        match e {
            Event::RunStart { hosts, .. } => {
                let width = hosts.iter().map(|h| h.len()).max().unwrap_or(4);
                let style = ProgressStyle::with_template(&format!("{{spinner}} {{prefix:{width}}}  {{wide_msg}} {{elapsed:>4}}"))
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                for h in hosts {
                    let b = self.multi.add(ProgressBar::new_spinner());
                    b.set_style(style.clone());
                    b.set_prefix(h.clone());
                    b.set_message("connecting");
                    b.enable_steady_tick(Duration::from_millis(120));
                    self.bars.insert(h.clone(), b);
                }
            }
            Event::StepPlanned { host, step, name, .. } => {
                self.steps.insert(host.clone(), format!("step {step} {name}"));
                if let Some(b) = self.bar(host) {
                    b.set_message(format!("step {step} {name}: planned"));
                }
            }
            Event::ActionStart { host, summary, .. } => {
                let step = self.steps.get(host).cloned().unwrap_or_default();
                if let Some(b) = self.bar(host) {
                    b.set_message(format!("{step}: {summary}"));
                }
            }
            Event::HostFailed { host, .. } => {
                if let Some(b) = self.bar(host) {
                    b.finish_with_message("FAILED");
                }
            }
            Event::Recap { hosts, .. } => {
                for h in hosts {
                    if let Some(b) = self.bar(&h.host) {
                        b.finish_and_clear();
                    }
                }
            }
            _ => {}
        }
        if let Some(text) = self.lines.render(e) {
            for line in text.lines() {
                let _ = self.multi.println(line);
            }
        }
    }
}
