//! `os-prep`: the tutorial's "环境要求" section for kubeadm hosts.
//!
//! Stops and disables firewalld, turns SELinux off now and in its config,
//! turns swap off now and in /etc/fstab, sets the hostname from the
//! inventory, lists every inventory host in /etc/hosts, and keeps the clock
//! in sync: with chronyd (CentOS 7's default, running on a minimal install)
//! unless the workflow asks for the tutorial's one-shot ntpdate, whose
//! unreachable server is a warning unless `time_sync_strict`. Every part
//! is decided from facts and probes, so a converged
//! host gets an empty plan with the reasons.
//!
//! Fixes over the tutorial: `sed 's/enforcing/disabled/'` also rewrote
//! comments, so only the `SELINUX=` line is changed; `sed 's/.*swap.*/#&/'`
//! commented lines again on every run (and any line mentioning swap), so only
//! active swap entries are commented; the hosts block is generated from the
//! inventory inside a marked block instead of appended on every run.

use plait_sdk::prelude::*;
use serde::Deserialize;

const HOSTS_BEGIN: &str = "# BEGIN plait os-prep: inventory hosts";
const HOSTS_END: &str = "# END plait os-prep";
/// An active (uncommented) fstab entry whose type field is `swap`.
const FSTAB_SWAP_ERE: &str = "^[[:space:]]*[^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]";

#[derive(Deserialize)]
struct Params {
    firewalld: bool,
    selinux: String,
    swap_off: bool,
    hostname: bool,
    hosts_file: bool,
    time_sync: bool,
    time_sync_tool: String,
    time_sync_strict: bool,
    ntp_server: String,
    max_clock_offset: f64,
}

struct OsPrep;

impl Plugin for OsPrep {
    fn describe() -> PluginInfo {
        info("os-prep", env!("CARGO_PKG_VERSION"), "firewalld off, SELinux off, swap off, hostname, /etc/hosts, time sync")
            .inventory()
            .param(param::boolean("firewalld", true, "stop and disable firewalld"))
            .param(param::string("selinux", "disabled", "SELinux mode for /etc/selinux/config: disabled or permissive"))
            .param(param::boolean("swap_off", true, "turn swap off now and comment swap entries in /etc/fstab"))
            .param(param::boolean("hostname", true, "set the hostname to the inventory name (or the host var `hostname`)"))
            .param(param::boolean("hosts_file", true, "list every inventory host in /etc/hosts"))
            .param(param::boolean("time_sync", true, "keep the clock in sync"))
            .param(param::string(
                "time_sync_tool",
                "chronyd",
                "chronyd (installed, enabled, running), or ntpdate (the tutorial's one-shot sync)",
            ))
            .param(param::boolean(
                "time_sync_strict",
                false,
                "ntpdate: fail the host when the NTP server cannot be reached (default: a warning, nothing planned)",
            ))
            .param(param::string("ntp_server", "time.windows.com", "NTP server for ntpdate"))
            .param(param::float("max_clock_offset", 0.5, "seconds of clock offset tolerated before syncing"))
            .probe("selinux_config", "grep -E '^[[:space:]]*SELINUX=' /etc/selinux/config")
            .probe("fstab_swap", &format!("grep -E '{FSTAB_SWAP_ERE}' /etc/fstab"))
            .probe("etc_hosts", "cat /etc/hosts")
            .probe("ntpdate_installed", "rpm -q ntpdate")
            // Only ntpdate mode queries the server: a blocked UDP 123 costs
            // ntpdate's whole timeout.
            .probe_script(
                "clock",
                "if [ \"$1\" = ntpdate ]; then ntpdate -q \"$2\" 2>&1; else echo 'not queried'; fi",
                "{time_sync_tool} {ntp_server}",
            )
            .probe("chrony_installed", "rpm -q chrony")
            .probe("chronyd_enabled", "systemctl is-enabled chronyd")
            .probe("chronyd_active", "systemctl is-active chronyd")
            .facts([Fact::Firewalld, Fact::Selinux, Fact::Memory])
            .programs(["systemctl", "setenforce", "sed", "swapoff", "hostnamectl", "yum", "ntpdate"])
            // Only for ntpdate's first sync, whose failure is a warning.
            .shell()
            .writes(["/etc/hosts"])
            .reads(["/etc/hosts"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        if ctx.facts.os_family != "rhel" {
            return Err(PluginError::unsupported(format!(
                "os-prep supports the RHEL family (CentOS 7), this host is {} {}",
                ctx.facts.os_id, ctx.facts.os_version
            )));
        }
        if p.selinux != "disabled" && p.selinux != "permissive" {
            return Err(PluginError::bad_params(format!("selinux must be \"disabled\" or \"permissive\", not {:?}", p.selinux)));
        }
        let mut actions: Vec<Action> = Vec::new();
        let mut done: Vec<String> = Vec::new();

        if p.firewalld {
            firewalld(ctx, &mut actions, &mut done)?;
        }
        selinux(ctx, &p.selinux, &mut actions, &mut done)?;
        if p.swap_off {
            swap(ctx, &mut actions, &mut done)?;
        }
        if p.hostname {
            hostname(ctx, &mut actions, &mut done)?;
        }
        if p.hosts_file {
            hosts_file(ctx, &mut actions, &mut done)?;
        }
        if p.time_sync {
            match p.time_sync_tool.as_str() {
                "chronyd" => chronyd(ctx, &mut actions, &mut done)?,
                "ntpdate" => ntpdate(ctx, &p, &mut actions, &mut done)?,
                other => {
                    return Err(PluginError::bad_params(format!("time_sync_tool must be \"chronyd\" or \"ntpdate\", not {other:?}")));
                }
            }
        }
        let reason = if done.is_empty() { "every part of os-prep is switched off by its parameters".to_string() } else { done.join("; ") };
        Ok(Plan::new(actions, reason))
    }
}

fn firewalld(ctx: &Context, actions: &mut Vec<Action>, done: &mut Vec<String>) -> Result<(), PluginError> {
    let fw = ctx.firewalld()?;
    if !fw.installed {
        done.push("firewalld is not installed".into());
        return Ok(());
    }
    if fw.active {
        actions.push(cmd::run(["systemctl", "stop", "firewalld"]).summary("stop firewalld").into());
    }
    if fw.enabled {
        actions.push(cmd::run(["systemctl", "disable", "firewalld"]).summary("disable firewalld at boot").into());
    }
    if !fw.active && !fw.enabled {
        done.push("firewalld is stopped and disabled".into());
    }
    Ok(())
}

fn selinux(ctx: &Context, target: &str, actions: &mut Vec<Action>, done: &mut Vec<String>) -> Result<(), PluginError> {
    let mode = ctx.selinux()?;
    let runtime_ok = mode != "enforcing";
    if !runtime_ok {
        actions.push(cmd::run(["setenforce", "0"]).summary("switch SELinux to permissive now").into());
    }
    let probe = ctx.probe("selinux_config")?;
    let config_ok = match probe.exit_code {
        // The file or the line is missing: SELinux is not installed, nothing to configure.
        1 | 2 => {
            done.push("no SELINUX= line in /etc/selinux/config".into());
            return Ok(());
        }
        0 => {
            let current = probe.stdout.lines().last().unwrap_or("").trim();
            current.trim_start_matches("SELINUX=").trim() == target
        }
        code => {
            return Err(PluginError::internal(format!("probe selinux_config exited {code}")));
        }
    };
    if !config_ok {
        let expr = format!("s/^[[:space:]]*SELINUX=.*/SELINUX={target}/");
        actions.push(
            cmd::run(["sed", "-i", expr.as_str(), "/etc/selinux/config"])
                .summary(format!("set SELINUX={target} in /etc/selinux/config"))
                .into(),
        );
    }
    if runtime_ok && config_ok {
        done.push(format!("SELinux is {mode} now and {target} in its config"));
    }
    Ok(())
}

fn swap(ctx: &Context, actions: &mut Vec<Action>, done: &mut Vec<String>) -> Result<(), PluginError> {
    let swap_mb = ctx.swap_total_mb()?;
    let swap_on = swap_mb > 0;
    if swap_on {
        actions.push(cmd::run(["swapoff", "-a"]).summary(format!("turn off {swap_mb} MiB of swap")).into());
    }
    let probe = ctx.probe("fstab_swap")?;
    let fstab_active = probe.exit_code == 0 && !probe.stdout.trim().is_empty();
    if fstab_active {
        let expr = format!("/{FSTAB_SWAP_ERE}/s/^/#/");
        actions.push(cmd::run(["sed", "-ri", expr.as_str(), "/etc/fstab"]).summary("comment out swap entries in /etc/fstab").into());
    }
    if !swap_on && !fstab_active {
        done.push("swap is off and /etc/fstab has no active swap entry".into());
    }
    Ok(())
}

/// The hostname an inventory host should have: its `hostname` var, or its name.
fn inventory_hostname(h: &plait_sdk::InventoryHost) -> String {
    h.vars.iter().find(|(k, _)| k == "hostname").and_then(|(_, v)| serde_json::from_str::<String>(v).ok()).unwrap_or_else(|| h.name.clone())
}

fn desired_hostname(ctx: &Context) -> String {
    inventory_hostname(&ctx.host)
}

/// RFC 1123 host name: dot-separated labels of letters, digits and inner '-'.
fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn hostname(ctx: &Context, actions: &mut Vec<Action>, done: &mut Vec<String>) -> Result<(), PluginError> {
    let want = desired_hostname(ctx);
    if !valid_hostname(&want) {
        return Err(PluginError::bad_params(format!("{want:?} is not a valid hostname (set the host var `hostname` or rename the host)")));
    }
    if ctx.facts.hostname == want {
        done.push(format!("hostname is {want}"));
    } else {
        actions.push(
            cmd::run(["hostnamectl", "set-hostname", want.as_str()])
                .summary(format!("set hostname {} -> {want}", ctx.facts.hostname))
                .into(),
        );
    }
    Ok(())
}

/// /etc/hosts with a managed block listing the inventory hosts that are not
/// already listed elsewhere in the file (same address and name).
fn hosts_file(ctx: &Context, actions: &mut Vec<Action>, done: &mut Vec<String>) -> Result<(), PluginError> {
    let probe = ctx.probe("etc_hosts")?;
    let current = if probe.exit_code == 0 { probe.stdout.as_str() } else { "" };

    let mut outside: Vec<&str> = Vec::new();
    let mut in_block = false;
    for line in current.lines() {
        match line.trim() {
            HOSTS_BEGIN => in_block = true,
            HOSTS_END => in_block = false,
            _ if !in_block => outside.push(line),
            _ => {}
        }
    }
    let listed = |addr: &str, name: &str| {
        outside.iter().any(|l| {
            let l = l.split('#').next().unwrap_or("");
            let mut f = l.split_whitespace();
            f.next() == Some(addr) && f.any(|n| n == name)
        })
    };
    let mut block = Vec::new();
    let inventory = ctx.inventory()?;
    for h in inventory {
        let name = inventory_hostname(h);
        if !valid_hostname(&name) {
            return Err(PluginError::bad_params(format!("inventory host {} has the invalid hostname {name:?}", h.name)));
        }
        if h.address.is_empty() || !h.address.chars().all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':') {
            return Err(PluginError::bad_params(format!(
                "inventory host {} has address {:?}, which is not an IP address for /etc/hosts (set hosts_file = false when hosts resolve through DNS)",
                h.name, h.address
            )));
        }
        if !listed(&h.address, &name) {
            block.push(format!("{} {}", h.address, name));
        }
    }
    let mut want = outside.join("\n");
    if !want.is_empty() {
        want.push('\n');
    }
    if !block.is_empty() {
        want.push_str(HOSTS_BEGIN);
        want.push('\n');
        for l in &block {
            want.push_str(l);
            want.push('\n');
        }
        want.push_str(HOSTS_END);
        want.push('\n');
    }
    if want == current {
        done.push(format!("/etc/hosts lists all {} inventory hosts", inventory.len()));
    } else {
        actions.push(
            file::put("/etc/hosts", want)
                .mode(0o644)
                .owner("root", "root")
                .summary(format!("list {} inventory hosts in /etc/hosts", inventory.len()))
                .into(),
        );
    }
    Ok(())
}

/// The first `offset X` of `ntpdate -q` output, in seconds.
fn parse_offset(out: &str) -> Option<f64> {
    out.lines().find_map(|l| {
        let mut words = l.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty());
        while let Some(w) = words.next() {
            if w == "offset" {
                return words.next()?.parse().ok();
            }
        }
        None
    })
}

/// chronyd keeps the clock in sync on its own (servers from /etc/chrony.conf).
fn chronyd(ctx: &Context, actions: &mut Vec<Action>, done: &mut Vec<String>) -> Result<(), PluginError> {
    let installed = ctx.probe_ok("chrony_installed")?;
    if !installed {
        actions.push(
            cmd::run(["yum", "-y", "--setopt=skip_missing_names_on_install=0", "install", "chrony"]).summary("install chrony").into(),
        );
    }
    let enabled = installed && ctx.probe("chronyd_enabled")?.stdout.trim() == "enabled";
    if !enabled {
        actions.push(cmd::run(["systemctl", "enable", "chronyd"]).summary("start chronyd at boot").into());
    }
    let active = installed && ctx.probe("chronyd_active")?.stdout.trim() == "active";
    if !active {
        actions.push(cmd::run(["systemctl", "start", "chronyd"]).summary("start chronyd").into());
    }
    if installed && enabled && active {
        done.push("chronyd keeps the clock in sync".into());
    }
    Ok(())
}

/// The tutorial's one-shot ntpdate. An unreachable server is a warning
/// (nothing planned, so a converged host stays converged) unless
/// `time_sync_strict` is set; ntpdate then runs and fails the host.
fn ntpdate(ctx: &Context, p: &Params, actions: &mut Vec<Action>, done: &mut Vec<String>) -> Result<(), PluginError> {
    let installed = ctx.probe("ntpdate_installed")?.exit_code == 0;
    if !installed {
        actions.push(
            cmd::run(["yum", "-y", "--setopt=skip_missing_names_on_install=0", "install", "ntpdate"]).summary("install ntpdate").into(),
        );
    }
    let clock = ctx.probe("clock")?;
    // An unreachable server still prints "offset 0.000000" (stratum 0):
    // only a zero exit status means the offset was measured.
    let offset = if installed && clock.exit_code == 0 { parse_offset(&clock.stdout) } else { None };
    let sync = |why: String| -> Action {
        cmd::run(["ntpdate", p.ntp_server.as_str()])
            .retries(2, 3)
            .timeout_secs(60)
            .summary(format!("sync the clock with {} ({why})", p.ntp_server))
            .into()
    };
    match offset {
        Some(o) if o.abs() <= p.max_clock_offset => done.push(format!("clock is {:+.1} ms off {}", o * 1000.0, p.ntp_server)),
        Some(o) => actions.push(sync(format!("clock is {:+.1} ms off", o * 1000.0))),
        // Not installed yet: the first run installs it and syncs; whether the
        // server answers is known only then, so unless strict a failed sync
        // is a warning there too.
        None if !installed && p.time_sync_strict => actions.push(sync("clock offset unknown".into())),
        None if !installed => {
            let server = shell::quote(&p.ntp_server);
            let warning = shell::quote(&format!(
                "warning: {} cannot be reached, the clock is not synced (set time_sync_strict = true to fail instead, or use chronyd)",
                p.ntp_server
            ));
            actions.push(
                cmd::script(format!("for i in 1 2 3; do ntpdate {server} && exit 0; sleep 3; done; echo {warning} >&2"))
                    .timeout_secs(90)
                    .summary(format!("sync the clock with {} (clock offset unknown; a warning if it cannot be reached)", p.ntp_server))
                    .into(),
            );
        }
        None if p.time_sync_strict => actions.push(sync(format!("{} did not answer", p.ntp_server))),
        None => {
            let why = clock.stdout.lines().last().unwrap_or("").trim();
            let msg = format!(
                "warning: {} cannot be reached, the clock is not synced ({why}; set time_sync_strict = true to fail instead, or use chronyd)",
                p.ntp_server
            );
            log(Level::Warn, &msg);
            done.push(msg);
        }
    }
    Ok(())
}

register_plugin!(OsPrep);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ntpdate_offsets() {
        let out = "server 20.101.57.9, stratum 3, offset -0.000713, delay 0.27580\n26 Nov 03:50:12 ntpdate[1]: adjust time server 20.101.57.9 offset -0.000713 sec\n";
        assert_eq!(parse_offset(out), Some(-0.000713));
        assert_eq!(parse_offset("no server suitable for synchronization found"), None);
    }
}
