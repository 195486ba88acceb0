//! The script that gathers facts and probes on a live host in one round
//! trip (one `sh -s`: the core facts first, only the groups asked for, then
//! every probe of the step, framed by [`crate::frame`]), and the parser of
//! its output. Running it is the executor's business; this module does no
//! I/O.

use super::{HostFacts, ProbeResult, ServiceState};
use crate::frame::{self, Frame};
use crate::model::{FactGroup, FactSet};
use crate::ssh::{Elevation, SUDO_FN, quote};
use std::collections::BTreeMap;

const CORE: &str = include_str!("gather.sh");

/// A probe ready to run: name and the final shell snippet.
#[derive(Debug, Clone)]
pub struct ProbeCommand {
    /// Probe name.
    pub name: String,
    /// Shell code.
    pub command: String,
    /// Run as root.
    pub sudo: bool,
}

/// The script and the boundary its output uses.
#[derive(Debug, Clone)]
pub struct GatherScript {
    /// Text for `sh -s` stdin.
    pub script: String,
    /// Boundary token.
    pub boundary: String,
}

/// The section of the gather output that holds `g`; gather.sh's function
/// `f_SECTION` writes it (one tool).
fn section_of(g: FactGroup) -> &'static str {
    match g {
        FactGroup::Kernel => "uname",
        FactGroup::Memory => "free",
        FactGroup::Selinux => "selinux",
        FactGroup::Firewalld => "firewalld",
        FactGroup::Modules => "lsmod",
        FactGroup::Sysctls => "sysctl",
        FactGroup::Network => "route",
    }
}

/// Build the script for the core facts plus `probes`.
/// With `Elevation::SudoPassword`, root probes run through [`SUDO_FN`]:
/// sudo gets `password` only when it asks, never on a command line, and a
/// probe never on its stdin.
/// With `core`, the facts the shell reads itself and the groups in the set
/// (a tool each); without, only the probes run (the caller has the facts).
pub fn script(probes: &[ProbeCommand], elevation: Elevation, password: Option<&str>, core: Option<FactSet>) -> GatherScript {
    let boundary = frame::boundary();
    let mut s = String::with_capacity(CORE.len() + 256);
    s.push_str(&format!("B={}\n", quote(&boundary)));
    if elevation == Elevation::SudoPassword && probes.iter().any(|p| p.sudo) {
        // First, so the shell has consumed it before any probe runs; a
        // variable, not exported: on no probe's stdin, argv or environment.
        s.push_str(&format!("P={}\n{SUDO_FN}", quote(password.unwrap_or(""))));
    }
    if let Some(groups) = core {
        s.push_str(CORE);
        for g in groups.iter() {
            s.push_str(&format!("f_{}\n", section_of(g)));
        }
        s.push_str("s end\n");
    }
    for p in probes {
        let cmd = match (p.sudo, elevation) {
            (true, Elevation::Sudo) => format!("sudo -n -- sh -c {}", quote(&p.command)),
            (true, Elevation::SudoPassword) => format!("plait_sudo sh -c {}", quote(&p.command)),
            _ => p.command.clone(),
        };
        // The subshell takes the redirections, so a pipe inside it still
        // feeds sudo its password.
        let cmd = format!("( {cmd}\n)");
        s.push_str(&frame::marker(&format!("\"probe \"{}", quote(&p.name))));
        s.push_str(&format!("{cmd} 2>/dev/null </dev/null\nrc=$?\n"));
        s.push_str(&frame::marker("\"exit $rc\""));
    }
    GatherScript { script: s, boundary }
}

/// The gather output could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("unexpected facts output from {host}: {detail}")]
pub struct GatherError {
    /// Host.
    pub host: String,
    /// What was wrong.
    pub detail: String,
}

fn os_family(id: &str, like: &str) -> String {
    let words: Vec<&str> = like.split_whitespace().chain(std::iter::once(id)).collect();
    if words.iter().any(|w| matches!(*w, "rhel" | "centos" | "fedora")) {
        "rhel".into()
    } else if words.iter().any(|w| matches!(*w, "debian" | "ubuntu")) {
        "debian".into()
    } else if words.iter().any(|w| w.contains("suse")) {
        "suse".into()
    } else {
        id.to_string()
    }
}

/// Parse the output of [`script`] (with the core facts).
pub fn parse(host: &str, out: &str, g: &GatherScript) -> Result<(HostFacts, BTreeMap<String, ProbeResult>), GatherError> {
    let (prefix, frames) = frame::split(out, &g.boundary);
    Ok((parse_core(host, prefix, &frames, out)?, parse_probes(host, &frames)?))
}

/// Parse the output of a probes-only [`script`].
pub fn parse_probes_only(host: &str, out: &str, g: &GatherScript) -> Result<BTreeMap<String, ProbeResult>, GatherError> {
    parse_probes(host, &frame::split(out, &g.boundary).1)
}

/// `"0-3,6"` (the kernel's CPU list format) → 5.
fn count_cpus(list: &str) -> u32 {
    let n: u32 = list
        .split(',')
        .filter_map(|r| match r.trim().split_once('-') {
            Some((a, b)) => Some(b.parse::<u32>().ok()?.checked_sub(a.parse().ok()?)? + 1),
            None => r.trim().parse::<u32>().ok().map(|_| 1),
        })
        .sum();
    n.max(1)
}

fn parse_core(host: &str, prefix: &str, frames: &[Frame<'_>], out: &str) -> Result<HostFacts, GatherError> {
    let prefix = prefix.replace('\r', "");
    let mut kv: BTreeMap<&str, &str> = BTreeMap::new();
    for line in prefix.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k, v.trim());
        }
    }
    // Each section: `core NAME`, then the tool's raw output.
    let sections: BTreeMap<&str, &str> =
        frames.iter().filter(|f| f.kind() == "core").map(|f| (f.args().next().unwrap_or(""), f.body)).collect();
    if !sections.contains_key("end") {
        return Err(GatherError { host: host.into(), detail: format!("no facts in {:?}", out.chars().take(200).collect::<String>()) });
    }
    let get = |k: &str| kv.get(k).copied().unwrap_or("").to_string();
    let section = |k: &str| sections.get(k).copied().unwrap_or("");
    let gathered: FactSet = FactGroup::ALL.into_iter().filter(|g| sections.contains_key(section_of(*g))).collect();
    let mut uname = section("uname").split_whitespace();
    let kernel_release = uname.next().unwrap_or("").to_string();
    if kernel_release.is_empty() && gathered.contains(FactGroup::Kernel) {
        return Err(GatherError { host: host.into(), detail: "`uname -r -m` printed nothing".into() });
    }
    let arch = uname.next().unwrap_or("").to_string();
    let free_kb = |label: &str| {
        section("free")
            .lines()
            .find_map(|l| l.strip_prefix(label).and_then(|r| r.split_whitespace().next()).and_then(|v| v.parse::<u64>().ok()))
            .unwrap_or(0)
    };
    let unit: BTreeMap<&str, &str> = section("firewalld").lines().filter_map(|l| l.split_once('=')).collect();
    let os_release = Some(get("redhat_release")).filter(|r| !r.is_empty()).unwrap_or_else(|| get("pretty_name"));
    // `ip -4 route get`: "1.0.0.0 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0".
    let route: Vec<&str> = section("route").split_whitespace().collect();
    let primary_ipv4 = route.windows(2).find(|w| w[0] == "src").map(|w| w[1].to_string());
    let selinux = section("selinux").trim();
    let facts = HostFacts {
        hostname: get("hostname"),
        os_id: get("os_id"),
        os_version: get("os_version"),
        os_release,
        os_family: os_family(&get("os_id"), &get("os_like")),
        kernel_release,
        arch,
        cpus: count_cpus(&get("cpus_online")),
        memory_mb: free_kb("Mem:") / 1024,
        swap_total_mb: free_kb("Swap:") / 1024,
        selinux: match (gathered.contains(FactGroup::Selinux), selinux) {
            (false, _) => String::new(),
            // No getenforce: SELinux is not installed.
            (true, "") => "disabled".into(),
            (true, mode) => mode.to_ascii_lowercase(),
        },
        firewalld: ServiceState {
            installed: unit.get("LoadState").is_some_and(|s| *s == "loaded"),
            active: unit.get("ActiveState").is_some_and(|s| *s == "active"),
            enabled: unit.get("UnitFileState").is_some_and(|s| *s == "enabled"),
        },
        modules: section("lsmod").lines().skip(1).filter_map(|l| l.split_whitespace().next()).map(String::from).collect(),
        sysctls: section("sysctl")
            .lines()
            .filter_map(|l| l.split_once(" = "))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
        primary_ipv4,
        boot_id: get("boot_id"),
        gathered,
    };
    Ok(facts)
}

/// `probe NAME` frames, each followed by its `exit CODE` frame.
fn parse_probes(host: &str, frames: &[Frame<'_>]) -> Result<BTreeMap<String, ProbeResult>, GatherError> {
    let mut probes = BTreeMap::new();
    let mut it = frames.iter().skip_while(|f| f.kind() != "probe");
    while let Some(f) = it.next() {
        let name =
            f.tag.strip_prefix("probe ").ok_or_else(|| GatherError { host: host.into(), detail: format!("unexpected {:?}", f.tag) })?;
        let exit = it
            .next()
            .filter(|e| e.kind() == "exit")
            .ok_or_else(|| GatherError { host: host.into(), detail: format!("probe {name} has no end marker") })?;
        let code = exit.args().next().unwrap_or("");
        let exit_code = code.parse().map_err(|_| GatherError { host: host.into(), detail: format!("probe {name} exit code {code:?}") })?;
        probes.insert(name.to_string(), ProbeResult { exit_code, stdout: f.body.to_string() });
    }
    Ok(probes)
}

/// A probe command that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeTemplateError {
    /// `{` without its `}`.
    #[error("unclosed {{ in probe command {template:?}")]
    Unclosed {
        /// The probe command.
        template: String,
    },
    /// `{name}` names no parameter.
    #[error("probe command refers to {{{name}}}, which is not a parameter")]
    UnknownParam {
        /// The name between the braces.
        name: String,
    },
}

/// Replace `{param}` in a probe command with the quoted parameter value
/// (a list: its items, a table: its keys, each quoted; `{{`/`}}` are
/// literal braces). Unknown names are an error.
pub fn render_probe(template: &str, params: &serde_json::Value) -> Result<String, ProbeTemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => return Err(ProbeTemplateError::Unclosed { template: template.to_string() }),
                    }
                }
                match params.get(&name) {
                    Some(serde_json::Value::String(s)) => out.push_str(&quote(s)),
                    Some(serde_json::Value::Array(a)) => out.push_str(
                        &a.iter()
                            .map(|v| quote(&v.as_str().map(String::from).unwrap_or_else(|| v.to_string())))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => out.push_str(&quote(&v.to_string())),
                    // A table stands for its keys (e.g. sysctl names), each quoted.
                    Some(serde_json::Value::Object(m)) => out.push_str(&m.keys().map(|k| quote(k)).collect::<Vec<_>>().join(" ")),
                    _ => return Err(ProbeTemplateError::UnknownParam { name }),
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_placeholders_are_quoted() {
        let p = serde_json::json!({ "server": "time.example.org; rm -rf /", "names": ["a b", "c"], "n": 3 });
        assert_eq!(render_probe("ntpdate -q {server}", &p).unwrap(), "ntpdate -q 'time.example.org; rm -rf /'");
        assert_eq!(render_probe("ls {names} {n} {{x}}", &p).unwrap(), "ls 'a b' c 3 {x}");
        assert_eq!(render_probe("echo {missing}", &p), Err(ProbeTemplateError::UnknownParam { name: "missing".into() }));
        assert!(matches!(render_probe("echo {server", &p), Err(ProbeTemplateError::Unclosed { .. })));
        // A table's keys, each quoted (bridge-net's `sysctl {sysctls}`).
        let t = serde_json::json!({ "sysctls": { "net.ipv4.ip_forward": "1", "kernel.x; reboot": "0" } });
        assert_eq!(render_probe("sysctl {sysctls}", &t).unwrap(), "sysctl 'kernel.x; reboot' net.ipv4.ip_forward");
    }

    #[test]
    fn parses_facts_and_probes() {
        let g = GatherScript { script: String::new(), boundary: "@@B@@".into() };
        let out = concat!(
            "hostname=master\nboot_id=abc\ncpus_online=0-1\nos_id=centos\nos_version=7\nos_like=rhel fedora\npretty_name=CentOS Linux 7 (Core)\n",
            "redhat_release=CentOS Linux release 7.9.2009 (Core)\r\n",
            "\n@@B@@ core uname\n3.10.0-1160.el7.x86_64 x86_64\n",
            "\n@@B@@ core free\n              total        used\nMem:        3879936      250880\nSwap:       2097148           0\n",
            "\n@@B@@ core selinux\nEnforcing\n",
            "\n@@B@@ core firewalld\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n",
            "\n@@B@@ core lsmod\nModule                  Size  Used by\nip_tables  16384  0\nxfs 16384 0\n",
            "\n@@B@@ core sysctl\nnet.ipv4.ip_forward = 0\n",
            "\n@@B@@ core route\n1.0.0.0 via 192.168.100.1 dev eth0 src 192.168.100.100 uid 0 \n    cache \n",
            "\n@@B@@ core end\n",
            "\n@@B@@ probe one\nline 1\nline 2\n\n@@B@@ exit 0\n\n@@B@@ probe two\n\n@@B@@ exit 1\n"
        );
        let (f, p) = parse("master", out, &g).unwrap();
        assert_eq!(f.os_family, "rhel");
        assert_eq!(f.swap_total_mb, 2047);
        assert_eq!(f.selinux, "enforcing");
        assert!(f.firewalld.installed && f.firewalld.active && f.firewalld.enabled);
        assert_eq!(f.modules, vec!["ip_tables", "xfs"]);
        assert_eq!(f.sysctls["net.ipv4.ip_forward"], "0");
        assert_eq!(f.cpus, 2);
        assert_eq!(f.kernel_release, "3.10.0-1160.el7.x86_64");
        assert_eq!(f.arch, "x86_64");
        assert_eq!(f.os_release, "CentOS Linux release 7.9.2009 (Core)");
        assert_eq!(f.primary_ipv4.as_deref(), Some("192.168.100.100"));
        assert_eq!(p["one"], ProbeResult { exit_code: 0, stdout: "line 1\nline 2\n".into() });
        assert_eq!(p["two"], ProbeResult { exit_code: 1, stdout: String::new() });
    }

    #[test]
    fn every_group_has_its_reader_and_only_asked_groups_run() {
        for g in FactGroup::ALL {
            let f = format!("f_{}", section_of(g));
            let body = CORE.split(&format!("\n{f}() {{")).nth(1).unwrap_or_else(|| panic!("gather.sh defines no {f}"));
            assert!(body.trim_start().starts_with(&format!("s {};", section_of(g))), "{f} writes section {}", section_of(g));
        }
        let only: FactSet = [FactGroup::Selinux].into_iter().collect();
        let g = script(&[], Elevation::None, None, Some(only));
        let calls: Vec<&str> = g.script.lines().filter(|l| l.starts_with("f_") && !l.contains('(')).collect();
        assert_eq!(calls, ["f_selinux"]);
    }

    #[test]
    fn counts_cpu_lists() {
        assert_eq!(count_cpus("0"), 1);
        assert_eq!(count_cpus("0-3,6"), 5);
        assert_eq!(count_cpus("0-1,4-5\n"), 4);
        assert_eq!(count_cpus(""), 1);
    }

    #[test]
    fn a_truncated_gather_is_an_error() {
        let g = GatherScript { script: String::new(), boundary: "@@B@@".into() };
        let e = parse("web1", "hostname=web1\n\n@@B@@ core uname\n3.10.0 x86_64\n", &g).unwrap_err();
        assert!(e.to_string().contains("web1"), "{e}");
    }
}
