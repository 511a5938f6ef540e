//! The join: all records about one request come together under the request key
//! (api_id, stage, request_id), and authorizer invocations are tied to requests, best link
//! first (DESIGN.md "join"). Also decides where the authorizer's log covers a request, so
//! that the classifier may read the absence of an invocation as evidence.
//!
//! Input order is the run's file order, so the result does not depend on thread count.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Hash maps with foldhash (fixed seed): several times faster than SipHash on short keys,
/// and the join's keys come from logs, not from an adversary choosing collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

use crate::idindex::IdIndex;
use crate::intern::intern;
use crate::invstore::{BodyRef, IdKey, InvocationHead, InvocationRef, InvocationStore};
use crate::model::{Chunked, Invocation, MatchMethod};
use crate::records::access::AccessRecord;
use crate::records::execution::ExecFacts;
use crate::records::vars::Var;
use crate::spill::SpillError;

/// A request after deduplication, with what its execution log says: the unit the join's
/// shards hold (and spill).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// The request's access record (the smallest origin among identical duplicates), or one
    /// made from the execution log when the access log does not have the request.
    pub access: AccessRecord,
    /// What the execution log says about the request.
    pub exec: Option<ExecFacts>,
}

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
    /// Every invocation, merged across files and routes, in run order.
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

/// Joins access records with invocation parts and execution-log facts, all in memory: the
/// whole join over one shard. The pipeline runs the same steps shard by shard
/// ([`dedupe`], then a [`Linker`]).
pub fn join(
    access: Vec<AccessRecord>,
    invocation_parts: Vec<Invocation>,
    exec_parts: Vec<(String, ExecFacts)>,
) -> JoinOutput {
    let d = dedupe(access, exec_parts);
    let store = InvocationStore::in_memory();
    let mut batch = crate::invstore::BodyBatch::default();
    invocation_parts.iter().for_each(|v| batch.push(v));
    // In memory, neither adding nor reading can fail.
    let heads = store.add(&mut batch).unwrap_or_default();
    let mut linker = Linker::new(heads.into(), &store).unwrap_or_else(|e| panic!("{e}"));
    linker.link_exact(0, &d.requests);
    if linker.needs_inference().unwrap_or_else(|e| panic!("{e}")) {
        linker.count_inferred(0, d.requests.iter().enumerate().map(|(i, r)| (i as u32, r)));
    }
    linker.settle();
    let requests = d
        .requests
        .into_iter()
        .enumerate()
        .map(|(i, r)| linker.joined(0, i, r))
        .collect();
    let l = linker.finish();
    JoinOutput {
        requests,
        invocations: l
            .invocations
            .iter()
            .map(|h| store.get(h.body).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
        invocation_links: l
            .links
            .into_iter()
            .map(|l| l.map(|(id, m)| (id.to_string(), m)))
            .collect(),
        duplicate_records: d.duplicate_records,
        conflicting_duplicate_ids: d.conflicting_duplicate_ids,
        duplicate_invocations: l.duplicate_invocations,
    }
}

/// The requests of one shard, deduplicated.
#[derive(Debug, Default)]
pub struct Deduped {
    /// One per request, in run order (origin), execution-only requests last.
    pub requests: Vec<Request>,
    /// The same record seen twice (two files, two export routes): counted once.
    pub duplicate_records: u64,
    /// Records that share a request key but differ: all kept.
    pub conflicting_duplicate_ids: u64,
}

/// One request per key: identical records or a shared extended id are one request; then
/// execution-log facts, merged per (request id, api/stage), are attached to the request with
/// that key or stand for a request the access log does not have. Every record of a request
/// id must be in the same call (the shards split by request id). The result does not depend
/// on the order of the input.
pub fn dedupe(mut access: Vec<AccessRecord>, mut exec_parts: Vec<(String, ExecFacts)>) -> Deduped {
    let mut out = Deduped::default();
    // Run order (origin), sorting indices rather than moving the records about.
    let mut order: Vec<(crate::model::Origin, u32)> = access
        .iter()
        .enumerate()
        .map(|(i, r)| (r.origin, i as u32))
        .collect();
    order.sort_unstable();
    let mut slots: Vec<Option<AccessRecord>> = access.drain(..).map(Some).collect();
    exec_parts.sort_by(|a, b| a.1.origin.cmp(&b.1.origin).then_with(|| a.0.cmp(&b.0)));
    let mut by_id = IdIndex::with_capacity(slots.len());
    let mut requests: Vec<AccessRecord> = Vec::with_capacity(slots.len());
    'records: for rec in order.iter().filter_map(|&(_, i)| slots[i as usize].take()) {
        let mut seen = false;
        // Oldest first, as the requests were added (collecting nothing allocates nothing).
        let mut same: Vec<usize> = by_id.get(rec.request_id(), &requests).collect();
        same.reverse();
        if !same.is_empty() {
            seen = true;
            for i in same {
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
        }
        if seen {
            out.conflicting_duplicate_ids += 1;
        }
        by_id.push(rec.request_id());
        requests.push(rec);
    }
    drop(slots);

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
        let mut same: Vec<usize> = by_id.get(&id, &requests).collect();
        same.reverse();
        let found = same.into_iter().find(|&i| {
            compatible(requests[i].api_id(), api) && compatible(requests[i].stage(), stage)
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
                rec.group_api =
                    api_stage.map(|(a, s)| (crate::intern::name(&a), crate::intern::name(&s)));
                by_id.push(&id);
                requests.push(rec);
                exec.push(Some(f));
            }
        }
    }
    out.requests = requests
        .into_iter()
        .zip(exec)
        .map(|(access, exec)| Request { access, exec })
        .collect();
    out
}

/// Where a request is: (shard, index in the shard's deduplicated requests).
type ReqKey = (u32, u32);

/// Who took an invocation.
#[derive(Debug, Clone)]
struct Taken {
    request_id: IdKey,
    method: MatchMethod,
}

/// The first request an open invocation fits, while counting inferred links.
#[derive(Debug, Clone)]
struct Fit {
    key: ReqKey,
    request_id: IdKey,
    /// How many invocations that request fits.
    candidates: usize,
    /// The request's time is the execution log's authorizer call (the
    /// `x-amzn-lambda-integration-tag` line), not its request time.
    tagged: bool,
}

/// An invocation open for an inferred link: (start, index, (api, stage, method, path) of its
/// method ARN).
/// The API, stage and method are shared (few distinct), the path is the invocation's own.
type OpenInvocation = (i64, usize, (Arc<str>, Arc<str>, Arc<str>, Box<str>));

type Route = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Ties invocations to requests, best link first, one invocation to one request, over the
/// shards of a run: [`Linker::link_exact`] over every shard, then (for authorizers that
/// never see the request id) [`Linker::count_inferred`] over every shard and
/// [`Linker::settle`], then [`Linker::joined`] per request. Its state grows with the
/// invocations, not with the requests.
pub struct Linker<'s> {
    /// The invocations' heads, until [`Linker::settle`] keeps only what the rows need.
    invocations: Chunked<InvocationHead>,
    /// What stays of each invocation after [`Linker::settle`].
    settled: Chunked<InvocationRef>,
    /// Their bodies: read for method ARNs, written for merged invocations.
    store: &'s InvocationStore,
    /// Invocations by Lambda request id (unique after the merge).
    by_lambda: IdIndex,
    /// Invocations by the API request id they logged.
    logged: IdIndex,
    taken: Vec<Option<Taken>>,
    link_of: HashMap<ReqKey, (u32, MatchMethod)>,
    /// The functions each route is known to use, by [`route_hash`] (routes compared in full
    /// on lookup, so a request is looked up without building its route).
    route_fns: HashMap<u64, Vec<(Route, BTreeSet<String>)>>,
    /// Open invocations with a method ARN, by start time: (start, index, parsed ARN).
    open: Vec<OpenInvocation>,
    max_init_ms: i64,
    open_ready: bool,
    fits: HashMap<usize, (u32, Fit)>,
    /// By shard: the indexes of the requests an inferred link could be for (no exact link,
    /// the authorizer invoked, a time), noted by [`Linker::link_exact`] while the shard is
    /// in memory, so that the inference pass decodes only those.
    inference_rows: Vec<Vec<u32>>,
    span: HashMap<String, (i64, i64)>,
    unmatched_starts: HashMap<String, Vec<i64>>,
    dropped: Vec<bool>,
    duplicate_invocations: u64,
}

/// For a request known to have invoked the authorizer and with a time: the time an
/// invocation for it would start after, the slack of that time, and the execution log's
/// authorizer call time when there is one (then the time itself).
fn inference_probe(r: &Request) -> Option<(i64, i64, Option<i64>)> {
    use crate::records::execution::Fact;
    let rec = &r.access;
    let invoked = rec.get(Var::AuthorizerRequestId).is_some()
        || rec.get(Var::AuthorizerIntegrationStatus).is_some()
        || r.exec
            .as_ref()
            .is_some_and(|e| e.has(Fact::AuthorizerInvoked));
    if !invoked {
        return None;
    }
    // The execution log's authorizer call is the sharper time: the invocation starts a few
    // milliseconds after it.
    let call = r.exec.as_ref().and_then(|e| e.authorizer_call_ms);
    let (t, slack) = match (call, rec.request_time()) {
        (Some(c), _) => (c, 0),
        (None, Some((t, precision))) => (t, if precision == "s" { 1_000 } else { 0 }),
        (None, None) => return None,
    };
    Some((t, slack, call))
}

fn fn_key(v: &InvocationHead) -> String {
    v.names
        .function_name
        .as_deref()
        .map_or_else(|| format!("file#{}", v.file), str::to_string)
}

/// The fields of [`route`], borrowed.
fn route_of(r: &AccessRecord) -> [Option<&str>; 4] {
    [
        r.api_id(),
        r.stage(),
        r.get(Var::HttpMethod),
        r.get(Var::ResourcePath),
    ]
}

fn route_hash(r: &AccessRecord) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(route_of(r))
}

fn same_route(route: &Route, r: &AccessRecord) -> bool {
    [
        route.0.as_deref(),
        route.1.as_deref(),
        route.2.as_deref(),
        route.3.as_deref(),
    ] == route_of(r)
}

fn route(r: &AccessRecord) -> Route {
    (
        r.api_id().map(str::to_string),
        r.stage().map(str::to_string),
        r.get(Var::HttpMethod).map(str::to_string),
        r.get(Var::ResourcePath).map(str::to_string),
    )
}

impl<'s> Linker<'s> {
    /// Merges invocation parts (in run order) by Lambda request id: a part from another file
    /// counts as a duplicate; a later part of the same file (a log read out of time order,
    /// whose invocation was handed over before its last line) does not.
    pub fn new(
        invocation_parts: Chunked<InvocationHead>,
        store: &'s InvocationStore,
    ) -> Result<Self, SpillError> {
        let mut duplicate_invocations = 0;
        // In place: each invocation seen again (in run order) is merged into its first part,
        // the merged invocation stored anew, and the part removed.
        let mut invocations = invocation_parts;
        let mut by_lambda = IdIndex::with_capacity(invocations.len());
        let mut merged: Vec<bool> = Vec::new();
        let mut buf = [0u8; 36];
        for i in 0..invocations.len() {
            let found = {
                let invs = &invocations;
                let id = invs[i].lambda_request_id.as_str(&mut buf);
                by_lambda
                    .get_where(id, |j| invs[j].lambda_request_id.is(id))
                    .next()
            };
            match found {
                Some(f) => {
                    let mut first = store.get(invocations[f].body)?;
                    let part = store.get(invocations[i].body)?;
                    if part.origin.file != first.origin.file {
                        duplicate_invocations += 1;
                    }
                    first.merge(part);
                    invocations[f] = store.put(&first)?;
                    merged.resize(invocations.len(), false);
                    merged[i] = true;
                }
                None => by_lambda.insert(i, invocations[i].lambda_request_id.as_str(&mut buf)),
            }
        }
        if !merged.is_empty() {
            // Removing the merged parts moves the others: they are indexed again.
            let mut k = 0;
            invocations.retain(|_| {
                k += 1;
                !merged[k - 1]
            });
            by_lambda = IdIndex::with_capacity(invocations.len());
            for v in invocations.iter() {
                by_lambda.push(v.lambda_request_id.as_str(&mut buf));
            }
        }
        let mut logged = IdIndex::with_capacity(0);
        for (i, v) in invocations.iter().enumerate() {
            if let Some(r) = &v.logged_request_id {
                logged.insert(i, r.as_str(&mut buf));
            }
        }
        let n = invocations.len();
        Ok(Linker {
            invocations,
            store,
            by_lambda,
            logged,
            taken: vec![None; n],
            settled: Chunked::default(),
            link_of: HashMap::default(),
            route_fns: HashMap::default(),
            open: Vec::new(),
            max_init_ms: 0,
            open_ready: false,
            fits: HashMap::default(),
            inference_rows: Vec::new(),
            span: HashMap::default(),
            unmatched_starts: HashMap::default(),
            dropped: vec![false; n],
            duplicate_invocations,
        })
    }

    /// Where the body of invocation `ii` (of a [`Joined`] request) is (after
    /// [`Linker::settle`]).
    pub fn body(&self, ii: usize) -> BodyRef {
        self.settled[ii].body
    }

    fn take(&mut self, ii: usize, key: ReqKey, rec: &AccessRecord, method: MatchMethod) {
        self.taken[ii] = Some(Taken {
            request_id: IdKey::new(rec.request_id()),
            method,
        });
        if method != MatchMethod::Ambiguous {
            self.link_of.insert(key, (ii as u32, method));
            if method.is_exact() {
                let f = fn_key(&self.invocations[ii]);
                let routes = self.route_fns.entry(route_hash(rec)).or_default();
                match routes.iter_mut().find(|(r, _)| same_route(r, rec)) {
                    Some((_, fns)) => {
                        fns.insert(f);
                    }
                    None => routes.push((route(rec), BTreeSet::from([f]))),
                }
            }
        }
    }

    /// The exact links of one shard's requests: the access log's authorizer request id, then
    /// the request id the function logged (unique fit, else every fit is ambiguous).
    pub fn link_exact(&mut self, shard: u32, requests: &[Request]) {
        for (ri, r) in requests.iter().enumerate() {
            let rec = &r.access;
            let Some(lid) = rec.get(Var::AuthorizerRequestId) else {
                continue;
            };
            let invocations = &self.invocations;
            let found = self
                .by_lambda
                .get_where(lid, |i| invocations[i].lambda_request_id.is(lid))
                .next();
            if let Some(ii) = found {
                if self.taken[ii].is_none() {
                    self.take(
                        ii,
                        (shard, ri as u32),
                        rec,
                        MatchMethod::AuthorizerRequestId,
                    );
                }
            }
        }
        for (ri, r) in requests.iter().enumerate() {
            let rec = &r.access;
            let key = (shard, ri as u32);
            if self.link_of.contains_key(&key) || rec.is_dash(Var::AuthorizerRequestId) {
                continue;
            }
            let invocations = &self.invocations;
            let id = rec.request_id();
            let mut fits: Vec<usize> = self
                .logged
                .get_where(id, |i| {
                    invocations[i]
                        .logged_request_id
                        .as_ref()
                        .is_some_and(|r| r.is(id))
                })
                .filter(|&ii| self.taken[ii].is_none())
                .filter(|&ii| {
                    let v = &self.invocations[ii];
                    compatible(v.names.logged_api_id.as_deref(), rec.api_id())
                        && compatible(v.names.logged_stage.as_deref(), rec.stage())
                })
                .collect();
            // In invocation order, as they were indexed.
            fits.reverse();
            match fits.as_slice() {
                [ii] => self.take(*ii, key, rec, MatchMethod::LoggedRequestContext),
                [] => {}
                many => {
                    for &ii in many {
                        self.take(ii, key, rec, MatchMethod::Ambiguous);
                    }
                }
            }
        }
        let rows: Vec<u32> = (0..requests.len() as u32)
            .filter(|&ri| {
                !self.link_of.contains_key(&(shard, ri))
                    && inference_probe(&requests[ri as usize]).is_some()
            })
            .collect();
        let s = shard as usize;
        if self.inference_rows.len() <= s {
            self.inference_rows.resize_with(s + 1, Vec::new);
        }
        self.inference_rows[s] = rows;
    }

    /// By shard, the indexes of the requests [`Linker::count_inferred`] would consider (as
    /// [`Linker::link_exact`] left them): the inference pass needs only those. Taken once.
    pub fn take_inference_rows(&mut self) -> Vec<Vec<u32>> {
        std::mem::take(&mut self.inference_rows)
    }

    /// Whether any invocation is left for an inferred link (call after every
    /// [`Linker::link_exact`] and before [`Linker::count_inferred`]); when not,
    /// [`Linker::count_inferred`] can be skipped. Reads the method ARNs of the invocations
    /// left from their bodies.
    pub fn needs_inference(&mut self) -> Result<bool, SpillError> {
        if !self.open_ready {
            self.open_ready = true;
            let mut open = Vec::new();
            for (i, v) in self.invocations.iter().enumerate() {
                let Some(start) = v.start_time_ms() else {
                    continue;
                };
                if self.taken[i].is_some() || !v.has_method_arn {
                    continue;
                }
                let body = self.store.get(v.body)?;
                if let Some((a, s, m, p)) = body.method_arn.as_deref().and_then(parse_method_arn) {
                    open.push((start, i, (intern(a), intern(s), intern(m), p.into())));
                }
            }
            self.open = open;
            self.open.sort_unstable_by_key(|o| (o.0, o.1));
            self.max_init_ms = self
                .open
                .iter()
                .map(|(_, i, _)| self.invocations[*i].init_ceil_ms())
                .max()
                .unwrap_or(0);
        }
        Ok(!self.open.is_empty())
    }

    /// Counts, for requests of one shard (with their indexes in it), which open invocations
    /// each request without a link could be (same route, starting just after the request):
    /// the inferred link for authorizers that never see the request id (TOKEN). Requests an
    /// inferred link cannot be for are passed over, so any superset of the shard's
    /// [`Linker::take_inference_rows`], in index order, gives the same counts.
    pub fn count_inferred<'r>(
        &mut self,
        shard: u32,
        requests: impl IntoIterator<Item = (u32, &'r Request)>,
    ) {
        debug_assert!(self.open_ready, "needs_inference first");
        if self.open.is_empty() {
            return;
        }
        for (ri, r) in requests {
            let rec = &r.access;
            let key = (shard, ri);
            if self.link_of.contains_key(&key) {
                continue;
            }
            let Some((t, slack, call)) = inference_probe(r) else {
                continue;
            };
            let method = rec.get(Var::HttpMethod);
            let lo = self.open.partition_point(|o| o.0 < t);
            let window = if call.is_some() {
                TAG_WINDOW_MS
            } else {
                INFER_WINDOW_MS
            };
            let hi_bound = t + slack + window + self.max_init_ms;
            let mut cands = Vec::new();
            for (start, ii, (api, stage, m, path)) in &self.open[lo..] {
                if *start > hi_bound {
                    break;
                }
                let init = self.invocations[*ii].init_ceil_ms();
                let in_time = *start <= t + slack + window + init;
                let same_route = compatible(rec.api_id(), Some(api))
                    && compatible(rec.stage(), Some(stage))
                    && method.is_none_or(|x| x == &**m)
                    && match (rec.get(Var::ResourcePath), rec.get(Var::Path)) {
                        (Some(tpl), _) => template_matches(tpl, path),
                        (None, Some(actual)) => actual.ends_with(&**path),
                        (None, None) => false,
                    };
                if in_time && same_route {
                    cands.push(*ii);
                }
            }
            for &ii in &cands {
                let e = self.fits.entry(ii).or_insert_with(|| {
                    (
                        0,
                        Fit {
                            key,
                            request_id: IdKey::new(rec.request_id()),
                            candidates: cands.len(),
                            tagged: call.is_some(),
                        },
                    )
                });
                e.0 += 1;
            }
        }
    }

    /// Decides the inferred links (an invocation exactly one request fits, and that request
    /// fits only it; several requests: ambiguous, not used) and what each function's log
    /// covers. Call after [`Linker::count_inferred`] over every shard.
    pub fn settle(&mut self) {
        let mut fits: Vec<(usize, (u32, Fit))> =
            std::mem::take(&mut self.fits).into_iter().collect();
        fits.sort_unstable_by_key(|(ii, _)| *ii);
        for (ii, (n, fit)) in fits {
            if self.taken[ii].is_some() {
                continue;
            }
            let method = if n == 1 && fit.candidates == 1 {
                if fit.tagged {
                    MatchMethod::ExecutionIntegrationTag
                } else {
                    MatchMethod::InferredTimeRoute
                }
            } else if n > 1 {
                MatchMethod::Ambiguous
            } else {
                continue;
            };
            self.taken[ii] = Some(Taken {
                request_id: fit.request_id,
                method,
            });
            if method != MatchMethod::Ambiguous {
                self.link_of.insert(fit.key, (ii as u32, method));
            }
        }
        self.open = Vec::new();
        for (ii, v) in self.invocations.iter().enumerate() {
            let Some(t) = v.start_time_ms() else { continue };
            let e = self.span.entry(fn_key(v)).or_insert((t, t));
            e.0 = e.0.min(t);
            e.1 = e.1.max(t);
            if self.taken[ii].is_none() {
                self.unmatched_starts.entry(fn_key(v)).or_default().push(t);
            }
        }
        self.unmatched_starts
            .values_mut()
            .for_each(|v| v.sort_unstable());
        // The links are made: only what the rows need of each invocation is kept.
        self.by_lambda = IdIndex::default();
        self.logged = IdIndex::default();
        self.settled = std::mem::take(&mut self.invocations).map(InvocationRef::from);
    }

    /// Whether the authorizer's log covers the request: the route is known (exact links) to
    /// use functions whose log spans the request time and shows no unmatched invocation that
    /// could be its own.
    fn covers(&self, rec: &AccessRecord) -> bool {
        let Some((t, _)) = rec.request_time() else {
            return false;
        };
        let Some((_, fns)) = self
            .route_fns
            .get(&route_hash(rec))
            .and_then(|routes| routes.iter().find(|(r, _)| same_route(r, rec)))
        else {
            return false;
        };
        fns.iter().all(|f| {
            let inside = self.span.get(f).is_some_and(|(a, b)| *a <= t && t <= *b);
            // An unmatched invocation starting just after the request could be its own.
            let near = self.unmatched_starts.get(f).is_some_and(|starts| {
                let lo = starts.partition_point(|s| *s < t - 2_000);
                starts.get(lo).is_some_and(|s| *s <= t + 30_000)
            });
            inside && !near
        })
    }

    /// The request at `(shard, index)` with its link and coverage (after [`Linker::settle`]).
    pub fn joined(&self, shard: u32, index: usize, r: Request) -> Joined {
        let invocation = self
            .link_of
            .get(&(shard, index as u32))
            .map(|&(ii, m)| (ii as usize, m));
        let authorizer_log_covers = invocation.is_none() && self.covers(&r.access);
        Joined {
            access: r.access,
            invocation,
            authorizer_log_covers,
            exec: r.exec,
        }
    }

    /// The run's filter dropped this request: its invocation goes with it.
    pub fn drop_request(&mut self, j: &Joined) {
        if let Some((ii, _)) = j.invocation {
            self.dropped[ii] = true;
        }
    }

    /// The invocations and what became of each.
    pub fn finish(self) -> LinkerOutput {
        LinkerOutput {
            links: self
                .taken
                .into_iter()
                .map(|t| t.map(|t| (t.request_id, t.method)))
                .collect(),
            invocations: self.settled,
            dropped: self.dropped,
            duplicate_invocations: self.duplicate_invocations,
        }
    }
}

/// The invocations of a run after linking.
#[derive(Debug, Default)]
pub struct LinkerOutput {
    /// What stays of the merged invocations, in run order (their bodies in the linker's
    /// store).
    pub invocations: Chunked<InvocationRef>,
    /// Per invocation: the request id it was tied to, and how (or `Ambiguous`).
    pub links: Vec<Option<(IdKey, MatchMethod)>>,
    /// Per invocation: its request was dropped by the run's filter.
    pub dropped: Vec<bool>,
    /// Invocations merged because they were seen twice.
    pub duplicate_invocations: u64,
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

/// How long after the execution log's authorizer call (the `x-amzn-lambda-integration-tag`
/// line) its invocation may start, cold starts' init time aside: the call is logged as it is
/// sent, and Lambda logs START as the handler begins.
const TAG_WINDOW_MS: i64 = 200;

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_call(id: &str, t: i64, line: u64) -> (String, ExecFacts) {
        let mut log = crate::records::execution::ExecutionLog::new();
        let origin = crate::model::Origin {
            file: 1,
            line,
            offset: 0,
        };
        let msg = format!(
            "({id}) Endpoint request headers: {{x-amzn-lambda-integration-tag={id}, Authorization=****************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************************b1c2d3, X-Amz-Date=20251014T141152Z, x-amzn-apigateway-api-id=k3vq8zt1pw, X-Amz-Source-Arn=arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/authorizers/elkw5b, User-Agent=AmazonAPIGateway_k3vq8zt1pw, X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMiJHMEUCIQ [TRUNCATED]"
        );
        assert!(log.push(&msg, Some(t), origin, Some(("k3vq8zt1pw", "live"))));
        log.finish().pop().unwrap()
    }

    fn access(id: &str, line: u64) -> AccessRecord {
        // Second precision, no authorizer request id: the time alone cannot tell them apart.
        let msg = format!(
            r#"{{"requestId":"{id}","ip":"203.0.113.9","requestTime":"14/Oct/2025:14:11:52 +0000","httpMethod":"GET","resourcePath":"/payouts","status":"403","protocol":"HTTP/1.1","responseLength":"60"}}"#
        );
        let origin = crate::model::Origin {
            file: 0,
            line,
            offset: 0,
        };
        match crate::records::access::AccessParser::new(None)
            .parse(&msg, origin)
            .unwrap()
        {
            crate::records::access::Parsed::Record(mut r) => {
                r.group_api = Some(("k3vq8zt1pw".into(), "live".into()));
                *r
            }
            _ => panic!("not access"),
        }
    }

    fn invocation(lambda: &str, start: i64) -> Invocation {
        Invocation {
            lambda_request_id: lambda.into(),
            function_name: Some("payments-token-authorizer".into()),
            start_time_ms: Some(start),
            method_arn: Some(
                "arn:aws:execute-api:us-east-2:210987654321:k3vq8zt1pw/live/GET/payouts".into(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn the_integration_tag_line_links_the_invocation_that_starts_right_after_it() {
        let t = crate::time::parse_iso("2025-10-14T14:11:52.100Z").unwrap();
        let reqs = vec![access("req-a", 1), access("req-b", 2)];
        let invs = vec![invocation("lam-1", t + 6), invocation("lam-2", t + 356)];
        // Without the execution log nothing shows the requests invoked the authorizer, and
        // their second-precision times would fit both invocations: nothing is linked.
        let out = join(reqs.clone(), invs.clone(), Vec::new());
        assert!(out.requests.iter().all(|j| j.invocation.is_none()));
        assert!(out.invocation_links.iter().all(Option::is_none));
        // With it: each call is followed by one invocation.
        let exec = vec![exec_call("req-a", t, 10), exec_call("req-b", t + 350, 20)];
        let out = join(reqs, invs, exec);
        let link = |id: &str| {
            let j = out
                .requests
                .iter()
                .find(|j| j.access.request_id() == id)
                .unwrap();
            j.invocation
                .map(|(ii, m)| (out.invocations[ii].lambda_request_id.clone(), m))
        };
        assert_eq!(
            link("req-a"),
            Some(("lam-1".to_string(), MatchMethod::ExecutionIntegrationTag))
        );
        assert_eq!(
            link("req-b"),
            Some(("lam-2".to_string(), MatchMethod::ExecutionIntegrationTag))
        );
    }

    #[test]
    fn the_exact_pass_notes_just_the_requests_an_inferred_link_could_be_for() {
        let t = crate::time::parse_iso("2025-10-14T14:11:52.100Z").unwrap();
        // req-c shows no sign of invoking the authorizer: no inferred link can be for it.
        let reqs = vec![access("req-a", 1), access("req-b", 2), access("req-c", 3)];
        let invs = vec![invocation("lam-1", t + 6), invocation("lam-2", t + 356)];
        let exec = vec![exec_call("req-a", t, 10), exec_call("req-b", t + 350, 20)];
        let whole = join(reqs.clone(), invs.clone(), exec.clone());
        let d = dedupe(reqs, exec);
        let store = InvocationStore::in_memory();
        let mut batch = crate::invstore::BodyBatch::default();
        invs.iter().for_each(|v| batch.push(v));
        let heads = store.add(&mut batch).unwrap();
        let mut linker = Linker::new(heads.into(), &store).unwrap();
        linker.link_exact(0, &d.requests);
        let rows = linker.take_inference_rows();
        let noted: Vec<&str> = rows[0]
            .iter()
            .map(|&i| d.requests[i as usize].access.request_id())
            .collect();
        assert_eq!(noted, ["req-a", "req-b"]);
        // Counting only those links what counting every request links.
        assert!(linker.needs_inference().unwrap());
        linker.count_inferred(0, rows[0].iter().map(|&i| (i, &d.requests[i as usize])));
        linker.settle();
        let links: Vec<_> = d
            .requests
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let j = linker.joined(0, i, r);
                (j.access.request_id().to_string(), j.invocation)
            })
            .collect();
        let expected: Vec<_> = whole
            .requests
            .iter()
            .map(|j| (j.access.request_id().to_string(), j.invocation))
            .collect();
        assert_eq!(links, expected);
        assert_eq!(links.iter().filter(|(_, l)| l.is_some()).count(), 2);
    }

    #[test]
    fn invocations_merge_in_run_order_and_link_by_lambda_or_logged_request_id() {
        let t = crate::time::parse_iso("2025-10-14T14:11:52.100Z").unwrap();
        let with_id = |id: &str, lambda: &str, line| {
            let mut r = access(id, line);
            let msg = format!(
                r#"{{"requestId":"{id}","authorizerRequestId":"{lambda}","requestTime":"14/Oct/2025:14:11:52 +0000","httpMethod":"GET","resourcePath":"/payouts","status":"403"}}"#
            );
            if let crate::records::access::Parsed::Record(p) =
                crate::records::access::AccessParser::new(None)
                    .parse(&msg, r.origin)
                    .unwrap()
            {
                r = *p;
            }
            r
        };
        let logged = |lambda: &str, req: &str, start| Invocation {
            logged_request_id: Some(req.into()),
            ..invocation(lambda, start)
        };
        // lam-2 is seen twice, in two files: the first part (run order) keeps its fields,
        // the second fills what it lacks.
        let first = Invocation {
            function_name: None,
            principal_id: Some("first".into()),
            ..invocation("lam-2", t + 9)
        };
        let second = Invocation {
            principal_id: Some("second".into()),
            duration_ms: Some(4.0),
            origin: crate::model::Origin {
                file: 1,
                line: 1,
                offset: 0,
            },
            ..invocation("lam-2", t + 5)
        };
        let invs = vec![
            invocation("lam-9", t),
            first,
            logged("lam-5", "req-c", t + 20),
            second,
            logged("lam-6", "req-c", t + 30),
            logged("lam-7", "req-d", t + 40),
        ];
        let reqs = vec![
            with_id("req-a", "lam-2", 1),
            access("req-c", 2),
            access("req-d", 3),
        ];
        let out = join(reqs, invs, Vec::new());
        assert_eq!(out.duplicate_invocations, 1);
        let ids: Vec<&str> = out
            .invocations
            .iter()
            .map(|v| v.lambda_request_id.as_str())
            .collect();
        // In run order, lam-2's second part merged into its first.
        assert_eq!(ids, ["lam-9", "lam-2", "lam-5", "lam-6", "lam-7"]);
        let lam2 = &out.invocations[1];
        assert_eq!(lam2.principal_id.as_deref(), Some("first"));
        assert_eq!(lam2.duration_ms, Some(4.0));
        assert_eq!(lam2.start_time_ms, Some(t + 5));
        assert_eq!(
            lam2.function_name.as_deref(),
            Some("payments-token-authorizer")
        );
        // lam-2 by the access log's id; req-c was logged by two invocations, so neither is its
        // link; lam-9 by none.
        let links: Vec<Option<(&str, MatchMethod)>> = out
            .invocation_links
            .iter()
            .map(|l| l.as_ref().map(|(id, m)| (id.as_str(), *m)))
            .collect();
        assert_eq!(
            links,
            [
                None,
                Some(("req-a", MatchMethod::AuthorizerRequestId)),
                Some(("req-c", MatchMethod::Ambiguous)),
                Some(("req-c", MatchMethod::Ambiguous)),
                Some(("req-d", MatchMethod::LoggedRequestContext)),
            ]
        );
    }

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
