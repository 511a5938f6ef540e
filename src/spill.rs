//! The join's input, keyed by (day, request id), held in memory while it fits in the memory
//! budget and spilled to disk past it (a grace hash join: every record of one request has
//! the same key, so ranges of keys are joined one at a time).
//!
//! A record's key is its day bucket (from its request time, else its log event time), then
//! a hash shard of its request id. Keys in order walk the days in order, so the join, and
//! the Parquet writer after it, move through the days one after another and can finish a
//! day's files when they leave it, instead of keeping every day open to the end (each open
//! file holds a compression context per column). A bucket is a day from 01:00 to 23:00 UTC
//! or the two hours around a midnight, so that the records of one request (its access
//! record, duplicates of it, its execution log lines: seconds apart) never straddle two
//! buckets. When some records have no time at all (messages read without their event time,
//! as the `lines` container does), a request's records may lack a time in one log and have
//! one in another, so the units are then cut by hash shard across all days, as a plain
//! grace hash join would, and the writer keeps every day open to the end.
//!
//! Parsing workers add records through a [`ShardBatch`] of their own and hand it over in
//! bulk. Past the budget, what is held is written to a run file in key order (postcard
//! frames, length-prefixed), with an index of where each key starts. After parsing, the keys
//! are cut into units of about a group's size, in key order; each unit is gathered from
//! memory and the runs, deduplicated once ([`crate::join::dedupe`]), and read back as often
//! as the join needs.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::join::Request;
use crate::records::access::AccessRecord;
use crate::records::execution::ExecFacts;
use crate::sink::dataset::MS_PER_DAY;

/// Errors of the spill files.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// The spill directory could not be created.
    #[error("cannot create the spill directory {path}: {source}; choose another with --spill-dir")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing a spill file failed (most often: the disk is full).
    #[error(
        "cannot write the spill file {path}: {source}; {}",
        write_advice(source)
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading a spill file back failed.
    #[error("cannot read the spill file {path}: {detail}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// What to do when a spill file cannot be written, by the cause: no room (a full disk, a
/// quota, a file-size limit), a directory that cannot be written, or anything else.
fn write_advice(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull | K::QuotaExceeded => {
            "the input did not fit in --memory-limit and the spill disk has no room left: \
             free space there, point --spill-dir at a larger disk, or raise --memory-limit"
        }
        K::FileTooLarge => {
            "the input did not fit in --memory-limit and a spill file reached the file-size \
             limit (ulimit -f): raise that limit, or raise --memory-limit"
        }
        K::PermissionDenied | K::ReadOnlyFilesystem | K::NotADirectory => {
            "point --spill-dir at a writable directory, or raise --memory-limit so that \
             nothing is spilled"
        }
        _ => {
            "check the disk of the spill directory (--spill-dir), point --spill-dir at \
             another disk, or raise --memory-limit so that less is spilled"
        }
    }
}

/// What a key holds before deduplication, borrowed for a run file.
#[derive(Serialize)]
enum ItemRef<'a> {
    Access(&'a AccessRecord),
    Exec(&'a str, &'a ExecFacts),
}

/// What a key holds before deduplication.
#[derive(Deserialize)]
enum Item {
    Access(AccessRecord),
    Exec(String, ExecFacts),
}

impl Item {
    fn as_ref(&self) -> ItemRef<'_> {
        match self {
            Item::Access(r) => ItemRef::Access(r),
            Item::Exec(id, f) => ItemRef::Exec(id, f),
        }
    }
}

/// A share of the memory budget once `taken` bytes of it are held elsewhere: what is left,
/// but never less than a quarter of the share (below that, spill runs and groups get so
/// small that their count, not their size, costs; the peak then grows past the limit, which
/// the run says).
pub fn shrunk(share: usize, taken: usize) -> usize {
    share.saturating_sub(taken).max(share / 4)
}

/// Entries to reserve for a run expected to hold about `n`: a quarter more, for runs of
/// smaller records, and at most 256 MiB of them (pages reserved but never written cost no
/// memory; a huge `--memory-limit` must not ask for more address space than the machine has).
fn run_capacity(n: usize) -> usize {
    n.saturating_add(n / 4)
        .min((256 << 20) / std::mem::size_of::<Entry>())
}

/// Estimated heap bytes of a record held in memory (its text, slots and bookkeeping).
pub fn record_mem(r: &AccessRecord) -> usize {
    r.approx_heap_bytes() + std::mem::size_of::<AccessRecord>()
}

fn exec_mem(id: &str, _f: &ExecFacts) -> usize {
    id.len() + 2 * std::mem::size_of::<ExecFacts>()
}

/// A midnight's bucket reaches this far to either side of it: wider than the time between
/// the first and the last record of one request (its access record's request time, its
/// execution log lines, its access log event), which is seconds.
const EDGE_MS: i64 = 3_600_000;
/// Hash shards within a bucket: at most 2^10.
const SHARD_BITS: u32 = 10;
/// Most hash shards a store uses.
pub const MAX_SHARDS: usize = 1 << SHARD_BITS;
/// Bucket numbers are kept in 22 bits, offset so that times before 1970 have one too.
const BUCKET_OFFSET: i64 = 1 << 21;
/// The bucket of records with no time at all, last.
const UNTIMED: u32 = (1 << 22) - 1;

/// The day bucket of a record's time: `2d + 1` for day `d` from 01:00 to 23:00 UTC, `2d`
/// for the two hours around the midnight that starts day `d`, [`UNTIMED`] without a time.
/// Buckets in order walk the days in order.
fn bucket_of(t: Option<i64>) -> u32 {
    let Some(t) = t else { return UNTIMED };
    let d = t.div_euclid(MS_PER_DAY);
    let r = t.rem_euclid(MS_PER_DAY);
    let b = if r < EDGE_MS {
        2 * d
    } else if r >= MS_PER_DAY - EDGE_MS {
        2 * d + 2
    } else {
        2 * d + 1
    };
    b.saturating_add(BUCKET_OFFSET)
        .clamp(0, i64::from(UNTIMED) - 1) as u32
}

/// The earliest day (days since the epoch) of a record in bucket `b`: `i64::MAX` for the
/// untimed bucket (its records, if any have a time, are the exception, see the module
/// documentation), `i64::MIN` for the bucket that holds every time before the range.
fn first_day_of(b: u32) -> i64 {
    if b == UNTIMED {
        return i64::MAX;
    }
    if b == 0 {
        return i64::MIN;
    }
    let b = i64::from(b) - BUCKET_OFFSET;
    if b.rem_euclid(2) == 0 {
        b.div_euclid(2) - 1
    } else {
        b.div_euclid(2)
    }
}

/// A record's place: its bucket in the high bits, its hash shard in the low ones, so that
/// keys in order walk the days.
fn key_of(bucket: u32, hash: u64, shards: usize) -> u32 {
    key_of_shard(bucket, (hash % shards as u64) as u32)
}

fn bucket_of_key(k: u32) -> u32 {
    k >> SHARD_BITS
}

fn shard_of_key(k: u32) -> u32 {
    k & ((1 << SHARD_BITS) - 1)
}

fn key_of_shard(bucket: u32, shard: u32) -> u32 {
    (bucket << SHARD_BITS) | shard
}

/// A fixed hash, so the layout does not depend on thread count or file order.
fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// A record on its way into the store: its key, its estimated memory, the record.
struct Entry {
    key: u32,
    mem: usize,
    item: Item,
}

/// A worker's records on their way to the store.
#[derive(Default)]
pub struct ShardBatch {
    entries: Vec<Entry>,
    mem: usize,
}

impl ShardBatch {
    /// Estimated bytes held.
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// Adds an access record, under the bucket of its request time (else its log time).
    pub fn access(&mut self, store: &ShardStore, r: AccessRecord) {
        let t = r.time_ms();
        let hash = id_hash(r.request_id());
        let mem = record_mem(&r);
        self.push(store.key(t, hash), mem, Item::Access(r));
    }

    /// Adds execution-log facts about request `id`, under the bucket of their first line.
    pub fn exec(&mut self, store: &ShardStore, id: String, f: ExecFacts) {
        let key = store.key(f.first_time_ms, id_hash(&id));
        let mem = exec_mem(&id, &f);
        self.push(key, mem, Item::Exec(id, f));
    }

    fn push(&mut self, key: u32, mem: usize, item: Item) {
        self.mem += mem;
        self.entries.push(Entry { key, mem, item });
    }
}

/// What the store holds in memory.
#[derive(Default)]
struct Held {
    entries: Vec<Entry>,
    /// Estimated bytes of `entries`.
    mem: usize,
    /// Estimated bytes of every record added, by key: where the units are cut, the same
    /// whatever went to disk.
    sizes: HashMap<u32, usize>,
    /// Some record has no time.
    untimed: bool,
}

/// Records written to disk at once, in key order.
struct Run {
    path: PathBuf,
    file: File,
    /// `(key, offset)` where each key's frames start, in key order.
    index: Vec<(u32, u64)>,
    len: u64,
}

impl Run {
    /// The frames of `unit`'s keys, one after another (empty when it has none).
    fn read_unit(&self, unit: &Unit) -> Result<Vec<u8>, SpillError> {
        // Index ranges of the unit's keys: one range of keys, or one per day bucket.
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        if unit.by_shard {
            let mut i = 0;
            while i < self.index.len() {
                let b = bucket_of_key(self.index[i].0);
                let lo = key_of_shard(b, unit.lo);
                let hi = key_of_shard(b, unit.hi);
                let from = i + self.index[i..].partition_point(|e| e.0 < lo);
                let to = from + self.index[from..].partition_point(|e| e.0 <= hi);
                ranges.push((from, to));
                // On to the next bucket.
                i = to + self.index[to..].partition_point(|e| bucket_of_key(e.0) == b);
            }
        } else {
            let from = self.index.partition_point(|e| e.0 < unit.lo);
            let to = self.index.partition_point(|e| e.0 <= unit.hi);
            ranges.push((from, to));
        }
        let mut buf = Vec::new();
        for (from, to) in ranges {
            if from == to {
                continue;
            }
            let start = self.index[from].1;
            let end = self.index.get(to).map_or(self.len, |e| e.1);
            let at = buf.len();
            buf.resize(at + (end - start) as usize, 0);
            read_exact_at(&self.file, &mut buf[at..], start).map_err(|e| SpillError::Read {
                path: self.path.clone(),
                detail: e.to_string(),
            })?;
        }
        Ok(buf)
    }
}

/// A new spill file, written and then read back by offset.
pub(crate) fn create_spill_file(path: &Path) -> Result<File, SpillError> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|source| SpillError::Write {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(unix)]
pub(crate) fn read_exact_at(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, at)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(f: &File, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match f.seek_read(buf, at) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The records of one run of a join.
pub struct ShardStore {
    n: usize,
    budget: usize,
    /// Bytes of the budget that memory held elsewhere has taken ([`ShardStore::yield_to`]).
    taken: AtomicUsize,
    unit_mem: usize,
    held: Mutex<Held>,
    runs: Mutex<Vec<Run>>,
    dir: PathBuf,
    dir_made: Mutex<bool>,
    error: Mutex<Option<SpillError>>,
    spilled_bytes: AtomicUsize,
    next_run: AtomicUsize,
    /// Handed over to [`Shards`]: its files are theirs to remove.
    finished: bool,
}

impl ShardStore {
    /// `n` hash shards per day bucket (at most [`MAX_SHARDS`]); records stay in memory up to
    /// `budget` estimated bytes, then go to sorted runs under `dir` (created when first
    /// needed, removed on drop). After parsing, the keys are cut into units of about
    /// `unit_mem` estimated bytes.
    pub fn new(n: usize, budget: usize, unit_mem: usize, dir: PathBuf) -> Self {
        ShardStore {
            n: n.clamp(1, MAX_SHARDS),
            budget,
            taken: AtomicUsize::new(0),
            unit_mem: unit_mem.max(1),
            held: Mutex::new(Held::default()),
            runs: Mutex::new(Vec::new()),
            dir,
            dir_made: Mutex::new(false),
            error: Mutex::new(None),
            spilled_bytes: AtomicUsize::new(0),
            next_run: AtomicUsize::new(0),
            finished: false,
        }
    }

    fn key(&self, t: Option<i64>, hash: u64) -> u32 {
        key_of(bucket_of(t), hash, self.n)
    }

    /// Gives up `bytes` of the budget to memory held elsewhere that grew past its own share
    /// (the authorizer invocations' heads): what is held is spilled that much sooner, down
    /// to a quarter of the budget ([`shrunk`]). Calls may come in any order; the largest
    /// counts.
    pub fn yield_to(&self, bytes: usize) {
        self.taken.fetch_max(bytes, Ordering::Relaxed);
    }

    /// The units the keys are cut into after parsing hold about `unit_mem` estimated bytes
    /// (set before [`ShardStore::finish_visiting`], once what the join holds besides them is
    /// known).
    pub fn set_unit_mem(&mut self, unit_mem: usize) {
        self.unit_mem = unit_mem.max(1);
    }

    /// Whether anything went to disk.
    pub fn spilled(&self) -> bool {
        self.spilled_bytes.load(Ordering::Relaxed) > 0
    }

    /// Bytes written to spill files so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes.load(Ordering::Relaxed) as u64
    }

    /// The first write error, which stops the run.
    pub fn take_error(&self) -> Option<SpillError> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn fail(&self, e: SpillError) {
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    fn ensure_dir(&self) -> Result<(), SpillError> {
        let mut made = self.dir_made.lock().unwrap_or_else(|e| e.into_inner());
        if !*made {
            std::fs::create_dir_all(&self.dir).map_err(|source| SpillError::CreateDir {
                path: self.dir.clone(),
                source,
            })?;
            *made = true;
        }
        Ok(())
    }

    /// Hands a worker's batch over (and empties it, keeping its capacity for the worker's
    /// next records). The batch that takes what is held past the budget writes it all to a
    /// run; the other workers go on adding meanwhile.
    pub fn add(&self, batch: &mut ShardBatch) {
        let mem = std::mem::take(&mut batch.mem);
        let full = {
            let mut h = self.held.lock().unwrap_or_else(|e| e.into_inner());
            let h = &mut *h;
            let budget = shrunk(self.budget, self.taken.load(Ordering::Relaxed));
            if h.entries.capacity() == 0 && !batch.entries.is_empty() {
                // A run's entries, estimated from this batch's, reserved at once: growing to
                // them by doubling copies them and touches fresh pages each time.
                let per_entry = (mem / batch.entries.len()).max(1);
                h.entries.reserve(run_capacity(budget / per_entry));
            }
            h.entries.reserve(batch.entries.len());
            for e in batch.entries.drain(..) {
                *h.sizes.entry(e.key).or_default() += e.mem;
                h.untimed |= bucket_of_key(e.key) == UNTIMED;
                h.entries.push(e);
            }
            h.mem += mem;
            (h.mem > budget).then(|| {
                h.mem = 0;
                // The next run is about as long: reserved at once (with room for a longer
                // one), not grown by doubling.
                let n = h.entries.len();
                std::mem::replace(&mut h.entries, Vec::with_capacity(run_capacity(n)))
            })
        };
        if let Some(entries) = full {
            if let Err(e) = self.write_run(entries) {
                self.fail(e);
            }
        }
    }

    /// Writes `entries` to a new run file in key order, freeing each as it goes.
    fn write_run(&self, entries: Vec<Entry>) -> Result<(), SpillError> {
        self.ensure_dir()?;
        let mut order: Vec<(u32, u32)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key, i as u32))
            .collect();
        order.sort_unstable();
        let mut slots: Vec<Option<Item>> = entries.into_iter().map(|e| Some(e.item)).collect();
        let n = self.next_run.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("run-{n:05}.bin"));
        let write_err = |source| SpillError::Write {
            path: path.clone(),
            source,
        };
        // Read back by offset once the parsing is done.
        let file = create_spill_file(&path)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut index: Vec<(u32, u64)> = Vec::new();
        let mut at = 0u64;
        let mut buf = Vec::new();
        for (key, i) in order {
            if index.last().is_none_or(|l| l.0 != key) {
                index.push((key, at));
            }
            let Some(item) = slots[i as usize].take() else {
                continue;
            };
            buf.clear();
            frame(&mut buf, &item.as_ref());
            drop(item);
            w.write_all(&buf).map_err(write_err)?;
            at += buf.len() as u64;
        }
        w.flush().map_err(write_err)?;
        let file = w.into_inner().map_err(|e| write_err(e.into_error()))?;
        index.shrink_to_fit();
        self.spilled_bytes.fetch_add(at as usize, Ordering::Relaxed);
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.push(Run {
            path,
            file,
            index,
            len: at,
        });
        Ok(())
    }

    /// Ends the parsing and deduplicates every unit, in parallel, into [`Request`]s. Returns
    /// the units and the duplicate counts.
    pub fn finish(self) -> Result<Shards, SpillError> {
        self.finish_visiting(|_, _| {})
    }

    /// [`ShardStore::finish`], calling `f` on every deduplicated unit in order while it is
    /// still in memory (as [`Shards::visit`] would, without reading it back). Units are
    /// deduplicated a window of as many as the pool has threads at a time.
    pub fn finish_visiting(
        mut self,
        mut f: impl FnMut(u32, &[Request]) + Send,
    ) -> Result<Shards, SpillError> {
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        let held = std::mem::take(self.held.get_mut().unwrap_or_else(|e| e.into_inner()));
        let runs = std::mem::take(self.runs.get_mut().unwrap_or_else(|e| e.into_inner()));
        let spilled = !runs.is_empty();
        let units = cut_units(held.sizes, self.unit_mem, held.untimed);
        // What is still in memory, by unit.
        let mut parts: Vec<UnitRecords> = units.iter().map(|_| UnitRecords::default()).collect();
        for e in held.entries {
            let u = units.partition_point(|u| u.hi < u.place(e.key));
            parts[u].push(e.item);
        }
        let mut out = Shards {
            shards: Vec::with_capacity(units.len()),
            duplicate_records: 0,
            conflicting_duplicate_ids: 0,
            dir: spilled.then(|| self.dir.clone()),
        };
        self.finished = true;
        let gather = |unit: &Unit, mut records: UnitRecords| -> Result<UnitRecords, SpillError> {
            for run in &runs {
                let bytes = run.read_unit(unit)?;
                for item in frames::<Item>(&bytes, &run.path) {
                    records.push(item?);
                }
            }
            Ok(records)
        };
        use rayon::prelude::*;
        let window = rayon::current_num_threads().max(1);
        let mut todo = units.iter().zip(parts).enumerate();
        // The units deduplicated last round, handed to `f` (in unit order, on one thread)
        // while the next round's are deduplicated on the others.
        let mut pending: Vec<Result<Deduped, SpillError>> = Vec::new();
        let result = (|| -> Result<(), SpillError> {
            loop {
                let chunk: Vec<_> = todo.by_ref().take(window).collect();
                if chunk.is_empty() && pending.is_empty() {
                    return Ok(());
                }
                let (done, handed) = rayon::join(
                    || {
                        chunk
                            .into_par_iter()
                            .map(|(i, (unit, part))| {
                                let records = gather(unit, part)?;
                                let path = self.dir.join(format!("unit-{i:05}.bin"));
                                dedupe_unit(records, unit, path, spilled)
                            })
                            .collect::<Vec<Result<Deduped, SpillError>>>()
                    },
                    || -> Result<(), SpillError> {
                        for r in pending.drain(..) {
                            let (data, dups, conflicts, spilled_requests) = r?;
                            let s = out.shards.len() as u32;
                            match &data.file {
                                None => f(s, &data.held),
                                Some(_) => f(s, &spilled_requests),
                            }
                            out.duplicate_records += dups;
                            out.conflicting_duplicate_ids += conflicts;
                            out.shards.push(data);
                        }
                        Ok(())
                    },
                );
                handed?;
                pending = done;
            }
        })();
        for run in runs {
            let _ = std::fs::remove_file(&run.path);
        }
        result?;
        Ok(out)
    }
}

impl Drop for ShardStore {
    fn drop(&mut self) {
        // Dropped unfinished (an error or an interrupt): the files go. A finished store hands
        // its directory over to [`Shards`].
        let made = *self.dir_made.get_mut().unwrap_or_else(|e| e.into_inner());
        if !self.finished && made {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A range of keys deduplicated together: keys `lo..=hi`, or (`by_shard`) the keys of hash
/// shards `lo..=hi` in every day bucket.
struct Unit {
    lo: u32,
    hi: u32,
    by_shard: bool,
}

impl Unit {
    /// Where key `k` falls in the order of units like this one.
    fn place(&self, k: u32) -> u32 {
        if self.by_shard {
            shard_of_key(k)
        } else {
            k
        }
    }

    /// The earliest day of its records (see [`ShardData::first_day`]).
    fn first_day(&self) -> i64 {
        if self.by_shard {
            i64::MIN
        } else {
            first_day_of(bucket_of_key(self.lo))
        }
    }
}

/// Cuts the keys in order into units of about `unit_mem` estimated bytes; by hash shard
/// across the days when some records have no time (`untimed`). A unit holds whole keys, so
/// every record of a request is in one unit.
fn cut_units(sizes: HashMap<u32, usize>, unit_mem: usize, untimed: bool) -> Vec<Unit> {
    let mut keys: Vec<(u32, usize)> = if untimed {
        let mut by_shard: HashMap<u32, usize> = HashMap::new();
        for (k, m) in sizes {
            *by_shard.entry(shard_of_key(k)).or_default() += m;
        }
        by_shard.into_iter().collect()
    } else {
        sizes.into_iter().collect()
    };
    keys.sort_unstable();
    let mut units: Vec<Unit> = Vec::new();
    let mut mem = 0usize;
    for (k, m) in keys {
        match units.last_mut() {
            Some(u) if mem + m <= unit_mem => {
                u.hi = k;
                mem += m;
            }
            _ => {
                units.push(Unit {
                    lo: k,
                    hi: k,
                    by_shard: untimed,
                });
                mem = m;
            }
        }
    }
    units
}

/// A unit's records before deduplication, as [`crate::join::dedupe`] takes them.
#[derive(Default)]
struct UnitRecords {
    access: Vec<AccessRecord>,
    exec: Vec<(String, ExecFacts)>,
}

impl UnitRecords {
    fn push(&mut self, item: Item) {
        match item {
            Item::Access(r) => self.access.push(r),
            Item::Exec(id, f) => self.exec.push((id, f)),
        }
    }
}

/// A unit after deduplication: its data, its duplicate and conflict counts, and (for a
/// spilled run) its requests, visited once before they are dropped.
type Deduped = (ShardData, u64, u64, Vec<Request>);

/// Deduplicates one unit's records. When the run spilled, the deduplicated requests are
/// written to `path` (the join reads each unit more than once) and also returned, to be
/// visited once before they are dropped.
fn dedupe_unit(
    records: UnitRecords,
    unit: &Unit,
    path: PathBuf,
    spilled: bool,
) -> Result<Deduped, SpillError> {
    let d = crate::join::dedupe(records.access, records.exec);
    let mem = d
        .requests
        .iter()
        .map(|r| record_mem(&r.access) + 2 * std::mem::size_of::<ExecFacts>())
        .sum();
    let first_day = unit.first_day();
    if !spilled {
        let data = ShardData {
            len: d.requests.len(),
            held: d.requests,
            file: None,
            mem,
            first_day,
        };
        return Ok((
            data,
            d.duplicate_records,
            d.conflicting_duplicate_ids,
            Vec::new(),
        ));
    }
    let write_err = |source| SpillError::Write {
        path: path.clone(),
        source,
    };
    let mut w = BufWriter::new(File::create(&path).map_err(write_err)?);
    let mut buf = Vec::new();
    for r in &d.requests {
        buf.clear();
        frame(&mut buf, r);
        w.write_all(&buf).map_err(write_err)?;
    }
    w.flush().map_err(write_err)?;
    let data = ShardData {
        held: Vec::new(),
        file: Some(path),
        len: d.requests.len(),
        mem,
        first_day,
    };
    Ok((
        data,
        d.duplicate_records,
        d.conflicting_duplicate_ids,
        d.requests,
    ))
}

/// One deduplicated unit: in memory, or in its file.
pub struct ShardData {
    held: Vec<Request>,
    file: Option<PathBuf>,
    len: usize,
    mem: usize,
    first_day: i64,
}

impl ShardData {
    /// Requests in the shard.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the shard has no request.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Estimated bytes of its requests once in memory.
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// The earliest day (days since the epoch, UTC) of its requests' times; no unit after it
    /// has an earlier one. `i64::MIN` when the units were cut across the days (some records
    /// have no time), `i64::MAX` for the units of records without a time.
    pub fn first_day(&self) -> i64 {
        self.first_day
    }

    /// The shard's requests, owned (the in-memory ones are handed over).
    pub fn take(&mut self) -> Result<Vec<Request>, SpillError> {
        match &self.file {
            None => Ok(std::mem::take(&mut self.held)),
            Some(path) => read_requests(path),
        }
    }
}

fn read_requests(path: &Path) -> Result<Vec<Request>, SpillError> {
    let bytes = read_all(path)?;
    frames::<Request>(&bytes, path).collect()
}

/// The requests of a unit's file with their indexes: all, or only those at the `wanted`
/// indexes (ascending; the others are not decoded).
fn read_requests_at(
    path: &Path,
    wanted: Option<&[u32]>,
) -> Result<Vec<(u32, Request)>, SpillError> {
    let bytes = read_all(path)?;
    let mut want = wanted.map(|w| w.iter().copied().peekable());
    let mut out = Vec::with_capacity(wanted.map_or(0, <[u32]>::len));
    for (i, body) in raw_frames(&bytes, path).enumerate() {
        // A damaged frame is an error even where it would have been skipped.
        let body = body?;
        let i = i as u32;
        if let Some(w) = &mut want {
            match w.peek() {
                None => break,
                Some(&next) if next != i => continue,
                Some(_) => {
                    w.next();
                }
            }
        }
        out.push((i, decode(body, path)?));
    }
    Ok(out)
}

fn read_all(path: &Path) -> Result<Vec<u8>, SpillError> {
    std::fs::read(path).map_err(|e| SpillError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// The deduplicated shards of a run.
pub struct Shards {
    /// In shard order.
    pub shards: Vec<ShardData>,
    /// Identical records seen twice, counted once.
    pub duplicate_records: u64,
    /// Different records sharing a request key.
    pub conflicting_duplicate_ids: u64,
    dir: Option<PathBuf>,
}

impl Shards {
    /// Runs `f` over the requests of every unit in unit order, each with its index in the
    /// unit: all of them, or (`rows`, by unit) only those at the listed indexes, ascending.
    /// Then a spilled unit's other records are skipped without being decoded, and a unit
    /// with none listed is not read at all. Spilled units are read back `window` at a time in
    /// parallel (on the current rayon pool) while `f` runs over the previous round's.
    pub fn visit(
        &self,
        window: usize,
        rows: Option<&[Vec<u32>]>,
        mut f: impl FnMut(u32, &[(u32, &Request)]) + Send,
    ) -> Result<(), SpillError> {
        use rayon::prelude::*;
        let window = window.max(1);
        let wanted = |u: usize| rows.map(|r| r.get(u).map_or(&[][..], Vec::as_slice));
        type Loaded = Result<Option<Vec<(u32, Request)>>, SpillError>;
        let load = |c: usize, chunk: &[ShardData]| -> Vec<Loaded> {
            chunk
                .par_iter()
                .enumerate()
                .map(|(k, sh)| match (&sh.file, wanted(c * window + k)) {
                    (None, _) => Ok(None),
                    (Some(_), Some([])) => Ok(Some(Vec::new())),
                    (Some(p), w) => read_requests_at(p, w).map(Some),
                })
                .collect()
        };
        // Each round's units are handed to `f` while the next round's are read.
        let mut chunks = self.shards.chunks(window).enumerate().peekable();
        let mut loaded = chunks
            .peek()
            .map(|&(c, ch)| load(c, ch))
            .unwrap_or_default();
        while let Some((c, chunk)) = chunks.next() {
            let next = chunks.peek().copied();
            let current = std::mem::take(&mut loaded);
            let (read, handed) = rayon::join(
                || next.map(|(c, ch)| load(c, ch)).unwrap_or_default(),
                || -> Result<(), SpillError> {
                    for (k, (sh, l)) in chunk.iter().zip(current).enumerate() {
                        let u = c * window + k;
                        let l = l?;
                        let items: Vec<(u32, &Request)> = match (&l, wanted(u)) {
                            (Some(v), _) => v.iter().map(|(i, r)| (*i, r)).collect(),
                            (None, None) => sh
                                .held
                                .iter()
                                .enumerate()
                                .map(|(i, r)| (i as u32, r))
                                .collect(),
                            (None, Some(w)) => w
                                .iter()
                                .filter_map(|&i| sh.held.get(i as usize).map(|r| (i, r)))
                                .collect(),
                        };
                        f(u as u32, &items);
                    }
                    Ok(())
                },
            );
            handed?;
            loaded = read;
        }
        Ok(())
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Appends `item` as a length-prefixed postcard frame.
fn frame<T: Serialize + ?Sized>(out: &mut Vec<u8>, item: &T) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    // Serializing these types into a Vec cannot fail.
    let mut v = std::mem::take(out);
    v = postcard::to_extend(item, v).unwrap_or_else(|_| unreachable!("postcard into a Vec"));
    let len = (v.len() - at - 4) as u32;
    v[at..at + 4].copy_from_slice(&len.to_le_bytes());
    *out = v;
}

/// The frames of a spill file.
fn frames<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    path: &'a Path,
) -> impl Iterator<Item = Result<T, SpillError>> + 'a {
    raw_frames(bytes, path).map(move |body| decode(body?, path))
}

/// The bodies of the length-prefixed frames in `bytes`, undecoded; a cut-short frame is the
/// last item, an error.
fn raw_frames<'a>(
    bytes: &'a [u8],
    path: &'a Path,
) -> impl Iterator<Item = Result<&'a [u8], SpillError>> + 'a {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let bad = |detail: &str| {
            Some(Err(SpillError::Read {
                path: path.to_path_buf(),
                detail: detail.to_string(),
            }))
        };
        let Some(head) = bytes.get(at..at + 4) else {
            at = bytes.len();
            return bad("truncated frame header");
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(body) = bytes.get(at + 4..at + 4 + len) else {
            at = bytes.len();
            return bad("truncated frame");
        };
        at += 4 + len;
        Some(Ok(body))
    })
}

fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], path: &Path) -> Result<T, SpillError> {
    postcard::from_bytes(body).map_err(|e| SpillError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::records::access::{AccessParser, Parsed};

    fn rec(id: &str, line: u64) -> AccessRecord {
        rec_at(id, line, 1_760_450_702_000)
    }

    /// An access record of request `id` at `ms` (its `requestTimeEpoch`).
    fn rec_at(id: &str, line: u64, ms: i64) -> AccessRecord {
        let msg = format!(
            r#"{{"requestId":"{id}","ip":"198.51.100.7","requestTimeEpoch":"{ms}","httpMethod":"GET","resourcePath":"/x","status":"403","protocol":"HTTP/1.1","responseLength":"42"}}"#
        );
        match AccessParser::new(None)
            .parse(
                &msg,
                Origin {
                    file: 0,
                    line,
                    offset: line * 100,
                },
            )
            .unwrap()
        {
            Parsed::Record(r) => *r,
            Parsed::NotAccess => panic!("not access"),
        }
    }

    fn ids(shards: &Shards) -> Vec<String> {
        let mut v = Vec::new();
        shards
            .visit(2, None, |_, reqs| {
                v.extend(reqs.iter().map(|(_, r)| r.access.request_id().to_string()));
            })
            .unwrap();
        v.sort();
        v
    }

    fn run(budget: usize, dir: &Path) -> (Shards, bool) {
        let store = ShardStore::new(8, budget, 1 << 20, dir.to_path_buf());
        let mut b = ShardBatch::default();
        for i in 0..500u64 {
            b.access(&store, rec(&format!("id-{i:04}"), i + 1));
            if i % 3 == 0 {
                // The same record again: a duplicate.
                b.access(&store, rec(&format!("id-{i:04}"), i + 1));
            }
            if b.mem() > 20_000 {
                store.add(&mut b);
            }
        }
        store.add(&mut b);
        let spilled = store.spilled();
        (store.finish().unwrap(), spilled)
    }

    #[test]
    fn spilled_and_held_shards_hold_the_same_requests() {
        let tmp = tempfile::tempdir().unwrap();
        let (mem, mem_spilled) = run(usize::MAX, &tmp.path().join("a"));
        let (disk, disk_spilled) = run(10_000, &tmp.path().join("b"));
        assert!(!mem_spilled && disk_spilled);
        assert!(tmp.path().join("b").exists());
        assert!(!tmp.path().join("a").exists());
        assert_eq!(ids(&mem), ids(&disk));
        assert_eq!(ids(&mem).len(), 500);
        assert_eq!(mem.duplicate_records, 167);
        assert_eq!(disk.duplicate_records, 167);
        drop(disk);
        assert!(!tmp.path().join("b").exists(), "spill files removed");
    }

    #[test]
    fn a_visit_of_listed_rows_gives_those_requests_and_reads_no_other_unit() {
        for budget in [usize::MAX, 10_000] {
            let tmp = tempfile::tempdir().unwrap();
            let (shards, spilled) = run(budget, &tmp.path().join("s"));
            assert_eq!(spilled, budget != usize::MAX);
            let mut all: Vec<(u32, u32, String)> = Vec::new();
            shards
                .visit(2, None, |s, reqs| {
                    for (i, r) in reqs {
                        all.push((s, *i, r.access.request_id().to_string()));
                    }
                })
                .unwrap();
            assert_eq!(all.len(), 500);
            // Every third request of every other unit; none of the others.
            let rows: Vec<Vec<u32>> = shards
                .shards
                .iter()
                .enumerate()
                .map(|(u, sh)| {
                    if u % 2 == 1 {
                        return Vec::new();
                    }
                    (0..sh.len() as u32).filter(|i| i % 3 == 0).collect()
                })
                .collect();
            let want: Vec<_> = all
                .iter()
                .filter(|(s, i, _)| rows[*s as usize].contains(i))
                .cloned()
                .collect();
            assert!(!want.is_empty() && want.len() < all.len());
            // A unit with nothing listed is not read: its file may even be gone.
            if spilled {
                for sh in shards.shards.iter().skip(1).step_by(2) {
                    std::fs::remove_file(sh.file.as_ref().unwrap()).unwrap();
                }
            }
            let mut got = Vec::new();
            shards
                .visit(3, Some(&rows), |s, reqs| {
                    for (i, r) in reqs {
                        got.push((s, *i, r.access.request_id().to_string()));
                    }
                })
                .unwrap();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn memory_held_elsewhere_makes_the_store_spill_sooner_down_to_a_quarter() {
        assert_eq!(shrunk(1000, 0), 1000);
        assert_eq!(shrunk(1000, 300), 700);
        assert_eq!(shrunk(1000, 900), 250);
        assert_eq!(shrunk(1000, usize::MAX), 250);
        // 200 records of ~320 bytes each: under a 100 KB budget nothing spills; once 80 KB
        // of it is taken elsewhere, the store holds at most a quarter (25 KB) and spills.
        let fill = |taken: usize| {
            let tmp = tempfile::tempdir().unwrap();
            let store = ShardStore::new(8, 100_000, 1 << 20, tmp.path().join("s"));
            store.yield_to(taken);
            // A smaller report than the largest so far changes nothing.
            store.yield_to(taken / 2);
            let mut b = ShardBatch::default();
            for i in 0..200u64 {
                b.access(&store, rec(&format!("id-{i:04}"), i + 1));
                store.add(&mut b);
            }
            let spilled = store.spilled();
            let shards = store.finish().unwrap();
            assert_eq!(ids(&shards).len(), 200);
            spilled
        };
        let one = record_mem(&rec("id-0000", 1));
        assert!((200..450).contains(&one), "{one} bytes a record");
        assert!(!fill(0));
        assert!(fill(80_000));
    }

    #[test]
    fn finishing_visits_each_shard_once_in_order_as_a_visit_would() {
        for budget in [usize::MAX, 10_000] {
            let tmp = tempfile::tempdir().unwrap();
            // One key per unit: the 8 shards of the records' one day.
            let store = ShardStore::new(8, budget, 1, tmp.path().join("s"));
            let mut b = ShardBatch::default();
            for i in 0..300u64 {
                b.access(&store, rec(&format!("id-{i:04}"), i + 1));
                if b.mem() > 20_000 {
                    store.add(&mut b);
                }
            }
            store.add(&mut b);
            assert_eq!(store.spilled(), budget != usize::MAX);
            let mut seen: Vec<(u32, Vec<String>)> = Vec::new();
            let shards = store
                .finish_visiting(|s, reqs| {
                    seen.push((
                        s,
                        reqs.iter()
                            .map(|r| r.access.request_id().to_string())
                            .collect(),
                    ))
                })
                .unwrap();
            let mut again: Vec<(u32, Vec<String>)> = Vec::new();
            shards
                .visit(3, None, |s, reqs| {
                    again.push((
                        s,
                        reqs.iter()
                            .map(|(_, r)| r.access.request_id().to_string())
                            .collect(),
                    ))
                })
                .unwrap();
            assert_eq!(seen, again);
            assert_eq!(
                seen.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
                (0..8).collect::<Vec<_>>()
            );
            assert_eq!(seen.iter().map(|(_, v)| v.len()).sum::<usize>(), 300);
        }
    }

    fn day_of(r: &Request) -> i64 {
        r.access
            .time_ms()
            .map_or(i64::MAX, |t| t.div_euclid(MS_PER_DAY))
    }

    fn facts_at(ms: Option<i64>, line: u64) -> ExecFacts {
        let mut f = ExecFacts::default();
        f.first_time_ms = ms;
        f.method_status = Some(403);
        f.origin = Origin {
            file: 1,
            line,
            offset: line * 100,
        };
        f
    }

    #[test]
    fn units_walk_the_days_in_order_and_keep_each_request_whole() {
        const DAY0: i64 = 20_000 * MS_PER_DAY;
        for budget in [usize::MAX, 30_000] {
            let tmp = tempfile::tempdir().unwrap();
            let store = ShardStore::new(4, budget, 8_000, tmp.path().join("s"));
            let mut b = ShardBatch::default();
            // Three days of requests, added newest first.
            for i in (0..600i64).rev() {
                let t = DAY0 + i * (3 * MS_PER_DAY / 600);
                b.access(&store, rec_at(&format!("r-{i:04}"), i as u64 + 1, t));
                if b.mem() > 10_000 {
                    store.add(&mut b);
                }
            }
            // Half a second before midnight, and its execution log lines just after.
            b.access(&store, rec_at("midnight", 900, DAY0 + MS_PER_DAY - 500));
            b.exec(
                &store,
                "midnight".into(),
                facts_at(Some(DAY0 + MS_PER_DAY + 200), 1),
            );
            store.add(&mut b);
            assert_eq!(store.spilled(), budget != usize::MAX);
            let shards = store.finish().unwrap();
            assert!(shards.shards.len() > 4, "{} units", shards.shards.len());
            let mut seen: Vec<(u32, String, i64, bool)> = Vec::new();
            shards
                .visit(2, None, |s, reqs| {
                    for (_, r) in reqs {
                        let id = r.access.request_id().to_string();
                        seen.push((s, id, day_of(r), r.exec.is_some()));
                    }
                })
                .unwrap();
            assert_eq!(
                seen.len(),
                601,
                "every request once: none made up from its execution log"
            );
            let first: Vec<i64> = shards.shards.iter().map(ShardData::first_day).collect();
            assert!(first.windows(2).all(|w| w[0] <= w[1]), "{first:?}");
            assert_eq!(
                first[0], 19_999,
                "the first request, at midnight, is in that midnight's bucket"
            );
            for (s, id, day, _) in &seen {
                assert!(*day >= first[*s as usize], "{id} of day {day} in unit {s}");
            }
            let midnight = seen.iter().find(|x| x.1 == "midnight").unwrap();
            assert!(midnight.3, "joined across midnight");
        }
    }

    #[test]
    fn records_without_a_time_put_the_units_across_the_days_and_still_join() {
        const DAY0: i64 = 20_000 * MS_PER_DAY;
        for budget in [usize::MAX, 20_000] {
            let tmp = tempfile::tempdir().unwrap();
            let store = ShardStore::new(4, budget, 8_000, tmp.path().join("s"));
            let mut b = ShardBatch::default();
            for i in 0..300i64 {
                let id = format!("r-{i:04}");
                b.access(
                    &store,
                    rec_at(&id, i as u64 + 1, DAY0 + i * (MS_PER_DAY / 100)),
                );
                // Execution log lines read without their time.
                b.exec(&store, id, facts_at(None, i as u64 + 1));
                if b.mem() > 10_000 {
                    store.add(&mut b);
                }
            }
            store.add(&mut b);
            assert_eq!(store.spilled(), budget != usize::MAX);
            let shards = store.finish().unwrap();
            assert!(shards.shards.len() > 1);
            assert!(shards.shards.iter().all(|u| u.first_day() == i64::MIN));
            let mut joined = 0;
            let mut all = 0;
            shards
                .visit(2, None, |_, reqs| {
                    all += reqs.len();
                    joined += reqs.iter().filter(|(_, r)| r.exec.is_some()).count();
                })
                .unwrap();
            assert_eq!((all, joined), (300, 300));
        }
    }

    #[test]
    fn buckets_follow_the_days_with_the_midnights_between_them() {
        let h = 3_600_000;
        let d = 20_000 * MS_PER_DAY;
        let b = |t| bucket_of(Some(t));
        assert!(b(d - h - 1) < b(d - h) && b(d - h) == b(d + h - 1) && b(d + h - 1) < b(d + h));
        assert_eq!(first_day_of(b(d + h)), 20_000);
        assert_eq!(first_day_of(b(d)), 19_999);
        assert_eq!(first_day_of(b(d - 2 * h)), 19_999);
        assert_eq!(bucket_of(None), UNTIMED);
        assert_eq!(first_day_of(UNTIMED), i64::MAX);
        // Far outside the range of real logs: clamped, still in order.
        assert!(b(i64::MIN / 2) <= b(-MS_PER_DAY) && b(d) < b(i64::MAX / 2));
        assert!(b(i64::MAX / 2) < UNTIMED);
        assert!(first_day_of(b(i64::MAX / 2)) <= (i64::MAX / 2).div_euclid(MS_PER_DAY));
    }

    #[test]
    fn a_corrupt_spill_file_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.bin");
        std::fs::write(&p, [9, 0, 0, 0, 1, 2]).unwrap();
        assert!(read_requests(&p).is_err());
        std::fs::write(&p, [2, 0, 0, 0, 0xff, 0xff]).unwrap();
        assert!(read_requests(&p).is_err());
        // Cut short after the frames asked for, or among those passed over: still an error,
        // never fewer requests than asked for.
        std::fs::write(&p, [0, 0, 0, 0, 9, 0, 0, 0, 1]).unwrap();
        assert!(read_requests_at(&p, Some(&[1])).is_err());
        assert!(read_requests_at(&p, Some(&[5])).is_err());
    }

    #[test]
    fn a_spill_write_error_says_what_to_do_for_its_cause() {
        let msg = |errno| {
            SpillError::Write {
                path: "/spill/run-00000.bin".into(),
                source: std::io::Error::from_raw_os_error(errno),
            }
            .to_string()
        };
        let full = msg(libc::ENOSPC);
        assert!(full.contains("/spill/run-00000.bin"), "{full}");
        assert!(full.contains("no room left"), "{full}");
        assert!(full.contains("--spill-dir") && full.contains("--memory-limit"));
        assert!(msg(libc::EDQUOT).contains("no room left"));
        assert!(msg(libc::EFBIG).contains("ulimit -f"));
        let ro = msg(libc::EROFS);
        assert!(
            ro.contains("writable directory") && !ro.contains("no room"),
            "{ro}"
        );
        let io = msg(libc::EIO);
        assert!(
            io.contains("check the disk") && !io.contains("no room"),
            "{io}"
        );
    }

    #[test]
    fn an_unwritable_spill_dir_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let store = ShardStore::new(4, 0, 1 << 20, file.join("spill"));
        let mut b = ShardBatch::default();
        b.access(&store, rec("a", 1));
        store.add(&mut b);
        let e = store.finish().err().expect("an error");
        assert!(e.to_string().contains("--spill-dir"), "{e}");
    }
}
