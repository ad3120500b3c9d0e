//! Progress on stderr (indicatif): one line per long stage — sampling, the offline scans, the
//! Redis fetch (keys/s, ETA), the log read, the comparison. Hidden with `--quiet`, when stderr
//! is not a terminal, or when `TERM` is unset or `dumb` (indicatif's own rule).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The progress display of one run.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
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
        let show = !quiet && std::io::stderr().is_terminal();
        Progress {
            multi: show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// Never shown (library use, tests).
    pub fn hidden() -> Self {
        Progress { multi: None }
    }

    /// A spinner for a stage of unknown length; finish it with [`Stage::done`].
    pub fn stage(&self, what: &str) -> Stage {
        let Some(m) = &self.multi else {
            return Stage(None);
        };
        let pb = m.add(ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        Stage(Some(pb))
    }

    /// A bar of `len` items (e.g. keys read), with rate and ETA.
    pub fn bar(&self, what: &str, len: u64) -> Stage {
        let Some(m) = &self.multi else {
            return Stage(None);
        };
        let pb = m.add(ProgressBar::new(len));
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        Stage(Some(pb))
    }
}

/// One stage's line; does nothing when progress is hidden.
#[derive(Clone, Debug)]
pub struct Stage(Option<ProgressBar>);

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
    }
}
