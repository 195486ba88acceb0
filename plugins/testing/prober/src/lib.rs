//! A test-only plugin whose probes reach past what it declares: it may run
//! `rpm` and nothing else, yet asks the host to run `cat /etc/shadow` as root
//! and shell code that leaves a file behind. The host must refuse the step
//! before any host is contacted (probes run in dry runs too).

use plait_sdk::prelude::*;

struct Prober;

impl Plugin for Prober {
    fn describe() -> PluginInfo {
        info("prober", env!("CARGO_PKG_VERSION"), "probes past its capabilities (tests only)")
            .probe("packages", "rpm -q bash")
            .probe_sudo("shadow", "cat /etc/shadow")
            .probe_script("stamp", "touch /tmp/plait-probe-ran; true", "")
            .programs(["rpm"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        Ok(Plan::nothing(format!("saw {} probe results", ctx.probes.len())))
    }
}

register_plugin!(Prober);
