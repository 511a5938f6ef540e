//! The timestamp spellings the containers put in front of, or beside, a message, parsed to
//! epoch milliseconds (UTC). Pure functions over bytes, no allocation; the containers decide
//! where a timestamp is expected. Message-internal timestamps (Lambda's, the access log's
//! `requestTime`) are the records stage's business, not this file's.

use crate::time::days_from_civil;

/// `n` ASCII digits at `b[at..]` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `YYYY-MM-DD?HH:MM:SS` at the start of `b`, with `sep` between date and time, as epoch
/// milliseconds of that second.
fn date_time(b: &[u8], sep: u8) -> Option<i64> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != sep
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let y = digits(b, 0, 4)?;
    let mo = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    let h = digits(b, 11, 2)?;
    let mi = digits(b, 14, 2)?;
    let s = digits(b, 17, 2)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    Some(((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60_000 + i64::from(s) * 1000)
}

/// A fraction of a second `.d…` at `b[at..]` (1 to 9 digits): milliseconds (truncated) and
/// the number of bytes it takes, dot included. No dot: `(0, 0)`.
fn fraction(b: &[u8], at: usize) -> Option<(i64, usize)> {
    if b.get(at) != Some(&b'.') {
        return Some((0, 0));
    }
    let mut n = 0;
    let mut ms = 0i64;
    while let Some(&c) = b.get(at + 1 + n) {
        if !c.is_ascii_digit() || n == 9 {
            break;
        }
        if n < 3 {
            ms = ms * 10 + i64::from(c - b'0');
        }
        n += 1;
    }
    if n == 0 {
        return None;
    }
    for _ in n..3 {
        ms *= 10;
    }
    Some((ms, n + 1))
}

/// Length of the S3-export prefix `2025-10-14T14:05:02.129Z ` (timestamp and one space).
pub(crate) const S3_PREFIX_LEN: usize = 25;

/// The CreateExportTask line prefix `YYYY-MM-DDTHH:MM:SS.mmmZ ` (space included) at the start
/// of `b`, as epoch milliseconds.
pub(crate) fn s3_export_prefix(b: &[u8]) -> Option<i64> {
    if b.len() < S3_PREFIX_LEN || b[19] != b'.' || b[23] != b'Z' || b[24] != b' ' {
        return None;
    }
    let base = date_time(b, b'T')?;
    Some(base + i64::from(digits(b, 20, 3)?))
}

/// Whether `b` starts with the exact layout of the CreateExportTask prefix
/// (`dddd-dd-ddTdd:dd:dd.dddZ `), whatever the values: a line of that shape whose time does
/// not parse (`2025-10-14T25:05:02.129Z `) is a damaged event line, not a continuation line.
pub(crate) fn s3_export_shape(b: &[u8]) -> bool {
    const SHAPE: &[u8; S3_PREFIX_LEN] = b"dddd-dd-ddTdd:dd:dd.dddZ ";
    b.len() >= S3_PREFIX_LEN
        && SHAPE.iter().zip(b).all(|(&want, &got)| match want {
            b'd' => got.is_ascii_digit(),
            _ => got == want,
        })
}

/// The `aws logs tail --format detailed` timestamp `YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM` at
/// the start of `b`: epoch milliseconds and its length in bytes. `Z` is accepted for the
/// offset as well.
pub(crate) fn tail_detailed(b: &[u8]) -> Option<(i64, usize)> {
    let base = date_time(b, b'T')?;
    let (ms, flen) = fraction(b, 19)?;
    let at = 19 + flen;
    match b.get(at)? {
        b'Z' => Some((base + ms, at + 1)),
        &sign @ (b'+' | b'-') => {
            if b.get(at + 3) != Some(&b':') {
                return None;
            }
            let oh = digits(b, at + 1, 2)?;
            let om = digits(b, at + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 60 + om) * 60_000;
            let t = if sign == b'+' {
                base + ms - off
            } else {
                base + ms + off
            };
            Some((t, at + 6))
        }
        _ => None,
    }
}

/// The `aws logs tail --format short` prefix `YYYY-MM-DDTHH:MM:SS ` (space included) at the
/// start of `b`, as epoch milliseconds.
pub(crate) fn tail_short(b: &[u8]) -> Option<i64> {
    if b.get(19) != Some(&b' ') {
        return None;
    }
    date_time(b, b'T')
}

/// A Logs Insights `@timestamp` value `YYYY-MM-DD HH:MM:SS.mmm` (UTC; the fraction is
/// optional; a `T` separator and a trailing `Z` are tolerated) as epoch milliseconds.
pub(crate) fn insights(b: &[u8]) -> Option<i64> {
    let sep = *b.get(10)?;
    if sep != b' ' && sep != b'T' {
        return None;
    }
    let base = date_time(b, sep)?;
    let (ms, flen) = fraction(b, 19)?;
    let rest = &b[19 + flen..];
    if rest.is_empty() || rest == b"Z" {
        Some(base + ms)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_prefix() {
        assert_eq!(
            s3_export_prefix(b"2025-10-14T14:05:02.129Z {\"a\":1}"),
            Some(1_760_450_702_129)
        );
        assert_eq!(s3_export_prefix(b"2025-10-14T14:05:02.129Z"), None);
        assert_eq!(s3_export_prefix(b"2025-10-14T14:05:02.129Zx"), None);
        assert_eq!(s3_export_prefix(b"2025-13-14T14:05:02.129Z "), None);
        assert_eq!(s3_export_prefix(b"1970-01-01T00:00:00.000Z "), Some(0));
        assert_eq!(
            s3_export_prefix(b"2000-02-29T00:00:00.000Z "),
            Some(951_782_400_000)
        );
        assert!(s3_export_shape(b"2025-10-14T25:05:02.129Z {"));
        assert!(s3_export_shape(b"2025-10-14T14:05:02.129Z "));
        assert!(!s3_export_shape(b"2025-10-14T14:05:02.129Z\tINFO"));
        assert!(!s3_export_shape(b"2025-10-14T14:05:0x.129Z "));
        assert!(!s3_export_shape(b"2025-10-14"));
    }

    #[test]
    fn tail_forms() {
        let (t, n) = tail_detailed(b"2025-10-14T14:06:20.051000+00:00 s m").unwrap();
        assert_eq!((t, n), (1_760_450_780_051, 32));
        let (t, n) = tail_detailed(b"2025-10-14T16:06:20.051+02:00 s").unwrap();
        assert_eq!((t, n), (1_760_450_780_051, 29));
        assert_eq!(
            tail_detailed(b"2025-10-14T14:06:20+00:00 s").unwrap().0,
            1_760_450_780_000
        );
        assert_eq!(tail_detailed(b"2025-10-14T14:06:20.051000 s"), None);
        assert_eq!(
            tail_short(b"2025-10-14T14:06:20 msg"),
            Some(1_760_450_780_000)
        );
        assert_eq!(tail_short(b"2025-10-14T14:06:20.000Z msg"), None);
    }

    #[test]
    fn insights_form() {
        assert_eq!(
            insights(b"2025-10-14 14:05:02.122"),
            Some(1_760_450_702_122)
        );
        assert_eq!(insights(b"2025-10-14 14:05:02"), Some(1_760_450_702_000));
        assert_eq!(insights(b"2025-10-14 14:05:02.1"), Some(1_760_450_702_100));
        assert_eq!(insights(b"2025-10-14 14:05:02.122 junk"), None);
        assert_eq!(insights(b"14:05:02"), None);
    }
}
