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
use super::vars::{Var, VarSet};
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
    buf: String,
    slots: Vec<(Var, u32, u32)>,
    /// Variables the record's format carries (present or `-`).
    pub known: VarSet,
    /// Keys no known variable explains, with their (redacted) values.
    pub extra: Vec<(String, String)>,
    /// Name of the mapping the record was read with.
    pub mapping: Arc<str>,
    /// Keys whose meaning was ambiguous and left unmapped.
    pub ambiguous: Vec<String>,
    /// xxh3 of the message, to recognise the same record seen twice.
    pub content_hash: u64,
    /// CloudWatch event time.
    pub log_time_ms: Option<i64>,
    /// api id / stage from the log group, when the record itself lacks them.
    pub group_api: Option<(Arc<str>, Arc<str>)>,
    /// Where the record is.
    pub origin: Origin,
}

impl AccessRecord {
    /// The value of `v`, `None` when absent (`-`, null or not in the format).
    pub fn get(&self, v: Var) -> Option<&str> {
        self.slots
            .iter()
            .find(|(sv, _, _)| *sv == v)
            .map(|&(_, s, l)| &self.buf[s as usize..(s + l) as usize])
    }

    /// Whether the format carries `v` but this record says `-` (or null).
    pub fn is_dash(&self, v: Var) -> bool {
        self.known.has(v) && self.get(v).is_none()
    }

    /// `v` as an integer (status codes, lengths, latencies).
    pub fn int(&self, v: Var) -> Option<i64> {
        self.get(v)?.trim().parse().ok()
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

    /// Request time in epoch ms and its precision (`ms` from requestTimeEpoch, `s` from
    /// requestTime).
    pub fn request_time(&self) -> Option<(i64, &'static str)> {
        if let Some(ms) = self
            .get(Var::RequestTimeEpoch)
            .and_then(crate::time::parse_epoch)
        {
            return Some((ms, "ms"));
        }
        self.get(Var::RequestTime)
            .and_then(|t| crate::time::parse_clf(t).or_else(|| crate::time::parse_iso(t)))
            .map(|ms| (ms, "s"))
    }

    /// A request known only from its execution-log lines: no access-log variable is known;
    /// the ids and the method/actual path the execution log names are filled in.
    pub fn from_execution(
        request_id: &str,
        extended_request_id: Option<&str>,
        method_and_path: Option<(&str, &str)>,
        origin: Origin,
    ) -> AccessRecord {
        let mut rec = AccessRecord {
            buf: String::new(),
            slots: Vec::new(),
            known: VarSet::default(),
            extra: Vec::new(),
            mapping: Arc::from("execution-log"),
            ambiguous: Vec::new(),
            content_hash: xxhash_rust::xxh3::xxh3_64(request_id.as_bytes()),
            log_time_ms: None,
            group_api: None,
            origin,
        };
        rec.push(Var::RequestId, request_id);
        if let Some(x) = extended_request_id {
            rec.push(Var::ExtendedRequestId, x);
        }
        if let Some((m, p)) = method_and_path {
            rec.push(Var::HttpMethod, m);
            rec.push(Var::Path, p);
        }
        rec
    }

    fn push(&mut self, v: Var, value: &str) {
        if v == Var::ApiKey {
            // The key itself never leaves the tool.
            return;
        }
        if let Some(pos) = self.slots.iter().position(|(sv, _, _)| *sv == v) {
            // Duplicate key or two keys for one variable: the last one wins, as in JSON.
            self.slots.remove(pos);
        }
        let start = self.buf.len() as u32;
        self.buf.push_str(value);
        self.slots.push((v, start, value.len() as u32));
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

/// Reads access records, caching JSON key-set mappings. One per worker.
#[derive(Debug, Default)]
pub struct AccessParser {
    user: Option<Arc<Format>>,
    last: Option<(Vec<String>, Arc<Mapping>)>,
    cache: HashMap<Vec<String>, Arc<Mapping>>,
}

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

    fn mapping_for(&mut self, keys: &[&str]) -> Arc<Mapping> {
        if let Some((last, m)) = &self.last {
            if last.len() == keys.len() && last.iter().zip(keys).all(|(a, b)| a == b) {
                return m.clone();
            }
        }
        let owned: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let m = match self.cache.get(&owned) {
            Some(m) => m.clone(),
            None => {
                let m = Arc::new(match &self.user {
                    Some(f) => format::map_with(f, keys),
                    None => format::recognise(keys),
                });
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
        let flat = match serde_json::from_str::<Flat>(json) {
            Ok(f) => f,
            Err(e) => {
                if let Some(repaired) = repair_unquoted_dash(json) {
                    if let Ok(f) = serde_json::from_str::<Flat>(&repaired) {
                        return self.build_json(f, raw, origin);
                    }
                }
                if looks_like_access_json(json) {
                    return Err(AccessError::Json(e.to_string()));
                }
                return Ok(Parsed::NotAccess);
            }
        };
        // Without the stage's format, only an object naming a request id is an access record.
        let names_an_id = |k: &str| {
            matches!(
                Var::derive(k),
                Some(Var::RequestId | Var::ExtendedRequestId)
            )
        };
        if flat.0.is_empty() || (self.user.is_none() && !flat.0.iter().any(|(k, _)| names_an_id(k)))
        {
            return Ok(Parsed::NotAccess);
        }
        self.build_json(flat, raw, origin)
    }

    fn build_json(
        &mut self,
        flat: Flat<'_>,
        raw: &str,
        origin: Origin,
    ) -> Result<Parsed, AccessError> {
        let keys: Vec<&str> = flat.0.iter().map(|(k, _)| &**k).collect();
        let mapping = self.mapping_for(&keys);
        let mut rec = AccessRecord {
            buf: String::with_capacity(raw.len() / 2),
            slots: Vec::with_capacity(keys.len()),
            known: mapping.known,
            extra: Vec::new(),
            mapping: mapping.name.clone(),
            ambiguous: mapping.ambiguous.clone(),
            content_hash: xxhash_rust::xxh3::xxh3_64(raw.trim_end().as_bytes()),
            log_time_ms: None,
            group_api: None,
            origin,
        };
        for ((key, value), var) in flat.0.iter().zip(&mapping.vars) {
            let text = match value {
                Scalar::Str(s) => Some(&**s),
                Scalar::Null => None,
                Scalar::Nested(s) => Some(s.as_str()),
            };
            match (var, text) {
                (Some(v), Some(t)) if t != "-" && !t.is_empty() => rec.push(*v, t),
                (Some(_), _) => {}
                (None, Some(t)) => {
                    let value = if redact::is_secret_key(key) {
                        redact::MASK.to_string()
                    } else {
                        redact::scrub(t).into_owned()
                    };
                    // A repeated key: the last value wins, as for known variables.
                    match rec.extra.iter_mut().find(|(k, _)| k == key.as_ref()) {
                        Some((_, v)) => *v = value,
                        None => rec.extra.push((key.to_string(), value)),
                    }
                }
                (None, None) => {}
            }
        }
        finish(rec)
    }

    fn parse_text(&mut self, line: &str, origin: Origin) -> Result<Parsed, AccessError> {
        let candidates: Vec<&Format> = match &self.user {
            Some(f) => vec![&**f],
            None => format::known_text().iter().collect(),
        };
        for f in &candidates {
            let Layout::Text(parts) = &f.layout else {
                continue;
            };
            if let Some(values) = format::match_text(parts, line) {
                // Without the stage's own format, a layout only fits when the request id it
                // finds looks like one (an nginx line has `"-"` where CLF has the id).
                let id_ok = values.iter().any(|(v, t)| {
                    matches!(v, Some(Var::RequestId | Var::ExtendedRequestId))
                        && plausible_id(t.trim())
                });
                if self.user.is_none() && !id_ok {
                    continue;
                }
                let mut rec = AccessRecord {
                    buf: String::with_capacity(line.len()),
                    slots: Vec::with_capacity(values.len()),
                    known: format::layout_vars(&f.layout),
                    extra: Vec::new(),
                    mapping: f.name.as_str().into(),
                    ambiguous: Vec::new(),
                    content_hash: xxhash_rust::xxh3::xxh3_64(line.as_bytes()),
                    log_time_ms: None,
                    group_api: None,
                    origin,
                };
                for (v, t) in values {
                    let t = t.trim();
                    if let Some(v) = v {
                        if t != "-" && !t.is_empty() {
                            rec.push(v, t);
                        }
                    }
                }
                return finish(rec);
            }
        }
        match &self.user {
            Some(f) if looks_like_text_access(line) => Err(AccessError::Layout(f.name.clone())),
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

/// Request ids are UUIDs, base64-like extended ids or client-chosen tokens: no quotes or spaces.
fn plausible_id(s: &str) -> bool {
    !s.is_empty()
        && s != "-"
        && s.len() <= 128
        && s.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=' | b'+' | b'/' | b'.' | b':')
        })
}

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
            + self.slots.capacity() * std::mem::size_of::<(Var, u32, u32)>()
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
            r#"{"requestId":"a","apiKey":"abcdefghijklmnopqrstuvwxyz0123456789","authHeader":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2ln"}"#,
        );
        let text = format!("{r:?}");
        assert!(!text.contains("abcdefghijklmnopqrstuvwxyz0123456789"));
        assert!(!text.contains("eyJzdWIiOiIxIn0"));
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
}
