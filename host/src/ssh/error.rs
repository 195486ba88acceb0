//! SSH failures, each naming the host.

/// What went wrong talking to a host.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// TCP connection or handshake failed.
    #[error("cannot connect to {host} ({addr}): {detail}")]
    Connect {
        /// Inventory name.
        host: String,
        /// address:port.
        addr: String,
        /// Cause.
        detail: String,
    },
    /// The host key is not in known_hosts.
    #[error(
        "host key of {host} ({addr}) is unknown: {fingerprint} is not in {known_hosts}; nothing was run on it (verify the fingerprint, then rerun with --accept-new-host-keys to record it)"
    )]
    UnknownHostKey {
        /// Inventory name.
        host: String,
        /// address:port.
        addr: String,
        /// SHA256 fingerprint offered.
        fingerprint: String,
        /// The file consulted.
        known_hosts: String,
    },
    /// The host key differs from the recorded one.
    #[error(
        "HOST KEY OF {host} ({addr}) HAS CHANGED: it now offers {fingerprint}, which does not match line {line} of {known_hosts}. Someone may be intercepting the connection, or the host was reinstalled. Nothing was run on it; if the change is expected, remove the old key (ssh-keygen -R {keygen_name} -f {known_hosts})"
    )]
    ChangedHostKey {
        /// Inventory name.
        host: String,
        /// address:port.
        addr: String,
        /// SHA256 fingerprint offered.
        fingerprint: String,
        /// Line of the recorded key.
        line: usize,
        /// The host as `ssh-keygen -R` names it.
        keygen_name: String,
        /// The file consulted.
        known_hosts: String,
    },
    /// No method authenticated.
    #[error("authentication as {user} on {host} failed: {detail}")]
    Auth {
        /// Inventory name.
        host: String,
        /// User.
        user: String,
        /// What was tried.
        detail: String,
    },
    /// A key file could not be used.
    #[error("cannot use identity file {path}: {detail}")]
    Key {
        /// File.
        path: String,
        /// Why.
        detail: String,
    },
    /// The connection broke during a command.
    #[error("connection to {host} lost: {detail}")]
    Lost {
        /// Inventory name.
        host: String,
        /// Cause.
        detail: String,
    },
    /// A command did not finish in time (the remote process was killed).
    #[error("command on {host} timed out after {secs} s")]
    Timeout {
        /// Inventory name.
        host: String,
        /// Limit.
        secs: u64,
    },
    /// A command printed more than plait keeps (its process was ended).
    #[error("a command on {host} printed more than {limit} bytes on {stream}; it was stopped")]
    TooMuchOutput {
        /// Inventory name.
        host: String,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
}
