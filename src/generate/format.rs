//! Allocation-free formatting into a reused byte buffer: integers, fixed-point durations,
//! UTC timestamps (ISO-8601 and CLF), UUIDs, hex, base64 and JSON string escaping.
//!
//! Everything the generator writes goes through these helpers instead of `format!`, so a
//! line costs a few appends into a buffer whose capacity survives from line to line.

use super::rng::Rng;

/// Appends a string.
#[inline]
pub(crate) fn put(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(s.as_bytes());
}

/// Appends an unsigned integer in decimal.
#[inline]
pub(crate) fn put_u(b: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[i..]);
}

/// Appends `n` zero-padded to `width` digits (`n` must fit).
#[inline]
pub(crate) fn put_pad(b: &mut Vec<u8>, n: u64, width: usize) {
    let start = b.len();
    b.resize(start + width, b'0');
    let mut n = n;
    for i in (0..width).rev() {
        b[start + i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends hundredths as a decimal with two places: `4309` → `43.09`.
#[inline]
pub(crate) fn put_centi(b: &mut Vec<u8>, centi: u64) {
    put_u(b, centi / 100);
    b.push(b'.');
    put_pad(b, centi % 100, 2);
}

/// A UTC calendar time broken down from epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) milli: u32,
}

/// Breaks epoch milliseconds into UTC calendar fields (proleptic Gregorian).
pub(crate) fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = if m <= 2 { y + 1 } else { y };
    Civil {
        year,
        month: m,
        day: d,
        hour: (rem / 3_600_000) as u32,
        minute: (rem / 60_000 % 60) as u32,
        second: (rem / 1000 % 60) as u32,
        milli: (rem % 1000) as u32,
    }
}

/// Epoch milliseconds of a UTC calendar date at midnight.
#[cfg(test)]
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400_000
}

fn put_date(b: &mut Vec<u8>, c: &Civil, sep: u8) {
    put_pad(b, c.year as u64, 4);
    b.push(sep);
    put_pad(b, c.month as u64, 2);
    b.push(sep);
    put_pad(b, c.day as u64, 2);
}

/// `2025-11-03T09:00:00.123Z`
pub(crate) fn put_iso_ms(b: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    put_date(b, &c, b'-');
    b.push(b'T');
    put_pad(b, c.hour as u64, 2);
    b.push(b':');
    put_pad(b, c.minute as u64, 2);
    b.push(b':');
    put_pad(b, c.second as u64, 2);
    b.push(b'.');
    put_pad(b, c.milli as u64, 3);
    b.push(b'Z');
}

/// `2025-11-03T09:00:00Z`
pub(crate) fn put_iso_s(b: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    put_date(b, &c, b'-');
    b.push(b'T');
    put_pad(b, c.hour as u64, 2);
    b.push(b':');
    put_pad(b, c.minute as u64, 2);
    b.push(b':');
    put_pad(b, c.second as u64, 2);
    b.push(b'Z');
}

/// `2025/11/03` (Lambda log-stream prefix).
pub(crate) fn put_slash_date(b: &mut Vec<u8>, ms: i64) {
    put_date(b, &civil(ms), b'/');
}

/// `2025-11-03-09-00-00` (Firehose object names).
pub(crate) fn put_dash_datetime(b: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    put_date(b, &c, b'-');
    for v in [c.hour, c.minute, c.second] {
        b.push(b'-');
        put_pad(b, v as u64, 2);
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `03/Nov/2025:09:00:00 +0000` (`$context.requestTime`).
pub(crate) fn put_clf(b: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    put_pad(b, c.day as u64, 2);
    b.push(b'/');
    put(b, MONTHS[c.month as usize - 1]);
    b.push(b'/');
    put_pad(b, c.year as u64, 4);
    b.push(b':');
    put_pad(b, c.hour as u64, 2);
    b.push(b':');
    put_pad(b, c.minute as u64, 2);
    b.push(b':');
    put_pad(b, c.second as u64, 2);
    put(b, " +0000");
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the low `digits` nibbles of `v` as lowercase hex.
#[inline]
pub(crate) fn put_hex(b: &mut Vec<u8>, v: u64, digits: u32) {
    for i in (0..digits).rev() {
        b.push(HEX[((v >> (i * 4)) & 0xf) as usize]);
    }
}

/// A random version-4 UUID, `8-4-4-4-12` lowercase hex.
pub(crate) fn uuid(rng: &mut Rng) -> [u8; 36] {
    let hi = (rng.next_u64() & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (rng.next_u64() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let mut out = [0u8; 36];
    let mut v = Vec::with_capacity(36);
    put_hex(&mut v, hi >> 32, 8);
    v.push(b'-');
    put_hex(&mut v, (hi >> 16) & 0xffff, 4);
    v.push(b'-');
    put_hex(&mut v, hi & 0xffff, 4);
    v.push(b'-');
    put_hex(&mut v, lo >> 48, 4);
    v.push(b'-');
    put_hex(&mut v, lo & 0xffff_ffff_ffff, 12);
    out.copy_from_slice(&v);
    out
}

/// `n` random lowercase hex digits as a `String` (stream names, hashes).
pub(crate) fn hex_string(rng: &mut Rng, n: usize) -> String {
    let mut v = Vec::with_capacity(n + 16);
    while v.len() < n {
        put_hex(&mut v, rng.next_u64(), 16);
    }
    v.truncate(n);
    String::from_utf8(v).expect("hex is ASCII")
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 of `data`; `url` selects the URL-safe alphabet without padding (JWT segments).
pub(crate) fn put_b64(b: &mut Vec<u8>, data: &[u8], url: bool) {
    let alpha = if url { B64URL } else { B64 };
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (if n > 1 { chunk[1] as u32 } else { 0 }) << 8
            | if n > 2 { chunk[2] as u32 } else { 0 };
        b.push(alpha[(v >> 18) as usize & 63]);
        b.push(alpha[(v >> 12) as usize & 63]);
        if n > 1 {
            b.push(alpha[(v >> 6) as usize & 63]);
        } else if !url {
            b.push(b'=');
        }
        if n > 2 {
            b.push(alpha[v as usize & 63]);
        } else if !url {
            b.push(b'=');
        }
    }
}

/// A REST extended request id (`x-amz-apigw-id`): base64 of 11 random bytes, 16 characters
/// ending in `=`, and so may contain `/` and `+`.
pub(crate) fn extended_request_id(rng: &mut Rng) -> [u8; 16] {
    let a = rng.next_u64().to_le_bytes();
    let c = rng.next_u64().to_le_bytes();
    let raw = [
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], c[0], c[1], c[2],
    ];
    let mut v = Vec::with_capacity(16);
    put_b64(&mut v, &raw, false);
    let mut out = [0u8; 16];
    out.copy_from_slice(&v);
    out
}

/// Appends `s` as the inside of a JSON string (quotes not included), escaping like
/// Python's `json.dumps`: `"`, `\`, and control characters.
pub(crate) fn put_json_escaped(b: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\t' => b"\\t",
            b'\r' => b"\\r",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                b.extend_from_slice(&s[start..i]);
                put(b, "\\u00");
                put_hex(b, c as u64, 2);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        b.extend_from_slice(&s[start..i]);
        b.extend_from_slice(esc);
        start = i + 1;
    }
    b.extend_from_slice(&s[start..]);
}

/// Masks a secret like the execution log does: keep the last 6 characters of values of 12
/// characters or more, else the last half; the rest become `*`.
pub(crate) fn put_masked(b: &mut Vec<u8>, value: &[u8]) {
    let keep = if value.len() >= 12 {
        6
    } else {
        value.len() / 2
    };
    let stars = value.len() - keep;
    b.resize(b.len() + stars, b'*');
    b.extend_from_slice(&value[stars..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn timestamps() {
        // 2025-10-14T14:05:09.402Z, from the sample set.
        let t = 1_760_450_709_402;
        assert_eq!(s(|b| put_iso_ms(b, t)), "2025-10-14T14:05:09.402Z");
        assert_eq!(s(|b| put_iso_s(b, t)), "2025-10-14T14:05:09Z");
        assert_eq!(s(|b| put_clf(b, t)), "14/Oct/2025:14:05:09 +0000");
        assert_eq!(s(|b| put_slash_date(b, t)), "2025/10/14");
        assert_eq!(s(|b| put_dash_datetime(b, t)), "2025-10-14-14-05-09");
        assert_eq!(days_from_civil(2025, 11, 3), 1_762_128_000_000);
        assert_eq!(
            days_from_civil(2024, 2, 29) + 86_400_000,
            days_from_civil(2024, 3, 1)
        );
        for ms in [0, 951_782_400_000, 1_762_128_000_000, 4_102_444_799_999] {
            let c = civil(ms);
            let back = days_from_civil(c.year, c.month, c.day)
                + (c.hour as i64 * 3600 + c.minute as i64 * 60 + c.second as i64) * 1000
                + c.milli as i64;
            assert_eq!(back, ms);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(s(|b| put_u(b, 0)), "0");
        assert_eq!(s(|b| put_u(b, u64::MAX)), "18446744073709551615");
        assert_eq!(s(|b| put_centi(b, 4309)), "43.09");
        assert_eq!(s(|b| put_centi(b, 5)), "0.05");
        assert_eq!(s(|b| put_pad(b, 7, 3)), "007");
        assert_eq!(s(|b| put_hex(b, 0xabc, 4)), "0abc");
    }

    #[test]
    fn ids_and_encodings() {
        let mut r = Rng::new(3, 3);
        let u = uuid(&mut r);
        let u = std::str::from_utf8(&u).unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        let e = extended_request_id(&mut r);
        assert_eq!(e.len(), 16);
        assert_eq!(e[15], b'=');
        assert_eq!(
            s(|b| put_b64(b, b"{\"alg\":\"RS256\",\"typ\":\"JWT\"}", true)),
            "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
        );
        assert_eq!(s(|b| put_b64(b, b"ab", false)), "YWI=");
        assert_eq!(
            s(|b| put_json_escaped(b, b"a\"b\\c\td\n\x01")),
            "a\\\"b\\\\c\\td\\n\\u0001"
        );
        assert_eq!(s(|b| put_masked(b, b"merchant:m_4471")), "*********m_4471");
        assert_eq!(s(|b| put_masked(b, b"usr_5DkQ2v")), "*****DkQ2v");
    }
}
