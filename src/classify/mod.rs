//! Classification: the decision table ([`rules::RULES`]) applied to one joined request.
//! Every class whose rule no carried fact contradicts is a candidate; one candidate is the
//! class; several leave the class open unless a documented heuristic (a default body's
//! length, an IAM caller) picks one at `low` confidence. Absent facts become `advice`: the
//! `$context` variables or logs that would decide.

pub mod capability;
pub mod rules;
pub mod taxonomy;

use crate::model::{Decision, Invocation, MatchMethod, Pairs};
use crate::records::access::AccessRecord;
use crate::records::execution::ExecFacts;
use crate::records::vars::Var;
use rules::{Body, Cond, Rule, RULES};
pub use taxonomy::{Class, Confidence, Phase};

/// Everything the classifier may read about one request.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The access record.
    pub access: &'a AccessRecord,
    /// The joined authorizer invocation and how it was joined.
    pub invocation: Option<(&'a Invocation, MatchMethod)>,
    /// The authorizer's log is in the input, covers this request's time, and has no
    /// unmatched invocation that could be this request's: absence of an invocation is evidence.
    pub authorizer_log_covers: bool,
    /// What the execution log says about the request, when it has lines for it.
    pub exec: Option<&'a ExecFacts>,
}

impl Facts<'_> {
    /// `$context.status`, else the execution log's `Method completed with status`.
    fn status(&self) -> Option<i64> {
        self.access
            .int(Var::Status)
            .or_else(|| self.exec.and_then(|e| e.method_status).map(i64::from))
    }
}

/// The classifier's answer for one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Classification {
    /// The gateway produced the refusal.
    pub refused: bool,
    /// Refused, or the backend's own 401/403/429 passed on.
    pub denied: bool,
    /// Every class the non-heuristic evidence leaves.
    pub candidates: Vec<Class>,
    /// The class, when one remains or a heuristic picked one.
    pub class: Option<Class>,
    /// The phase all candidates share (`Unknown` when they differ); `None` when not denied.
    pub phase: Option<Phase>,
    /// Confidence of `class`.
    pub confidence: Option<Confidence>,
    /// The facts that decided.
    pub evidence: Pairs,
    /// What would decide.
    pub advice: Vec<String>,
}

/// Result of checking one condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eval {
    Yes {
        weak: bool,
    },
    No,
    /// The input does not carry the fact; the variable (if any) would decide.
    Unknown(Option<Var>),
}

/// Variables the `requests` table stores as integers (statuses, lengths, latencies).
pub fn is_int_var(v: Var) -> bool {
    use Var::*;
    matches!(
        v,
        Status
            | ResponseLength
            | ResponseLatency
            | AuthorizerStatus
            | AuthorizerLatency
            | AuthorizerIntegrationStatus
            | AuthorizerIntegrationLatency
            | AuthenticateStatus
            | AuthenticateLatency
            | AuthorizeStatus
            | AuthorizeLatency
            | WafStatus
            | WafLatency
            | IntegrationStatus
            | IntegrationIntegrationStatus
            | IntegrationLatency
    )
}

/// A variable's value as the classifier reads it: integers normalised (`0200` is 200, a
/// non-number is no value), exactly as the Parquet columns hold them, so that `classify.sql`
/// over the dataset decides the same.
fn value(a: &AccessRecord, v: Var) -> Option<std::borrow::Cow<'_, str>> {
    if is_int_var(v) {
        a.int(v).map(|i| std::borrow::Cow::Owned(i.to_string()))
    } else {
        a.get(v).map(std::borrow::Cow::Borrowed)
    }
}

fn var_eval(a: &AccessRecord, v: Var, test: impl Fn(Option<&str>) -> bool) -> Eval {
    if !a.known.has(v) {
        return Eval::Unknown(Some(v));
    }
    if test(value(a, v).as_deref()) {
        Eval::Yes { weak: false }
    } else {
        Eval::No
    }
}

/// Was the authorizer invoked for this request, and how strong is the answer?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invoked {
    Known { invoked: bool, weak: bool },
    Unknown,
}

fn invoked(f: &Facts) -> Invoked {
    let a = f.access;
    // Positive signals first: the access record says whether the Lambda was called.
    for v in [Var::AuthorizerRequestId, Var::AuthorizerIntegrationStatus] {
        if a.known.has(v) {
            return Invoked::Known {
                invoked: a.get(v).is_some(),
                weak: false,
            };
        }
    }
    match f.invocation {
        Some((_, m)) if m.is_exact() => Invoked::Known {
            invoked: true,
            weak: false,
        },
        Some((_, MatchMethod::InferredTimeRoute)) => Invoked::Known {
            invoked: true,
            weak: true,
        },
        // Absence is evidence only where the authorizer's log covers the request.
        _ if f.authorizer_log_covers => Invoked::Known {
            invoked: false,
            weak: true,
        },
        _ => Invoked::Unknown,
    }
}

fn check(f: &Facts, c: &Cond) -> Eval {
    let a = f.access;
    match *c {
        Cond::Dash(v) => var_eval(a, v, |x| x.is_none()),
        Cond::Set(v) => var_eval(a, v, |x| x.is_some()),
        Cond::Eq(v, t) => var_eval(a, v, |x| x == Some(t)),
        Cond::EqOrDash(v, t) => var_eval(a, v, |x| x.is_none() || x == Some(t)),
        Cond::NotEq(v, t) => var_eval(a, v, |x| x != Some(t)),
        Cond::Has(v, t) => var_eval(a, v, |x| {
            x.is_some_and(|x| x.to_ascii_lowercase().contains(&t.to_ascii_lowercase()))
        }),
        Cond::EqStatus(v) => {
            let status = value(a, Var::Status);
            var_eval(a, v, |x| x.is_some() && x == status.as_deref())
        }
        Cond::MsgHas(t) => var_eval(a, Var::ErrorMessage, |x| x.is_some_and(|m| m.contains(t))),
        Cond::MsgLacks(t) => var_eval(a, Var::ErrorMessage, |x| !x.is_some_and(|m| m.contains(t))),
        Cond::Invoked(want) => match invoked(f) {
            Invoked::Known { invoked, weak } if invoked == want => Eval::Yes { weak },
            Invoked::Known { .. } => Eval::No,
            Invoked::Unknown => Eval::Unknown(Some(Var::AuthorizerRequestId)),
        },
        Cond::ExecHas(x) => match f.exec {
            Some(e) if e.has(x) => Eval::Yes { weak: false },
            Some(_) => Eval::No,
            None => Eval::Unknown(None),
        },
        Cond::ExecLacks(x) => match f.exec {
            Some(e) if e.has(x) => Eval::No,
            Some(_) => Eval::Yes { weak: false },
            None => Eval::Unknown(None),
        },
        Cond::ExecAny(xs) => match f.exec {
            Some(e) if xs.iter().any(|x| e.has(*x)) => Eval::Yes { weak: false },
            Some(_) => Eval::No,
            None => Eval::Unknown(None),
        },
        Cond::ExecSilent => match f.exec {
            Some(_) => Eval::No,
            None => Eval::Unknown(None),
        },
        Cond::DecisionIn(ds) => match f.invocation {
            Some((inv, m)) if m.is_exact() => match inv.decision {
                Some(d) if ds.contains(&d) => Eval::Yes { weak: false },
                Some(_) => Eval::No,
                None => Eval::Unknown(None),
            },
            Some((inv, MatchMethod::InferredTimeRoute)) => match inv.decision {
                Some(d) if ds.contains(&d) => Eval::Yes { weak: true },
                _ => Eval::Unknown(None),
            },
            _ => Eval::Unknown(None),
        },
    }
}

/// A rule checked against the facts.
struct Checked {
    rule: &'static Rule,
    /// A required fact missing or any fact contradicting.
    excluded: bool,
    /// Evidence used was weak (log silence, inferred link).
    weak: bool,
    /// The authorizer's own log (exact link) or an execution-log line confirmed the class.
    confirmed: bool,
    /// Variables that would have decided.
    unknown: Vec<Var>,
    /// Conditions that held: evidence.
    held: Vec<Cond>,
}

fn check_rule(f: &Facts, rule: &'static Rule) -> Checked {
    let mut out = Checked {
        rule,
        excluded: false,
        weak: false,
        confirmed: false,
        unknown: Vec::new(),
        held: Vec::new(),
    };
    for c in rule.conds {
        match check(f, c) {
            Eval::No => out.excluded = true,
            Eval::Yes { weak } => {
                out.weak |= weak;
                out.confirmed |=
                    !weak && matches!(c, Cond::DecisionIn(_) | Cond::ExecHas(_) | Cond::ExecAny(_));
                out.held.push(*c);
            }
            Eval::Unknown(v) => out.unknown.extend(v),
        }
    }
    for c in rule.requires {
        match check(f, c) {
            Eval::Yes { weak } => {
                out.weak |= weak;
                out.held.push(*c);
            }
            _ => out.excluded = true,
        }
    }
    out
}

/// In scope (DESIGN.md): a denial response type, a 401/403/429, or a 500 the authorizer
/// produced.
fn in_scope(f: &Facts, status: Option<i64>, rt: Option<&str>) -> bool {
    let a = f.access;
    if let Some(rt) = rt {
        return rules::is_denial_response_type(rt);
    }
    if f.exec.is_some_and(|e| e.shows_refusal()) {
        return true;
    }
    match status {
        Some(401 | 403 | 429) => true,
        Some(500) => {
            a.int(Var::AuthorizerStatus) == Some(500)
                || f.invocation.is_some_and(|(i, m)| {
                    m.is_exact() && matches!(i.decision, Some(Decision::Error | Decision::Timeout))
                })
                || (!a.known.has(Var::ErrorResponseType) && a.int(Var::ResponseLength) == Some(16))
        }
        _ => a.get(Var::WafResponseCode) == Some("WAF_BLOCK"),
    }
}

fn cond_var(c: &Cond) -> Option<Var> {
    match *c {
        Cond::Dash(v)
        | Cond::Set(v)
        | Cond::Eq(v, _)
        | Cond::EqOrDash(v, _)
        | Cond::NotEq(v, _)
        | Cond::Has(v, _)
        | Cond::EqStatus(v) => Some(v),
        Cond::MsgHas(_) | Cond::MsgLacks(_) => Some(Var::ErrorMessage),
        Cond::Invoked(_)
        | Cond::DecisionIn(_)
        | Cond::ExecHas(_)
        | Cond::ExecLacks(_)
        | Cond::ExecAny(_)
        | Cond::ExecSilent => None,
    }
}

/// Classifies one request.
pub fn classify(f: &Facts) -> Classification {
    let a = f.access;
    let status = f.status();
    let rt_known = a.known.has(Var::ErrorResponseType);
    let rt = a.get(Var::ErrorResponseType);
    if !in_scope(f, status, rt) {
        return Classification::default();
    }

    let gate = |r: &Rule| -> bool {
        if rt_known {
            match rt {
                Some(rt) => r.response_types.contains(&rt),
                None => r.response_types.is_empty(),
            }
        } else {
            status.is_none_or(|s| r.statuses.contains(&s))
                || (r.class == Class::WafBlock && a.get(Var::WafResponseCode) == Some("WAF_BLOCK"))
        }
    };
    let checked: Vec<Checked> = RULES
        .iter()
        .filter(|r| gate(r))
        .map(|r| check_rule(f, r))
        .collect();
    let alive: Vec<&Checked> = checked.iter().filter(|c| !c.excluded).collect();
    let candidates: Vec<Class> = alive.iter().map(|c| c.rule.class).collect();

    let mut evidence: Pairs = Vec::new();
    let mut push_ev = |k: &str, v: String| {
        if !evidence.iter().any(|(ek, _)| ek == k) {
            evidence.push((k.to_string(), v));
        }
    };
    if let Some(s) = status {
        push_ev("status", s.to_string());
    }
    if rt_known {
        push_ev("error.responseType", rt.unwrap_or("-").to_string());
    }
    if let Some(m) = a.get(Var::ErrorMessage) {
        push_ev("error.message", crate::redact::scrub(m).into_owned());
    }

    let mut class = None;
    let mut confidence = None;
    let mut heuristic = None;
    if let [only] = alive.as_slice() {
        class = Some(only.rule.class);
        let strong = (rt_known && !only.weak) || only.confirmed;
        confidence = Some(if strong {
            Confidence::High
        } else {
            Confidence::Medium
        });
    } else if alive.len() > 1 {
        if let Some((c, why)) = pick_heuristic(a, &alive) {
            class = Some(c);
            confidence = Some(Confidence::Low);
            heuristic = Some(why);
        }
    }
    // Keys whose meaning is ambiguous cap the classes that would depend on them.
    if !a.ambiguous.is_empty()
        && class.is_some_and(|c| {
            matches!(
                c.phase(),
                Phase::Authentication | Phase::Authorizer | Phase::Authorization
            )
        })
    {
        confidence = confidence.map(|c| c.min(Confidence::Low));
        push_ev("ambiguous_keys", a.ambiguous.join(","));
    }

    // Evidence: the facts that held for the class (or for all candidates when open).
    let shown: Vec<&&Checked> = match class {
        Some(c) => alive.iter().filter(|x| x.rule.class == c).collect(),
        None => alive.iter().collect(),
    };
    for ch in &shown {
        for c in &ch.held {
            if let Some(v) = cond_var(c) {
                push_ev(
                    v.name(),
                    a.get(v)
                        .map(|s| crate::redact::scrub(s).into_owned())
                        .unwrap_or_else(|| "-".into()),
                );
            }
        }
    }
    if let Some((inv, m)) = f.invocation {
        push_ev(
            "authorizer_invocation",
            format!(
                "{} decision={} via {}",
                inv.lambda_request_id,
                inv.decision.map(|d| d.as_str()).unwrap_or("unknown"),
                m.as_str()
            ),
        );
    } else if f.authorizer_log_covers && candidates.iter().any(|c| c.phase() == Phase::Authorizer) {
        push_ev(
            "authorizer_log",
            "covers the request time; no invocation for it".into(),
        );
    }
    if let Some(e) = f.exec {
        let mut v = e.names().join(",");
        if let Some(st) = e.method_status {
            v.push_str(&format!(" method_status={st}"));
        }
        push_ev("execution_log", v);
    }
    if let Some(why) = &heuristic {
        push_ev("heuristic", why.clone());
    }
    if candidates.is_empty() {
        push_ev(
            "conflict",
            "no class of the decision table fits every logged fact".into(),
        );
    }

    // Advice: only when the answer is open or not high.
    let mut advice: Vec<String> = Vec::new();
    if confidence != Some(Confidence::High) {
        let mut add = |s: String| {
            if !advice.contains(&s) {
                advice.push(s);
            }
        };
        if !rt_known {
            add("add $context.error.responseType to the access-log format".into());
        }
        for ch in &alive {
            for v in &ch.unknown {
                add(format!(
                    "add $context.{} to the access-log format",
                    v.name()
                ));
            }
            let needs_log = ch
                .rule
                .conds
                .iter()
                .any(|c| matches!(c, Cond::Invoked(_) | Cond::DecisionIn(_)));
            if needs_log && ch.rule.class.phase() == Phase::Authorizer && f.invocation.is_none() {
                add("include the authorizer Lambda's log covering the request time".into());
            }
        }
        if heuristic.is_some() {
            add("the class was picked from the response length, valid only while the API's gateway responses are the defaults".into());
        }
    }

    let phase = if candidates.is_empty() {
        Some(Phase::Unknown)
    } else {
        let p = candidates[0].phase();
        Some(if candidates.iter().all(|c| c.phase() == p) {
            p
        } else {
            Phase::Unknown
        })
    };
    let refused = match class {
        Some(c) => c != Class::BackendDenied,
        None => candidates.iter().any(|c| *c != Class::BackendDenied) || candidates.is_empty(),
    };
    Classification {
        refused,
        denied: true,
        candidates,
        class,
        phase,
        confidence,
        evidence,
        advice,
    }
}

/// The documented heuristics, in order: a default body's exact length; the one class a body
/// length leaves; an IAM-authenticated caller.
fn pick_heuristic(a: &AccessRecord, alive: &[&Checked]) -> Option<(Class, String)> {
    if let Some(len) = a.int(Var::ResponseLength) {
        let exact: Vec<Class> = alive
            .iter()
            .filter(|c| matches!(c.rule.body, Body::Exact(ls) if ls.contains(&len)))
            .map(|c| c.rule.class)
            .collect();
        if let [c] = exact.as_slice() {
            return Some((
                *c,
                format!(
                    "response_length {len} is the default body of {}",
                    c.as_str()
                ),
            ));
        }
        if exact.is_empty() {
            let fits: Vec<Class> = alive
                .iter()
                .filter(|c| match c.rule.body {
                    Body::Exact(_) => false,
                    Body::AtLeast(n) => len >= n,
                    Body::Any => true,
                })
                .map(|c| c.rule.class)
                .collect();
            if let [c] = fits.as_slice() {
                return Some((
                    *c,
                    format!(
                        "response_length {len} fits no default gateway body but {}",
                        c.as_str()
                    ),
                ));
            }
        }
    }
    let iam_caller = a.get(Var::Caller).is_some() || a.get(Var::User).is_some();
    if iam_caller && alive.iter().any(|c| c.rule.class == Class::IamPolicyDeny) {
        return Some((
            Class::IamPolicyDeny,
            "an IAM-authenticated caller was refused".into(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::records::access::{AccessParser, Parsed};

    /// (request id, class from the enhanced format (high), class and confidence from the
    /// troubleshooting format), from tests/fixtures/samples/EXPECTED.md.
    const TABLE: &[(&str, &str, Option<(&str, Confidence)>)] = &[
        (
            "5ff31b8a-ec05-49b0-aa7c-89f82faca8b1",
            "resource_policy_explicit_deny",
            None,
        ),
        (
            "b8f6889a-674c-48af-a8f0-1f563833917e",
            "throttled",
            Some(("throttled", Confidence::Low)),
        ),
        (
            "83fd0eaa-3423-495f-9137-5eee93ad70ce",
            "authorizer_policy_mismatch",
            Some(("authorizer_policy_mismatch", Confidence::Low)),
        ),
        (
            "3e63d9a0-0376-4989-ad1b-e7156c9bf3e7",
            "authorizer_explicit_deny",
            Some(("authorizer_explicit_deny", Confidence::Low)),
        ),
        (
            "5ca127f3-08c9-49e3-80f5-0029a0786f04",
            "authorizer_cached_deny",
            Some(("authorizer_cached_deny", Confidence::Low)),
        ),
        (
            "330d71d3-48c2-435f-96fa-e11ecf22c6ae",
            "quota_exceeded",
            Some(("quota_exceeded", Confidence::Low)),
        ),
        ("739b8b6d-84ed-48bd-baef-f93b4d9af042", "waf_block", None),
        (
            "8fcf46f5-5756-4136-9607-848ce6a41c8d",
            "iam_policy_deny",
            Some(("iam_policy_deny", Confidence::Low)),
        ),
        (
            "279821e5-a487-44a3-b480-4e9b2b78e1af",
            "authorizer_identity_missing",
            Some(("authorizer_identity_missing", Confidence::Medium)),
        ),
        (
            "e4a03d67-30ca-4afa-aebd-bb6e8a310f30",
            "authorizer_unauthorized",
            Some(("authorizer_unauthorized", Confidence::Medium)),
        ),
        (
            "ca8b2100-92d5-423c-8f35-59bf83ba112f",
            "api_key_invalid",
            None,
        ),
        (
            "8ab7ea5b-85bb-4eb8-b9e7-21e217ab1cf7",
            "iam_signature_invalid",
            None,
        ),
        (
            "b1042c08-f334-4bc5-adad-0fc8cc5c3120",
            "authorizer_configuration_error",
            Some(("authorizer_configuration_error", Confidence::Medium)),
        ),
        (
            "05bdcdb4-8409-419b-adc3-bcff3248e786",
            "missing_authentication_token",
            Some(("missing_authentication_token", Confidence::Medium)),
        ),
        (
            "b3b45cc8-3c85-458f-a143-4e3b5a6a7c7f",
            "iam_token_expired",
            None,
        ),
        (
            "2537217f-d832-4a77-b984-81c8c8284b82",
            "backend_denied",
            Some(("backend_denied", Confidence::Low)),
        ),
    ];

    fn records(file: &str) -> Vec<AccessRecord> {
        let path = format!(
            "{}/tests/fixtures/samples/access/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut p = AccessParser::new(None);
        text.lines()
            .map(|l| match p.parse(l, Origin::default()).unwrap() {
                Parsed::Record(r) => *r,
                Parsed::NotAccess => panic!("{l}"),
            })
            .collect()
    }

    fn run(r: &AccessRecord) -> Classification {
        classify(&Facts {
            access: r,
            invocation: None,
            authorizer_log_covers: false,
            exec: None,
        })
    }

    #[test]
    fn enhanced_format_decides_every_class_with_high_confidence() {
        let recs = records("enhanced.jsonl");
        assert_eq!(recs.len(), 40);
        for r in &recs {
            let c = run(r);
            match TABLE.iter().find(|(id, _, _)| *id == r.request_id()) {
                Some((id, want, _)) => {
                    assert_eq!(c.class.map(|c| c.as_str()), Some(*want), "{id}: {c:?}");
                    assert_eq!(c.confidence, Some(Confidence::High), "{id}: {c:?}");
                    assert_eq!(c.candidates.len(), 1, "{id}: {c:?}");
                    assert_eq!(c.phase, Some(c.class.unwrap().phase()));
                    assert_eq!(c.refused, *want != "backend_denied");
                    assert!(c.advice.is_empty(), "{id}: {:?}", c.advice);
                }
                None => assert_eq!(c, Classification::default(), "{}", r.request_id()),
            }
        }
    }

    #[test]
    fn troubleshooting_format_gives_candidates_not_guesses() {
        let recs = records("troubleshooting.jsonl");
        for r in &recs {
            let c = run(r);
            let Some((id, truth, t)) = TABLE.iter().find(|(id, _, _)| *id == r.request_id()) else {
                assert!(!c.denied, "{}", r.request_id());
                continue;
            };
            assert!(c.denied, "{id}");
            let truth = Class::from_name(truth).unwrap();
            assert!(
                c.candidates.contains(&truth),
                "{id}: truth {truth:?} not in {:?}",
                c.candidates
            );
            match t {
                Some((class, conf)) => {
                    assert_eq!(c.class.map(|c| c.as_str()), Some(*class), "{id}: {c:?}");
                    assert_eq!(c.confidence, Some(*conf), "{id}: {c:?}");
                }
                None => {
                    assert_eq!(c.class, None, "{id}: {c:?}");
                    assert!(c.candidates.len() > 1);
                    assert_eq!(c.phase, Some(Phase::Unknown));
                    assert!(
                        c.advice.iter().any(|a| a.contains("error.responseType")),
                        "{:?}",
                        c.advice
                    );
                }
            }
            assert_ne!(
                c.confidence,
                Some(Confidence::High),
                "{id}: troubleshooting never decides high"
            );
        }
    }

    #[test]
    fn explicit_and_cached_deny_share_an_answer_in_clf() {
        let mut p = AccessParser::new(None);
        let mut one = |l: &str| match p.parse(l, Origin::default()).unwrap() {
            Parsed::Record(r) => run(&r),
            Parsed::NotAccess => panic!(),
        };
        let a = one(
            r#"203.0.113.98 - - [14/Oct/2025:14:08:02 +0000] "GET /payments/{paymentId} HTTP/1.1" 403 82 3e63d9a0-0376-4989-ad1b-e7156c9bf3e7 NetXaK4ovFkPMBQ="#,
        );
        let b = one(
            r#"203.0.113.98 - - [14/Oct/2025:14:08:31 +0000] "GET /payments/{paymentId} HTTP/1.1" 403 82 5ca127f3-08c9-49e3-80f5-0029a0786f04 Y2KFQzVoeG0Vd2U="#,
        );
        assert_eq!(a.candidates, b.candidates);
        assert_eq!(a.class, b.class);
        assert!(a.candidates.contains(&Class::AuthorizerExplicitDeny));
        assert!(a.candidates.contains(&Class::AuthorizerCachedDeny));
        assert_eq!(a.class, None, "{a:?}");
    }

    #[test]
    fn authorizer_log_decides_explicit_vs_cached() {
        let mut p = AccessParser::new(None);
        let Parsed::Record(r) = p.parse(r#"{"requestId":"3e63d9a0-0376-4989-ad1b-e7156c9bf3e7","ip":"203.0.113.98","caller":"-","user":"-","requestTime":"14/Oct/2025:14:08:02 +0000","httpMethod":"GET","resourcePath":"/payments/{paymentId}","status":"403","protocol":"HTTP/1.1","responseLength":"82","error-message":"User is not authorized to access this resource with an explicit deny","error-responseType":"ACCESS_DENIED"}"#, Origin::default()).unwrap() else { panic!() };
        let inv = Invocation {
            lambda_request_id: "ce039721".into(),
            decision: Some(Decision::Deny),
            ..Default::default()
        };
        let c = classify(&Facts {
            access: &r,
            invocation: Some((&inv, MatchMethod::LoggedRequestContext)),
            authorizer_log_covers: true,
            exec: None,
        });
        assert_eq!(c.class, Some(Class::AuthorizerExplicitDeny));
        assert_eq!(c.confidence, Some(Confidence::High));
        // No invocation, log covers the time: a cached deny, but only medium.
        let c = classify(&Facts {
            access: &r,
            invocation: None,
            authorizer_log_covers: true,
            exec: None,
        });
        assert_eq!(c.class, Some(Class::AuthorizerCachedDeny));
        assert_eq!(c.confidence, Some(Confidence::Medium));
        // No invocation and no log coverage: both stay candidates.
        let c = classify(&Facts {
            access: &r,
            invocation: None,
            authorizer_log_covers: false,
            exec: None,
        });
        assert_eq!(c.class, None);
        assert!(
            c.advice
                .iter()
                .any(|a| a.contains("authorizer Lambda's log")),
            "{:?}",
            c.advice
        );
    }

    #[test]
    fn bare_403_is_unknown_never_ok() {
        let mut p = AccessParser::new(None);
        let Parsed::Record(r) = p
            .parse(r#"{"requestId":"x","status":"403"}"#, Origin::default())
            .unwrap()
        else {
            panic!()
        };
        let c = run(&r);
        assert!(c.denied);
        assert_eq!(c.class, None);
        assert_eq!(c.phase, Some(Phase::Unknown));
        assert!(c.candidates.len() > 3);
    }

    #[test]
    fn ambiguous_keys_cap_confidence() {
        let mut p = AccessParser::new(None);
        let Parsed::Record(r) = p.parse(r#"{"rid":"x","requestId":"x","status":"401","error-responseType":"UNAUTHORIZED","authorizer-requestId":"-","authorizer-status":"401","authorize-status":"401"}"#, Origin::default()).unwrap() else { panic!() };
        let c = run(&r);
        assert_eq!(c.class, Some(Class::AuthorizerIdentityMissing));
        assert_eq!(c.confidence, Some(Confidence::Low));
    }
}

#[cfg(test)]
mod rule_tests {
    //! One test per rule the shared sample does not exercise.
    use super::*;
    use crate::model::Origin;
    use crate::records::access::{AccessParser, Parsed};

    fn run(json: &str, inv: Option<(&Invocation, MatchMethod)>) -> Classification {
        let mut p = AccessParser::new(None);
        let Parsed::Record(r) = p.parse(json, Origin::default()).unwrap() else {
            panic!("{json}")
        };
        classify(&Facts {
            access: &r,
            invocation: inv,
            authorizer_log_covers: false,
            exec: None,
        })
    }

    #[test]
    fn iam_unsigned_on_a_matched_route() {
        let c = run(
            r#"{"requestId":"x","status":"403","resourcePath":"/settlements","caller":"-","error-responseType":"MISSING_AUTHENTICATION_TOKEN","error-message":"Missing Authentication Token","authorizer-status":"-","authorizer-requestId":"-","integration-status":"-"}"#,
            None,
        );
        assert_eq!(c.class, Some(Class::IamUnsigned));
        assert_eq!(c.phase, Some(Phase::Authentication));
    }

    #[test]
    fn iam_token_invalid() {
        let c = run(
            r#"{"requestId":"x","status":"403","resourcePath":"/s","caller":"-","error-responseType":"ACCESS_DENIED","error-message":"The security token included in the request is invalid.","authorizer-status":"-","authorizer-requestId":"-","integration-status":"-"}"#,
            None,
        );
        assert_eq!(c.class, Some(Class::IamTokenInvalid));
        assert_eq!(c.confidence, Some(Confidence::High));
    }

    #[test]
    fn resource_policy_implicit_deny() {
        let c = run(
            r#"{"requestId":"x","status":"403","resourcePath":"/p","error-responseType":"ACCESS_DENIED","error-message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:********4321:abc/live/GET/p because no resource-based policy allows the execute-api:Invoke action","integration-status":"-"}"#,
            None,
        );
        assert_eq!(c.class, Some(Class::ResourcePolicyImplicitDeny));
    }

    #[test]
    fn arn_caller_with_explicit_deny_leaves_iam_and_resource_policy() {
        let c = run(
            r#"{"requestId":"x","status":"403","resourcePath":"/p","caller":"AROA:jdoe","error-responseType":"ACCESS_DENIED","error-message":"User: arn:aws:sts::1:assumed-role/r/jdoe is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:********4321:abc/live/GET/p with an explicit deny","authorizer-status":"-","authorizer-requestId":"-","integration-status":"-"}"#,
            None,
        );
        assert_eq!(
            c.candidates,
            vec![Class::ResourcePolicyExplicitDeny, Class::IamPolicyDeny]
        );
        assert_eq!(c.phase, Some(Phase::Unknown));
    }

    #[test]
    fn authorizer_timeout_needs_the_invocation() {
        let rec = r#"{"requestId":"x","status":"500","resourcePath":"/p","error-responseType":"AUTHORIZER_CONFIGURATION_ERROR","authorizer-status":"500","authorizer-requestId":"l1","integration-status":"-"}"#;
        assert_eq!(
            run(rec, None).class,
            Some(Class::AuthorizerConfigurationError)
        );
        let inv = Invocation {
            lambda_request_id: "l1".into(),
            decision: Some(Decision::Timeout),
            ..Default::default()
        };
        let c = run(rec, Some((&inv, MatchMethod::AuthorizerRequestId)));
        assert_eq!(c.class, Some(Class::AuthorizerTimeout));
        assert_eq!(c.confidence, Some(Confidence::High));
    }

    #[test]
    fn jwt_classes_need_an_http_api_authorizer_error() {
        let c = run(
            r#"{"requestId":"x","status":"401","routeKey":"GET /pets","error-responseType":"UNAUTHORIZED","authorizer-error":"JWT token is expired"}"#,
            None,
        );
        assert!(c.candidates.contains(&Class::JwtUnauthorized), "{c:?}");
        let c = run(
            r#"{"requestId":"x","status":"403","routeKey":"GET /pets","error-responseType":"ACCESS_DENIED","authorizer-error":"Insufficient scope"}"#,
            None,
        );
        assert!(c.candidates.contains(&Class::JwtInsufficientScope), "{c:?}");
    }

    #[test]
    fn waf_custom_429_and_out_of_scope_statuses() {
        let c = run(
            r#"{"requestId":"x","status":"429","resourcePath":"/p","waf-response":"WAF_BLOCK","error-responseType":"WAF_FILTERED"}"#,
            None,
        );
        assert_eq!(c.class, Some(Class::WafBlock));
        let c = run(
            r#"{"requestId":"x","status":"504","error-responseType":"INTEGRATION_TIMEOUT"}"#,
            None,
        );
        assert!(!c.denied, "integration failures are out of scope");
        let c = run(r#"{"requestId":"x","status":"404"}"#, None);
        assert!(!c.denied);
    }

    #[test]
    fn cognito_unauthorized_only_on_a_cognito_message() {
        let c = run(
            r#"{"requestId":"x","status":"401","resourcePath":"/p","error-responseType":"UNAUTHORIZED","error-message":"Unauthorized"}"#,
            None,
        );
        assert!(!c.candidates.contains(&Class::CognitoUnauthorized));
    }
}
