//! The fixed world of a generated incident: the REST API, its stages, routes, authorizers,
//! usage plans, and the clients who call it. Everything here is drawn once from the seed.
//!
//! The scenario mirrors the bundled `payments` sample (see `samples/README.md`): an open MOCK
//! route, merchant routes behind a Lambda REQUEST authorizer, dashboard routes behind a Lambda
//! TOKEN authorizer that returns a policy for the one method ARN it was called with (so a
//! cached policy refuses the user's next, different call), AWS_IAM settlement routes, and
//! partner routes that need an API key under usage plans.

use super::rng::{Rng, ALNUM, B64URL, LOWER_ALNUM, UPPER_ALNUM};
use super::sink::{Dest, GroupKind, Registry};

/// The AWS account of the API.
pub(crate) const ACCOUNT: &str = "123456789012";
/// The account as API Gateway masks it inside ARNs in error messages.
pub(crate) const ACCOUNT_MASKED: &str = "********9012";
/// The region.
pub(crate) const REGION: &str = "eu-west-1";
/// First request: 2025-11-03T09:00:00Z.
pub(crate) const START_MS: i64 = 1_762_160_400_000;
/// The stages: `prod` logs the enhanced access format, `beta` the troubleshooting-guide one.
pub(crate) const STAGES: [&str; 2] = ["prod", "beta"];
/// The REQUEST authorizer's function.
pub(crate) const REQ_FN: &str = "payments-request-authorizer";
/// The TOKEN authorizer's function.
pub(crate) const TOK_FN: &str = "payments-token-authorizer";
/// The backend function behind every non-MOCK route.
pub(crate) const BACKEND_FN: &str = "payments-api";
/// Authorizer result TTL.
pub(crate) const CACHE_TTL_MS: i64 = 300_000;

/// Group indices in the registry, in this order.
pub(crate) const G_ACCESS: [usize; 2] = [0, 1];
pub(crate) const G_EXEC: [usize; 2] = [2, 3];
pub(crate) const G_LAMBDA: [usize; 2] = [4, 5];

/// How a route authorizes callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    Open,
    Request,
    Token,
    Iam,
    ApiKey,
}

/// The API's routes (method + resource template).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Health,
    GetPayment,
    PostPayment,
    GetPayouts,
    PostRefund,
    GetSettlements,
    GetSettlement,
    PostCharge,
}

pub(crate) const ROUTES: [Route; 8] = [
    Route::Health,
    Route::GetPayment,
    Route::PostPayment,
    Route::GetPayouts,
    Route::PostRefund,
    Route::GetSettlements,
    Route::GetSettlement,
    Route::PostCharge,
];

impl Route {
    pub(crate) fn index(self) -> usize {
        self as usize
    }
    pub(crate) fn method(self) -> &'static str {
        match self {
            Route::PostPayment | Route::PostRefund | Route::PostCharge => "POST",
            _ => "GET",
        }
    }
    pub(crate) fn template(self) -> &'static str {
        match self {
            Route::Health => "/health",
            Route::GetPayment => "/payments/{paymentId}",
            Route::PostPayment => "/payments",
            Route::GetPayouts => "/payouts",
            Route::PostRefund => "/payments/{paymentId}/refunds",
            Route::GetSettlements => "/settlements",
            Route::GetSettlement => "/settlements/{settlementId}",
            Route::PostCharge => "/partner/charges",
        }
    }
    pub(crate) fn auth(self) -> Auth {
        match self {
            Route::Health => Auth::Open,
            Route::GetPayment | Route::PostPayment => Auth::Request,
            Route::GetPayouts | Route::PostRefund => Auth::Token,
            Route::GetSettlements | Route::GetSettlement => Auth::Iam,
            Route::PostCharge => Auth::ApiKey,
        }
    }
    /// Status of a successful call.
    pub(crate) fn ok_status(self) -> u16 {
        match self {
            Route::PostPayment | Route::PostRefund | Route::PostCharge => 201,
            _ => 200,
        }
    }
    /// Body length range of a successful call.
    pub(crate) fn ok_len(self) -> (u64, u64) {
        match self {
            Route::Health => (15, 15),
            Route::GetPayment => (204, 221),
            Route::PostPayment => (184, 195),
            Route::GetPayouts => (470, 530),
            Route::PostRefund => (139, 149),
            Route::GetSettlements => (1790, 1900),
            Route::GetSettlement => (610, 680),
            Route::PostCharge => (160, 168),
        }
    }
    /// The actual path (without the stage) with `id` filled in.
    pub(crate) fn put_path(self, b: &mut Vec<u8>, id: &[u8]) {
        match self {
            Route::GetPayment => {
                b.extend_from_slice(b"/payments/");
                b.extend_from_slice(id);
            }
            Route::PostRefund => {
                b.extend_from_slice(b"/payments/");
                b.extend_from_slice(id);
                b.extend_from_slice(b"/refunds");
            }
            Route::GetSettlement => {
                b.extend_from_slice(b"/settlements/");
                b.extend_from_slice(id);
            }
            _ => b.extend_from_slice(self.template().as_bytes()),
        }
    }
}

/// Calls to paths the API does not have (misspelt clients, scanners): method, path.
pub(crate) const UNKNOWN_PATHS: [(&str, &str); 6] = [
    ("POST", "/partner/charge"),
    ("GET", "/payment"),
    ("GET", "/setlements"),
    ("GET", "/.env"),
    ("GET", "/wp-login.php"),
    ("POST", "/payments/refunds"),
];

/// A merchant's checkout server (REQUEST authorizer, identity = its bearer token).
#[derive(Debug, Clone)]
pub(crate) struct Merchant {
    pub(crate) id: String,
    pub(crate) principal: String,
    pub(crate) ua: &'static str,
    pub(crate) ip: u32,
    pub(crate) suspended: bool,
    pub(crate) tier: &'static str,
    pub(crate) key: u64,
}

/// A dashboard user (TOKEN authorizer, identity = a JWT).
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) merchant: usize,
    pub(crate) ip: u32,
    pub(crate) token_len: usize,
    pub(crate) tail: [u8; 6],
    pub(crate) key: u64,
}

/// A usage plan.
#[derive(Debug, Clone)]
pub(crate) struct UsagePlan {
    pub(crate) id: String,
    /// `Some((rate, burst))` for the throttled plan.
    pub(crate) throttle: Option<(&'static str, u32)>,
    /// `Some(limit)` for the plan whose daily quota is used up.
    pub(crate) quota: Option<u32>,
}

/// A partner calling with an API key.
#[derive(Debug, Clone)]
pub(crate) struct Partner {
    pub(crate) name: &'static str,
    pub(crate) key_id: String,
    pub(crate) key_value: String,
    pub(crate) plan: usize,
    pub(crate) ip: u32,
}

/// An IAM principal (role id, role name, session or user name).
#[derive(Debug, Clone)]
pub(crate) struct IamRole {
    pub(crate) role_id: String,
    pub(crate) role: &'static str,
}

/// The world of one generated incident.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) api_id: String,
    pub(crate) authorizer_ids: [String; 2],
    pub(crate) resource_ids: [String; 8],
    pub(crate) merchants: Vec<Merchant>,
    pub(crate) users: Vec<User>,
    pub(crate) plans: Vec<UsagePlan>,
    pub(crate) partners: Vec<Partner>,
    /// settlement-reporter (batch), finance-analyst, support-console.
    pub(crate) roles: [IamRole; 3],
    pub(crate) analysts: [&'static str; 3],
    pub(crate) support: [&'static str; 3],
    pub(crate) runtime_hash: String,
    pub(crate) unrelated_group: String,
    pub(crate) stream_names: [[String; 2]; 4],
}

/// Partners: Acme (throttled plan), Globex (quota used up), Initech and Umbrella (standard).
pub(crate) const ACME: usize = 0;
pub(crate) const GLOBEX: usize = 1;

const MERCHANT_UAS: [&str; 5] = [
    "northwind-checkout/4.2.0",
    "fabrikam-pos/7.0.1",
    "contoso-shop/5.1",
    "tailspin-pay/2.4.3",
    "adventureworks-store/1.9.0",
];

/// `a.b.c.d` packed as a `u32`.
pub(crate) const fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    (a as u32) << 24 | (b as u32) << 16 | (c as u32) << 8 | d as u32
}

impl World {
    pub(crate) fn new(seed: u64) -> World {
        let mut r = Rng::new(seed, 1);
        let api_id = r.string(LOWER_ALNUM, 10);
        let authorizer_ids = [r.string(LOWER_ALNUM, 6), r.string(LOWER_ALNUM, 6)];
        let resource_ids = std::array::from_fn(|_| r.string(LOWER_ALNUM, 6));
        let mut merchants: Vec<Merchant> = Vec::with_capacity(240);
        let mut taken = std::collections::BTreeSet::new();
        while merchants.len() < 240 {
            let n = r.range(1000, 9999);
            if !taken.insert(n) {
                continue;
            }
            let id = format!("m_{n}");
            let suspended = merchants.len() % 20 == 7;
            merchants.push(Merchant {
                principal: format!("merchant:{id}"),
                id,
                ua: MERCHANT_UAS[r.below(MERCHANT_UAS.len() as u64) as usize],
                ip: ip(203, 0, 113, r.range(10, 129) as u8),
                suspended,
                tier: if r.chance(250) { "premium" } else { "standard" },
                key: r.next_u64(),
            });
        }
        let mut users = Vec::with_capacity(120);
        for _ in 0..120 {
            let mut tail = [0u8; 6];
            r.fill(B64URL, &mut tail);
            users.push(User {
                id: format!("usr_{}", r.string(ALNUM, 6)),
                merchant: r.below(merchants.len() as u64) as usize,
                ip: ip(203, 0, 113, r.range(130, 189) as u8),
                token_len: r.range(290, 330) as usize,
                tail,
                key: r.next_u64(),
            });
        }
        let plans = vec![
            UsagePlan {
                id: r.string(LOWER_ALNUM, 6),
                throttle: Some(("1.00", 2)),
                quota: None,
            },
            UsagePlan {
                id: r.string(LOWER_ALNUM, 6),
                throttle: None,
                quota: Some(100),
            },
            UsagePlan {
                id: r.string(LOWER_ALNUM, 6),
                throttle: None,
                quota: None,
            },
        ];
        let partner = |r: &mut Rng, name, plan, ip| Partner {
            name,
            key_id: r.string(LOWER_ALNUM, 10),
            key_value: r.string(ALNUM, 40),
            plan,
            ip,
        };
        let partners = vec![
            partner(&mut r, "Acme", 0, ip(203, 0, 113, 77)),
            partner(&mut r, "Globex", 1, ip(203, 0, 113, 140)),
            partner(&mut r, "Initech", 2, ip(203, 0, 113, 150)),
            partner(&mut r, "Umbrella", 2, ip(203, 0, 113, 160)),
        ];
        let role = |r: &mut Rng, role| IamRole {
            role_id: format!("AROA{}", r.string(UPPER_ALNUM, 17)),
            role,
        };
        let roles = [
            role(&mut r, "settlement-reporter"),
            role(&mut r, "finance-analyst"),
            role(&mut r, "support-console"),
        ];
        let runtime_hash = super::format::hex_string(&mut r, 64);
        let stream_names =
            std::array::from_fn(|_| std::array::from_fn(|_| super::format::hex_string(&mut r, 32)));
        World {
            api_id,
            authorizer_ids,
            resource_ids,
            merchants,
            users,
            plans,
            partners,
            roles,
            analysts: ["akim", "bnovak", "cdiaz"],
            support: ["jdoe", "asmith", "mlopez"],
            runtime_hash,
            unrelated_group: "/aws/vpc/flowlogs/payments-vpc".to_string(),
            stream_names,
        }
    }

    /// The registry with the six log groups and the eight fixed gateway streams (two hosts per
    /// stage and log). Lambda streams are added by the simulation on cold starts.
    pub(crate) fn registry(&self) -> Registry {
        let mut reg = Registry::default();
        for st in STAGES {
            reg.add_group(
                format!("/aws/apigateway/{}/{st}", self.api_id),
                GroupKind::Access,
            );
        }
        for st in STAGES {
            reg.add_group(
                format!("API-Gateway-Execution-Logs_{}/{st}", self.api_id),
                GroupKind::Execution,
            );
        }
        reg.add_group(format!("/aws/lambda/{REQ_FN}"), GroupKind::Lambda);
        reg.add_group(format!("/aws/lambda/{TOK_FN}"), GroupKind::Lambda);
        for (k, g) in [G_ACCESS[0], G_ACCESS[1], G_EXEC[0], G_EXEC[1]]
            .into_iter()
            .enumerate()
        {
            for h in 0..2 {
                let id = reg.add_stream(g, self.stream_names[k][h].clone());
                debug_assert_eq!(id as usize, k * 2 + h);
            }
        }
        reg
    }

    /// Stream id of the access (`exec = false`) or execution log of `stage`, gateway `host`.
    pub(crate) fn gateway_stream(exec: bool, stage: usize, host: usize) -> u32 {
        ((exec as usize * 2 + stage) * 2 + host) as u32
    }

    /// Where each group goes in the mixed sample-data layout: prod access and execution logs
    /// and the REQUEST authorizer as S3 export; beta access and the TOKEN authorizer as CLI
    /// JSON; the beta execution log is not included.
    pub(crate) fn mixed_dest(&self, group: usize) -> Dest {
        match group {
            0 | 2 | 4 => Dest::S3,
            1 | 5 => Dest::Cli,
            _ => Dest::Drop,
        }
    }
}
