//! Authorizer invocations kept small while the join needs them. Each invocation is split in
//! two: its *head*, what the linker reads to find and tie it (ids, start time, the logged
//! API and stage, the function), stays in memory; its *body*, the whole [`Invocation`]
//! (method ARN, error text, REPORT figures), is written once, postcard-encoded, to an
//! [`InvocationStore`] and read back when a row is made. The store keeps bodies in memory up
//! to its budget and appends the rest to a file in the spill directory, so memory grows by
//! a head (about 170 bytes with the linker's slots) per invocation, not by the invocation.

use std::cmp::Ordering;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, RwLock};

use crate::intern::intern;
use crate::model::Invocation;
use crate::spill::{create_spill_file, read_exact_at, SpillError};

/// Bodies are written to the file in blocks of at least this much, once it is in use.
const WRITE_BLOCK: usize = 1 << 20;

/// A request id (Lambda or API Gateway) in 16 bytes when it is a canonical lowercase UUID,
/// as Lambda's and REST APIs' ids are, else its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdKey {
    /// The 16 bytes of a lowercase 8-4-4-4-12 UUID.
    Uuid([u8; 16]),
    /// Any other id, as written.
    Text(Box<str>),
}

const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl IdKey {
    /// `s` as a key; the text comes back unchanged from [`IdKey::as_str`].
    pub fn new(s: &str) -> Self {
        Self::uuid(s).map_or_else(|| IdKey::Text(s.into()), IdKey::Uuid)
    }

    fn uuid(s: &str) -> Option<[u8; 16]> {
        let b = s.as_bytes();
        if b.len() != 36 || HYPHENS.iter().any(|&i| b[i] != b'-') {
            return None;
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut out = [0u8; 16];
        let mut digits = b.iter().enumerate().filter(|(i, _)| !HYPHENS.contains(i));
        for o in &mut out {
            let (_, &hi) = digits.next()?;
            let (_, &lo) = digits.next()?;
            *o = (nibble(hi)? << 4) | nibble(lo)?;
        }
        Some(out)
    }

    /// The id's text, written into `buf` when it is a UUID.
    pub fn as_str<'a>(&'a self, buf: &'a mut [u8; 36]) -> &'a str {
        match self {
            IdKey::Text(s) => s,
            IdKey::Uuid(bytes) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut at = 0;
                for (k, byte) in bytes.iter().enumerate() {
                    if matches!(k, 4 | 6 | 8 | 10) {
                        buf[at] = b'-';
                        at += 1;
                    }
                    buf[at] = HEX[(byte >> 4) as usize];
                    buf[at + 1] = HEX[(byte & 15) as usize];
                    at += 2;
                }
                // Only ASCII hex digits and hyphens were written.
                std::str::from_utf8(&buf[..]).unwrap_or_default()
            }
        }
    }

    /// Whether this is the id `s`.
    pub fn is(&self, s: &str) -> bool {
        match self {
            IdKey::Text(t) => &**t == s,
            IdKey::Uuid(bytes) => Self::uuid(s).is_some_and(|u| u == *bytes),
        }
    }

    /// Heap bytes beyond the key itself.
    fn heap_bytes(&self) -> usize {
        match self {
            IdKey::Uuid(_) => 0,
            IdKey::Text(s) => s.len() + 16,
        }
    }
}

impl std::fmt::Display for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str(&mut [0; 36]))
    }
}

impl Ord for IdKey {
    /// The order of the ids' text (lowercase hex sorts as its bytes do).
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (IdKey::Uuid(a), IdKey::Uuid(b)) => a.cmp(b),
            (IdKey::Text(a), IdKey::Text(b)) => a.cmp(b),
            _ => {
                let (mut x, mut y) = ([0; 36], [0; 36]);
                self.as_str(&mut x).cmp(other.as_str(&mut y))
            }
        }
    }
}

impl PartialOrd for IdKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Where an invocation's body is in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyRef {
    offset: u64,
    len: u32,
}

/// What the linker reads of an invocation, kept in memory for the whole join: about 100
/// bytes, the names shared, the times in one word each.
#[derive(Debug, Clone)]
pub struct InvocationHead {
    /// [`Invocation::lambda_request_id`].
    pub lambda_request_id: IdKey,
    /// [`Invocation::logged_request_id`].
    pub logged_request_id: Option<IdKey>,
    /// The logged API and stage, and the function.
    pub names: Arc<HeadNames>,
    /// [`Invocation::start_time_ms`], `i64::MIN` for none.
    start_time_ms: i64,
    /// The whole invocation.
    pub body: BodyRef,
    /// The input file of the invocation's first line.
    pub file: u32,
    /// [`Invocation::init_duration_ms`] rounded up, 0 for none (all the linker reads of it).
    init_ceil_ms: i32,
    /// The invocation logged the `methodArn` it was called with (read from the body).
    pub has_method_arn: bool,
}

/// The names of an invocation the linker compares, one copy shared by every head with the
/// same three (a run has a handful of functions, APIs and stages).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct HeadNames {
    /// [`Invocation::logged_api_id`].
    pub logged_api_id: Option<Arc<str>>,
    /// [`Invocation::logged_stage`].
    pub logged_stage: Option<Arc<str>>,
    /// [`Invocation::function_name`].
    pub function_name: Option<Arc<str>>,
}

impl HeadNames {
    /// The shared copy of `v`'s names: the same allocation as the last time this thread saw
    /// them (a bounded set, as [`intern`]'s).
    fn of(v: &Invocation) -> Arc<HeadNames> {
        thread_local! {
            static SEEN: std::cell::RefCell<std::collections::HashSet<Arc<HeadNames>, foldhash::fast::FixedState>> =
                std::cell::RefCell::new(Default::default());
        }
        let names = HeadNames {
            logged_api_id: v.logged_api_id.as_deref().map(intern),
            logged_stage: v.logged_stage.as_deref().map(intern),
            function_name: v.function_name.as_deref().map(intern),
        };
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            if let Some(a) = seen.get(&names) {
                return a.clone();
            }
            if seen.len() >= crate::intern::MAX_NAMES {
                seen.clear();
            }
            let a = Arc::new(names);
            seen.insert(a.clone());
            a
        })
    }
}

impl InvocationHead {
    fn of(v: &Invocation, body: BodyRef) -> Self {
        InvocationHead {
            lambda_request_id: IdKey::new(&v.lambda_request_id),
            logged_request_id: v.logged_request_id.as_deref().map(IdKey::new),
            names: HeadNames::of(v),
            start_time_ms: v.start_time_ms.unwrap_or(i64::MIN),
            body,
            file: v.origin.file,
            init_ceil_ms: v.init_duration_ms.map_or(0, |d| d.ceil() as i32),
            has_method_arn: v.method_arn.is_some(),
        }
    }

    /// [`Invocation::start_time_ms`].
    pub fn start_time_ms(&self) -> Option<i64> {
        (self.start_time_ms != i64::MIN).then_some(self.start_time_ms)
    }

    /// [`Invocation::init_duration_ms`] in whole milliseconds, rounded up; 0 without one.
    pub fn init_ceil_ms(&self) -> i64 {
        i64::from(self.init_ceil_ms)
    }

    /// Estimated bytes in memory: the head, its ids' text, the linker's indexes (about 20
    /// bytes each) and slots (the link, 32 bytes, and a flag).
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.lambda_request_id.heap_bytes()
            + self.logged_request_id.as_ref().map_or(0, IdKey::heap_bytes)
            + 72
    }
}

/// What stays of an invocation once the links are made: where its body is and how its row
/// sorts (the heads' other fields are needed only to link).
#[derive(Debug, Clone)]
pub struct InvocationRef {
    /// [`Invocation::lambda_request_id`].
    pub lambda_request_id: IdKey,
    /// [`Invocation::start_time_ms`].
    pub start_time_ms: Option<i64>,
    /// The whole invocation.
    pub body: BodyRef,
}

impl From<InvocationHead> for InvocationRef {
    fn from(h: InvocationHead) -> Self {
        InvocationRef {
            start_time_ms: h.start_time_ms(),
            lambda_request_id: h.lambda_request_id,
            body: h.body,
        }
    }
}

/// Invocations encoded by one worker, to hand to the store at once: the bodies one after
/// another and a head for each (offsets relative to the batch until it is added).
#[derive(Debug, Default)]
pub struct BodyBatch {
    bytes: Vec<u8>,
    heads: Vec<InvocationHead>,
}

impl BodyBatch {
    /// Encodes `v` into the batch.
    pub fn push(&mut self, v: &Invocation) {
        let offset = self.bytes.len();
        // Serializing into a Vec cannot fail.
        let bytes = std::mem::take(&mut self.bytes);
        self.bytes = postcard::to_extend(v, bytes).unwrap_or_else(|_| unreachable!("postcard"));
        let body = BodyRef {
            offset: offset as u64,
            len: (self.bytes.len() - offset) as u32,
        };
        self.heads.push(InvocationHead::of(v, body));
    }

    /// Number of invocations in the batch.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }
}

struct Inner {
    /// Bodies not (yet) in the file: those at offsets `on_disk..`.
    mem: Vec<u8>,
    file: Option<File>,
    on_disk: u64,
}

/// The bodies of a run's invocations: in memory up to `budget` bytes, past it in a file.
pub struct InvocationStore {
    inner: RwLock<Inner>,
    budget: usize,
    path: PathBuf,
    /// [`InvocationHead::approx_bytes`] of every head handed out so far.
    head_bytes: AtomicUsize,
}

impl InvocationStore {
    /// A store keeping up to `budget` bytes of bodies in memory, the rest in `path` (created
    /// when first needed, removed when the store is dropped).
    pub fn new(budget: usize, path: PathBuf) -> Self {
        InvocationStore {
            inner: RwLock::new(Inner {
                mem: Vec::new(),
                file: None,
                on_disk: 0,
            }),
            budget,
            path,
            head_bytes: AtomicUsize::new(0),
        }
    }

    /// Estimated bytes of the heads [`InvocationStore::add`] has handed out so far
    /// ([`InvocationHead::approx_bytes`]): what the caller holds beside the store.
    pub fn head_bytes(&self) -> usize {
        self.head_bytes.load(AtomicOrdering::Relaxed)
    }

    /// An in-memory store (tests, benchmarks, the in-memory [`crate::join::join`]).
    pub fn in_memory() -> Self {
        Self::new(usize::MAX, PathBuf::new())
    }

    /// Adds a batch's bodies; returns its heads, pointing into the store. The batch is
    /// emptied (its capacity kept for the worker's next invocations).
    pub fn add(&self, batch: &mut BodyBatch) -> Result<Vec<InvocationHead>, SpillError> {
        let mut heads = std::mem::take(&mut batch.heads);
        let base = {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            let base = inner.on_disk + inner.mem.len() as u64;
            if inner.mem.capacity() == 0 && inner.file.is_none() {
                // Reserved once, up to what stays in memory (at most 256 MiB, so that a huge
                // limit never asks for more than the machine has): growing to it by doubling
                // would copy the bodies and touch fresh pages each time (pages reserved but
                // not written cost nothing).
                inner.mem.reserve(self.budget.min(256 << 20) + WRITE_BLOCK);
            }
            inner.mem.extend_from_slice(&batch.bytes);
            self.write_out(&mut inner)?;
            base
        };
        batch.bytes.clear();
        for h in &mut heads {
            h.body.offset += base;
        }
        let bytes = heads.iter().map(InvocationHead::approx_bytes).sum();
        self.head_bytes.fetch_add(bytes, AtomicOrdering::Relaxed);
        Ok(heads)
    }

    /// Writes the bodies held in memory to the file once they are past the budget (or,
    /// once the file is in use, a block of them has gathered).
    fn write_out(&self, inner: &mut Inner) -> Result<(), SpillError> {
        let due = if inner.file.is_some() {
            inner.mem.len() >= WRITE_BLOCK
        } else {
            inner.mem.len() > self.budget
        };
        if !due {
            return Ok(());
        }
        let write_err = |source| SpillError::Write {
            path: self.path.clone(),
            source,
        };
        if inner.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(|source| SpillError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            inner.file = Some(create_spill_file(&self.path)?);
        }
        let Inner { mem, file, on_disk } = inner;
        if let Some(f) = file {
            f.write_all(mem).map_err(write_err)?;
        }
        *on_disk += mem.len() as u64;
        mem.clear();
        mem.shrink_to(WRITE_BLOCK * 2);
        Ok(())
    }

    /// Adds one invocation (a merged one); returns its head.
    pub fn put(&self, v: &Invocation) -> Result<InvocationHead, SpillError> {
        let mut batch = BodyBatch::default();
        batch.push(v);
        Ok(self.add(&mut batch)?.remove(0))
    }

    /// The invocation whose body `r` points to.
    pub fn get(&self, r: BodyRef) -> Result<Invocation, SpillError> {
        let bad = |detail: String| SpillError::Read {
            path: self.path.clone(),
            detail,
        };
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let len = r.len as usize;
        let decode = |bytes: &[u8]| postcard::from_bytes(bytes).map_err(|e| bad(e.to_string()));
        if r.offset >= inner.on_disk {
            let at = (r.offset - inner.on_disk) as usize;
            let bytes = inner
                .mem
                .get(at..at + len)
                .ok_or_else(|| bad(format!("no invocation at offset {}", r.offset)))?;
            return decode(bytes);
        }
        let file = inner.file.as_ref().ok_or_else(|| bad("no file".into()))?;
        let mut buf = vec![0; len];
        read_exact_at(file, &mut buf, r.offset).map_err(|e| bad(e.to_string()))?;
        drop(inner);
        decode(&buf)
    }

    /// Bytes of bodies written to the file.
    pub fn spilled_bytes(&self) -> u64 {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).on_disk
    }
}

impl Drop for InvocationStore {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        if inner.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Decision, Origin};

    #[test]
    fn a_head_is_small_and_shares_its_names() {
        assert!(std::mem::size_of::<InvocationHead>() <= 96);
        let v = |f: &str| Invocation {
            lambda_request_id: "04ec2dfa-a7fe-4e93-a3db-cb3cebac38bc".into(),
            function_name: Some(f.into()),
            logged_api_id: Some("a1b2c3d4e5".into()),
            start_time_ms: Some(1_762_128_000_123),
            init_duration_ms: Some(245.01),
            ..Invocation::default()
        };
        let (a, b, c) = (
            InvocationHead::of(&v("auth"), BodyRef::default()),
            InvocationHead::of(&v("auth"), BodyRef::default()),
            InvocationHead::of(&v("other"), BodyRef::default()),
        );
        assert!(Arc::ptr_eq(&a.names, &b.names));
        assert_eq!(c.names.function_name.as_deref(), Some("other"));
        assert_eq!(c.names.logged_api_id.as_deref(), Some("a1b2c3d4e5"));
        assert_eq!(c.names.logged_stage, None);
        assert_eq!(a.start_time_ms(), Some(1_762_128_000_123));
        assert_eq!(a.init_ceil_ms(), 246);
        let none = InvocationHead::of(&Invocation::default(), BodyRef::default());
        assert_eq!((none.start_time_ms(), none.init_ceil_ms()), (None, 0));
    }

    #[test]
    fn uuids_take_sixteen_bytes_and_come_back_as_written() {
        let id = "04ec2dfa-a7fe-4e93-a3db-cb3cebac38bc";
        let k = IdKey::new(id);
        assert!(matches!(k, IdKey::Uuid(_)));
        assert_eq!(k.to_string(), id);
        assert!(k.is(id));
        assert!(!k.is("04ec2dfa-a7fe-4e93-a3db-cb3cebac38bd"));
        // Upper case, other shapes: kept as text, so they come back unchanged too.
        for other in [
            "04EC2DFA-A7FE-4E93-A3DB-CB3CEBAC38BC",
            "Yx1AbCdEfGhIjKl=",
            "04ec2dfa-a7fe-4e93-a3db-cb3cebac38b",
            "",
        ] {
            let k = IdKey::new(other);
            assert!(matches!(k, IdKey::Text(_)), "{other}");
            assert_eq!(k.to_string(), other);
            assert!(k.is(other));
        }
        // Ordered as their text.
        let mut ids = [
            "ffffffff-0000-4000-8000-000000000000",
            "0000000a-0000-4000-8000-000000000000",
            "00000009-0000-4000-8000-000000000000",
            "Zz",
            "0",
        ];
        let mut keys: Vec<IdKey> = ids.iter().map(|s| IdKey::new(s)).collect();
        keys.sort();
        ids.sort();
        assert_eq!(keys.iter().map(IdKey::to_string).collect::<Vec<_>>(), ids);
    }

    fn invocation(n: usize) -> Invocation {
        Invocation {
            lambda_request_id: format!("{n:08x}-a7fe-4e93-a3db-cb3cebac38bc"),
            function_name: Some("auth".into()),
            start_time_ms: Some(1_700_000_000_000 + n as i64),
            decision: Some(Decision::Deny),
            method_arn: Some(format!(
                "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/items/{n}"
            )),
            error_message: n.is_multiple_of(3).then(|| "x".repeat(n % 700)),
            logged_request_id: Some(format!("req-{n}")),
            origin: Origin {
                file: 2,
                line: n as u64,
                offset: 0,
            },
            ..Default::default()
        }
    }

    #[test]
    fn bodies_come_back_whole_from_memory_and_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill").join("invocations.bin");
        // A budget of a few bodies: most go to the file, in several writes.
        let store = InvocationStore::new(2_000, path.clone());
        let mut heads = Vec::new();
        let mut batch = BodyBatch::default();
        for n in 0..5_000 {
            batch.push(&invocation(n));
            if batch.len() == 700 {
                heads.extend(store.add(&mut batch).unwrap());
            }
        }
        heads.extend(store.add(&mut batch).unwrap());
        assert!(batch.is_empty());
        assert!(store.spilled_bytes() > 0 && path.exists());
        let merged = store.put(&invocation(9_999)).unwrap();
        for (n, h) in heads.iter().enumerate() {
            let v = store.get(h.body).unwrap();
            assert_eq!(v, invocation(n));
            assert!(h.lambda_request_id.is(&v.lambda_request_id));
            assert_eq!(h.start_time_ms(), v.start_time_ms);
            assert!(h.has_method_arn);
        }
        assert_eq!(store.get(merged.body).unwrap(), invocation(9_999));
        drop(store);
        assert!(!path.exists(), "the file goes with the store");

        // Within the budget, nothing is written.
        let store = InvocationStore::new(1 << 20, dir.path().join("unused.bin"));
        let h = store.put(&invocation(1)).unwrap();
        assert_eq!(store.get(h.body).unwrap(), invocation(1));
        assert_eq!(store.spilled_bytes(), 0);
        assert!(!dir.path().join("unused.bin").exists());
    }
}
