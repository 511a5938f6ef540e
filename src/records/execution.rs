//! Execution-log lines (`(requestId) text`, FORMATS.md §4) → per-request facts: which phases
//! ran and what they said. Lines about one request may come in any order and from any file;
//! facts merge by union, so the result does not depend on order. Only the facts the decision
//! table reads are kept, not the lines.

use std::collections::HashMap;

use crate::model::Origin;

/// One fact an execution-log line establishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
#[repr(u8)]
pub enum Fact {
    StartingAuthorizer,
    /// `Authorizer result body before parsing`: the authorizer Lambda was invoked.
    AuthorizerInvoked,
    AuthorizerAllow,
    AuthorizerDeny,
    /// The function failed with anything but `Unauthorized`.
    AuthorizerError,
    UsingAuthorizerPolicy,
    ClientNotAuthorized,
    UnauthorizedRequest,
    ConfigurationError,
    ApiKeyRejected,
    ThrottleExceeded,
    QuotaExceeded,
    /// `User: arn:… is not authorized to perform: execute-api:Invoke …`
    UserNotAuthorized,
    /// `User: anonymous is not authorized to perform …`
    AnonymousNotAuthorized,
    /// The not-authorized message says `explicit deny`.
    ExplicitDenyMessage,
    /// The not-authorized message names a resource-based policy.
    ResourcePolicyMessage,
    SignatureMismatch,
    TokenExpired,
    TokenInvalid,
    MissingAuthenticationToken,
    UsagePlanOk,
    IntegrationStarted,
    ExecutionCompleted,
}

/// Every fact, with its stable name (the `exec_facts` column).
pub const FACTS: [(Fact, &str); 23] = [
    (Fact::StartingAuthorizer, "starting_authorizer"),
    (Fact::AuthorizerInvoked, "authorizer_invoked"),
    (Fact::AuthorizerAllow, "authorizer_allow"),
    (Fact::AuthorizerDeny, "authorizer_deny"),
    (Fact::AuthorizerError, "authorizer_error"),
    (Fact::UsingAuthorizerPolicy, "using_authorizer_policy"),
    (Fact::ClientNotAuthorized, "client_not_authorized"),
    (Fact::UnauthorizedRequest, "unauthorized_request"),
    (Fact::ConfigurationError, "configuration_error"),
    (Fact::ApiKeyRejected, "api_key_rejected"),
    (Fact::ThrottleExceeded, "throttle_exceeded"),
    (Fact::QuotaExceeded, "quota_exceeded"),
    (Fact::UserNotAuthorized, "user_not_authorized"),
    (Fact::AnonymousNotAuthorized, "anonymous_not_authorized"),
    (Fact::ExplicitDenyMessage, "explicit_deny_message"),
    (Fact::ResourcePolicyMessage, "resource_policy_message"),
    (Fact::SignatureMismatch, "signature_mismatch"),
    (Fact::TokenExpired, "token_expired"),
    (Fact::TokenInvalid, "token_invalid"),
    (
        Fact::MissingAuthenticationToken,
        "missing_authentication_token",
    ),
    (Fact::UsagePlanOk, "usage_plan_ok"),
    (Fact::IntegrationStarted, "integration_started"),
    (Fact::ExecutionCompleted, "execution_completed"),
];

impl Fact {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        FACTS[self as usize].1
    }
}

/// What the execution log says about one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecFacts {
    flags: u32,
    /// `Method completed with status: N`.
    pub method_status: Option<i32>,
    /// `Extended Request Id: …`.
    pub extended_request_id: Option<String>,
    /// `HTTP Method: GET, Resource Path: /actual/path`: method and actual path.
    pub method_and_path: Option<(String, String)>,
    /// Lines seen.
    pub lines: u32,
    /// Earliest event time of its lines.
    pub first_time_ms: Option<i64>,
    /// When the gateway sent the request to the Lambda authorizer: the event time of the
    /// `Endpoint request headers: {x-amzn-lambda-integration-tag=…, X-Amz-Source-Arn=…/authorizers/…}`
    /// line. The invocation that starts right after it is this request's
    /// (`execution_integration_tag`).
    #[serde(default)]
    pub authorizer_call_ms: Option<i64>,
    /// Earliest line.
    pub origin: Origin,
    /// `(api_id, stage)` of the execution log group, when known.
    pub api_stage: Option<(String, String)>,
}

impl ExecFacts {
    /// Whether the log established `f`.
    pub fn has(&self, f: Fact) -> bool {
        self.flags & (1 << f as u8) != 0
    }

    fn set(&mut self, f: Fact) {
        self.flags |= 1 << f as u8;
    }

    /// The facts established, in declaration order.
    pub fn names(&self) -> Vec<&'static str> {
        FACTS
            .iter()
            .filter(|(f, _)| self.has(*f))
            .map(|(_, n)| *n)
            .collect()
    }

    /// Merges the same request's facts from another file or route.
    pub fn merge(&mut self, o: ExecFacts) {
        self.flags |= o.flags;
        self.method_status = self.method_status.or(o.method_status);
        if self.extended_request_id.is_none() {
            self.extended_request_id = o.extended_request_id;
        }
        if self.method_and_path.is_none() {
            self.method_and_path = o.method_and_path;
        }
        // Two parts of one file (a request whose lines were handed on in two pieces) add up;
        // the same lines seen through two export routes are not more lines.
        if self.origin.file == o.origin.file {
            self.lines += o.lines;
        } else {
            self.lines = self.lines.max(o.lines);
        }
        self.authorizer_call_ms = match (self.authorizer_call_ms, o.authorizer_call_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.first_time_ms = match (self.first_time_ms, o.first_time_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.origin = self.origin.min(o.origin);
        if self.api_stage.is_none() {
            self.api_stage = o.api_stage;
        }
    }

    /// Whether the log refused the request itself (a line that only a refusal writes).
    pub fn shows_refusal(&self) -> bool {
        use Fact::*;
        [
            ClientNotAuthorized,
            UnauthorizedRequest,
            ConfigurationError,
            ApiKeyRejected,
            ThrottleExceeded,
            QuotaExceeded,
            UserNotAuthorized,
            AnonymousNotAuthorized,
            SignatureMismatch,
            TokenExpired,
            TokenInvalid,
            MissingAuthenticationToken,
        ]
        .into_iter()
        .any(|f| self.has(f))
    }
}

/// Splits `(id) text`; `None` for any other message.
pub fn split_line(msg: &str) -> Option<(&str, &str)> {
    let rest = msg.strip_prefix('(')?;
    let close = rest.find(") ")?;
    let id = &rest[..close];
    (close > 0 && close <= 128 && !id.contains(' ')).then(|| (id, &rest[close + 2..]))
}

/// Lines after which a request not seen again is handed on ([`ExecutionLog::drain_stale`]):
/// a request's lines are close together in its log stream, so the facts held stay a few
/// thousand requests whatever the file's size.
const STALE_AFTER_LINES: u64 = 1 << 16;

/// Collects execution-log facts per request id.
#[derive(Debug, Default)]
pub struct ExecutionLog {
    /// Facts and the number of the line that last added to them.
    by_id: HashMap<String, (ExecFacts, u64)>,
    lines: u64,
    stale: Vec<(String, ExecFacts)>,
}

/// The effect an authorizer result body carries.
fn result_facts(body: &str, e: &mut ExecFacts) {
    let lower = body.to_ascii_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("\"effect\":\"deny\"") {
        e.set(Fact::AuthorizerDeny);
    }
    if compact.contains("\"effect\":\"allow\"") {
        e.set(Fact::AuthorizerAllow);
    }
    if compact.contains("\"errortype\"") && !compact.contains("\"errormessage\":\"unauthorized\"") {
        e.set(Fact::AuthorizerError);
    }
}

impl ExecutionLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one message of the log group of `api_stage` (when known); returns false when it
    /// is not an execution-log line.
    pub fn push(
        &mut self,
        msg: &str,
        log_time_ms: Option<i64>,
        origin: Origin,
        api_stage: Option<(&str, &str)>,
    ) -> bool {
        let Some((id, text)) = split_line(msg) else {
            return false;
        };
        self.lines += 1;
        if self.lines.is_multiple_of(STALE_AFTER_LINES) {
            let cut = self.lines - STALE_AFTER_LINES;
            let stale: Vec<String> = self
                .by_id
                .iter()
                .filter(|(_, (_, last))| *last < cut)
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                if let Some((f, _)) = self.by_id.remove(&k) {
                    self.stale.push((k, f));
                }
            }
        }
        let now = self.lines;
        let (e, last) = self.by_id.entry(id.to_string()).or_insert_with(|| {
            (
                ExecFacts {
                    origin,
                    api_stage: api_stage.map(|(a, s)| (a.to_string(), s.to_string())),
                    ..Default::default()
                },
                0,
            )
        });
        *last = now;
        e.lines += 1;
        e.origin = e.origin.min(origin);
        if let Some(t) = log_time_ms {
            e.first_time_ms = Some(e.first_time_ms.map_or(t, |f| f.min(t)));
        }
        let text = text.trim_end();
        if let Some(x) = text.strip_prefix("Extended Request Id: ") {
            e.extended_request_id = Some(x.trim().to_string());
        } else if let Some(h) = text.strip_prefix("Endpoint request headers: {") {
            // The authorizer call (Source-Arn `…/authorizers/<id>`), not the integration's.
            if h.contains("x-amzn-lambda-integration-tag=") && h.contains("/authorizers/") {
                e.set(Fact::AuthorizerInvoked);
                if let Some(t) = log_time_ms {
                    e.authorizer_call_ms = Some(e.authorizer_call_ms.map_or(t, |c| c.min(t)));
                }
            }
        } else if text.starts_with("Starting authorizer: ") {
            e.set(Fact::StartingAuthorizer);
        } else if let Some(body) = text.strip_prefix("Authorizer result body before parsing: ") {
            e.set(Fact::AuthorizerInvoked);
            result_facts(body, e);
        } else if text.starts_with("Using valid authorizer policy for principal") {
            e.set(Fact::UsingAuthorizerPolicy);
        } else if text.starts_with("The client is not authorized to perform this operation") {
            e.set(Fact::ClientNotAuthorized);
        } else if text.starts_with("Unauthorized request: ") {
            e.set(Fact::UnauthorizedRequest);
        } else if text.starts_with("Execution failed due to configuration error")
            || text.starts_with("AuthorizerConfigurationException")
        {
            e.set(Fact::ConfigurationError);
        } else if let Some(status) = text.strip_prefix("Method completed with status: ") {
            e.method_status = status.trim().parse().ok();
        } else if text.starts_with("Successfully completed execution") {
            e.set(Fact::ExecutionCompleted);
        } else if text.starts_with("Starting execution for request")
            || text.starts_with("Received response.")
        {
            e.set(Fact::IntegrationStarted);
        } else if let Some(x) = text.strip_prefix("HTTP Method: ") {
            if let Some((m, p)) = x.split_once(", Resource Path: ") {
                e.method_and_path = Some((m.to_string(), p.to_string()));
            }
        } else if text.starts_with("Usage Plan check succeeded")
            || (text.starts_with("API Key ")
                && text.contains(" authorized because method")
                && text.contains("does not require API Key"))
        {
            e.set(Fact::UsagePlanOk);
        } else if (text.starts_with("API Key ") && text.contains(" not authorized because"))
            || text.starts_with("Invalid API Key identifier specified")
        {
            e.set(Fact::ApiKeyRejected);
        } else if text.contains("exceeded throttle limit")
            || text.starts_with("Key throttle limit exceeded")
        {
            e.set(Fact::ThrottleExceeded);
        } else if text.contains("exceeded quota limit") || text.contains("quota exhausted") {
            e.set(Fact::QuotaExceeded);
        } else if text.starts_with("User: ") && text.contains("is not authorized to perform") {
            e.set(if text.starts_with("User: anonymous ") {
                Fact::AnonymousNotAuthorized
            } else {
                Fact::UserNotAuthorized
            });
            if text.contains("explicit deny") {
                e.set(Fact::ExplicitDenyMessage);
            }
            if text.contains("resource-based policy") {
                e.set(Fact::ResourcePolicyMessage);
            }
        } else if text.starts_with("The request signature we calculated does not match")
            || text.starts_with("Signature expired")
        {
            e.set(Fact::SignatureMismatch);
        } else if text.starts_with("The security token included in the request is expired") {
            e.set(Fact::TokenExpired);
        } else if text.starts_with("The security token included in the request is invalid") {
            e.set(Fact::TokenInvalid);
        } else if text.starts_with("Missing Authentication Token")
            || text.starts_with("Authorization header requires 'Credential' parameter")
        {
            e.set(Fact::MissingAuthenticationToken);
        }
        true
    }

    /// Facts of requests not seen for a while, to hand on now (the join merges them with
    /// any later part of the same request).
    pub fn drain_stale(&mut self) -> Vec<(String, ExecFacts)> {
        std::mem::take(&mut self.stale)
    }

    /// Whether facts wait in [`ExecutionLog::drain_stale`].
    pub fn has_stale(&self) -> bool {
        !self.stale.is_empty()
    }

    /// Facts per request id (the rest), sorted by id.
    pub fn finish(self) -> Vec<(String, ExecFacts)> {
        let mut v: Vec<_> = self.stale;
        v.extend(self.by_id.into_iter().map(|(k, (f, _))| (k, f)));
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_of(id: &str) -> ExecFacts {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/samples/execution/execution.log"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut log = ExecutionLog::new();
        for (i, l) in text.lines().enumerate() {
            let origin = Origin {
                file: 0,
                line: i as u64 + 1,
                offset: 0,
            };
            assert!(log.push(l, None, origin, None), "{l}");
        }
        log.finish().into_iter().find(|(k, _)| k == id).unwrap().1
    }

    #[test]
    fn split() {
        assert_eq!(
            split_line("(abc) Method completed with status: 403"),
            Some(("abc", "Method completed with status: 403"))
        );
        assert_eq!(split_line("(a b) x"), None);
        assert_eq!(split_line("START RequestId: x"), None);
        assert_eq!(split_line("() x"), None);
    }

    #[test]
    fn sample_sequences() {
        let f = facts_of("3e63d9a0-0376-4989-ad1b-e7156c9bf3e7");
        assert!(
            f.has(Fact::AuthorizerInvoked)
                && f.has(Fact::AuthorizerDeny)
                && f.has(Fact::ClientNotAuthorized)
        );
        assert_eq!(f.lines, 9);
        let f = facts_of("5ca127f3-08c9-49e3-80f5-0029a0786f04");
        assert!(
            f.has(Fact::UsingAuthorizerPolicy)
                && !f.has(Fact::AuthorizerInvoked)
                && f.has(Fact::ClientNotAuthorized)
        );
        let f = facts_of("279821e5-a487-44a3-b480-4e9b2b78e1af");
        assert!(f.has(Fact::UnauthorizedRequest) && !f.has(Fact::AuthorizerInvoked));
        let f = facts_of("e4a03d67-30ca-4afa-aebd-bb6e8a310f30");
        assert!(
            f.has(Fact::UnauthorizedRequest)
                && f.has(Fact::AuthorizerInvoked)
                && !f.has(Fact::AuthorizerError)
        );
        let f = facts_of("b1042c08-f334-4bc5-adad-0fc8cc5c3120");
        assert!(f.has(Fact::ConfigurationError) && f.has(Fact::AuthorizerError));
        let f = facts_of("b8f6889a-674c-48af-a8f0-1f563833917e");
        assert!(f.has(Fact::ThrottleExceeded));
        assert_eq!(f.method_status, Some(429));
        assert!(facts_of("330d71d3-48c2-435f-96fa-e11ecf22c6ae").has(Fact::QuotaExceeded));
        assert!(facts_of("ca8b2100-92d5-423c-8f35-59bf83ba112f").has(Fact::ApiKeyRejected));
        assert!(facts_of("8ab7ea5b-85bb-4eb8-b9e7-21e217ab1cf7").has(Fact::SignatureMismatch));
        assert!(facts_of("b3b45cc8-3c85-458f-a143-4e3b5a6a7c7f").has(Fact::TokenExpired));
        assert!(facts_of("8fcf46f5-5756-4136-9607-848ce6a41c8d").has(Fact::UserNotAuthorized));
        let f = facts_of("2537217f-d832-4a77-b984-81c8c8284b82");
        assert!(
            f.has(Fact::ExecutionCompleted)
                && f.has(Fact::AuthorizerAllow)
                && f.has(Fact::UsagePlanOk)
        );
        assert_eq!(f.method_status, Some(403));
        assert_eq!(
            f.method_and_path,
            Some(("POST".into(), "/payments/pay_7Yx3dNqB/refunds".into()))
        );
        let f = facts_of("5ff31b8a-ec05-49b0-aa7c-89f82faca8b1");
        assert!(f.has(Fact::ClientNotAuthorized) && !f.has(Fact::StartingAuthorizer));
        assert!(f.shows_refusal());
        assert!(!facts_of("04ec2dfa-a7fe-4e93-a3db-cb3cebac38bc").shows_refusal());
    }

    #[test]
    fn merge_is_order_independent() {
        let mut a = ExecutionLog::new();
        a.push(
            "(r) Starting authorizer: x for request: r",
            Some(5),
            Origin {
                file: 1,
                line: 1,
                offset: 0,
            },
            None,
        );
        let mut b = ExecutionLog::new();
        b.push(
            "(r) Method completed with status: 403",
            Some(3),
            Origin {
                file: 0,
                line: 9,
                offset: 0,
            },
            None,
        );
        let (mut x, y) = (a.finish().remove(0).1, b.finish().remove(0).1);
        let mut y2 = y.clone();
        y2.merge(x.clone());
        x.merge(y);
        assert_eq!(x, y2);
        assert_eq!(x.first_time_ms, Some(3));
        assert_eq!(x.origin.file, 0);
    }
}
