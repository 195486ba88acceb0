//! A test-only plugin whose behaviour the end-to-end tests choose with
//! `mode` (and `target` for modes that single out one host). Everything it
//! does is declared, so these tests exercise the executor, not the sandbox.

use plait_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    mode: String,
    target: String,
    reboot_timeout: i64,
    text: String,
    password: String,
}

struct Kit;

impl Plugin for Kit {
    fn describe() -> PluginInfo {
        info("kit", env!("CARGO_PKG_VERSION"), "configurable behaviour for end-to-end tests")
            .param(param::string(
                "mode",
                "ok",
                "fail-on, hang, sleep, flood, secret, secret-param, reboot, put, put-always, echo, env, ok, none",
            ))
            .param(param::string("target", "", "the host some modes single out"))
            .param(param::integer("reboot_timeout", 60, "seconds to wait for a reboot"))
            .param(param::string("text", "hello", "what mode echo prints"))
            .param(param::string("password", "", "a secret parameter (mode secret-param)").secret())
            .probe("echo_text", "echo {text}")
            .probe("kit_file", "cat /var/tmp/plait-kit/file")
            .programs(["true", "false", "echo", "sleep", "head", "cat", "printenv", "ps", "tee"])
            .writes(["/var/tmp/plait-kit/"])
            .reads(["/var/tmp/plait-kit/"])
            .reboots()
            // `orphan` for the consumer test plugin (a variable of another plugin).
            .produces(["token", "orphan"])
            .consumes(["token"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        let me = ctx.host.name.as_str();
        let actions: Vec<Action> = match p.mode.as_str() {
            "ok" => vec![cmd::run(["true"]).summary("nothing much").into()],
            "none" => return Ok(Plan::nothing("nothing to do")),
            "fail-on" if me == p.target => vec![cmd::run(["false"]).summary("fail on purpose").into()],
            "fail-on" => vec![cmd::run(["true"]).summary("succeed").into()],
            // Four plain commands: sent as one batch by the executor.
            "batch" => vec![
                cmd::run(["echo", "one"]).summary("first").into(),
                cmd::run(["true"]).unless(cmd::argv(["true"])).summary("guarded").into(),
                cmd::run([if me == p.target { "false" } else { "true" }]).summary("maybe fail").into(),
                cmd::run(["echo", "four"]).summary("last").into(),
            ],
            // More output than plait keeps (64 MiB).
            "flood" => vec![cmd::run(["head", "-c", "70000000", "/dev/zero"]).summary("print 70 MB").into()],
            "sleep" => vec![cmd::run(["sleep", "3"]).timeout_secs(60).summary("work for three seconds").into()],
            "hang" => vec![cmd::run(["sleep", "300"]).timeout_secs(2).summary("hang past the timeout").into()],
            // No timeout of its own: the run's --command-timeout applies.
            "hang-forever" => vec![cmd::run(["sleep", "300"]).summary("hang with no timeout of its own").into()],
            "secret" if me == p.target => {
                vec![cmd::run(["echo", "s3cr3t-join-token-4f9a"]).capture("token").secret().summary("capture a secret").into()]
            }
            "secret" => match ctx.var(&p.target, "token") {
                Some(t) => vec![cmd::run(["echo", t]).summary("use the secret").into()],
                None => return Err(PluginError::missing_variable(format!("token from {} not captured yet", p.target))),
            },
            // A secret parameter on stdin of a secret action, and (carelessly)
            // in the argv and summary of a plain one: masked everywhere.
            "secret-param" => vec![
                cmd::run(["true"]).stdin(format!("{}\n", p.password)).secret().summary("feed the password").into(),
                cmd::run(["echo", p.password.as_str()]).summary(format!("echo {}", p.password)).into(),
            ],
            "reboot" => vec![reboot::host(p.reboot_timeout as u32), cmd::run(["true"]).summary("after the reboot").into()],
            "echo" => {
                // The probe echoed `text` through the host's quoting: it must come back verbatim.
                let probe = ctx.probe("echo_text")?;
                if probe.stdout != format!("{}\n", p.text) {
                    return Err(PluginError::internal(format!("probe echoed {:?}", probe.stdout)));
                }
                vec![cmd::run(["echo", p.text.as_str()]).summary("echo the text").into()]
            }
            // An environment variable reaches the program, and no process
            // listing taken while a command runs shows its value: batched,
            // then alone (stdin keeps it out of a batch), where the command
            // line is the login shell's argv for as long as it runs.
            "env" => vec![
                cmd::run(["printenv", "PLAIT_KIT_TEXT"]).env("PLAIT_KIT_TEXT", p.text.as_str()).summary("print the variable").into(),
                cmd::run(["ps", "-eo", "args", "--sort=pid"])
                    .env("PLAIT_KIT_TEXT", p.text.as_str())
                    .stdin("")
                    .summary("list processes")
                    .into(),
            ],
            // "Restart when the config changed": the second action runs only
            // when the upload changed the host (content, mode or owner).
            "restart-on-change" => vec![
                file::put("/var/tmp/plait-kit/conf", "setting = 1\n").mode(0o640).summary("write the kit config").into(),
                Action::from(cmd::run(["tee", "-a", "/var/tmp/plait-kit/restarts"]).stdin("restart\n").summary("restart the kit service"))
                    .when_changed([0]),
            ],
            // A root command that prints its stdin (none is given).
            "root-stdin" => vec![cmd::run(["cat"]).summary("print what stdin holds").into()],
            "put-always" => vec![file::put("/var/tmp/plait-kit/file", "hello\n").mode(0o640).summary("write the kit file").into()],
            "put" => {
                let probe = ctx.probe("kit_file")?;
                if probe.exit_code == 0 && probe.stdout == "hello\n" {
                    return Ok(Plan::nothing("the file has its content"));
                }
                vec![file::put("/var/tmp/plait-kit/file", "hello\n").mode(0o640).summary("write the kit file").into()]
            }
            other => return Err(PluginError::bad_params(format!("unknown mode {other}"))),
        };
        Ok(Plan::from(actions))
    }
}

register_plugin!(Kit);
