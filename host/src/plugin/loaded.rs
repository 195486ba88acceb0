//! A plugin loaded from a `.wasm` file: checked, compiled (or taken from the
//! cache), pre-instantiated, and described. Each `plan` call gets a fresh
//! sandbox and its answer is validated before anyone sees it.

use super::bindings::{WIT_PACKAGE, WIT_VERSIONS, v0_1, v0_2, v0_3};
use super::cache::CacheOutcome;
use super::capabilities::Capabilities;
use super::convert;
use super::engine::Runtime;
use super::error::PluginError;
use super::info::PluginInfo;
use super::limits::Limits;
use super::sandbox::{CallFailure, LogSource, Sandbox, classify};
use super::validate::{PlanLimits, validate_info, validate_plan};
use crate::model::{Action, PlanContext};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasmtime::Engine;

/// A message from a plugin, attributed.
#[derive(Debug, Clone, Serialize)]
pub struct PluginLog {
    /// Level or stream.
    pub source: LogSource,
    /// Text.
    pub message: String,
}

/// What one `plan` call produced, already validated.
#[derive(Debug, Clone)]
pub struct PlanOutput {
    /// Actions in order.
    pub actions: Vec<Action>,
    /// Why nothing needs doing (or notes).
    pub reason: Option<String>,
    /// Logs and captured output.
    pub logs: Vec<PluginLog>,
    /// Time spent in instantiate + plan.
    pub elapsed: Duration,
}

/// A ready-to-call plugin.
pub struct LoadedPlugin {
    /// The file it came from.
    pub path: PathBuf,
    /// sha256 of the file, hex.
    pub sha256: String,
    /// Its description.
    pub info: PluginInfo,
    /// Whether it came from the compiled cache.
    pub cache: CacheOutcome,
    /// Time to read, compile or deserialize, and describe.
    pub load_time: Duration,
    pre: Pre,
    engine: Engine,
    limits: Limits,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin").field("path", &self.path).field("info", &self.info.label()).finish_non_exhaustive()
    }
}

/// The pre-instantiated component, for the contract version it implements.
enum Pre {
    V0_1(v0_1::PluginPre<super::sandbox::State>),
    V0_2(v0_2::PluginPre<super::sandbox::State>),
    V0_3(v0_3::PluginPre<super::sandbox::State>),
}

/// Run `$body` with `$p` bound to the version's pre-instantiated component
/// and `$conv` to that version's conversions: one body for every version.
macro_rules! for_version {
    ($pre:expr, $p:ident, $conv:ident => $body:expr) => {
        match $pre {
            Pre::V0_1($p) => {
                use convert::v0_1 as $conv;
                $body
            }
            Pre::V0_2($p) => {
                use convert::v0_2 as $conv;
                $body
            }
            Pre::V0_3($p) => {
                use convert::v0_3 as $conv;
                $body
            }
        }
    };
}

/// What `WrongContract` says plait implements: "0.1.0, 0.2.0 or 0.3.0".
fn supported() -> String {
    match WIT_VERSIONS.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// sha256 of a file's bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn check_header(path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(PluginError::Invalid {
            path: path.to_path_buf(),
            detail: "the file does not start with the WebAssembly magic bytes".into(),
        });
    }
    // Bytes 4..8: version and layer. Core modules are 1,0,0,0; components
    // use layer 1 (0x0d,0x00,0x01,0x00 today).
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(PluginError::NotComponent { path: path.to_path_buf() });
    }
    Ok(())
}

impl LoadedPlugin {
    /// Load, verify the pin if given, compile or fetch from cache, describe.
    pub fn load(rt: &Runtime, path: &Path, pinned_sha256: Option<&str>) -> Result<Self, PluginError> {
        let start = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read { path: path.to_path_buf(), source })?;
        let sha256 = sha256_hex(&bytes);
        if let Some(expected) = pinned_sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(PluginError::HashMismatch { path: path.to_path_buf(), expected: expected.to_string(), actual: sha256 });
        }
        check_header(path, &bytes)?;
        let (component, cache) = rt.cache.load(&rt.engine, path, &bytes, &sha256)?;
        drop(bytes);

        check_contract(&rt.engine, path, &component)?;
        let wrong = |e: wasmtime::Error| PluginError::WrongContract {
            path: path.to_path_buf(),
            expected: supported(),
            detail: format!("{:#}", e.root_cause()),
        };
        let instance_pre = rt.linker.instantiate_pre(&component).map_err(wrong)?;
        // The exports' types tell the versions apart (a plugin that never
        // logs imports nothing of ours); the newest is tried first.
        let pre = if let Ok(pre) = v0_3::PluginPre::new(instance_pre.clone()) {
            Pre::V0_3(pre)
        } else if let Ok(pre) = v0_2::PluginPre::new(instance_pre.clone()) {
            Pre::V0_2(pre)
        } else {
            Pre::V0_1(v0_1::PluginPre::new(instance_pre).map_err(wrong)?)
        };

        let mut sb = Sandbox::new(&rt.engine, &rt.limits, None);
        let describe_err = |detail: String| PluginError::Describe { path: path.to_path_buf(), detail };
        let called =
            for_version!(&pre, p, conv => p.instantiate(&mut sb.store).and_then(|i| i.call_describe(&mut sb.store)).map(conv::plugin_info));
        let raw = match called {
            Ok(raw) => raw,
            Err(e) => {
                let detail = match classify(&e) {
                    CallFailure::Timeout => format!("exceeded the time limit of {} ms", rt.limits.time.as_millis()),
                    CallFailure::OutOfMemory => format!("exceeded the memory limit of {} MiB", rt.limits.memory >> 20),
                    CallFailure::Other(d) => d,
                };
                return Err(describe_err(detail + &stderr_tail(sb.into_logs())));
            }
        };
        let info = raw.map_err(describe_err)?;
        validate_info(&info).map_err(describe_err)?;
        let how = match cache {
            CacheOutcome::Hit => "from the compiled cache",
            CacheOutcome::Compiled => "compiled",
        };
        tracing::info!("plugin {} loaded {how} in {:.1} ms ({})", info.label(), start.elapsed().as_secs_f64() * 1000.0, path.display());
        Ok(LoadedPlugin {
            path: path.to_path_buf(),
            sha256,
            info,
            cache,
            load_time: start.elapsed(),
            pre,
            engine: rt.engine.clone(),
            limits: rt.limits,
        })
    }

    /// The plugin's bundled read-only files: `NAME.assets/` beside its `.wasm`.
    pub fn assets_dir(&self) -> PathBuf {
        self.path.parent().unwrap_or(Path::new(".")).join(format!("{}.assets", self.info.name))
    }

    /// `name version`.
    pub fn label(&self) -> String {
        self.info.label()
    }

    /// The plugin's own check of a whole parameter set, in a fresh sandbox
    /// (contract 0.3; earlier contracts have none and accept any set).
    pub fn check_params(&self, params: &serde_json::Value) -> Result<(), PluginError> {
        let Pre::V0_3(p) = &self.pre else { return Ok(()) };
        let mut sb = Sandbox::new(&self.engine, &self.limits, None);
        let called = p.instantiate(&mut sb.store).and_then(|i| i.call_check_params(&mut sb.store, &params.to_string()));
        let (plugin, host) = (self.label(), "(none: checking parameters)".to_string());
        match called {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(PluginError::Refused { plugin, host, kind: convert::v0_3::error_kind(e.kind), message: e.message }),
            Err(e) => Err(self.call_error(&e, plugin, host)),
        }
    }

    /// A call that did not return, as the plugin's error.
    fn call_error(&self, e: &wasmtime::Error, plugin: String, host: String) -> PluginError {
        match classify(e) {
            CallFailure::Timeout => PluginError::Timeout { plugin, host, limit_ms: self.limits.time.as_millis() as u64 },
            CallFailure::OutOfMemory => PluginError::OutOfMemory { plugin, host, limit_mib: (self.limits.memory >> 20) as u64 },
            CallFailure::Other(detail) => PluginError::Trap { plugin, host, detail },
        }
    }

    /// Plan one host in a fresh sandbox. The plan is validated, including
    /// every action against `caps` (declared, narrowed by the workflow);
    /// on any problem nothing of the plan is returned.
    pub fn plan(&self, ctx: &PlanContext, caps: &Capabilities) -> Result<PlanOutput, PluginError> {
        let start = Instant::now();
        let plugin = self.label();
        let host = ctx.host.name.clone();
        let pulled = super::oci::is_pulled(&self.path);
        let assets = if caps.assets && !pulled { Some(self.assets_dir()).filter(|d| d.is_dir()) } else { None };
        let mut sb = Sandbox::new(&self.engine, &self.limits, assets.as_deref());
        // Converted back into host types right away, so the rest is one path.
        let result = for_version!(&self.pre, p, conv => {
            let wit_ctx = conv::context(ctx, &self.info);
            p.instantiate(&mut sb.store).and_then(|i| i.call_plan(&mut sb.store, &wit_ctx)).map(|r| {
                r.map(|p| (p.actions.into_iter().map(conv::action).collect::<Vec<Action>>(), p.reason))
                    .map_err(|e| (conv::error_kind(e.kind), e.message))
            })
        });
        let elapsed = start.elapsed();
        let result = result.map_err(|e| self.call_error(&e, plugin.clone(), host.clone()));
        let raw_logs = sb.into_logs();
        // A crash is explained best by what the plugin printed last (a Python traceback, a Rust panic).
        let result = result.map_err(|e| match e {
            PluginError::Trap { plugin, host, detail } => {
                PluginError::Trap { plugin, host, detail: detail + &stderr_tail(raw_logs.clone()) }
            }
            other => other,
        });
        // Returned, not logged here: a plugin may print what it was given,
        // secrets included, so the caller masks them before showing them.
        let logs: Vec<PluginLog> = raw_logs.into_iter().map(|(source, message)| PluginLog { source, message }).collect();
        let (actions, reason) = match result? {
            Ok(p) => p,
            Err((kind, message)) => return Err(PluginError::Refused { plugin, host, kind, message }),
        };
        validate_plan(&self.info, caps, &actions, reason.as_deref(), &PlanLimits::default()).map_err(|v| match v {
            super::validate::Violation::Invalid(problem) => {
                PluginError::InvalidPlan { plugin: plugin.clone(), host: host.clone(), problem }
            }
            super::validate::Violation::NotAllowed { problem, by_grant } => {
                PluginError::NotAllowed { plugin: plugin.clone(), host: host.clone(), problem, by_grant }
            }
        })?;
        Ok(PlanOutput { actions, reason, logs, elapsed })
    }
}

/// The last lines the plugin wrote to stderr, as a suffix for an error.
fn stderr_tail(logs: Vec<(LogSource, String)>) -> String {
    let lines: Vec<String> = logs.into_iter().filter(|(s, _)| *s == LogSource::Stderr).map(|(_, m)| m).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!(" (plugin stderr: {})", tail.join(" | "))
}

/// Reject components built against another version of our WIT package
/// with a message that says which version they want.
fn check_contract(engine: &Engine, path: &Path, component: &wasmtime::component::Component) -> Result<(), PluginError> {
    let ty = component.component_type();
    let prefix = format!("{WIT_PACKAGE}/");
    for (name, _) in ty.imports(engine) {
        if let Some(rest) = name.strip_prefix(&prefix)
            && let Some((_, version)) = rest.split_once('@')
            && !WIT_VERSIONS.contains(&version)
        {
            return Err(PluginError::WrongContract {
                path: path.to_path_buf(),
                expected: supported(),
                detail: format!("it was built against `{name}`"),
            });
        }
    }
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    for needed in ["describe", "plan"] {
        if !exports.iter().any(|e| e == needed) {
            return Err(PluginError::WrongContract {
                path: path.to_path_buf(),
                expected: supported(),
                detail: format!(
                    "it does not export `{needed}` (exports: {})",
                    if exports.is_empty() { "none".into() } else { exports.join(", ") }
                ),
            });
        }
    }
    Ok(())
}
