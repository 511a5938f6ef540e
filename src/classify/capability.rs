//! What an access-log format can decide (`gatelog check-format`): for every pair of classes,
//! the facts that tell them apart, read off the decision table; a format tells two classes
//! apart when it carries one of those variables. The same table drives the classifier, so the
//! answer cannot drift from what `analyze` does.

use std::collections::BTreeSet;

use super::rules::{Cond, Rule, RULES};
use super::taxonomy::Class;
use crate::records::vars::{Var, VarSet};

/// A fact that can separate two classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Separator {
    /// An access-log variable.
    Var(Var),
    /// The authorizer Lambda's own log (its decision, or whether it ran).
    AuthorizerLog,
    /// The stage's execution log (INFO level).
    ExecutionLog,
}

impl Separator {
    /// How the separator reads in advice.
    pub fn describe(self) -> String {
        match self {
            Separator::Var(v) => format!("$context.{}", v.name()),
            Separator::AuthorizerLog => "the authorizer Lambda's log".into(),
            Separator::ExecutionLog => "the stage's execution log (INFO)".into(),
        }
    }
}

/// Whether two conditions on the same fact cannot both hold.
fn contradict(a: &Cond, b: &Cond) -> Option<Vec<Separator>> {
    use Cond::*;
    let vs = |v: Var| Some(vec![Separator::Var(v)]);
    // Any: contradicted when every alternative is; All: when one part is. Alternatives that
    // need an HTTP API record cannot hold in a REST stage's log, the only one checked here.
    let any = |cs: &[Cond], other: &Cond, flip: bool| -> Option<Vec<Separator>> {
        let mut out = Vec::new();
        for c in cs.iter().filter(|c| !needs_http_api(c)) {
            let s = if flip {
                contradict(other, c)
            } else {
                contradict(c, other)
            };
            out.extend(s?);
        }
        Some(out)
    };
    let all = |cs: &[Cond], other: &Cond, flip: bool| -> Option<Vec<Separator>> {
        let out: Vec<Separator> = cs
            .iter()
            .filter_map(|c| {
                if flip {
                    contradict(other, c)
                } else {
                    contradict(c, other)
                }
            })
            .flatten()
            .collect();
        (!out.is_empty()).then_some(out)
    };
    match (a, b) {
        (Any(cs), _) => return any(cs, b, false),
        (_, Any(cs)) => return any(cs, a, true),
        (All(cs), _) => return all(cs, b, false),
        (_, All(cs)) => return all(cs, a, true),
        _ => {}
    }
    match (*a, *b) {
        (Dash(x), Set(y)) | (Set(x), Dash(y)) if x == y => vs(x),
        (Dash(x), Eq(y, _)) | (Eq(y, _), Dash(x)) if x == y => vs(x),
        (Eq(x, p), Eq(y, q)) if x == y && p != q => vs(x),
        (Eq(x, p), NotEq(y, q)) | (NotEq(y, q), Eq(x, p)) if x == y && p == q => vs(x),
        (EqOrDash(x, p), Eq(y, q)) | (Eq(y, q), EqOrDash(x, p)) if x == y && p != q => vs(x),
        (EqOrDash(x, _), Set(y)) | (Set(y), EqOrDash(x, _)) if x == y => None,
        (MsgHas(p), MsgLacks(q)) | (MsgLacks(q), MsgHas(p)) if p.contains(q) || q.contains(p) => {
            vs(Var::ErrorMessage)
        }
        (MsgHas(p), MsgHas(q)) if !p.contains(q) && !q.contains(p) => vs(Var::ErrorMessage),
        (Has(x, p), Lacks(y, q)) | (Lacks(y, q), Has(x, p))
            if x == y && super::contains_ignore_case(p, q) =>
        {
            vs(x)
        }
        (Dash(x), Has(y, _)) | (Has(y, _), Dash(x)) if x == y => vs(x),
        (HttpApi(p), HttpApi(q)) if p != q => vs(Var::RouteKey),
        (Invoked(p), Invoked(q)) if p != q => Some(vec![
            Separator::Var(Var::AuthorizerRequestId),
            Separator::Var(Var::AuthorizerIntegrationStatus),
            Separator::AuthorizerLog,
            Separator::ExecutionLog,
        ]),
        (DecisionIn(p), DecisionIn(q)) if !p.iter().any(|d| q.contains(d)) => {
            Some(vec![Separator::AuthorizerLog])
        }
        (ExecHas(p), ExecLacks(q)) | (ExecLacks(q), ExecHas(p)) if p == q => {
            Some(vec![Separator::ExecutionLog])
        }
        (ExecHas(p), ExecHas(q)) | (ExecAny(&[p, ..]), ExecHas(q)) if p != q => {
            Some(vec![Separator::ExecutionLog])
        }
        (ExecSilent, ExecHas(_) | ExecAny(_)) | (ExecHas(_) | ExecAny(_), ExecSilent) => {
            Some(vec![Separator::ExecutionLog])
        }
        _ => None,
    }
}

/// Whether a condition holds only for HTTP API records.
fn needs_http_api(c: &Cond) -> bool {
    match *c {
        Cond::HttpApi(true) => true,
        Cond::All(cs) => cs.iter().any(needs_http_api),
        Cond::Any(cs) => cs.iter().all(needs_http_api),
        _ => false,
    }
}

/// Everything that can tell `a` from `b`.
pub fn separators(a: &Rule, b: &Rule) -> BTreeSet<Separator> {
    let mut out = BTreeSet::new();
    let shared = a
        .response_types
        .iter()
        .any(|t| b.response_types.contains(t));
    let both_none = a.response_types.is_empty() && b.response_types.is_empty();
    let rt_disjoint = !(shared || both_none);
    if rt_disjoint {
        out.insert(Separator::Var(Var::ErrorResponseType));
    }
    if !a.statuses.iter().any(|s| b.statuses.contains(s)) {
        out.insert(Separator::Var(Var::Status));
    }
    for ca in a.conds.iter().chain(a.requires) {
        for cb in b.conds.iter().chain(b.requires) {
            if let Some(s) = contradict(ca, cb) {
                out.extend(s);
            }
        }
    }
    out
}

/// One class's verdict for a format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The class.
    pub class: Class,
    /// Classes the format alone cannot tell it from.
    pub confused_with: Vec<Class>,
    /// Variables that would tell them apart (one per confusable pair, the most decisive first).
    pub add: Vec<Var>,
}

/// For every class REST access logs can show, what a format carrying `vars` decides.
pub fn check(vars: VarSet) -> Vec<Verdict> {
    // Classes that need HTTP-API or Cognito evidence are left out of the REST check.
    fn special(c: &Cond) -> bool {
        match *c {
            Cond::Set(Var::RouteKey) | Cond::MsgHas(_) => true,
            Cond::Any(cs) | Cond::All(cs) => cs.iter().any(special),
            _ => false,
        }
    }
    let classes: Vec<&Rule> = RULES
        .iter()
        .filter(|r| !r.requires.iter().any(special))
        .filter(|r| !r.requires.iter().any(|c| matches!(c, Cond::DecisionIn(_))))
        .collect();
    classes
        .iter()
        .map(|a| {
            let mut confused = Vec::new();
            let mut add: BTreeSet<Var> = BTreeSet::new();
            for b in &classes {
                if a.class == b.class {
                    continue;
                }
                let seps = separators(a, b);
                let told = seps
                    .iter()
                    .any(|s| matches!(s, Separator::Var(v) if vars.has(*v)));
                if !told {
                    confused.push(b.class);
                    // The most decisive variable first: the response type, else the first
                    // access-log variable that separates them.
                    if let Some(v) = seps.iter().find_map(|s| match s {
                        Separator::Var(v) => Some(*v),
                        _ => None,
                    }) {
                        add.insert(if seps.contains(&Separator::Var(Var::ErrorResponseType)) {
                            Var::ErrorResponseType
                        } else {
                            v
                        });
                    }
                }
            }
            Verdict {
                class: a.class,
                confused_with: confused,
                add: add.into_iter().collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::format::{compile, KNOWN};

    fn vars_of(name: &str) -> VarSet {
        let f = KNOWN.iter().find(|(n, _)| *n == name).unwrap().1;
        compile(name, f).unwrap().vars
    }

    fn verdict(vs: &[Verdict], c: Class) -> &Verdict {
        vs.iter().find(|v| v.class == c).unwrap()
    }

    #[test]
    fn the_sample_enhanced_format_tells_every_rest_class_apart() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/samples/formats.txt"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("{\"requestId\":\"$context.requestId\",\"extendedRequestId\""))
            .unwrap();
        let vars = compile("enhanced-sample", line).unwrap().vars;
        for v in check(vars) {
            // An IAM caller's "User: arn:… is not authorized to perform …" without the
            // "because no identity-/resource-based policy allows" suffix fits both; every other
            // pair is told apart by a variable the sample format carries.
            let allowed: &[Class] = match v.class {
                Class::ResourcePolicyImplicitDeny => &[Class::IamPolicyDeny],
                Class::IamPolicyDeny => &[Class::ResourcePolicyImplicitDeny],
                _ => &[],
            };
            assert_eq!(v.confused_with, allowed, "{:?}", v.class);
        }
    }

    #[test]
    fn console_clf_cannot_tell_a_waf_block_from_an_api_key_refusal() {
        let vs = check(vars_of("console-clf"));
        let w = verdict(&vs, Class::WafBlock);
        assert!(w.confused_with.contains(&Class::ApiKeyInvalid));
        assert!(w.add.contains(&Var::ErrorResponseType));
        // resourcePath `-` tells the unknown route from everything else.
        let m = verdict(&vs, Class::MissingAuthenticationToken);
        assert!(!m.confused_with.contains(&Class::WafBlock));
    }

    #[test]
    fn troubleshooting_format_separates_invoked_from_cached() {
        let vs = check(vars_of("troubleshooting"));
        let e = verdict(&vs, Class::AuthorizerExplicitDeny);
        assert!(!e.confused_with.contains(&Class::AuthorizerCachedDeny));
        assert!(e.confused_with.contains(&Class::AuthorizerPolicyMismatch));
        assert!(e.add.contains(&Var::ErrorResponseType) || e.add.contains(&Var::ErrorMessage));
    }
}
