//! One module per subcommand. Each returns the process exit code or a [`CommandError`].

pub mod audit;
pub mod demo;
pub mod explain;
pub mod recompute;
pub mod sample;
pub mod snapshot;
pub mod validate;

use crate::exit;

/// A command's failure: the exit code and the lines to print on stderr.
#[derive(Debug)]
pub struct CommandError {
    pub code: i32,
    pub message: String,
}

impl CommandError {
    pub fn usage(message: impl Into<String>) -> Self {
        CommandError {
            code: exit::USAGE,
            message: message.into(),
        }
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        CommandError {
            code: exit::UNAVAILABLE,
            message: message.into(),
        }
    }
}

impl From<crate::registry::RegistryError> for CommandError {
    fn from(e: crate::registry::RegistryError) -> Self {
        CommandError::usage(e.to_string())
    }
}

impl From<crate::sample::SampleError> for CommandError {
    fn from(e: crate::sample::SampleError) -> Self {
        match e {
            crate::sample::SampleError::Scan(s) => CommandError::unavailable(s.to_string()),
            other => CommandError::usage(other.to_string()),
        }
    }
}

impl From<crate::offline::OfflineError> for CommandError {
    fn from(e: crate::offline::OfflineError) -> Self {
        match e {
            crate::offline::OfflineError::Scan(s) => CommandError::unavailable(s.to_string()),
            other => CommandError::usage(other.to_string()),
        }
    }
}

impl From<crate::online::OnlineError> for CommandError {
    fn from(e: crate::online::OnlineError) -> Self {
        match e {
            crate::online::OnlineError::Unavailable { .. } => {
                CommandError::unavailable(e.to_string())
            }
            other => CommandError::usage(other.to_string()),
        }
    }
}

pub type CommandResult = Result<i32, CommandError>;

/// Runs a parsed command line.
pub fn run(cli: crate::cli::Cli) -> CommandResult {
    use crate::cli::Command;
    match cli.command {
        Command::Audit(a) => audit::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Validate(a) => validate::run(&a),
        Command::Sample(a) => sample::run(&a),
        Command::Recompute(a) => recompute::run(&a),
        Command::Snapshot(a) => snapshot::run(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = crate::cli::Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "skewaudit", &mut out);
            crate::output::stdout(&String::from_utf8_lossy(&out));
            Ok(crate::exit::OK)
        }
    }
}
