//! `scimock provision`'s progress on stderr: an `indicatif` bar when stderr is a terminal;
//! otherwise (CI logs, pipes) no bar and no escape codes, just a plain line at most every
//! [`PLAIN_EVERY`] on cycles that run that long (short runs print none).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use scimock::provision::{Phase, Progress, Tick};

/// The least time between two plain progress lines.
pub(crate) const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The cycle's progress, drawn on stderr.
#[derive(Debug)]
pub(crate) enum CycleProgress {
    Bar(indicatif::ProgressBar, Mutex<Option<Phase>>),
    Plain(Mutex<Plain>),
}

#[derive(Debug)]
pub(crate) struct Plain {
    started: Instant,
    last: Instant,
}

impl CycleProgress {
    /// A bar when stderr is a terminal, else plain lines.
    pub(crate) fn for_stderr() -> CycleProgress {
        if std::io::stderr().is_terminal() {
            // Drawn from the first tick on (the total is known then).
            let bar = indicatif::ProgressBar::hidden();
            let template =
                "{spinner} {msg:<20} [{bar:30}] {human_pos}/{human_len} objects, {rate}, ETA {eta}";
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                let style = style.progress_chars("=> ").with_key(
                    "rate",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", s.per_sec());
                    },
                );
                bar.set_style(style);
            }
            CycleProgress::Bar(bar, Mutex::new(None))
        } else {
            let now = Instant::now();
            CycleProgress::Plain(Mutex::new(Plain {
                started: now,
                last: now,
            }))
        }
    }

    /// Removes the bar before the summary is printed.
    pub(crate) fn finish(&self) {
        if let CycleProgress::Bar(bar, _) = self {
            bar.finish_and_clear();
        }
    }
}

impl Progress for CycleProgress {
    fn update(&self, tick: Tick) {
        match self {
            CycleProgress::Bar(bar, phase) => {
                if bar.length() != Some(tick.total) {
                    bar.set_length(tick.total);
                }
                if let Ok(mut p) = phase.lock() {
                    if p.is_none() {
                        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                        bar.enable_steady_tick(Duration::from_millis(200));
                    }
                    if *p != Some(tick.phase) {
                        *p = Some(tick.phase);
                        bar.set_message(tick.phase.name());
                    }
                }
                bar.set_position(tick.done);
            }
            CycleProgress::Plain(plain) => {
                let Ok(mut p) = plain.lock() else { return };
                let now = Instant::now();
                if now.duration_since(p.last) < PLAIN_EVERY {
                    return;
                }
                p.last = now;
                let line = plain_line(tick, now.duration_since(p.started));
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }
}

/// `progress: users, 40000/203000 objects (19 %), 4100/s, 9.8 s`
pub(crate) fn plain_line(tick: Tick, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        tick.done as f64 / secs
    } else {
        0.0
    };
    let percent = (tick.done * 100).checked_div(tick.total).unwrap_or(100);
    format!(
        "progress: {}, {}/{} objects ({percent} %), {rate:.0}/s, {secs:.1} s",
        tick.phase, tick.done, tick.total
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_line_has_phase_counts_share_and_rate_and_no_escapes() {
        let tick = Tick {
            phase: Phase::Memberships,
            done: 500,
            total: 2000,
        };
        let line = plain_line(tick, Duration::from_secs(2));
        assert_eq!(
            line,
            "progress: memberships, 500/2000 objects (25 %), 250/s, 2.0 s"
        );
        assert!(!line.contains('\u{1b}'));
        let empty = Tick {
            phase: Phase::Users,
            done: 0,
            total: 0,
        };
        assert!(plain_line(empty, Duration::ZERO).contains("(100 %), 0/s"));
    }
}
