//! Where generated events go: a small reorder buffer that releases events in time order, and
//! the container writers (`s3-export`, `cli-json`, `firehose`, `lines`, or the mixed
//! sample-data layout that routes each log group to one of them).
//!
//! The simulation produces each request's lines at once, but requests overlap in time (a
//! burst, a slow cold start), and every container keeps events time-ordered per stream. So
//! lines wait in a min-heap keyed by (time, sequence) and leave it once no later request can
//! produce an earlier line: every line of a request is at or after the request's start, so
//! everything up to the next request's start time is final. Buffers are recycled, so the heap
//! allocates nothing once warm, and it only ever holds the lines of overlapping requests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compress, Compression, FlushCompress, GzBuilder, Status};

use super::format::{
    put, put_dash_datetime, put_hex, put_iso_ms, put_json_escaped, put_pad, put_u, uuid,
};
use super::rng::Rng;
use super::world::{World, ACCOUNT};
use super::{Container, GenerateError};

/// Buffer size of every output file.
const BUF_BYTES: usize = 1 << 20;
/// A CreateExportTask object is cut into `000001.gz`, … after this many uncompressed bytes.
pub(crate) const S3_OBJECT_BYTES: u64 = 256 << 20;
/// Firehose buffer interval: a new S3 object after this many milliseconds of event time.
const FIREHOSE_OBJECT_MS: i64 = 900_000;
/// Firehose buffer size: a new S3 object after this many compressed bytes.
const FIREHOSE_OBJECT_BYTES: u64 = 128 << 20;
/// CloudWatch batches subscription deliveries per stream in windows of this length.
const FIREHOSE_BATCH_MS: i64 = 5_000;
/// The S3-export destination prefix.
pub(crate) const EXPORT_PREFIX: &str = "exportedlogs";
/// The Firehose delivery stream.
pub(crate) const DELIVERY_STREAM: &str = "payments-cwl-to-s3";
/// The subscription filter feeding it.
pub(crate) const SUBSCRIPTION_FILTER: &str = "payments-logs-to-firehose";

/// What kind of log a group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupKind {
    /// A stage's access log.
    Access,
    /// A stage's execution log.
    Execution,
    /// A Lambda function's log (messages end in `\n`).
    Lambda,
}

/// A CloudWatch log group and how many events the simulation produced for it.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) kind: GroupKind,
    pub(crate) events: u64,
}

/// A log stream of a group.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub(crate) group: usize,
    pub(crate) name: String,
}

/// Log groups and streams, shared by the simulation (which opens Lambda streams on cold
/// starts) and the writers.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) groups: Vec<Group>,
    pub(crate) streams: Vec<Stream>,
    /// (event time after which nothing more arrives, stream): retired Lambda streams, in
    /// order, so writers can close their objects.
    pub(crate) retire: Vec<(i64, u32)>,
}

impl Registry {
    pub(crate) fn add_group(&mut self, name: String, kind: GroupKind) -> usize {
        self.groups.push(Group {
            name,
            kind,
            events: 0,
        });
        self.groups.len() - 1
    }

    pub(crate) fn add_stream(&mut self, group: usize, name: String) -> u32 {
        self.streams.push(Stream { group, name });
        (self.streams.len() - 1) as u32
    }
}

/// Marks the deliberately dirty lines of the mixed layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    /// An ordinary event.
    Normal,
    /// A truncated copy of an access record (malformed JSON).
    Malformed,
    /// A line of an unrelated log group.
    Unrelated,
}

struct Slot {
    stream: u32,
    flag: Flag,
    buf: Vec<u8>,
}

/// The reorder buffer.
#[derive(Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Reverse<(i64, u64, u32)>>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    seq: u64,
}

impl Queue {
    /// Registers an event at `ts` on `stream` and returns the (empty) buffer for its message.
    /// Events at the same millisecond leave in the order they were pushed.
    pub(crate) fn push(&mut self, ts: i64, stream: u32, flag: Flag) -> &mut Vec<u8> {
        let idx = match self.free.pop() {
            Some(i) => {
                let s = &mut self.slots[i as usize];
                s.stream = stream;
                s.flag = flag;
                s.buf.clear();
                i
            }
            None => {
                self.slots.push(Slot {
                    stream,
                    flag,
                    buf: Vec::with_capacity(256),
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.seq += 1;
        self.heap.push(Reverse((ts, self.seq, idx)));
        &mut self.slots[idx as usize].buf
    }

    /// Writes every event at or before `upto` (all of them for `None`) in time order.
    pub(crate) fn flush(
        &mut self,
        upto: Option<i64>,
        reg: &mut Registry,
        out: &mut Output,
    ) -> Result<(), GenerateError> {
        while let Some(&Reverse((ts, _, idx))) = self.heap.peek() {
            if upto.is_some_and(|u| ts > u) {
                break;
            }
            self.heap.pop();
            let slot = &self.slots[idx as usize];
            if slot.flag == Flag::Normal {
                reg.groups[reg.streams[slot.stream as usize].group].events += 1;
            }
            out.write(reg, ts, slot.stream, slot.flag, &slot.buf)?;
            self.free.push(idx);
        }
        Ok(())
    }
}

/// One written file, for the README, the truth and the report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct FileRecord {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    /// The log group whose events it holds (`*` for Firehose objects, which mix groups).
    pub log_group: String,
    /// Container name.
    pub container: String,
    /// CloudWatch events (records) in it, not counting dirty lines.
    pub events: u64,
}

/// A deliberately dirty line and where it ended up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DirtyLine {
    /// File relative to the output directory.
    pub file: String,
    /// 1-based line number in the decompressed file.
    pub line: u64,
    /// The request whose access record was truncated (malformed lines only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The log group the line belongs to.
    pub log_group: String,
}

/// Where a log group's events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Drop,
    S3,
    Cli,
    Firehose,
    Lines,
}

/// An output file, plain or gzip (header mtime 0, level 1: deterministic and fast). The
/// buffer sits in front of the compressor so that deflate sees large chunks, not lines.
enum W {
    Plain(BufWriter<File>),
    Gz(Box<BufWriter<GzEncoder<File>>>),
}

impl W {
    fn create(path: &Path, gzip: bool) -> Result<W, GenerateError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let f = File::create(path).map_err(|e| io_err(path, e))?;
        Ok(if gzip {
            let gz = GzBuilder::new()
                .mtime(0)
                .operating_system(3)
                .write(f, Compression::new(1));
            W::Gz(Box::new(BufWriter::with_capacity(BUF_BYTES, gz)))
        } else {
            W::Plain(BufWriter::with_capacity(BUF_BYTES, f))
        })
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            W::Plain(w) => w.write_all(data),
            W::Gz(w) => w.write_all(data),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            W::Plain(mut w) => w.flush(),
            W::Gz(w) => {
                let gz = (*w).into_inner().map_err(|e| e.into_error())?;
                let mut f = gz.finish()?;
                f.flush()
            }
        }
    }
}

pub(crate) fn io_err(path: &Path, source: io::Error) -> GenerateError {
    GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

struct OpenFile {
    w: W,
    rel: String,
    group: usize,
    events: u64,
    lines: u64,
    raw: u64,
}

impl OpenFile {
    fn open(root: &Path, rel: String, group: usize, gzip: bool) -> Result<OpenFile, GenerateError> {
        let w = W::create(&root.join(&rel), gzip)?;
        Ok(OpenFile {
            w,
            rel,
            group,
            events: 0,
            lines: 0,
            raw: 0,
        })
    }

    fn write(&mut self, root: &Path, data: &[u8]) -> Result<(), GenerateError> {
        self.raw += data.len() as u64;
        self.w
            .write_all(data)
            .map_err(|e| io_err(&root.join(&self.rel), e))
    }

    fn close(
        self,
        root: &Path,
        reg: &Registry,
        container: Container,
        files: &mut Vec<FileRecord>,
    ) -> Result<(), GenerateError> {
        let path = root.join(&self.rel);
        self.w.finish().map_err(|e| io_err(&path, e))?;
        files.push(FileRecord {
            path: self.rel,
            log_group: reg.groups[self.group].name.clone(),
            container: container.as_str().to_string(),
            events: self.events,
        });
        Ok(())
    }
}

struct S3Object {
    file: OpenFile,
    part: u32,
}

struct Batch {
    window: i64,
    first_ts: i64,
    count: u64,
    json: Vec<u8>,
}

struct FirehoseObject {
    w: BufWriter<File>,
    rel: String,
    start: i64,
    bytes: u64,
    events: u64,
}

/// All container writers of one run.
pub(crate) struct Output {
    root: PathBuf,
    dest: Vec<Dest>,
    meta: Rng,
    event_seq: u64,
    line: Vec<u8>,
    /// Files written so far.
    pub(crate) files: Vec<FileRecord>,
    /// Dirty lines written so far (malformed, unrelated).
    pub(crate) malformed: Vec<DirtyLine>,
    pub(crate) unrelated: Vec<DirtyLine>,
    unrelated_group: String,
    retire_cursor: usize,
    // s3-export
    tasks: Vec<Option<String>>,
    s3: Vec<Option<S3Object>>,
    // cli-json, lines: one file per group
    per_group: Vec<Option<OpenFile>>,
    // firehose
    batches: Vec<Option<Batch>>,
    fh_window: i64,
    fh_obj: Option<FirehoseObject>,
    fh_control_done: bool,
    fh_compress: Compress,
    fh_member: Vec<u8>,
    fh_json: Vec<u8>,
}

impl Output {
    /// Writers for `container` (`None`: the mixed sample-data layout) under `root`.
    pub(crate) fn new(
        root: &Path,
        container: Option<Container>,
        gzip: bool,
        reg: &Registry,
        world: &World,
        seed: u64,
    ) -> Result<Output, GenerateError> {
        let dest: Vec<Dest> = reg
            .groups
            .iter()
            .enumerate()
            .map(|(g, _)| match container {
                Some(Container::S3Export) => Dest::S3,
                Some(Container::CliJson) => Dest::Cli,
                Some(Container::Firehose) => Dest::Firehose,
                Some(Container::Lines) => Dest::Lines,
                None => world.mixed_dest(g),
            })
            .collect();
        let mut meta = Rng::new(seed, 3);
        // One CreateExportTask per exported group, ids drawn in group order.
        let tasks = dest
            .iter()
            .map(|d| {
                (*d == Dest::S3)
                    .then(|| String::from_utf8(uuid(&mut meta).to_vec()).expect("uuid is ASCII"))
            })
            .collect();
        let mut out = Output {
            root: root.to_path_buf(),
            dest,
            meta,
            event_seq: 0,
            line: Vec::with_capacity(4096),
            files: Vec::new(),
            malformed: Vec::new(),
            unrelated: Vec::new(),
            unrelated_group: world.unrelated_group.clone(),
            retire_cursor: 0,
            tasks,
            s3: Vec::new(),
            per_group: Vec::new(),
            batches: Vec::new(),
            fh_window: i64::MIN,
            fh_obj: None,
            fh_control_done: false,
            fh_compress: Compress::new_gzip(Compression::new(1), 15),
            fh_member: Vec::with_capacity(1 << 16),
            fh_json: Vec::with_capacity(1 << 16),
        };
        // cli-json and lines files exist for every routed group, even an empty one.
        for (g, group) in reg.groups.iter().enumerate() {
            let rel = match out.dest[g] {
                Dest::Cli => Some(format!(
                    "{}/events.json{}",
                    group.name.trim_start_matches('/'),
                    if gzip { ".gz" } else { "" }
                )),
                Dest::Lines => Some(format!(
                    "{}/{}{}",
                    group.name.trim_start_matches('/'),
                    match group.kind {
                        GroupKind::Access => "access.log",
                        GroupKind::Execution => "execution.log",
                        GroupKind::Lambda => "function.log",
                    },
                    if gzip { ".gz" } else { "" }
                )),
                _ => None,
            };
            let f = match rel {
                Some(rel) => Some(OpenFile::open(&out.root, rel, g, gzip)?),
                None => None,
            };
            out.per_group.push(f);
        }
        if out.dest.contains(&Dest::S3) {
            // The permission probe CreateExportTask writes next to the task folders.
            let rel = format!("{EXPORT_PREFIX}/aws-logs-write-test");
            let path = out.root.join(&rel);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
            }
            fs::write(&path, b"Permission Check Successful").map_err(|e| io_err(&path, e))?;
            out.files.push(FileRecord {
                path: rel,
                log_group: "-".to_string(),
                container: Container::S3Export.as_str().to_string(),
                events: 0,
            });
        }
        Ok(out)
    }

    fn container_of(&self, g: usize) -> Container {
        match self.dest[g] {
            Dest::S3 | Dest::Drop => Container::S3Export,
            Dest::Cli => Container::CliJson,
            Dest::Firehose => Container::Firehose,
            Dest::Lines => Container::Lines,
        }
    }

    /// A 56-digit CloudWatch event id. Unique by construction: the last 17 digits are the
    /// event's sequence number through a bijection of `0..10^17` (multiplication by a unit).
    fn put_event_id(&mut self, b: &mut Vec<u8>) {
        const MOD: u128 = 100_000_000_000_000_000;
        self.event_seq += 1;
        b.push(b'3');
        put_pad(b, self.meta.next_u64() % 10_000_000_000_000_000_000, 19);
        put_pad(b, self.meta.next_u64() % 1_000_000_000_000_000_000, 19);
        let tail = (self.event_seq as u128 * 73_856_093_291_758_413 + 4_119_305_270_518_277) % MOD;
        put_pad(b, tail as u64, 17);
    }

    fn write(
        &mut self,
        reg: &Registry,
        ts: i64,
        stream: u32,
        flag: Flag,
        msg: &[u8],
    ) -> Result<(), GenerateError> {
        while let Some(&(at, s)) = reg.retire.get(self.retire_cursor) {
            if at > ts {
                break;
            }
            self.retire_cursor += 1;
            self.close_s3(reg, s)?;
        }
        let g = reg.streams[stream as usize].group;
        match self.dest[g] {
            Dest::Drop => Ok(()),
            Dest::S3 => self.write_s3(reg, ts, stream, flag, msg),
            Dest::Cli => self.write_cli(reg, ts, stream, msg),
            Dest::Lines => {
                let f = self.per_group[g].as_mut().expect("lines file is open");
                self.line.clear();
                self.line.extend_from_slice(msg);
                self.line.push(b'\n');
                f.events += 1;
                f.write(&self.root, &self.line)
            }
            Dest::Firehose => self.write_firehose(reg, ts, stream, msg),
        }
    }

    fn write_s3(
        &mut self,
        reg: &Registry,
        ts: i64,
        stream: u32,
        flag: Flag,
        msg: &[u8],
    ) -> Result<(), GenerateError> {
        let s = stream as usize;
        if self.s3.len() <= s {
            self.s3.resize_with(s + 1, || None);
        }
        if self.s3[s]
            .as_ref()
            .is_some_and(|o| o.file.raw >= S3_OBJECT_BYTES)
        {
            let part = self.s3[s].as_ref().map_or(0, |o| o.part) + 1;
            self.close_s3(reg, stream)?;
            self.open_s3(reg, stream, part)?;
        }
        if self.s3[s].is_none() {
            self.open_s3(reg, stream, 0)?;
        }
        let obj = self.s3[s].as_mut().expect("object is open");
        self.line.clear();
        put_iso_ms(&mut self.line, ts);
        self.line.push(b' ');
        self.line.extend_from_slice(msg);
        self.line.push(b'\n');
        obj.file.lines += 1;
        match flag {
            Flag::Normal => obj.file.events += 1,
            Flag::Malformed => self.malformed.push(DirtyLine {
                file: obj.file.rel.clone(),
                line: obj.file.lines,
                request_id: msg
                    .get(14..50)
                    .map(|id| String::from_utf8_lossy(id).into_owned()),
                log_group: reg.groups[reg.streams[s].group].name.clone(),
            }),
            Flag::Unrelated => self.unrelated.push(DirtyLine {
                file: obj.file.rel.clone(),
                line: obj.file.lines,
                request_id: None,
                log_group: self.unrelated_group.clone(),
            }),
        }
        obj.file.write(&self.root, &self.line)
    }

    fn open_s3(&mut self, reg: &Registry, stream: u32, part: u32) -> Result<(), GenerateError> {
        let st = &reg.streams[stream as usize];
        let task = self.tasks[st.group]
            .as_deref()
            .expect("exported group has a task");
        let rel = format!("{EXPORT_PREFIX}/{task}/{}/{part:06}.gz", st.name);
        let file = OpenFile::open(&self.root, rel, st.group, true)?;
        self.s3[stream as usize] = Some(S3Object { file, part });
        Ok(())
    }

    fn close_s3(&mut self, reg: &Registry, stream: u32) -> Result<(), GenerateError> {
        if let Some(obj) = self.s3.get_mut(stream as usize).and_then(Option::take) {
            obj.file
                .close(&self.root, reg, Container::S3Export, &mut self.files)?;
        }
        Ok(())
    }

    fn write_cli(
        &mut self,
        reg: &Registry,
        ts: i64,
        stream: u32,
        msg: &[u8],
    ) -> Result<(), GenerateError> {
        let st = &reg.streams[stream as usize];
        let lambda = reg.groups[st.group].kind == GroupKind::Lambda;
        let mut b = std::mem::take(&mut self.line);
        b.clear();
        let f = self.per_group[st.group].as_ref().expect("cli file is open");
        put(
            &mut b,
            if f.events == 0 {
                "{\n    \"events\": [\n"
            } else {
                ",\n"
            },
        );
        put(&mut b, "        {\n            \"logStreamName\": \"");
        put_json_escaped(&mut b, st.name.as_bytes());
        put(&mut b, "\",\n            \"timestamp\": ");
        put_u(&mut b, ts as u64);
        put(&mut b, ",\n            \"message\": \"");
        put_json_escaped(&mut b, msg);
        if lambda {
            put(&mut b, "\\n");
        }
        put(&mut b, "\",\n            \"ingestionTime\": ");
        let delay = self.meta.range(200, 1400);
        put_u(&mut b, ts as u64 + delay);
        put(&mut b, ",\n            \"eventId\": \"");
        self.put_event_id(&mut b);
        put(&mut b, "\"\n        }");
        let f = self.per_group[st.group].as_mut().expect("cli file is open");
        f.events += 1;
        let r = f.write(&self.root, &b);
        self.line = b;
        r
    }

    fn write_firehose(
        &mut self,
        reg: &Registry,
        ts: i64,
        stream: u32,
        msg: &[u8],
    ) -> Result<(), GenerateError> {
        let window = ts.div_euclid(FIREHOSE_BATCH_MS);
        if window != self.fh_window {
            // A new 5-second window: deliver every batch of an earlier one.
            self.fh_window = window;
            self.flush_batches(reg, Some(window))?;
        }
        let s = stream as usize;
        if self.batches.len() <= s {
            self.batches.resize_with(s + 1, || None);
        }
        let lambda = reg.groups[reg.streams[s].group].kind == GroupKind::Lambda;
        let mut batch = match self.batches[s].take() {
            Some(b) => b,
            None => Batch {
                window,
                first_ts: ts,
                count: 0,
                json: Vec::with_capacity(8192),
            },
        };
        if batch.count > 0 {
            batch.json.push(b',');
        }
        batch.count += 1;
        put(&mut batch.json, "{\"id\":\"");
        self.put_event_id(&mut batch.json);
        put(&mut batch.json, "\",\"timestamp\":");
        put_u(&mut batch.json, ts as u64);
        put(&mut batch.json, ",\"message\":\"");
        put_json_escaped(&mut batch.json, msg);
        if lambda {
            put(&mut batch.json, "\\n");
        }
        put(&mut batch.json, "\"}");
        self.batches[s] = Some(batch);
        Ok(())
    }

    /// Delivers the pending batches of windows before `before` (all of them for `None`), in
    /// stream order.
    fn flush_batches(&mut self, reg: &Registry, before: Option<i64>) -> Result<(), GenerateError> {
        for s in 0..self.batches.len() {
            let due = self.batches[s]
                .as_ref()
                .is_some_and(|b| before.is_none_or(|w| b.window < w));
            if due {
                let b = self.batches[s].take().expect("batch is due");
                self.deliver(reg, s, b)?;
            }
        }
        Ok(())
    }

    fn deliver(&mut self, reg: &Registry, s: usize, batch: Batch) -> Result<(), GenerateError> {
        let roll = self.fh_obj.as_ref().is_some_and(|o| {
            batch.first_ts >= o.start + FIREHOSE_OBJECT_MS || o.bytes >= FIREHOSE_OBJECT_BYTES
        });
        if roll {
            self.close_firehose()?;
        }
        if self.fh_obj.is_none() {
            let control_ts = if self.fh_control_done {
                None
            } else {
                Some(batch.first_ts - self.meta.irange(5_000, 15_000))
            };
            let start = control_ts.unwrap_or(batch.first_ts);
            let mut rel = Vec::with_capacity(128);
            put(&mut rel, "firehose/");
            let c = super::format::civil(start);
            put_pad(&mut rel, c.year as u64, 4);
            rel.push(b'/');
            put_pad(&mut rel, c.month as u64, 2);
            rel.push(b'/');
            put_pad(&mut rel, c.day as u64, 2);
            rel.push(b'/');
            put_pad(&mut rel, c.hour as u64, 2);
            rel.push(b'/');
            put(&mut rel, DELIVERY_STREAM);
            put(&mut rel, "-1-");
            put_dash_datetime(&mut rel, start);
            rel.push(b'-');
            rel.extend_from_slice(&uuid(&mut self.meta));
            let rel = String::from_utf8(rel).expect("ASCII key");
            let path = self.root.join(&rel);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
            }
            let f = File::create(&path).map_err(|e| io_err(&path, e))?;
            self.fh_obj = Some(FirehoseObject {
                w: BufWriter::with_capacity(BUF_BYTES, f),
                rel,
                start,
                bytes: 0,
                events: 0,
            });
            if let Some(cts) = control_ts {
                self.fh_control_done = true;
                self.fh_json.clear();
                put(
                    &mut self.fh_json,
                    "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"\",\"timestamp\":",
                );
                put_u(&mut self.fh_json, cts as u64);
                put(
                    &mut self.fh_json,
                    ",\"message\":\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}]}",
                );
                self.write_member()?;
            }
        }
        let st = &reg.streams[s];
        self.fh_json.clear();
        put(
            &mut self.fh_json,
            "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"",
        );
        put(&mut self.fh_json, ACCOUNT);
        put(&mut self.fh_json, "\",\"logGroup\":\"");
        put_json_escaped(&mut self.fh_json, reg.groups[st.group].name.as_bytes());
        put(&mut self.fh_json, "\",\"logStream\":\"");
        put_json_escaped(&mut self.fh_json, st.name.as_bytes());
        put(&mut self.fh_json, "\",\"subscriptionFilters\":[\"");
        put(&mut self.fh_json, SUBSCRIPTION_FILTER);
        put(&mut self.fh_json, "\"],\"logEvents\":[");
        self.fh_json.extend_from_slice(&batch.json);
        put(&mut self.fh_json, "]}");
        if let Some(o) = self.fh_obj.as_mut() {
            o.events += batch.count;
        }
        self.write_member()
    }

    /// Compresses `fh_json` as one gzip member onto the current object.
    fn write_member(&mut self) -> Result<(), GenerateError> {
        let c = &mut self.fh_compress;
        c.reset();
        self.fh_member.clear();
        self.fh_member.reserve(self.fh_json.len() / 2 + 256);
        let mut consumed = 0usize;
        loop {
            let before = c.total_in();
            let status = c
                .compress_vec(
                    &self.fh_json[consumed..],
                    &mut self.fh_member,
                    FlushCompress::Finish,
                )
                .map_err(|e| GenerateError::Compress(e.to_string()))?;
            consumed += (c.total_in() - before) as usize;
            if status == Status::StreamEnd {
                break;
            }
            let more = self.fh_member.capacity().max(4096);
            self.fh_member.reserve(more);
        }
        let o = self.fh_obj.as_mut().expect("object is open");
        o.bytes += self.fh_member.len() as u64;
        o.w.write_all(&self.fh_member)
            .map_err(|e| io_err(&self.root.join(&o.rel), e))
    }

    fn close_firehose(&mut self) -> Result<(), GenerateError> {
        if let Some(mut o) = self.fh_obj.take() {
            o.w.flush()
                .map_err(|e| io_err(&self.root.join(&o.rel), e))?;
            self.files.push(FileRecord {
                path: o.rel,
                log_group: "*".to_string(),
                container: Container::Firehose.as_str().to_string(),
                events: o.events,
            });
        }
        Ok(())
    }

    /// Closes everything; returns the files written, sorted by path.
    pub(crate) fn finish(mut self, reg: &Registry) -> Result<Output, GenerateError> {
        for s in 0..self.s3.len() {
            self.close_s3(reg, s as u32)?;
        }
        self.flush_batches(reg, None)?;
        self.close_firehose()?;
        for g in 0..self.per_group.len() {
            if let Some(mut f) = self.per_group[g].take() {
                let container = self.container_of(g);
                if container == Container::CliJson {
                    let tail: &[u8] = if f.events == 0 {
                        b"{\n    \"events\": []\n}\n"
                    } else {
                        b"\n    ]\n}\n"
                    };
                    f.write(&self.root, tail)?;
                }
                f.close(&self.root, reg, container, &mut self.files)?;
            }
        }
        self.files.sort();
        Ok(self)
    }
}

/// Appends `n` random hex digits.
pub(crate) fn put_rand_hex(b: &mut Vec<u8>, rng: &mut Rng, n: u32) {
    let mut left = n;
    while left > 0 {
        let k = left.min(16);
        put_hex(b, rng.next_u64(), k);
        left -= k;
    }
}
