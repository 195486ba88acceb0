//! The `plait` binary: parse the command line, set up logging, call the
//! library, map errors to exit codes (see `plait::exit_codes`).

mod cli;

use clap::Parser;
use cli::{Cli, Command, Output, PluginCommand};
use plait::commands::{self, CommandError, OutputFormat, PlanArgs};
use plait::exit_codes;
use plait::plugin::{ComponentCache, Limits, Registry, Runtime};
use std::time::Duration;

fn main() {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLAIT_LOG")
                .unwrap_or_else(|_| filter.into()),
        )
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
    let cache = if cli.no_cache {
        ComponentCache::disabled()
    } else {
        ComponentCache::default_location()
    };
    let limits = Limits {
        time: Duration::from_millis(cli.plugin_timeout_ms),
        memory: cli.plugin_memory_mib << 20,
        ..Limits::default()
    };
    Ok(Runtime::new(cache, limits)?)
}

fn run(cli: Cli) -> Result<i32, CommandError> {
    let rt = runtime(&cli)?;
    match cli.command {
        Command::Plan {
            workflow,
            facts,
            inventory,
            output,
        } => {
            let output = match output {
                Output::Human => OutputFormat::Human,
                Output::Json => OutputFormat::Json,
            };
            commands::plan(
                &PlanArgs {
                    workflow,
                    inventory,
                    facts,
                    output,
                },
                &rt,
            )
        }
        Command::Check {
            workflow,
            inventory,
        } => {
            let wf = plait::workflow::Workflow::load(&workflow, inventory.as_deref())?;
            let bound = plait::workflow::bind(wf, &Registry::standard(Some(&workflow)), &rt)?;
            println!(
                "{}: ok ({} step{}, {} host{})",
                workflow.display(),
                bound.steps.len(),
                if bound.steps.len() == 1 { "" } else { "s" },
                bound.workflow.inventory.hosts.len(),
                if bound.workflow.inventory.hosts.len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
            Ok(exit_codes::OK)
        }
        Command::Plugins { workflow } => {
            print!(
                "{}",
                commands::list_plugins(&Registry::standard(workflow.as_deref()), &rt)?
            );
            Ok(exit_codes::OK)
        }
        Command::Plugin {
            action: PluginCommand::Inspect { name },
        } => {
            print!(
                "{}",
                commands::inspect_plugin(&Registry::standard(None), &rt, &name)?
            );
            Ok(exit_codes::OK)
        }
    }
}
