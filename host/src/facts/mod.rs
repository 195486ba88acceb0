//! Host facts: the typed core facts every plugin receives, probe results,
//! and recorded facts files for offline planning.

mod file;
mod model;

pub use file::{FactsFile, FactsFileError, HostRecord};
pub use model::{HostFacts, ProbeResult, ServiceState};
