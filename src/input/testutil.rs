//! Test helpers shared by the input stage's unit tests: odd readers and sample paths. Test
//! builds only.

use std::io::{self, Read};

/// A reader that hands out at most one byte per call (streaming-correctness tests).
pub(crate) struct OneByte<'a>(pub &'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() || out.is_empty() {
            return Ok(0);
        }
        out[0] = self.0[0];
        self.0 = &self.0[1..];
        Ok(1)
    }
}

/// Path of a file under the copied sample containers.
pub(crate) fn sample(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/samples/containers/"
    ))
    .join(rel)
}

/// A frame as one comparable line: every field of an event, a reject's reason, origin and
/// detail, a skip's reason and origin.
pub(crate) fn describe(f: &super::Frame<'_>) -> String {
    match f {
        super::Frame::Event(ev) => format!("{ev:?}"),
        super::Frame::Reject(r) => format!(
            "reject {} {:?} {} {}",
            r.reason.as_str(),
            r.origin,
            r.detail,
            r.excerpt
        ),
        super::Frame::Skip { origin, reason } => format!("skip {reason} {origin:?}"),
    }
}

/// The input file at `path` (id 4), named `display` in reports.
pub(crate) fn input_at(path: &std::path::Path, display: &str) -> super::InputFile {
    super::InputFile {
        id: 4,
        path: Some(path.to_path_buf()),
        display: display.into(),
        size: Some(std::fs::metadata(path).unwrap().len()),
    }
}

/// `n` CreateExportTask messages, each followed by the continuation lines `continued`.
pub(crate) fn s3_export_text(n: usize, continued: &str) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "2025-10-14T14:05:{:02}.118Z message {i}\n",
            i % 60
        ));
        text.push_str(continued);
    }
    text
}
