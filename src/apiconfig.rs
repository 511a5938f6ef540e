//! The API's configuration, read from what the AWS CLI prints (`--api-config`): each method's
//! auth type and whether it needs an API key, each authorizer's type, cache TTL and function,
//! and whether the gateway responses a denial can produce are still the defaults (the
//! condition for the body-length heuristic). Which document a file is comes from its keys:
//!
//! - `aws apigateway get-export --export-type oas30|swagger --parameters extensions=apigateway`
//!   and `aws apigatewayv2 export-api` (OpenAPI `paths` with `security`,
//!   `x-amazon-apigateway-authorizer`, `x-amazon-apigateway-authtype`,
//!   `x-amazon-apigateway-gateway-responses`);
//! - `aws apigateway get-authorizers` (`items[]` with `type`, `authorizerUri`, …) and
//!   `aws apigatewayv2 get-authorizers` (`Items[]` with `AuthorizerType`);
//! - `aws apigatewayv2 get-routes` (`Items[]` with `RouteKey`, `AuthorizationType`);
//! - `aws apigateway get-gateway-responses` (`items[]` with `responseType`);
//! - `aws apigateway get-stage` / `get-stages` (`stageName`, `accessLogSettings`, …).
//!
//! A request is matched to a method by api id (when a document, the flag or the file's path
//! names one; otherwise the document applies to every API), HTTP method and resource path
//! template (`$context.resourcePath`, else the route key, else the actual path matched against
//! the templates). The facts the classifier reads are [`ConfigFacts`]; the `requests` table
//! stores them so that `classify.sql` reads the same.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ApiConfigError {
    /// The file cannot be read.
    #[error("--api-config {path}: cannot read it: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("--api-config {path}: not JSON ({msg}); expected the JSON output of aws apigateway get-export, get-authorizers, get-gateway-responses or get-stage")]
    NotJson {
        /// The file.
        path: String,
        /// The parser's message.
        msg: String,
    },
    /// JSON, but none of the documents gatelog reads.
    #[error("--api-config {path}: {what}; expected the JSON output of `aws apigateway get-export --parameters extensions=apigateway` (OpenAPI with `paths`), `get-authorizers` (`items` with `type`), `get-gateway-responses` (`items` with `responseType`), `get-stage` (`stageName`), or `aws apigatewayv2 export-api` / `get-authorizers` / `get-routes`")]
    Unknown {
        /// The file.
        path: String,
        /// What it looked like.
        what: String,
    },
    /// The `API_ID=` prefix of the flag is not an API id.
    #[error("--api-config {arg}: `{api}` is not an API id (letters and digits)")]
    BadApiId {
        /// The flag's value.
        arg: String,
        /// The prefix.
        api: String,
    },
}

/// How a method authenticates its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthType {
    /// Open.
    None,
    /// IAM (SigV4).
    AwsIam,
    /// A Lambda authorizer (TOKEN or REQUEST).
    Custom,
    /// A Cognito user-pool authorizer.
    CognitoUserPools,
    /// A JWT authorizer (HTTP APIs, and REST APIs' JWT authorizers).
    Jwt,
}

impl AuthType {
    /// Every auth type.
    pub const ALL: [AuthType; 5] = [
        AuthType::None,
        AuthType::AwsIam,
        AuthType::Custom,
        AuthType::CognitoUserPools,
        AuthType::Jwt,
    ];

    /// The name API Gateway uses (`authorizationType`), as stored in `method_auth_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::None => "NONE",
            AuthType::AwsIam => "AWS_IAM",
            AuthType::Custom => "CUSTOM",
            AuthType::CognitoUserPools => "COGNITO_USER_POOLS",
            AuthType::Jwt => "JWT",
        }
    }

    /// The auth type named `s` (any case).
    pub fn from_name(s: &str) -> Option<AuthType> {
        AuthType::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

/// What kind of authorizer a method uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthorizerType {
    /// Lambda, called with the token.
    Token,
    /// Lambda, called with the request's identity sources.
    Request,
    /// Cognito user pool.
    CognitoUserPools,
    /// JWT.
    Jwt,
}

impl AuthorizerType {
    /// The name API Gateway uses, as stored in `authorizer_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizerType::Token => "TOKEN",
            AuthorizerType::Request => "REQUEST",
            AuthorizerType::CognitoUserPools => "COGNITO_USER_POOLS",
            AuthorizerType::Jwt => "JWT",
        }
    }

    fn from_name(s: &str) -> Option<AuthorizerType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "TOKEN" => AuthorizerType::Token,
            "REQUEST" => AuthorizerType::Request,
            "COGNITO_USER_POOLS" => AuthorizerType::CognitoUserPools,
            "JWT" => AuthorizerType::Jwt,
            _ => return None,
        })
    }

    /// The auth type of a method using this authorizer.
    pub fn auth_type(self) -> AuthType {
        match self {
            AuthorizerType::Token | AuthorizerType::Request => AuthType::Custom,
            AuthorizerType::CognitoUserPools => AuthType::CognitoUserPools,
            AuthorizerType::Jwt => AuthType::Jwt,
        }
    }
}

/// One method (REST) or route (HTTP API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// The API, when known.
    pub api_id: Option<String>,
    /// Uppercase HTTP method, or `ANY`.
    pub http_method: String,
    /// Resource path template (`/payments/{paymentId}`; `$default` for the default route).
    pub path: String,
    /// How callers authenticate.
    pub auth: AuthType,
    /// The authorizer's name or id, for CUSTOM / COGNITO / JWT methods.
    pub authorizer: Option<String>,
    /// The method requires an API key.
    pub api_key_required: bool,
    /// Authorization scopes the method requires (Cognito / JWT).
    pub scopes: Vec<String>,
    /// Index of the file that described it.
    pub file: usize,
}

/// One authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorizer {
    /// The API, when known.
    pub api_id: Option<String>,
    /// Its id, when the document gives it.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its type.
    pub kind: Option<AuthorizerType>,
    /// `authorizerResultTtlInSeconds` (0: no caching).
    pub ttl_s: Option<i64>,
    /// The Lambda function's name, from `authorizerUri`.
    pub function_name: Option<String>,
    /// Where the identity comes from.
    pub identity_source: Option<String>,
    /// HTTP API Lambda authorizer returning `{"isAuthorized": …}`.
    pub simple_responses: Option<bool>,
    /// Index of the file that described it.
    pub file: usize,
}

/// The state of an API's gateway responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponses {
    /// The API, when known.
    pub api_id: Option<String>,
    /// Response types whose status or body template differs from the default, directly or
    /// through a customised `DEFAULT_4XX` / `DEFAULT_5XX` they fall back to.
    pub customised: BTreeSet<String>,
    /// From `get-gateway-responses`, which lists every type: it outranks what an export
    /// implies.
    pub listed: bool,
    /// Index of the file that described it.
    pub file: usize,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The API, when known.
    pub api_id: Option<String>,
    /// `stageName`.
    pub name: String,
    /// `accessLogSettings.format`.
    pub access_log_format: Option<String>,
    /// `cacheClusterEnabled`.
    pub cache_cluster_enabled: bool,
    /// `webAclArn`.
    pub web_acl_arn: Option<String>,
    /// Index of the file that described it.
    pub file: usize,
}

/// Everything the `--api-config` files said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiConfig {
    /// The files, as given.
    pub files: Vec<String>,
    /// What each file was recognised as (`get-export`, `get-authorizers`, …).
    pub kinds: Vec<&'static str>,
    /// Methods and routes.
    pub methods: Vec<Method>,
    /// Authorizers.
    pub authorizers: Vec<Authorizer>,
    /// Gateway responses, per API.
    pub responses: Vec<GatewayResponses>,
    /// Stages.
    pub stages: Vec<Stage>,
    /// Methods by resource path template, for the per-request lookup.
    by_path: std::collections::HashMap<String, Vec<usize>>,
}

/// The configuration facts about one request, as the classifier reads them and the `requests`
/// table stores them (`method_auth_type`, `authorizer_name`, `authorizer_type`,
/// `authorizer_ttl_s`, `api_key_required`, `gateway_responses_default`,
/// `gateway_responses_customised`). All empty when no `--api-config` was given or it says
/// nothing about the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFacts {
    /// The method's auth type.
    pub method_auth_type: Option<AuthType>,
    /// The method's authorizer.
    pub authorizer_name: Option<String>,
    /// Its type.
    pub authorizer_type: Option<AuthorizerType>,
    /// Its cache TTL in seconds.
    pub authorizer_ttl_s: Option<i64>,
    /// The method requires an API key.
    pub api_key_required: Option<bool>,
    /// Whether every gateway response type is the default (null: not known).
    pub gateway_responses_default: Option<bool>,
    /// The customised response types (empty when defaults or unknown).
    pub gateway_responses_customised: Vec<String>,
    /// The files the facts came from.
    pub files: Vec<String>,
}

impl ConfigFacts {
    /// Whether the config says the gateway response `rt` is customised (`Some(true)`), the
    /// default (`Some(false)`), or nothing (`None`).
    pub fn response_customised(&self, rt: &str) -> Option<bool> {
        self.gateway_responses_default
            .map(|_| self.gateway_responses_customised.iter().any(|c| c == rt))
    }

    /// Whether any fact is known.
    pub fn is_empty(&self) -> bool {
        self.method_auth_type.is_none()
            && self.authorizer_type.is_none()
            && self.authorizer_ttl_s.is_none()
            && self.api_key_required.is_none()
            && self.gateway_responses_default.is_none()
    }
}

/// The gateway response types with their default statuses (FORMATS.md §2); `DEFAULT_4XX` and
/// `DEFAULT_5XX` have none.
pub const RESPONSE_TYPES: &[(&str, Option<i64>)] = &[
    ("ACCESS_DENIED", Some(403)),
    ("API_CONFIGURATION_ERROR", Some(500)),
    ("AUTHORIZER_CONFIGURATION_ERROR", Some(500)),
    ("AUTHORIZER_FAILURE", Some(500)),
    ("BAD_REQUEST_PARAMETERS", Some(400)),
    ("BAD_REQUEST_BODY", Some(400)),
    ("DEFAULT_4XX", None),
    ("DEFAULT_5XX", None),
    ("EXPIRED_TOKEN", Some(403)),
    ("INTEGRATION_FAILURE", Some(504)),
    ("INTEGRATION_TIMEOUT", Some(504)),
    ("INVALID_API_KEY", Some(403)),
    ("INVALID_SIGNATURE", Some(403)),
    ("MISSING_AUTHENTICATION_TOKEN", Some(403)),
    ("QUOTA_EXCEEDED", Some(429)),
    ("REQUEST_TOO_LARGE", Some(413)),
    ("RESOURCE_NOT_FOUND", Some(404)),
    ("THROTTLED", Some(429)),
    ("UNAUTHORIZED", Some(401)),
    ("UNSUPPORTED_MEDIA_TYPE", Some(415)),
    ("WAF_FILTERED", Some(403)),
];

/// The default body template of every gateway response.
const DEFAULT_TEMPLATE: &str = r#"{"message":$context.error.messageString}"#;

fn default_status(rt: &str) -> Option<i64> {
    RESPONSE_TYPES
        .iter()
        .find(|(t, _)| *t == rt)
        .and_then(|(_, s)| *s)
}

/// The fallback of a response type that is not customised itself.
fn fallback(rt: &str) -> Option<&'static str> {
    match default_status(rt) {
        Some(s) if (400..500).contains(&s) => Some("DEFAULT_4XX"),
        Some(s) if (500..600).contains(&s) => Some("DEFAULT_5XX"),
        _ => None,
    }
}

fn no_space(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether one response's status or body template differs from the default. Headers
/// (`responseParameters`, e.g. CORS) do not change the body and do not count.
fn is_customised(rt: &str, status: Option<&Value>, templates: Option<&Value>) -> bool {
    let status = status.and_then(|s| match s {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    if status.is_some() && status != default_status(rt) {
        return true;
    }
    match templates.and_then(Value::as_object) {
        Some(t) => t.values().any(|v| {
            v.as_str()
                .is_some_and(|s| no_space(s) != no_space(DEFAULT_TEMPLATE))
        }),
        None => false,
    }
}

/// Response types customised, with fallbacks applied, from the explicitly customised ones.
fn expand_customised(explicit: &[(String, bool)]) -> BTreeSet<String> {
    let state = |rt: &str| explicit.iter().find(|(t, _)| t == rt).map(|(_, c)| *c);
    let mut out = BTreeSet::new();
    let mut types: Vec<&str> = RESPONSE_TYPES.iter().map(|(t, _)| *t).collect();
    for (t, _) in explicit {
        if !types.contains(&t.as_str()) {
            types.push(t);
        }
    }
    for t in types {
        let c = match state(t) {
            Some(c) => c,
            None => fallback(t).and_then(state).unwrap_or(false),
        };
        if c {
            out.insert(t.to_string());
        }
    }
    out
}

/// The Lambda function name in an `authorizerUri`
/// (`arn:aws:apigateway:…:lambda:path/2015-03-31/functions/arn:aws:lambda:…:function:NAME[:alias]/invocations`)
/// or a bare function ARN.
pub fn function_name(uri: &str) -> Option<String> {
    let rest = uri.split(":function:").nth(1)?;
    let name = rest.split(['/', ':']).next()?;
    (!name.is_empty()).then(|| name.to_string())
}

/// An API id named by a file path: a path component (or a `-`/`_`/`.`-separated part of the
/// file name) of exactly ten lowercase letters and digits with at least one of each, the shape
/// of API Gateway ids.
pub fn api_id_in_path(path: &Path) -> Option<String> {
    let is_id = |s: &str| {
        s.len() == 10
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.bytes().any(|b| b.is_ascii_digit())
            && s.bytes().any(|b| b.is_ascii_lowercase())
    };
    let mut found = None;
    for c in path.components() {
        let c = c.as_os_str().to_string_lossy();
        for part in c.split(['-', '_', '.', '=']) {
            if is_id(part) {
                found = Some(part.to_string());
            }
        }
    }
    found
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The API id an OpenAPI export names: `host` (swagger) or `servers[].url` (OAS 3), when it is
/// the `execute-api` host `{apiId}.execute-api.{region}.amazonaws.com`.
fn export_api_id(doc: &Map<String, Value>) -> Option<String> {
    let mut hosts: Vec<String> = Vec::new();
    if let Some(h) = doc.get("host").and_then(Value::as_str) {
        hosts.push(h.to_string());
    }
    if let Some(servers) = doc.get("servers").and_then(Value::as_array) {
        for sv in servers {
            if let Some(u) = sv.get("url").and_then(Value::as_str) {
                let u = u.split("://").nth(1).unwrap_or(u);
                hosts.push(u.split('/').next().unwrap_or_default().to_string());
            }
        }
    }
    hosts.iter().find_map(|h| {
        let (id, rest) = h.split_once('.')?;
        (rest.starts_with("execute-api.") && !id.is_empty()).then(|| id.to_string())
    })
}

const OPERATIONS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

/// What a security scheme of an export is.
#[derive(Debug, Clone)]
enum Scheme {
    ApiKey,
    Other,
    Iam,
    Authorizer(Authorizer),
}

fn scheme_of(name: &str, v: &Value, api: &Option<String>, file: usize) -> Scheme {
    let authtype = v
        .get("x-amazon-apigateway-authtype")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let az = v.get("x-amazon-apigateway-authorizer");
    if authtype == "awssigv4" || authtype == "aws_iam" {
        return Scheme::Iam;
    }
    if let Some(az) = az {
        let kind = az
            .get("type")
            .and_then(Value::as_str)
            .and_then(AuthorizerType::from_name)
            .or_else(|| {
                (authtype == "cognito_user_pools").then_some(AuthorizerType::CognitoUserPools)
            });
        let uri = s(az, "authorizerUri");
        let identity = match az.get("identitySource") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        // REST exports leave the TTL out when it is the documented default of 300 s; HTTP API
        // Lambda authorizers default to no caching; JWT and Cognito authorizers have none.
        let ttl = int(az.get("authorizerResultTtlInSeconds")).or(match kind {
            Some(AuthorizerType::Token | AuthorizerType::Request)
                if az.get("authorizerPayloadFormatVersion").is_none() =>
            {
                Some(300)
            }
            Some(AuthorizerType::Request) => Some(0),
            _ => None,
        });
        return Scheme::Authorizer(Authorizer {
            api_id: api.clone(),
            id: None,
            name: Some(name.to_string()),
            kind,
            ttl_s: ttl,
            function_name: uri.as_deref().and_then(function_name),
            identity_source: identity,
            simple_responses: az.get("enableSimpleResponses").and_then(Value::as_bool),
            file,
        });
    }
    if authtype == "cognito_user_pools" {
        return Scheme::Authorizer(Authorizer {
            api_id: api.clone(),
            name: Some(name.to_string()),
            kind: Some(AuthorizerType::CognitoUserPools),
            file,
            ..Default::default()
        });
    }
    // API keys are exported as an `apiKey` scheme (`x-api-key`) without an authtype.
    if authtype.is_empty() && v.get("type").and_then(Value::as_str) == Some("apiKey") {
        Scheme::ApiKey
    } else {
        Scheme::Other
    }
}

impl ApiConfig {
    /// Reads every `--api-config` value (`[API_ID=]FILE`).
    pub fn load(args: &[String]) -> Result<ApiConfig, ApiConfigError> {
        let mut cfg = ApiConfig::default();
        for arg in args {
            let (api, path) = match arg.split_once('=') {
                Some((api, path)) if !Path::new(arg).exists() => {
                    if api.is_empty() || !api.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        return Err(ApiConfigError::BadApiId {
                            arg: arg.clone(),
                            api: api.to_string(),
                        });
                    }
                    (Some(api.to_string()), PathBuf::from(path))
                }
                _ => (None, PathBuf::from(arg)),
            };
            let display = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| ApiConfigError::Read {
                path: display.clone(),
                source,
            })?;
            let api = api.or_else(|| api_id_in_path(&path));
            cfg.add_document(&display, &text, api)?;
        }
        Ok(cfg)
    }

    /// Adds one document; `api` is the API id the flag or the file path names.
    pub fn add_document(
        &mut self,
        name: &str,
        text: &str,
        api: Option<String>,
    ) -> Result<(), ApiConfigError> {
        let text = text.trim_start_matches('\u{feff}');
        let v: Value = serde_json::from_str(text).map_err(|e| ApiConfigError::NotJson {
            path: name.to_string(),
            msg: e.to_string(),
        })?;
        let Some(doc) = v.as_object() else {
            return Err(ApiConfigError::Unknown {
                path: name.to_string(),
                what: "the JSON is not an object".into(),
            });
        };
        let file = self.files.len();
        let kind = if doc.contains_key("paths")
            && (doc.contains_key("openapi") || doc.contains_key("swagger"))
        {
            self.add_export(doc, api, file);
            "get-export"
        } else if let Some(items) = doc.get("items").and_then(Value::as_array) {
            self.add_v1_items(name, items, api, file)?
        } else if let Some(items) = doc.get("Items").and_then(Value::as_array) {
            self.add_v2_items(name, items, api, file)?
        } else if doc.contains_key("stageName") {
            self.add_stage(doc, api, file);
            "get-stage"
        } else if let Some(items) = doc.get("item").and_then(Value::as_array) {
            let mut n = 0;
            for st in items {
                if let Some(st) = st.as_object().filter(|o| o.contains_key("stageName")) {
                    self.add_stage(st, api.clone(), file);
                    n += 1;
                }
            }
            if n == 0 && !items.is_empty() {
                return Err(ApiConfigError::Unknown {
                    path: name.to_string(),
                    what: "its `item` list holds no stage (no `stageName`)".into(),
                });
            }
            "get-stages"
        } else {
            let mut keys: Vec<&str> = doc.keys().map(String::as_str).take(6).collect();
            keys.sort_unstable();
            return Err(ApiConfigError::Unknown {
                path: name.to_string(),
                what: format!("a JSON object with keys {}", keys.join(", ")),
            });
        };
        self.files.push(name.to_string());
        self.kinds.push(kind);
        self.by_path.clear();
        for (i, m) in self.methods.iter().enumerate() {
            self.by_path.entry(m.path.clone()).or_default().push(i);
        }
        Ok(())
    }

    fn add_export(&mut self, doc: &Map<String, Value>, api: Option<String>, file: usize) {
        let api = export_api_id(doc).or(api);
        let http_api = doc.contains_key("x-amazon-apigateway-importexport-version");
        let schemes = doc
            .get("securityDefinitions")
            .or_else(|| doc.pointer_obj("/components/securitySchemes"))
            .and_then(Value::as_object);
        let mut named: Vec<(String, Scheme)> = Vec::new();
        if let Some(schemes) = schemes {
            for (n, v) in schemes {
                let sc = scheme_of(n, v, &api, file);
                if let Scheme::Authorizer(a) = &sc {
                    self.authorizers.push(a.clone());
                }
                named.push((n.clone(), sc));
            }
        }
        let global = doc.get("security");
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for (op, verb) in OPERATIONS {
                    let Some(o) = item.get(op) else { continue };
                    let security = o.get("security").or(global);
                    let mut m = Method {
                        api_id: api.clone(),
                        http_method: verb.to_string(),
                        path: path.clone(),
                        auth: AuthType::None,
                        authorizer: None,
                        api_key_required: false,
                        scopes: Vec::new(),
                        file,
                    };
                    // `security` is a list of alternatives; API Gateway exports one entry
                    // holding every requirement of the method.
                    for req in security.and_then(Value::as_array).into_iter().flatten() {
                        let Some(req) = req.as_object() else { continue };
                        for (n, scopes) in req {
                            match named.iter().find(|(x, _)| x == n).map(|(_, s)| s) {
                                Some(Scheme::ApiKey) => m.api_key_required = true,
                                Some(Scheme::Iam) => m.auth = AuthType::AwsIam,
                                Some(Scheme::Authorizer(a)) => {
                                    m.auth = a.kind.map_or(AuthType::Custom, |k| k.auth_type());
                                    m.authorizer = a.name.clone();
                                    m.scopes = scopes
                                        .as_array()
                                        .into_iter()
                                        .flatten()
                                        .filter_map(Value::as_str)
                                        .map(str::to_string)
                                        .collect();
                                }
                                Some(Scheme::Other) | None => {}
                            }
                        }
                    }
                    if http_api && m.path == "/$default" {
                        m.path = "$default".into();
                    }
                    self.methods.push(m);
                }
            }
        }
        // An export with the API Gateway extensions lists the customised gateway responses;
        // one without them says nothing. HTTP APIs have no gateway responses to customise.
        let has_extensions = doc.keys().any(|k| k.starts_with("x-amazon-apigateway"))
            || named
                .iter()
                .any(|(_, s)| matches!(s, Scheme::Authorizer(_) | Scheme::Iam));
        let responses = doc
            .get("x-amazon-apigateway-gateway-responses")
            .and_then(Value::as_object);
        if http_api || responses.is_some() || has_extensions {
            let explicit: Vec<(String, bool)> = responses
                .into_iter()
                .flatten()
                .map(|(rt, r)| {
                    let c = is_customised(rt, r.get("statusCode"), r.get("responseTemplates"));
                    (rt.clone(), c)
                })
                .collect();
            self.responses.push(GatewayResponses {
                api_id: api,
                customised: expand_customised(&explicit),
                listed: false,
                file,
            });
        }
    }

    fn add_v1_items(
        &mut self,
        name: &str,
        items: &[Value],
        api: Option<String>,
        file: usize,
    ) -> Result<&'static str, ApiConfigError> {
        let has = |k: &str| items.iter().any(|i| i.get(k).is_some());
        if has("responseType") {
            let explicit: Vec<(String, bool)> = items
                .iter()
                .filter_map(|i| {
                    let rt = s(i, "responseType")?;
                    let default = i.get("defaultResponse").and_then(Value::as_bool);
                    let c = default != Some(true)
                        && is_customised(&rt, i.get("statusCode"), i.get("responseTemplates"));
                    Some((rt, c))
                })
                .collect();
            self.responses.push(GatewayResponses {
                api_id: api,
                customised: expand_customised(&explicit),
                listed: true,
                file,
            });
            return Ok("get-gateway-responses");
        }
        if items.is_empty() || has("authorizerUri") || has("providerARNs") || has("type") {
            for i in items {
                let kind = i
                    .get("type")
                    .and_then(Value::as_str)
                    .and_then(AuthorizerType::from_name);
                self.authorizers.push(Authorizer {
                    api_id: api.clone(),
                    id: s(i, "id"),
                    name: s(i, "name"),
                    kind,
                    ttl_s: int(i.get("authorizerResultTtlInSeconds")).or(match kind {
                        Some(AuthorizerType::Token | AuthorizerType::Request) => Some(300),
                        _ => None,
                    }),
                    function_name: i
                        .get("authorizerUri")
                        .and_then(Value::as_str)
                        .and_then(function_name),
                    identity_source: s(i, "identitySource"),
                    simple_responses: None,
                    file,
                });
            }
            return Ok("get-authorizers");
        }
        Err(ApiConfigError::Unknown {
            path: name.to_string(),
            what: "its `items` are neither authorizers (`type`, `authorizerUri`) nor gateway responses (`responseType`)".into(),
        })
    }

    fn add_v2_items(
        &mut self,
        name: &str,
        items: &[Value],
        api: Option<String>,
        file: usize,
    ) -> Result<&'static str, ApiConfigError> {
        let has = |k: &str| items.iter().any(|i| i.get(k).is_some());
        if has("RouteKey") {
            for i in items {
                let Some(rk) = s(i, "RouteKey") else { continue };
                let (verb, path) = split_route_key(&rk);
                self.methods.push(Method {
                    api_id: api.clone(),
                    http_method: verb.to_string(),
                    path: path.to_string(),
                    auth: i
                        .get("AuthorizationType")
                        .and_then(Value::as_str)
                        .and_then(AuthType::from_name)
                        .unwrap_or(AuthType::None),
                    authorizer: s(i, "AuthorizerId"),
                    api_key_required: i
                        .get("ApiKeyRequired")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    scopes: i
                        .get("AuthorizationScopes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    file,
                });
            }
            return Ok("apigatewayv2 get-routes");
        }
        if items.is_empty() || has("AuthorizerType") {
            for i in items {
                let kind = i
                    .get("AuthorizerType")
                    .and_then(Value::as_str)
                    .and_then(AuthorizerType::from_name);
                self.authorizers.push(Authorizer {
                    api_id: api.clone(),
                    id: s(i, "AuthorizerId"),
                    name: s(i, "Name"),
                    kind,
                    ttl_s: int(i.get("AuthorizerResultTtlInSeconds")).or(match kind {
                        Some(AuthorizerType::Request) => Some(0),
                        _ => None,
                    }),
                    function_name: i
                        .get("AuthorizerUri")
                        .and_then(Value::as_str)
                        .and_then(function_name),
                    identity_source: i.get("IdentitySource").and_then(|v| match v {
                        Value::Array(a) => Some(
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    }),
                    simple_responses: i.get("EnableSimpleResponses").and_then(Value::as_bool),
                    file,
                });
            }
            return Ok("apigatewayv2 get-authorizers");
        }
        Err(ApiConfigError::Unknown {
            path: name.to_string(),
            what: "its `Items` are neither routes (`RouteKey`) nor authorizers (`AuthorizerType`)"
                .into(),
        })
    }

    fn add_stage(&mut self, st: &Map<String, Value>, api: Option<String>, file: usize) {
        let Some(name) = st.get("stageName").and_then(Value::as_str) else {
            return;
        };
        let api = st
            .get("restApiId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(api);
        self.stages.push(Stage {
            api_id: api,
            name: name.to_string(),
            access_log_format: st
                .get("accessLogSettings")
                .and_then(|a| a.get("format"))
                .and_then(Value::as_str)
                .map(str::to_string),
            cache_cluster_enabled: st
                .get("cacheClusterEnabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            web_acl_arn: st
                .get("webAclArn")
                .and_then(Value::as_str)
                .map(str::to_string),
            file,
        });
    }

    /// Whether no file was given.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The facts about one request: its API (when known), HTTP method, resource path template,
    /// route key, actual path and stage, and the function name of the authorizer invocation
    /// joined to it.
    pub fn facts(&self, req: &RequestKey<'_>) -> ConfigFacts {
        let mut out = ConfigFacts::default();
        if self.is_empty() {
            return out;
        }
        let api_ok = |a: &Option<String>| match (a, req.api_id) {
            (Some(a), Some(r)) => a == r,
            _ => true,
        };
        let mut files: BTreeSet<usize> = BTreeSet::new();
        // The method: every matching description must agree, else none is used.
        // A logged template (resource path or route key) is looked up; only the actual path
        // is matched against every template.
        let template = match (req.route_key, req.resource_path) {
            (Some(rk), _) => Some(split_route_key(rk).1),
            (None, rp) => rp,
        };
        let methods: Vec<&Method> = match template {
            Some(t) => self
                .by_path
                .get(t)
                .into_iter()
                .flatten()
                .map(|&i| &self.methods[i])
                .filter(|m| api_ok(&m.api_id) && method_matches(m, req))
                .collect(),
            None => self
                .methods
                .iter()
                .filter(|m| api_ok(&m.api_id) && method_matches(m, req))
                .collect(),
        };
        // An exact template beats a route that only matches the actual path or `ANY`.
        let best = methods
            .iter()
            .map(|m| match_rank(m, req))
            .min()
            .unwrap_or(u8::MAX);
        let methods: Vec<&Method> = methods
            .into_iter()
            .filter(|m| match_rank(m, req) == best)
            .collect();
        let first = methods.first().copied();
        let agree = methods.iter().all(|m| {
            first.is_some_and(|f| {
                m.auth == f.auth
                    && m.api_key_required == f.api_key_required
                    && m.authorizer == f.authorizer
            })
        });
        if let (Some(m), true) = (first, agree) {
            out.method_auth_type = Some(m.auth);
            out.api_key_required = Some(m.api_key_required);
            files.extend(methods.iter().map(|m| m.file));
            if matches!(
                m.auth,
                AuthType::Custom | AuthType::CognitoUserPools | AuthType::Jwt
            ) {
                out.authorizer_name = m.authorizer.clone();
                // Details of the same authorizer from several documents complete each other
                // (the export names it, get-authorizers gives its id and TTL).
                let mut az: Option<Authorizer> = None;
                for a in self.authorizers.iter().filter(|a| {
                    api_ok(&a.api_id)
                        && m.authorizer.is_some()
                        && (a.name == m.authorizer || a.id == m.authorizer)
                }) {
                    files.insert(a.file);
                    let cur = az.get_or_insert_with(|| a.clone());
                    cur.kind = cur.kind.or(a.kind);
                    cur.ttl_s = if a.file > cur.file && a.ttl_s.is_some() {
                        a.ttl_s
                    } else {
                        cur.ttl_s.or(a.ttl_s)
                    };
                    cur.name = cur.name.clone().or(a.name.clone());
                }
                if let Some(a) = az {
                    if a.name.is_some() {
                        out.authorizer_name = a.name.clone();
                    }
                    out.authorizer_type = a.kind;
                    out.authorizer_ttl_s = match a.kind {
                        Some(AuthorizerType::CognitoUserPools | AuthorizerType::Jwt) => None,
                        _ => a.ttl_s,
                    };
                }
            }
        }
        // No method known, but the invocation joined to the request names the function: its
        // authorizer's type and TTL still apply.
        if out.authorizer_type.is_none() {
            if let Some(f) = req.function_name {
                let hits: Vec<&Authorizer> = self
                    .authorizers
                    .iter()
                    .filter(|a| api_ok(&a.api_id) && a.function_name.as_deref() == Some(f))
                    .collect();
                if let Some(a) = hits.first() {
                    if hits.iter().all(|b| b.kind == a.kind && b.ttl_s == a.ttl_s) {
                        out.authorizer_name = out.authorizer_name.or(a.name.clone());
                        out.authorizer_type = a.kind;
                        out.authorizer_ttl_s = a.ttl_s;
                        files.insert(a.file);
                    }
                }
            }
        }
        let mut responses: Vec<&GatewayResponses> = self
            .responses
            .iter()
            .filter(|r| api_ok(&r.api_id))
            .collect();
        if responses.iter().any(|r| r.listed) {
            responses.retain(|r| r.listed);
        }
        if let Some(r) = responses.first() {
            if responses.iter().all(|x| x.customised == r.customised) {
                out.gateway_responses_default = Some(r.customised.is_empty());
                out.gateway_responses_customised = r.customised.iter().cloned().collect();
                files.extend(responses.iter().map(|r| r.file));
            }
        }
        out.files = files
            .into_iter()
            .filter_map(|i| self.files.get(i).cloned())
            .collect();
        out
    }
}

/// What identifies a request's method.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestKey<'a> {
    /// `$context.apiId` (or the log group's).
    pub api_id: Option<&'a str>,
    /// `$context.stage`.
    pub stage: Option<&'a str>,
    /// `$context.httpMethod`.
    pub http_method: Option<&'a str>,
    /// `$context.resourcePath`.
    pub resource_path: Option<&'a str>,
    /// `$context.routeKey`.
    pub route_key: Option<&'a str>,
    /// `$context.path` (the actual path, with the stage).
    pub path: Option<&'a str>,
    /// The joined authorizer invocation's function.
    pub function_name: Option<&'a str>,
}

/// `GET /pets/{id}` → (`GET`, `/pets/{id}`); `$default` → (`ANY`, `$default`).
fn split_route_key(rk: &str) -> (&str, &str) {
    match rk.split_once(' ') {
        Some((verb, path)) => (verb, path.trim()),
        None => ("ANY", rk),
    }
}

/// How well a method matches (lower is better): 0 exact template and method, 1 `ANY` on the
/// exact template, 2 the actual path fits the template, 3 `ANY` there; `u8::MAX` no match.
fn match_rank(m: &Method, req: &RequestKey<'_>) -> u8 {
    let (verb, template) = match (req.route_key, req.resource_path) {
        (Some(rk), _) => {
            let (v, p) = split_route_key(rk);
            (Some(v), Some(p))
        }
        (None, rp) => (req.http_method, rp),
    };
    let verb_ok = |exact: bool| match verb {
        Some(v) => {
            if exact {
                m.http_method.eq_ignore_ascii_case(v)
            } else {
                m.http_method == "ANY"
            }
        }
        None => false,
    };
    if let Some(t) = template {
        if t == m.path {
            return if verb_ok(true) {
                0
            } else if verb_ok(false) {
                1
            } else {
                u8::MAX
            };
        }
        return u8::MAX;
    }
    if let Some(p) = req.path {
        let p = strip_stage(p, req.stage);
        if path_fits(&m.path, p) {
            return if verb_ok(true) {
                2
            } else if verb_ok(false) {
                3
            } else {
                u8::MAX
            };
        }
    }
    u8::MAX
}

fn method_matches(m: &Method, req: &RequestKey<'_>) -> bool {
    match_rank(m, req) != u8::MAX
}

fn strip_stage<'a>(path: &'a str, stage: Option<&str>) -> &'a str {
    match stage {
        Some(s) => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(s))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .map(|rest| if rest.is_empty() { "/" } else { rest })
            .unwrap_or(path),
        None => path,
    }
}

/// Whether an actual path fits a template: `{x}` takes one segment, `{x+}` the rest.
fn path_fits(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_matches('/')
        .split('/')
        .collect();
    for (i, seg) in t.iter().enumerate() {
        if seg.starts_with('{') && seg.ends_with("+}") {
            return p.len() > i && !p[i].is_empty();
        }
        let Some(ps) = p.get(i) else { return false };
        let var = seg.starts_with('{') && seg.ends_with('}');
        if !(var && !ps.is_empty() || seg == ps) {
            return false;
        }
    }
    t.len() == p.len()
}

trait PointerObj {
    fn pointer_obj(&self, p: &str) -> Option<&Value>;
}

impl PointerObj for Map<String, Value> {
    fn pointer_obj(&self, p: &str) -> Option<&Value> {
        let mut parts = p.trim_start_matches('/').split('/');
        let first = self.get(parts.next()?)?;
        parts.try_fold(first, |v, k| v.get(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = format!(
            "{}/tests/fixtures/api-config/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(p).unwrap()
    }

    fn load(docs: &[&str]) -> ApiConfig {
        let mut c = ApiConfig::default();
        for d in docs {
            c.add_document(d, &fixture(d), None).unwrap();
        }
        c
    }

    fn key<'a>(method: &'a str, resource: &'a str) -> RequestKey<'a> {
        RequestKey {
            api_id: Some("k3vq8zt1pw"),
            stage: Some("live"),
            http_method: Some(method),
            resource_path: Some(resource),
            ..Default::default()
        }
    }

    #[test]
    fn the_export_gives_each_methods_auth_and_api_key() {
        let c = load(&["k3vq8zt1pw-live-oas30.json"]);
        assert_eq!(c.kinds, ["get-export"]);
        let f = c.facts(&key("GET", "/payouts"));
        assert_eq!(f.method_auth_type, Some(AuthType::Custom));
        assert_eq!(
            f.authorizer_name.as_deref(),
            Some("payments-token-authorizer")
        );
        assert_eq!(f.authorizer_type, Some(AuthorizerType::Token));
        assert_eq!(f.authorizer_ttl_s, Some(300));
        assert_eq!(f.api_key_required, Some(false));
        let f = c.facts(&key("GET", "/settlements"));
        assert_eq!(f.method_auth_type, Some(AuthType::AwsIam));
        assert_eq!(f.authorizer_ttl_s, None);
        let f = c.facts(&key("POST", "/partner/charges"));
        assert_eq!(f.method_auth_type, Some(AuthType::None));
        assert_eq!(f.api_key_required, Some(true));
        assert_eq!(
            c.facts(&key("GET", "/health")).method_auth_type,
            Some(AuthType::None)
        );
        // A method the API does not have, and another API: no method facts.
        assert_eq!(c.facts(&key("DELETE", "/payouts")).method_auth_type, None);
        let other = RequestKey {
            api_id: Some("zzzzzzzzz9"),
            ..key("GET", "/payouts")
        };
        assert!(c.facts(&other).is_empty());
        // CORS headers on DEFAULT_4XX leave every body the default.
        let f = c.facts(&key("GET", "/payouts"));
        assert_eq!(f.gateway_responses_default, Some(true));
        assert_eq!(f.files, ["k3vq8zt1pw-live-oas30.json"]);
    }

    #[test]
    fn the_actual_path_finds_the_template_when_resource_path_is_not_logged() {
        let c = load(&["k3vq8zt1pw-live-oas30.json"]);
        let k = RequestKey {
            api_id: Some("k3vq8zt1pw"),
            stage: Some("live"),
            http_method: Some("POST"),
            path: Some("/live/payments/pay_8812/refunds"),
            ..Default::default()
        };
        assert_eq!(
            c.facts(&k).authorizer_name.as_deref(),
            Some("payments-token-authorizer")
        );
        assert!(path_fits("/files/{proxy+}", "/files/a/b/c"));
        assert!(!path_fits("/files/{proxy+}", "/files"));
        assert!(!path_fits("/a/{id}", "/a/1/2"));
        assert!(path_fits("/", "/"));
    }

    #[test]
    fn get_authorizers_overrides_the_ttl_and_names_the_function() {
        let mut c = load(&["k3vq8zt1pw-live-oas30.json"]);
        let changed = fixture("get-authorizers.json").replace(
            "\"authorizerResultTtlInSeconds\": 300\n        },\n        {\n            \"id\": \"m2k7wd\"",
            "\"authorizerResultTtlInSeconds\": 0\n        },\n        {\n            \"id\": \"m2k7wd\"",
        );
        assert_ne!(changed, fixture("get-authorizers.json"));
        c.add_document("authorizers.json", &changed, Some("k3vq8zt1pw".into()))
            .unwrap();
        assert_eq!(c.kinds, ["get-export", "get-authorizers"]);
        let f = c.facts(&key("GET", "/payments/{paymentId}"));
        assert_eq!(f.authorizer_type, Some(AuthorizerType::Request));
        assert_eq!(f.authorizer_ttl_s, Some(0));
        assert_eq!(f.files.len(), 2);
        // Without the export, the joined invocation's function finds the authorizer.
        let mut c = ApiConfig::default();
        c.add_document("a.json", &fixture("get-authorizers.json"), None)
            .unwrap();
        let f = c.facts(&RequestKey {
            function_name: Some("payments-live-token-authorizer"),
            ..Default::default()
        });
        assert_eq!(f.authorizer_type, Some(AuthorizerType::Token));
        assert_eq!(f.method_auth_type, None);
        assert_eq!(
            function_name("arn:aws:lambda:us-east-2:1:function:auth:live"),
            Some("auth".into())
        );
        assert_eq!(
            function_name("arn:aws:apigateway:us-east-2:lambda:path/x"),
            None
        );
    }

    #[test]
    fn gateway_responses_defaults_customised_and_fallbacks() {
        let c = load(&["get-gateway-responses.json"]);
        assert_eq!(c.kinds, ["get-gateway-responses"]);
        let f = c.facts(&key("GET", "/x"));
        assert_eq!(f.gateway_responses_default, Some(true));
        assert_eq!(f.response_customised("ACCESS_DENIED"), Some(false));
        let c = load(&["get-gateway-responses-customised.json"]);
        let f = c.facts(&key("GET", "/x"));
        assert_eq!(f.gateway_responses_default, Some(false));
        assert_eq!(f.gateway_responses_customised, ["ACCESS_DENIED"]);
        assert_eq!(f.response_customised("UNAUTHORIZED"), Some(false));
        // A customised DEFAULT_4XX body reaches every 4XX type not customised itself.
        let e = expand_customised(&[("DEFAULT_4XX".into(), true), ("THROTTLED".into(), false)]);
        assert!(e.contains("ACCESS_DENIED") && e.contains("UNAUTHORIZED"));
        assert!(!e.contains("THROTTLED") && !e.contains("AUTHORIZER_FAILURE"));
        assert!(!is_customised("ACCESS_DENIED", Some(&"403".into()), None));
        assert!(is_customised("ACCESS_DENIED", Some(&404.into()), None));
        assert_eq!(
            ConfigFacts::default().response_customised("ACCESS_DENIED"),
            None
        );
    }

    #[test]
    fn get_stage_gives_the_stage_and_its_format() {
        let c = load(&["get-stage.json"]);
        assert_eq!(c.kinds, ["get-stage"]);
        let st = &c.stages[0];
        assert_eq!(st.name, "live");
        assert!(st
            .access_log_format
            .as_deref()
            .is_some_and(|f| f.contains("$context.authorizer.status")));
        assert!(st.web_acl_arn.is_some());
        assert!(c.facts(&key("GET", "/payouts")).is_empty());
    }

    #[test]
    fn api_ids_from_the_flag_and_the_path() {
        assert_eq!(
            api_id_in_path(Path::new("cfg/k3vq8zt1pw/get-authorizers.json")),
            Some("k3vq8zt1pw".into())
        );
        assert_eq!(
            api_id_in_path(Path::new("k3vq8zt1pw-live-oas30.json")),
            Some("k3vq8zt1pw".into())
        );
        // Ten letters without a digit is a word, not an id.
        assert_eq!(api_id_in_path(Path::new("authorizer/stage.json")), None);
        let err = ApiConfig::load(&["not an id=/nonexistent.json".into()]).unwrap_err();
        assert!(matches!(err, ApiConfigError::BadApiId { .. }), "{err}");
    }

    #[test]
    fn a_file_that_is_no_known_document_is_a_clear_error() {
        let mut c = ApiConfig::default();
        let e = c
            .add_document("x.json", r#"{"events":[],"nextToken":"a"}"#, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.json") && e.contains("events, nextToken"),
            "{e}"
        );
        assert!(
            e.contains("get-export") && e.contains("get-authorizers"),
            "{e}"
        );
        let e = c.add_document("y.json", "{not json", None).unwrap_err();
        assert!(e.to_string().contains("y.json: not JSON"), "{e}");
        let e = c.add_document("z.json", "[1,2]", None).unwrap_err();
        assert!(e.to_string().contains("not an object"), "{e}");
        let e = c
            .add_document("w.json", r#"{"items":[{"foo":1}]}"#, None)
            .unwrap_err();
        assert!(e.to_string().contains("neither authorizers"), "{e}");
        assert!(c.is_empty());
        let e = ApiConfig::load(&["/nonexistent/gatelog/x.json".into()]).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }

    #[test]
    fn conflicting_descriptions_of_a_method_are_not_used() {
        let mut c = load(&["k3vq8zt1pw-live-oas30.json"]);
        let other = fixture("k3vq8zt1pw-live-oas30.json")
            .replace("k3vq8zt1pw.execute-api", "p9zz8yy7xx.execute-api")
            .replace("\"sigv4\" : [ ]", "\"payments-token-authorizer\" : [ ]");
        c.add_document("other.json", &other, None).unwrap();
        // The record names its API: that export decides.
        assert_eq!(
            c.facts(&key("GET", "/settlements")).method_auth_type,
            Some(AuthType::AwsIam)
        );
        // It does not: two APIs disagree, so neither is used.
        let unknown = RequestKey {
            api_id: None,
            ..key("GET", "/settlements")
        };
        assert_eq!(c.facts(&unknown).method_auth_type, None);
    }
}
