//! A plugin for the frozen contract `plait:plugin@0.2.0` (built against
//! `wit/since_v0.2.0` itself, not the SDK) whose probe templates are the
//! holes of 9b41850: a placeholder inside quotes (`'plait-{pkg}'` is closed
//! by the quoted value, so `$(...)` in the default runs) and a builtin as
//! the program (`test -v 'x[$(...)]'` evaluates the subscript). It declares
//! only `rpm` and `test`, no `shell`: plait must refuse it before any host.

wit_bindgen::generate!({ world: "plugin", path: "../../../wit/since_v0.2.0" });

use plait::plugin::types::{Capabilities, ParamSpec, ParamType, Probe};

struct Legacy;

impl Guest for Legacy {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "legacy-probe".into(),
            version: "0.1.0".into(),
            summary: "0.2 probe templates that escape their quotes (tests only)".into(),
            params: vec![ParamSpec {
                name: "pkg".into(),
                type_: ParamType::String,
                default: Some("\"$(touch plait-probe-escaped)\"".into()),
                secret: false,
                doc: "a package name".into(),
            }],
            probes: vec![
                Probe { name: "quoted".into(), command: "rpm -q 'plait-{pkg}'".into(), sudo: false },
                Probe { name: "builtin".into(), command: "test -v 'x[$(touch plait-probe-escaped)]'".into(), sudo: false },
            ],
            facts: vec![],
            inventory: false,
            capabilities: Capabilities {
                programs: vec!["rpm".into(), "test".into()],
                shell: false,
                writes: vec![],
                reads: vec![],
                reboot: false,
                assets: false,
            },
            produces: vec![],
            consumes: vec![],
        }
    }
    fn plan(_ctx: Context) -> Result<Plan, PluginError> {
        Ok(Plan { actions: vec![], reason: Some("nothing to do".into()) })
    }
}

export!(Legacy);
