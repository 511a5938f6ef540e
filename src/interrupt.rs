//! Ctrl-C and `kill` (SIGINT, SIGTERM, SIGHUP): a run stops at the next safe point instead of
//! dying mid-write.
//!
//! [`install`] sets a handler that only raises a process-wide flag; the job polls it with
//! [`check`] between files and between stages and, once it is raised, aborts the dataset
//! writer (which removes the staging directory and leaves the previous dataset as it was),
//! says what was and was not written, and exits with [`EXIT_CODE`]. A second signal while the
//! first is being handled exits at once with the same code: whatever staging is left then is
//! removed by the next run, and nothing under a final name is partial either way (the dataset
//! only ever renames finished files into place).
//!
//! Without [`install`] (library use, tests), the default signal behaviour applies and
//! [`check`] never fails.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Once;

/// Exit status of an interrupted run (128 + SIGINT), as shells report Ctrl-C.
pub const EXIT_CODE: u8 = 130;

/// The run was interrupted by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

static FLAG: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicU32 = AtomicU32::new(0);
static INSTALL: Once = Once::new();

/// Installs the SIGINT / SIGTERM / SIGHUP handler (idempotent). If the handler cannot be set
/// (another one was installed by the embedding program), signals keep their previous
/// behaviour: a killed run leaves only its hidden staging directory, which the next run
/// removes.
pub fn install() {
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(on_signal);
    });
}

fn on_signal() {
    if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
        // Asked twice: stop now. The staging directory is a leftover the next run removes.
        std::process::exit(i32::from(EXIT_CODE));
    }
    FLAG.store(true, Ordering::SeqCst);
}

/// Marks the run as interrupted, as a signal would (for an embedding caller, or a test of the
/// abort path).
pub fn request() {
    FLAG.store(true, Ordering::SeqCst);
}

/// Whether a signal asked the run to stop.
pub fn interrupted() -> bool {
    FLAG.load(Ordering::SeqCst)
}

/// `Err(Interrupted)` once a signal asked the run to stop: call it between files and stages.
pub fn check() -> Result<(), Interrupted> {
    check_flag(&FLAG)
}

fn check_flag(flag: &AtomicBool) -> Result<(), Interrupted> {
    if flag.load(Ordering::SeqCst) {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The process-wide flag is left alone here: raising it would interrupt every other test
    // of this binary that runs the pipeline.

    #[test]
    fn check_follows_the_flag() {
        let flag = AtomicBool::new(false);
        assert_eq!(check_flag(&flag), Ok(()));
        flag.store(true, Ordering::SeqCst);
        assert_eq!(check_flag(&flag), Err(Interrupted));
    }

    #[test]
    fn error_text_and_exit_code() {
        assert_eq!(Interrupted.to_string(), "interrupted");
        assert_eq!(EXIT_CODE, 130);
    }

    #[test]
    fn install_is_idempotent() {
        install();
        install();
        assert!(INSTALL.is_completed());
    }
}
