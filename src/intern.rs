//! Shared copies of the short strings a run repeats on many records and invocations (mapping
//! names, API ids and stages, function names, log streams, principals): a lookup instead of
//! an allocation per record, and one copy in memory.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

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

#[cfg(test)]
mod tests {
    use super::*;

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
