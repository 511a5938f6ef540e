//! Items (requests, invocations) found by an id without an owned copy of the id per item.

/// Keys are already hashes (xxh3 of the id); foldhash with a fixed seed spreads them.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

use crate::records::access::AccessRecord;

/// Items (requests, invocations) by an id, without an owned key per item: a hash of the id
/// leads to the last item indexed with it, `next` to the one before (ids verified on lookup
/// against the items themselves). About 20 bytes an item, where a `HashMap<String, _>` costs
/// a copy of the id and some 100 bytes.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    head: HashMap<u64, u32>,
    next: Vec<u32>,
}

impl IdIndex {
    pub(crate) fn with_capacity(n: usize) -> Self {
        IdIndex {
            head: HashMap::with_capacity_and_hasher(n, Default::default()),
            next: Vec::with_capacity(n),
        }
    }

    pub(crate) fn hash(id: &str) -> u64 {
        xxhash_rust::xxh3::xxh3_64(id.as_bytes())
    }

    /// Indexes of the requests with `id`, most recent first.
    pub(crate) fn get<'a>(
        &'a self,
        id: &'a str,
        requests: &'a [AccessRecord],
    ) -> impl Iterator<Item = usize> + 'a {
        self.get_by(id, move |i| Some(requests[i].request_id()))
    }

    /// Indexes of the items whose id (`id_of`) is `id`, most recently indexed first.
    pub(crate) fn get_by<'a>(
        &'a self,
        id: &'a str,
        id_of: impl Fn(usize) -> Option<&'a str> + 'a,
    ) -> impl Iterator<Item = usize> + 'a {
        self.get_where(id, move |i| id_of(i) == Some(id))
    }

    /// Indexes of the items indexed with `id` for which `is_id` says the item's id is `id`
    /// (items whose ids are not kept as text), most recently indexed first.
    pub(crate) fn get_where<'a>(
        &'a self,
        id: &str,
        is_id: impl Fn(usize) -> bool + 'a,
    ) -> impl Iterator<Item = usize> + 'a {
        let mut at = self.head.get(&Self::hash(id)).copied().unwrap_or(u32::MAX);
        std::iter::from_fn(move || {
            while at != u32::MAX {
                let i = at as usize;
                at = self.next[i];
                if is_id(i) {
                    return Some(i);
                }
            }
            None
        })
    }

    /// Adds item number `i` (the next one) with `id`.
    pub(crate) fn push(&mut self, id: &str) {
        self.insert(self.next.len(), id);
    }

    /// Adds item number `i` with `id` (items not indexed are skipped over).
    pub(crate) fn insert(&mut self, i: usize, id: &str) {
        if self.next.len() <= i {
            self.next.resize(i + 1, u32::MAX);
        }
        let prev = self
            .head
            .insert(Self::hash(id), i as u32)
            .unwrap_or(u32::MAX);
        self.next[i] = prev;
    }
}
