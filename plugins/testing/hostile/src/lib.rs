//! A test-only plugin that misbehaves on request, to prove the sandbox holds.
//! The `mode` parameter picks the misbehaviour; `ok` plans one honest action.

use plait_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    mode: String,
}

struct Hostile;

fn one(summary: String) -> Result<Plan, PluginError> {
    Ok(Plan::from(vec![cmd::run(["true"]).summary(summary).into()]))
}

impl Plugin for Hostile {
    fn describe() -> PluginInfo {
        info("hostile", env!("CARGO_PKG_VERSION"), "misbehaves on request (tests only)")
            .param(param::string("mode", "ok", "which misbehaviour"))
            .programs(["true", "rpm", "sed"])
            .writes(["/tmp/plait-hostile/"])
            // Claims kit's variable: a workflow using both is refused at bind.
            .produces(["token"])
            .param(param::string("level", "info", "a checked value").one_of(["info", "debug"]))
    }

    fn check_params(params: &plait_sdk::serde_json::Value) -> Result<(), PluginError> {
        // A combination no single rule can say.
        if params["mode"] == "read-file" && params["level"] == "debug" {
            return Err(PluginError::bad_params("mode read-file cannot run at level debug"));
        }
        Ok(())
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        match p.mode.as_str() {
            "ok" => one(format!("honest action on {}", ctx.host.name)),
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => {
                let v: Vec<u32> = Vec::new();
                let i = std::hint::black_box(3usize);
                one(format!("{}", v[i]))
            }
            "read-file" => one(match std::fs::read_to_string("/etc/passwd") {
                Ok(s) => format!("read-file ok: {}", s.len()),
                Err(e) => format!("read-file denied: {e}"),
            }),
            "socket" => one(match std::net::TcpStream::connect("127.0.0.1:22") {
                Ok(_) => "socket ok".to_string(),
                Err(e) => format!("socket denied: {e}"),
            }),
            "env" => one(format!("env: {} vars, HOME={:?}", std::env::vars().count(), std::env::var("HOME").ok())),
            "stdio" => {
                println!("hello from stdout");
                eprintln!("hello from stderr");
                log(Level::Warn, "hello from log");
                one("printed".to_string())
            }
            "relative-path" => Ok(Plan::from(vec![file::put("etc/passwd", "x").into()])),
            "empty-argv" => Ok(Plan::from(vec![cmd::run(Vec::<String>::new()).into()])),
            "huge-content" => Ok(Plan::from(vec![file::put("/tmp/plait-hostile/big", vec![b'x'; 64 << 20]).into()])),
            "huge-plan" => {
                Ok(Plan::from((0..200_000).map(|i| cmd::run(["true"]).summary(format!("#{i}")).into()).collect::<Vec<Action>>()))
            }
            "undeclared-program" => Ok(Plan::from(vec![cmd::run(["rm", "-rf", "/"]).into()])),
            // A binary of a declared name, planted elsewhere.
            "path-program" => Ok(Plan::from(vec![cmd::run(["/tmp/plait-hostile/true"]).into()])),
            "guard-path-program" => Ok(Plan::from(vec![cmd::run(["true"]).unless(cmd::argv(["/tmp/plait-hostile/true"])).into()])),
            // What the dynamic loader loads into a declared program.
            "ld-preload" => Ok(Plan::from(vec![cmd::run(["true"]).env("LD_PRELOAD", "/tmp/plait-hostile/evil.so").into()])),
            "path-env" => Ok(Plan::from(vec![cmd::run(["true"]).env("PATH", "/tmp/plait-hostile").into()])),
            "undeclared-path" => Ok(Plan::from(vec![file::put("/etc/shadow", "x").into()])),
            "script" => Ok(Plan::from(vec![cmd::script("true").into()])),
            "reboot" => Ok(Plan::from(vec![reboot::host(60)])),
            "empty-no-reason" => Ok(Plan::from(Vec::new())),
            "error" => Err(PluginError::bad_params("the plugin refuses")),
            // Issue 24: a change dressed as a read.
            "read-only-erase" => {
                Ok(Plan::from(vec![cmd::run(["rpm", "-e", "--nodeps", "glibc"]).read_only().summary("the installed glibc version").into()]))
            }
            // A launcher without `shell`: GNU sed's `e` runs a command.
            "launcher" => Ok(Plan::from(vec![cmd::run(["sed", "-n", "1e id", "/etc/hosts"]).summary("read a line").into()])),
            // Environment beyond locale: HOME points rpm at ~/.rpmmacros.
            "env-home" => Ok(Plan::from(vec![cmd::run(["rpm", "-q", "x"]).env("HOME", "/tmp/plait-hostile").into()])),
            "setuid" => Ok(Plan::from(vec![file::put("/tmp/plait-hostile/sh", "x").mode(0o4755).into()])),
            // The variables it sees, by name (it consumes none).
            "vars" => one(format!(
                "sees {} variables: {}",
                ctx.vars.len(),
                ctx.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(",")
            )),
            "when-changed-forward" => Ok(Plan::from(vec![
                Action::from(cmd::run(["true"]).summary("first")).when_changed([1]),
                cmd::run(["true"]).summary("second").into(),
            ])),
            other => Err(PluginError::bad_params(format!("unknown mode {other}"))),
        }
    }
}

register_plugin!(Hostile);
