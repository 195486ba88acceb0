//! What the calico and flannel plugins share: `state = "absent"`.
//!
//! The control-plane host deletes the manifest's resources, then, on every
//! run, confirms through a read-only captured variable that the DaemonSet is
//! gone. Every other host waits for that confirmation (its pods could
//! otherwise write their files again) before removing what the CNI left on
//! the node: its config in /etc/cni/net.d, runtime directories, devices.

use plait_sdk::prelude::*;

/// Kubeconfig flag of every kubectl command (run on the control plane).
pub const KUBECONFIG: &str = "--kubeconfig=/etc/kubernetes/admin.conf";

/// One CNI's footprint.
#[derive(Debug, Clone, Copy)]
pub struct Cni<'a> {
    /// Plugin and CNI name (`calico`).
    pub name: &'a str,
    /// Namespace of its DaemonSet.
    pub namespace: &'a str,
    /// Its DaemonSet.
    pub daemonset: &'a str,
    /// Variable confirming the DaemonSet is gone.
    pub removed_var: &'a str,
    /// Its files in /etc/cni/net.d.
    pub cni_files: &'a [&'a str],
}

/// `wait_secs` as a bounded number of seconds.
pub fn wait_secs(wait: i64) -> Result<u32, PluginError> {
    u32::try_from(wait).ok().filter(|w| (1..=3600).contains(w)).ok_or_else(|| PluginError::bad_params("wait_secs must be 1..=3600"))
}

/// Apply the manifest at `url` (retried: mirrors are flaky).
pub fn apply(cni: &Cni, url: &str, version: &str) -> Action {
    cmd::run(["kubectl", KUBECONFIG, "apply", "-f", url])
        .retries(2, 5)
        .timeout_secs(300)
        .summary(format!("apply {} {version}", cni.name))
        .into()
}

/// Wait, bounded and read-only, until the DaemonSet is rolled out.
pub fn wait_rolled_out(cni: &Cni, wait: u32) -> Action {
    let daemonset = format!("daemonset/{}", cni.daemonset);
    let timeout = format!("--timeout={wait}s");
    cmd::run(["kubectl", KUBECONFIG, "-n", cni.namespace, "rollout", "status", daemonset.as_str(), timeout.as_str()])
        .timeout_secs(wait + 30)
        .read_only()
        .summary(format!("wait until {} is ready", cni.daemonset))
        .into()
}

/// What a CNI plugin declares besides its own parameters and probes: the
/// probes `absent` reads on every node (`ls` of /etc/cni/net.d, existing
/// runtime dirs and devices among the candidates; shell loops), the
/// programs its actions run, its manifest folder, its bundled manifests,
/// and the variable confirming removal.
pub fn declare(info: PluginInfo, removed_var: &str, run_dirs: &[&str], devices: &[&str]) -> PluginInfo {
    // The candidates are the scripts' arguments, never part of their code.
    info.probe("cni_files", "ls /etc/cni/net.d")
        .probe_script("run_dirs", "for d in \"$@\"; do [ -d \"$d\" ] && echo \"$d\"; done; true", &run_dirs.join(" "))
        .probe_script("devices", "for d in \"$@\"; do ip link show \"$d\" >/dev/null 2>&1 && echo \"$d\"; done; true", &devices.join(" "))
        .programs(["kubectl", "rm", "ip"])
        .shell()
        .writes(["/etc/kubernetes/plait/"])
        .assets()
        .produces([removed_var])
        .consumes([removed_var])
}

/// The plan for `state = "absent"` on this host.
pub fn absent(ctx: &Context, cni: &Cni, url: &str, control_plane: bool, group: &str) -> Result<Plan, PluginError> {
    let mut actions: Vec<Action> = Vec::new();
    if control_plane {
        if ctx.probe_ok("applied")? {
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "delete", "-f", url, "--ignore-not-found"])
                    .timeout_secs(300)
                    .summary(format!("delete {}'s resources", cni.name))
                    .into(),
            );
        }
        // Prints nothing once the DaemonSet is gone; captured every run for
        // the others. Without a cluster (admin.conf gone: reset) there is no
        // DaemonSet either, and nothing to ask.
        let get = shell::join([
            "kubectl",
            KUBECONFIG,
            "-n",
            cni.namespace,
            "get",
            "daemonset",
            cni.daemonset,
            "--ignore-not-found",
            "-o",
            "name",
        ]);
        actions.push(
            cmd::script(format!("[ -f /etc/kubernetes/admin.conf ] || exit 0\nexec {get}"))
                .read_only()
                .capture(cni.removed_var)
                .summary(format!("confirm {} is gone", cni.daemonset))
                .into(),
        );
    } else {
        let in_group: Vec<&str> = ctx.hosts_in(group)?.map(|h| h.name.as_str()).collect();
        let confirmed = ctx.vars.iter().find(|v| v.name == cni.removed_var && (v.host.is_empty() || in_group.contains(&v.host.as_str())));
        match confirmed {
            None => {
                return Err(PluginError::missing_variable(format!(
                    "waiting for the control plane to remove {} ({})",
                    cni.name, cni.removed_var
                )));
            }
            Some(v) if !ctx.offline && v.value.as_deref().is_some_and(|l| !l.trim().is_empty()) => {
                let listed = v.value.as_deref().unwrap_or_default().trim();
                return Err(PluginError::internal(format!("the control plane still lists {listed} after deleting it")));
            }
            Some(_) => {}
        }
    }
    let listed = ctx.probe("cni_files")?;
    let mut leftovers: Vec<String> = cni
        .cni_files
        .iter()
        .filter(|f| listed.exit_code == 0 && listed.stdout.lines().any(|l| l.trim() == **f))
        .map(|f| format!("/etc/cni/net.d/{f}"))
        .collect();
    leftovers.extend(ctx.probe("run_dirs")?.stdout.lines().map(str::trim).filter(|l| l.starts_with('/')).map(String::from));
    if !leftovers.is_empty() {
        let mut argv = vec!["rm".to_string(), "-rf".into(), "--".into()];
        argv.extend(leftovers.iter().cloned());
        actions.push(cmd::run(argv).summary(format!("remove {}'s CNI config ({})", cni.name, leftovers.len())).into());
    }
    for d in ctx.probe("devices")?.stdout.lines().map(str::trim).filter(|d| !d.is_empty()) {
        actions.push(cmd::run(["ip", "link", "delete", d]).summary(format!("remove the {d} device")).into());
    }
    // Only the read-only confirmation left: nothing to change.
    let changes = actions.iter().filter(|a| !matches!(&a.kind, ActionKind::Run(r) if r.read_only)).count();
    let done = match (changes, control_plane) {
        (0, true) => format!("{} is not installed, and nothing of it is left on this host", cni.name),
        (0, false) => format!("nothing of {} is left on this host", cni.name),
        _ => String::new(),
    };
    Ok(Plan::new(actions, done))
}
