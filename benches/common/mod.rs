//! Inputs shared by the benchmark files: synthetic exports made with `gatelog::generate` (the
//! same generator as `gatelog generate`, so the data is what `benches/e2e.sh` feeds the real
//! binary), the bundled sample containers, and helpers to read, decompress and replicate them.
//!
//! Sizes: `GATELOG_BENCH_REQUESTS` (default 4000) sets the simulated requests per generated
//! export, `GATELOG_BENCH_MB` (default 4) the size each framer input is replicated to.
#![allow(dead_code)]

/// The allocator the `gatelog` binary runs with (src/main.rs), so that per-core figures
/// are those of the product.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;
use gatelog::generate::{generate, Container, GenerateOptions};
use gatelog::input::InputFile;

/// The bundled sample containers.
pub const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/samples/containers"
);

/// Criterion settings for every group: short runs, so `cargo bench` ends in minutes on 2 cores.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests per generated export.
pub fn requests() -> u64 {
    env_u64("GATELOG_BENCH_REQUESTS", 4000)
}

/// Bytes each framer input is replicated to.
pub fn target_bytes() -> usize {
    env_u64("GATELOG_BENCH_MB", 4) as usize * 1_000_000
}

/// A generated export in `container`, in a temporary directory kept for the process's life.
pub struct Export {
    _dir: tempfile::TempDir,
    /// The files written, sorted.
    pub files: Vec<PathBuf>,
}

impl Export {
    /// Generates `requests` requests (fixed seed) in `container`.
    pub fn new(container: Container, requests: u64, gzip: bool) -> Export {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("export");
        let report = generate(&GenerateOptions {
            requests,
            out,
            seed: 20251103,
            container: Some(container),
            gzip,
        })
        .expect("generate");
        Export {
            _dir: dir,
            files: report.files,
        }
    }

    /// The files whose path contains `needle`.
    pub fn matching(&self, needle: &str) -> Vec<&Path> {
        self.files
            .iter()
            .filter(|p| p.to_string_lossy().contains(needle))
            .map(|p| p.as_path())
            .collect()
    }
}

/// The whole file.
pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The whole file, every gzip member decompressed (plain files pass through).
pub fn read_plain(p: &Path) -> Vec<u8> {
    gunzip_all(&read(p))
}

/// Decompresses every member of a (possibly multi-member) gzip buffer; non-gzip passes through.
pub fn gunzip_all(raw: &[u8]) -> Vec<u8> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len() * 8);
    flate2::bufread::MultiGzDecoder::new(raw)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

/// `unit` repeated until at least `target` bytes (always at least once).
pub fn replicate(unit: &[u8], target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + unit.len());
    loop {
        out.extend_from_slice(unit);
        if !out.ends_with(b"\n") && !out.ends_with(b"}") {
            out.push(b'\n');
        }
        if out.len() >= target {
            return out;
        }
    }
}

/// gzip of `data` at level 6 (what CloudWatch and `gzip` produce).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// An input descriptor for in-memory data; `display` is what a path would look like (it gives
/// the log group, as in a real run).
pub fn input_file(display: &str) -> InputFile {
    InputFile {
        id: 0,
        path: None,
        display: display.to_string(),
        size: None,
    }
}

/// The non-empty lines of `text`.
pub fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}
