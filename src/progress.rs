//! Progress on stderr (indicatif): one line per long stage — sampling, the offline scans, the
//! Redis fetch (keys/s, ETA), the log read, the comparison. Hidden with `--quiet`, when stderr
//! is not a terminal, or when `TERM` is unset or `dumb` (indicatif's own rule). Off a terminal,
//! `-v` (or `RUST_LOG` set) logs one line per finished stage instead.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The progress display of one run.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
    /// `-v` or `RUST_LOG`: one plain line per finished stage on stderr (for logs and CI).
    log_lines: bool,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Progress({})",
            if self.multi.is_some() {
                "shown"
            } else {
                "hidden"
            }
        )
    }
}

impl Progress {
    /// Shown on a terminal unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self::with_verbosity(quiet, false)
    }

    /// As [`Progress::new`]; with `verbose` (or `RUST_LOG` set) off a terminal, each finished
    /// stage is logged as one line `skewaudit: <stage> <note> (<seconds>s)` on stderr.
    pub fn with_verbosity(quiet: bool, verbose: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let show = !quiet && terminal;
        let wants_log = verbose || std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty());
        Progress {
            multi: show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            log_lines: !quiet && !terminal && wants_log,
        }
    }

    /// Never shown (library use, tests).
    pub fn hidden() -> Self {
        Progress {
            multi: None,
            log_lines: false,
        }
    }

    /// A spinner for a stage of unknown length; finish it with [`Stage::done`].
    pub fn stage(&self, what: &str) -> Stage {
        let Some(m) = &self.multi else {
            return self.plain(what);
        };
        let pb = m.add(ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        Stage(Some(pb), None)
    }

    /// A bar of `len` items (e.g. keys read), with rate and ETA.
    pub fn bar(&self, what: &str, len: u64) -> Stage {
        let Some(m) = &self.multi else {
            return self.plain(what);
        };
        let pb = m.add(ProgressBar::new(len));
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        Stage(Some(pb), None)
    }

    fn plain(&self, what: &str) -> Stage {
        Stage(
            None,
            self.log_lines
                .then(|| (what.to_string(), std::time::Instant::now())),
        )
    }
}

/// One stage's line: a bar on a terminal, a log line with `-v`, else nothing.
#[derive(Clone, Debug)]
pub struct Stage(Option<ProgressBar>, Option<(String, std::time::Instant)>);

impl Stage {
    pub fn inc(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.inc(n);
        }
    }
    /// Marks the stage finished, keeping its line with `note`.
    pub fn done(&self, note: &str) {
        if let Some(pb) = &self.0 {
            pb.disable_steady_tick();
            pb.finish_with_message(format!("{} {note}", pb.message()));
        }
        if let Some((what, started)) = &self.1 {
            let sep = if note.is_empty() { "" } else { " " };
            eprintln!(
                "skewaudit: {what}{sep}{note} ({:.2}s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
}
