//! The generator's own pseudo-random numbers: SplitMix64, integer-only helpers.
//!
//! No floating point is used anywhere in the generator, so the output is the same on every
//! platform and depends only on the seed and the options.

/// SplitMix64: a tiny, fast, well-mixed 64-bit generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed`, further separated by `stream` so that independent consumers
    /// (the request simulation, the container metadata) never share a sequence.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Decorrelate nearby seeds.
        r.next_u64();
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `lo..=hi`, as `i64` (times and latencies).
    #[inline]
    pub(crate) fn irange(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_mille / 1000`.
    #[inline]
    pub(crate) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// One element of a non-empty slice.
    #[inline]
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given integer weights.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < w as u64 {
                return i;
            }
            x -= w as u64;
        }
        weights.len() - 1
    }

    /// A random string of `len` characters from `alphabet`.
    pub(crate) fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        let mut s = String::with_capacity(len);
        for _ in 0..len {
            s.push(*self.pick(alphabet) as char);
        }
        s
    }

    /// Fills `out` with characters from `alphabet`.
    pub(crate) fn fill(&mut self, alphabet: &[u8], out: &mut [u8]) {
        for b in out {
            *b = *self.pick(alphabet);
        }
    }
}

/// Lowercase letters and digits (API ids, resource ids).
pub(crate) const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Upper- and lowercase letters and digits.
pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Uppercase letters and digits (IAM unique ids).
pub(crate) const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// The base64url alphabet (JWT segments).
pub(crate) const B64URL: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(7, 1);
        let mut b = Rng::new(7, 1);
        let mut c = Rng::new(7, 2);
        let xa: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = Rng::new(1, 0);
        for _ in 0..10_000 {
            let v = r.range(3, 5);
            assert!((3..=5).contains(&v));
            let w = r.irange(-2, 2);
            assert!((-2..=2).contains(&w));
        }
        let mut hits = [0u32; 3];
        for _ in 0..30_000 {
            hits[r.weighted(&[1, 0, 2])] += 1;
        }
        assert_eq!(hits[1], 0);
        assert!(hits[2] > hits[0]);
    }
}
