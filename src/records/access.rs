//! Access records: one API Gateway access-log message → the `$context` variables it carries.
//! JSON layouts are parsed once into borrowed key/value pairs and mapped by a cached
//! [`Mapping`] (key sets rarely change within a source); text layouts (CLF, CSV, XML) are
//! matched against a compiled template. `-` is absence. Secrets (`$context.identity.apiKey`)
//! are dropped at parse time. This module knows nothing of files, joins or classes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::format::{self, Format, Layout, Mapping};
use super::vars::{Var, VarSet, NVARS};
use crate::intern::Name;
use crate::model::Origin;
use crate::redact;

/// Why a message that looks like an access record could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessError {
    /// The JSON does not parse.
    #[error("access record is not valid JSON: {0}")]
    Json(String),
    /// No request id.
    #[error("access record has no requestId (nor extendedRequestId) value; records without one cannot be joined")]
    MissingRequestId,
    /// A text record that does not fit the given format.
    #[error("line does not fit the access-log format `{0}`; check --access-format")]
    Layout(String),
}

/// One access record. Serializable so that the join can spill records to disk
/// (`crate::spill`) when the input does not fit in `--memory-limit`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccessRecord {
    /// The present variables' values, one after another.
    buf: String,
    /// The variables with a value: `spans[i]` is the `(start, len)` in `buf` of the `i`-th
    /// variable of `present` in declaration order, so a lookup is a popcount, not a scan.
    present: VarSet,
    #[serde(with = "span_bytes")]
    spans: Vec<(u32, u32)>,
    /// Variables the record's format carries (present or `-`).
    pub known: VarSet,
    /// Keys no known variable explains, with their (redacted) values.
    pub extra: Vec<(String, String)>,
    /// Name of the mapping the record was read with.
    #[serde(deserialize_with = "interned::name")]
    pub mapping: Name,
    /// Keys whose meaning was ambiguous and left unmapped.
    pub ambiguous: Vec<String>,
    /// xxh3 of the message, to recognise the same record seen twice.
    pub content_hash: u64,
    /// CloudWatch event time.
    pub log_time_ms: Option<i64>,
    /// api id / stage from the log group, when the record itself lacks them.
    #[serde(deserialize_with = "interned::pair")]
    pub group_api: Option<(Name, Name)>,
    /// Where the record is.
    pub origin: Origin,
    /// [`AccessRecord::request_time`], parsed once as the record is built (every stage after
    /// the parse reads it: the spill's day key, the filter, the sort, the link, the row).
    request_time: Option<(i64, TimePrecision)>,
}

/// How precise a request time is: `requestTimeEpoch` has milliseconds, `requestTime` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum TimePrecision {
    Ms,
    S,
}

/// Names a run repeats on every record (its mapping, the API id and stage of its log group),
/// shared when records are read back from a spill file: a lookup instead of an allocation.
mod interned {
    use std::fmt;

    use serde::de::{Deserializer, Visitor};
    use serde::Deserialize;

    use crate::intern::Name;

    struct Interned(Name);

    impl<'de> Deserialize<'de> for Interned {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Interned;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Interned, E> {
                    Ok(Interned(crate::intern::name(v)))
                }
            }
            d.deserialize_str(V)
        }
    }

    pub fn name<'de, D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        Interned::deserialize(d).map(|n| n.0)
    }

    /// An API id and stage.
    type Pair = Option<(Name, Name)>;

    pub fn pair<'de, D: Deserializer<'de>>(d: D) -> Result<Pair, D::Error> {
        Option::<(Interned, Interned)>::deserialize(d).map(|p| p.map(|(a, b)| (a.0, b.0)))
    }
}

/// A record's spans in a spill file: one run of bytes holding each number as a LEB128
/// varint (as postcard writes numbers, so the file is no larger), encoded and decoded in one
/// tight loop instead of an element at a time through serde (the spans were some 40 % of
/// the time spent encoding and decoding a spilled record).
mod span_bytes {
    use std::cell::RefCell;
    use std::fmt;

    use serde::de::{Deserializer, Error, Visitor};
    use serde::Serializer;

    fn put(b: &mut Vec<u8>, mut v: u32) {
        while v >= 0x80 {
            b.push(v as u8 | 0x80);
            v >>= 7;
        }
        b.push(v as u8);
    }

    /// The next varint of `b`, `None` when it is cut short or does not fit 32 bits.
    fn get(b: &mut &[u8]) -> Option<u32> {
        let mut v = 0u64;
        for shift in (0..35).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return u32::try_from(v).ok();
            }
        }
        None
    }

    pub fn serialize<S: Serializer>(spans: &[(u32, u32)], s: S) -> Result<S::Ok, S::Error> {
        thread_local! {
            static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        BUF.with(|b| {
            let mut b = b.borrow_mut();
            b.clear();
            for &(start, len) in spans {
                put(&mut b, start);
                put(&mut b, len);
            }
            s.serialize_bytes(&b)
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u32, u32)>, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Vec<(u32, u32)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("spans as varints, two a span")
            }
            fn visit_bytes<E: Error>(self, mut v: &[u8]) -> Result<Self::Value, E> {
                // Every number ends in a byte below 0x80: the count, before decoding.
                let numbers = v.iter().filter(|&&b| b < 0x80).count();
                if !numbers.is_multiple_of(2) {
                    return Err(E::invalid_length(numbers, &self));
                }
                let mut out = Vec::with_capacity(numbers / 2);
                while !v.is_empty() {
                    match (get(&mut v), get(&mut v)) {
                        (Some(start), Some(len)) => out.push((start, len)),
                        _ => return Err(E::custom("a span's number is cut short or too large")),
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(V)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn varints_round_trip_at_every_width_and_refuse_damage() {
            let spans: Vec<(u32, u32)> = [0, 1, 127, 128, 16_383, 16_384, 1 << 21, u32::MAX]
                .iter()
                .map(|&n| (n, u32::MAX - n))
                .collect();
            let bytes = postcard::to_allocvec(&Wrap(spans.clone())).unwrap();
            let back: Wrap = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(back.0, spans);
            // An odd count of numbers, a number cut short, one past 32 bits: errors.
            for bad in [
                &[1u8, 3, 5][..],
                &[0x80, 0x80],
                &[0xff, 0xff, 0xff, 0xff, 0x7f, 0],
            ] {
                let mut b = vec![bad.len() as u8];
                b.extend_from_slice(bad);
                assert!(postcard::from_bytes::<Wrap>(&b).is_err(), "{bad:?}");
            }
        }

        #[derive(serde::Serialize, serde::Deserialize)]
        struct Wrap(#[serde(with = "super")] Vec<(u32, u32)>);
    }
}

impl AccessRecord {
    /// The value of `v`, `None` when absent (`-`, null or not in the format).
    pub fn get(&self, v: Var) -> Option<&str> {
        if !self.present.has(v) {
            return None;
        }
        let rank = (self.present.0 & (v.bit() - 1)).count_ones() as usize;
        let &(s, l) = self.spans.get(rank)?;
        self.buf.get(s as usize..(s as usize + l as usize))
    }

    /// Whether the format carries `v` but this record says `-` (or null).
    pub fn is_dash(&self, v: Var) -> bool {
        self.known.has(v) && self.get(v).is_none()
    }

    /// `v` as an integer (status codes, lengths, latencies).
    pub fn int(&self, v: Var) -> Option<i64> {
        parse_int(self.get(v)?)
    }

    /// The request id (`requestId`, else `extendedRequestId`).
    pub fn request_id(&self) -> &str {
        self.get(Var::RequestId)
            .or_else(|| self.get(Var::ExtendedRequestId))
            .unwrap_or_default()
    }

    /// The API id: the record's, else the log group's.
    pub fn api_id(&self) -> Option<&str> {
        self.get(Var::ApiId)
            .or_else(|| self.group_api.as_ref().map(|(a, _)| &**a))
    }

    /// The stage: the record's, else the log group's.
    pub fn stage(&self) -> Option<&str> {
        self.get(Var::Stage)
            .or_else(|| self.group_api.as_ref().map(|(_, s)| &**s))
    }

    /// When the request happened, as the epoch ms its `dt` partition is cut by: its request
    /// time, else its log event time.
    pub fn time_ms(&self) -> Option<i64> {
        self.request_time().map(|(t, _)| t).or(self.log_time_ms)
    }

    /// Request time in epoch ms and its precision (`ms` from requestTimeEpoch, `s` from
    /// requestTime).
    pub fn request_time(&self) -> Option<(i64, &'static str)> {
        self.request_time.map(|(ms, p)| {
            (
                ms,
                match p {
                    TimePrecision::Ms => "ms",
                    TimePrecision::S => "s",
                },
            )
        })
    }

    /// [`AccessRecord::request_time`] from the record's variables.
    fn parse_request_time(&self) -> Option<(i64, TimePrecision)> {
        if let Some(ms) = self
            .get(Var::RequestTimeEpoch)
            .and_then(crate::time::parse_epoch)
        {
            return Some((ms, TimePrecision::Ms));
        }
        self.get(Var::RequestTime)
            .and_then(|t| crate::time::parse_clf(t).or_else(|| crate::time::parse_iso(t)))
            .map(|ms| (ms, TimePrecision::S))
    }

    /// A request known only from its execution-log lines: no access-log variable is known;
    /// the ids and the method/actual path the execution log names are filled in.
    pub fn from_execution(
        request_id: &str,
        extended_request_id: Option<&str>,
        method_and_path: Option<(&str, &str)>,
        origin: Origin,
    ) -> AccessRecord {
        let mut b = Builder::new(request_id.len() + 64);
        b.push(Var::RequestId, request_id);
        if let Some(x) = extended_request_id {
            b.push(Var::ExtendedRequestId, x);
        }
        if let Some((m, p)) = method_and_path {
            b.push(Var::HttpMethod, m);
            b.push(Var::Path, p);
        }
        b.finish(AccessRecord {
            buf: String::new(),
            present: VarSet::default(),
            spans: Vec::new(),
            known: VarSet::default(),
            extra: Vec::new(),
            mapping: Name::Borrowed("execution-log"),
            ambiguous: Vec::new(),
            content_hash: xxhash_rust::xxh3::xxh3_64(request_id.as_bytes()),
            log_time_ms: None,
            group_api: None,
            origin,
            // Parsed by `Builder::finish`.
            request_time: None,
        })
    }
}

/// Collects a record's values in any order (the last value of a variable wins, as in JSON)
/// and lays them out by variable.
struct Builder {
    buf: String,
    present: VarSet,
    spans: [(u32, u32); NVARS],
}

impl Builder {
    fn new(capacity: usize) -> Self {
        Builder {
            buf: String::with_capacity(capacity),
            present: VarSet::default(),
            spans: [(0, 0); NVARS],
        }
    }

    fn push(&mut self, v: Var, value: &str) {
        if v == Var::ApiKey {
            // The key itself never leaves the tool.
            return;
        }
        // Offsets are u32: a value past 4 GiB of record text is not kept (lines are capped far
        // below that by the readers).
        let (Ok(start), Ok(len)) = (u32::try_from(self.buf.len()), u32::try_from(value.len()))
        else {
            return;
        };
        if start.checked_add(len).is_none() {
            return;
        }
        self.buf.push_str(value);
        self.spans[v as usize] = (start, len);
        self.present.insert(v);
    }

    fn finish(self, mut rec: AccessRecord) -> AccessRecord {
        let mut spans = Vec::with_capacity(self.present.0.count_ones() as usize);
        let mut bits = self.present.0;
        while bits != 0 {
            spans.push(self.spans[bits.trailing_zeros() as usize]);
            bits &= bits - 1;
        }
        rec.spans = spans;
        rec.present = self.present;
        rec.buf = self.buf;
        rec.request_time = rec.parse_request_time();
        rec
    }
}

/// A JSON scalar rendered as text, or null / nested.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Null,
    Nested(String),
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Scalar::Nested(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Scalar::Nested(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Str(s) => Ok(Key(s)),
            _ => Err(de::Error::custom("object key is not a string")),
        }
    }
}

/// A flat JSON object: keys and scalar values in document order.
struct Flat<'a>(Vec<(Cow<'a, str>, Scalar<'a>)>);

impl<'de> Deserialize<'de> for Flat<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flat<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(40));
                while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                    out.push((k, m.next_value::<Scalar<'de>>()?));
                }
                Ok(Flat(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Repairs the invalid JSON an unquoted variable produces when its value is `-`
/// (`"status":-,`), FORMATS.md §1.1.
fn repair_unquoted_dash(s: &str) -> Option<String> {
    let fixed = s.replace(":-,", ":\"-\",").replace(":-}", ":\"-\"}");
    let fixed = fixed
        .replace(": -,", ": \"-\",")
        .replace(": -}", ": \"-\"}");
    (fixed != s).then_some(fixed)
}

/// A key and its value rendered as text (`None`: null).
type Field<'a> = (&'a str, Option<&'a str>);

impl Flat<'_> {
    fn fields(&self) -> Vec<Field<'_>> {
        self.0
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Scalar::Str(s) => Some(&**s),
                    Scalar::Null => None,
                    Scalar::Nested(s) => Some(s.as_str()),
                };
                (&**k, v)
            })
            .collect()
    }
}

/// The first `"` in `b`. JSON strings in access records are short, where a word-at-a-time scan
/// beats `memchr`'s set-up.
#[inline]
fn find_quote(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ QUOTES;
        let found = x.wrapping_sub(ONES) & !x & HIGH;
        if found != 0 {
            // The lowest flagged byte is always a real match.
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'"').map(|p| i + p)
}

/// The flat objects API Gateway writes, read without serde: string keys and values without
/// escapes, canonical integers, `true` / `false` / `null`, spaces between tokens. Every value
/// is borrowed from the line and reads exactly as the serde route ([`Flat`]) would read it.
/// Returns `None` for anything else (escapes, control characters, floats, nested values,
/// invalid JSON), which then takes the serde route.
fn flat_fast(json: &str) -> Option<Vec<Field<'_>>> {
    let b = json.as_bytes();
    // One pass over the line rules out escapes and control characters, so a string ends at the
    // next quote.
    if b.iter()
        .fold(false, |acc, &c| acc | (c < 0x20) | (c == b'\\'))
    {
        return None;
    }
    if b.first() != Some(&b'{') || b.last() != Some(&b'}') {
        return None;
    }
    let skip_ws = |mut i: usize| {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    // The string opening at `i` and the index after it.
    let string = |i: usize| -> Option<(&str, usize)> {
        let start = i + 1;
        let end = start + find_quote(b.get(start..)?)?;
        Some((json.get(start..end)?, end + 1))
    };
    let mut out = Vec::with_capacity(48);
    let mut i = skip_ws(1);
    if b.get(i) == Some(&b'}') {
        return (i + 1 == b.len()).then_some(out);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key, next) = string(i)?;
        i = skip_ws(next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(i + 1);
        let value = match *b.get(i)? {
            b'"' => {
                let (v, next) = string(i)?;
                i = next;
                Some(v)
            }
            b'n' if b[i..].starts_with(b"null") => {
                i += 4;
                None
            }
            b't' if b[i..].starts_with(b"true") => {
                i += 4;
                Some("true")
            }
            b'f' if b[i..].starts_with(b"false") => {
                i += 5;
                Some("false")
            }
            b'-' | b'0'..=b'9' => {
                // Only integers serde_json prints back unchanged: no leading zero, no `-0`, at
                // most 18 digits (within i64 and u64).
                let start = i;
                if b[i] == b'-' {
                    i += 1;
                }
                let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                let canonical = match digits {
                    1 => b[i] != b'0' || b[start] != b'-',
                    2..=18 => b[i] != b'0',
                    _ => false,
                };
                if !canonical {
                    return None;
                }
                i += digits;
                Some(json.get(start..i)?)
            }
            _ => return None,
        };
        out.push((key, value));
        i = skip_ws(i);
        match b.get(i) {
            Some(b',') => i = skip_ws(i + 1),
            Some(b'}') => return (i + 1 == b.len()).then_some(out),
            _ => return None,
        }
    }
}

/// Reads access records, caching JSON key-set mappings. One per worker.
#[derive(Debug, Default)]
pub struct AccessParser {
    user: Option<Arc<Format>>,
    last: Option<(Vec<String>, Arc<Mapping>)>,
    cache: HashMap<Vec<String>, Arc<Mapping>>,
    /// The matched values of a text line, reused from line to line.
    text_values: Vec<(Option<Var>, (usize, usize))>,
}

/// Key sets remembered per parser; past this many (a stream of other logs' objects with
/// ever-changing keys) the cache starts over.
const MAPPING_CACHE_CAP: usize = 1024;

/// What a message turned out to be.
pub enum Parsed {
    /// An access record.
    Record(Box<AccessRecord>),
    /// Not an access record at all (another log's line).
    NotAccess,
}

impl AccessParser {
    /// A parser using `user` (the stage's format) when given, built-in knowledge otherwise.
    pub fn new(user: Option<Arc<Format>>) -> Self {
        AccessParser {
            user,
            ..Default::default()
        }
    }

    fn mapping_for(&mut self, fields: &[Field<'_>]) -> Arc<Mapping> {
        if let Some((last, m)) = &self.last {
            if last.len() == fields.len() && last.iter().zip(fields).all(|(a, (b, _))| a == b) {
                return m.clone();
            }
        }
        let keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
        let owned: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let m = match self.cache.get(&owned) {
            Some(m) => m.clone(),
            None => {
                let m = Arc::new(match &self.user {
                    Some(f) => format::map_with(f, &keys),
                    None => format::recognise(&keys),
                });
                if self.cache.len() >= MAPPING_CACHE_CAP {
                    self.cache.clear();
                }
                self.cache.insert(owned.clone(), m.clone());
                m
            }
        };
        self.last = Some((owned, m.clone()));
        m
    }

    /// Parses one message. `Ok(NotAccess)` for messages that are plainly not access records
    /// (so the caller can skip them as another log's lines); `Err` for messages that look
    /// like access records but cannot be read.
    pub fn parse(&mut self, msg: &str, origin: Origin) -> Result<Parsed, AccessError> {
        let trimmed = msg.trim_start();
        let user_text = matches!(
            self.user.as_deref(),
            Some(Format {
                layout: Layout::Text(_),
                ..
            })
        );
        if trimmed.starts_with('{') && !user_text {
            return self.parse_json(trimmed.trim_end(), msg, origin);
        }
        self.parse_text(msg.trim_end_matches(['\r', '\n']), origin)
    }

    fn parse_json(&mut self, json: &str, raw: &str, origin: Origin) -> Result<Parsed, AccessError> {
        if let Some(fields) = flat_fast(json) {
            return self.build_json(&fields, raw, origin, true);
        }
        match serde_json::from_str::<Flat>(json) {
            Ok(flat) => self.build_json(&flat.fields(), raw, origin, true),
            Err(e) => {
                if let Some(repaired) = repair_unquoted_dash(json) {
                    if let Ok(f) = serde_json::from_str::<Flat>(&repaired) {
                        // An unquoted `-` is API Gateway's own rendering: an access record.
                        return self.build_json(&f.fields(), raw, origin, false);
                    }
                }
                if looks_like_access_json(json) {
                    return Err(AccessError::Json(e.to_string()));
                }
                Ok(Parsed::NotAccess)
            }
        }
    }

    fn build_json(
        &mut self,
        fields: &[Field<'_>],
        raw: &str,
        origin: Origin,
        check: bool,
    ) -> Result<Parsed, AccessError> {
        if check && fields.is_empty() {
            return Ok(Parsed::NotAccess);
        }
        let mapping = self.mapping_for(fields);
        // Without the stage's format, only an object naming a request id and something only
        // API Gateway writes is an access record (`format::is_access_key_set`).
        if check && !mapping.access {
            return Ok(Parsed::NotAccess);
        }
        let kept: usize = fields
            .iter()
            .zip(&mapping.vars)
            .map(|((_, value), var)| match (var, value) {
                (Some(_), Some(s)) => s.len(),
                _ => 0,
            })
            .sum();
        let mut b = Builder::new(kept);
        let mut extra: Vec<(String, String)> = Vec::new();
        for (&(key, text), var) in fields.iter().zip(&mapping.vars) {
            match (var, text) {
                (Some(v), Some(t)) if t != "-" && !t.is_empty() => b.push(*v, t),
                (Some(_), _) => {}
                (None, Some(t)) => {
                    let value = if redact::is_secret_key(key) {
                        redact::MASK.to_string()
                    } else {
                        redact::scrub(t).into_owned()
                    };
                    // A repeated key: the last value wins, as for known variables.
                    match extra.iter_mut().find(|(k, _)| k == key) {
                        Some((_, v)) => *v = value,
                        None => extra.push((key.to_string(), value)),
                    }
                }
                (None, None) => {}
            }
        }
        let rec = b.finish(AccessRecord {
            buf: String::new(),
            present: VarSet::default(),
            spans: Vec::new(),
            known: mapping.known,
            extra,
            mapping: mapping.name.clone(),
            ambiguous: mapping.ambiguous.clone(),
            content_hash: xxhash_rust::xxh3::xxh3_64(raw.trim_end().as_bytes()),
            log_time_ms: None,
            group_api: None,
            origin,
            // Parsed by `Builder::finish`.
            request_time: None,
        });
        finish(rec)
    }

    fn parse_text(&mut self, line: &str, origin: Origin) -> Result<Parsed, AccessError> {
        let candidates: &[Format] = match &self.user {
            Some(f) => std::slice::from_ref(&**f),
            None => format::known_text(),
        };
        for f in candidates {
            let Layout::Text(parts) = &f.layout else {
                continue;
            };
            if !format::match_text_into(parts, line, &mut self.text_values) {
                continue;
            }
            let values = self
                .text_values
                .iter()
                .map(|&(v, (a, b))| (v, trim(&line[a..b])));
            // Without the stage's own format, a layout only fits when the request id it
            // finds looks like one (an nginx line has `"-"` where CLF has the id).
            if self.user.is_none()
                && !values.clone().any(|(v, t)| {
                    matches!(v, Some(Var::RequestId | Var::ExtendedRequestId)) && plausible_id(t)
                })
            {
                continue;
            }
            let mut b = Builder::new(line.len());
            for (v, t) in values {
                if let Some(v) = v {
                    if t != "-" && !t.is_empty() {
                        b.push(v, t);
                    }
                }
            }
            return finish(b.finish(AccessRecord {
                buf: String::new(),
                present: VarSet::default(),
                spans: Vec::new(),
                known: f.vars,
                extra: Vec::new(),
                mapping: f.name.clone(),
                ambiguous: Vec::new(),
                content_hash: xxhash_rust::xxh3::xxh3_64(line.as_bytes()),
                log_time_ms: None,
                group_api: None,
                origin,
                // Parsed by `Builder::finish`.
                request_time: None,
            }));
        }
        match &self.user {
            Some(f) if looks_like_text_access(line) => Err(AccessError::Layout(f.name.to_string())),
            _ => Ok(Parsed::NotAccess),
        }
    }
}

fn finish(rec: AccessRecord) -> Result<Parsed, AccessError> {
    if rec.get(Var::RequestId).is_none() && rec.get(Var::ExtendedRequestId).is_none() {
        return Err(AccessError::MissingRequestId);
    }
    Ok(Parsed::Record(Box::new(rec)))
}

/// `str::trim`, without its per-character Unicode test when both ends are printable ASCII
/// (every Unicode whitespace character is an ASCII space or control, or starts and ends with a
/// byte of 0x80 or more).
fn trim(s: &str) -> &str {
    let plain = |c: Option<&u8>| c.is_some_and(u8::is_ascii_graphic);
    let b = s.as_bytes();
    if plain(b.first()) && plain(b.last()) {
        s
    } else {
        s.trim()
    }
}

/// `s` as an integer, spaces around it allowed. Most values are a few plain digits
/// (statuses, lengths, latencies), read at once by [`crate::time::num`]; anything else
/// goes through `str::parse`.
fn parse_int(s: &str) -> Option<i64> {
    crate::time::num(s.as_bytes()).or_else(|| s.trim().parse().ok())
}

/// Request ids are UUIDs, base64-like extended ids or client-chosen tokens: no quotes or spaces.
fn plausible_id(s: &str) -> bool {
    !s.is_empty() && s != "-" && s.len() <= 128 && s.bytes().all(|c| ID_BYTE[c as usize])
}

/// The bytes [`plausible_id`] allows, looked up at once (each line's id is checked).
const ID_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'=' | b'+' | b'/' | b'.' | b':');
        c += 1;
    }
    t
};

/// A JSON-looking line that names a request id key: an access record, even if broken.
fn looks_like_access_json(s: &str) -> bool {
    let head = &s.as_bytes()[..s.len().min(4096)];
    memchr::memmem::find(head, b"equestId\"").is_some()
        || memchr::memmem::find(head, b"request_id\"").is_some()
}

/// A text line that contains something like a UUID and an HTTP status: likely an access record.
fn looks_like_text_access(s: &str) -> bool {
    s.split([' ', ',', '"', '<', '>'])
        .any(crate::model::is_uuid)
}

impl AccessRecord {
    /// Approximate heap bytes the record holds (for the join's memory budget).
    pub fn approx_heap_bytes(&self) -> usize {
        self.buf.capacity()
            + self.spans.capacity() * std::mem::size_of::<(u32, u32)>()
            + self
                .extra
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>()
            + self.ambiguous.iter().map(|k| k.len() + 24).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_bytes_are_letters_digits_and_seven_signs() {
        for c in 0..=255u8 {
            let want = c.is_ascii_alphanumeric() || b"-_=+/.:".contains(&c);
            assert_eq!(ID_BYTE[c as usize], want, "{c:#04x}");
        }
        assert!(plausible_id("c1d4f94e-a50e-42b3-8b32-945ded941995"));
        assert!(plausible_id("ue4gqKduSAQ8D2k="));
        for bad in ["", "-", "a b", "\"x\"", "é", &"a".repeat(129)] {
            assert!(!plausible_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn trim_is_str_trim() {
        for v in [
            "",
            " ",
            "x",
            " x",
            "x ",
            "\tx\n",
            "\u{b}x",
            "x\u{b}",
            "\u{a0}x",
            "x\u{3000}",
            "\u{85}x\u{2028}",
            "é",
            " é ",
            "-",
            "GET /pets",
        ] {
            assert_eq!(trim(v), v.trim(), "{v:?}");
        }
    }

    fn rec(p: &mut AccessParser, s: &str) -> AccessRecord {
        match p.parse(s, Origin::default()).unwrap() {
            Parsed::Record(r) => *r,
            Parsed::NotAccess => panic!("not access: {s}"),
        }
    }

    const E11: &str = r#"{"requestId":"3e63d9a0-0376-4989-ad1b-e7156c9bf3e7","extendedRequestId":"NetXaK4ovFkPMBQ=","ip":"203.0.113.98","caller":"-","user":"-","userArn":"-","apiKeyId":"-","requestTime":"14/Oct/2025:14:08:02 +0000","requestTimeEpoch":"1760450882455","httpMethod":"GET","resourcePath":"/payments/{paymentId}","path":"/live/payments/pay_5Rk1wZpE","protocol":"HTTP/1.1","responseLength":"82","error-message":"User is not authorized to access this resource with an explicit deny","error-responseType":"ACCESS_DENIED","waf-error":"-","waf-status":"200","waf-latency":"3","waf-response":"WAF_ALLOW","authenticate-error":"-","authenticate-status":"-","authenticate-latency":"-","authorizer-error":"-","authorizer-status":"200","authorizer-latency":"21","authorizer-integrationStatus":"200","authorizer-integrationLatency":"18","authorizer-requestId":"ce039721-550a-4772-925e-eaffe1a11aea","authorizer-principalId":"merchant:m_2280","authorize-error":"The client is not authorized to perform this operation.","authorize-status":"403","authorize-latency":"0","integration-error":"-","integration-status":"-","integration-latency":"-","integration-requestId":"-","integration-integrationStatus":"-","response-latency":"26","status":"403"}"#;

    #[test]
    fn enhanced_record() {
        let mut p = AccessParser::new(None);
        let r = rec(&mut p, E11);
        assert_eq!(r.request_id(), "3e63d9a0-0376-4989-ad1b-e7156c9bf3e7");
        assert_eq!(r.get(Var::ErrorResponseType), Some("ACCESS_DENIED"));
        assert_eq!(r.int(Var::Status), Some(403));
        assert_eq!(
            r.get(Var::AuthorizerRequestId),
            Some("ce039721-550a-4772-925e-eaffe1a11aea")
        );
        assert_eq!(r.int(Var::AuthorizeStatus), Some(403));
        assert!(r.is_dash(Var::AuthenticateStatus));
        assert!(r.is_dash(Var::IntegrationStatus));
        assert!(!r.known.has(Var::RouteKey));
        assert_eq!(r.request_time(), Some((1_760_450_882_455, "ms")));
        assert_eq!(&*r.mapping, "enhanced+derived");
        assert!(r.extra.is_empty(), "{:?}", r.extra);
    }

    #[test]
    fn troubleshooting_record_binds_by_format_not_key_name() {
        let mut p = AccessParser::new(None);
        let r = rec(
            &mut p,
            r#"{"requestId":"5ca127f3-08c9-49e3-80f5-0029a0786f04","ip":"203.0.113.98","caller":"-","user":"-","requestTime":"14/Oct/2025:14:08:31 +0000","httpMethod":"GET","resourcePath":"/payments/{paymentId}","status":"403","protocol":"HTTP/1.1","responseLength":"82","authenticate-status":"-","authorize-status":"200"}"#,
        );
        assert_eq!(&*r.mapping, "troubleshooting");
        assert_eq!(r.int(Var::AuthorizerStatus), Some(200));
        assert!(r.is_dash(Var::AuthorizerIntegrationStatus));
        assert!(!r.known.has(Var::AuthenticateStatus));
        assert!(!r.known.has(Var::ErrorResponseType));
        assert_eq!(r.request_time(), Some((1_760_450_911_000, "s")));
    }

    #[test]
    fn unquoted_dash_is_repaired() {
        let mut p = AccessParser::new(None);
        let r = rec(&mut p, r#"{"requestId":"a","status":-,"responseLength":-}"#);
        assert!(r.is_dash(Var::ResponseLength));
        assert!(r.is_dash(Var::Status));
        let r = rec(
            &mut p,
            r#"{"requestId":"a","status":403,"responseLength":23}"#,
        );
        assert_eq!(r.int(Var::Status), Some(403));
    }

    #[test]
    fn broken_access_json_is_an_error_other_json_is_not_access() {
        let mut p = AccessParser::new(None);
        assert!(matches!(
            p.parse(r#"{"requestId":"a","st"#, Origin::default()),
            Err(AccessError::Json(_))
        ));
        assert!(matches!(
            p.parse(r#"{"level":"INFO","msg":"x"}"#, Origin::default()),
            Ok(Parsed::NotAccess)
        ));
        assert!(matches!(
            p.parse("START RequestId: x", Origin::default()),
            Ok(Parsed::NotAccess)
        ));
        assert!(matches!(
            p.parse(r#"{"requestId":"-","status":"403"}"#, Origin::default()),
            Err(AccessError::MissingRequestId)
        ));
    }

    #[test]
    fn api_key_value_is_dropped_and_tokens_in_extra_are_redacted() {
        let mut p = AccessParser::new(None);
        let r = rec(
            &mut p,
            r#"{"requestId":"a","status":"403","apiKey":"abcdefghijklmnopqrstuvwxyz0123456789","authHeader":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2ln"}"#,
        );
        let text = format!("{r:?}");
        assert!(!text.contains("abcdefghijklmnopqrstuvwxyz0123456789"));
        assert!(!text.contains("eyJzdWIiOiIxIn0"));
    }

    #[test]
    fn integers_read_at_once_or_parsed_agree_with_parse() {
        for s in [
            "0",
            "007",
            "403",
            "-5",
            " 42 ",
            "+3",
            "",
            "12a",
            "999999999999999999",
            "9223372036854775807",
            "9223372036854775808",
            "١٢",
        ] {
            assert_eq!(parse_int(s), s.trim().parse::<i64>().ok(), "{s:?}");
        }
    }

    #[test]
    fn clf_record_without_flag() {
        let mut p = AccessParser::new(None);
        let r = rec(
            &mut p,
            r#"203.0.113.98 - - [14/Oct/2025:14:08:02 +0000] "GET /payments/{paymentId} HTTP/1.1" 403 82 3e63d9a0-0376-4989-ad1b-e7156c9bf3e7 NetXaK4ovFkPMBQ="#,
        );
        assert_eq!(&*r.mapping, "console-clf");
        assert_eq!(r.int(Var::ResponseLength), Some(82));
        assert!(r.is_dash(Var::Caller));
    }

    #[test]
    fn user_format_mismatch_is_an_error() {
        let f = format::compile("user", "$context.requestId $context.status").unwrap();
        let mut p = AccessParser::new(Some(Arc::new(f)));
        assert!(matches!(
            p.parse(
                "3e63d9a0-0376-4989-ad1b-e7156c9bf3e7 403",
                Origin::default()
            ),
            Ok(Parsed::Record(_))
        ));
        assert!(matches!(
            p.parse("3e63d9a0-0376-4989-ad1b-e7156c9bf3e7", Origin::default()),
            Err(AccessError::Layout(_))
        ));
    }

    #[test]
    fn application_json_naming_a_request_id_is_not_access() {
        let mut p = AccessParser::new(None);
        for line in [
            r#"{"requestId":"7f1c2e1a-1111-4a4a-9999-0123456789ab","level":"debug","msg":"db query took 12ms"}"#,
            r#"{"level":"info","requestId":"abc","userId":42,"path":"/checkout"}"#,
            r#"{"requestId":"abc","ip":"192.0.2.1","user":"u","method":"GET","error":"x"}"#,
        ] {
            assert!(
                matches!(p.parse(line, Origin::default()), Ok(Parsed::NotAccess)),
                "{line}"
            );
        }
        // The same keys plus one API Gateway writes, or under the stage's format: a record.
        rec(
            &mut p,
            r#"{"level":"info","requestId":"abc","status":"403"}"#,
        );
        rec(
            &mut p,
            r#"{"requestId":"abc","extendedRequestId":"x=","msg":"m"}"#,
        );
        rec(
            &mut p,
            r#"{"requestId":"abc","authorize-status":"403","msg":"m"}"#,
        );
        let f = format::compile(
            "user",
            r#"{"rid":"$context.requestId","m":"$context.path"}"#,
        )
        .unwrap();
        let mut u = AccessParser::new(Some(Arc::new(f)));
        assert!(matches!(
            u.parse(r#"{"rid":"abc","m":"/x"}"#, Origin::default()),
            Ok(Parsed::Record(_))
        ));
    }

    #[test]
    fn every_bundled_json_layout_is_access() {
        for text in [
            include_str!("../../tests/fixtures/samples/access/enhanced.jsonl"),
            include_str!("../../tests/fixtures/samples/access/troubleshooting.jsonl"),
            // FORMATS.md §1.5, real records (REST with `method`, HTTP API with `routeKey`).
            r#"{"caller": "-", "ip": "51.14.4.225", "method": "POST", "path": "/development/data-product/test_product1/table/%c2%a3/schema", "protocol": "HTTP/1.1", "requestId": "a4188e34-1104-424e-9907-eebbf55dd662", "requestTime": "27/Oct/2023:13:40:57 +0000", "requestTimeEpoch": "1698414057744", "resourcePath": "/data-product/{data-product-name}/table/{table-name}/schema", "responseLength": "87", "status": "400", "user": "-"}"#,
            r#"{"requestId": "HGQeGiXZliAEPSw=", "ip": "93.142.91.220", "requestTime": "12/Oct/2021:13:57:46 +0000", "httpMethod": "POST", "routeKey": "POST /deploy", "status": "500", "protocol": "HTTP/1.1", "responseLength": "35", "authError": "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response"}"#,
        ] {
            let mut p = AccessParser::new(None);
            for line in text.lines() {
                rec(&mut p, line);
            }
        }
        // Every built-in JSON format, rendered with placeholder values.
        for (name, f) in format::KNOWN.iter().filter(|(_, f)| f.starts_with('{')) {
            let line = f.replace("$context.", "v-");
            let mut p = AccessParser::new(None);
            let r = rec(&mut p, &line);
            assert_eq!(r.request_id(), "v-requestId", "{name}");
        }
    }

    /// The serde route, for comparing with the fast route.
    fn serde_flat(json: &str) -> Vec<(String, Option<String>)> {
        owned(&serde_json::from_str::<Flat>(json).unwrap().fields())
    }

    fn owned(fields: &[Field<'_>]) -> Vec<(String, Option<String>)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn fast_route_reads_what_serde_reads_and_leaves_the_rest_to_it() {
        for json in [
            E11,
            r#"{}"#,
            r#"{ }"#,
            r#"{"a":1,"b":-12,"c":0,"d":true,"e":false,"f":null,"g":"x y","h":"é"}"#,
            r#"{ "a" : "1" , "b" : 403 }"#,
            r#"{"a":123456789012345678,"b":-123456789012345678}"#,
            r#"{"a":"x","a":"y"}"#,
        ] {
            let fast = flat_fast(json).unwrap_or_else(|| panic!("not fast: {json}"));
            assert_eq!(owned(&fast), serde_flat(json), "{json}");
        }
        for json in [
            r#"{"a":"x\"y"}"#,
            r#"{"a":1.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":007}"#,
            r#"{"a":1234567890123456789012}"#,
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            "{\"a\":\t1}",
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a":nul}"#,
            r#"{"a":-}"#,
            r#"{"a" 1}"#,
            r#"{"a":"#,
            r#"{"a"#,
            r#"{"#,
            r#"{"a":truex}"#,
            r#"{"a":"x" "b":1}"#,
            r#"{"a""b":1}"#,
            r#"{"a":"b"}}"#,
            r#"{"a":"b",}"#,
            r#"{,"a":"b"}"#,
            r#"{"a":"b"#,
            r#""a""#,
        ] {
            assert!(flat_fast(json).is_none(), "{json}");
        }
    }

    #[test]
    fn find_quote_finds_the_first() {
        for n in 0..40 {
            for at in 0..n {
                let mut b = vec![b'x'; n];
                b[at] = b'"';
                if at + 1 < n {
                    b[n - 1] = b'"';
                }
                assert_eq!(find_quote(&b), Some(at), "{n} {at}");
                // Bytes one below and above a quote, and high bytes, are not quotes.
                let c: Vec<u8> = b
                    .iter()
                    .map(|&c| if c == b'"' { 0xa2 } else { b'!' })
                    .collect();
                assert_eq!(find_quote(&c), None);
            }
            assert_eq!(find_quote(&vec![b'#'; n]), None);
        }
    }

    proptest::proptest! {
        /// Whatever the fast route accepts, serde_json reads the same way.
        #[test]
        fn fast_route_agrees_with_serde(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "\"", ":", ",", " ", "a", "é", "-", "0", "1", "9", "12", ".", "e",
                    "null", "true", "false", "[", "]", "\\", "\t",
                ]),
                0..24,
            )
        ) {
            let json: String = parts.concat();
            if let Some(fast) = flat_fast(&json) {
                let slow = serde_json::from_str::<Flat>(&json);
                proptest::prop_assert!(slow.is_ok(), "{}", json);
                proptest::prop_assert_eq!(owned(&fast), owned(&slow.unwrap().fields()));
            }
        }

        /// Objects of the accepted shape are all read by the fast route, as serde reads them.
        #[test]
        fn flat_objects_take_the_fast_route(
            pairs in proptest::collection::vec(("[a-z-]{0,6}", 0u8..6, "[ !#-\\[\\]-~é]{0,8}", -99999i64..99999), 0..8),
            ws in " {0,2}",
        ) {
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, kind, s, n)| {
                    let v = match kind {
                        0 => format!("\"{s}\""),
                        1 => n.to_string(),
                        2 => "null".to_string(),
                        3 => "true".to_string(),
                        4 => "false".to_string(),
                        _ => "\"-\"".to_string(),
                    };
                    format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}")
                })
                .collect();
            let json = format!("{{{ws}{}{ws}}}", body.join(","));
            let fast = flat_fast(&json);
            proptest::prop_assert!(fast.is_some(), "{}", json);
            proptest::prop_assert_eq!(owned(&fast.unwrap()), serde_flat(&json));
        }
    }

    #[test]
    fn lookups_and_postcard_round_trip() {
        let mut p = AccessParser::new(None);
        let mut records = vec![rec(&mut p, E11)];
        records.push(rec(
            &mut p,
            r#"{"requestId":"a","status":"200","httpMethod":"GET","status":"403","foo":"x"}"#,
        ));
        records.push(rec(
            &mut p,
            r#"203.0.113.98 - - [14/Oct/2025:14:08:02 +0000] "GET /payments/{paymentId} HTTP/1.1" 403 82 3e63d9a0-0376-4989-ad1b-e7156c9bf3e7 NetXaK4ovFkPMBQ="#,
        ));
        records.push(AccessRecord::from_execution(
            "id-1",
            Some("ext="),
            Some(("GET", "/x")),
            Origin::default(),
        ));
        assert_eq!(records[1].get(Var::Status), Some("403"));
        assert_eq!(records[1].get(Var::HttpMethod), Some("GET"));
        assert_eq!(records[3].get(Var::Path), Some("/x"));
        assert_eq!(records[3].get(Var::ExtendedRequestId), Some("ext="));
        for r in &records {
            let bytes = postcard::to_allocvec(r).unwrap();
            let back: AccessRecord = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(&back, r);
            for (v, _) in crate::records::vars::VARS {
                assert_eq!(back.get(v), r.get(v), "{v:?}");
                assert_eq!(back.is_dash(v), r.is_dash(v), "{v:?}");
            }
            assert_eq!(back.request_id(), r.request_id());
        }
        // Names read back are shared, not allocated per record.
        let mut with_group = records[0].clone();
        with_group.group_api = Some(("jhqwazmlcr".into(), "prod".into()));
        let bytes = postcard::to_allocvec(&with_group).unwrap();
        let a: AccessRecord = postcard::from_bytes(&bytes).unwrap();
        let b: AccessRecord = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(a, with_group);
        let shared = |x: &Name, y: &Name| matches!((x, y), (Cow::Borrowed(x), Cow::Borrowed(y)) if std::ptr::eq(*x, *y));
        assert!(shared(&a.mapping, &b.mapping));
        let (ga, gb) = (a.group_api.unwrap(), b.group_api.unwrap());
        assert!(shared(&ga.0, &gb.0) && shared(&ga.1, &gb.1));
    }

    #[test]
    fn damaged_spill_bytes_never_panic_on_lookup() {
        let mut p = AccessParser::new(None);
        let r = rec(&mut p, E11);
        let bytes = postcard::to_allocvec(&r).unwrap();
        for cut in 0..bytes.len() {
            let mut b = bytes.clone();
            b[cut] ^= 0x5a;
            if let Ok(back) = postcard::from_bytes::<AccessRecord>(&b) {
                for (v, _) in crate::records::vars::VARS {
                    let _ = back.get(v);
                }
            }
        }
    }
}
