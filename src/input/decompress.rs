//! Turning an open byte source into the decompressed stream the containers read: gzip is
//! recognised by its magic bytes `1f 8b` (never by file name) and undone with
//! `flate2::bufread::MultiGzDecoder`, so every member of a concatenated object is read (a
//! Firehose object is many members; `GzDecoder` would stop after the first). Counts bytes in
//! and out, tells a failing source from a corrupt gzip stream, and lets the caller look at
//! the first bytes before framing starts. It does not detect containers or report rejects.

use std::cell::Cell;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use flate2::bufread::MultiGzDecoder;

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Byte counts and the source's health, shared with the readers that update them.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    bytes_in: Cell<u64>,
    bytes_out: Cell<u64>,
    source_failed: Cell<bool>,
}

impl Counters {
    /// Bytes read from the source.
    pub(crate) fn bytes_in(&self) -> u64 {
        self.bytes_in.get()
    }
    /// Decompressed bytes handed on.
    pub(crate) fn bytes_out(&self) -> u64 {
        self.bytes_out.get()
    }
    /// Whether the source itself (not the gzip stream) returned an error.
    pub(crate) fn source_failed(&self) -> bool {
        self.source_failed.get()
    }
}

/// Which side of the decoder a [`Counting`] reader sits on.
#[derive(Clone, Copy)]
enum Side {
    Source,
    Output,
}

/// Counts the bytes read through it (retrying `Interrupted`).
struct Counting<R> {
    inner: R,
    counters: Rc<Counters>,
    side: Side,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    let c = match self.side {
                        Side::Source => &self.counters.bytes_in,
                        Side::Output => &self.counters.bytes_out,
                    };
                    c.set(c.get() + n as u64);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if let Side::Source = self.side {
                        self.counters.source_failed.set(true);
                    }
                    return Err(e);
                }
            }
        }
    }
}

/// A reader that first serves bytes it has already read (to look at them), then the rest
/// of the stream; an error met while reading ahead is handed on when the reader gets there.
pub(crate) struct Prefixed<R> {
    prefix: Vec<u8>,
    pos: usize,
    rest: R,
    deferred: Option<io::Error>,
    eof: bool,
}

impl<R: Read> Prefixed<R> {
    /// Reads up to `n` bytes ahead of `rest`.
    pub(crate) fn read(mut rest: R, n: usize) -> Self {
        let mut prefix = vec![0; n];
        let mut len = 0;
        let mut deferred = None;
        let mut eof = false;
        while len < n {
            match rest.read(&mut prefix[len..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(k) => len += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    deferred = Some(e);
                    break;
                }
            }
        }
        prefix.truncate(len);
        Prefixed {
            prefix,
            pos: 0,
            rest,
            deferred,
            eof,
        }
    }

    /// The bytes read ahead.
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Whether the stream ended within the bytes read ahead.
    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    /// Whether reading ahead met an error.
    pub(crate) fn has_error(&self) -> bool {
        self.deferred.is_some()
    }

    /// Takes the error met while reading ahead, if any.
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        self.deferred.take()
    }

    /// Drops the first `n` bytes still to be served from the prefix.
    pub(crate) fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.prefix.len());
    }
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.pos);
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.prefix.len() {
                // Free the look-ahead once it has been served.
                self.prefix = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if self.eof {
            return Ok(0);
        }
        self.rest.read(buf)
    }
}

/// A decompressed stream and what is known about it.
pub(crate) struct Opened<'a> {
    /// The decompressed bytes.
    pub reader: Box<dyn Read + 'a>,
    /// Whether the source was gzip.
    pub gzip: bool,
    /// Byte counts, updated as `reader` is read.
    pub counters: Rc<Counters>,
}

/// How many gzip layers are undone: Firehose with S3 compression GZIP wraps CloudWatch's
/// already gzipped records in a second layer.
const MAX_GZIP_LAYERS: usize = 2;

/// Wraps `source`: gzip (by magic bytes, up to [`MAX_GZIP_LAYERS`] deep) is decompressed,
/// anything else passes through.
pub(crate) fn open<'a, R: Read + 'a>(source: R) -> Opened<'a> {
    let counters = Rc::new(Counters::default());
    let counted = Counting {
        inner: source,
        counters: counters.clone(),
        side: Side::Source,
    };
    let mut reader: Box<dyn Read + 'a> = Box::new(counted);
    let mut gzip = false;
    for _ in 0..MAX_GZIP_LAYERS {
        let magic = Prefixed::read(reader, 2);
        if magic.prefix() != GZIP_MAGIC {
            reader = Box::new(magic);
            break;
        }
        gzip = true;
        reader = Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            128 << 10,
            magic,
        )));
    }
    Opened {
        reader: Box::new(Counting {
            inner: reader,
            counters: counters.clone(),
            side: Side::Output,
        }),
        gzip,
        counters,
    }
}

/// What a file's first bytes say about a compression or archive format gatelog does not
/// read: its name and the command that unpacks it.
pub(crate) fn foreign_format(first: &[u8]) -> Option<(&'static str, &'static str)> {
    const FORMATS: [(&[u8], &str, &str); 4] = [
        (b"\x28\xb5\x2f\xfd", "zstd-compressed", "zstd -d"),
        (b"BZh", "bzip2-compressed", "bunzip2"),
        (b"\xfd7zXZ\x00", "xz-compressed", "xz -d"),
        (b"PK\x03\x04", "a zip archive", "unzip"),
    ];
    FORMATS
        .iter()
        .find(|(magic, _, _)| first.starts_with(magic))
        .map(|&(_, name, cmd)| (name, cmd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::OneByte;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    pub(crate) fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(o: &mut Opened<'_>) -> (Vec<u8>, Option<io::Error>) {
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match o.reader.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let mut data = gz(b"first\n");
        data.extend(gz(b"second\n"));
        let mut o = open(OneByte(&data));
        assert!(o.gzip);
        let (out, err) = read_all(&mut o);
        assert!(err.is_none());
        assert_eq!(out, b"first\nsecond\n");
        assert_eq!(o.counters.bytes_in(), data.len() as u64);
        assert_eq!(o.counters.bytes_out(), 13);
    }

    #[test]
    fn gzip_inside_gzip_is_undone() {
        let inner = [gz(b"a\n"), gz(b"b\n")].concat();
        let outer = gz(&inner);
        let mut o = open(&outer[..]);
        assert!(o.gzip);
        assert_eq!(read_all(&mut o).0, b"a\nb\n");
        assert_eq!(o.counters.bytes_out(), 4);
    }

    #[test]
    fn foreign_formats_are_named() {
        assert_eq!(
            foreign_format(b"\x28\xb5\x2f\xfd\x00").unwrap().0,
            "zstd-compressed"
        );
        assert_eq!(foreign_format(b"PK\x03\x04").unwrap().1, "unzip");
        assert!(foreign_format(b"{\"a\"").is_none());
    }

    #[test]
    fn plain_passes_through() {
        let mut o = open(&b"\x1fplain"[..]);
        assert!(!o.gzip);
        assert_eq!(read_all(&mut o).0, b"\x1fplain");
        let mut o = open(&b""[..]);
        assert_eq!(read_all(&mut o).0, b"");
    }

    #[test]
    fn truncated_gzip_errors_after_the_good_bytes() {
        let body: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let data = gz(&body);
        let cut = &data[..data.len() / 2];
        let mut o = open(cut);
        let (out, err) = read_all(&mut o);
        assert!(err.is_some());
        assert!(!out.is_empty() && body.starts_with(&out));
        assert!(!o.counters.source_failed());
    }

    #[test]
    fn prefixed_defers_errors() {
        struct Fails(u8);
        impl Read for Fails {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk on fire"));
                }
                self.0 -= 1;
                b[0] = b'a';
                Ok(1)
            }
        }
        let mut p = Prefixed::read(Fails(3), 10);
        assert_eq!(p.prefix(), b"aaa");
        assert!(p.has_error() && !p.at_eof());
        let mut buf = [0u8; 10];
        assert_eq!(p.read(&mut buf).unwrap(), 3);
        assert!(p.read(&mut buf).is_err());
    }
}
