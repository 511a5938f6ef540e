//! The join: all records about one request come together under the request key
//! (api_id, stage, request_id), and authorizer invocations are tied to requests, best link
//! first (DESIGN.md "join"). Also decides where the authorizer's log covers a request, so
//! that the classifier may read the absence of an invocation as evidence.
//!
//! Input order is the run's file order, so the result does not depend on thread count.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{Invocation, MatchMethod};
use crate::records::access::AccessRecord;
use crate::records::execution::ExecFacts;
use crate::records::vars::Var;

/// A request with what was joined to it.
#[derive(Debug)]
pub struct Joined {
    /// The request's access record (the smallest origin among identical duplicates).
    pub access: AccessRecord,
    /// Index of the joined invocation in [`JoinOutput::invocations`] and the link.
    pub invocation: Option<(usize, MatchMethod)>,
    /// The authorizer's log covers the request and shows no invocation that could be its own.
    pub authorizer_log_covers: bool,
    /// What the execution log says about the request.
    pub exec: Option<ExecFacts>,
}

/// What the join produced.
#[derive(Debug, Default)]
pub struct JoinOutput {
    /// One entry per request.
    pub requests: Vec<Joined>,
    /// Every invocation, merged across files and routes, sorted by Lambda request id.
    pub invocations: Vec<Invocation>,
    /// Per invocation: the matched request id and link.
    pub invocation_links: Vec<Option<(String, MatchMethod)>>,
    /// The same record seen twice (two files, two export routes): counted once.
    pub duplicate_records: u64,
    /// Records that share a request key but differ (client-chosen or
    /// `UUID_REPLACED_INVALID_REQUEST_ID` ids): all kept.
    pub conflicting_duplicate_ids: u64,
    /// Invocations seen in more than one place, merged.
    pub duplicate_invocations: u64,
}

/// Is `b` the same api/stage as `a`, where an unknown side matches anything?
fn compatible(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// Joins access records (in run order) with invocation parts and execution-log facts (in run
/// order). A request the execution log knows but no access record names becomes a request of
/// its own.
pub fn join(
    access: Vec<AccessRecord>,
    invocation_parts: Vec<Invocation>,
    exec_parts: Vec<(String, ExecFacts)>,
) -> JoinOutput {
    let mut out = JoinOutput::default();

    // 1. Requests: one per key; identical records or a shared extended id are one request.
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::with_capacity(access.len());
    let mut requests: Vec<AccessRecord> = Vec::with_capacity(access.len());
    'records: for rec in access {
        let id = rec.request_id().to_string();
        if let Some(idxs) = by_id.get(&id) {
            for &i in idxs {
                let prev = &requests[i];
                if !compatible(prev.api_id(), rec.api_id())
                    || !compatible(prev.stage(), rec.stage())
                {
                    continue;
                }
                let same_ext = matches!(
                    (prev.get(Var::ExtendedRequestId), rec.get(Var::ExtendedRequestId)),
                    (Some(a), Some(b)) if a == b
                );
                if prev.content_hash == rec.content_hash || same_ext {
                    out.duplicate_records += 1;
                    if rec.origin < prev.origin {
                        requests[i] = rec;
                    }
                    continue 'records;
                }
            }
            out.conflicting_duplicate_ids += 1;
        }
        by_id.entry(id).or_default().push(requests.len());
        requests.push(rec);
    }

    // 1b. Execution-log facts: merge per (request id, api/stage), attach to the request with
    // that key, or stand for a request the access log does not have.
    let mut merged: BTreeMap<(String, Option<(String, String)>), ExecFacts> = BTreeMap::new();
    for (id, f) in exec_parts {
        match merged.entry((id, f.api_stage.clone())) {
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(f),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(f);
            }
        }
    }
    let mut exec: Vec<Option<ExecFacts>> = Vec::new();
    exec.resize_with(requests.len(), || None);
    for ((id, api_stage), f) in merged {
        let (api, stage) = match &api_stage {
            Some((a, s)) => (Some(a.as_str()), Some(s.as_str())),
            None => (None, None),
        };
        let found = by_id.get(&id).and_then(|idxs| {
            idxs.iter().copied().find(|&i| {
                compatible(requests[i].api_id(), api) && compatible(requests[i].stage(), stage)
            })
        });
        match found {
            Some(i) => match &mut exec[i] {
                Some(e) => e.merge(f),
                slot @ None => *slot = Some(f),
            },
            None => {
                let mut rec = AccessRecord::from_execution(
                    &id,
                    f.extended_request_id.as_deref(),
                    f.method_and_path
                        .as_ref()
                        .map(|(m, p)| (m.as_str(), p.as_str())),
                    f.origin,
                );
                rec.log_time_ms = f.first_time_ms;
                rec.group_api = api_stage.map(|(a, s)| (a.into(), s.into()));
                by_id.entry(id).or_default().push(requests.len());
                requests.push(rec);
                exec.push(Some(f));
            }
        }
    }

    // 2. Invocations: merge parts by Lambda request id.
    let mut invs: BTreeMap<String, Invocation> = BTreeMap::new();
    for part in invocation_parts {
        match invs.get_mut(&part.lambda_request_id) {
            Some(existing) => {
                out.duplicate_invocations += 1;
                existing.merge(part);
            }
            None => {
                invs.insert(part.lambda_request_id.clone(), part);
            }
        }
    }
    let invocations: Vec<Invocation> = invs.into_values().collect();
    let inv_index: HashMap<&str, usize> = invocations
        .iter()
        .enumerate()
        .map(|(i, v)| (v.lambda_request_id.as_str(), i))
        .collect();
    let mut logged: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, v) in invocations.iter().enumerate() {
        if let Some(r) = &v.logged_request_id {
            logged.entry(r.as_str()).or_default().push(i);
        }
    }

    // 3. Links, best first; one invocation serves one request.
    let mut links: Vec<Option<(usize, MatchMethod)>> = vec![None; requests.len()];
    let mut taken: Vec<Option<(String, MatchMethod)>> = vec![None; invocations.len()];
    for (ri, rec) in requests.iter().enumerate() {
        if let Some(lid) = rec.get(Var::AuthorizerRequestId) {
            if let Some(&ii) = inv_index.get(lid) {
                if taken[ii].is_none() {
                    links[ri] = Some((ii, MatchMethod::AuthorizerRequestId));
                    taken[ii] = Some((
                        rec.request_id().to_string(),
                        MatchMethod::AuthorizerRequestId,
                    ));
                }
            }
        }
    }
    for (ri, rec) in requests.iter().enumerate() {
        if links[ri].is_some() || rec.is_dash(Var::AuthorizerRequestId) {
            continue;
        }
        let Some(cands) = logged.get(rec.request_id()) else {
            continue;
        };
        let fits: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&ii| taken[ii].is_none())
            .filter(|&ii| {
                let v = &invocations[ii];
                compatible(v.logged_api_id.as_deref(), rec.api_id())
                    && compatible(v.logged_stage.as_deref(), rec.stage())
            })
            .collect();
        match fits.as_slice() {
            [ii] => {
                links[ri] = Some((*ii, MatchMethod::LoggedRequestContext));
                taken[*ii] = Some((
                    rec.request_id().to_string(),
                    MatchMethod::LoggedRequestContext,
                ));
            }
            [] => {}
            many => {
                for &ii in many {
                    taken[ii] = Some((rec.request_id().to_string(), MatchMethod::Ambiguous));
                }
            }
        }
    }

    // 3b. The inferred link for authorizers that never see the request id (TOKEN): same route,
    // the invocation starting just after the request, one to one.
    infer_links(&requests, &exec, &invocations, &mut links, &mut taken);

    // 4. Coverage: which function logs serve which route, learned from exact links, and
    // the span each function's log covers.
    let fn_key = |v: &Invocation| {
        v.function_name
            .clone()
            .unwrap_or_else(|| format!("file#{}", v.origin.file))
    };
    let route = |r: &AccessRecord| {
        (
            r.api_id().map(str::to_string),
            r.stage().map(str::to_string),
            r.get(Var::HttpMethod).map(str::to_string),
            r.get(Var::ResourcePath).map(str::to_string),
        )
    };
    let mut route_fns: HashMap<_, BTreeSet<String>> = HashMap::new();
    for (ri, l) in links.iter().enumerate() {
        if let Some((ii, m)) = l {
            if m.is_exact() {
                route_fns
                    .entry(route(&requests[ri]))
                    .or_default()
                    .insert(fn_key(&invocations[*ii]));
            }
        }
    }
    let mut span: HashMap<String, (i64, i64)> = HashMap::new();
    let mut unmatched_starts: HashMap<String, Vec<i64>> = HashMap::new();
    for (ii, v) in invocations.iter().enumerate() {
        let Some(t) = v.start_time_ms else { continue };
        let e = span.entry(fn_key(v)).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
        if taken[ii].is_none() {
            unmatched_starts.entry(fn_key(v)).or_default().push(t);
        }
    }
    unmatched_starts
        .values_mut()
        .for_each(|v| v.sort_unstable());

    let covers = |rec: &AccessRecord| -> bool {
        let Some((t, _)) = rec.request_time() else {
            return false;
        };
        let Some(fns) = route_fns.get(&route(rec)) else {
            return false;
        };
        fns.iter().all(|f| {
            let inside = span.get(f).is_some_and(|(a, b)| *a <= t && t <= *b);
            // An unmatched invocation starting just after the request could be its own.
            let near = unmatched_starts.get(f).is_some_and(|starts| {
                let lo = starts.partition_point(|s| *s < t - 2_000);
                starts.get(lo).is_some_and(|s| *s <= t + 30_000)
            });
            inside && !near
        })
    };

    out.requests = requests
        .into_iter()
        .zip(links)
        .zip(exec)
        .map(|((access, invocation), exec)| {
            let authorizer_log_covers = invocation.is_none() && covers(&access);
            Joined {
                access,
                invocation,
                authorizer_log_covers,
                exec,
            }
        })
        .collect();
    out.invocation_links = taken;
    out.invocations = invocations;
    out
}

/// `(api, stage, METHOD, actual path)` of a `methodArn`
/// (`arn:aws:execute-api:region:account:api/stage/METHOD/path…`).
fn parse_method_arn(arn: &str) -> Option<(&str, &str, &str, String)> {
    let resource = arn
        .strip_prefix("arn:aws:execute-api:")?
        .splitn(3, ':')
        .nth(2)?;
    let mut it = resource.splitn(4, '/');
    let (api, stage, method) = (it.next()?, it.next()?, it.next()?);
    Some((api, stage, method, format!("/{}", it.next().unwrap_or(""))))
}

/// Whether an actual path fits a resource template (`/payments/{paymentId}`, `{proxy+}`).
fn template_matches(template: &str, path: &str) -> bool {
    let mut t = template.trim_matches('/').split('/');
    let mut p = path.trim_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(_)) if ts.starts_with('{') && ts.ends_with("+}") => return true,
            (Some(ts), Some(ps)) if ts == ps || (ts.starts_with('{') && ts.ends_with('}')) => {}
            _ => return false,
        }
    }
}

/// How long after a request (ms) its authorizer invocation may start: the gateway's own
/// latency before the call, the cold start's init time, and the request time's precision.
const INFER_WINDOW_MS: i64 = 1_000;

fn infer_links(
    requests: &[AccessRecord],
    exec: &[Option<ExecFacts>],
    invocations: &[Invocation],
    links: &mut [Option<(usize, MatchMethod)>],
    taken: &mut [Option<(String, MatchMethod)>],
) {
    use crate::records::execution::Fact;
    // Invocations open for an inferred link, by (method), with their parsed ARN.
    let open: Vec<(usize, (&str, &str, &str, String), i64)> = invocations
        .iter()
        .enumerate()
        .filter(|(i, _)| taken[*i].is_none())
        .filter_map(|(i, v)| {
            let arn = parse_method_arn(v.method_arn.as_deref()?)?;
            Some((i, arn, v.start_time_ms?))
        })
        .collect();
    if open.is_empty() {
        return;
    }
    let mut req_cands: Vec<Vec<usize>> = vec![Vec::new(); requests.len()];
    let mut inv_cands: HashMap<usize, Vec<usize>> = HashMap::new();
    for (ri, rec) in requests.iter().enumerate() {
        if links[ri].is_some() {
            continue;
        }
        // Only requests known to have invoked the authorizer.
        let invoked = rec.get(Var::AuthorizerRequestId).is_some()
            || rec.get(Var::AuthorizerIntegrationStatus).is_some()
            || exec[ri]
                .as_ref()
                .is_some_and(|e| e.has(Fact::AuthorizerInvoked));
        let Some((t, precision)) = rec.request_time() else {
            continue;
        };
        if !invoked {
            continue;
        }
        let slack = if precision == "s" { 1_000 } else { 0 };
        let method = rec.get(Var::HttpMethod);
        for (ii, (api, stage, m, path), start) in &open {
            let init = invocations[*ii].init_duration_ms.unwrap_or(0.0).ceil() as i64;
            let in_time = *start >= t && *start <= t + slack + INFER_WINDOW_MS + init;
            let same_route = compatible(rec.api_id(), Some(api))
                && compatible(rec.stage(), Some(stage))
                && method.is_none_or(|x| x == *m)
                && match (rec.get(Var::ResourcePath), rec.get(Var::Path)) {
                    (Some(tpl), _) => template_matches(tpl, path),
                    (None, Some(actual)) => actual.ends_with(path.as_str()),
                    (None, None) => false,
                };
            if in_time && same_route {
                req_cands[ri].push(*ii);
                inv_cands.entry(*ii).or_default().push(ri);
            }
        }
    }
    for (ri, cands) in req_cands.iter().enumerate() {
        if let [ii] = cands.as_slice() {
            if inv_cands.get(ii).map(Vec::len) == Some(1) {
                links[ri] = Some((*ii, MatchMethod::InferredTimeRoute));
                taken[*ii] = Some((
                    requests[ri].request_id().to_string(),
                    MatchMethod::InferredTimeRoute,
                ));
            }
        }
    }
    // An invocation several requests fit is ambiguous and not used.
    for (ii, reqs) in inv_cands {
        if reqs.len() > 1 && taken[ii].is_none() {
            taken[ii] = Some((
                requests[reqs[0]].request_id().to_string(),
                MatchMethod::Ambiguous,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_arns_and_templates() {
        let (api, stage, m, p) = parse_method_arn(
            "arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/POST/payments/pay_7Yx3dNqB/refunds",
        )
        .unwrap();
        assert_eq!(
            (api, stage, m, p.as_str()),
            (
                "k3vq8zt1pw",
                "live",
                "POST",
                "/payments/pay_7Yx3dNqB/refunds"
            )
        );
        assert!(template_matches("/payments/{paymentId}/refunds", &p));
        assert!(!template_matches("/payments/{paymentId}", &p));
        assert!(template_matches("/{proxy+}", "/a/b/c"));
        assert!(template_matches("/", "/"));
        assert_eq!(
            parse_method_arn("arn:aws:execute-api:r:a:api/stage/GET/")
                .unwrap()
                .3,
            "/"
        );
        assert!(parse_method_arn("nonsense").is_none());
    }
}
