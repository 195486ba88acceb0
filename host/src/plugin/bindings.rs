//! Host bindings for every contract version plait runs, one module each:
//! `v0_1` (`plait:plugin@0.1.0`, `wit/since_v0.1.0`), `v0_2`
//! (`plait:plugin@0.2.0`, `wit/since_v0.2.0`) and `v0_3`
//! (`plait:plugin@0.3.0`, `wit/since_v0.3.0`).
//!
//! The rest of the host never sees these types: [`super::convert`] turns them
//! into the serde-friendly model in [`crate::model`] and [`crate::facts`].

/// `plait:plugin@0.1.0`: every plugin gets every core fact.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../wit/since_v0.1.0",
    });
}

/// `plait:plugin@0.2.0`: a plugin declares the core facts it reads.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../wit/since_v0.2.0",
    });
}

/// `plait:plugin@0.3.0`: probes as argv words or scripts, parameter
/// rules, typed variables, actions that run after others changed.
pub mod v0_3 {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../wit/since_v0.3.0",
    });
}

/// The contract versions plait runs, oldest first.
pub const WIT_VERSIONS: [&str; 3] = ["0.1.0", "0.2.0", "0.3.0"];
/// The WIT package name.
pub const WIT_PACKAGE: &str = "plait:plugin";
