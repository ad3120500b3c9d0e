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
    // A bug (here or in a library) must still end in one line and a documented code, never a
    // backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let first = msg.lines().next().unwrap_or("").to_string();
        eprintln!("error: internal error, please report it: {first}");
    }));
    let result = match std::panic::catch_unwind(|| skewaudit::commands::run(cli)) {
        Ok(r) => r,
        Err(_) => std::process::exit(skewaudit::exit::USAGE),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            for line in e.message.lines() {
                eprintln!("error: {line}");
            }
            std::process::exit(e.code);
        }
    }
}
