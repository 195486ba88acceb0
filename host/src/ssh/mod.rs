//! SSH transport (russh): one connection per host, reused for every command,
//! fact probe and upload of a run; strict host keys; command lines built so
//! that every argument reaches the remote program exactly as given.

mod auth;
mod command;
mod error;
mod host_keys;
mod known_hosts;
mod pacer;
mod session;

pub use command::{Elevation, RemoteCommand, SUDO_FN, build as build_command, build_bounded, quote, quote_words, timeout_secs};
pub use error::SshError;
pub use host_keys::HostKeyPolicy;
pub use pacer::Pacer;
pub use session::{ConnectOptions, ConnectSettings, ExecOutput, MAX_OUTPUT, Session, connect_options};
