//! The script that gathers facts and probes on a live host in one round
//! trip (one `sh -s`: the core facts first, only the groups asked for, then
//! every probe of the step, framed by [`crate::frame`]), and the parser of
//! its output. Running it is the executor's business; this module does no
//! I/O.

use super::{HostFacts, ProbeResult, ServiceState};
use crate::frame::{self, Frame};
use crate::model::{FactGroup, FactSet, ProbeRun, ProbeSource, ProbeWord};
use crate::ssh::{Elevation, SUDO_FN, quote, quote_words};
use std::collections::BTreeMap;

const CORE: &str = include_str!("gather.sh");

/// A probe ready to run: its name and what it runs, parameters in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeCommand {
    /// Probe name (in a gather ahead, `STEP/NAME`).
    pub name: String,
    /// What it runs.
    pub run: ProbeRun,
    /// Run as root.
    pub sudo: bool,
}

impl ProbeCommand {
    /// The command as a line of shell words, for listings and errors.
    pub fn display(&self) -> String {
        match &self.run {
            ProbeRun::Exec { argv } => quote_words(argv),
            ProbeRun::Shell { code, args } if args.is_empty() => code.clone(),
            ProbeRun::Shell { code, args } => format!("sh -c {} sh {}", quote(code), quote_words(args)),
        }
    }
}

/// The scripts and the boundaries their output uses.
#[derive(Debug, Clone)]
pub struct GatherScript {
    /// Text for `sh -s` stdin: the core facts and every probe that runs
    /// without the sudo password. It never holds the password.
    pub script: String,
    /// With a sudo password: the probes run as root, in a shell of their
    /// own (a second `sh -s` on the same connection), the only one that
    /// knows the password. No probe that runs as the SSH user shares it.
    pub root: Option<String>,
    /// Boundary of the core facts' sections.
    pub boundary: String,
    /// Each probe's name and its own boundary, in script order: no probe
    /// can print another's frames without knowing a boundary it never sees.
    pub probes: Vec<(String, String)>,
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

/// The shell line that starts probe `p` inside its subshell: a program
/// with `exec` and its words quoted one by one (no builtin, function or
/// keyword can be what runs, and no word is read twice by a shell); shell
/// code in `sh -c` of its own, its arguments as `$1`...
fn probe_line(p: &ProbeCommand, elevation: Elevation) -> String {
    let root = p.sudo && elevation != Elevation::None;
    let sudo = match elevation {
        Elevation::SudoPassword => "plait_sudo",
        _ => "exec sudo -n --",
    };
    match (&p.run, root) {
        (ProbeRun::Exec { argv }, false) => format!("exec {}", quote_words(argv)),
        (ProbeRun::Exec { argv }, true) => format!("{sudo} {}", quote_words(argv)),
        // A shell of its own: its code cannot close the subshell and change
        // the gather shell (PATH, functions) under later probes.
        (ProbeRun::Shell { code, args }, false) => format!("exec sh -c {} sh {}", quote(code), quote_words(args)),
        (ProbeRun::Shell { code, args }, true) => format!("{sudo} sh -c {} sh {}", quote(code), quote_words(args)),
    }
}

/// One probe, framed by markers under its own fresh boundary.
fn push_probe(s: &mut String, p: &ProbeCommand, elevation: Elevation, boundary: &str) {
    let marker = |tag: &str| frame::marker_under(&quote(boundary), tag);
    s.push_str(&marker(&format!("\"probe \"{}", quote(&p.name))));
    // The subshell takes the redirections, so a pipe inside it still
    // feeds sudo its password.
    s.push_str(&format!("( {}\n) 2>/dev/null </dev/null\nrc=$?\n", probe_line(p, elevation)));
    s.push_str(&marker("\"exit $rc\""));
}

/// Build the script for the core facts plus `probes`.
/// With `Elevation::SudoPassword`, root probes go into [`GatherScript::root`]
/// and run through [`SUDO_FN`]: sudo gets `password` only when it asks,
/// never on a command line, and a probe never on its stdin.
/// With `core`, the facts the shell reads itself and the groups in the set
/// (a tool each); without, only the probes run (the caller has the facts).
pub fn script(probes: &[ProbeCommand], elevation: Elevation, password: Option<&str>, core: Option<FactSet>) -> GatherScript {
    let boundary = frame::boundary();
    let mut s = String::with_capacity(CORE.len() + 256);
    s.push_str(&format!("B={}\n", quote(&boundary)));
    if let Some(groups) = core {
        s.push_str(CORE);
        for g in groups.iter() {
            s.push_str(&format!("f_{}\n", section_of(g)));
        }
        s.push_str("s end\n");
    }
    let apart = |p: &&ProbeCommand| elevation == Elevation::SudoPassword && p.sudo;
    let mut root = None;
    if probes.iter().any(|p| apart(&p)) {
        // First, so the shell has consumed it before any probe runs; a
        // variable, not exported: on no probe's stdin, argv or environment.
        root = Some(format!("P={}\n{SUDO_FN}", quote(password.unwrap_or(""))));
    }
    let mut framed = Vec::with_capacity(probes.len());
    for p in probes {
        let b = frame::boundary();
        let into = if apart(&p) { root.as_mut().expect("made above") } else { &mut s };
        push_probe(into, p, elevation, &b);
        framed.push((p.name.clone(), b));
    }
    GatherScript { script: s, root, boundary, probes: framed }
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

/// Parse the output of [`script`] (with the core facts; the root script's
/// output, if any, follows the other's).
pub fn parse(host: &str, out: &str, g: &GatherScript) -> Result<(HostFacts, BTreeMap<String, ProbeResult>), GatherError> {
    let (prefix, frames) = frame::split(out, &g.boundary);
    Ok((parse_core(host, prefix, &frames, out)?, parse_probes(host, out, g)?))
}

/// Parse the output of a probes-only [`script`].
pub fn parse_probes_only(host: &str, out: &str, g: &GatherScript) -> Result<BTreeMap<String, ProbeResult>, GatherError> {
    parse_probes(host, out, g)
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

/// Each probe's two frames under its own boundary: `probe NAME` with the
/// output, then `exit CODE`. A probe whose frames appear more than once
/// (output forging them) fails the gather; one with none has no result.
fn parse_probes(host: &str, out: &str, g: &GatherScript) -> Result<BTreeMap<String, ProbeResult>, GatherError> {
    let err = |detail: String| GatherError { host: host.into(), detail };
    let mut probes = BTreeMap::new();
    for (name, boundary) in &g.probes {
        let (_, frames) = frame::split(out, boundary);
        match frames.as_slice() {
            [] => continue,
            [f, exit] if f.tag.strip_prefix("probe ") == Some(name.as_str()) && exit.kind() == "exit" => {
                let code = exit.args().next().unwrap_or("");
                let exit_code = code.parse().map_err(|_| err(format!("probe {name} exit code {code:?}")))?;
                probes.insert(name.clone(), ProbeResult { exit_code, stdout: f.body.to_string() });
            }
            [_] => return Err(err(format!("probe {name} has no end marker"))),
            _ => return Err(err(format!("probe {name}: its output markers appear {} times, not twice (forged output?)", frames.len()))),
        }
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

/// The words of a parameter's value: a string is one word, a list one per
/// item, a number or boolean its JSON text, a table one per key.
fn param_words(name: &str, params: &serde_json::Value, out: &mut Vec<String>) -> Result<(), ProbeTemplateError> {
    use serde_json::Value;
    match params.get(name) {
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Array(a)) => out.extend(a.iter().map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => out.push(v.to_string()),
        Some(Value::Object(m)) => out.extend(m.keys().cloned()),
        _ => return Err(ProbeTemplateError::UnknownParam { name: name.to_string() }),
    }
    Ok(())
}

fn expand(words: &[ProbeWord], params: &serde_json::Value) -> Result<Vec<String>, ProbeTemplateError> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        match w {
            ProbeWord::Literal(s) => out.push(s.clone()),
            ProbeWord::Param(name) => param_words(name, params, &mut out)?,
        }
    }
    Ok(out)
}

/// What a declared probe runs with the step's parameters: a program's
/// words (a template the tokenizer reads as one program, or a 0.3 argv),
/// or shell code (any other template, with its placeholders quoted; a 0.3
/// script, its arguments as positional parameters).
pub fn render(source: &ProbeSource, params: &serde_json::Value) -> Result<ProbeRun, ProbeTemplateError> {
    match source {
        ProbeSource::Argv { words } => Ok(ProbeRun::Exec { argv: expand(words, params)? }),
        ProbeSource::Template { text } => match crate::model::parse_template(text) {
            Some(words) => Ok(ProbeRun::Exec { argv: expand(&words, params)? }),
            None => Ok(ProbeRun::Shell { code: render_probe(text, params)?, args: Vec::new() }),
        },
        ProbeSource::Script { code, args } => Ok(ProbeRun::Shell { code: code.clone(), args: expand(args, params)? }),
    }
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
        let g = GatherScript {
            script: String::new(),
            root: None,
            boundary: "@@B@@".into(),
            probes: vec![("one".into(), "@@P1@@".into()), ("two".into(), "@@P2@@".into())],
        };
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
            "\n@@P1@@ probe one\nline 1\nline 2\n\n@@P1@@ exit 0\n\n@@P2@@ probe two\n\n@@P2@@ exit 1\n"
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
    fn a_probe_cannot_forge_another_probes_result() {
        let g = GatherScript {
            script: String::new(),
            root: None,
            boundary: "@@B@@".into(),
            probes: vec![("one".into(), "@@P1@@".into()), ("two".into(), "@@P2@@".into())],
        };
        // Probe one prints frames under its own boundary for itself and
        // under the core boundary: neither can replace probe two's result.
        let out = "hostname=h\n\n@@B@@ core end\n\n@@P1@@ probe one\n\n@@P1@@ exit 0\n\n@@B@@ probe two\nforged\n\n@@B@@ exit 0\n\n@@P1@@ exit 0\n\n@@P2@@ probe two\nreal\n\n@@P2@@ exit 0\n";
        let e = parse_probes_only("h", out, &g).unwrap_err();
        assert!(e.detail.contains("probe one") && e.detail.contains("3 times"), "{e}");
        let out =
            "\n@@P1@@ probe one\n\n@@B@@ probe two\nforged\n\n@@B@@ exit 0\n\n@@P1@@ exit 0\n\n@@P2@@ probe two\nreal\n\n@@P2@@ exit 0\n";
        let p = parse_probes_only("h", out, &g).unwrap();
        assert_eq!(p["two"].stdout, "real\n");
    }

    #[test]
    fn programs_run_with_exec_and_quoted_words_and_the_password_stays_apart() {
        let probes = vec![
            ProbeCommand {
                name: "q".into(),
                run: ProbeRun::Exec { argv: vec!["rpm".into(), "-q".into(), "$(touch M)".into()] },
                sudo: false,
            },
            ProbeCommand { name: "r".into(), run: ProbeRun::Exec { argv: vec!["cat".into(), "/etc/shadow".into()] }, sudo: true },
            ProbeCommand { name: "s".into(), run: ProbeRun::Shell { code: "echo \"$1\"".into(), args: vec!["a b".into()] }, sudo: false },
        ];
        let g = script(&probes, Elevation::SudoPassword, Some("pw'x"), None);
        assert!(g.script.contains("( exec rpm -q '$(touch M)'\n)"), "{}", g.script);
        assert!(g.script.contains("( exec sh -c 'echo \"$1\"' sh 'a b'\n)"), "{}", g.script);
        assert!(!g.script.contains("pw") && !g.script.contains("plait_sudo") && !g.script.contains("shadow"), "{}", g.script);
        let root = g.root.as_deref().expect("a root script");
        assert!(root.contains("plait_sudo cat /etc/shadow") && root.contains("P='pw'\\''x'") && !root.contains("rpm"), "{root}");
        let boundaries: std::collections::BTreeSet<&str> = g.probes.iter().map(|(_, b)| b.as_str()).chain([g.boundary.as_str()]).collect();
        assert_eq!(boundaries.len(), 4, "a fresh boundary per probe");
        // Without a password: sudo -n in the one script, nothing apart.
        let g = script(&probes, Elevation::Sudo, None, None);
        assert!(g.root.is_none() && g.script.contains("( exec sudo -n -- cat /etc/shadow\n)"), "{}", g.script);
    }

    #[test]
    fn a_truncated_gather_is_an_error() {
        let g = GatherScript { script: String::new(), root: None, boundary: "@@B@@".into(), probes: vec![] };
        let e = parse("web1", "hostname=web1\n\n@@B@@ core uname\n3.10.0 x86_64\n", &g).unwrap_err();
        assert!(e.to_string().contains("web1"), "{e}");
    }
}
