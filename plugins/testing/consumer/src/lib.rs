//! A test-only plugin that consumes a variable no plugin produces: binding
//! a workflow that uses it must fail before anything runs.

use plait_sdk::prelude::*;

struct Consumer;

impl Plugin for Consumer {
    fn describe() -> PluginInfo {
        info("consumer", env!("CARGO_PKG_VERSION"), "consumes `orphan`, which nothing produces (tests only)")
            .programs(["true"])
            .consumes(["orphan"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        match ctx.var_any("orphan") {
            Some((_, v)) => Ok(Plan::from(vec![cmd::run(["true"]).summary(format!("got {v}")).into()])),
            None => Err(PluginError::missing_variable("orphan is not captured")),
        }
    }
}

register_plugin!(Consumer);
