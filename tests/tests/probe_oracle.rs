//! The differential test of the probe sandbox: what plait's classifier says
//! a probe runs is checked against what a real shell runs. Every probe of
//! every first-party and test plugin, a fixed corpus of hostile templates
//! and values, and generated ones are rendered into the gather script
//! exactly as the host sends it (`gather_script`), run by real `dash` and
//! by real `bash` started as `sh` (CentOS's `/bin/sh`), under
//! `strace -f -e trace=execve`, in a throwaway folder whose `PATH` holds
//! only logging stubs. A probe the classifier calls a program must start
//! exactly that program with exactly its words, and nothing else; shell
//! code needs the `shell` capability and is not checked further. With a
//! sudo password, no process of the SSH user's script may see it.

use plait::facts::{ProbeCommand, gather_script, parse_probes_only, render};
use plait::model::{FactSet, ProbeRun, ProbeSource, ProbeWord};
use plait::plugin::{ComponentCache, Limits, LoadedPlugin, ParamType, Runtime};
use plait::ssh::Elevation;
use plait_tests::repo_root;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// One successful `execve` seen by strace.
#[derive(Debug, Clone, PartialEq)]
struct Exec {
    path: String,
    argv: Vec<String>,
    env: Vec<String>,
}

/// The stubs folder, the shells, and a place to run.
struct Oracle {
    _dir: tempfile::TempDir,
    stubs: PathBuf,
    work: PathBuf,
    shells: Vec<(&'static str, PathBuf)>,
}

fn oracle() -> &'static Oracle {
    static O: OnceLock<Oracle> = OnceLock::new();
    O.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let stubs = dir.path().join("stubs");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&stubs).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        // A stub for every program name on this machine: whatever a probe
        // starts by name is found here, and only prints nothing.
        for d in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let stub = stubs.join(&name);
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)) || stub.exists() {
                    continue;
                }
                std::fs::write(&stub, "#!/usr/bin/dash\nexit 0\n").unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        // bash started as `sh` runs in POSIX mode, as CentOS's /bin/sh.
        let bash_as_sh = dir.path().join("sh");
        std::os::unix::fs::symlink("/usr/bin/bash", &bash_as_sh).unwrap();
        let shells = vec![("dash", PathBuf::from("/usr/bin/dash")), ("bash as sh", bash_as_sh)];
        Oracle { _dir: dir, stubs, work, shells }
    })
}

/// A logging stub for program `name` (one this machine lacks, such as
/// kubectl), unless it is a path.
fn stub(name: &str) {
    let path = oracle().stubs.join(name);
    if name.contains('/') || name.is_empty() || path.exists() {
        return;
    }
    let tmp = oracle().stubs.join(format!(".{name}.{:?}", std::thread::current().id()));
    std::fs::write(&tmp, "#!/usr/bin/dash\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = std::fs::rename(&tmp, &path);
}

/// strace's quoted string at the start of `s` (after its `"`): the text
/// and the rest after the closing quote.
fn strace_string(s: &str) -> Option<(String, &str)> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), &s[i + 1..])),
            b'\\' => {
                i += 1;
                match *bytes.get(i)? {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'v' => out.push(0x0b),
                    b'f' => out.push(0x0c),
                    b'x' => {
                        out.push(u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?);
                        i += 2;
                    }
                    d @ b'0'..=b'7' => {
                        let mut n = u32::from(d - b'0');
                        while i + 1 < bytes.len() && (b'0'..=b'7').contains(&bytes[i + 1]) && n < 0o40 {
                            i += 1;
                            n = n * 8 + u32::from(bytes[i] - b'0');
                        }
                        out.push(n as u8);
                    }
                    c => out.push(c),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    None
}

/// A strace list `["a", "b"]` at the start of `s`: items and the rest.
fn strace_list(s: &str) -> Option<(Vec<String>, &str)> {
    let mut rest = s.strip_prefix('[')?;
    let mut items = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix(']') {
            return Some((items, r));
        }
        let r = rest.strip_prefix(", ").unwrap_or(rest);
        let (item, r) = strace_string(r.strip_prefix('"')?)?;
        items.push(item);
        rest = r.strip_prefix("...").unwrap_or(r);
    }
}

fn parse_trace(text: &str) -> Vec<Exec> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(at) = line.find(" execve(\"") else { continue };
        if !line.ends_with(") = 0") {
            continue;
        }
        let Some((path, rest)) = strace_string(&line[at + 9..]) else { continue };
        let Some((argv, rest)) = rest.strip_prefix(", ").and_then(strace_list) else { continue };
        let env = rest.strip_prefix(", ").and_then(strace_list).map(|(e, _)| e).unwrap_or_default();
        out.push(Exec { path, argv, env });
    }
    out
}

/// strace by its path: the child's `PATH` holds only stubs.
fn strace() -> PathBuf {
    ["/usr/bin/strace", "/bin/strace"].iter().map(PathBuf::from).find(|p| p.exists()).expect("strace is installed (scripts/setup)")
}

/// Run `script` with `shell -s` under strace: the programs it started
/// (the shell itself left out) and its output.
fn run(shell: &Path, script: &str) -> (Vec<Exec>, String) {
    let o = oracle();
    let trace = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(strace())
        .args(["-f", "-qq", "-v", "-s", "65536", "-e", "trace=execve", "-o"])
        .arg(trace.path())
        .arg(shell)
        .arg("-s")
        .env_clear()
        .env("PATH", &o.stubs)
        .env("HOME", &o.work)
        .env("LANG", "C.UTF-8")
        .current_dir(&o.work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace runs (scripts/setup installs it)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut execs = parse_trace(&std::fs::read_to_string(trace.path()).unwrap());
    assert!(!execs.is_empty(), "strace saw no execve at all");
    execs.remove(0);
    (execs, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The property: a probe classified as a program starts exactly that
/// program (found on PATH, or at its absolute path) with exactly its
/// words, under both shells, and nothing else runs; its result is framed.
fn check_probe(label: &str, p: &ProbeCommand) {
    let ProbeRun::Exec { argv } = &p.run else { return };
    stub(&argv[0]);
    let g = gather_script(std::slice::from_ref(p), Elevation::None, None, None);
    for (shell_name, shell) in &oracle().shells {
        let out = assert_runs_only(&format!("{label} under {shell_name}"), shell, &g.script, argv);
        let results = parse_probes_only("h", &out, &g).unwrap_or_else(|e| panic!("{label}: {e}\n{out}"));
        assert!(results.contains_key(&p.name), "{label}: no result under {shell_name}:\n{out}");
    }
}

/// Run `script` under `shell`: it must start `argv[0]` (from PATH, or at
/// its absolute path) with exactly `argv`, and nothing else. Its output.
fn assert_runs_only(label: &str, shell: &Path, script: &str, argv: &[String]) -> String {
    let (execs, out) = run(shell, script);
    let want_path = if argv[0].contains('/') { argv[0].clone() } else { oracle().stubs.join(&argv[0]).to_string_lossy().into_owned() };
    assert!(
        execs.len() == 1 && execs[0].argv == *argv && execs[0].path == want_path,
        "{label}: classified as `{}` with words {argv:?}, but the shell ran {execs:#?}\nscript:\n{script}",
        argv[0],
    );
    out
}

/// The oracle is not a model of the classifier: fed what 9b41850 sent for
/// `rpm -q 'plait-{pkg}'` (the template with the value quoted in, labelled
/// "runs rpm"), the real shell runs `touch` as well, and the check fails.
#[test]
#[should_panic(expected = "classified as `rpm`")]
fn the_oracle_catches_what_9b41850_labelled_runs_rpm() {
    let text = plait::facts::render_probe("rpm -q 'plait-{p}'", &serde_json::json!({ "p": "$(touch M)" })).unwrap();
    assert_eq!(text, "rpm -q 'plait-'$(touch M)''");
    stub("touch");
    let p = ProbeCommand { name: "q".into(), run: ProbeRun::Shell { code: text, args: vec![] }, sudo: false };
    let g = gather_script(&[p], Elevation::None, None, None);
    assert_runs_only("9b41850's rendering", &oracle().shells[0].1, &g.script, &["rpm".into(), "-q".into(), "plait-$(touch M)".into()]);
}

fn plugins() -> Vec<LoadedPlugin> {
    let rt = Runtime::new(ComponentCache::at(repo_root().join("target/test-cache")), Limits::default()).unwrap();
    let mut out = Vec::new();
    for dir in ["target/plugins", "target/test-plugins"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e} (scripts/build-plugins builds them)"))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        files.sort();
        // Test plugins that do not load are the other tests' business.
        out.extend(files.iter().filter_map(|f| LoadedPlugin::load(&rt, f, None).ok()));
    }
    out
}

/// Parameters for a plugin: defaults, and a plain value for a required one.
fn params_of(p: &LoadedPlugin) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for s in &p.info.params {
        let v = s.default.clone().unwrap_or_else(|| match s.ty {
            ParamType::String => "x".into(),
            ParamType::Integer | ParamType::Float => 1.into(),
            ParamType::Boolean => true.into(),
            ParamType::StringList => serde_json::json!(["x"]),
            ParamType::Table => serde_json::json!({}),
        });
        m.insert(s.name.clone(), v);
    }
    serde_json::Value::Object(m)
}

#[test]
fn every_plugin_probe_runs_what_the_classifier_says_under_dash_and_bash() {
    let mut checked = 0;
    for plugin in plugins() {
        let params = params_of(&plugin);
        for probe in &plugin.info.probes {
            let Ok(run) = render(&probe.source, &params) else { continue };
            let p = ProbeCommand { name: probe.name.clone(), run, sudo: probe.sudo };
            check_probe(&format!("{} probe {}", plugin.label(), probe.name), &p);
            checked += matches!(p.run, ProbeRun::Exec { .. }) as usize;
        }
    }
    assert!(checked >= 40, "only {checked} program probes checked: are the plugins built?");
}

/// Values a hostile workflow or plugin default could hold.
const VALUES: &[&str] = &[
    "$(touch M)",
    "`touch M`",
    "'; touch M; '",
    "\"; touch M; \"",
    "x[$(touch M)]",
    "-v",
    "--",
    "-e",
    "a\nb; touch M",
    "ünïcödé ✓",
    "\\$(touch M)",
    "\\",
    "&& touch M",
    "| touch M",
    "$((1+1))",
    "${PATH}",
    "*",
    "~root",
    "{a,b}",
    "a b\tc",
    "",
    "'",
    "\"",
    "x'$(touch M)'y",
];

/// Legacy (0.1/0.2) templates: the plain and the tricky.
const TEMPLATES: &[&str] = &[
    "rpm -q {p}",
    "rpm -q 'plait-{p}'",
    "rpm -q \"plait-{p}\"",
    "rpm -q plait-{p}",
    "rpm -q {p}x",
    "test -v {p}",
    "printf -v {p} 1",
    "read {p}",
    "cat {p} {q}",
    "{p} -q",
    "grep -e {p} /etc/hosts",
    "ls -- {p}",
    "echo {p}",
    "kubectl get x -o 'jsonpath={{.a}}' {p}",
    "sysctl {q}",
    "cat '{p}'",
    "-- sh -c 'touch M'",
    "-a rpm sh -c 'touch M'",
    "-- {p}",
];

fn legacy(template: &str, value: &str) -> Option<ProbeCommand> {
    let params = serde_json::json!({ "p": value, "q": [value, "y"] });
    let run = render(&ProbeSource::Template { text: template.into() }, &params).ok()?;
    Some(ProbeCommand { name: "t".into(), run, sudo: false })
}

#[test]
fn hostile_templates_and_values_run_what_the_classifier_says() {
    for t in TEMPLATES {
        for v in VALUES {
            if let Some(p) = legacy(t, v) {
                check_probe(&format!("template {t:?} with {v:?}"), &p);
            }
        }
    }
    // The hole of 9b41850, named: a placeholder inside quotes is shell code.
    // And the hole a review of this change found: bash's `exec -- sh` and
    // `exec -a NAME sh` run sh, so an option is never the program.
    for t in [
        "rpm -q 'plait-{p}'",
        "rpm -q \"plait-{p}\"",
        "test -v {p}",
        "printf -v {p} 1",
        "read {p}",
        "-- sh -c 'touch M'",
        "-a rpm sh",
        "-- {p}",
    ] {
        let p = legacy(t, "$(touch M)").unwrap();
        assert!(matches!(p.run, ProbeRun::Shell { .. }), "{t} is shell code: {:?}", p.run);
    }
}

#[test]
fn contract_0_3_argv_probes_take_hostile_values_as_words() {
    for v in VALUES {
        let words = vec![ProbeWord::Literal("rpm".into()), ProbeWord::Literal("-q".into()), ProbeWord::Param("p".into())];
        let run = render(&ProbeSource::Argv { words }, &serde_json::json!({ "p": v })).unwrap();
        check_probe(&format!("argv with {v:?}"), &ProbeCommand { name: "a".into(), run, sudo: false });
    }
}

#[test]
fn no_process_of_the_ssh_users_script_sees_the_sudo_password() {
    let secret = "pw-Sentinel-7f3a";
    let mut probes = Vec::new();
    for plugin in plugins() {
        let params = params_of(&plugin);
        for probe in &plugin.info.probes {
            if let Ok(run) = render(&probe.source, &params) {
                probes.push(ProbeCommand { name: format!("{}/{}", plugin.info.name, probe.name), run, sudo: probe.sudo });
            }
        }
    }
    assert!(probes.iter().any(|p| p.sudo) && probes.iter().any(|p| !p.sudo));
    let g = gather_script(&probes, Elevation::SudoPassword, Some(secret), Some(FactSet::all()));
    assert!(!g.script.contains(secret) && !g.script.contains("plait_sudo"), "the user's script holds the password");
    let root = g.root.as_deref().expect("root probes run apart");
    for p in &probes {
        let b = &g.probes.iter().find(|(n, _)| *n == p.name).unwrap().1;
        assert_eq!(root.contains(b.as_str()), p.sudo, "{} is in the {} script", p.name, if p.sudo { "user's" } else { "root" });
    }
    for (shell_name, shell) in &oracle().shells {
        let (execs, _) = run(shell, &g.script);
        for e in &execs {
            assert!(!e.argv.iter().chain(&e.env).any(|w| w.contains(secret)), "{shell_name}: {e:?} sees the password");
        }
    }
}

/// Fragments generated templates are made of.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "cat",
        "rpm",
        "test",
        "-q",
        "'a b'",
        "\"c d\"",
        "'{p}'",
        "\"{p}\"",
        "{p}",
        "{q}",
        "x{p}",
        ";",
        "|",
        "&&",
        "$(id)",
        "`id`",
        "$x",
        "*",
        "~",
        "#",
        "\\",
        "'",
        "\"",
        "{{",
        "}}",
        "=",
        "a=b",
        "--",
        "'x[$(id)]'",
        "\n",
        "\t",
        "é",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_templates_run_what_the_classifier_says(
        first in prop::sample::select(vec!["cat", "rpm", "ls", "test", "echo", "grep"]),
        rest in prop::collection::vec(fragment(), 0..6),
        value in prop::sample::select(VALUES.to_vec()),
    ) {
        let template = std::iter::once(first).chain(rest).collect::<Vec<_>>().join(" ");
        if let Some(p) = legacy(&template, value) {
            check_probe(&format!("generated {template:?} with {value:?}"), &p);
        }
    }
}
