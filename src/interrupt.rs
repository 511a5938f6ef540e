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

use std::io::{self, Read};
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

/// A reader that fails with [`Interrupted`] (inside an [`io::Error`], see [`is_interrupt`])
/// once a signal asked the run to stop, so that reading even one huge file ends within one
/// buffer fill. The check is one atomic load per `read` call.
#[derive(Debug)]
pub struct Guard<R> {
    inner: R,
    flag: &'static AtomicBool,
}

/// Wraps `inner` in a [`Guard`] on the process-wide flag.
pub fn guard<R: Read>(inner: R) -> Guard<R> {
    Guard { inner, flag: &FLAG }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        check_flag(self.flag).map_err(io::Error::other)?;
        self.inner.read(buf)
    }
}

/// Whether `e` is the error a [`Guard`] returns on an interrupt (also when a decoder such as
/// gzip passed it on).
pub fn is_interrupt(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Interrupted>())
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

    // The process-wide flag and the handler are left alone here: raising the flag would
    // interrupt every other test of this binary that runs the pipeline, and a handler would
    // swallow the first Ctrl-C of `cargo test`. `tests/robustness.rs` signals the binary.

    #[test]
    fn check_follows_the_flag() {
        let flag = AtomicBool::new(false);
        assert_eq!(check_flag(&flag), Ok(()));
        flag.store(true, Ordering::SeqCst);
        assert_eq!(check_flag(&flag), Err(Interrupted));
    }

    #[test]
    fn a_guarded_reader_stops_on_the_flag_even_through_gzip() {
        use std::io::Write;
        static LOCAL: AtomicBool = AtomicBool::new(false);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![b'x'; 1 << 20]).unwrap();
        let data = gz.finish().unwrap();
        let guarded = Guard {
            inner: &data[..],
            flag: &LOCAL,
        };
        let mut r = flate2::read::MultiGzDecoder::new(guarded);
        let mut buf = [0u8; 4096];
        assert_eq!(r.read(&mut buf).unwrap(), 4096);
        LOCAL.store(true, Ordering::SeqCst);
        let err = loop {
            match r.read(&mut buf) {
                Ok(0) => panic!("read to the end despite the flag"),
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert!(is_interrupt(&err), "{err:?}");
        assert!(!is_interrupt(&io::Error::other("disk on fire")));
    }

    #[test]
    fn error_text_and_exit_code() {
        assert_eq!(Interrupted.to_string(), "interrupted");
        assert_eq!(EXIT_CODE, 130);
    }
}
