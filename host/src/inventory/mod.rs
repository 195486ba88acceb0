//! The inventory: hosts, their connection settings, groups and variables.
//! Written inline in a workflow (`[inventory]`) or in its own file (`-i`):
//! plait's TOML, or an Ansible INI or YAML inventory ([`ansible`]).

pub mod ansible;
mod model;
mod raw;

pub use model::{Host, Inventory, Jump, expand_path, toml_to_json};
pub use raw::{RawConnection, RawHost, RawInventory};
