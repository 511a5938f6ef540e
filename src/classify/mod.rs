//! Classification: the decision table ([`rules::RULES`]) applied to one joined request.
//! Every class whose rule no carried fact contradicts is a candidate; one candidate is the
//! class; several leave the class open unless a documented heuristic (a default body's
//! length, an IAM caller) picks one at `low` confidence. Absent facts become `advice`: the
//! `$context` variables or logs that would decide.

pub mod capability;
pub mod rules;
pub mod taxonomy;

use crate::apiconfig::ConfigFacts;
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

/// Whether `hay` contains `needle`, ASCII letters compared without case (the rules' texts are
/// ASCII), without lowercased copies of either.
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    n.is_empty()
        || hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
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

fn check(f: &Facts, cfg: &ConfigFacts, c: &Cond) -> Eval {
    let a = f.access;
    let known = |x: Option<bool>| match x {
        Some(true) => Eval::Yes { weak: false },
        Some(false) => Eval::No,
        None => Eval::Unknown(None),
    };
    match *c {
        Cond::AuthIn(ts) => known(cfg.method_auth_type.map(|t| ts.contains(&t))),
        Cond::ApiKeyRequired => known(cfg.api_key_required),
        Cond::AuthorizerCaches => known(cfg.authorizer_ttl_s.map(|t| t > 0)),
        Cond::HttpApi(want) => known(Some(a.get(Var::RouteKey).is_some() == want)),
        Cond::Any(cs) => {
            let mut unknown = None;
            let mut all_no = true;
            for c in cs {
                match check(f, cfg, c) {
                    y @ Eval::Yes { .. } => return y,
                    Eval::No => {}
                    Eval::Unknown(v) => {
                        all_no = false;
                        unknown = unknown.or(v);
                    }
                }
            }
            if all_no {
                Eval::No
            } else {
                Eval::Unknown(unknown)
            }
        }
        Cond::All(cs) => {
            let mut out = Eval::Yes { weak: false };
            for c in cs {
                match check(f, cfg, c) {
                    Eval::No => return Eval::No,
                    Eval::Yes { weak } => {
                        if let Eval::Yes { weak: w } = out {
                            out = Eval::Yes { weak: w || weak };
                        }
                    }
                    Eval::Unknown(v) => {
                        if !matches!(out, Eval::Unknown(Some(_))) {
                            out = Eval::Unknown(v);
                        }
                    }
                }
            }
            out
        }
        Cond::Dash(v) => var_eval(a, v, |x| x.is_none()),
        Cond::Set(v) => var_eval(a, v, |x| x.is_some()),
        Cond::Eq(v, t) => var_eval(a, v, |x| x == Some(t)),
        Cond::EqOrDash(v, t) => var_eval(a, v, |x| x.is_none() || x == Some(t)),
        Cond::NotEq(v, t) => var_eval(a, v, |x| x != Some(t)),
        Cond::Has(v, t) => var_eval(a, v, |x| x.is_some_and(|x| contains_ignore_case(x, t))),
        Cond::Lacks(v, t) => var_eval(a, v, |x| !x.is_some_and(|x| contains_ignore_case(x, t))),
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

fn check_rule(f: &Facts, cfg: &ConfigFacts, rule: &'static Rule) -> Checked {
    let mut out = Checked {
        rule,
        excluded: false,
        weak: false,
        confirmed: false,
        unknown: Vec::new(),
        held: Vec::new(),
    };
    for c in rule.conds {
        match check(f, cfg, c) {
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
        match check(f, cfg, c) {
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
fn in_scope(f: &Facts, cfg: &ConfigFacts, status: Option<i64>, rt: Option<&str>) -> bool {
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
                || a.get(Var::AuthorizerError).is_some()
                || f.invocation.is_some_and(|(i, m)| {
                    m.is_exact() && matches!(i.decision, Some(Decision::Error | Decision::Timeout))
                })
                || (!a.known.has(Var::ErrorResponseType)
                    && a.int(Var::ResponseLength) == Some(AUTHORIZER_500_BODY)
                    && AUTHORIZER_500_TYPES
                        .iter()
                        .all(|t| cfg.response_customised(t) != Some(true)))
        }
        _ => a.get(Var::WafResponseCode) == Some("WAF_BLOCK"),
    }
}

/// The default body length of the authorizer's 500 (`{"message":null}`), which puts an
/// unlabelled 500 in scope while these gateway responses are the defaults.
pub const AUTHORIZER_500_BODY: i64 = 16;
/// The gateway responses with that body.
pub const AUTHORIZER_500_TYPES: [&str; 2] =
    ["AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE"];

/// The variables of the conditions inside `c` that held.
fn held_vars(f: &Facts, cfg: &ConfigFacts, c: &Cond, out: &mut Vec<Var>) {
    match *c {
        Cond::Any(cs) | Cond::All(cs) => {
            for c in cs {
                if matches!(check(f, cfg, c), Eval::Yes { .. }) {
                    held_vars(f, cfg, c, out);
                }
            }
        }
        _ => out.extend(cond_var(c)),
    }
}

/// Whether `c` (or a condition inside it) satisfies `pred`.
fn cond_uses(c: &Cond, pred: &dyn Fn(&Cond) -> bool) -> bool {
    match *c {
        Cond::Any(cs) | Cond::All(cs) => cs.iter().any(|c| cond_uses(c, pred)),
        _ => pred(c),
    }
}

/// Whether a rule reads a fact `pred` names.
pub fn rule_uses(r: &Rule, pred: &dyn Fn(&Cond) -> bool) -> bool {
    r.conds.iter().chain(r.requires).any(|c| cond_uses(c, pred))
}

fn cond_var(c: &Cond) -> Option<Var> {
    match *c {
        Cond::Dash(v)
        | Cond::Set(v)
        | Cond::Eq(v, _)
        | Cond::EqOrDash(v, _)
        | Cond::NotEq(v, _)
        | Cond::Has(v, _)
        | Cond::Lacks(v, _)
        | Cond::EqStatus(v) => Some(v),
        Cond::MsgHas(_) | Cond::MsgLacks(_) => Some(Var::ErrorMessage),
        Cond::Invoked(_)
        | Cond::DecisionIn(_)
        | Cond::ExecHas(_)
        | Cond::ExecLacks(_)
        | Cond::ExecAny(_)
        | Cond::ExecSilent
        | Cond::AuthIn(_)
        | Cond::ApiKeyRequired
        | Cond::AuthorizerCaches
        | Cond::HttpApi(_)
        | Cond::Any(_)
        | Cond::All(_) => None,
    }
}

/// Classifies one request with no API configuration.
pub fn classify(f: &Facts) -> Classification {
    classify_with(f, &ConfigFacts::default())
}

/// Classifies one request, with what the API's configuration (`--api-config`) says about it.
pub fn classify_with(f: &Facts, cfg: &ConfigFacts) -> Classification {
    let a = f.access;
    let status = f.status();
    let rt_known = a.known.has(Var::ErrorResponseType);
    let rt = a.get(Var::ErrorResponseType);
    if !in_scope(f, cfg, status, rt) {
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
        .map(|r| check_rule(f, cfg, r))
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
    }
    // The body-length heuristic holds only while the gateway responses the candidates could
    // have been answered with are the defaults; the API's configuration may say they are not.
    let relevant: Vec<&str> = if rt_known {
        rt.into_iter().collect()
    } else {
        let mut v: Vec<&str> = Vec::new();
        for ch in &alive {
            for t in ch.rule.response_types {
                if !v.contains(t) {
                    v.push(t);
                }
            }
        }
        v
    };
    let customised: Vec<&str> = relevant
        .iter()
        .copied()
        .filter(|t| cfg.response_customised(t) == Some(true))
        .collect();
    let mut by_body = false;
    if alive.len() > 1 {
        if let Some((c, why, body)) = pick_heuristic(a, &alive, customised.is_empty()) {
            class = Some(c);
            confidence = Some(Confidence::Low);
            heuristic = Some(why);
            by_body = body;
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
        let mut vars = Vec::new();
        for c in &ch.held {
            held_vars(f, cfg, c, &mut vars);
        }
        for v in vars {
            push_ev(
                v.name(),
                a.get(v)
                    .map(|s| crate::redact::scrub(s).into_owned())
                    .unwrap_or_else(|| "-".into()),
            );
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
    // The configuration facts the decision read.
    let mut used_config = false;
    let gated_uses =
        |pred: &dyn Fn(&Cond) -> bool| checked.iter().any(|ch| rule_uses(ch.rule, pred));
    if let Some(t) = cfg.method_auth_type {
        if gated_uses(&|c| matches!(c, Cond::AuthIn(_))) {
            let mut v = t.as_str().to_string();
            if let Some(n) = &cfg.authorizer_name {
                v.push_str(&format!(" (authorizer {n}"));
                if let Some(k) = cfg.authorizer_type {
                    v.push_str(&format!(", {}", k.as_str()));
                }
                v.push(')');
            }
            push_ev("method_auth_type", v);
            used_config = true;
        }
    }
    if let Some(k) = cfg.api_key_required {
        if gated_uses(&|c| matches!(c, Cond::ApiKeyRequired)) {
            push_ev("api_key_required", k.to_string());
            used_config = true;
        }
    }
    if let Some(t) = cfg.authorizer_ttl_s {
        if gated_uses(&|c| matches!(c, Cond::AuthorizerCaches)) {
            push_ev(
                "authorizer_ttl_s",
                if t > 0 {
                    format!("{t} (a cached Deny is possible)")
                } else {
                    "0 (no caching: a Deny cannot come from the cache)".into()
                },
            );
            used_config = true;
        }
    }
    if by_body && cfg.gateway_responses_default.is_some() {
        push_ev(
            "gateway_responses",
            format!("default: {}", relevant.join(", ")),
        );
        used_config = true;
    } else if !customised.is_empty() && alive.len() > 1 {
        push_ev(
            "gateway_responses",
            format!(
                "customised: {}; the response length says nothing",
                customised.join(", ")
            ),
        );
        used_config = true;
    }
    if used_config {
        push_ev("api_config", cfg.files.join(", "));
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
        if by_body && cfg.gateway_responses_default.is_none() {
            add("the class was picked from the response length, valid only while the API's gateway responses are the defaults".into());
        }
        let auth_would_decide = alive.len() > 1
            && cfg.method_auth_type.is_none()
            && alive
                .iter()
                .any(|ch| rule_uses(ch.rule, &|c| matches!(c, Cond::AuthIn(_))));
        if auth_would_decide {
            add("give --api-config with the output of `aws apigateway get-export --export-type oas30 --parameters extensions=apigateway` (each method's auth type)".into());
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
fn pick_heuristic(
    a: &AccessRecord,
    alive: &[&Checked],
    bodies_default: bool,
) -> Option<(Class, String, bool)> {
    let len = a.int(Var::ResponseLength).filter(|_| bodies_default);
    if let Some(len) = len {
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
                true,
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
                    true,
                ));
            }
        }
    }
    let iam_caller = a.get(Var::Caller).is_some() || a.get(Var::User).is_some();
    if iam_caller && alive.iter().any(|c| c.rule.class == Class::IamPolicyDeny) {
        return Some((
            Class::IamPolicyDeny,
            "an IAM-authenticated caller was refused".into(),
            false,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::records::access::{AccessParser, Parsed};

    #[test]
    fn contains_ignore_case_is_lowercased_contains() {
        let hays = [
            "User is not authorized to access this resource with an explicit deny",
            "Forbidden",
            "",
            "Ünauthorized ÄCCESS denied",
            "IAM token EXPIRED",
        ];
        let needles = [
            "explicit deny",
            "FORBIDDEN",
            "",
            "äccess",
            "ccess DEN",
            "expired",
            "x",
        ];
        for h in hays {
            for n in needles {
                assert_eq!(
                    contains_ignore_case(h, n),
                    h.to_ascii_lowercase().contains(&n.to_ascii_lowercase()),
                    "{h:?} {n:?}"
                );
            }
        }
    }

    /// The troubleshooting format's answer: class and confidence, or none.
    type Answer = Option<(&'static str, Confidence)>;

    /// (request id, class from the enhanced format (high), class and confidence from the
    /// troubleshooting format), from tests/fixtures/samples/EXPECTED.md.
    const TABLE: &[(&str, &str, Answer)] = &[
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

#[cfg(test)]
mod config_tests {
    //! What `--api-config` facts change.
    use super::*;
    use crate::apiconfig::{AuthType, AuthorizerType};
    use crate::model::Origin;
    use crate::records::access::{AccessParser, Parsed};

    fn record(line: &str) -> AccessRecord {
        let mut p = AccessParser::new(None);
        match p.parse(line, Origin::default()).unwrap() {
            Parsed::Record(r) => *r,
            Parsed::NotAccess => panic!("{line}"),
        }
    }

    fn run(line: &str, cfg: &ConfigFacts) -> Classification {
        classify_with(
            &Facts {
                access: &record(line),
                invocation: None,
                authorizer_log_covers: false,
                exec: None,
            },
            cfg,
        )
    }

    fn lambda(ttl: i64) -> ConfigFacts {
        ConfigFacts {
            method_auth_type: Some(AuthType::Custom),
            authorizer_name: Some("payments-request-authorizer".into()),
            authorizer_type: Some(AuthorizerType::Request),
            authorizer_ttl_s: Some(ttl),
            api_key_required: Some(false),
            gateway_responses_default: Some(true),
            files: vec!["export.json".into()],
            ..Default::default()
        }
    }

    /// The console CLF line of the sample's explicit Deny (403, 82 bytes).
    const CLF_DENY: &str = r#"203.0.113.98 - - [14/Oct/2025:14:08:02 +0000] "GET /payments/{paymentId} HTTP/1.1" 403 82 3e63d9a0-0376-4989-ad1b-e7156c9bf3e7 NetXaK4ovFkPMBQ="#;

    #[test]
    fn a_lambda_method_drops_iam_and_api_key_candidates() {
        let none = run(CLF_DENY, &ConfigFacts::default());
        assert!(none.candidates.contains(&Class::IamUnsigned), "{none:?}");
        assert!(!none.advice.iter().any(|a| a.contains("routeKey")));
        assert!(none.candidates.contains(&Class::ApiKeyInvalid));
        let c = run(CLF_DENY, &lambda(300));
        assert!(c.candidates.len() < none.candidates.len(), "{c:?}");
        for x in &c.candidates {
            assert!(
                !matches!(
                    x.phase(),
                    Phase::Authentication | Phase::Authorization | Phase::ApiKey
                ),
                "{x:?} survived a Lambda method without an API key"
            );
        }
        assert!(c.candidates.contains(&Class::AuthorizerExplicitDeny));
        assert!(c.candidates.contains(&Class::AuthorizerCachedDeny));
        let ev = |k: &str| {
            c.evidence
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            ev("method_auth_type").as_deref(),
            Some("CUSTOM (authorizer payments-request-authorizer, REQUEST)")
        );
        assert_eq!(ev("api_key_required").as_deref(), Some("false"));
        assert_eq!(ev("api_config").as_deref(), Some("export.json"));
        // Without the configuration the advice points at it.
        assert!(
            none.advice.iter().any(|a| a.contains("--api-config")),
            "{:?}",
            none.advice
        );
    }

    #[test]
    fn no_caching_means_the_deny_was_not_cached() {
        let c = run(CLF_DENY, &lambda(300));
        assert_eq!(c.class, None, "{c:?}");
        let c = run(CLF_DENY, &lambda(0));
        assert!(
            !c.candidates.contains(&Class::AuthorizerCachedDeny),
            "{c:?}"
        );
        assert!(c.candidates.contains(&Class::AuthorizerExplicitDeny));
        assert!(c
            .evidence
            .iter()
            .any(|(k, v)| k == "authorizer_ttl_s" && v.starts_with("0 ")));
    }

    #[test]
    fn customised_gateway_responses_stop_the_body_length_heuristic() {
        // The troubleshooting format's cached Deny: picked from its 82-byte body.
        let line = r#"{"requestId":"5ca127f3-08c9-49e3-80f5-0029a0786f04","ip":"203.0.113.98","caller":"-","user":"-","requestTime":"14/Oct/2025:14:08:31 +0000","httpMethod":"GET","resourcePath":"/payments/{paymentId}","status":"403","protocol":"HTTP/1.1","responseLength":"82","authenticate-status":"-","authorize-status":"200"}"#;
        let plain = run(line, &ConfigFacts::default());
        assert_eq!(plain.class, Some(Class::AuthorizerCachedDeny));
        assert!(plain.advice.iter().any(|a| a.contains("valid only while")));
        let defaults = run(line, &lambda(300));
        assert_eq!(defaults.class, Some(Class::AuthorizerCachedDeny));
        assert_eq!(defaults.confidence, Some(Confidence::Low));
        assert!(
            defaults
                .evidence
                .iter()
                .any(|(k, v)| k == "gateway_responses" && v.starts_with("default")),
            "{:?}",
            defaults.evidence
        );
        assert!(!defaults
            .advice
            .iter()
            .any(|a| a.contains("valid only while")));
        let customised = ConfigFacts {
            gateway_responses_default: Some(false),
            gateway_responses_customised: vec!["ACCESS_DENIED".into()],
            ..lambda(300)
        };
        let c = run(line, &customised);
        assert_eq!(c.class, None, "{c:?}");
        assert_eq!(c.candidates, defaults.candidates);
        assert!(c
            .evidence
            .iter()
            .any(|(k, v)| k == "gateway_responses" && v.contains("ACCESS_DENIED")));
        // A customised response the candidates cannot have produced changes nothing.
        let other = ConfigFacts {
            gateway_responses_default: Some(false),
            gateway_responses_customised: vec!["INTEGRATION_TIMEOUT".into()],
            ..lambda(300)
        };
        assert_eq!(run(line, &other).class, Some(Class::AuthorizerCachedDeny));
    }

    #[test]
    fn an_unlabelled_500_of_16_bytes_is_in_scope_only_with_default_bodies() {
        let line = r#"{"requestId":"x","status":"500","responseLength":"16","resourcePath":"/p"}"#;
        assert!(run(line, &ConfigFacts::default()).denied);
        let customised = ConfigFacts {
            gateway_responses_default: Some(false),
            gateway_responses_customised: vec!["AUTHORIZER_CONFIGURATION_ERROR".into()],
            ..Default::default()
        };
        assert!(!run(line, &customised).denied);
    }

    #[test]
    fn open_and_iam_methods() {
        let forbidden = r#"{"requestId":"x","status":"403","resourcePath":"/partner/charges","responseLength":"23"}"#;
        let open_key = ConfigFacts {
            method_auth_type: Some(AuthType::None),
            api_key_required: Some(true),
            ..Default::default()
        };
        let c = run(forbidden, &open_key);
        assert!(c.candidates.contains(&Class::ApiKeyInvalid), "{c:?}");
        assert!(!c.candidates.iter().any(|x| x.phase() == Phase::Authorizer));
        let open = ConfigFacts {
            api_key_required: Some(false),
            ..open_key
        };
        let c = run(forbidden, &open);
        assert!(!c.candidates.contains(&Class::ApiKeyInvalid), "{c:?}");
        // A WAF block is the one 23-byte default left.
        assert_eq!(c.class, Some(Class::WafBlock));
        let iam = ConfigFacts {
            method_auth_type: Some(AuthType::AwsIam),
            ..Default::default()
        };
        let c = run(forbidden, &iam);
        assert!(c.candidates.contains(&Class::IamUnsigned), "{c:?}");
        assert!(!c.candidates.iter().any(|x| x.phase() == Phase::Authorizer));
    }

    #[test]
    fn cognito_methods_name_the_cognito_class() {
        let line = r#"{"requestId":"x","status":"401","resourcePath":"/me","error-message":"Unauthorized"}"#;
        assert!(!run(line, &ConfigFacts::default())
            .candidates
            .contains(&Class::CognitoUnauthorized));
        let c = run(
            line,
            &ConfigFacts {
                method_auth_type: Some(AuthType::CognitoUserPools),
                ..Default::default()
            },
        );
        assert_eq!(
            c.candidates,
            vec![Class::AuthorizerIdentityMissing, Class::CognitoUnauthorized]
        );
        assert_eq!(c.phase, Some(Phase::Authorizer));
    }
}

#[cfg(test)]
mod http_api_tests {
    //! HTTP API (v2) records (FORMATS.md §1.5, §3.2): `routeKey`, non-UUID request ids,
    //! `$context.authorizer.error`.
    use super::*;
    use crate::apiconfig::AuthType;
    use crate::model::Origin;
    use crate::records::access::{AccessParser, Parsed};
    use crate::records::format;

    fn run_with(parser: &mut AccessParser, line: &str, cfg: &ConfigFacts) -> Classification {
        let Parsed::Record(r) = parser.parse(line, Origin::default()).unwrap() else {
            panic!("{line}")
        };
        classify_with(
            &Facts {
                access: &r,
                invocation: None,
                authorizer_log_covers: false,
                exec: None,
            },
            cfg,
        )
    }

    fn run(line: &str) -> Classification {
        run_with(&mut AccessParser::new(None), line, &ConfigFacts::default())
    }

    /// The console's HTTP JSON format plus `errorMessage` and `authorizerError`.
    fn http(id: &str, route: &str, status: u16, msg: &str, authz: &str) -> String {
        let method = route.split(' ').next().unwrap_or("GET");
        format!(
            r#"{{"requestId":"{id}","ip":"198.51.100.23","requestTime":"03/Nov/2025:09:00:04 +0000","httpMethod":"{method}","routeKey":"{route}","status":"{status}","protocol":"HTTP/1.1","responseLength":"26","errorMessage":"{msg}","authorizerError":"{authz}"}}"#
        )
    }

    #[test]
    fn jwt_classes_from_the_authorizer_error() {
        let c = run(&http(
            "Jd2wEh8LoAMEb7Q=",
            "GET /orders",
            401,
            "Unauthorized",
            "JWT token is expired",
        ));
        assert_eq!(c.candidates, vec![Class::JwtUnauthorized], "{c:?}");
        assert_eq!(c.confidence, Some(Confidence::Medium));
        let c = run(&http(
            "Jd2wIiXkIAMEbQw=",
            "POST /orders",
            403,
            "Forbidden",
            "Insufficient scope",
        ));
        assert_eq!(c.candidates, vec![Class::JwtInsufficientScope], "{c:?}");
        assert_eq!(c.phase, Some(Phase::Authorizer));
    }

    #[test]
    fn the_simple_response_deny_is_an_explicit_deny() {
        let line = http(
            "Jd2wKgF3oAMEbVg=",
            "DELETE /orders/{orderId}",
            403,
            "Forbidden",
            "-",
        );
        let c = run(&line);
        assert_eq!(
            c.candidates,
            vec![
                Class::IamUnsigned,
                Class::AuthorizerExplicitDeny,
                Class::AuthorizerCachedDeny
            ]
        );
        // A REST record saying `Forbidden` is no authorizer Deny.
        let rest =
            r#"{"requestId":"x","status":"403","resourcePath":"/p","error-message":"Forbidden"}"#;
        assert!(!run(rest)
            .candidates
            .contains(&Class::AuthorizerExplicitDeny));
        // The route's Lambda authorizer does not cache: the explicit Deny.
        let cfg = ConfigFacts {
            method_auth_type: Some(AuthType::Custom),
            authorizer_ttl_s: Some(0),
            ..Default::default()
        };
        let c = run_with(&mut AccessParser::new(None), &line, &cfg);
        assert_eq!(c.class, Some(Class::AuthorizerExplicitDeny), "{c:?}");
    }

    #[test]
    fn an_unknown_route_is_no_denial_and_an_authorizer_500_is() {
        let c = run(&http("Jd2wQgcWoAMEbxQ=", "-", 404, "Not Found", "-"));
        assert!(!c.denied, "{c:?}");
        let c = run(&http(
            "Jd2wOjmeIAMEbkg=",
            "DELETE /orders/{orderId}",
            500,
            "Internal Server Error",
            "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response",
        ));
        assert_eq!(c.class, Some(Class::AuthorizerConfigurationError), "{c:?}");
        // REST-only classes never fit a record with a route key.
        let c = run(&http(
            "Jd2wSiOdIAMEbPg=",
            "GET /orders",
            429,
            "Too Many Requests",
            "-",
        ));
        assert_eq!(c.candidates, vec![Class::Throttled]);
    }

    #[test]
    fn the_console_http_clf_format_reads_the_route_key() {
        // FORMATS.md §3.2: the route key holds a space, so the request part reads
        // "GET GET /pets HTTP/1.1".
        let f = format::compile(
            "http-clf",
            r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId"#,
        )
        .unwrap();
        let mut p = AccessParser::new(Some(std::sync::Arc::new(f)));
        let line = r#"198.51.100.23 - - [03/Nov/2025:09:00:04 +0000] "GET GET /pets HTTP/1.1" 401 26 Jd2wEh8LoAMEb7Q="#;
        let Parsed::Record(r) = p.parse(line, Origin::default()).unwrap() else {
            panic!()
        };
        assert_eq!(r.get(Var::RouteKey), Some("GET /pets"));
        assert_eq!(r.request_id(), "Jd2wEh8LoAMEb7Q=");
        // With the route's JWT authorizer known, the gateway's 401 is the JWT authorizer's;
        // CLF cannot tell it from the backend's own 401.
        let cfg = ConfigFacts {
            method_auth_type: Some(AuthType::Jwt),
            ..Default::default()
        };
        let c = run_with(&mut p, line, &cfg);
        assert_eq!(
            c.candidates,
            vec![Class::JwtUnauthorized, Class::BackendDenied],
            "{c:?}"
        );
    }
}
