//! The `plait` binary: parse the command line, set up logging, call the
//! library, map errors to exit codes (see `plait::exit_codes`).

mod cli;

use clap::Parser;
use cli::{Cli, Command, ConnArgs, PluginCommand};
use plait::commands::{self, CommandError, Connection, PlanArgs, RunArgs};
use plait::executor::Mode;
use plait::exit_codes;
use plait::output::Format;
use plait::plugin::{ComponentCache, Limits, Registry, Runtime};
use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PLAIT_LOG").unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();

    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let code = e.exit_code();
            report(e);
            code
        }
    };
    std::process::exit(code);
}

fn report(e: CommandError) {
    match e {
        CommandError::Source(src) => eprintln!("{:?}", miette::Report::new(*src)),
        other => eprintln!("error: {other}"),
    }
}

fn runtime(cli: &Cli) -> Result<Runtime, CommandError> {
    let cache = if cli.no_cache { ComponentCache::disabled() } else { ComponentCache::default_location() };
    let limits = Limits { time: Duration::from_millis(cli.plugin_timeout_ms), memory: cli.plugin_memory_mib << 20, ..Limits::default() };
    Ok(Runtime::new(cache, limits)?)
}

fn connection(conn: ConnArgs) -> Connection {
    Connection {
        forks: conn.forks,
        known_hosts: conn.known_hosts,
        accept_new_host_keys: conn.accept_new_host_keys,
        connect_timeout: Duration::from_secs(conn.connect_timeout),
        connect_rate: conn.connect_rate,
        keepalive: Duration::from_secs(conn.keepalive),
        ask_become_pass: conn.ask_become_pass,
        become_pass_file: conn.become_pass_file,
    }
}

fn run_args(workflow: PathBuf, inventory: Option<PathBuf>, format: Format, conn: ConnArgs, mode: Mode) -> RunArgs {
    RunArgs {
        workflow,
        inventory,
        mode,
        format,
        connection: connection(conn),
        fail_fast: false,
        max_fail_percent: 0,
        resume: false,
        state_dir: None,
        detailed_exitcode: false,
        limit: None,
        force: false,
        command_timeout: std::time::Duration::from_secs(7200),
    }
}

fn run(cli: Cli) -> Result<i32, CommandError> {
    let rt = runtime(&cli)?;
    plait::plugin::oci::set_locked(cli.locked);
    match cli.command {
        Command::Plan { workflow, facts: Some(facts), inventory, output, detailed_exitcode, limit, .. } => {
            commands::plan(&PlanArgs { workflow, inventory, facts, output, detailed_exitcode, limit }, &rt)
        }
        Command::Plan { workflow, facts: None, inventory, output, detailed_exitcode, limit, conn } => {
            let mut args = run_args(workflow, inventory, output, conn, Mode::DryRun);
            args.detailed_exitcode = detailed_exitcode;
            args.limit = limit;
            commands::run_workflow(&args, &rt)
        }
        Command::Run {
            workflow,
            inventory,
            output,
            limit,
            conn,
            fail_fast,
            max_fail_percent,
            resume,
            force,
            state_dir,
            command_timeout,
        } => {
            let mut args = run_args(workflow, inventory, output, conn, Mode::Apply);
            args.limit = limit;
            args.force = force;
            args.fail_fast = fail_fast;
            args.max_fail_percent = max_fail_percent;
            args.resume = resume;
            args.state_dir = state_dir;
            args.command_timeout = std::time::Duration::from_secs(u64::from(command_timeout));
            commands::run_workflow(&args, &rt)
        }
        Command::Facts { workflow, hosts, inventory, record, template, limit, conn } => {
            commands::facts(&commands::FactsArgs { workflow, inventory, hosts, limit, record, template, connection: connection(conn) }, &rt)
        }
        Command::Check { workflow, inventory, strict } => {
            let wf = plait::workflow::Workflow::load(&workflow, inventory.as_deref())?;
            let bound = plait::workflow::bind(wf, &Registry::standard(Some(&workflow)), &rt)?;
            let warnings = plait::workflow::grant_warnings(&bound);
            for w in &warnings {
                eprintln!("{}: {w}", if strict { "error" } else { "warning" });
            }
            if strict && !warnings.is_empty() {
                return Ok(exit_codes::INVALID_INPUT);
            }
            println!(
                "{}: ok ({} step{}, {} host{})",
                workflow.display(),
                bound.steps.len(),
                if bound.steps.len() == 1 { "" } else { "s" },
                bound.workflow.inventory.hosts.len(),
                if bound.workflow.inventory.hosts.len() == 1 { "" } else { "s" }
            );
            Ok(exit_codes::OK)
        }
        Command::NewPlugin { name, dir, sdk_path } => {
            let (root, sdk) =
                plait::scaffold::new_plugin(&name, &dir, sdk_path.as_deref()).map_err(|e| CommandError::Other(e.to_string()))?;
            match sdk {
                plait::scaffold::SdkSource::Carried(at) => println!(
                    "plait-sdk: the copy this binary carries, in {} (the crate's [patch.crates-io] section; delete it to use crates.io)",
                    at.display()
                ),
                plait::scaffold::SdkSource::Path(at) => println!("plait-sdk: {}", at.display()),
                plait::scaffold::SdkSource::Registry => println!("plait-sdk 0.3 comes from crates.io (this binary carries no SDK)"),
            }
            println!(
                "created {}\n\nnext:\n  cd {}\n  cargo test\n  cargo build --release --target wasm32-wasip2\n  export PLAIT_PLUGIN_PATH=${{CARGO_TARGET_DIR:-$PWD/target}}/wasm32-wasip2/release\n  plait plan golden/workflow.toml --facts golden/facts.toml",
                root.display(),
                root.display()
            );
            Ok(exit_codes::OK)
        }
        Command::Plugins { workflow } => {
            print!("{}", commands::list_plugins(&Registry::standard(workflow.as_deref()), &rt)?);
            Ok(exit_codes::OK)
        }
        Command::Plugin { action: PluginCommand::Inspect { name } } => {
            print!("{}", commands::inspect_plugin(&Registry::standard(None), &rt, &name)?);
            Ok(exit_codes::OK)
        }
        Command::Plugin { action: PluginCommand::Pull { reference } } => {
            let (digest, sha256) =
                plait::plugin::oci::pull_to_cache(&reference).map_err(|e| CommandError::Invalid(plait::plugin::oci::with_hint(e)))?;
            println!("{reference}\n  digest {digest}\n  sha256 {sha256}");
            Ok(exit_codes::OK)
        }
        Command::Plugin { action: PluginCommand::Push { file, reference } } => {
            let bytes = std::fs::read(&file).map_err(|e| CommandError::Invalid(format!("reading {}: {e}", file.display())))?;
            // Only components are pushed: load it first, as a workflow would.
            let p = plait::plugin::LoadedPlugin::load(&rt, &file, None)?;
            let digest =
                plait::plugin::oci::push(&bytes, &reference).map_err(|e| CommandError::Invalid(plait::plugin::oci::with_hint(e)))?;
            println!("pushed {} {} to {reference}\n  digest {digest}", p.info.name, p.info.version);
            Ok(exit_codes::OK)
        }
    }
}
