//! Host bindings for `plait:plugin@0.1.0`, generated from `wit/since_v0.1.0`.
//!
//! The rest of the host never sees these types: [`super::convert`] turns them
//! into the serde-friendly model in [`crate::model`] and [`crate::facts`].

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit/since_v0.1.0",
});

/// The WIT package version these bindings implement.
pub const WIT_VERSION: &str = "0.1.0";
/// The WIT package name.
pub const WIT_PACKAGE: &str = "plait:plugin";
