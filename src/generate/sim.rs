//! The request simulation: draws each request's outcome, resolves it against the authorizer
//! caches, walks it through API Gateway's phases with a millisecond clock, and renders every
//! line it causes (execution log, authorizer Lambda log, access log) into the reorder queue.
//!
//! Outcomes follow the DESIGN.md taxonomy and the "Modelled values" of `samples/README.md`.
//! Caching is modelled for real: per stage and authorizer, an identity's policy is cached for
//! 300 s after an invocation, and a request within that window is a cache hit (no Lambda
//! lines, `authorizer-requestId -`, latency 1–3 ms). A class that needs cache state that does
//! not exist yet (a cached Deny with no Deny in the cache) falls back to a class that creates
//! it, so the realised counts, not the drawn ones, are the truth.

use std::collections::{HashMap, VecDeque};

use super::format::{
    extended_request_id, put, put_b64, put_centi, put_clf, put_hex, put_iso_ms, put_iso_s,
    put_masked, put_slash_date, put_u, uuid,
};
use super::rng::{Rng, ALNUM, B64URL};
use super::sink::{put_rand_hex, Flag, Queue, Registry};
use super::world::{
    Auth, Route, World, ACCOUNT, ACCOUNT_MASKED, ACME, BACKEND_FN, CACHE_TTL_MS, GLOBEX, G_LAMBDA,
    REGION, REQ_FN, ROUTES, STAGES, START_MS, TOK_FN, UNKNOWN_PATHS,
};

/// The denial classes REST APIs produce in this scenario (DESIGN.md taxonomy names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    WafBlock,
    ResourcePolicyExplicitDeny,
    MissingAuthenticationToken,
    IamSignatureInvalid,
    IamTokenExpired,
    AuthorizerExplicitDeny,
    AuthorizerCachedDeny,
    AuthorizerPolicyMismatch,
    AuthorizerIdentityMissing,
    AuthorizerUnauthorized,
    AuthorizerConfigurationError,
    IamPolicyDeny,
    ApiKeyInvalid,
    Throttled,
    QuotaExceeded,
    BackendDenied,
}

/// Every class, in phase order (the order of the README table).
pub(crate) const CLASSES: [Class; 16] = [
    Class::WafBlock,
    Class::ResourcePolicyExplicitDeny,
    Class::MissingAuthenticationToken,
    Class::IamSignatureInvalid,
    Class::IamTokenExpired,
    Class::AuthorizerExplicitDeny,
    Class::AuthorizerCachedDeny,
    Class::AuthorizerPolicyMismatch,
    Class::AuthorizerIdentityMissing,
    Class::AuthorizerUnauthorized,
    Class::AuthorizerConfigurationError,
    Class::IamPolicyDeny,
    Class::ApiKeyInvalid,
    Class::Throttled,
    Class::QuotaExceeded,
    Class::BackendDenied,
];

impl Class {
    /// snake_case name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::WafBlock => "waf_block",
            Class::ResourcePolicyExplicitDeny => "resource_policy_explicit_deny",
            Class::MissingAuthenticationToken => "missing_authentication_token",
            Class::IamSignatureInvalid => "iam_signature_invalid",
            Class::IamTokenExpired => "iam_token_expired",
            Class::AuthorizerExplicitDeny => "authorizer_explicit_deny",
            Class::AuthorizerCachedDeny => "authorizer_cached_deny",
            Class::AuthorizerPolicyMismatch => "authorizer_policy_mismatch",
            Class::AuthorizerIdentityMissing => "authorizer_identity_missing",
            Class::AuthorizerUnauthorized => "authorizer_unauthorized",
            Class::AuthorizerConfigurationError => "authorizer_configuration_error",
            Class::IamPolicyDeny => "iam_policy_deny",
            Class::ApiKeyInvalid => "api_key_invalid",
            Class::Throttled => "throttled",
            Class::QuotaExceeded => "quota_exceeded",
            Class::BackendDenied => "backend_denied",
        }
    }

    /// The phase the class belongs to.
    pub(crate) fn phase(self) -> &'static str {
        match self {
            Class::WafBlock => "waf",
            Class::ResourcePolicyExplicitDeny => "resource_policy",
            Class::MissingAuthenticationToken => "routing",
            Class::IamSignatureInvalid | Class::IamTokenExpired => "authentication",
            Class::AuthorizerExplicitDeny
            | Class::AuthorizerCachedDeny
            | Class::AuthorizerPolicyMismatch
            | Class::AuthorizerIdentityMissing
            | Class::AuthorizerUnauthorized
            | Class::AuthorizerConfigurationError => "authorizer",
            Class::IamPolicyDeny => "authorization",
            Class::ApiKeyInvalid => "api_key",
            Class::Throttled | Class::QuotaExceeded => "throttling",
            Class::BackendDenied => "integration",
        }
    }

    fn index(self) -> usize {
        CLASSES.iter().position(|&c| c == self).expect("listed")
    }
}

/// Draw weights (per 10,000 draws): success, then `CLASSES` in order. A throttled draw is a
/// burst of three requests (two pass, the third is refused).
const SUCCESS_WEIGHT: u32 = 7500;
const CLASS_WEIGHTS: [u32; 16] = [
    200, 120, 200, 100, 100, 150, 200, 180, 200, 200, 80, 120, 150, 130, 120, 150,
];
/// Successful-call route mix, in `ROUTES` order.
const ROUTE_WEIGHTS: [u32; 8] = [12, 24, 14, 12, 6, 8, 4, 20];

const SIG_MSG: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const EXPIRED_MSG: &str = "The security token included in the request is expired";
const EXPLICIT_MSG: &str = "User is not authorized to access this resource with an explicit deny";
const IMPLICIT_MSG: &str = "User is not authorized to access this resource";
const NOT_AUTHORIZED_OP: &str = "The client is not authorized to perform this operation.";
const CRASH_MSG: &str = "Cannot read properties of undefined (reading 'split')";
const CRASH_STACK: &str = "[\"TypeError: Cannot read properties of undefined (reading 'split')\",\"    at parseMerchantToken (file:///var/task/index.mjs:14:27)\",\"    at Runtime.handler (file:///var/task/index.mjs:38:22)\"]";
const UNAUTH_STACK: &str = "[\"Error: Unauthorized\",\"    at verifyDashboardJwt (file:///var/task/index.mjs:41:15)\",\"    at Runtime.handler (file:///var/task/index.mjs:22:24)\"]";
const BETA_UA: &str = "northwind-checkout/4.3.0-beta.1";
const NO_AUTH_UA: &str = "woocommerce-payments-gateway/3.9.2";
/// Byte offsets at which the three malformed access lines are cut.
const MALFORMED_CUTS: [usize; 3] = [120, 480, 900];

/// What a request is addressed to.
#[derive(Debug, Clone, Copy)]
enum Target {
    Route(Route, [u8; 12]),
    Unknown(usize),
}

/// An IAM principal that signed the request.
#[derive(Debug, Clone, Copy)]
enum IamWho {
    /// The settlement batch job, session named after its start (epoch seconds).
    Batch(i64),
    Analyst(u8),
    Support(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IamOutcome {
    Ok,
    SigInvalid,
    Expired,
    PolicyDeny,
}

/// Who the authorizer sees.
#[derive(Debug, Clone, Copy)]
enum Ident {
    Merchant(u16),
    User(u16),
    /// A dashboard user with an expired JWT (masked tail, token length).
    Expired(u16, [u8; 6], u16),
    /// The beta checkout build sending `Authorization: Bearer` with no token.
    BrokenBearer(u16),
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Allow,
    Deny,
    Unauthorized,
    Crash,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Missing,
    Invoke(Decision),
    Hit { deny: bool, covers: bool },
}

#[derive(Debug, Clone, Copy)]
struct Authz {
    /// 0 = REQUEST, 1 = TOKEN.
    kind: usize,
    ident: Ident,
    mode: Mode,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    NotRequired,
    Missing,
    Unknown([u8; 6]),
    Ok(usize),
    Throttled(usize),
    Quota(usize),
}

/// A fully resolved request: everything the phases need to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) t0: i64,
    stage: usize,
    target: Target,
    ip: u32,
    ua: &'static str,
    waf_block: bool,
    rp_deny: bool,
    iam: Option<(Option<IamWho>, IamOutcome)>,
    authz: Option<Authz>,
    key: Key,
    /// `None` = MOCK integration; else the backend's (status, body length).
    backend: Option<(u16, u64)>,
    class: Option<Class>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    expires: i64,
    deny: bool,
    route: Route,
    id: [u8; 12],
}

#[derive(Debug, Clone, Copy, Default)]
struct Ring {
    items: [u16; 16],
    len: usize,
    pos: usize,
}

impl Ring {
    fn push(&mut self, v: u16) {
        self.items[self.pos] = v;
        self.pos = (self.pos + 1) % self.items.len();
        self.len = (self.len + 1).min(self.items.len());
    }
    fn pick(&self, rng: &mut Rng) -> Option<u16> {
        (self.len > 0).then(|| self.items[rng.below(self.len as u64) as usize])
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct FnState {
    stream: Option<u32>,
}

/// What the access record of a request says (besides the plan).
#[derive(Debug, Clone, Copy, Default)]
struct Rec {
    who: Option<IamWho>,
    api_key: Option<usize>,
    status: u16,
    len: u64,
    /// `None` = `-`; `Some("")` = the message rendered in `Sim::msg`.
    err: Option<&'static str>,
    err_type: Option<&'static str>,
    waf_status: u16,
    waf_lat: i64,
    /// (status, error, latency)
    authn: Option<(u16, Option<&'static str>, i64)>,
    authorizer: Option<AuthzRec>,
    /// (status, latency); the error is set for 403.
    authorize: Option<(u16, i64)>,
    /// (status, latency, backend request id)
    integ: Option<(u16, i64, Option<[u8; 36]>)>,
    resp_lat: i64,
    invocation: Option<[u8; 36]>,
}

#[derive(Debug, Clone, Copy)]
struct AuthzRec {
    status: u16,
    error: Option<&'static str>,
    latency: i64,
    /// Integration latency when the Lambda was invoked.
    integ_lat: Option<i64>,
    principal: Option<Ident>,
}

/// Running totals for the truth.
#[derive(Debug, Clone, Default)]
pub(crate) struct Acc {
    /// Per stage: requests per class (index 16 = not refused).
    pub(crate) per_class: [[u64; 17]; 2],
    /// Per stage: requests per status, for 200, 201, 401, 403, 429, 500.
    pub(crate) per_status: [[u64; 6]; 2],
    /// Per authorizer (REQUEST, TOKEN).
    pub(crate) invocations: [u64; 2],
    pub(crate) cold_starts: [u64; 2],
    pub(crate) function_errors: [u64; 2],
    pub(crate) cache_hits: [u64; 2],
    pub(crate) lambda_streams: [u64; 2],
    pub(crate) unredacted_tokens: u64,
}

/// Statuses counted in `Acc::per_status`.
pub(crate) const STATUSES: [u16; 6] = [200, 201, 401, 403, 429, 500];

/// The simulation state: the clock, the authorizer caches, recently active identities (which
/// is what makes cache hits happen) and the current Lambda log stream of each function.
pub(crate) struct Sim<'w> {
    w: &'w World,
    rng: Rng,
    issued: u64,
    t: i64,
    mixed: bool,
    pending: VecDeque<Plan>,
    cache: [HashMap<u64, Entry>; 4],
    recent_m: [Ring; 2],
    recent_u: [Ring; 2],
    fns: [FnState; 2],
    pub(crate) acc: Acc,
    malformed_at: [u64; 3],
    malformed_done: usize,
    unrelated_at: [u64; 2],
    unrelated_done: usize,
    last_prod: Vec<u8>,
    last_ts: i64,
    line: Vec<u8>,
    msg: Vec<u8>,
    path: Vec<u8>,
    arn: Vec<u8>,
}

/// The `(requestId) ` prefix and one execution-log line.
#[inline]
fn x(q: &mut Queue, stream: u32, rid: &[u8; 36], t: i64, f: impl FnOnce(&mut Vec<u8>)) {
    let b = q.push(t, stream, Flag::Normal);
    b.push(b'(');
    b.extend_from_slice(rid);
    b.extend_from_slice(b") ");
    f(b);
}

/// A Lambda application line: `time TAB requestId TAB LEVEL TAB message`.
#[inline]
fn app(
    q: &mut Queue,
    stream: u32,
    t: i64,
    lid: &[u8; 36],
    level: &str,
    f: impl FnOnce(&mut Vec<u8>),
) {
    let b = q.push(t, stream, Flag::Normal);
    put_iso_ms(b, t);
    b.push(b'\t');
    b.extend_from_slice(lid);
    b.push(b'\t');
    put(b, level);
    b.push(b'\t');
    f(b);
}

fn put_ip(b: &mut Vec<u8>, ip: u32) {
    put_u(b, (ip >> 24) as u64);
    b.push(b'.');
    put_u(b, (ip >> 16 & 0xff) as u64);
    b.push(b'.');
    put_u(b, (ip >> 8 & 0xff) as u64);
    b.push(b'.');
    put_u(b, (ip & 0xff) as u64);
}

impl<'w> Sim<'w> {
    pub(crate) fn new(w: &'w World, seed: u64, n: u64, mixed: bool) -> Sim<'w> {
        Sim {
            w,
            rng: Rng::new(seed, 2),
            issued: 0,
            t: START_MS,
            mixed,
            pending: VecDeque::new(),
            cache: Default::default(),
            recent_m: Default::default(),
            recent_u: Default::default(),
            fns: Default::default(),
            acc: Acc::default(),
            malformed_at: [n / 10, n / 2, n * 9 / 10],
            malformed_done: 0,
            unrelated_at: [n / 3, n * 2 / 3],
            unrelated_done: 0,
            last_prod: Vec::new(),
            last_ts: START_MS,
            line: Vec::with_capacity(4096),
            msg: Vec::with_capacity(512),
            path: Vec::with_capacity(128),
            arn: Vec::with_capacity(256),
        }
    }

    fn id(&mut self, prefix: &[u8; 4]) -> [u8; 12] {
        let mut id = [0u8; 12];
        id[..4].copy_from_slice(prefix);
        self.rng.fill(ALNUM, &mut id[4..]);
        id
    }

    fn live(&self, stage: usize, kind: usize, key: u64, t: i64) -> Option<Entry> {
        self.cache[stage * 2 + kind]
            .get(&key)
            .copied()
            .filter(|e| e.expires > t)
    }

    fn store(&mut self, stage: usize, kind: usize, key: u64, e: Entry) {
        self.cache[stage * 2 + kind].insert(key, e);
    }

    /// The next request's plan; its `t0` is final, so the caller can flush the queue up to it.
    pub(crate) fn next_plan(&mut self) -> Plan {
        self.issued += 1;
        if let Some(mut p) = self.pending.pop_front() {
            self.t += self.rng.irange(45, 95);
            p.t0 = self.t;
            return p;
        }
        self.t += if self.rng.chance(200) {
            self.rng.irange(5, 400)
        } else {
            self.rng.irange(300, 2650)
        };
        let t0 = self.t;
        let stage = if self.rng.chance(850) { 0 } else { 1 };
        let mut weights = [0u32; 17];
        weights[0] = SUCCESS_WEIGHT;
        weights[1..].copy_from_slice(&CLASS_WEIGHTS);
        let drawn = match self.rng.weighted(&weights) {
            0 => None,
            i => Some(CLASSES[i - 1]),
        };
        self.plan(t0, stage, drawn)
    }

    fn base(&self, t0: i64, stage: usize, route: Route, id: [u8; 12], ip: u32) -> Plan {
        Plan {
            t0,
            stage,
            target: Target::Route(route, id),
            ip,
            ua: "-",
            waf_block: false,
            rp_deny: false,
            iam: None,
            authz: None,
            key: Key::NotRequired,
            backend: if route == Route::Health {
                None
            } else {
                Some((route.ok_status(), 0))
            },
            class: None,
        }
    }

    fn route_id(&mut self, route: Route) -> [u8; 12] {
        match route {
            Route::GetPayment | Route::PostRefund => self.id(b"pay_"),
            Route::GetSettlement => self.id(b"stl_"),
            _ => [b'-'; 12],
        }
    }

    fn ok_len(&mut self, route: Route) -> u64 {
        let (lo, hi) = route.ok_len();
        self.rng.range(lo, hi)
    }

    fn pick_merchant(&mut self, stage: usize) -> u16 {
        if let Some(m) = self.recent_m[stage].pick(&mut self.rng) {
            if self.rng.chance(600) {
                return m;
            }
        }
        loop {
            let m = self.rng.below(self.w.merchants.len() as u64) as u16;
            if !self.w.merchants[m as usize].suspended {
                return m;
            }
        }
    }

    fn pick_user(&mut self, stage: usize) -> u16 {
        if let Some(u) = self.recent_u[stage].pick(&mut self.rng) {
            if self.rng.chance(500) {
                return u;
            }
        }
        self.rng.below(self.w.users.len() as u64) as u16
    }

    /// A request that passes every phase (the backend answers with its own status).
    fn success(&mut self, t0: i64, stage: usize, route: Route) -> Plan {
        let id = self.route_id(route);
        let mut p = self.base(t0, stage, route, id, 0);
        match route.auth() {
            Auth::Open => {
                p.ip = super::world::ip(192, 0, 2, 10 + self.rng.below(2) as u8);
            }
            Auth::Request => {
                let m = self.pick_merchant(stage);
                let mer = &self.w.merchants[m as usize];
                p.ip = mer.ip;
                p.ua = mer.ua;
                let key = mer.key;
                let mode = if self.live(stage, 0, key, t0).is_some() {
                    Mode::Hit {
                        deny: false,
                        covers: true,
                    }
                } else {
                    self.store(
                        stage,
                        0,
                        key,
                        Entry {
                            expires: t0 + CACHE_TTL_MS,
                            deny: false,
                            route,
                            id,
                        },
                    );
                    Mode::Invoke(Decision::Allow)
                };
                self.recent_m[stage].push(m);
                p.authz = Some(Authz {
                    kind: 0,
                    ident: Ident::Merchant(m),
                    mode,
                });
            }
            Auth::Token => return self.token_allowed(t0, stage, route, None),
            Auth::Iam => {
                let who = if self.rng.chance(700) {
                    let s = t0 / 1000;
                    IamWho::Batch(s - s % 3600)
                } else {
                    IamWho::Analyst(self.rng.below(3) as u8)
                };
                p.ip = if matches!(who, IamWho::Batch(_)) {
                    super::world::ip(192, 0, 2, 45)
                } else {
                    super::world::ip(192, 0, 2, 60 + self.rng.below(3) as u8)
                };
                p.iam = Some((Some(who), IamOutcome::Ok));
            }
            Auth::ApiKey => {
                let partner = [ACME, 2, 3][self.rng.below(3) as usize];
                p.ip = self.w.partners[partner].ip;
                p.key = Key::Ok(partner);
            }
        }
        if let Some(b) = p.backend.as_mut() {
            b.1 = self.ok_len(route);
        }
        p
    }

    /// A TOKEN-authorizer request whose policy covers its method ARN: either a fresh
    /// invocation, or a cache hit on the same method ARN as the cached policy. `backend`
    /// overrides the backend's answer (backend_denied).
    fn token_allowed(
        &mut self,
        t0: i64,
        stage: usize,
        route: Route,
        backend: Option<(u16, u64)>,
    ) -> Plan {
        let mut u = self.pick_user(stage);
        let mut live = self.live(stage, 1, self.w.users[u as usize].key, t0);
        // A refund must be a fresh invocation or the very refund the policy was cached for.
        for _ in 0..8 {
            match live {
                Some(e) if backend.is_some() && e.route != route => {
                    u = self.rng.below(self.w.users.len() as u64) as u16;
                    live = self.live(stage, 1, self.w.users[u as usize].key, t0);
                }
                _ => break,
            }
        }
        let user = &self.w.users[u as usize];
        let key = user.key;
        let ip = user.ip;
        let (route, id, mode) = match live {
            Some(e) => (
                e.route,
                e.id,
                Mode::Hit {
                    deny: false,
                    covers: true,
                },
            ),
            None => {
                let id = self.route_id(route);
                self.store(
                    stage,
                    1,
                    key,
                    Entry {
                        expires: t0 + CACHE_TTL_MS,
                        deny: false,
                        route,
                        id,
                    },
                );
                (route, id, Mode::Invoke(Decision::Allow))
            }
        };
        self.recent_u[stage].push(u);
        let mut p = self.base(t0, stage, route, id, ip);
        p.authz = Some(Authz {
            kind: 1,
            ident: Ident::User(u),
            mode,
        });
        p.backend = Some(match backend {
            Some(b) if route == Route::PostRefund => b,
            _ => (route.ok_status(), self.ok_len(route)),
        });
        if backend.is_some() && route == Route::PostRefund {
            p.class = Some(Class::BackendDenied);
        }
        p
    }

    fn any_route(&mut self) -> Route {
        ROUTES[self.rng.weighted(&ROUTE_WEIGHTS)]
    }

    /// Resolves a drawn class into a plan, falling back when the cache state does not allow
    /// the class right now.
    fn plan(&mut self, t0: i64, stage: usize, drawn: Option<Class>) -> Plan {
        let Some(class) = drawn else {
            let r = self.any_route();
            return self.success(t0, stage, r);
        };
        let ip4 = super::world::ip;
        let mut p = match class {
            Class::WafBlock => {
                let r = self.any_route();
                let id = self.route_id(r);
                let ip = ip4(203, 0, 113, 199 + self.rng.below(3) as u8);
                let mut p = self.base(t0, stage, r, id, ip);
                p.waf_block = true;
                p
            }
            Class::ResourcePolicyExplicitDeny => {
                let r = *self.rng.pick(&[
                    Route::Health,
                    Route::GetPayment,
                    Route::PostPayment,
                    Route::GetPayouts,
                    Route::PostCharge,
                ]);
                let id = self.route_id(r);
                let ip = ip4(198, 51, 100, self.rng.range(2, 250) as u8);
                let mut p = self.base(t0, stage, r, id, ip);
                p.rp_deny = true;
                p
            }
            Class::MissingAuthenticationToken => {
                let mut p = self.base(t0, stage, Route::Health, [b'-'; 12], 0);
                let i = self.rng.below(UNKNOWN_PATHS.len() as u64) as usize;
                p.target = Target::Unknown(i);
                p.ip = if i == 0 {
                    self.w.partners[ACME].ip
                } else {
                    ip4(203, 0, 113, self.rng.range(200, 250) as u8)
                };
                p
            }
            Class::IamSignatureInvalid | Class::IamTokenExpired | Class::IamPolicyDeny => {
                let r = if self.rng.chance(700) {
                    Route::GetSettlements
                } else {
                    Route::GetSettlement
                };
                let id = self.route_id(r);
                let mut p = self.base(t0, stage, r, id, 0);
                let (who, outcome, ip) = match class {
                    Class::IamSignatureInvalid => {
                        (None, IamOutcome::SigInvalid, ip4(192, 0, 2, 91))
                    }
                    Class::IamTokenExpired => (None, IamOutcome::Expired, ip4(192, 0, 2, 45)),
                    _ => (
                        Some(IamWho::Support(self.rng.below(3) as u8)),
                        IamOutcome::PolicyDeny,
                        ip4(192, 0, 2, 77),
                    ),
                };
                p.ip = ip;
                p.iam = Some((who, outcome));
                p
            }
            Class::ApiKeyInvalid => {
                let mut p = self.base(t0, stage, Route::PostCharge, [b'-'; 12], 0);
                p.ip = ip4(203, 0, 113, self.rng.range(78, 99) as u8);
                p.key = if self.rng.chance(600) {
                    Key::Missing
                } else {
                    let mut tail = [0u8; 6];
                    self.rng.fill(ALNUM, &mut tail);
                    Key::Unknown(tail)
                };
                p
            }
            Class::Throttled => {
                // Acme's burst: within the plan's burst, then one over it.
                let partner = ACME;
                let burst = self.w.plans[self.w.partners[partner].plan]
                    .throttle
                    .map_or(2, |t| t.1);
                let mut first = self.success(t0, stage, Route::PostCharge);
                first.key = Key::Ok(partner);
                first.ip = self.w.partners[partner].ip;
                for _ in 1..burst {
                    let mut again = first;
                    if let Some(b) = again.backend.as_mut() {
                        b.1 = self.ok_len(Route::PostCharge);
                    }
                    self.pending.push_back(again);
                }
                let mut refused = first;
                refused.key = Key::Throttled(partner);
                refused.class = Some(Class::Throttled);
                self.pending.push_back(refused);
                return first;
            }
            Class::QuotaExceeded => {
                let mut p = self.base(t0, stage, Route::PostCharge, [b'-'; 12], 0);
                p.ip = self.w.partners[GLOBEX].ip;
                p.key = Key::Quota(GLOBEX);
                p
            }
            Class::AuthorizerExplicitDeny | Class::AuthorizerCachedDeny => {
                // Suspended merchants: a live cached Deny makes a cached deny, else invoke.
                let suspended: Vec<u16> = (0..self.w.merchants.len() as u16)
                    .filter(|&m| self.w.merchants[m as usize].suspended)
                    .collect();
                let live: Vec<u16> = suspended
                    .iter()
                    .copied()
                    .filter(|&m| {
                        self.live(stage, 0, self.w.merchants[m as usize].key, t0)
                            .is_some_and(|e| e.deny)
                    })
                    .collect();
                let want_cached = class == Class::AuthorizerCachedDeny;
                let (m, cached) = if want_cached && !live.is_empty() {
                    (*self.rng.pick(&live), true)
                } else {
                    let fresh: Vec<u16> = suspended
                        .iter()
                        .copied()
                        .filter(|m| !live.contains(m))
                        .collect();
                    if fresh.is_empty() {
                        (*self.rng.pick(&live), true)
                    } else {
                        (*self.rng.pick(&fresh), false)
                    }
                };
                let r = if self.rng.chance(650) {
                    Route::GetPayment
                } else {
                    Route::PostPayment
                };
                let id = self.route_id(r);
                let mer = &self.w.merchants[m as usize];
                let mut p = self.base(t0, stage, r, id, mer.ip);
                p.ua = mer.ua;
                let key = mer.key;
                p.authz = Some(Authz {
                    kind: 0,
                    ident: Ident::Merchant(m),
                    mode: if cached {
                        Mode::Hit {
                            deny: true,
                            covers: true,
                        }
                    } else {
                        Mode::Invoke(Decision::Deny)
                    },
                });
                if !cached {
                    self.store(
                        stage,
                        0,
                        key,
                        Entry {
                            expires: t0 + CACHE_TTL_MS,
                            deny: true,
                            route: r,
                            id,
                        },
                    );
                }
                p.class = Some(if cached {
                    Class::AuthorizerCachedDeny
                } else {
                    Class::AuthorizerExplicitDeny
                });
                return p;
            }
            Class::AuthorizerPolicyMismatch => {
                // A dashboard user whose cached policy names another method ARN.
                let mut found = None;
                for k in 0..self.recent_u[stage].len {
                    let u = self.recent_u[stage].items[k];
                    if let Some(e) = self.live(stage, 1, self.w.users[u as usize].key, t0) {
                        found = Some((u, e));
                        break;
                    }
                }
                let Some((u, e)) = found else {
                    let r = if self.rng.chance(700) {
                        Route::GetPayouts
                    } else {
                        Route::PostRefund
                    };
                    return self.token_allowed(t0, stage, r, None);
                };
                let (r, id) = if e.route == Route::GetPayouts {
                    (Route::PostRefund, self.id(b"pay_"))
                } else if self.rng.chance(600) {
                    (Route::GetPayouts, [b'-'; 12])
                } else {
                    (Route::PostRefund, self.id(b"pay_"))
                };
                let user = &self.w.users[u as usize];
                let mut p = self.base(t0, stage, r, id, user.ip);
                p.authz = Some(Authz {
                    kind: 1,
                    ident: Ident::User(u),
                    mode: Mode::Hit {
                        deny: false,
                        covers: false,
                    },
                });
                p
            }
            Class::AuthorizerIdentityMissing => {
                let (r, kind) = if self.rng.chance(600) {
                    (
                        if self.rng.chance(650) {
                            Route::GetPayment
                        } else {
                            Route::PostPayment
                        },
                        0,
                    )
                } else {
                    (
                        if self.rng.chance(700) {
                            Route::GetPayouts
                        } else {
                            Route::PostRefund
                        },
                        1,
                    )
                };
                let id = self.route_id(r);
                let ip = ip4(203, 0, 113, self.rng.range(170, 189) as u8);
                let mut p = self.base(t0, stage, r, id, ip);
                p.ua = NO_AUTH_UA;
                p.authz = Some(Authz {
                    kind,
                    ident: Ident::None,
                    mode: Mode::Missing,
                });
                p
            }
            Class::AuthorizerUnauthorized => {
                let u = self.pick_user(stage);
                let r = if self.rng.chance(700) {
                    Route::GetPayouts
                } else {
                    Route::PostRefund
                };
                let id = self.route_id(r);
                let user = &self.w.users[u as usize];
                let mut p = self.base(t0, stage, r, id, user.ip);
                let mut tail = [0u8; 6];
                self.rng.fill(B64URL, &mut tail);
                let len = self.rng.range(290, 330) as u16;
                p.authz = Some(Authz {
                    kind: 1,
                    ident: Ident::Expired(u, tail, len),
                    mode: Mode::Invoke(Decision::Unauthorized),
                });
                p
            }
            Class::AuthorizerConfigurationError => {
                let m = self.pick_merchant(stage);
                let r = if self.rng.chance(500) {
                    Route::GetPayment
                } else {
                    Route::PostPayment
                };
                let id = self.route_id(r);
                let mut p = self.base(t0, stage, r, id, self.w.merchants[m as usize].ip);
                p.ua = BETA_UA;
                p.authz = Some(Authz {
                    kind: 0,
                    ident: Ident::BrokenBearer(m),
                    mode: Mode::Invoke(Decision::Crash),
                });
                p
            }
            Class::BackendDenied => {
                if self.rng.chance(500) {
                    return self.token_allowed(t0, stage, Route::PostRefund, Some((403, 98)));
                }
                // A merchant asking for another merchant's payment: the backend says 403.
                let mut p = self.success(t0, stage, Route::GetPayment);
                p.backend = Some((403, 71));
                p
            }
        };
        p.class = Some(class);
        p
    }

    /// Runs one request through the gateway's phases and renders all its lines.
    pub(crate) fn run(&mut self, p: &Plan, q: &mut Queue, reg: &mut Registry) {
        let w = self.w;
        let rid = uuid(&mut self.rng);
        let ext = extended_request_id(&mut self.rng);
        let trace = (self.rng.next_u64(), self.rng.next_u64() as u32);
        let host = self.rng.below(2) as usize;
        let xs = World::gateway_stream(true, p.stage, host);
        let stage = STAGES[p.stage];
        let mut r = Rec {
            waf_status: 200,
            waf_lat: self.rng.irange(1, 3),
            ..Rec::default()
        };
        self.path.clear();
        let (method, template) = match p.target {
            Target::Route(route, id) => {
                route.put_path(&mut self.path, &id);
                (route.method(), Some(route))
            }
            Target::Unknown(i) => {
                put(&mut self.path, UNKNOWN_PATHS[i].1);
                (UNKNOWN_PATHS[i].0, None)
            }
        };
        let mut t = p.t0 + r.waf_lat;
        let xray = |q: &mut Queue, t: i64| {
            x(q, xs, &rid, t, |b| {
                put(b, "X-ray Tracing ID : Root=1-");
                put_hex(b, (p.t0 / 1000) as u64, 8);
                b.push(b'-');
                put_hex(b, trace.0, 16);
                put_hex(b, trace.1 as u64, 8);
            })
        };
        let mut class = p.class;
        'done: {
            if p.waf_block {
                r.waf_status = 403;
                r.status = 403;
                r.err = Some("Forbidden");
                r.err_type = Some("WAF_FILTERED");
                r.len = 23;
                t += 1;
                break 'done;
            }
            let Some(route) = template else {
                r.status = 403;
                r.err = Some("Missing Authentication Token");
                r.err_type = Some("MISSING_AUTHENTICATION_TOKEN");
                r.len = 42;
                t += self.rng.irange(0, 2);
                break 'done;
            };
            t += self.rng.irange(1, 2);
            x(q, xs, &rid, t, |b| {
                put(b, "Extended Request Id: ");
                b.extend_from_slice(&ext);
            });
            if p.rp_deny {
                let lat = self.rng.irange(1, 2);
                t += lat;
                r.authorize = Some((403, lat));
                self.msg.clear();
                put(&mut self.msg, "User: anonymous is not authorized to perform: execute-api:Invoke on resource: ");
                self.put_resource_arn(p.stage, method, true);
                put(&mut self.msg, " with an explicit deny");
                r.err = Some("");
                r.err_type = Some("ACCESS_DENIED");
                r.status = 403;
                r.len = self.msg.len() as u64 + 14;
                x(q, xs, &rid, t, |b| put(b, NOT_AUTHORIZED_OP));
                xray(q, t);
                break 'done;
            }
            if let Some((who, outcome)) = p.iam {
                let lat = self.rng.irange(2, 7);
                t += lat;
                match outcome {
                    IamOutcome::SigInvalid | IamOutcome::Expired => {
                        let (m, ty) = if outcome == IamOutcome::SigInvalid {
                            (SIG_MSG, "INVALID_SIGNATURE")
                        } else {
                            (EXPIRED_MSG, "EXPIRED_TOKEN")
                        };
                        r.authn = Some((403, Some(m), lat));
                        r.status = 403;
                        r.err = Some(m);
                        r.err_type = Some(ty);
                        r.len = m.len() as u64 + 14;
                        x(q, xs, &rid, t, |b| put(b, m));
                        xray(q, t);
                        break 'done;
                    }
                    IamOutcome::PolicyDeny => {
                        r.authn = Some((200, None, lat));
                        r.who = who;
                        let al = self.rng.irange(1, 2);
                        t += al;
                        r.authorize = Some((403, al));
                        self.msg.clear();
                        put(&mut self.msg, "User: ");
                        let mut m = std::mem::take(&mut self.msg);
                        self.put_user_arn(&mut m, who);
                        self.msg = m;
                        put(
                            &mut self.msg,
                            " is not authorized to perform: execute-api:Invoke on resource: ",
                        );
                        self.put_resource_arn(p.stage, method, true);
                        put(&mut self.msg, " because no identity-based policy allows the execute-api:Invoke action");
                        r.err = Some("");
                        r.err_type = Some("ACCESS_DENIED");
                        r.status = 403;
                        r.len = self.msg.len() as u64 + 14;
                        let msg = &self.msg;
                        x(q, xs, &rid, t, |b| b.extend_from_slice(msg));
                        xray(q, t);
                        break 'done;
                    }
                    IamOutcome::Ok => {
                        r.authn = Some((200, None, lat));
                        r.who = who;
                        let al = self.rng.irange(0, 1);
                        t += al;
                        r.authorize = Some((200, al));
                    }
                }
            }
            if let Some(a) = p.authz {
                t += self.rng.irange(0, 1);
                let ta = t;
                let auth_id = &w.authorizer_ids[a.kind];
                x(q, xs, &rid, t, |b| {
                    put(b, "Starting authorizer: ");
                    put(b, auth_id);
                    put(b, " for request: ");
                    b.extend_from_slice(&rid);
                });
                if a.kind == 1 {
                    let (len, tail) = match a.ident {
                        Ident::User(u) => {
                            let u = &w.users[u as usize];
                            (u.token_len, u.tail)
                        }
                        Ident::Expired(_, tail, len) => (len as usize, tail),
                        _ => (0, [0; 6]),
                    };
                    if len > 0 {
                        x(q, xs, &rid, t, |b| {
                            put(b, "Incoming identity: ");
                            b.resize(b.len() + len - 6, b'*');
                            b.extend_from_slice(&tail);
                        });
                    }
                }
                match a.mode {
                    Mode::Missing => {
                        t += self.rng.irange(0, 1);
                        x(q, xs, &rid, t, |b| {
                            put(b, "Unauthorized request: ");
                            b.extend_from_slice(&rid);
                        });
                        r.authorizer = Some(AuthzRec {
                            status: 401,
                            error: Some("Unauthorized"),
                            latency: (t - ta).max(1),
                            integ_lat: None,
                            principal: None,
                        });
                        r.status = 401;
                        r.err = Some("Unauthorized");
                        r.err_type = Some("UNAUTHORIZED");
                        r.len = 26;
                        xray(q, t);
                        break 'done;
                    }
                    Mode::Hit { deny, covers } => {
                        self.acc.cache_hits[a.kind] += 1;
                        t += self.rng.irange(0, 1);
                        let principal = self.principal(a.ident);
                        x(q, xs, &rid, t, |b| {
                            put(b, "Using valid authorizer policy for principal: ");
                            put_masked(b, principal.as_bytes());
                        });
                        x(q, xs, &rid, t, |b| {
                            put(b, "Successfully completed authorizer execution")
                        });
                        let lat = self.rng.irange(1, 3);
                        t = t.max(ta + lat - 1);
                        r.authorizer = Some(AuthzRec {
                            status: 200,
                            error: None,
                            latency: lat,
                            integ_lat: None,
                            principal: Some(a.ident),
                        });
                        let al = self.rng.irange(0, 2);
                        t += al;
                        if deny || !covers {
                            r.authorize = Some((403, al));
                            let m = if deny { EXPLICIT_MSG } else { IMPLICIT_MSG };
                            r.status = 403;
                            r.err = Some(m);
                            r.err_type = Some("ACCESS_DENIED");
                            r.len = m.len() as u64 + 14;
                            x(q, xs, &rid, t, |b| put(b, NOT_AUTHORIZED_OP));
                            xray(q, t);
                            break 'done;
                        }
                        r.authorize = Some((200, al));
                    }
                    Mode::Invoke(d) => {
                        t += self.rng.irange(0, 1);
                        let f = if a.kind == 0 { REQ_FN } else { TOK_FN };
                        let uri = |b: &mut Vec<u8>| {
                            put(b, "https://lambda.");
                            put(b, REGION);
                            put(b, ".amazonaws.com/2015-03-31/functions/arn:aws:lambda:");
                            put(b, REGION);
                            b.push(b':');
                            put(b, ACCOUNT);
                            put(b, ":function:");
                            put(b, f);
                            put(b, "/invocations");
                        };
                        x(q, xs, &rid, t, |b| {
                            put(b, "Endpoint request URI: ");
                            uri(b);
                        });
                        x(q, xs, &rid, t, |b| {
                            put(b, "Sending request to ");
                            uri(b);
                        });
                        let t_send = t;
                        let (t_res, lid) =
                            self.invoke(q, reg, p, a, d, t_send, &rid, &ext, trace, method);
                        r.invocation = Some(lid);
                        t = t_res;
                        self.put_result_body(p, a, d, method);
                        let body = &self.msg;
                        x(q, xs, &rid, t, |b| {
                            put(b, "Authorizer result body before parsing: ");
                            b.extend_from_slice(body);
                        });
                        let integ_lat = t_res - t_send;
                        let lat = integ_lat + self.rng.irange(2, 4);
                        let mut rec = AuthzRec {
                            status: 200,
                            error: None,
                            latency: lat,
                            integ_lat: Some(integ_lat),
                            principal: None,
                        };
                        t += self.rng.irange(0, 1);
                        match d {
                            Decision::Allow | Decision::Deny => {
                                let principal = self.principal(a.ident);
                                x(q, xs, &rid, t, |b| {
                                    put(b, "Using valid authorizer policy for principal: ");
                                    put_masked(b, principal.as_bytes());
                                });
                                x(q, xs, &rid, t, |b| {
                                    put(b, "Successfully completed authorizer execution")
                                });
                                rec.principal = Some(a.ident);
                                r.authorizer = Some(rec);
                                let al = self.rng.irange(0, 2);
                                t += al;
                                if d == Decision::Deny {
                                    r.authorize = Some((403, al));
                                    r.status = 403;
                                    r.err = Some(EXPLICIT_MSG);
                                    r.err_type = Some("ACCESS_DENIED");
                                    r.len = EXPLICIT_MSG.len() as u64 + 14;
                                    x(q, xs, &rid, t, |b| put(b, NOT_AUTHORIZED_OP));
                                    xray(q, t);
                                    break 'done;
                                }
                                r.authorize = Some((200, al));
                            }
                            Decision::Unauthorized => {
                                x(q, xs, &rid, t, |b| {
                                    put(b, "Unauthorized request: ");
                                    b.extend_from_slice(&rid);
                                });
                                rec.status = 401;
                                rec.error = Some("Unauthorized");
                                r.authorizer = Some(rec);
                                r.status = 401;
                                r.err = Some("Unauthorized");
                                r.err_type = Some("UNAUTHORIZED");
                                r.len = 26;
                                xray(q, t);
                                break 'done;
                            }
                            Decision::Crash => {
                                x(q, xs, &rid, t, |b| {
                                    put(b, "Execution failed due to configuration error: Invalid JSON in response: Unrecognized field \"errorType\" , not marked as ignorable")
                                });
                                rec.status = 500;
                                rec.error = Some("Authorizer error");
                                r.authorizer = Some(rec);
                                r.status = 500;
                                r.err = None;
                                r.err_type = Some("AUTHORIZER_CONFIGURATION_ERROR");
                                r.len = 16;
                                xray(q, t);
                                break 'done;
                            }
                        }
                    }
                }
            }
            // Usage plans and API keys.
            t += self.rng.irange(0, 1);
            let api_stage = |b: &mut Vec<u8>| {
                put(b, &w.api_id);
                b.push(b'/');
                put(b, stage);
            };
            let verifying = |q: &mut Queue, t: i64, key: Option<&[u8]>| {
                x(q, xs, &rid, t, |b| {
                    put(b, "Verifying Usage Plan for request: ");
                    b.extend_from_slice(&rid);
                    put(b, ". API Key: ");
                    if let Some(k) = key {
                        put_masked(b, k);
                    }
                    put(b, " API Stage: ");
                    api_stage(b);
                })
            };
            let completed = |q: &mut Queue, t: i64, status: u16| {
                x(q, xs, &rid, t, |b| {
                    put(b, "Method completed with status: ");
                    put_u(b, status as u64);
                })
            };
            match p.key {
                Key::NotRequired => {
                    verifying(q, t, None);
                    x(q, xs, &rid, t, |b| {
                        put(b, "API Key  authorized because method '");
                        put(b, method);
                        b.push(b' ');
                        put(b, route.template());
                        put(b, "' does not require API Key. Request will not contribute to throttle or quota limits");
                    });
                    x(q, xs, &rid, t, |b| {
                        put(b, "Usage Plan check succeeded for API Key  and API Stage ");
                        api_stage(b);
                    });
                }
                Key::Missing | Key::Unknown(_) => {
                    if let Key::Unknown(tail) = p.key {
                        let mut k = [b'x'; 40];
                        k[34..].copy_from_slice(&tail);
                        verifying(q, t, Some(&k));
                        x(q, xs, &rid, t, |b| {
                            put(b, "Invalid API Key identifier specified")
                        });
                    } else {
                        verifying(q, t, None);
                        x(q, xs, &rid, t, |b| {
                            put(b, "API Key  not authorized because method '");
                            put(b, method);
                            b.push(b' ');
                            put(b, route.template());
                            put(b, "' requires API Key and API Key is not associated with a Usage Plan for API Stage ");
                            api_stage(b);
                            put(b, ": No Usage Plan found for key and API Stage");
                        });
                    }
                    t += self.rng.irange(0, 1);
                    completed(q, t, 403);
                    r.status = 403;
                    r.err = Some("Forbidden");
                    r.err_type = Some("INVALID_API_KEY");
                    r.len = 23;
                    xray(q, t);
                    break 'done;
                }
                Key::Ok(pi) | Key::Throttled(pi) | Key::Quota(pi) => {
                    let partner = &w.partners[pi];
                    let plan = &w.plans[partner.plan];
                    let kv = partner.key_value.as_bytes();
                    r.api_key = Some(pi);
                    verifying(q, t, Some(kv));
                    match p.key {
                        Key::Ok(_) => x(q, xs, &rid, t, |b| {
                            put(b, "Usage Plan check succeeded for API Key ");
                            put_masked(b, kv);
                            put(b, " and API Stage ");
                            api_stage(b);
                        }),
                        Key::Throttled(_) => {
                            let (rate, burst) = plan.throttle.unwrap_or(("1.00", 2));
                            let res = &w.resource_ids[route.index()];
                            x(q, xs, &rid, t, |b| {
                                put(b, "API Key ");
                                put_masked(b, kv);
                                put(b, " exceeded throttle limit for API Stage ");
                                api_stage(b);
                                put(b, ": Key throttle limit exceeded for Usage Plan ID ");
                                put(b, &plan.id);
                                put(b, ", RestApi ");
                                put(b, &w.api_id);
                                put(b, ", Stage ");
                                put(b, stage);
                                put(b, ", Resource ");
                                put(b, res);
                                put(b, ", HttpMethod ");
                                put(b, method);
                                put(b, ". Limit: ");
                                put(b, rate);
                                put(b, " Burst: ");
                                put_u(b, burst as u64);
                            });
                            completed(q, t, 429);
                            r.status = 429;
                            r.err = Some("Too Many Requests");
                            r.err_type = Some("THROTTLED");
                            r.len = 31;
                            xray(q, t);
                            break 'done;
                        }
                        _ => {
                            let limit = plan.quota.unwrap_or(100);
                            x(q, xs, &rid, t, |b| {
                                put(b, "API Key ");
                                put_masked(b, kv);
                                put(b, " exceeded quota limit for API Stage ");
                                api_stage(b);
                                put(b, ": Key quota exhausted for Usage Plan ID ");
                                put(b, &plan.id);
                                put(b, ". Quota Limit: ");
                                put_u(b, limit as u64);
                                put(b, " Period: DAY");
                            });
                            completed(q, t, 429);
                            r.status = 429;
                            r.err = Some("Limit Exceeded");
                            r.err_type = Some("QUOTA_EXCEEDED");
                            r.len = 28;
                            xray(q, t);
                            break 'done;
                        }
                    }
                }
            }
            // The integration.
            t += self.rng.irange(0, 1);
            x(q, xs, &rid, t, |b| {
                put(b, "Starting execution for request: ");
                b.extend_from_slice(&rid);
            });
            let path = &self.path;
            x(q, xs, &rid, t, |b| {
                put(b, "HTTP Method: ");
                put(b, method);
                put(b, ", Resource Path: ");
                b.extend_from_slice(path);
            });
            match p.backend {
                None => {
                    t += self.rng.irange(0, 1);
                    x(q, xs, &rid, t, |b| {
                        put(b, "Successfully completed execution")
                    });
                    completed(q, t, 200);
                    r.integ = Some((200, 0, None));
                    r.status = 200;
                    r.len = 15;
                }
                Some((status, len)) => {
                    t += self.rng.irange(0, 1);
                    x(q, xs, &rid, t, |b| {
                        put(b, "Sending request to https://lambda.");
                        put(b, REGION);
                        put(b, ".amazonaws.com/2015-03-31/functions/arn:aws:lambda:");
                        put(b, REGION);
                        b.push(b':');
                        put(b, ACCOUNT);
                        put(b, ":function:");
                        put(b, BACKEND_FN);
                        put(b, "/invocations");
                    });
                    let il = self.rng.irange(25, 95);
                    t += il;
                    x(q, xs, &rid, t, |b| {
                        put(b, "Received response. Status: 200, Integration latency: ");
                        put_u(b, il as u64);
                        put(b, " ms");
                    });
                    t += self.rng.irange(0, 1);
                    x(q, xs, &rid, t, |b| {
                        put(b, "Successfully completed execution")
                    });
                    completed(q, t, status);
                    let iid = uuid(&mut self.rng);
                    x(q, xs, &rid, t, |b| {
                        put(b, "AWS Integration Endpoint RequestId : ");
                        b.extend_from_slice(&iid);
                    });
                    r.integ = Some((status, il, Some(iid)));
                    r.status = status;
                    r.len = len;
                    if status == 403 {
                        class = Some(Class::BackendDenied);
                    }
                }
            }
            xray(q, t);
        }
        let end = t + 1;
        r.resp_lat = end - p.t0;
        let ts = end + self.rng.irange(1, 4);
        self.last_ts = self.last_ts.max(ts);

        // The access record.
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        if p.stage == 0 {
            self.put_enhanced(&mut line, p, &r, &rid, &ext, method, template);
        } else {
            self.put_troubleshooting(&mut line, p, &r, &rid, method, template);
        }
        let acs = World::gateway_stream(false, p.stage, host);
        if self.mixed && p.stage == 0 {
            let idx = self.issued - 1;
            while self.malformed_done < 3 && idx >= self.malformed_at[self.malformed_done] {
                let cut = MALFORMED_CUTS[self.malformed_done].min(line.len() - 1);
                q.push(ts, acs, Flag::Malformed)
                    .extend_from_slice(&line[..cut]);
                self.malformed_done += 1;
            }
            self.last_prod.clear();
            self.last_prod.extend_from_slice(&line);
        }
        q.push(ts, acs, Flag::Normal).extend_from_slice(&line);
        self.line = line;
        if self.mixed {
            let idx = self.issued - 1;
            while self.unrelated_done < 2 && idx >= self.unrelated_at[self.unrelated_done] {
                self.push_unrelated(q, p.t0);
            }
        }

        // Truth.
        debug_assert_eq!(class.is_some(), r.status >= 400, "{p:?} {r:?}");
        let ci = class.map_or(16, Class::index);
        self.acc.per_class[p.stage][ci] += 1;
        if let Some(si) = STATUSES.iter().position(|&s| s == r.status) {
            self.acc.per_status[p.stage][si] += 1;
        }
    }

    fn push_unrelated(&mut self, q: &mut Queue, t: i64) {
        // Two VPC flow-log records (default v2 format) that ended up among the access logs.
        let k = self.unrelated_done as u64;
        let b = q.push(t, World::gateway_stream(false, 0, 0), Flag::Unrelated);
        put(b, "2 ");
        put(b, ACCOUNT);
        put(b, " eni-0b4c7d9e2f1a0385");
        put_u(b, 6 + k);
        put(b, " 10.0.1.25 10.0.2.71 ");
        put_u(b, 49152 + 17 * k);
        put(b, " 443 6 12 4520 ");
        put_u(b, (t / 1000 - 60) as u64);
        b.push(b' ');
        put_u(b, (t / 1000) as u64);
        put(b, " ACCEPT OK");
        self.unrelated_done += 1;
    }

    /// Emits the dirty lines whose request index was never reached (tiny runs).
    pub(crate) fn finish(&mut self, q: &mut Queue) {
        if !self.mixed {
            return;
        }
        let ts = self.last_ts;
        if self.last_prod.is_empty() {
            put(&mut self.last_prod, "{\"requestId\":\"00000000-0000-4000-8000-000000000000\",\"extendedRequestId\":\"AAAAAAAAAAAAAAA=\"}");
        }
        while self.malformed_done < 3 {
            let cut = MALFORMED_CUTS[self.malformed_done].min(self.last_prod.len() - 1);
            let line = &self.last_prod[..cut];
            q.push(ts, World::gateway_stream(false, 0, 0), Flag::Malformed)
                .extend_from_slice(line);
            self.malformed_done += 1;
        }
        while self.unrelated_done < 2 {
            self.push_unrelated(q, ts);
        }
    }

    /// Appends `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/path` to `self.msg`
    /// (`masked`) or to `self.arn`.
    fn put_resource_arn(&mut self, stage: usize, method: &str, masked: bool) {
        let b = if masked { &mut self.msg } else { &mut self.arn };
        put(b, "arn:aws:execute-api:");
        put(b, REGION);
        b.push(b':');
        put(b, if masked { ACCOUNT_MASKED } else { ACCOUNT });
        b.push(b':');
        put(b, &self.w.api_id);
        b.push(b'/');
        put(b, STAGES[stage]);
        b.push(b'/');
        put(b, method);
        b.extend_from_slice(&self.path);
    }

    fn principal(&self, ident: Ident) -> &'w str {
        let w = self.w;
        match ident {
            Ident::Merchant(m) | Ident::BrokenBearer(m) => &w.merchants[m as usize].principal,
            Ident::User(u) | Ident::Expired(u, _, _) => &w.users[u as usize].id,
            Ident::None => "-",
        }
    }

    fn put_session(&self, b: &mut Vec<u8>, who: IamWho) {
        match who {
            IamWho::Batch(s) => {
                put(b, "settlement-batch-");
                put_u(b, s as u64);
            }
            IamWho::Analyst(i) => put(b, self.w.analysts[i as usize]),
            IamWho::Support(i) => put(b, self.w.support[i as usize]),
        }
    }

    fn role(&self, who: IamWho) -> &'w super::world::IamRole {
        &self.w.roles[match who {
            IamWho::Batch(_) => 0,
            IamWho::Analyst(_) => 1,
            IamWho::Support(_) => 2,
        }]
    }

    fn put_caller(&self, b: &mut Vec<u8>, who: IamWho) {
        put(b, &self.role(who).role_id);
        b.push(b':');
        self.put_session(b, who);
    }

    fn put_user_arn(&self, b: &mut Vec<u8>, who: Option<IamWho>) {
        let Some(who) = who else {
            put(b, "-");
            return;
        };
        put(b, "arn:aws:sts::");
        put(b, ACCOUNT);
        put(b, ":assumed-role/");
        put(b, self.role(who).role);
        b.push(b'/');
        self.put_session(b, who);
    }

    /// Renders the authorizer's response (or error payload) as the execution log shows it,
    /// into `self.msg`.
    fn put_result_body(&mut self, p: &Plan, a: Authz, d: Decision, method: &str) {
        self.arn.clear();
        if a.kind == 1 {
            self.put_resource_arn(p.stage, method, false);
        }
        let w = self.w;
        let b = &mut self.msg;
        b.clear();
        match d {
            Decision::Allow | Decision::Deny => {
                let (principal, merchant, ctx_key, ctx_val) = match a.ident {
                    Ident::Merchant(m) => {
                        let m = &w.merchants[m as usize];
                        (
                            m.principal.as_str(),
                            m.id.as_str(),
                            if d == Decision::Deny {
                                "reason"
                            } else {
                                "tier"
                            },
                            if d == Decision::Deny {
                                "merchant_suspended"
                            } else {
                                m.tier
                            },
                        )
                    }
                    Ident::User(u) => {
                        let u = &w.users[u as usize];
                        (
                            u.id.as_str(),
                            w.merchants[u.merchant].id.as_str(),
                            "scope",
                            "dashboard",
                        )
                    }
                    _ => ("-", "-", "tier", "standard"),
                };
                put(b, "{\"principalId\":\"");
                put(b, principal);
                put(b, "\",\"policyDocument\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"execute-api:Invoke\",\"Effect\":\"");
                put(b, if d == Decision::Deny { "Deny" } else { "Allow" });
                put(b, "\",\"Resource\":\"");
                if a.kind == 1 {
                    b.extend_from_slice(&self.arn);
                } else {
                    put_stage_wildcard(b, &w.api_id, STAGES[p.stage]);
                }
                put(b, "\"}]},\"context\":{\"merchantId\":\"");
                put(b, merchant);
                put(b, "\",\"");
                put(b, ctx_key);
                put(b, "\":\"");
                put(b, ctx_val);
                put(b, "\"}}");
            }
            Decision::Unauthorized => {
                put(
                    b,
                    "{\"errorType\":\"Error\",\"errorMessage\":\"Unauthorized\",\"trace\":",
                );
                put(b, UNAUTH_STACK);
                b.push(b'}');
            }
            Decision::Crash => {
                put(b, "{\"errorType\":\"TypeError\",\"errorMessage\":\"");
                put(b, CRASH_MSG);
                put(b, "\",\"trace\":");
                put(b, CRASH_STACK);
                b.push(b'}');
            }
        }
    }

    /// One authorizer Lambda invocation: START, the function's own lines, END, REPORT (and
    /// INIT_START on a cold start, which opens a new log stream). Returns when API Gateway
    /// receives the result, and the Lambda request id.
    #[allow(clippy::too_many_arguments)]
    fn invoke(
        &mut self,
        q: &mut Queue,
        reg: &mut Registry,
        p: &Plan,
        a: Authz,
        d: Decision,
        t_send: i64,
        rid: &[u8; 36],
        ext: &[u8; 16],
        trace: (u64, u32),
        method: &str,
    ) -> (i64, [u8; 36]) {
        let w = self.w;
        let k = a.kind;
        let lid = uuid(&mut self.rng);
        self.acc.invocations[k] += 1;
        let cold = self.fns[k].stream.is_none() || self.rng.chance(20);
        let mut t = t_send + self.rng.irange(6, 12);
        let mut init = 0u64;
        if cold {
            self.acc.cold_starts[k] += 1;
            self.acc.lambda_streams[k] += 1;
            let mut name = Vec::with_capacity(64);
            put_slash_date(&mut name, t);
            put(&mut name, "/[$LATEST]");
            put_rand_hex(&mut name, &mut self.rng, 32);
            let name = String::from_utf8(name).expect("ASCII stream name");
            let s = reg.add_stream(G_LAMBDA[k], name);
            if let Some(old) = self.fns[k].stream.replace(s) {
                reg.retire.push((t + 60_000, old));
            }
            init = if k == 0 {
                self.rng.range(20_000, 26_000)
            } else {
                self.rng.range(21_000, 24_000)
            };
            let b = q.push(t, s, Flag::Normal);
            put(
                b,
                "INIT_START Runtime Version: nodejs:20.v43\tRuntime Version ARN: arn:aws:lambda:",
            );
            put(b, REGION);
            put(b, "::runtime:");
            put(b, &w.runtime_hash);
            t += init.div_ceil(100) as i64 + self.rng.irange(0, 1);
        }
        let s = self.fns[k].stream.expect("stream is open");
        let start = t;
        let b = q.push(start, s, Flag::Normal);
        put(b, "START RequestId: ");
        b.extend_from_slice(&lid);
        put(b, " Version: $LATEST");
        let dur: u64 = match (k, d, cold) {
            (0, Decision::Crash, _) => self.rng.range(900, 1400),
            (0, _, false) => self.rng.range(800, 2000),
            (0, _, true) => self.rng.range(4000, 6000),
            (_, Decision::Unauthorized, _) => self.rng.range(500, 700),
            (_, _, false) => self.rng.range(500, 900),
            (_, _, true) => self.rng.range(10_000, 12_000),
        };
        let end = start + dur.div_ceil(100) as i64;
        self.arn.clear();
        self.put_resource_arn(p.stage, method, false);
        if k == 0 {
            let te = (start + self.rng.irange(1, 3)).min(end);
            let unredacted = d != Decision::Crash && self.rng.chance(10);
            if unredacted {
                self.acc.unredacted_tokens += 1;
            }
            self.put_request_event(p, a, rid, ext, trace, method, d, unredacted, te);
            let ev = &self.line;
            app(q, s, te, &lid, "INFO", |b| b.extend_from_slice(ev));
            let td = (end - self.rng.irange(1, 4)).max(te);
            match d {
                Decision::Crash => {
                    self.acc.function_errors[k] += 1;
                    app(q, s, td, &lid, "ERROR", |b| {
                        put(
                            b,
                            "Invoke Error \t{\"errorType\":\"TypeError\",\"errorMessage\":\"",
                        );
                        put(b, CRASH_MSG);
                        put(b, "\",\"stack\":");
                        put(b, CRASH_STACK);
                        b.push(b'}');
                    });
                }
                _ => {
                    let Ident::Merchant(m) = a.ident else {
                        unreachable!("REQUEST decisions are for merchants")
                    };
                    let m = &w.merchants[m as usize];
                    let arn = &self.arn;
                    app(q, s, td, &lid, "INFO", |b| {
                        put(b, "decision {\"effect\":\"");
                        put(b, if d == Decision::Deny { "Deny" } else { "Allow" });
                        put(b, "\",\"principalId\":\"");
                        put(b, &m.principal);
                        put(b, "\",\"merchantId\":\"");
                        put(b, &m.id);
                        put(b, "\",\"resource\":\"");
                        put_stage_wildcard(b, &w.api_id, STAGES[p.stage]);
                        put(b, "\",\"methodArn\":\"");
                        b.extend_from_slice(arn);
                        put(b, "\"");
                        if d == Decision::Deny {
                            put(b, ",\"reason\":\"merchant_suspended\"");
                        }
                        put(b, "}");
                    });
                }
            }
        } else {
            let td = (start + self.rng.irange(1, 3)).min(end);
            let arn = &self.arn;
            match a.ident {
                Ident::Expired(_, _, _) => {
                    self.acc.function_errors[k] += 1;
                    let exp = p.t0 - self.rng.irange(60, 7200) * 1000;
                    app(q, s, td, &lid, "INFO", |b| {
                        put(
                            b,
                            "authorizer decision=Unauthorized reason=jwt_expired exp=",
                        );
                        put_iso_s(b, exp);
                        put(b, " methodArn=");
                        b.extend_from_slice(arn);
                    });
                    let te = (td + self.rng.irange(1, 2)).min(end);
                    app(q, s, te, &lid, "ERROR", |b| {
                        put(b, "Invoke Error \t{\"errorType\":\"Error\",\"errorMessage\":\"Unauthorized\",\"stack\":");
                        put(b, UNAUTH_STACK);
                        b.push(b'}');
                    });
                }
                Ident::User(u) => {
                    let u = &w.users[u as usize];
                    app(q, s, td, &lid, "INFO", |b| {
                        put(b, "authorizer decision=Allow principalId=");
                        put(b, &u.id);
                        put(b, " resource=");
                        b.extend_from_slice(arn);
                        put(b, " methodArn=");
                        b.extend_from_slice(arn);
                    });
                }
                _ => unreachable!("TOKEN invocations are for dashboard users"),
            }
        }
        let b = q.push(end, s, Flag::Normal);
        put(b, "END RequestId: ");
        b.extend_from_slice(&lid);
        let (mem_size, mem_lo, mem_hi) = if k == 0 { (256, 78, 90) } else { (128, 68, 75) };
        let used = self.rng.range(mem_lo, mem_hi);
        let b = q.push(end, s, Flag::Normal);
        put(b, "REPORT RequestId: ");
        b.extend_from_slice(&lid);
        put(b, "\tDuration: ");
        put_centi(b, dur);
        put(b, " ms\tBilled Duration: ");
        put_u(b, (dur + init).div_ceil(100));
        put(b, " ms\tMemory Size: ");
        put_u(b, mem_size);
        put(b, " MB\tMax Memory Used: ");
        put_u(b, used);
        put(b, " MB\t");
        if cold {
            put(b, "Init Duration: ");
            put_centi(b, init);
            put(b, " ms\t");
        }
        (end + self.rng.irange(3, 8), lid)
    }

    /// The REQUEST authorizer's `authorizer event {…}` message, into `self.line`.
    #[allow(clippy::too_many_arguments)]
    fn put_request_event(
        &mut self,
        p: &Plan,
        a: Authz,
        rid: &[u8; 36],
        ext: &[u8; 16],
        trace: (u64, u32),
        method: &str,
        d: Decision,
        unredacted: bool,
        t: i64,
    ) {
        let w = self.w;
        let stage = STAGES[p.stage];
        let Target::Route(route, id) = p.target else {
            unreachable!("authorizers run on known routes")
        };
        let mut b = std::mem::take(&mut self.line);
        b.clear();
        put(
            &mut b,
            "authorizer event {\"type\":\"REQUEST\",\"methodArn\":\"",
        );
        b.extend_from_slice(&self.arn);
        put(&mut b, "\",\"resource\":\"");
        put(&mut b, route.template());
        put(&mut b, "\",\"path\":\"");
        b.extend_from_slice(&self.path);
        put(&mut b, "\",\"httpMethod\":\"");
        put(&mut b, method);
        // The Authorization value as the function logs it.
        let mut auth = Vec::with_capacity(512);
        if d == Decision::Crash {
            put(&mut auth, "[redacted]");
        } else if unredacted {
            let Ident::Merchant(m) = a.ident else {
                unreachable!("REQUEST identities are merchants")
            };
            put(&mut auth, "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.");
            let mut claims = Vec::with_capacity(160);
            put(&mut claims, "{\"sub\":\"");
            put(&mut claims, &w.merchants[m as usize].id);
            put(
                &mut claims,
                "\",\"iss\":\"https://auth.payments.example/\",\"aud\":\"payments-api\",\"iat\":",
            );
            put_u(&mut claims, (t / 1000 - 600) as u64);
            put(&mut claims, ",\"exp\":");
            put_u(&mut claims, (t / 1000 + 3000) as u64);
            claims.push(b'}');
            put_b64(&mut auth, &claims, true);
            auth.push(b'.');
            let start = auth.len();
            auth.resize(start + 342, 0);
            self.rng.fill(B64URL, &mut auth[start..]);
        } else {
            put(&mut auth, "Bearer [redacted]");
        }
        let host = |b: &mut Vec<u8>| {
            put(b, &w.api_id);
            put(b, ".execute-api.");
            put(b, REGION);
            put(b, ".amazonaws.com");
        };
        let trace_id = |b: &mut Vec<u8>| {
            put(b, "Root=1-");
            put_hex(b, (p.t0 / 1000) as u64, 8);
            b.push(b'-');
            put_hex(b, trace.0, 16);
            put_hex(b, trace.1 as u64, 8);
        };
        let post = method == "POST";
        for multi in [false, true] {
            put(
                &mut b,
                if multi {
                    "},\"multiValueHeaders\":{"
                } else {
                    "\",\"headers\":{"
                },
            );
            let (o, c) = if multi { ("[\"", "\"]") } else { ("\"", "\"") };
            let h = |b: &mut Vec<u8>, name: &str, first: bool, val: &dyn Fn(&mut Vec<u8>)| {
                if !first {
                    b.push(b',');
                }
                b.push(b'"');
                put(b, name);
                put(b, "\":");
                put(b, o);
                val(b);
                put(b, c);
            };
            h(&mut b, "Accept", true, &|b| put(b, "application/json"));
            h(&mut b, "Authorization", false, &|b| {
                b.extend_from_slice(&auth)
            });
            h(&mut b, "Host", false, &host);
            h(&mut b, "User-Agent", false, &|b| put(b, p.ua));
            h(&mut b, "X-Amzn-Trace-Id", false, &trace_id);
            h(&mut b, "X-Forwarded-For", false, &|b| put_ip(b, p.ip));
            h(&mut b, "X-Forwarded-Port", false, &|b| put(b, "443"));
            h(&mut b, "X-Forwarded-Proto", false, &|b| put(b, "https"));
            if post {
                h(&mut b, "Content-Type", false, &|b| {
                    put(b, "application/json")
                });
            }
        }
        put(&mut b, "},\"queryStringParameters\":null,\"multiValueQueryStringParameters\":null,\"pathParameters\":");
        if route == Route::GetPayment || route == Route::PostRefund {
            put(&mut b, "{\"paymentId\":\"");
            b.extend_from_slice(&id);
            put(&mut b, "\"}");
        } else {
            put(&mut b, "null");
        }
        put(
            &mut b,
            ",\"stageVariables\":null,\"requestContext\":{\"resourceId\":\"",
        );
        put(&mut b, &w.resource_ids[route.index()]);
        put(&mut b, "\",\"resourcePath\":\"");
        put(&mut b, route.template());
        put(&mut b, "\",\"httpMethod\":\"");
        put(&mut b, method);
        put(&mut b, "\",\"extendedRequestId\":\"");
        b.extend_from_slice(ext);
        put(&mut b, "\",\"requestTime\":\"");
        put_clf(&mut b, p.t0);
        put(&mut b, "\",\"path\":\"/");
        put(&mut b, stage);
        b.extend_from_slice(&self.path);
        put(&mut b, "\",\"accountId\":\"");
        put(&mut b, ACCOUNT);
        put(&mut b, "\",\"protocol\":\"HTTP/1.1\",\"stage\":\"");
        put(&mut b, stage);
        put(&mut b, "\",\"domainPrefix\":\"");
        put(&mut b, &w.api_id);
        put(&mut b, "\",\"requestTimeEpoch\":");
        put_u(&mut b, p.t0 as u64);
        put(&mut b, ",\"requestId\":\"");
        b.extend_from_slice(rid);
        put(&mut b, "\",\"identity\":{\"cognitoIdentityPoolId\":null,\"accountId\":null,\"cognitoIdentityId\":null,\"caller\":null,\"sourceIp\":\"");
        put_ip(&mut b, p.ip);
        put(&mut b, "\",\"principalOrgId\":null,\"accessKey\":null,\"cognitoAuthenticationType\":null,\"cognitoAuthenticationProvider\":null,\"userArn\":null,\"userAgent\":\"");
        put(&mut b, p.ua);
        put(&mut b, "\",\"user\":null},\"domainName\":\"");
        host(&mut b);
        put(&mut b, "\",\"apiId\":\"");
        put(&mut b, &w.api_id);
        put(&mut b, "\"}}");
        self.line = b;
    }

    #[allow(clippy::too_many_arguments)]
    fn put_enhanced(
        &self,
        b: &mut Vec<u8>,
        p: &Plan,
        r: &Rec,
        rid: &[u8; 36],
        ext: &[u8; 16],
        method: &str,
        template: Option<Route>,
    ) {
        let stage = STAGES[p.stage];
        let dash = |b: &mut Vec<u8>| b.push(b'-');
        let num = |v: i64| move |b: &mut Vec<u8>| put_u(b, v as u64);
        let field = |b: &mut Vec<u8>, key: &str, f: &dyn Fn(&mut Vec<u8>)| {
            b.push(b'"');
            put(b, key);
            put(b, "\":\"");
            f(b);
            put(b, "\",");
        };
        let opt = |b: &mut Vec<u8>, key: &str, v: Option<i64>| match v {
            Some(v) => field(b, key, &num(v)),
            None => field(b, key, &dash),
        };
        let text = |b: &mut Vec<u8>, key: &str, v: Option<&str>| {
            field(b, key, &|b| put(b, v.unwrap_or("-")))
        };
        b.push(b'{');
        field(b, "requestId", &|b| b.extend_from_slice(rid));
        field(b, "extendedRequestId", &|b| b.extend_from_slice(ext));
        field(b, "ip", &|b| put_ip(b, p.ip));
        let who = r.who;
        field(b, "caller", &|b| match who {
            Some(w) => self.put_caller(b, w),
            None => dash(b),
        });
        field(b, "user", &|b| match who {
            Some(w) => self.put_caller(b, w),
            None => dash(b),
        });
        field(b, "userArn", &|b| self.put_user_arn(b, who));
        text(
            b,
            "apiKeyId",
            r.api_key.map(|i| self.w.partners[i].key_id.as_str()),
        );
        field(b, "requestTime", &|b| put_clf(b, p.t0));
        opt(b, "requestTimeEpoch", Some(p.t0));
        text(b, "httpMethod", Some(method));
        text(b, "resourcePath", template.map(Route::template));
        field(b, "path", &|b| {
            b.push(b'/');
            put(b, stage);
            b.extend_from_slice(&self.path);
        });
        text(b, "protocol", Some("HTTP/1.1"));
        opt(b, "responseLength", Some(r.len as i64));
        field(b, "error-message", &|b| match r.err {
            Some("") => b.extend_from_slice(&self.msg),
            Some(m) => put(b, m),
            None => dash(b),
        });
        text(b, "error-responseType", r.err_type);
        text(b, "waf-error", None);
        opt(b, "waf-status", Some(r.waf_status as i64));
        opt(b, "waf-latency", Some(r.waf_lat));
        text(
            b,
            "waf-response",
            Some(if r.waf_status == 403 {
                "WAF_BLOCK"
            } else {
                "WAF_ALLOW"
            }),
        );
        text(b, "authenticate-error", r.authn.and_then(|a| a.1));
        opt(b, "authenticate-status", r.authn.map(|a| a.0 as i64));
        opt(b, "authenticate-latency", r.authn.map(|a| a.2));
        let az = r.authorizer;
        text(b, "authorizer-error", az.and_then(|a| a.error));
        opt(b, "authorizer-status", az.map(|a| a.status as i64));
        opt(b, "authorizer-latency", az.map(|a| a.latency));
        opt(
            b,
            "authorizer-integrationStatus",
            az.and_then(|a| a.integ_lat).map(|_| 200),
        );
        opt(
            b,
            "authorizer-integrationLatency",
            az.and_then(|a| a.integ_lat),
        );
        field(b, "authorizer-requestId", &|b| match r.invocation {
            Some(lid) => b.extend_from_slice(&lid),
            None => dash(b),
        });
        text(
            b,
            "authorizer-principalId",
            az.and_then(|a| a.principal).map(|i| self.principal(i)),
        );
        text(
            b,
            "authorize-error",
            r.authorize
                .filter(|a| a.0 == 403)
                .map(|_| NOT_AUTHORIZED_OP),
        );
        opt(b, "authorize-status", r.authorize.map(|a| a.0 as i64));
        opt(b, "authorize-latency", r.authorize.map(|a| a.1));
        text(b, "integration-error", None);
        opt(b, "integration-status", r.integ.map(|i| i.0 as i64));
        opt(b, "integration-latency", r.integ.map(|i| i.1));
        field(
            b,
            "integration-requestId",
            &|b| match r.integ.and_then(|i| i.2) {
                Some(id) => b.extend_from_slice(&id),
                None => dash(b),
            },
        );
        opt(
            b,
            "integration-integrationStatus",
            r.integ.and_then(|i| i.2).map(|_| 200),
        );
        opt(b, "response-latency", Some(r.resp_lat));
        opt(b, "status", Some(r.status as i64));
        let last = b.len() - 1;
        b[last] = b'}';
    }

    fn put_troubleshooting(
        &self,
        b: &mut Vec<u8>,
        p: &Plan,
        r: &Rec,
        rid: &[u8; 36],
        method: &str,
        template: Option<Route>,
    ) {
        let field = |b: &mut Vec<u8>, key: &str, f: &dyn Fn(&mut Vec<u8>)| {
            b.push(b'"');
            put(b, key);
            put(b, "\":\"");
            f(b);
            put(b, "\",");
        };
        let who = r.who;
        b.push(b'{');
        field(b, "requestId", &|b| b.extend_from_slice(rid));
        field(b, "ip", &|b| put_ip(b, p.ip));
        field(b, "caller", &|b| match who {
            Some(w) => self.put_caller(b, w),
            None => b.push(b'-'),
        });
        field(b, "user", &|b| match who {
            Some(w) => self.put_caller(b, w),
            None => b.push(b'-'),
        });
        field(b, "requestTime", &|b| put_clf(b, p.t0));
        field(b, "httpMethod", &|b| put(b, method));
        field(b, "resourcePath", &|b| {
            put(b, template.map_or("-", Route::template))
        });
        field(b, "status", &|b| put_u(b, r.status as u64));
        field(b, "protocol", &|b| put(b, "HTTP/1.1"));
        field(b, "responseLength", &|b| put_u(b, r.len));
        // The guide binds these keys to $context.authorizer.integrationStatus and .status.
        field(
            b,
            "authenticate-status",
            &|b| match r.authorizer.and_then(|a| a.integ_lat) {
                Some(_) => put(b, "200"),
                None => b.push(b'-'),
            },
        );
        field(b, "authorize-status", &|b| match r.authorizer {
            Some(a) => put_u(b, a.status as u64),
            None => b.push(b'-'),
        });
        let last = b.len() - 1;
        b[last] = b'}';
    }
}

/// `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*` (the REQUEST authorizer's policy).
fn put_stage_wildcard(b: &mut Vec<u8>, api: &str, stage: &str) {
    put(b, "arn:aws:execute-api:");
    put(b, REGION);
    b.push(b':');
    put(b, ACCOUNT);
    b.push(b':');
    put(b, api);
    b.push(b'/');
    put(b, stage);
    put(b, "/*");
}
