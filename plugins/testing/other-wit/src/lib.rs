//! A plugin for a future contract version (`plait:plugin@0.9.0`): the host
//! must refuse it by name and version instead of failing obscurely.

wit_bindgen::generate!({ world: "plugin", path: "wit" });

use plait::plugin::host::{Level, log};
use plait::plugin::types::Capabilities;

struct Future;

impl Guest for Future {
    fn describe() -> PluginInfo {
        log(Level::Info, "describing");
        PluginInfo {
            name: "other-wit".into(),
            version: "0.1.0".into(),
            summary: "built for plait:plugin@0.9.0".into(),
            params: vec![],
            probes: vec![],
            capabilities: Capabilities { programs: vec![], shell: false, writes: vec![], reads: vec![], reboot: false, assets: false },
            produces: vec![],
            consumes: vec![],
        }
    }
    fn plan(_ctx: Context) -> Result<Plan, PluginError> {
        Ok(Plan { actions: vec![], reason: Some("nothing".into()) })
    }
}

export!(Future);
