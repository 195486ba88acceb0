//! SSH features end to end on the simulated fleet: ProxyJump through a
//! bastion, ~/.ssh/config fallback, ssh-agent authentication, sudo with a
//! password. Needs root; PLAIT_SKIP_E2E=1 skips explicitly.

use plait_tests::fleet::{Fleet, skip_unless_available};
use std::path::Path;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A one-step workflow (os-prep with only the hostname part) and an inventory.
fn workflow(dir: &Path, inventory: &str) -> (String, String) {
    let wf = dir.join("wf.toml");
    std::fs::write(
        &wf,
        "[workflow]\nname = \"ssh\"\n\n[[steps]]\nplugin = \"os-prep\"\nparams = { firewalld = false, swap_off = false, hosts_file = false, time_sync = false, selinux = \"disabled\" }\n",
    )
    .unwrap();
    let inv = dir.join("inventory.toml");
    std::fs::write(&inv, inventory).unwrap();
    (wf.to_str().unwrap().to_string(), inv.to_str().unwrap().to_string())
}

#[test]
fn proxy_jump_reaches_a_host_through_a_bastion() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let d = fleet.dir().display();
    let (wf, inv) = workflow(
        work.path(),
        &format!(
            "[defaults]\nidentity_file = \"{d}/id_ed25519\"\nknown_hosts = \"{d}/known_hosts\"\n\n[hosts.master]\naddress = \"192.168.100.100\"\nproxy_jump = \"root@192.168.100.101\"\n"
        ),
    );
    let o = fleet.plait(&["run", &wf, "-i", &inv]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(fleet.state("master")["hostname"], "master");
    let logins = fleet.login_lines("master");
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert!(logins[0].contains("from 192.168.100.101"), "master must see the bastion's address: {logins:?}");
    assert_eq!(fleet.login_lines("node1").len(), 1, "one login on the bastion");
}

#[test]
fn what_the_inventory_leaves_out_comes_from_the_ssh_config() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let d = fleet.dir().display();
    let cfg = work.path().join("ssh_config");
    std::fs::write(&cfg, format!("Host n1\n  HostName 192.168.100.101\n  User plait\n  IdentityFile {d}/id_ed25519\n")).unwrap();
    let (wf, inv) = workflow(
        work.path(),
        &format!("[defaults]\nknown_hosts = \"{d}/known_hosts\"\nssh_config = \"{}\"\n\n[hosts.node1]\naddress = \"n1\"\n", cfg.display()),
    );
    let o = fleet.plait(&["run", &wf, "-i", &inv]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let logins = fleet.login_lines("node1");
    assert!(logins.iter().any(|l| l.contains("for plait from")), "User came from the ssh config: {logins:?}");
    assert_eq!(fleet.state("node1")["hostname"], "node1");
}

#[test]
fn ssh_agent_authenticates_without_a_key_file() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let sock = work.path().join("agent.sock");
    let agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    for _ in 0..50 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let added = std::process::Command::new("ssh-add").env("SSH_AUTH_SOCK", &sock).arg(fleet.dir().join("id_ed25519")).output().unwrap();
    assert!(added.status.success(), "{}", text(&added));
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let d = fleet.dir().display();
    let (wf, inv) =
        workflow(work.path(), &format!("[defaults]\nknown_hosts = \"{d}/known_hosts\"\n\n[hosts.master]\naddress = \"192.168.100.100\"\n"));
    let o = fleet.plait_env(&["run", &wf, "-i", &inv], &[("SSH_AUTH_SOCK", sock.to_str().unwrap()), ("HOME", home.to_str().unwrap())]);
    let mut agent = agent;
    let _ = agent.kill();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(fleet.state("master")["hostname"], "master");

    // Without the agent and without keys, the error says what was tried.
    let o = fleet.plait_env(&["run", &wf, "-i", &inv], &[("SSH_AUTH_SOCK", "/nonexistent"), ("HOME", home.to_str().unwrap())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("authentication as root on master failed: no identity file and no ssh-agent"), "{}", text(&o));
}

#[test]
fn sudo_with_a_password_converges_and_the_password_never_shows() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let password = std::fs::read_to_string(fleet.dir().join("sudo-password")).unwrap();
    let pw_file = fleet.dir().join("sudo-password");
    let inv = fleet.inventory("plaitpw");
    let state = work.path().join("state");
    // Without the password, sudo -n refuses and the run fails clearly.
    let o = fleet.plait(&["run", "workflows/k8s-centos7.toml", "-i", inv.to_str().unwrap(), "--state-dir", state.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("a password is required"), "{}", text(&o));

    let o = fleet.plait(&[
        "run",
        "workflows/k8s-centos7.toml",
        "-i",
        inv.to_str().unwrap(),
        "--become-pass-file",
        pw_file.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains(password.trim()), "the sudo password leaked into the output");
    for run in std::fs::read_dir(state.join("runs")).unwrap() {
        let journal = std::fs::read_to_string(run.unwrap().path().join("events.jsonl")).unwrap();
        assert!(!journal.contains(password.trim()), "the sudo password is in the journal");
    }
    let s = fleet.state("master");
    assert_eq!(s["kernel"], "5.19.3-1.el7.elrepo.x86_64");
    assert_eq!(s["cluster"]["kube_proxy_configmap_mode"], "ipvs");

    // `plait facts` takes the same connection options: its root probes get
    // through sudo with the password too (they read the cluster).
    let o =
        fleet.plait(&["facts", "workflows/k8s-centos7.toml", "-i", inv.to_str().unwrap(), "--become-pass-file", pw_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains(password.trim()), "the sudo password leaked into the facts");
    let facts: toml::Value = toml::from_str(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let stamp = &facts["master"]["probes"]["kube-proxy-ipvs"]["stamp"];
    assert_eq!(stamp["exit_code"].as_integer(), Some(0), "a root probe ran through sudo: {stamp}");
    assert_eq!(stamp["stdout"].as_str().map(str::len), Some(64), "{stamp}");
}

#[test]
fn a_password_given_to_a_nopasswd_user_never_reaches_the_program() {
    if skip_unless_available() {
        return;
    }
    // Ansible users pass -K out of habit; sudo here does not prompt, so a
    // password sent ahead on stdin would be read by the program itself
    // (an upload would write it into the file).
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let password = std::fs::read_to_string(fleet.dir().join("sudo-password")).unwrap();
    let pw_file = fleet.dir().join("sudo-password");
    let inv = fleet.inventory("plait");
    let run = || {
        fleet.plait(&[
            "run",
            "workflows/k8s-centos7.toml",
            "-i",
            inv.to_str().unwrap(),
            "--become-pass-file",
            pw_file.to_str().unwrap(),
            "--state-dir",
            work.path().to_str().unwrap(),
            "--output",
            "json",
        ])
    };
    let o = run();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains(password.trim()), "the sudo password leaked into the output");
    let hosts = fleet.exec("master", "cat /etc/hosts");
    assert!(!hosts.contains(password.trim()) && hosts.contains("192.168.100.100 master"), "{hosts}");
    assert_eq!(fleet.state("master")["kernel"], "5.19.3-1.el7.elrepo.x86_64");
    // Converged: a second run changes nothing.
    let again = run();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(!text(&again).contains("\"status\":\"changed\""), "{}", text(&again));
}

#[test]
fn ecdsa_and_rsa_identity_files_authenticate() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let d = fleet.dir().display();
    for (kind, bits) in [("ecdsa", "256"), ("rsa", "3072")] {
        let key = work.path().join(format!("id_{kind}"));
        let made =
            std::process::Command::new("ssh-keygen").args(["-q", "-t", kind, "-b", bits, "-N", "", "-f"]).arg(&key).output().unwrap();
        assert!(made.status.success(), "{}", text(&made));
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        fleet.exec("master", &format!("echo '{}' >> /root/.ssh/authorized_keys", public.trim()));
        let (wf, inv) = workflow(
            work.path(),
            &format!(
                "[defaults]\nidentity_file = \"{}\"\nknown_hosts = \"{d}/known_hosts\"\n\n[hosts.master]\naddress = \"192.168.100.100\"\n",
                key.display()
            ),
        );
        let o = fleet.plait(&["run", &wf, "-i", &inv]);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", text(&o));
        let last = fleet.login_lines("master").pop().unwrap_or_default();
        assert!(last.to_ascii_lowercase().contains(kind), "{kind} key used: {last}");
    }
}

#[test]
fn the_sudo_password_never_reaches_a_program_sudo_does_not_prompt_for() {
    if skip_unless_available() {
        return;
    }
    // plaitlim may sudo only `timeout`: `sudo -n true` fails even with
    // cached credentials. 9b41850's wrapper then sent the password ahead of
    // the program's stdin, and sudo, which had no need to prompt, let the
    // program read it (found by a review of this change).
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("plugins")).unwrap();
    std::fs::copy(plait_tests::test_plugin_path("kit"), work.path().join("plugins/kit.wasm")).unwrap();
    let wf = work.path().join("kit.toml");
    std::fs::write(&wf, "[workflow]\nname = \"kit\"\n\n[[steps]]\nplugin = \"kit\"\nparams = { mode = \"root-stdin\" }\n").unwrap();
    let pw_file = fleet.dir().join("sudo-password");
    let password = std::fs::read_to_string(&pw_file).unwrap();
    let inv = fleet.inventory("plaitlim");
    let o = fleet.plait(&[
        "run",
        wf.to_str().unwrap(),
        "-i",
        inv.to_str().unwrap(),
        "--become-pass-file",
        pw_file.to_str().unwrap(),
        "--state-dir",
        work.path().join("state").to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(!out.contains(password.trim()), "the password leaked: {out}");
    let action = out.lines().find(|l| l.contains("\"event\":\"action\"")).expect("an action event");
    assert!(action.contains("\"stdout_tail\":null"), "the program read something on stdin (the password, masked): {action}");
}
