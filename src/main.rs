//! The `skewaudit` binary: parse arguments, run the command, print errors as single lines,
//! exit with the documented code.

use clap::Parser;

fn main() {
    let cli = match skewaudit::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                skewaudit::exit::USAGE
            } else {
                skewaudit::exit::OK
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    match skewaudit::commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            for line in e.message.lines() {
                eprintln!("error: {line}");
            }
            std::process::exit(e.code);
        }
    }
}
