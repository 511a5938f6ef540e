//! Access-log formats: which key (JSON) or position (CLF, CSV, XML) of a record holds which
//! `$context` variable. A format comes from the user (`--access-format`, the stage's format
//! string) or from built-in knowledge of the formats people actually configure, recognised by
//! their key set. Key names are not meanings: the same key can bind different variables in
//! different formats, so a key's meaning is taken from a recognised format before any
//! spelling is derived from its name.

use std::collections::HashMap;

use super::vars::{is_ambiguous_key, Var, VarSet};
use crate::intern::Name;

/// A format string that does not compile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    /// Nothing in the format names a `$context` variable.
    #[error("the access-log format names no $context variable; pass the stage's accessLogSettings.format string (for example from `aws apigateway get-stage`)")]
    NoVariables,
    /// A JSON format whose key/value pairs cannot be read.
    #[error("the JSON access-log format cannot be read near byte {at}: {what}")]
    BadJson {
        /// Byte offset in the format string.
        at: usize,
        /// What was expected.
        what: &'static str,
    },
    /// The format lacks `$context.requestId` and `$context.extendedRequestId`.
    #[error("the access-log format has neither $context.requestId nor $context.extendedRequestId, so records cannot be joined")]
    NoRequestId,
}

/// One piece of a text (CLF / CSV / XML) format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text that must appear verbatim.
    Lit(Lit),
    /// A variable's value; `None` for a `$context` variable gatelog does not model.
    Var(Option<Var>, String),
}

/// A literal of a text format, with its substring searcher built once (building one costs
/// more than searching a short line).
#[derive(Clone)]
pub struct Lit {
    text: String,
    finder: Box<memchr::memmem::Finder<'static>>,
}

impl Lit {
    fn new(text: String) -> Self {
        let finder = Box::new(memchr::memmem::Finder::new(text.as_bytes()).into_owned());
        Lit { text, finder }
    }

    /// The literal text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first occurrence in `hay` (byte offset). A one-byte literal (a space, a comma) goes
    /// straight to `memchr`, without the searcher's dispatch.
    fn find(&self, hay: &[u8]) -> Option<usize> {
        match self.text.as_bytes() {
            [b] => memchr::memchr(*b, hay),
            _ => self.finder.find(hay),
        }
    }
}

impl PartialEq for Lit {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for Lit {}

impl std::fmt::Debug for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text.fmt(f)
    }
}

/// A compiled access-log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A JSON object: key → variable (`None`: a key whose value is not one plain variable).
    Json(Vec<(String, Option<Var>)>),
    /// A text layout matched left to right.
    Text(Vec<Part>),
}

/// A named, compiled access-log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// Name shown in the summary (`troubleshooting`, `enhanced`, `console-clf`, `user`, …);
    /// shared by every record read with the format.
    pub name: Name,
    /// The compiled layout.
    pub layout: Layout,
    /// The variables the layout carries.
    pub vars: VarSet,
}

/// The built-in formats: name and format string (FORMATS.md §0.5, §1.5, §3).
pub const KNOWN: &[(&str, &str)] = &[
    (
        "troubleshooting",
        r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller","user":"$context.identity.user","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","authenticate-status":"$context.authorizer.integrationStatus","authorize-status":"$context.authorizer.status"}"#,
    ),
    (
        "enhanced",
        r#"{"requestId":"$context.requestId","waf-error":"$context.waf.error","waf-status":"$context.waf.status","waf-latency":"$context.waf.latency","waf-response":"$context.wafResponseCode","authenticate-error":"$context.authenticate.error","authenticate-status":"$context.authenticate.status","authenticate-latency":"$context.authenticate.latency","authorize-error":"$context.authorize.error","authorize-status":"$context.authorize.status","authorize-latency":"$context.authorize.latency","integration-error":"$context.integration.error","integration-status":"$context.integration.status","integration-latency":"$context.integration.latency","integration-requestId":"$context.integration.requestId","integration-integrationStatus":"$context.integration.integrationStatus","response-latency":"$context.responseLatency","status":"$context.status"}"#,
    ),
    (
        "console-json",
        r#"{ "requestId":"$context.requestId", "extendedRequestId":"$context.extendedRequestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod", "resourcePath":"$context.resourcePath", "status":"$context.status", "protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#,
    ),
    (
        "console-json-legacy",
        r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod", "resourcePath":"$context.resourcePath", "status":"$context.status", "protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#,
    ),
    (
        "http-json",
        r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","routeKey":"$context.routeKey", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#,
    ),
    (
        "console-clf",
        r#"$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId $context.extendedRequestId"#,
    ),
    (
        "console-clf-compact",
        r#"$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime]"$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId $context.extendedRequestId"#,
    ),
    (
        "cdk-clf",
        r#"$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId"#,
    ),
    (
        "console-csv",
        r#"$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId,$context.extendedRequestId"#,
    ),
    (
        "console-xml",
        r#"<request id="$context.requestId"> <extendedRequestId>$context.extendedRequestId</extendedRequestId> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>"#,
    ),
    (
        "http-clf",
        r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId"#,
    ),
    (
        "http-csv",
        r#"$context.identity.sourceIp,$context.requestTime,$context.httpMethod,$context.routeKey,$context.protocol,$context.status,$context.responseLength,$context.requestId"#,
    ),
    (
        "http-xml",
        r#"<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <routeKey>$context.routeKey</routeKey> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>"#,
    ),
];

/// Parses a variable name at the start of `s` (after `$context.`): letters, digits, `.`, `_`;
/// a trailing `.` is not part of it. Returns the name and its length.
fn var_name(s: &str) -> (&str, usize) {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let name = s[..end].trim_end_matches('.');
    (name, name.len())
}

/// Compiles a format string (JSON, CLF, CSV, XML or any text layout).
pub fn compile(name: &str, format: &str) -> Result<Format, FormatError> {
    let format = format.trim_end_matches(['\n', '\r']);
    let layout = if format.trim_start().starts_with('{') {
        Layout::Json(compile_json(format)?)
    } else {
        Layout::Text(compile_text(format))
    };
    let vars = layout_vars(&layout);
    if vars.0 == 0 {
        return Err(FormatError::NoVariables);
    }
    if !vars.has(Var::RequestId) && !vars.has(Var::ExtendedRequestId) {
        return Err(FormatError::NoRequestId);
    }
    Ok(Format {
        name: crate::intern::name(name),
        layout,
        vars,
    })
}

/// The variables a layout carries.
pub fn layout_vars(layout: &Layout) -> VarSet {
    let mut set = VarSet::default();
    match layout {
        Layout::Json(keys) => keys
            .iter()
            .filter_map(|(_, v)| *v)
            .for_each(|v| set.insert(v)),
        Layout::Text(parts) => parts.iter().for_each(|p| {
            if let Part::Var(Some(v), _) = p {
                set.insert(*v)
            }
        }),
    }
    set
}

fn compile_text(format: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = format;
    while let Some(i) = rest.find("$context.") {
        lit.push_str(&rest[..i]);
        let (name, len) = var_name(&rest[i + 9..]);
        if len == 0 {
            lit.push_str("$context.");
            rest = &rest[i + 9..];
            continue;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(Lit::new(std::mem::take(&mut lit))));
        }
        parts.push(Part::Var(Var::from_name(name), name.to_string()));
        rest = &rest[i + 9 + len..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        parts.push(Part::Lit(Lit::new(lit)));
    }
    parts
}

fn compile_json(format: &str) -> Result<Vec<(String, Option<Var>)>, FormatError> {
    let b = format.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let read_quoted = |i: &mut usize| -> Result<String, FormatError> {
        let start = *i + 1;
        let mut j = start;
        while j < b.len() && b[j] != b'"' {
            if b[j] == b'\\' {
                j += 1;
            }
            j += 1;
        }
        if j >= b.len() {
            return Err(FormatError::BadJson {
                at: *i,
                what: "a closing quote",
            });
        }
        *i = j + 1;
        Ok(format[start..j].to_string())
    };
    skip_ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return Err(FormatError::BadJson { at: i, what: "'{'" });
    }
    i += 1;
    let mut keys = Vec::new();
    loop {
        skip_ws(&mut i);
        match b.get(i) {
            Some(b'}') => break,
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(b'"') => {}
            _ => {
                return Err(FormatError::BadJson {
                    at: i,
                    what: "a quoted key or '}'",
                })
            }
        }
        let key = read_quoted(&mut i)?;
        skip_ws(&mut i);
        if b.get(i) != Some(&b':') {
            return Err(FormatError::BadJson {
                at: i,
                what: "':' after a key",
            });
        }
        i += 1;
        skip_ws(&mut i);
        let value = if b.get(i) == Some(&b'"') {
            read_quoted(&mut i)?
        } else {
            let start = i;
            while i < b.len() && b[i] != b',' && b[i] != b'}' {
                i += 1;
            }
            format[start..i].trim().to_string()
        };
        // `$context.error.messageString` is the message already quoted: the same variable.
        let var = value
            .strip_prefix("$context.")
            .filter(|rest| var_name(rest).1 == rest.len())
            .and_then(Var::from_name)
            .map(|v| {
                if v == Var::ErrorMessageString {
                    Var::ErrorMessage
                } else {
                    v
                }
            });
        keys.push((key, var));
    }
    Ok(keys)
}

/// How the keys of one JSON key set map to variables, and how that was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// `enhanced`, `troubleshooting+derived`, `derived`, `user`, …
    pub name: Name,
    /// Per key position of the record: the variable, or `None` (kept in `extra`).
    pub vars: Vec<Option<Var>>,
    /// Keys whose meaning is ambiguous and that were left unmapped.
    pub ambiguous: Vec<String>,
    /// The variables the record's format carries (present, or `-`).
    pub known: VarSet,
    /// Whether an object with these keys is an access record at all (see [`is_access_key_set`]);
    /// always true under a user format.
    pub access: bool,
}

struct KnownJson {
    name: &'static str,
    keys: Vec<(String, Option<Var>)>,
}

fn known_json() -> &'static [KnownJson] {
    use std::sync::OnceLock;
    static K: OnceLock<Vec<KnownJson>> = OnceLock::new();
    K.get_or_init(|| {
        KNOWN
            .iter()
            .filter(|(_, f)| f.starts_with('{'))
            .filter_map(|(n, f)| match compile(n, f).ok()?.layout {
                Layout::Json(keys) => Some(KnownJson { name: n, keys }),
                Layout::Text(_) => None,
            })
            .collect()
    })
}

/// The built-in text formats, compiled.
pub fn known_text() -> &'static [Format] {
    use std::sync::OnceLock;
    static K: OnceLock<Vec<Format>> = OnceLock::new();
    K.get_or_init(|| {
        KNOWN
            .iter()
            .filter(|(_, f)| !f.starts_with('{'))
            .filter_map(|(n, f)| compile(n, f).ok())
            .collect()
    })
}

/// Decides the mapping of a JSON record's keys without a user format (DESIGN.md "records"):
/// an exact key-set match of a known format; else the largest known format whose keys the
/// record has and whose bindings no other key of the record contradicts, its extra keys read
/// by derived spellings; else derived spellings alone. `authenticate-status` /
/// `authorize-status` never get a derived meaning.
pub fn recognise(keys: &[&str]) -> Mapping {
    let set: std::collections::HashSet<&str> = keys.iter().copied().collect();
    let mut best: Option<(&KnownJson, bool)> = None;
    let mut tie = false;
    for k in known_json() {
        if !k.keys.iter().all(|(key, _)| set.contains(key.as_str())) {
            continue;
        }
        // A record key outside the format that derives a variable the format binds to another
        // key contradicts it (e.g. `authorizer-integrationStatus` next to the troubleshooting
        // format's `authenticate-status`).
        let bound: Vec<Var> = k.keys.iter().filter_map(|(_, v)| *v).collect();
        let contradicted = keys.iter().any(|key| {
            !k.keys.iter().any(|(kk, _)| kk == key)
                && Var::derive(key).is_some_and(|v| bound.contains(&v))
        });
        if contradicted {
            continue;
        }
        let exact = k.keys.len() == set.len();
        match best {
            Some((b, _)) if b.keys.len() > k.keys.len() => {}
            Some((b, _)) if b.keys.len() == k.keys.len() => tie = true,
            _ => {
                best = Some((k, exact));
                tie = false;
            }
        }
    }
    let (base, name): (Option<&KnownJson>, String) = match best {
        Some((k, true)) if !tie => (Some(k), k.name.to_string()),
        Some((k, false)) if !tie => (Some(k), format!("{}+derived", k.name)),
        _ => (None, "derived".to_string()),
    };
    let mut ambiguous = Vec::new();
    let mut known = VarSet::default();
    let vars = keys
        .iter()
        .map(|key| {
            let v = match base.and_then(|b| b.keys.iter().find(|(k, _)| k == key)) {
                Some((_, v)) => *v,
                None => {
                    if is_ambiguous_key(key) {
                        ambiguous.push(key.to_string());
                    }
                    Var::derive(key)
                }
            };
            if let Some(v) = v {
                known.insert(v);
            }
            v
        })
        .collect();
    let access = base.is_some() || is_access_key_set(known, !ambiguous.is_empty());
    Mapping {
        name: crate::intern::name(&name),
        vars,
        ambiguous,
        known,
        access,
    }
}

/// Variables only API Gateway writes: one of them next to a request id makes a JSON object an
/// access record. Application logs commonly carry `requestId`, `ip`, `user`, `method`,
/// `path`, `error` or `requestTime` too, so those do not count.
const GATEWAY_ONLY: u64 = {
    use Var::*;
    let vars = [
        Status,
        ResourcePath,
        RouteKey,
        RequestTimeEpoch,
        ErrorResponseType,
        ResponseLatency,
        WafError,
        WafStatus,
        WafLatency,
        WafResponseCode,
        WebaclArn,
        AuthenticateError,
        AuthenticateStatus,
        AuthenticateLatency,
        AuthorizerError,
        AuthorizerStatus,
        AuthorizerLatency,
        AuthorizerIntegrationStatus,
        AuthorizerIntegrationLatency,
        AuthorizerRequestId,
        AuthorizerPrincipalId,
        AuthorizeError,
        AuthorizeStatus,
        AuthorizeLatency,
        IntegrationError,
        IntegrationStatus,
        IntegrationIntegrationStatus,
        IntegrationLatency,
        IntegrationRequestId,
        IntegrationErrorMessage,
    ];
    let mut bits = 0u64;
    let mut i = 0;
    while i < vars.len() {
        bits |= 1u64 << (vars[i] as u8);
        i += 1;
    }
    bits
};

/// Without a user format, a JSON object is an access record when its keys name a request id
/// (`requestId` or `extendedRequestId`) and at least one variable only API Gateway writes: the
/// status, the resource path or route key, the epoch request time, the extended request id,
/// the error response type, or a WAF / authenticate / authorizer / authorize / integration
/// variable (`ambiguous`: one of the `authenticate-status` / `authorize-status` keys, which
/// bind such a variable in every known format). An application's own JSON log naming a
/// `requestId` next to `level`, `msg`, `path` or `userId` is not one. Key sets of a known
/// format are recognised before this rule applies.
pub fn is_access_key_set(known: VarSet, ambiguous: bool) -> bool {
    let names_id = known.has(Var::RequestId) || known.has(Var::ExtendedRequestId);
    let id_bits = Var::RequestId.bit() | Var::ExtendedRequestId.bit();
    let gateway = known.0 & GATEWAY_ONLY != 0 || known.0 & id_bits == id_bits || ambiguous;
    names_id && gateway
}

/// The mapping a user format gives a JSON record's keys.
pub fn map_with(format: &Format, keys: &[&str]) -> Mapping {
    let Layout::Json(fkeys) = &format.layout else {
        return recognise(keys);
    };
    let lookup: HashMap<&str, Option<Var>> = fkeys.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut known = VarSet::default();
    let vars = keys
        .iter()
        .map(|k| {
            let v = lookup.get(k).copied().flatten();
            if let Some(v) = v {
                known.insert(v);
            }
            v
        })
        .collect();
    // Variables the format carries count as known even when a record lacks the key.
    fkeys
        .iter()
        .filter_map(|(_, v)| *v)
        .for_each(|v| known.insert(v));
    Mapping {
        name: format.name.clone(),
        vars,
        ambiguous: Vec::new(),
        known,
        access: true,
    }
}

/// Matches a text line against a text layout; returns `(variable, value)` pairs in order, or
/// `None` when the line does not fit.
pub fn match_text<'a>(parts: &[Part], line: &'a str) -> Option<Vec<(Option<Var>, &'a str)>> {
    let mut spans = Vec::with_capacity(parts.len());
    match_text_into(parts, line, &mut spans).then(|| {
        spans
            .into_iter()
            .map(|(v, (a, b))| (v, &line[a..b]))
            .collect()
    })
}

/// [`match_text`] into `out` (cleared first): `(variable, (start, end))` byte ranges of
/// `line`; false when the line does not fit.
pub fn match_text_into(
    parts: &[Part],
    line: &str,
    out: &mut Vec<(Option<Var>, (usize, usize))>,
) -> bool {
    out.clear();
    let mut pos = 0;
    let mut i = 0;
    while let Some(part) = parts.get(i) {
        i += 1;
        let v = match part {
            Part::Lit(lit) => {
                if !line[pos..].starts_with(lit.as_str()) {
                    return false;
                }
                pos += lit.as_str().len();
                continue;
            }
            Part::Var(v, _) => v,
        };
        match parts.get(i) {
            Some(Part::Lit(next)) => {
                let Some(at) = next.find(&line.as_bytes()[pos..]) else {
                    return false;
                };
                let mut end = pos + at;
                // `$context.routeKey` holds a space (`GET /pets`, FORMATS.md §3.2).
                let verb = || {
                    matches!(
                        &line[pos..end],
                        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "ANY"
                    )
                };
                if *v == Some(Var::RouteKey) && next.as_str().starts_with(' ') && verb() {
                    let Some(at) = next.find(&line.as_bytes()[end + 1..]) else {
                        return false;
                    };
                    end += 1 + at;
                }
                out.push((*v, (pos, end)));
                // The literal was found at `end`: it is not compared again.
                pos = end + next.as_str().len();
                i += 1;
            }
            Some(Part::Var(..)) => out.push((*v, (pos, pos))),
            None => {
                out.push((*v, (pos, line.len())));
                pos = line.len();
            }
        }
    }
    pos == line.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENHANCED_SAMPLE_KEYS: &[&str] = &[
        "requestId",
        "extendedRequestId",
        "ip",
        "caller",
        "user",
        "userArn",
        "apiKeyId",
        "requestTime",
        "requestTimeEpoch",
        "httpMethod",
        "resourcePath",
        "path",
        "protocol",
        "responseLength",
        "error-message",
        "error-responseType",
        "waf-error",
        "waf-status",
        "waf-latency",
        "waf-response",
        "authenticate-error",
        "authenticate-status",
        "authenticate-latency",
        "authorizer-error",
        "authorizer-status",
        "authorizer-latency",
        "authorizer-integrationStatus",
        "authorizer-integrationLatency",
        "authorizer-requestId",
        "authorizer-principalId",
        "authorize-error",
        "authorize-status",
        "authorize-latency",
        "integration-error",
        "integration-status",
        "integration-latency",
        "integration-requestId",
        "integration-integrationStatus",
        "response-latency",
        "status",
    ];

    fn var_of(m: &Mapping, keys: &[&str], key: &str) -> Option<Var> {
        m.vars[keys.iter().position(|k| *k == key).unwrap()]
    }

    #[test]
    fn troubleshooting_exact() {
        let keys = [
            "requestId",
            "ip",
            "caller",
            "user",
            "requestTime",
            "httpMethod",
            "resourcePath",
            "status",
            "protocol",
            "responseLength",
            "authenticate-status",
            "authorize-status",
        ];
        let m = recognise(&keys);
        assert_eq!(&*m.name, "troubleshooting");
        assert_eq!(
            var_of(&m, &keys, "authenticate-status"),
            Some(Var::AuthorizerIntegrationStatus)
        );
        assert_eq!(
            var_of(&m, &keys, "authorize-status"),
            Some(Var::AuthorizerStatus)
        );
        assert!(m.ambiguous.is_empty());
    }

    #[test]
    fn enhanced_superset_binds_authenticate_status_to_authenticate() {
        let m = recognise(ENHANCED_SAMPLE_KEYS);
        assert_eq!(&*m.name, "enhanced+derived");
        let k = ENHANCED_SAMPLE_KEYS;
        assert_eq!(
            var_of(&m, k, "authenticate-status"),
            Some(Var::AuthenticateStatus)
        );
        assert_eq!(
            var_of(&m, k, "authorize-status"),
            Some(Var::AuthorizeStatus)
        );
        assert_eq!(
            var_of(&m, k, "authorizer-status"),
            Some(Var::AuthorizerStatus)
        );
        assert_eq!(
            var_of(&m, k, "authorizer-requestId"),
            Some(Var::AuthorizerRequestId)
        );
        assert_eq!(
            var_of(&m, k, "error-responseType"),
            Some(Var::ErrorResponseType)
        );
        assert_eq!(var_of(&m, k, "ip"), Some(Var::SourceIp));
        assert_eq!(
            var_of(&m, k, "requestTimeEpoch"),
            Some(Var::RequestTimeEpoch)
        );
        assert!(m.ambiguous.is_empty());
    }

    #[test]
    fn unknown_format_flags_ambiguous_keys() {
        let keys = [
            "rid",
            "requestId",
            "status",
            "authorize-status",
            "authenticate-status",
        ];
        let m = recognise(&keys);
        assert_eq!(&*m.name, "derived");
        assert_eq!(var_of(&m, &keys, "authorize-status"), None);
        assert_eq!(m.ambiguous, vec!["authorize-status", "authenticate-status"]);
    }

    #[test]
    fn user_json_format_with_unquoted_variables() {
        let f = compile("user", r#"{"rid":"$context.requestId","st":$context.status,"msg":$context.error.messageString,"x":"a $context.path b"}"#).unwrap();
        let Layout::Json(keys) = &f.layout else {
            panic!()
        };
        assert_eq!(keys[0], ("rid".into(), Some(Var::RequestId)));
        assert_eq!(keys[1], ("st".into(), Some(Var::Status)));
        assert_eq!(keys[2], ("msg".into(), Some(Var::ErrorMessage)));
        assert_eq!(keys[3], ("x".into(), None));
    }

    #[test]
    fn format_errors() {
        assert_eq!(compile("u", "hello"), Err(FormatError::NoVariables));
        assert_eq!(
            compile("u", "$context.status"),
            Err(FormatError::NoRequestId)
        );
        assert!(matches!(
            compile("u", r#"{"a":"$context.requestId""#),
            Err(FormatError::BadJson { .. })
        ));
    }

    #[test]
    fn text_layouts_route_keys_adjacent_variables_and_closing_literals() {
        let text = |name: &str| match &known_text()
            .iter()
            .find(|f| &*f.name == name)
            .unwrap()
            .layout
        {
            Layout::Text(parts) => parts.clone(),
            Layout::Json(_) => panic!("{name} is JSON"),
        };
        // `$context.routeKey` holds a space; the literal after it is found past the verb.
        let http = text("http-clf");
        let line = r#"198.51.100.7 - - [14/Oct/2025:14:05:02 +0000] "GET GET /pets/{id} HTTP/1.1" 403 23 Ab3dEfGhIjKlMnO="#;
        let got = match_text(&http, line).unwrap();
        assert_eq!(got[2], (Some(Var::HttpMethod), "GET"));
        assert_eq!(got[3], (Some(Var::RouteKey), "GET /pets/{id}"));
        assert_eq!(got[4], (Some(Var::Protocol), "HTTP/1.1"));
        assert_eq!(got[7], (Some(Var::RequestId), "Ab3dEfGhIjKlMnO="));
        // `$default` has no verb: the first space ends it.
        let line = line.replace("GET /pets/{id}", "$default");
        assert_eq!(
            match_text(&http, &line).unwrap()[3],
            (Some(Var::RouteKey), "$default")
        );
        // A line cut before a literal, or with text after the closing one, does not fit.
        let xml = text("http-xml");
        let line = r#"<request id="Ab3dEfGhIjKlMnO="> <ip>198.51.100.7</ip> <requestTime>14/Oct/2025:14:05:02 +0000</requestTime> <httpMethod>GET</httpMethod> <routeKey>GET /pets</routeKey> <status>403</status> <protocol>HTTP/1.1</protocol> <responseLength>23</responseLength> </request>"#;
        let got = match_text(&xml, line).unwrap();
        assert_eq!(got[0], (Some(Var::RequestId), "Ab3dEfGhIjKlMnO="));
        assert_eq!(got[4], (Some(Var::RouteKey), "GET /pets"));
        assert!(match_text(&xml, &line[..line.len() - 3]).is_none());
        assert!(match_text(&xml, &format!("{line} ")).is_none());
        // Two variables side by side: the first is empty, the second takes the text.
        let parts = compile_text("[$context.status$context.requestId]");
        let got = match_text(&parts, "[abc]").unwrap();
        assert_eq!(
            got,
            [(Some(Var::Status), ""), (Some(Var::RequestId), "abc")]
        );
        // A layout that ends in a variable takes the rest of the line.
        let parts = compile_text("$context.status $context.requestId");
        assert_eq!(
            match_text(&parts, "403 a b").unwrap(),
            [(Some(Var::Status), "403"), (Some(Var::RequestId), "a b")]
        );
        assert!(match_text(&parts, "403").is_none());
    }

    #[test]
    fn clf_both_spacings_and_csv_xml() {
        let line = r#"203.0.113.24 - - [14/Oct/2025:14:05:09 +0000] "GET /payments/{paymentId} HTTP/1.1" 200 212 c1d4f94e-a50e-42b3-8b32-945ded941995 ue4gqKduSAQ8D2k="#;
        let clf = &known_text()
            .iter()
            .find(|f| &*f.name == "console-clf")
            .unwrap()
            .layout;
        let Layout::Text(parts) = clf else { panic!() };
        let got = match_text(parts, line).unwrap();
        assert_eq!(
            got[3],
            (Some(Var::RequestTime), "14/Oct/2025:14:05:09 +0000")
        );
        assert_eq!(got[5], (Some(Var::ResourcePath), "/payments/{paymentId}"));
        assert_eq!(got[10], (Some(Var::ExtendedRequestId), "ue4gqKduSAQ8D2k="));
        let compact = line.replace("] \"", "]\"");
        assert!(match_text(parts, &compact).is_none());
        let Layout::Text(parts2) = &known_text()
            .iter()
            .find(|f| &*f.name == "console-clf-compact")
            .unwrap()
            .layout
        else {
            panic!()
        };
        assert!(match_text(parts2, &compact).is_some());
        let csv = "192.0.2.10,-,-,14/Oct/2025:14:05:02 +0000,GET,/health,HTTP/1.1,200,15,04ec2dfa-a7fe-4e93-a3db-cb3cebac38bc,4jEWkWFMue8Sk78=";
        let Layout::Text(p) = &known_text()
            .iter()
            .find(|f| &*f.name == "console-csv")
            .unwrap()
            .layout
        else {
            panic!()
        };
        let got = match_text(p, csv).unwrap();
        assert_eq!(
            got[9],
            (Some(Var::RequestId), "04ec2dfa-a7fe-4e93-a3db-cb3cebac38bc")
        );
    }

    #[test]
    fn access_key_sets_need_an_id_and_a_gateway_variable() {
        let set = |vars: &[Var]| {
            let mut s = VarSet::default();
            vars.iter().for_each(|v| s.insert(*v));
            s
        };
        use Var::*;
        assert!(is_access_key_set(set(&[RequestId, Status]), false));
        assert!(is_access_key_set(set(&[ExtendedRequestId, Status]), false));
        assert!(is_access_key_set(set(&[RequestId, RouteKey]), false));
        assert!(is_access_key_set(set(&[RequestId, AuthorizerError]), false));
        assert!(is_access_key_set(
            set(&[RequestId, ExtendedRequestId]),
            false
        ));
        assert!(is_access_key_set(set(&[RequestId]), true));
        // What application logs carry next to a request id.
        assert!(!is_access_key_set(
            set(&[
                RequestId,
                Path,
                SourceIp,
                User,
                HttpMethod,
                ErrorMessage,
                RequestTime
            ]),
            false
        ));
        assert!(!is_access_key_set(set(&[RequestId]), false));
        assert!(!is_access_key_set(set(&[Status, ResourcePath]), true));

        // Through `recognise`: the application log of issue 7 and a known format's key set.
        assert!(!recognise(&["requestId", "level", "msg"]).access);
        assert!(!recognise(&["level", "requestId", "userId", "path"]).access);
        assert!(recognise(&["rid", "requestId", "status"]).access);
        let enhanced: Vec<&str> = known_json()
            .iter()
            .find(|k| k.name == "enhanced")
            .unwrap()
            .keys
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert!(recognise(&enhanced).access);
        assert!(recognise(ENHANCED_SAMPLE_KEYS).access);
    }
}
