//! Synthetic requests aimed at the decision table's corners, for the SQL-versus-classifier
//! comparison. Each request picks a target rule of [`RULES`] and is built to satisfy its
//! conditions, each of which is violated now and then; the access record carries either the
//! whole enhanced key set or a random subset of derived spellings (so every variable is
//! sometimes unknown, sometimes `-`, sometimes a value, as a string, a bare number or null).
//! Execution-log lines establish or omit the facts the rule reads, and (with `lambda`) an
//! authorizer log holds invocations linked through `authorizer.requestId` or through the
//! logged `requestContext.requestId`, with every decision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatelog::apiconfig::AuthType;
use gatelog::classify::rules::{Body, Cond, Rule, RULES};
use gatelog::model::Decision;
use gatelog::records::execution::Fact;
use gatelog::records::vars::Var;

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// 2025-10-14T00:00:00Z.
const DAY_MS: i64 = 1_760_400_000_000;

fn iso(ms: i64) -> String {
    let t = ms - DAY_MS;
    format!(
        "2025-10-14T{:02}:{:02}:{:02}.{:03}Z",
        t / 3_600_000,
        t / 60_000 % 60,
        t / 1000 % 60,
        t % 1000
    )
}

const MESSAGES: &[&str] = &[
    "Forbidden",
    "Unauthorized",
    "User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:1:a/live/GET/p with an explicit deny",
    "User: arn:aws:sts::1:assumed-role/r/j is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:1:a/live/GET/p with an explicit deny",
    "User: arn:aws:sts::1:assumed-role/r/j is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:1:a/live/GET/p because no identity-based policy allows the execute-api:Invoke action",
    "User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:1:a/live/GET/p because no resource-based policy allows the execute-api:Invoke action",
    "User is not authorized to access this resource with an explicit deny",
    "User is not authorized to access this resource",
    "Missing Authentication Token",
    "The request signature we calculated does not match the signature you provided.",
    "Signature expired: 20251014T000000Z is now earlier than 20251014T000500Z",
    "The security token included in the request is expired",
    "The security token included in the request is invalid.",
    "Cognito: the incoming token has expired",
    "Too Many Requests",
    "Limit Exceeded",
    "Invalid API Key identifier specified",
    "User: arn:aws:sts::1:assumed-role/r/j is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:1:a/live/GET/p with an explicit deny in an identity-based policy",
    "User: arn:aws:sts::1:assumed-role/r/j is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-2:1:a/live/GET/p because no resource-based policy allows the execute-api:Invoke action",
    "Internal server error",
];

const RESPONSE_TYPES: &[&str] = &[
    "ACCESS_DENIED",
    "WAF_FILTERED",
    "MISSING_AUTHENTICATION_TOKEN",
    "INVALID_SIGNATURE",
    "EXPIRED_TOKEN",
    "UNRECOGNIZED_CLIENT",
    "UNAUTHORIZED",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_FAILURE",
    "INVALID_API_KEY",
    "THROTTLED",
    "QUOTA_EXCEEDED",
    "INTEGRATION_TIMEOUT",
    "DEFAULT_4XX",
];

/// Variables the records carry, with the enhanced format's key (`None`: not in it).
const VARS: &[(Var, Option<&str>)] = &[
    (Var::Status, Some("status")),
    (Var::ResponseLength, Some("responseLength")),
    (Var::ResourcePath, Some("resourcePath")),
    (Var::RouteKey, None),
    (Var::Caller, Some("caller")),
    (Var::User, Some("user")),
    (Var::ErrorMessage, Some("error-message")),
    (Var::ErrorResponseType, Some("error-responseType")),
    (Var::WafResponseCode, Some("waf-response")),
    (Var::WafStatus, Some("waf-status")),
    (Var::AuthenticateStatus, Some("authenticate-status")),
    (Var::AuthorizerError, Some("authorizer-error")),
    (Var::AuthorizerStatus, Some("authorizer-status")),
    (
        Var::AuthorizerIntegrationStatus,
        Some("authorizer-integrationStatus"),
    ),
    (Var::AuthorizerRequestId, Some("authorizer-requestId")),
    (Var::AuthorizeStatus, Some("authorize-status")),
    (Var::IntegrationStatus, Some("integration-status")),
];

/// The rest of the enhanced format's keys, filled with fixed values.
const ENHANCED_REST: &[(&str, &str)] = &[
    ("extendedRequestId", "ext"),
    ("ip", "203.0.113.9"),
    ("userArn", "-"),
    ("apiKeyId", "-"),
    ("requestTime", "14/Oct/2025:14:05:00 +0000"),
    ("path", "/live/p"),
    ("protocol", "HTTP/1.1"),
    ("waf-error", "-"),
    ("waf-latency", "-"),
    ("authenticate-error", "-"),
    ("authenticate-latency", "-"),
    ("authorizer-latency", "-"),
    ("authorizer-integrationLatency", "-"),
    ("authorizer-principalId", "-"),
    ("authorize-error", "-"),
    ("authorize-latency", "-"),
    ("integration-error", "-"),
    ("integration-latency", "-"),
    ("integration-requestId", "-"),
    ("integration-integrationStatus", "-"),
    ("response-latency", "-"),
];

/// A random value of `v` (`-` included).
fn random_value(r: &mut Rng, v: Var) -> String {
    let s = match v {
        Var::Status => r.pick(&["401", "403", "429", "500", "200", "404", "502"]),
        Var::ResponseLength => r.pick(&[
            "16", "23", "26", "28", "31", "42", "60", "82", "100", "150", "35", "-",
        ]),
        Var::ResourcePath => r.pick(&["/p", "/q", "-"]),
        Var::RouteKey => r.pick(&["GET /p", "-"]),
        Var::Caller | Var::User => r.pick(&["AROAEXAMPLE:jdoe", "-"]),
        Var::ErrorMessage => r.pick(MESSAGES),
        Var::ErrorResponseType => r.pick(RESPONSE_TYPES),
        Var::WafResponseCode => r.pick(&["WAF_ALLOW", "WAF_BLOCK", "-"]),
        Var::WafStatus | Var::AuthenticateStatus | Var::AuthorizeStatus => {
            r.pick(&["200", "403", "-"])
        }
        Var::AuthorizerError => r.pick(&[
            "JWT token is expired",
            "Insufficient scope",
            "the token does not have a valid audience",
            "-",
        ]),
        Var::AuthorizerStatus => r.pick(&["200", "401", "403", "500", "-"]),
        Var::AuthorizerIntegrationStatus => r.pick(&["200", "500", "-"]),
        Var::IntegrationStatus => r.pick(&["401", "403", "429", "200", "-"]),
        _ => "-",
    };
    s.to_string()
}

/// A value that differs from `t` (`-` included).
fn other_than(r: &mut Rng, v: Var, t: &str) -> String {
    loop {
        let x = random_value(r, v);
        if x != t {
            return x;
        }
    }
}

/// The execution-log line that establishes `f`.
fn fact_line(f: Fact, id: &str) -> String {
    let arn = "arn:aws:execute-api:us-east-2:1:a/live/GET/p";
    match f {
        Fact::StartingAuthorizer => format!("Starting authorizer: 4fzq8e for request: {id}"),
        Fact::AuthorizerInvoked => "Authorizer result body before parsing: {}".into(),
        Fact::AuthorizerAllow => r#"Authorizer result body before parsing: {"principalId":"u1","policyDocument":{"Statement":[{"Effect":"Allow"}]}}"#.into(),
        Fact::AuthorizerDeny => r#"Authorizer result body before parsing: {"principalId":"u1","policyDocument":{"Statement":[{"Effect":"Deny"}]}}"#.into(),
        Fact::AuthorizerError => r#"Authorizer result body before parsing: {"errorType":"TypeError","errorMessage":"boom"}"#.into(),
        Fact::UsingAuthorizerPolicy => "Using valid authorizer policy for principal: u1".into(),
        Fact::ClientNotAuthorized => "The client is not authorized to perform this operation.".into(),
        Fact::UnauthorizedRequest => format!("Unauthorized request: {id}"),
        Fact::ConfigurationError => "Execution failed due to configuration error: Invalid JSON in response".into(),
        Fact::ApiKeyRejected => "Invalid API Key identifier specified".into(),
        Fact::ThrottleExceeded => "API Key **********abcd exceeded throttle limit for API Key usage plan".into(),
        Fact::QuotaExceeded => "API Key **********abcd exceeded quota limit for usage plan".into(),
        Fact::UserNotAuthorized => format!("User: arn:aws:sts::1:assumed-role/r/j is not authorized to perform: execute-api:Invoke on resource: {arn}"),
        Fact::AnonymousNotAuthorized => format!("User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn}"),
        Fact::ExplicitDenyMessage => format!("User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn} with an explicit deny"),
        Fact::ResourcePolicyMessage => format!("User: arn:aws:sts::1:assumed-role/r/j is not authorized to perform: execute-api:Invoke on resource: {arn} because no resource-based policy allows the execute-api:Invoke action"),
        Fact::SignatureMismatch => "The request signature we calculated does not match the signature you provided.".into(),
        Fact::TokenExpired => "The security token included in the request is expired".into(),
        Fact::TokenInvalid => "The security token included in the request is invalid.".into(),
        Fact::MissingAuthenticationToken => "Missing Authentication Token".into(),
        Fact::UsagePlanOk => "Usage Plan check succeeded for API Key **********abcd and API Stage a/live".into(),
        Fact::IntegrationStarted => format!("Starting execution for request: {id}"),
        Fact::ExecutionCompleted => "Successfully completed execution".into(),
    }
}

const ALL_FACTS: &[Fact] = &[
    Fact::StartingAuthorizer,
    Fact::AuthorizerInvoked,
    Fact::AuthorizerAllow,
    Fact::AuthorizerDeny,
    Fact::AuthorizerError,
    Fact::UsingAuthorizerPolicy,
    Fact::ClientNotAuthorized,
    Fact::UnauthorizedRequest,
    Fact::ConfigurationError,
    Fact::ApiKeyRejected,
    Fact::ThrottleExceeded,
    Fact::QuotaExceeded,
    Fact::UserNotAuthorized,
    Fact::AnonymousNotAuthorized,
    Fact::ExplicitDenyMessage,
    Fact::ResourcePolicyMessage,
    Fact::SignatureMismatch,
    Fact::TokenExpired,
    Fact::TokenInvalid,
    Fact::MissingAuthenticationToken,
    Fact::UsagePlanOk,
    Fact::IntegrationStarted,
    Fact::ExecutionCompleted,
];

const DECISIONS: &[Decision] = &[
    Decision::Allow,
    Decision::Deny,
    Decision::Unauthorized,
    Decision::Error,
    Decision::Timeout,
];

/// The configured methods (all `GET`) of the synthetic APIs: path, auth type, API key
/// required, authorizer TTL.
const METHODS: &[(&str, AuthType, bool, Option<i64>)] = &[
    ("/c/none", AuthType::None, false, None),
    ("/c/key", AuthType::None, true, None),
    ("/c/iam", AuthType::AwsIam, false, None),
    ("/c/lambda", AuthType::Custom, true, Some(300)),
    ("/c/lambda0", AuthType::Custom, false, Some(0)),
    ("/c/cognito", AuthType::CognitoUserPools, false, None),
    ("/c/jwt", AuthType::Jwt, false, None),
];

/// The synthetic APIs: the first customised some gateway responses, the second none.
const APIS: [&str; 2] = ["synapi0001", "synapi0002"];

/// Whether a configured method satisfies a condition (`None`: the condition is not about the
/// configuration).
fn method_fits(m: &(&str, AuthType, bool, Option<i64>), c: &Cond) -> Option<bool> {
    match *c {
        Cond::AuthIn(ts) => Some(ts.contains(&m.1)),
        Cond::ApiKeyRequired => Some(m.2),
        Cond::AuthorizerCaches => Some(m.3.is_some_and(|t| t > 0)),
        _ => None,
    }
}

/// A configured method for a request aimed at `rule`: mostly one its conditions allow.
fn config_path(r: &mut Rng, rule: Option<&Rule>) -> &'static str {
    let fitting: Vec<&str> = METHODS
        .iter()
        .filter(|m| {
            rule.is_none_or(|rule| {
                rule.conds
                    .iter()
                    .chain(rule.requires)
                    .all(|c| method_fits(m, c) != Some(false))
            })
        })
        .map(|m| m.0)
        .collect();
    if !fitting.is_empty() && r.chance(85) {
        r.pick(&fitting)
    } else {
        r.pick(METHODS).0
    }
}

/// `--api-config` files for the synthetic APIs: an OpenAPI export each (the first with
/// customised `ACCESS_DENIED`, `UNAUTHORIZED` and `DEFAULT_5XX` responses).
pub fn write_config(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (i, api) in APIS.iter().enumerate() {
        let mut schemes = serde_json::Map::new();
        schemes.insert(
            "api_key".into(),
            serde_json::json!({"type": "apiKey", "name": "x-api-key", "in": "header"}),
        );
        schemes.insert(
            "sigv4".into(),
            serde_json::json!({"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}),
        );
        let mut paths = serde_json::Map::new();
        for (n, (path, auth, key, ttl)) in METHODS.iter().enumerate() {
            let mut security = serde_json::Map::new();
            let name = format!("auth{n}");
            match auth {
                AuthType::None => {}
                AuthType::AwsIam => {
                    security.insert("sigv4".into(), serde_json::json!([]));
                }
                AuthType::Custom => {
                    schemes.insert(name.clone(), serde_json::json!({
                        "type": "apiKey", "name": "Authorization", "in": "header",
                        "x-amazon-apigateway-authtype": "custom",
                        "x-amazon-apigateway-authorizer": {
                            "type": "token",
                            "authorizerUri": format!("arn:aws:apigateway:us-east-2:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-2:1:function:syn-authorizer-{n}/invocations"),
                            "authorizerResultTtlInSeconds": ttl,
                        }
                    }));
                    security.insert(name.clone(), serde_json::json!([]));
                }
                AuthType::CognitoUserPools => {
                    schemes.insert(name.clone(), serde_json::json!({
                        "type": "apiKey", "name": "Authorization", "in": "header",
                        "x-amazon-apigateway-authtype": "cognito_user_pools",
                        "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": ["arn:aws:cognito-idp:us-east-2:1:userpool/us-east-2_abc"]}
                    }));
                    security.insert(name.clone(), serde_json::json!([]));
                }
                AuthType::Jwt => {
                    schemes.insert(name.clone(), serde_json::json!({
                        "type": "oauth2", "flows": {},
                        "x-amazon-apigateway-authorizer": {"type": "jwt", "identitySource": "$request.header.Authorization", "jwtConfiguration": {"audience": ["syn"], "issuer": "https://issuer.example.com"}}
                    }));
                    security.insert(name.clone(), serde_json::json!(["read"]));
                }
            }
            if *key {
                security.insert("api_key".into(), serde_json::json!([]));
            }
            let op = if security.is_empty() {
                serde_json::json!({"responses": {}})
            } else {
                serde_json::json!({"responses": {}, "security": [security]})
            };
            paths.insert(path.to_string(), serde_json::json!({ "get": op }));
        }
        let mut doc = serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": api, "version": "1"},
            "servers": [{"url": format!("https://{api}.execute-api.us-east-2.amazonaws.com/{{basePath}}"), "variables": {"basePath": {"default": "live"}}}],
            "paths": paths,
            "components": {"securitySchemes": schemes},
            "x-amazon-apigateway-api-key-source": "HEADER",
        });
        if i == 0 {
            doc["x-amazon-apigateway-gateway-responses"] = serde_json::json!({
                "ACCESS_DENIED": {"statusCode": 403, "responseTemplates": {"application/json": "{\"error\":\"denied\"}"}},
                "UNAUTHORIZED": {"statusCode": 403},
                "DEFAULT_5XX": {"responseTemplates": {"application/json": "{\"error\":\"server\"}"}},
            });
        }
        let path = dir.join(format!("{api}-oas30.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        out.push(path);
    }
    out
}

fn insert(values: &mut BTreeMap<Var, String>, v: Var, x: String) {
    values.insert(v, x);
}

/// One request aimed at `rule` (or at nothing in particular), before rendering.
struct Plan {
    values: BTreeMap<Var, String>,
    facts: Vec<Fact>,
    exec: bool,
    method_status: Option<String>,
    invoked: Option<bool>,
    decision: Option<Decision>,
}

/// Makes the plan satisfy (or, with `violate`, contradict) one condition.
fn apply(r: &mut Rng, p: &mut Plan, c: &Cond, violate: bool, status: &str, lacked: &mut Vec<Fact>) {
    let status = status.to_string();
    match *c {
        Cond::Dash(v) => insert(
            &mut p.values,
            v,
            if violate {
                random_value(r, v)
            } else {
                "-".into()
            },
        ),
        Cond::Set(v) => {
            let x = if violate {
                "-".into()
            } else {
                other_than(r, v, "-")
            };
            insert(&mut p.values, v, x)
        }
        Cond::Eq(v, t) => insert(
            &mut p.values,
            v,
            if violate {
                other_than(r, v, t)
            } else {
                t.into()
            },
        ),
        Cond::EqOrDash(v, t) => {
            let x = if violate {
                other_than(r, v, t)
            } else if r.chance(50) {
                t.into()
            } else {
                "-".into()
            };
            insert(&mut p.values, v, x)
        }
        Cond::NotEq(v, t) => insert(
            &mut p.values,
            v,
            if violate {
                t.into()
            } else {
                other_than(r, v, t)
            },
        ),
        Cond::Has(v, t) => {
            let x = match (v, t) {
                (_, _) if violate => random_value(r, v),
                (Var::AuthorizerError, "jwt") => "JWT token is expired".into(),
                (Var::AuthorizerError, "token") => "the token has expired".into(),
                (Var::AuthorizerError, _) => "Insufficient scope".into(),
                _ => t.into(),
            };
            insert(&mut p.values, v, x)
        }
        Cond::Lacks(v, t) => {
            let x = if violate {
                format!("invalid {t}")
            } else if r.chance(50) {
                "-".into()
            } else {
                random_value(r, v)
            };
            insert(&mut p.values, v, x)
        }
        Cond::EqStatus(v) => {
            let x = if violate {
                random_value(r, v)
            } else {
                status.clone()
            };
            insert(&mut p.values, v, x)
        }
        Cond::MsgHas(_) | Cond::MsgLacks(_) => {
            if violate {
                insert(
                    &mut p.values,
                    Var::ErrorMessage,
                    random_value(r, Var::ErrorMessage),
                )
            }
        }
        Cond::Invoked(b) => p.invoked = Some(b != violate),
        Cond::DecisionIn(ds) => {
            p.decision = Some(if violate {
                r.pick(DECISIONS)
            } else {
                r.pick(ds)
            })
        }
        Cond::ExecHas(f) => {
            if violate {
                lacked.push(f)
            } else {
                p.facts.push(f)
            }
        }
        Cond::ExecLacks(f) => {
            if violate {
                p.facts.push(f)
            } else {
                lacked.push(f)
            }
        }
        Cond::ExecAny(fs) => {
            if !violate {
                p.facts.push(r.pick(fs))
            }
        }
        Cond::ExecSilent => p.exec = violate,
        Cond::HttpApi(b) => {
            let x = if b != violate {
                "GET /p".to_string()
            } else {
                "-".to_string()
            };
            insert(&mut p.values, Var::RouteKey, x)
        }
        Cond::AuthIn(_) | Cond::ApiKeyRequired | Cond::AuthorizerCaches => {
            // Decided by the configured method the request is sent to (`config_path`).
        }
        Cond::Any(cs) => {
            if violate {
                for c in cs {
                    apply(r, p, c, true, &status, lacked);
                }
            } else {
                let c = r.pick(cs);
                apply(r, p, &c, false, &status, lacked);
            }
        }
        Cond::All(cs) => {
            let broken = violate.then(|| r.below(cs.len()));
            for (i, c) in cs.iter().enumerate() {
                apply(r, p, c, broken == Some(i), &status, lacked);
            }
        }
    }
}

fn plan(r: &mut Rng, rule: Option<&Rule>) -> Plan {
    let mut p = Plan {
        values: BTreeMap::new(),
        facts: Vec::new(),
        exec: r.chance(50),
        method_status: None,
        invoked: None,
        decision: None,
    };
    for (v, _) in VARS {
        let x = if r.chance(70) {
            "-".to_string()
        } else {
            random_value(r, *v)
        };
        p.values.insert(*v, x);
    }
    let Some(rule) = rule else {
        p.values
            .insert(Var::Status, r.pick(&["200", "404", "403", "500"]).into());
        for _ in 0..r.below(3) {
            p.facts.push(r.pick(ALL_FACTS));
        }
        return p;
    };
    let status = if rule.statuses.is_empty() {
        "403".to_string()
    } else {
        r.pick(rule.statuses).to_string()
    };
    p.values.insert(Var::Status, status.clone());
    let rt = if rule.response_types.is_empty() {
        "-".to_string()
    } else {
        r.pick(rule.response_types).to_string()
    };
    p.values.insert(Var::ErrorResponseType, rt);
    let len = match rule.body {
        Body::Exact(ls) => r.pick(ls),
        Body::AtLeast(n) => n + r.below(80) as i64,
        Body::Any => r.pick(&[35_i64, 120, 16, 82]),
    };
    p.values.insert(Var::ResponseLength, len.to_string());
    if r.chance(60) {
        p.method_status = Some(status.clone());
    }
    let has: Vec<&str> = rule
        .conds
        .iter()
        .chain(rule.requires)
        .filter_map(|c| match c {
            Cond::MsgHas(t) => Some(*t),
            _ => None,
        })
        .collect();
    let lacks: Vec<&str> = rule
        .conds
        .iter()
        .filter_map(|c| match c {
            Cond::MsgLacks(t) => Some(*t),
            _ => None,
        })
        .collect();
    let fitting: Vec<&str> = MESSAGES
        .iter()
        .copied()
        .filter(|m| has.iter().all(|t| m.contains(t)) && !lacks.iter().any(|t| m.contains(t)))
        .collect();
    if !fitting.is_empty() {
        p.values
            .insert(Var::ErrorMessage, r.pick(&fitting).to_string());
    }
    let mut lacked: Vec<Fact> = Vec::new();
    for c in rule.conds.iter().chain(rule.requires) {
        // Now and then a condition is violated: the row then has fewer or other candidates.
        let violate = r.chance(8);
        apply(r, &mut p, c, violate, &status, &mut lacked);
    }
    p.facts.retain(|f| !lacked.contains(f));
    if r.chance(10) {
        p.facts.push(r.pick(ALL_FACTS));
    }
    if p.decision.is_some() && p.invoked.is_none() {
        p.invoked = Some(true);
    }
    p
}

/// Writes `n` synthetic requests (access, execution and, with `lambda`, authorizer logs) to
/// `dir`; returns the files. With `config`, half of them go to the methods `write_config`
/// describes.
pub fn write(dir: &Path, seed: u64, n: usize, lambda: bool, config: bool) -> Vec<PathBuf> {
    let mut r = Rng(seed);
    let (mut access, mut exec, mut auth) = (String::new(), String::new(), String::new());
    for i in 0..n {
        let id = format!("00000000-0000-4000-8000-{i:012}");
        let lambda_id = format!("11111111-0000-4000-8000-{i:012}");
        let t = DAY_MS + 14 * 3_600_000 + (i as i64) * 1_000;
        let rule = (!r.chance(8)).then(|| &RULES[r.below(RULES.len())]);
        let mut p = plan(&mut r, rule);

        // Keys: the whole enhanced format, or a random subset of derived spellings.
        let enhanced = r.chance(40);
        let keys: Vec<(Var, String)> = VARS
            .iter()
            .filter_map(|(v, ek)| match (enhanced, ek) {
                (true, Some(k)) => Some((*v, k.to_string())),
                (true, None) => None,
                // authenticate-status / authorize-status never derive a meaning.
                (false, _) if matches!(v, Var::AuthenticateStatus | Var::AuthorizeStatus) => None,
                (false, _) => r.chance(70).then(|| (*v, v.name().to_string())),
            })
            .collect();
        let carries = |v: Var| keys.iter().any(|(k, _)| *k == v);
        // Make the access record agree with the planned invocation.
        let invoked = p.invoked.unwrap_or_else(|| r.chance(50));
        // (Now and then the two access-log signals disagree.)
        if (p.invoked.is_some() || r.chance(50)) && !r.chance(20) {
            let (rid, integ) = if invoked {
                (lambda_id.clone(), "200".to_string())
            } else {
                ("-".to_string(), "-".to_string())
            };
            p.values.insert(Var::AuthorizerRequestId, rid);
            if p.values[&Var::AuthorizerIntegrationStatus] != "500" || !invoked {
                p.values.insert(Var::AuthorizerIntegrationStatus, integ);
            }
        }
        // An invocation that names neither id, tied to the request by time and route only:
        // the request's route is its own, and the record or the execution log says the
        // authorizer ran.
        let inferred = lambda
            && invoked
            && !carries(Var::AuthorizerRequestId)
            && p.values[&Var::ResourcePath] != "-"
            && r.chance(35);
        if inferred {
            if carries(Var::ResourcePath) {
                p.values.insert(Var::ResourcePath, format!("/inf{i}"));
            }
            if carries(Var::AuthorizerIntegrationStatus) {
                p.values
                    .insert(Var::AuthorizerIntegrationStatus, "200".into());
            } else {
                p.exec = true;
                p.facts.push(Fact::AuthorizerInvoked);
            }
        }
        // Half the requests go to a configured method (`write_config`), of an API the record
        // names or not.
        let mut api_field = None;
        if config && !inferred && r.chance(50) {
            let path = config_path(&mut r, rule);
            if p.values[&Var::ResourcePath] != "-" {
                p.values.insert(Var::ResourcePath, path.to_string());
            }
            if p.values[&Var::RouteKey] != "-" {
                p.values.insert(Var::RouteKey, format!("GET {path}"));
            }
            api_field = [Some(APIS[0]), Some(APIS[1]), None][r.below(3)];
        }
        let mut fields = vec![
            ("requestId".to_string(), serde_json::to_string(&id).unwrap()),
            ("requestTimeEpoch".to_string(), format!("\"{t}\"")),
            ("httpMethod".to_string(), "\"GET\"".to_string()),
        ];
        if let Some(api) = api_field {
            fields.push(("apiId".to_string(), serde_json::to_string(api).unwrap()));
        }
        for (v, key) in &keys {
            let x = &p.values[v];
            let rendered = match (x.parse::<i64>(), r.below(10)) {
                (_, 0) if x == "-" => "null".to_string(),
                (Ok(num), 1) => num.to_string(),
                _ => serde_json::to_string(x).unwrap(),
            };
            fields.push((key.clone(), rendered));
        }
        if enhanced {
            for (k, x) in ENHANCED_REST {
                fields.push((k.to_string(), serde_json::to_string(x).unwrap()));
            }
        }
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
            .collect();
        access.push_str(&format!("{{{}}}\n", body.join(",")));

        if p.exec {
            if p.facts.is_empty() {
                exec.push_str(&format!("({id}) Extended Request Id: ext{i}\n"));
            }
            for f in &p.facts {
                exec.push_str(&format!("({id}) {}\n", fact_line(*f, &id)));
            }
            if let Some(s) = &p.method_status {
                exec.push_str(&format!("({id}) Method completed with status: {s}\n"));
            }
        }

        // The invocation, linked through authorizer.requestId when the record carries the
        // Lambda's id, else through the requestContext the function logs.
        let by_id =
            carries(Var::AuthorizerRequestId) && p.values[&Var::AuthorizerRequestId] == lambda_id;
        let by_context = !carries(Var::AuthorizerRequestId) && !inferred;
        if lambda && invoked && (by_id || by_context || inferred) {
            let at = iso(t + 5);
            auth.push_str(&format!("START RequestId: {lambda_id} Version: $LATEST\n"));
            if inferred {
                auth.push_str(&format!(
                    "{at}\t{lambda_id}\tINFO\tchecking methodArn=arn:aws:execute-api:us-east-2:1:a/live/GET/inf{i}\n"
                ));
            }
            if by_context {
                auth.push_str(&format!(
                    "{at}\t{lambda_id}\tINFO\tevent {{\"type\":\"REQUEST\",\"requestContext\":{{\"requestId\":\"{id}\"}}}}\n"
                ));
            }
            let decision = p.decision.unwrap_or_else(|| r.pick(DECISIONS));
            match decision {
                Decision::Allow | Decision::Deny => auth.push_str(&format!(
                    "{at}\t{lambda_id}\tINFO\tauthorizer decision={} principalId=u1\n",
                    if decision == Decision::Allow { "Allow" } else { "Deny" }
                )),
                Decision::Unauthorized => auth.push_str(&format!(
                    "{at}\t{lambda_id}\tERROR\tInvoke Error \t{{\"errorType\":\"Error\",\"errorMessage\":\"Unauthorized\"}}\n"
                )),
                Decision::Error => auth.push_str(&format!(
                    "{at}\t{lambda_id}\tERROR\tInvoke Error \t{{\"errorType\":\"TypeError\",\"errorMessage\":\"Cannot read properties of undefined\"}}\n"
                )),
                Decision::Timeout => auth.push_str(&format!(
                    "{} {lambda_id} Task timed out after 3.00 seconds\n",
                    iso(t + 3005)
                )),
            }
            auth.push_str(&format!("END RequestId: {lambda_id}\n"));
            auth.push_str(&format!(
                "REPORT RequestId: {lambda_id}\tDuration: 5.00 ms\tBilled Duration: 6 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\t\n"
            ));
        }
    }
    let mut files = Vec::new();
    for (name, text) in [
        ("access.log", access),
        ("execution.log", exec),
        ("authorizer.log", auth),
    ] {
        if !text.is_empty() {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            files.push(path);
        }
    }
    files
}
