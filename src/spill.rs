//! The join's input, split into hash shards by request id, held in memory while it fits in
//! the memory budget and spilled to disk past it (a grace hash join: every record of one
//! request lands in the same shard, so shards are joined one at a time).
//!
//! Parsing workers add records through a [`ShardBatch`] of their own and hand it over in
//! bulk. While the estimated size of what is held stays under the budget, records stay as
//! they are; the first batch that would cross it spills every shard to its file under the
//! spill directory, and from then on batches are serialized (postcard, length-prefixed) and
//! appended. After parsing, each shard is deduplicated once ([`crate::join::dedupe`]) and
//! read back as often as the join needs.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::join::Request;
use crate::records::access::AccessRecord;
use crate::records::execution::ExecFacts;

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
    #[error("cannot write the spill file {path}: {source}; the input did not fit in --memory-limit and the spill disk has no room left: free space there, point --spill-dir at a larger disk, or raise --memory-limit")]
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

/// What a shard holds before deduplication.
#[derive(Serialize)]
enum ItemRef<'a> {
    Access(&'a AccessRecord),
    Exec(&'a str, &'a ExecFacts),
}

#[derive(Deserialize)]
enum Item {
    Access(AccessRecord),
    Exec(String, ExecFacts),
}

/// Estimated heap bytes of a record held in memory (its text, slots and bookkeeping).
pub fn record_mem(r: &AccessRecord) -> usize {
    r.approx_heap_bytes() + std::mem::size_of::<AccessRecord>()
}

fn exec_mem(id: &str, _f: &ExecFacts) -> usize {
    id.len() + 2 * std::mem::size_of::<ExecFacts>()
}

/// The shard of a request id: a fixed hash, so the layout does not depend on thread count or
/// file order.
pub fn shard_of(id: &str, shards: usize) -> usize {
    (xxhash_rust::xxh3::xxh3_64(id.as_bytes()) % shards as u64) as usize
}

/// A worker's records on their way to the store.
#[derive(Default)]
pub struct ShardBatch {
    access: Vec<(u32, AccessRecord)>,
    exec: Vec<(u32, String, ExecFacts)>,
    mem: usize,
}

impl ShardBatch {
    /// Estimated bytes held.
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// Adds an access record.
    pub fn access(&mut self, store: &ShardStore, r: AccessRecord) {
        let s = shard_of(r.request_id(), store.n) as u32;
        self.mem += record_mem(&r);
        self.access.push((s, r));
    }

    /// Adds execution-log facts about request `id`.
    pub fn exec(&mut self, store: &ShardStore, id: String, f: ExecFacts) {
        let s = shard_of(&id, store.n) as u32;
        self.mem += exec_mem(&id, &f);
        self.exec.push((s, id, f));
    }
}

#[derive(Default)]
struct Shard {
    access: Vec<AccessRecord>,
    exec: Vec<(String, ExecFacts)>,
    /// Estimated bytes of `access` and `exec`.
    mem: usize,
    /// Serialized items not yet appended to the file.
    pending: Vec<u8>,
    /// Bytes in the file.
    spilled: u64,
}

/// The shards of one run.
pub struct ShardStore {
    n: usize,
    shards: Vec<Mutex<Shard>>,
    budget: usize,
    held: AtomicUsize,
    spilling: AtomicBool,
    dir: PathBuf,
    dir_made: Mutex<bool>,
    /// Flush a shard's pending bytes at this size.
    pending_cap: usize,
    error: Mutex<Option<SpillError>>,
    spilled_bytes: AtomicUsize,
}

impl ShardStore {
    /// `n` shards; records stay in memory up to `budget` estimated bytes, then go to files
    /// under `dir` (created when first needed, removed on drop).
    pub fn new(n: usize, budget: usize, dir: PathBuf) -> Self {
        let n = n.max(1);
        ShardStore {
            n,
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            budget,
            held: AtomicUsize::new(0),
            spilling: AtomicBool::new(false),
            dir,
            dir_made: Mutex::new(false),
            pending_cap: (budget / 8 / n).clamp(16 << 10, 1 << 20),
            error: Mutex::new(None),
            spilled_bytes: AtomicUsize::new(0),
        }
    }

    /// Whether anything went to disk.
    pub fn spilled(&self) -> bool {
        self.spilling.load(Ordering::Relaxed)
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

    fn path(&self, s: usize) -> PathBuf {
        self.dir.join(format!("shard-{s:05}.bin"))
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
    /// next records).
    pub fn add(&self, batch: &mut ShardBatch) {
        let mem = std::mem::take(&mut batch.mem);
        if !self.spilling.load(Ordering::Acquire) {
            let held = self.held.fetch_add(mem, Ordering::AcqRel) + mem;
            if held <= self.budget {
                for (s, r) in batch.access.drain(..) {
                    let mut sh = self.lock(s as usize);
                    sh.mem += record_mem(&r);
                    sh.access.push(r);
                }
                for (s, id, f) in batch.exec.drain(..) {
                    let mut sh = self.lock(s as usize);
                    sh.mem += exec_mem(&id, &f);
                    sh.exec.push((id, f));
                }
                return;
            }
            self.start_spilling();
        }
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); self.n];
        for (s, r) in &batch.access {
            frame(&mut bufs[*s as usize], &ItemRef::Access(r));
        }
        for (s, id, f) in &batch.exec {
            frame(&mut bufs[*s as usize], &ItemRef::Exec(id, f));
        }
        batch.access.clear();
        batch.exec.clear();
        for (s, b) in bufs.into_iter().enumerate() {
            if b.is_empty() {
                continue;
            }
            let mut sh = self.lock(s);
            sh.pending.extend_from_slice(&b);
            if sh.pending.len() >= self.pending_cap {
                self.flush(s, &mut sh);
            }
        }
    }

    fn lock(&self, s: usize) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[s].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves everything held in memory to the shard files.
    fn start_spilling(&self) {
        if self.spilling.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Err(e) = self.ensure_dir() {
            self.fail(e);
            return;
        }
        for s in 0..self.n {
            let mut sh = self.lock(s);
            let access = std::mem::take(&mut sh.access);
            let exec = std::mem::take(&mut sh.exec);
            self.held.fetch_sub(sh.mem, Ordering::AcqRel);
            sh.mem = 0;
            for r in &access {
                frame(&mut sh.pending, &ItemRef::Access(r));
                if sh.pending.len() >= self.pending_cap {
                    self.flush(s, &mut sh);
                }
            }
            for (id, f) in &exec {
                frame(&mut sh.pending, &ItemRef::Exec(id, f));
            }
            self.flush(s, &mut sh);
        }
    }

    fn flush(&self, s: usize, sh: &mut Shard) {
        if sh.pending.is_empty() {
            return;
        }
        let path = self.path(s);
        let res = self.ensure_dir().and_then(|()| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(&sh.pending))
                .map_err(|source| SpillError::Write {
                    path: path.clone(),
                    source,
                })
        });
        match res {
            Ok(()) => {
                sh.spilled += sh.pending.len() as u64;
                self.spilled_bytes
                    .fetch_add(sh.pending.len(), Ordering::Relaxed);
            }
            Err(e) => self.fail(e),
        }
        sh.pending.clear();
        sh.pending.shrink_to(self.pending_cap);
    }

    /// Ends the parsing: writes what is pending and deduplicates every shard, in parallel,
    /// into [`Request`]s. Returns the shards and the duplicate counts.
    pub fn finish(self) -> Result<Shards, SpillError> {
        self.finish_visiting(|_, _| {})
    }

    /// [`ShardStore::finish`], calling `f` on every deduplicated shard in shard order while
    /// it is still in memory (as [`Shards::visit`] would, without reading it back). Shards
    /// are deduplicated a window of as many as the pool has threads at a time.
    pub fn finish_visiting(
        mut self,
        mut f: impl FnMut(u32, &[Request]),
    ) -> Result<Shards, SpillError> {
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        let spilled = self.spilled();
        let dir = self.dir.clone();
        let n = self.n;
        let shards: Vec<Shard> = std::mem::take(&mut self.shards)
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        use rayon::prelude::*;
        let window = rayon::current_num_threads().max(1);
        let mut shards = shards.into_iter().enumerate();
        let mut out = Shards {
            shards: Vec::with_capacity(n),
            duplicate_records: 0,
            conflicting_duplicate_ids: 0,
            dir: spilled.then(|| dir.clone()),
        };
        loop {
            let chunk: Vec<(usize, Shard)> = shards.by_ref().take(window).collect();
            if chunk.is_empty() {
                break;
            }
            let done: Vec<Result<Deduped, SpillError>> = chunk
                .into_par_iter()
                .map(|(s, sh)| dedupe_shard(sh, self.path(s), spilled))
                .collect();
            for r in done {
                let (data, dups, conflicts, spilled_requests) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        if spilled {
                            let _ = std::fs::remove_dir_all(&dir);
                        }
                        return Err(e);
                    }
                };
                let s = out.shards.len() as u32;
                match &data.file {
                    None => f(s, &data.held),
                    Some(_) => f(s, &spilled_requests),
                }
                out.duplicate_records += dups;
                out.conflicting_duplicate_ids += conflicts;
                out.shards.push(data);
            }
        }
        Ok(out)
    }
}

impl Drop for ShardStore {
    fn drop(&mut self) {
        // Dropped unfinished (an error or an interrupt): the files go. A finished store hands
        // its files over to [`Shards`].
        if !self.shards.is_empty() && self.spilling.load(Ordering::Relaxed) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A shard after deduplication: its data, its duplicate and conflict counts, and (for a
/// spilled shard) its requests, visited once before they are dropped.
type Deduped = (ShardData, u64, u64, Vec<Request>);

/// Deduplicates one shard: what it holds plus what its file at `path` has. When the run
/// spilled, the deduplicated requests are written back to `path` (the join reads each shard
/// more than once) and also returned, to be visited once before they are dropped.
fn dedupe_shard(mut sh: Shard, path: PathBuf, spilled: bool) -> Result<Deduped, SpillError> {
    let (mut access, mut exec) = (std::mem::take(&mut sh.access), std::mem::take(&mut sh.exec));
    if sh.spilled > 0 || !sh.pending.is_empty() {
        let mut bytes = Vec::new();
        if sh.spilled > 0 {
            File::open(&path)
                .and_then(|f| BufReader::new(f).read_to_end(&mut bytes))
                .map_err(|e| SpillError::Read {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
        }
        bytes.extend_from_slice(&sh.pending);
        for item in frames::<Item>(&bytes, &path) {
            match item? {
                Item::Access(r) => access.push(r),
                Item::Exec(id, f) => exec.push((id, f)),
            }
        }
    }
    let d = crate::join::dedupe(access, exec);
    let mem = d
        .requests
        .iter()
        .map(|r| record_mem(&r.access) + 2 * std::mem::size_of::<ExecFacts>())
        .sum();
    if !spilled {
        let data = ShardData {
            len: d.requests.len(),
            held: d.requests,
            file: None,
            mem,
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
    };
    Ok((
        data,
        d.duplicate_records,
        d.conflicting_duplicate_ids,
        d.requests,
    ))
}

/// One deduplicated shard: in memory, or in its file.
pub struct ShardData {
    held: Vec<Request>,
    file: Option<PathBuf>,
    len: usize,
    mem: usize,
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

    /// The shard's requests, owned (the in-memory ones are handed over).
    pub fn take(&mut self) -> Result<Vec<Request>, SpillError> {
        match &self.file {
            None => Ok(std::mem::take(&mut self.held)),
            Some(path) => read_requests(path),
        }
    }
}

fn read_requests(path: &Path) -> Result<Vec<Request>, SpillError> {
    let bytes = std::fs::read(path).map_err(|e| SpillError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    frames::<Request>(&bytes, path).collect()
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
    /// Runs `f` over every shard's requests in shard order, reading spilled shards back
    /// `window` at a time in parallel (on the current rayon pool).
    pub fn visit(
        &self,
        window: usize,
        mut f: impl FnMut(u32, &[Request]),
    ) -> Result<(), SpillError> {
        use rayon::prelude::*;
        let window = window.max(1);
        for (c, chunk) in self.shards.chunks(window).enumerate() {
            let loaded: Vec<Result<Option<Vec<Request>>, SpillError>> = chunk
                .par_iter()
                .map(|sh| match &sh.file {
                    None => Ok(None),
                    Some(p) => read_requests(p).map(Some),
                })
                .collect();
            for (k, (sh, l)) in chunk.iter().zip(loaded).enumerate() {
                let s = (c * window + k) as u32;
                match l? {
                    None => f(s, &sh.held),
                    Some(v) => f(s, &v),
                }
            }
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
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let bad = |detail: String| {
            Some(Err(SpillError::Read {
                path: path.to_path_buf(),
                detail,
            }))
        };
        let Some(head) = bytes.get(at..at + 4) else {
            at = bytes.len();
            return bad("truncated frame header".into());
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(body) = bytes.get(at + 4..at + 4 + len) else {
            at = bytes.len();
            return bad("truncated frame".into());
        };
        at += 4 + len;
        match postcard::from_bytes(body) {
            Ok(v) => Some(Ok(v)),
            Err(e) => {
                at = bytes.len();
                bad(e.to_string())
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::records::access::{AccessParser, Parsed};

    fn rec(id: &str, line: u64) -> AccessRecord {
        let msg = format!(
            r#"{{"requestId":"{id}","ip":"198.51.100.7","requestTime":"14/Oct/2025:14:05:02 +0000","httpMethod":"GET","resourcePath":"/x","status":"403","protocol":"HTTP/1.1","responseLength":"42"}}"#
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
            .visit(2, |_, reqs| {
                v.extend(reqs.iter().map(|r| r.access.request_id().to_string()));
            })
            .unwrap();
        v.sort();
        v
    }

    fn run(budget: usize, dir: &Path) -> (Shards, bool) {
        let store = ShardStore::new(8, budget, dir.to_path_buf());
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
    fn finishing_visits_each_shard_once_in_order_as_a_visit_would() {
        for budget in [usize::MAX, 10_000] {
            let tmp = tempfile::tempdir().unwrap();
            let store = ShardStore::new(8, budget, tmp.path().join("s"));
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
                .visit(3, |s, reqs| {
                    again.push((
                        s,
                        reqs.iter()
                            .map(|r| r.access.request_id().to_string())
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

    #[test]
    fn a_corrupt_spill_file_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.bin");
        std::fs::write(&p, [9, 0, 0, 0, 1, 2]).unwrap();
        assert!(read_requests(&p).is_err());
        std::fs::write(&p, [2, 0, 0, 0, 0xff, 0xff]).unwrap();
        assert!(read_requests(&p).is_err());
    }

    #[test]
    fn an_unwritable_spill_dir_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let store = ShardStore::new(4, 0, file.join("spill"));
        let mut b = ShardBatch::default();
        b.access(&store, rec("a", 1));
        store.add(&mut b);
        let e = store.finish().err().expect("an error");
        assert!(e.to_string().contains("--spill-dir"), "{e}");
    }
}
