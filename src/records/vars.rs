//! The `$context` variables gatelog understands, by their exact names (FORMATS.md §1.3), and
//! the key spellings an access-log format may derive from them. Meanings live here; which key
//! or position of a given format holds which variable is `format`'s business.

/// A `$context` variable an access record can carry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[allow(missing_docs)]
#[repr(u8)]
pub enum Var {
    RequestId,
    ExtendedRequestId,
    ApiId,
    Stage,
    AccountId,
    DomainName,
    DomainPrefix,
    RequestTime,
    RequestTimeEpoch,
    HttpMethod,
    ResourcePath,
    Path,
    RouteKey,
    Protocol,
    Status,
    ResponseLength,
    ResponseLatency,
    SourceIp,
    Caller,
    User,
    UserArn,
    IdentityAccountId,
    ApiKeyId,
    ApiKey,
    UserAgent,
    ErrorMessage,
    ErrorMessageString,
    ErrorResponseType,
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
    XrayTraceId,
}

/// Number of variables.
pub const NVARS: usize = Var::XrayTraceId as usize + 1;

// A [`VarSet`] is a u64 bitmask.
const _: () = assert!(NVARS <= 64);

/// Every variable with its `$context.` name (without the prefix).
pub const VARS: [(Var, &str); NVARS] = [
    (Var::RequestId, "requestId"),
    (Var::ExtendedRequestId, "extendedRequestId"),
    (Var::ApiId, "apiId"),
    (Var::Stage, "stage"),
    (Var::AccountId, "accountId"),
    (Var::DomainName, "domainName"),
    (Var::DomainPrefix, "domainPrefix"),
    (Var::RequestTime, "requestTime"),
    (Var::RequestTimeEpoch, "requestTimeEpoch"),
    (Var::HttpMethod, "httpMethod"),
    (Var::ResourcePath, "resourcePath"),
    (Var::Path, "path"),
    (Var::RouteKey, "routeKey"),
    (Var::Protocol, "protocol"),
    (Var::Status, "status"),
    (Var::ResponseLength, "responseLength"),
    (Var::ResponseLatency, "responseLatency"),
    (Var::SourceIp, "identity.sourceIp"),
    (Var::Caller, "identity.caller"),
    (Var::User, "identity.user"),
    (Var::UserArn, "identity.userArn"),
    (Var::IdentityAccountId, "identity.accountId"),
    (Var::ApiKeyId, "identity.apiKeyId"),
    (Var::ApiKey, "identity.apiKey"),
    (Var::UserAgent, "identity.userAgent"),
    (Var::ErrorMessage, "error.message"),
    (Var::ErrorMessageString, "error.messageString"),
    (Var::ErrorResponseType, "error.responseType"),
    (Var::WafError, "waf.error"),
    (Var::WafStatus, "waf.status"),
    (Var::WafLatency, "waf.latency"),
    (Var::WafResponseCode, "wafResponseCode"),
    (Var::WebaclArn, "webaclArn"),
    (Var::AuthenticateError, "authenticate.error"),
    (Var::AuthenticateStatus, "authenticate.status"),
    (Var::AuthenticateLatency, "authenticate.latency"),
    (Var::AuthorizerError, "authorizer.error"),
    (Var::AuthorizerStatus, "authorizer.status"),
    (Var::AuthorizerLatency, "authorizer.latency"),
    (
        Var::AuthorizerIntegrationStatus,
        "authorizer.integrationStatus",
    ),
    (
        Var::AuthorizerIntegrationLatency,
        "authorizer.integrationLatency",
    ),
    (Var::AuthorizerRequestId, "authorizer.requestId"),
    (Var::AuthorizerPrincipalId, "authorizer.principalId"),
    (Var::AuthorizeError, "authorize.error"),
    (Var::AuthorizeStatus, "authorize.status"),
    (Var::AuthorizeLatency, "authorize.latency"),
    (Var::IntegrationError, "integration.error"),
    (Var::IntegrationStatus, "integration.status"),
    (
        Var::IntegrationIntegrationStatus,
        "integration.integrationStatus",
    ),
    (Var::IntegrationLatency, "integration.latency"),
    (Var::IntegrationRequestId, "integration.requestId"),
    (Var::IntegrationErrorMessage, "integrationErrorMessage"),
    (Var::XrayTraceId, "xrayTraceId"),
];

/// Aliases AWS documents for the same variable.
const ALIASES: [(&str, Var); 3] = [
    ("awsEndpointRequestId", Var::IntegrationRequestId),
    ("integrationStatus", Var::IntegrationIntegrationStatus),
    ("integrationLatency", Var::IntegrationLatency),
];

impl Var {
    /// The variable's name after `$context.`.
    pub fn name(self) -> &'static str {
        VARS[self as usize].1
    }

    /// Bit of this variable in a [`VarSet`].
    pub fn bit(self) -> u64 {
        1u64 << (self as u8)
    }

    /// The variable named `name` (without `$context.`).
    pub fn from_name(name: &str) -> Option<Var> {
        VARS.iter()
            .find(|(_, n)| *n == name)
            .map(|(v, _)| *v)
            .or_else(|| ALIASES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    /// The variable a key spelling derives from, e.g. `authorizerRequestId`,
    /// `authorizer.requestId`, `authorizer_request_id` and `authorizer-requestId` all derive
    /// `authorizer.requestId`. Keys whose meaning differs between well-known formats
    /// (`authenticate-status`, `authorize-status`) derive nothing: see [`is_ambiguous_key`].
    pub fn derive(key: &str) -> Option<Var> {
        let mut buf = [0u8; NORM_CAP];
        match normalize_ascii(key, &mut buf) {
            Some(norm) => derive_normalized(norm),
            // Non-ASCII keys (or very long ones) take the general, allocating route.
            None => derive_normalized(&normalize(key)),
        }
    }
}

/// The variable a normalized key spelling derives from.
fn derive_normalized(norm: &str) -> Option<Var> {
    if matches!(norm, "authenticatestatus" | "authorizestatus") {
        return None;
    }
    let found = normalized_names()
        .iter()
        .find(|(_, n)| *n == norm)
        .map(|(v, _)| *v);
    found.or_else(|| {
        // Common short spellings seen in real formats.
        Some(match norm {
            "ip" | "sourceip" => Var::SourceIp,
            "caller" => Var::Caller,
            "user" => Var::User,
            "userarn" => Var::UserArn,
            "method" => Var::HttpMethod,
            "apikeyid" => Var::ApiKeyId,
            "useragent" => Var::UserAgent,
            "errormessage" | "error" => Var::ErrorMessage,
            "errorresponsetype" | "responsetype" => Var::ErrorResponseType,
            "wafresponse" | "wafresponsecode" => Var::WafResponseCode,
            "responselatency" => Var::ResponseLatency,
            "autherror" => Var::AuthorizerError,
            "integrationerror" => Var::IntegrationError,
            "requestid" => Var::RequestId,
            _ => return None,
        })
    })
}

/// `VARS` with each name in normalized form, built once.
fn normalized_names() -> &'static [(Var, String); NVARS] {
    static N: std::sync::LazyLock<[(Var, String); NVARS]> =
        std::sync::LazyLock::new(|| VARS.map(|(v, n)| (v, normalize(n))));
    &N
}

/// Room for a normalized key on the stack; longer keys take the allocating route (no
/// variable's normalized name comes close).
const NORM_CAP: usize = 64;

/// [`normalize`] without allocating, for ASCII keys whose normalized form fits `buf`.
fn normalize_ascii<'b>(key: &str, buf: &'b mut [u8; NORM_CAP]) -> Option<&'b str> {
    if !key.is_ascii() {
        return None;
    }
    let key = key.strip_prefix("$context.").unwrap_or(key);
    let mut n = 0;
    for c in key.bytes() {
        if matches!(c, b'.' | b'_' | b'-' | b' ') {
            continue;
        }
        *buf.get_mut(n)? = c.to_ascii_lowercase();
        n += 1;
    }
    std::str::from_utf8(&buf[..n]).ok()
}

/// Keys that mean different variables in different well-known formats (FORMATS.md §1.5): the
/// troubleshooting guide binds `authenticate-status` to `$context.authorizer.integrationStatus`
/// while the enhanced-observability format binds it to `$context.authenticate.status`.
pub fn is_ambiguous_key(key: &str) -> bool {
    let mut buf = [0u8; NORM_CAP];
    let ambiguous = |n: &str| matches!(n, "authenticatestatus" | "authorizestatus");
    match normalize_ascii(key, &mut buf) {
        Some(n) => ambiguous(n),
        None => ambiguous(&normalize(key)),
    }
}

/// Lowercase with `.`, `_`, `-` and `$context` removed: the form key spellings are compared in.
fn normalize(key: &str) -> String {
    let key = key.strip_prefix("$context.").unwrap_or(key);
    key.chars()
        .filter(|c| !matches!(c, '.' | '_' | '-' | ' '))
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// A set of variables.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct VarSet(pub u64);

impl VarSet {
    /// Whether `v` is in the set.
    pub fn has(self, v: Var) -> bool {
        self.0 & v.bit() != 0
    }
    /// Adds `v`.
    pub fn insert(&mut self, v: Var) {
        self.0 |= v.bit();
    }
    /// The variables in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Var> {
        VARS.iter().map(|(v, _)| *v).filter(move |v| self.has(*v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (v, n) in VARS {
            assert_eq!(Var::from_name(n), Some(v));
            assert_eq!(v.name(), n);
        }
    }

    /// The `access_vars` column joins the names with the separator and `classify.sql` splits
    /// them on it.
    #[test]
    fn no_name_holds_the_access_vars_separator() {
        for (_, n) in VARS {
            assert!(
                !n.is_empty() && !n.contains(crate::model::ACCESS_VARS_SEPARATOR),
                "{n:?}"
            );
        }
    }

    #[test]
    fn derived_spellings() {
        for k in [
            "authorizerRequestId",
            "authorizer.requestId",
            "authorizer_request_id",
            "authorizer-requestId",
        ] {
            assert_eq!(Var::derive(k), Some(Var::AuthorizerRequestId), "{k}");
        }
        assert_eq!(Var::derive("ip"), Some(Var::SourceIp));
        assert_eq!(Var::derive("waf-response"), Some(Var::WafResponseCode));
        assert_eq!(
            Var::derive("integration-integrationStatus"),
            Some(Var::IntegrationIntegrationStatus)
        );
        assert_eq!(Var::derive("nonsense"), None);
    }

    #[test]
    fn ambiguous_keys_derive_nothing() {
        assert_eq!(Var::derive("authenticate-status"), None);
        assert_eq!(Var::derive("authorize-status"), None);
        assert_eq!(Var::derive("authorizeStatus"), None);
        assert!(is_ambiguous_key("authenticate_status"));
    }
}
