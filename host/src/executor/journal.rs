//! The run journal under the state directory (default: `.plait/` beside the
//! workflow): a lock per workflow, one folder per run holding every event
//! as JSON lines and the per-host progress used by `--resume`: each step
//! done is one line appended to `progress.jsonl` (one write, durable as soon
//! as it returns; no file rewritten per step), and `state.json` is written
//! whole at the start and the end of the run.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Journal trouble.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Another run holds the lock.
    #[error("another `plait run` of workflow {workflow} is in progress (lock {} is held); wait for it to finish", lock.display())]
    Locked {
        /// Workflow name.
        workflow: String,
        /// Lock file.
        lock: PathBuf,
    },
    /// `--resume` with nothing to resume.
    #[error("nothing to resume: no earlier run of workflow {workflow} in {}", dir.display())]
    NothingToResume {
        /// Workflow name.
        workflow: String,
        /// State dir.
        dir: PathBuf,
    },
    /// `--resume` after the workflow or a step's plugin changed.
    #[error(
        "cannot resume: {what} changed since the run being resumed; its finished steps may no longer be what the workflow says (run without --resume, or add --force to resume anyway)"
    )]
    Changed {
        /// What changed.
        what: String,
    },
    /// File system trouble.
    #[error("journal {}: {source}", path.display())]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_path_buf(), source }
}

/// Per-host progress of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunState {
    /// Workflow name.
    pub workflow: String,
    /// Steps completed per host.
    pub completed: BTreeMap<String, Vec<usize>>,
    /// Hosts that converged (every targeted step done).
    pub converged: Vec<String>,
    /// sha256 of the workflow file the run used.
    #[serde(default)]
    pub workflow_sha256: String,
    /// Per step number, `plugin-name sha256` of the plugin the run used.
    #[serde(default)]
    pub steps: BTreeMap<usize, String>,
}

impl RunState {
    /// What differs between the run being resumed (`self`) and this one
    /// (`now`), if anything. A journal without fingerprints (an older
    /// plait) counts as changed.
    pub fn changed_since(&self, now: &RunState) -> Option<String> {
        if self.workflow_sha256 != now.workflow_sha256 {
            return Some("the workflow file".into());
        }
        let steps: Vec<String> = now
            .steps
            .iter()
            .filter(|(n, p)| self.steps.get(n) != Some(*p))
            .map(|(n, p)| format!("step {n} ({})", p.split_whitespace().next().unwrap_or("")))
            .chain(self.steps.keys().filter(|n| !now.steps.contains_key(n)).map(|n| format!("step {n} (removed)")))
            .collect();
        (!steps.is_empty()).then(|| format!("the plugin of {}", steps.join(", ")))
    }
}

/// One line of `progress.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "done", rename_all = "snake_case")]
pub enum Progress {
    /// A host finished a step.
    Step {
        /// Host.
        host: String,
        /// Step number.
        step: usize,
    },
    /// A host converged.
    Host {
        /// Host.
        host: String,
    },
}

impl RunState {
    /// Apply one progress record.
    pub fn apply(&mut self, p: &Progress) {
        match p {
            Progress::Step { host, step } => {
                let v = self.completed.entry(host.clone()).or_default();
                if !v.contains(step) {
                    v.push(*step);
                }
            }
            Progress::Host { host } => {
                if !self.converged.contains(host) {
                    self.converged.push(host.clone());
                }
            }
        }
    }
}

/// An open journal: the lock is held while this lives.
#[derive(Debug)]
pub struct Journal {
    _lock: File,
    /// This run's folder.
    pub dir: PathBuf,
    /// Run id.
    pub run_id: String,
    state_path: PathBuf,
    progress_path: PathBuf,
    progress: std::sync::Mutex<File>,
}

impl Journal {
    /// Take the workflow's lock and create a run folder.
    pub fn open(state_dir: &Path, workflow: &str) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(state_dir.join("runs")).map_err(io(state_dir))?;
        let lock_path = state_dir.join(format!("{workflow}.lock"));
        let lock = File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(JournalError::Locked { workflow: workflow.into(), lock: lock_path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(JournalError::Io { path: lock_path, source: e }),
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let run_id = format!("{stamp}-{workflow}");
        let dir = state_dir.join("runs").join(&run_id);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let state_path = dir.join("state.json");
        let progress_path = dir.join("progress.jsonl");
        let progress = File::options().create(true).append(true).open(&progress_path).map_err(io(&progress_path))?;
        Ok(Journal { _lock: lock, dir, run_id, state_path, progress_path, progress: std::sync::Mutex::new(progress) })
    }

    /// The events file, for the reporter.
    pub fn events_file(&self) -> Result<File, JournalError> {
        let p = self.dir.join("events.jsonl");
        File::create(&p).map_err(io(&p))
    }

    /// Persist progress (atomically).
    pub fn save(&self, state: &RunState) -> Result<(), JournalError> {
        let tmp = self.state_path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(state).unwrap_or_default();
        // Durable: the data reaches the disk before the rename makes it the
        // state, and the folder entry after.
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &self.state_path).map_err(io(&self.state_path))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io(&self.dir))
    }

    /// Append one progress record (one `write`: a line is whole or absent).
    pub fn record(&self, p: &Progress) -> Result<(), JournalError> {
        use std::io::Write;
        let mut line = serde_json::to_string(p).unwrap_or_default();
        line.push('\n');
        let mut f = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        f.write_all(line.as_bytes()).map_err(io(&self.progress_path))?;
        // A finished step must survive a crash of this machine: --resume trusts it.
        f.sync_data().map_err(io(&self.progress_path))
    }

    /// Progress of the latest earlier run of `workflow` (for `--resume`).
    pub fn latest(state_dir: &Path, workflow: &str, exclude: &Path) -> Result<RunState, JournalError> {
        let runs = state_dir.join("runs");
        let mut candidates: Vec<PathBuf> =
            std::fs::read_dir(&runs).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
        // Run folders are `<milliseconds>-<workflow>`: the name must match
        // whole ("centos7" is not "k8s-centos7").
        candidates.retain(|p| {
            p != exclude && p.file_name().and_then(|n| n.to_str()).and_then(|n| n.split_once('-')).is_some_and(|(_, w)| w == workflow)
        });
        // Run ids start with a millisecond timestamp: the largest is the latest.
        candidates.sort_by_key(|p| {
            p.file_name().and_then(|n| n.to_str()).and_then(|n| n.split('-').next()).and_then(|t| t.parse::<u128>().ok()).unwrap_or(0)
        });
        for dir in candidates.iter().rev() {
            // state.json as last written, plus what progress.jsonl adds (all
            // of the run's progress when it was killed before its end).
            let Ok(text) = std::fs::read_to_string(dir.join("state.json")) else { continue };
            let Ok(mut state) = serde_json::from_str::<RunState>(&text) else { continue };
            if let Ok(lines) = std::fs::read_to_string(dir.join("progress.jsonl")) {
                for p in lines.lines().filter_map(|l| serde_json::from_str::<Progress>(l).ok()) {
                    state.apply(&p);
                }
            }
            return Ok(state);
        }
        Err(JournalError::NothingToResume { workflow: workflow.into(), dir: state_dir.to_path_buf() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_killed_before_its_end_resumes_from_its_progress_lines() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), "wf").unwrap();
        let mut state = RunState { workflow: "wf".into(), ..Default::default() };
        state.apply(&Progress::Step { host: "a".into(), step: 1 });
        j.save(&state).unwrap();
        j.record(&Progress::Step { host: "a".into(), step: 2 }).unwrap();
        j.record(&Progress::Step { host: "b".into(), step: 1 }).unwrap();
        j.record(&Progress::Host { host: "a".into() }).unwrap();
        // Killed here: state.json still says only a/1.
        let run_dir = j.dir.clone();
        drop(j);
        let resumed = Journal::latest(dir.path(), "wf", Path::new("/nonexistent")).unwrap();
        assert_eq!(resumed.completed["a"], vec![1, 2]);
        assert_eq!(resumed.completed["b"], vec![1]);
        assert_eq!(resumed.converged, vec!["a".to_string()]);
        // A torn last line (killed mid-write) is ignored, not fatal.
        std::fs::write(run_dir.join("progress.jsonl"), "{\"done\":\"step\",\"host\":\"c\",\"step\":3}\n{\"done\":\"st").unwrap();
        let resumed = Journal::latest(dir.path(), "wf", Path::new("/nonexistent")).unwrap();
        assert_eq!(resumed.completed["c"], vec![3]);
    }

    #[test]
    fn a_workflow_resumes_only_its_own_runs() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), "k8s-centos7").unwrap();
        j.save(&RunState { workflow: "k8s-centos7".into(), ..Default::default() }).unwrap();
        drop(j);
        // "centos7" must not pick up the run of "k8s-centos7".
        assert!(matches!(Journal::latest(dir.path(), "centos7", Path::new("/x")), Err(JournalError::NothingToResume { .. })));
        assert!(Journal::latest(dir.path(), "k8s-centos7", Path::new("/x")).is_ok());
    }

    #[test]
    fn a_changed_workflow_or_plugin_is_named() {
        let then = RunState {
            workflow_sha256: "aa".into(),
            steps: [(1, "os-prep 11".to_string()), (2, "docker 22".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(then.changed_since(&then.clone()), None);
        let edited = RunState { workflow_sha256: "bb".into(), ..then.clone() };
        assert_eq!(then.changed_since(&edited).as_deref(), Some("the workflow file"));
        let new_plugin = RunState { steps: [(1, "os-prep 11".to_string()), (2, "docker 33".to_string())].into(), ..then.clone() };
        assert_eq!(then.changed_since(&new_plugin).as_deref(), Some("the plugin of step 2 (docker)"));
        // A journal of an older plait has no fingerprints: changed.
        assert!(RunState::default().changed_since(&then).is_some());
    }
}
