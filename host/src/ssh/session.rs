//! One SSH connection to one host, with commands run on channels of it.

use super::SshError;
use super::auth::authenticate;
use super::host_keys::{HostKeyPolicy, Verifier};
use russh::ChannelMsg;
use russh::client::{self, Handle};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to reach a host.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Inventory name (for messages).
    pub host: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Key file.
    pub identity: Option<PathBuf>,
    /// Host key policy.
    pub host_keys: HostKeyPolicy,
    /// TCP + handshake + auth limit.
    pub connect_timeout: Duration,
    /// Interval of SSH keepalives; a host that misses four is given up on
    /// (a cut network is noticed within about 4× this).
    pub keepalive: Duration,
    /// Reach the host through this jump host (ProxyJump).
    pub jump: Option<Box<ConnectOptions>>,
    /// The run's bound on new connections per second.
    pub pacer: Arc<super::Pacer>,
}

/// Settings shared by every connection of a run.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// Host key policy.
    pub host_keys: HostKeyPolicy,
    /// Connect + authenticate limit.
    pub connect_timeout: Duration,
    /// Keepalive interval.
    pub keepalive: Duration,
    /// Paces new connections (`--connect-rate`), shared by all of them.
    pub pacer: Arc<super::Pacer>,
}

/// How to reach an inventory host (with its jump host, if any).
pub fn connect_options(h: &crate::inventory::Host, s: &ConnectSettings) -> ConnectOptions {
    let (host_keys, connect_timeout, keepalive) = (&s.host_keys, s.connect_timeout, s.keepalive);
    ConnectOptions {
        host: h.name.clone(),
        address: h.address.clone(),
        port: h.port,
        user: h.user.clone(),
        identity: h.identity_file.clone(),
        host_keys: host_keys.clone(),
        connect_timeout,
        keepalive,
        jump: h.proxy_jump.as_ref().map(|j| {
            Box::new(ConnectOptions {
                host: format!("{} (jump host for {})", j.address, h.name),
                address: j.address.clone(),
                port: j.port,
                user: j.user.clone(),
                identity: j.identity_file.clone().or_else(|| h.identity_file.clone()),
                host_keys: host_keys.clone(),
                connect_timeout,
                keepalive,
                jump: None,
                pacer: s.pacer.clone(),
            })
        }),
        pacer: s.pacer.clone(),
    }
}

/// What a command produced.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// Exit status (a signal death is 128 + signal number).
    pub exit_code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// stderr as text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The most output kept from one command, per stream: a runaway or hostile
/// command (or a huge `fetch-file`) must not exhaust the controller's
/// memory. Returning early drops the channel, which ends the command.
pub const MAX_OUTPUT: usize = 64 << 20;

/// An open connection.
pub struct Session {
    handle: Handle<Verifier>,
    host: String,
    /// A session channel opened while the previous command ran, so the
    /// next command does not wait a round trip for one.
    spare: tokio::sync::Mutex<Option<russh::Channel<client::Msg>>>,
    /// The jump host's connection, kept open as long as this one.
    _jump: Option<Box<Session>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("host", &self.host).finish_non_exhaustive()
    }
}

fn signal_code(sig: &russh::Sig) -> i32 {
    use russh::Sig;
    128 + match sig {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        _ => 0,
    }
}

impl Session {
    /// Connect, verify the host key, authenticate.
    pub async fn connect(o: &ConnectOptions) -> Result<Session, SshError> {
        o.pacer.wait().await;
        let addr = format!("{}:{}", o.address, o.port);
        let refusal = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            host: o.host.clone(),
            address: o.address.clone(),
            port: o.port,
            policy: o.host_keys.clone(),
            refusal: refusal.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(o.keepalive),
            keepalive_max: 4,
            nodelay: true,
            ..Default::default()
        });
        let refused = |e: russh::Error| {
            refusal.lock().ok().and_then(|mut r| r.take()).unwrap_or_else(|| SshError::Connect {
                host: o.host.clone(),
                addr: addr.clone(),
                detail: e.to_string(),
            })
        };
        let connect = async {
            let (mut handle, jump) = match &o.jump {
                None => (client::connect(config, (o.address.as_str(), o.port), verifier).await.map_err(refused)?, None),
                Some(j) => {
                    // ProxyJump: a direct-tcpip channel of the jump host's
                    // connection carries this one; both keys are verified.
                    let bastion = Box::pin(Session::connect(j)).await.map_err(|e| SshError::Connect {
                        host: o.host.clone(),
                        addr: addr.clone(),
                        detail: format!("through jump host {}: {e}", j.address),
                    })?;
                    let ch = bastion.handle.channel_open_direct_tcpip(o.address.clone(), u32::from(o.port), "127.0.0.1", 0).await.map_err(
                        |e| SshError::Connect {
                            host: o.host.clone(),
                            addr: addr.clone(),
                            detail: format!("jump host {} could not open a channel: {e}", j.address),
                        },
                    )?;
                    let handle = client::connect_stream(config, ch.into_stream(), verifier).await.map_err(refused)?;
                    (handle, Some(Box::new(bastion)))
                }
            };
            authenticate(&mut handle, &o.host, &o.user, o.identity.as_deref()).await?;
            Ok::<_, SshError>((handle, jump))
        };
        let (handle, jump) = tokio::time::timeout(o.connect_timeout, connect).await.map_err(|_| SshError::Connect {
            host: o.host.clone(),
            addr: addr.clone(),
            detail: format!("timed out after {} s", o.connect_timeout.as_secs()),
        })??;
        Ok(Session { handle, host: o.host.clone(), spare: tokio::sync::Mutex::new(None), _jump: jump })
    }

    /// Run `line` on a new channel, feed `stdin`, collect output (at most
    /// [`MAX_OUTPUT`] bytes per stream). `limit` bounds the whole exchange;
    /// remote processes are expected to carry their own `timeout` so they
    /// die too.
    pub async fn exec(&self, line: &str, stdin: Option<&[u8]>, limit: Duration) -> Result<ExecOutput, SshError> {
        let lost = |e: russh::Error| SshError::Lost { host: self.host.clone(), detail: e.to_string() };
        let work = async {
            let spare = self.spare.lock().await.take();
            let mut ch = match spare {
                Some(ch) => ch,
                None => self.handle.channel_open_session().await.map_err(lost)?,
            };
            // Open the next command's channel while this one runs; given up
            // if this command ends first (a plain open then happens next time).
            let refill = async {
                if let Ok(next) = self.handle.channel_open_session().await {
                    *self.spare.lock().await = Some(next);
                }
            };
            let run = async move {
                ch.exec(true, line.as_bytes()).await.map_err(lost)?;
                if let Some(input) = stdin {
                    ch.data(input).await.map_err(lost)?;
                }
                ch.eof().await.map_err(lost)?;
                let mut out = ExecOutput { exit_code: -1, ..Default::default() };
                let mut got_status = false;
                while let Some(msg) = ch.wait().await {
                    match msg {
                        ChannelMsg::Data { data } => {
                            if out.stdout.len() + data.len() > MAX_OUTPUT {
                                return Err(SshError::TooMuchOutput { host: self.host.clone(), stream: "stdout", limit: MAX_OUTPUT });
                            }
                            out.stdout.extend_from_slice(&data)
                        }
                        ChannelMsg::ExtendedData { data, ext: 1 } => {
                            if out.stderr.len() + data.len() > MAX_OUTPUT {
                                return Err(SshError::TooMuchOutput { host: self.host.clone(), stream: "stderr", limit: MAX_OUTPUT });
                            }
                            out.stderr.extend_from_slice(&data)
                        }
                        ChannelMsg::ExitStatus { exit_status } => {
                            out.exit_code = exit_status as i32;
                            got_status = true;
                        }
                        ChannelMsg::ExitSignal { signal_name, .. } => {
                            out.exit_code = signal_code(&signal_name);
                            got_status = true;
                        }
                        _ => {}
                    }
                }
                if !got_status {
                    return Err(SshError::Lost { host: self.host.clone(), detail: "the channel closed without an exit status".into() });
                }
                Ok(out)
            };
            let mut run = std::pin::pin!(run);
            let mut refill = std::pin::pin!(refill);
            let mut refilled = false;
            loop {
                tokio::select! {
                    r = &mut run => break r,
                    () = &mut refill, if !refilled => refilled = true,
                }
            }
        };
        tokio::time::timeout(limit, work).await.map_err(|_| SshError::Timeout { host: self.host.clone(), secs: limit.as_secs() })?
    }

    /// Close politely.
    pub async fn close(&self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }
}
