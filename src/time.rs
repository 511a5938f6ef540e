//! UTC time helpers: the timestamp spellings API Gateway and CloudWatch write (CLF
//! `14/Oct/2025:14:05:02 +0000`, ISO-8601 with `Z` or an offset, Insights' `2025-10-14 14:05:02.129`)
//! to epoch milliseconds, and back to dates. Small on purpose: no calendar crate needed for UTC.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` of an epoch-ms instant, UTC.
pub fn date_of_ms(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 (`2025-10-14T14:05:02.118Z`) of an epoch-ms instant.
pub fn rfc3339_ms(ms: i64) -> String {
    let (y, mo, d) = civil_from_days(ms.div_euclid(86_400_000));
    let rem = ms.rem_euclid(86_400_000);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `b` as a number when it is 1 to 18 ASCII digits (which cannot overflow), else `None`.
pub(crate) fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 18 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |a, &c| a * 10 + (c - b'0') as i64))
}

fn month(b: &[u8]) -> Option<u32> {
    // Compared as three bytes at once, not as twelve slices.
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

fn valid(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> bool {
    (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s < 61 && y > 0
}

/// Parses a `[+-]hhmm` or `[+-]hh:mm` offset to minutes.
fn offset_minutes(b: &[u8]) -> Option<i64> {
    let (sign, rest) = match b.split_first()? {
        (b'+', rest) => (1, rest),
        (b'-', rest) => (-1, rest),
        _ => return None,
    };
    let (hh, mm) = match rest {
        [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => ([*h1, *h2], [*m1, *m2]),
        _ => return None,
    };
    Some(sign * (num(&hh)? * 60 + num(&mm)?))
}

/// `$context.requestTime`: `14/Oct/2025:14:05:02 +0000` → epoch ms.
pub fn parse_clf(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let d = num(&b[0..2])? as u32;
    let mo = month(&b[3..6])?;
    let y = num(&b[7..11])?;
    let h = num(&b[12..14])?;
    let mi = num(&b[15..17])?;
    let sec = num(&b[18..20])?;
    if !valid(y, mo, d, h, mi, sec) {
        return None;
    }
    let off = if b.len() > 20 {
        // Bytes 18 and 19 are digits: 20 is a character boundary.
        offset_minutes(s[20..].trim_start().as_bytes())?
    } else {
        0
    };
    Some(((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off * 60) * 1000)
}

/// ISO-8601 / RFC 3339 date-times: `2025-10-14T14:05:09.655Z`, `…T14:05:09.655000+00:00`,
/// `2025-10-14T14:05:09` (UTC assumed) and Insights' `2025-10-14 14:05:09.655` → epoch ms.
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let y = num(&b[0..4])?;
    let mo = num(&b[5..7])? as u32;
    let d = num(&b[8..10])? as u32;
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let h = num(&b[11..13])?;
    let mi = num(&b[14..16])?;
    let sec = num(&b[17..19])?;
    if !valid(y, mo, d, h, mi, sec) {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        let frac = &b[start..end.min(start + 3)];
        ms = num(frac)? * 10i64.pow(3 - frac.len() as u32);
        i = end;
    }
    let off = match b.get(i) {
        None => 0,
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(b'+') | Some(b'-') => offset_minutes(&b[i..])?,
        _ => return None,
    };
    Some((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off * 60) * 1000 + ms)
}

/// `$context.requestTimeEpoch`: epoch milliseconds (REST); values below 10^11 are read as
/// seconds (HTTP APIs document it only as "epoch-formatted").
pub fn parse_epoch(s: &str) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let v = num(int.as_bytes())?;
    let ms = if v < 100_000_000_000 {
        let frac_ms = if frac.is_empty() {
            0
        } else {
            let f = &frac.as_bytes()[..frac.len().min(3)];
            num(f)? * 10i64.pow(3 - f.len() as u32)
        };
        v * 1000 + frac_ms
    } else {
        v
    };
    // API Gateway did not exist before 2000 and logs nothing after 2100: anything else is a
    // garbled value, not a time.
    (EPOCH_MIN_MS..EPOCH_MAX_MS).contains(&ms).then_some(ms)
}

/// 2000-01-01T00:00:00Z.
const EPOCH_MIN_MS: i64 = 946_684_800_000;
/// 2100-01-01T00:00:00Z.
const EPOCH_MAX_MS: i64 = 4_102_444_800_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf() {
        assert_eq!(
            parse_clf("14/Oct/2025:14:05:02 +0000"),
            Some(1_760_450_702_000)
        );
        assert_eq!(
            parse_clf("14/Oct/2025:16:05:02 +0200"),
            Some(1_760_450_702_000)
        );
        assert_eq!(
            parse_clf(" 14/Oct/2025:12:35:02 -01:30 "),
            Some(1_760_450_702_000)
        );
        assert_eq!(parse_clf("14/Oct/2025:14:05:02"), Some(1_760_450_702_000));
        for bad in ["+1:30", "+013", "+01300", "0130", "+0a30", "+"] {
            assert_eq!(
                parse_clf(&format!("14/Oct/2025:14:05:02 {bad}")),
                None,
                "{bad}"
            );
        }
        for (i, m) in [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(month(m.as_bytes()), Some(i as u32 + 1));
        }
        assert_eq!(month(b"oct"), None);
        assert_eq!(parse_clf("14/Foo/2025:14:05:02 +0000"), None);
        assert_eq!(parse_clf("-"), None);
        assert_eq!(parse_clf("99/Oct/2025:14:05:02 +0000"), None);
    }

    #[test]
    fn iso() {
        assert_eq!(
            parse_iso("2025-10-14T14:05:02.118Z"),
            Some(1_760_450_702_118)
        );
        assert_eq!(
            parse_iso("2025-10-14T14:05:02.118000+00:00"),
            Some(1_760_450_702_118)
        );
        assert_eq!(
            parse_iso("2025-10-14 14:05:02.118"),
            Some(1_760_450_702_118)
        );
        assert_eq!(parse_iso("2025-10-14T14:05:02"), Some(1_760_450_702_000));
        assert_eq!(parse_iso("2025-10-14T14:05:02.1Z"), Some(1_760_450_702_100));
        assert_eq!(parse_iso("2025-13-14T14:05:02Z"), None);
        assert_eq!(parse_iso("2025-10-14T14:05:02Zjunk"), None);
        assert_eq!(parse_iso(""), None);
    }

    #[test]
    fn epoch_and_dates() {
        assert_eq!(parse_epoch("1760450702118"), Some(1_760_450_702_118));
        assert_eq!(parse_epoch("1760450702"), Some(1_760_450_702_000));
        assert_eq!(parse_epoch("1760450702.5"), Some(1_760_450_702_500));
        assert_eq!(parse_epoch("x"), None);
        assert_eq!(parse_epoch("99999999999999"), None);
        assert_eq!(parse_epoch("12"), None);
        assert_eq!(date_of_ms(1_760_450_702_118), "2025-10-14");
        assert_eq!(rfc3339_ms(1_760_450_702_118), "2025-10-14T14:05:02.118Z");
        assert_eq!(date_of_ms(-1), "1969-12-31");
        for z in [-1000, 0, 1, 20000, 737000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
