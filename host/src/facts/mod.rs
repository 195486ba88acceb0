//! Host facts: the typed core facts every plugin receives, probe results,
//! and recorded facts files for offline planning.

mod file;
mod gather;
mod sample;

pub use crate::model::{HostFacts, ProbeResult, ServiceState};
pub use file::{FactsFile, FactsFileError, HostRecord};
pub use gather::{
    GatherError, GatherScript, ProbeCommand, ProbeTemplateError, parse as parse_gathered, parse_probes_only, render, render_probe,
    script as gather_script,
};
pub use sample::centos7;
