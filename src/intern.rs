//! Shared copies of the short strings a run repeats on many records and invocations (mapping
//! names, API ids and stages, function names, log streams, principals): a lookup instead of
//! an allocation per record, and one copy in memory.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

/// Distinct strings kept per thread; past this the set starts over (strings stay correct,
/// only sharing is lost).
pub(crate) const MAX_NAMES: usize = 4096;

/// `s` as a shared string, the same allocation as the last time this thread saw `s`.
pub(crate) fn intern(s: &str) -> Arc<str> {
    thread_local! {
        static NAMES: RefCell<HashSet<Arc<str>, foldhash::fast::FixedState>> =
            RefCell::new(HashSet::default());
    }
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        if let Some(a) = n.get(s) {
            return a.clone();
        }
        if n.len() >= MAX_NAMES {
            n.clear();
        }
        let a: Arc<str> = Arc::from(s);
        n.insert(a.clone());
        a
    })
}

/// A name every record of a source repeats (its access-log mapping, the API id and stage of
/// its log group): one copy for the whole process, so a record holds a pointer and neither
/// copying nor dropping it touches shared memory (a shared `Arc`'s count, bumped and dropped
/// by both threads for every record, cost about 1.5 % of a run's CPU).
pub type Name = Cow<'static, str>;

/// Distinct [`Name`]s kept for the process; past this a name is an owned copy.
pub(crate) const MAX_STATIC_NAMES: usize = 4096;

/// `s` as a [`Name`]: the process's one copy of it (kept until the process ends: these names
/// come from the run's formats and log groups, a few dozen), or an owned copy once
/// [`MAX_STATIC_NAMES`] are kept.
pub(crate) fn name(s: &str) -> Name {
    type Set = HashSet<&'static str, foldhash::fast::FixedState>;
    static ALL: LazyLock<Mutex<Set>> = LazyLock::new(Mutex::default);
    thread_local! {
        static SEEN: RefCell<Set> = RefCell::new(Set::default());
    }
    SEEN.with(|seen| {
        if let Some(&n) = seen.borrow().get(s) {
            return Cow::Borrowed(n);
        }
        let mut all = ALL.lock().unwrap_or_else(|e| e.into_inner());
        let n = match all.get(s) {
            Some(&n) => n,
            None if all.len() < MAX_STATIC_NAMES => {
                let n: &'static str = Box::leak(s.into());
                all.insert(n);
                n
            }
            None => return Cow::Owned(s.to_string()),
        };
        seen.borrow_mut().insert(n);
        Cow::Borrowed(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_one_copy_for_every_thread() {
        let a = name("k3vq8zt1pw");
        let b = std::thread::spawn(|| name("k3vq8zt1pw")).join().unwrap();
        match (a, b) {
            (Cow::Borrowed(a), Cow::Borrowed(b)) => assert!(std::ptr::eq(a, b)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_same_string_is_shared_and_any_number_stays_correct() {
        let a = intern("payments-token-authorizer");
        let b = intern("payments-token-authorizer");
        assert!(Arc::ptr_eq(&a, &b));
        for i in 0..(MAX_NAMES * 2) {
            assert_eq!(&*intern(&format!("n{i}")), format!("n{i}"));
        }
        assert_eq!(
            &*intern("payments-token-authorizer"),
            "payments-token-authorizer"
        );
    }
}
