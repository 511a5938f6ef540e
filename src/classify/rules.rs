//! The decision table, held as data: one [`Rule`] per class, saying which gateway response
//! types and statuses it can produce and which facts it requires. A class stays a candidate
//! unless a fact the input actually carries contradicts it; facts the input does not carry
//! leave it possible (and name the variable that would decide in `advice`). Default body
//! lengths are a heuristic, used only to pick among candidates, never to exclude one.
//! Because the table is data, `classify.sql` can be rendered from it.

use super::taxonomy::Class;
use crate::apiconfig::AuthType;
use crate::model::Decision;
use crate::records::execution::Fact;
use crate::records::vars::Var;

/// One fact a class requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// The variable is `-`.
    Dash(Var),
    /// The variable has a value.
    Set(Var),
    /// The variable equals the text.
    Eq(Var, &'static str),
    /// The variable is `-` or equals the text.
    EqOrDash(Var, &'static str),
    /// The variable does not equal the text (`-` passes).
    NotEq(Var, &'static str),
    /// The variable equals `$context.status`.
    EqStatus(Var),
    /// The variable contains the text, ignoring ASCII case.
    Has(Var, &'static str),
    /// The variable does not contain the text, ignoring ASCII case (`-` passes).
    Lacks(Var, &'static str),
    /// `$context.error.message` contains the text.
    MsgHas(&'static str),
    /// `$context.error.message` does not contain the text (`-` passes).
    MsgLacks(&'static str),
    /// The authorizer Lambda was (true) or was not (false) invoked for this request.
    Invoked(bool),
    /// The joined invocation's decision is one of these.
    DecisionIn(&'static [Decision]),
    /// The request's execution-log lines establish the fact.
    ExecHas(Fact),
    /// The request's execution-log lines do not establish the fact.
    ExecLacks(Fact),
    /// The request's execution-log lines establish one of the facts.
    ExecAny(&'static [Fact]),
    /// The execution log has no line for the request (only checkable when it has some).
    ExecSilent,
    /// The API's configuration (`--api-config`) gives the method one of these auth types.
    AuthIn(&'static [AuthType]),
    /// The API's configuration says the method requires an API key.
    ApiKeyRequired,
    /// The API's configuration gives the method's authorizer a cache TTL above 0 s.
    AuthorizerCaches,
    /// The record is (true) or is not (false) from an HTTP API, which logs a `routeKey`; a
    /// record whose format has no `routeKey` is not. Never unknown.
    HttpApi(bool),
    /// At least one of the conditions holds (contradicted only when every one is).
    Any(&'static [Cond]),
    /// Every one of the conditions holds (contradicted when one is).
    All(&'static [Cond]),
}

/// What the default gateway response body's length is for a class (FORMATS.md §2), valid only
/// while the API's gateway responses are the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// One of these lengths exactly.
    Exact(&'static [i64]),
    /// A message with an ARN or a long text: at least this long.
    AtLeast(i64),
    /// Anything (the backend's own body).
    Any,
}

/// One row of the decision table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The class this row decides.
    pub class: Class,
    /// `$context.error.responseType` values that produce it; empty = no gateway response (`-`).
    pub response_types: &'static [&'static str],
    /// Default statuses, used when the response type is not logged.
    pub statuses: &'static [i64],
    /// Facts that must not be contradicted.
    pub conds: &'static [Cond],
    /// Facts that must be positively present (the class is never inferred without them).
    pub requires: &'static [Cond],
    /// The default body length.
    pub body: Body,
}

use Cond::*;
use Fact as F;
use Var::*;

const ACCESS_DENIED: &[&str] = &["ACCESS_DENIED"];
/// Methods whose Lambda authorizer (TOKEN / REQUEST) decides.
const LAMBDA: Cond = AuthIn(&[AuthType::Custom]);
/// Methods that authenticate with IAM (SigV4).
const IAM: Cond = AuthIn(&[AuthType::AwsIam]);
/// Features HTTP APIs (records with a `routeKey`) do not have: WAF, resource policies, API
/// keys and usage plans, gateway responses such as `MISSING_AUTHENTICATION_TOKEN`, Cognito
/// authorizers.
const REST_ONLY: Cond = HttpApi(false);
/// The explicit Deny's message: REST's, or an HTTP API's `Forbidden` (a Lambda authorizer's
/// simple response `{"isAuthorized": false}`, or an IAM-policy Deny).
const EXPLICIT_DENY_MESSAGE: Cond = Any(&[
    MsgHas("not authorized to access this resource with an explicit deny"),
    All(&[HttpApi(true), MsgHas("Forbidden")]),
]);
/// Phases after the authorizer run only when it allowed the request.
const ALLOWED: &[Decision] = &[Decision::Allow];

/// The decision table, in taxonomy order.
pub const RULES: &[Rule] = &[
    Rule {
        class: Class::WafBlock,
        response_types: &["WAF_FILTERED"],
        statuses: &[403, 429],
        conds: &[
            REST_ONLY,
            ExecSilent,
            Invoked(false),
            NotEq(WafResponseCode, "WAF_ALLOW"),
            NotEq(WafStatus, "200"),
            Set(ResourcePath),
            Dash(Caller),
            Dash(AuthenticateStatus),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(AuthorizeStatus),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[23]),
    },
    Rule {
        class: Class::ResourcePolicyExplicitDeny,
        response_types: ACCESS_DENIED,
        statuses: &[403],
        conds: &[
            REST_ONLY,
            ExecLacks(F::StartingAuthorizer),
            ExecLacks(F::IntegrationStarted),
            ExecAny(&[
                F::ClientNotAuthorized,
                F::AnonymousNotAuthorized,
                F::ExplicitDenyMessage,
            ]),
            Invoked(false),
            MsgHas("is not authorized to perform"),
            MsgHas("explicit deny"),
            MsgLacks("identity-based policy"),
            Set(ResourcePath),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(IntegrationStatus),
            NotEq(WafResponseCode, "WAF_BLOCK"),
        ],
        requires: &[],
        body: Body::AtLeast(100),
    },
    Rule {
        class: Class::ResourcePolicyImplicitDeny,
        response_types: ACCESS_DENIED,
        statuses: &[403],
        conds: &[
            REST_ONLY,
            ExecLacks(F::StartingAuthorizer),
            ExecLacks(F::IntegrationStarted),
            ExecLacks(F::ExplicitDenyMessage),
            ExecAny(&[
                F::ClientNotAuthorized,
                F::AnonymousNotAuthorized,
                F::ResourcePolicyMessage,
            ]),
            MsgHas("is not authorized to perform"),
            MsgLacks("explicit deny"),
            MsgLacks("identity-based policy"),
            Set(ResourcePath),
            Dash(IntegrationStatus),
            NotEq(WafResponseCode, "WAF_BLOCK"),
            DecisionIn(ALLOWED),
        ],
        requires: &[],
        body: Body::AtLeast(100),
    },
    Rule {
        class: Class::MissingAuthenticationToken,
        response_types: &["MISSING_AUTHENTICATION_TOKEN"],
        statuses: &[403],
        conds: &[
            REST_ONLY,
            ExecHas(F::MissingAuthenticationToken),
            Invoked(false),
            Dash(ResourcePath),
            Dash(AuthenticateStatus),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(IntegrationStatus),
            Dash(Caller),
        ],
        requires: &[],
        body: Body::Exact(&[42]),
    },
    Rule {
        class: Class::IamUnsigned,
        response_types: &["MISSING_AUTHENTICATION_TOKEN"],
        statuses: &[403],
        conds: &[
            Dash(AuthorizerError),
            IAM,
            ExecHas(F::MissingAuthenticationToken),
            Invoked(false),
            Set(ResourcePath),
            Dash(Caller),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[42]),
    },
    Rule {
        class: Class::IamSignatureInvalid,
        response_types: &["INVALID_SIGNATURE"],
        statuses: &[403],
        conds: &[
            Dash(AuthorizerError),
            IAM,
            ExecHas(F::SignatureMismatch),
            Invoked(false),
            MsgHas("ignature"),
            Set(ResourcePath),
            Dash(Caller),
            NotEq(AuthenticateStatus, "200"),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::AtLeast(40),
    },
    Rule {
        class: Class::IamTokenExpired,
        response_types: &["EXPIRED_TOKEN"],
        statuses: &[403],
        conds: &[
            Dash(AuthorizerError),
            IAM,
            ExecHas(F::TokenExpired),
            Invoked(false),
            MsgHas("expired"),
            Set(ResourcePath),
            Dash(Caller),
            NotEq(AuthenticateStatus, "200"),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::AtLeast(40),
    },
    Rule {
        class: Class::IamTokenInvalid,
        response_types: &["ACCESS_DENIED", "UNRECOGNIZED_CLIENT", "INVALID_SIGNATURE"],
        statuses: &[403],
        conds: &[
            Dash(AuthorizerError),
            IAM,
            ExecHas(F::TokenInvalid),
            Invoked(false),
            MsgHas("security token included in the request is invalid"),
            Set(ResourcePath),
            Dash(Caller),
            NotEq(AuthenticateStatus, "200"),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::AtLeast(40),
    },
    Rule {
        class: Class::AuthorizerExplicitDeny,
        response_types: ACCESS_DENIED,
        statuses: &[403],
        conds: &[
            Lacks(AuthorizerError, "scope"),
            LAMBDA,
            ExecHas(F::AuthorizerInvoked),
            ExecHas(F::ClientNotAuthorized),
            ExecLacks(F::AuthorizerAllow),
            Set(ResourcePath),
            EXPLICIT_DENY_MESSAGE,
            Eq(AuthorizerStatus, "200"),
            Invoked(true),
            DecisionIn(&[Decision::Deny]),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[82]),
    },
    Rule {
        class: Class::AuthorizerCachedDeny,
        response_types: ACCESS_DENIED,
        statuses: &[403],
        conds: &[
            Lacks(AuthorizerError, "scope"),
            LAMBDA,
            AuthorizerCaches,
            ExecHas(F::StartingAuthorizer),
            ExecLacks(F::AuthorizerInvoked),
            ExecHas(F::ClientNotAuthorized),
            Set(ResourcePath),
            EXPLICIT_DENY_MESSAGE,
            Eq(AuthorizerStatus, "200"),
            Invoked(false),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[82]),
    },
    Rule {
        class: Class::AuthorizerPolicyMismatch,
        response_types: ACCESS_DENIED,
        statuses: &[403],
        conds: &[
            LAMBDA,
            ExecHas(F::StartingAuthorizer),
            ExecHas(F::ClientNotAuthorized),
            ExecLacks(F::AuthorizerDeny),
            Set(ResourcePath),
            MsgHas("not authorized to access this resource"),
            MsgLacks("explicit deny"),
            Eq(AuthorizerStatus, "200"),
            DecisionIn(&[Decision::Allow]),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[60]),
    },
    Rule {
        class: Class::AuthorizerIdentityMissing,
        response_types: &["UNAUTHORIZED"],
        statuses: &[401],
        conds: &[
            Lacks(AuthorizerError, "jwt"),
            AuthIn(&[AuthType::Custom, AuthType::CognitoUserPools]),
            ExecHas(F::UnauthorizedRequest),
            ExecLacks(F::AuthorizerInvoked),
            Set(ResourcePath),
            Eq(AuthorizerStatus, "401"),
            Invoked(false),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[26]),
    },
    Rule {
        class: Class::AuthorizerUnauthorized,
        response_types: &["UNAUTHORIZED"],
        statuses: &[401],
        conds: &[
            Lacks(AuthorizerError, "jwt"),
            LAMBDA,
            ExecHas(F::UnauthorizedRequest),
            ExecHas(F::AuthorizerInvoked),
            Set(ResourcePath),
            Eq(AuthorizerStatus, "401"),
            Invoked(true),
            DecisionIn(&[Decision::Unauthorized]),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[26]),
    },
    Rule {
        class: Class::AuthorizerConfigurationError,
        response_types: &["AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE"],
        statuses: &[500],
        conds: &[
            AuthIn(&[AuthType::Custom, AuthType::CognitoUserPools]),
            ExecHas(F::ConfigurationError),
            Set(ResourcePath),
            Eq(AuthorizerStatus, "500"),
            DecisionIn(&[Decision::Error, Decision::Allow, Decision::Deny]),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::Exact(&[16]),
    },
    Rule {
        class: Class::AuthorizerTimeout,
        response_types: &["AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE"],
        statuses: &[500],
        conds: &[
            LAMBDA,
            Set(ResourcePath),
            EqOrDash(AuthorizerStatus, "500"),
            Dash(IntegrationStatus),
        ],
        requires: &[DecisionIn(&[Decision::Timeout])],
        body: Body::Exact(&[16]),
    },
    Rule {
        class: Class::CognitoUnauthorized,
        response_types: &["UNAUTHORIZED"],
        statuses: &[401],
        conds: &[
            REST_ONLY,
            AuthIn(&[AuthType::CognitoUserPools]),
            Invoked(false),
        ],
        requires: &[Any(&[
            MsgHas("Cognito"),
            AuthIn(&[AuthType::CognitoUserPools]),
        ])],
        body: Body::Exact(&[26]),
    },
    Rule {
        class: Class::JwtUnauthorized,
        response_types: &["UNAUTHORIZED"],
        statuses: &[401],
        conds: &[AuthIn(&[AuthType::Jwt]), Invoked(false)],
        requires: &[
            Set(RouteKey),
            Any(&[
                Has(AuthorizerError, "jwt"),
                Has(AuthorizerError, "token"),
                AuthIn(&[AuthType::Jwt]),
            ]),
        ],
        body: Body::Any,
    },
    Rule {
        class: Class::JwtInsufficientScope,
        response_types: &["ACCESS_DENIED", "UNAUTHORIZED"],
        statuses: &[403],
        conds: &[AuthIn(&[AuthType::Jwt]), Invoked(false)],
        requires: &[
            Set(RouteKey),
            Any(&[Has(AuthorizerError, "scope"), AuthIn(&[AuthType::Jwt])]),
        ],
        body: Body::Any,
    },
    Rule {
        class: Class::IamPolicyDeny,
        response_types: ACCESS_DENIED,
        statuses: &[403],
        conds: &[
            Dash(AuthorizerError),
            IAM,
            ExecHas(F::UserNotAuthorized),
            ExecLacks(F::ResourcePolicyMessage),
            Invoked(false),
            MsgHas("is not authorized to perform"),
            MsgLacks("User: anonymous"),
            MsgLacks("resource-based policy"),
            Set(ResourcePath),
            Set(Caller),
            NotEq(AuthenticateStatus, "403"),
            Dash(AuthorizerStatus),
            Dash(AuthorizerIntegrationStatus),
            Dash(IntegrationStatus),
        ],
        requires: &[],
        body: Body::AtLeast(100),
    },
    Rule {
        class: Class::ApiKeyInvalid,
        response_types: &["INVALID_API_KEY"],
        statuses: &[403],
        conds: &[
            REST_ONLY,
            ApiKeyRequired,
            ExecHas(F::ApiKeyRejected),
            Set(ResourcePath),
            Dash(IntegrationStatus),
            NotEq(AuthorizeStatus, "403"),
            DecisionIn(ALLOWED),
        ],
        requires: &[],
        body: Body::Exact(&[23]),
    },
    Rule {
        class: Class::Throttled,
        response_types: &["THROTTLED"],
        statuses: &[429],
        conds: &[
            ExecHas(F::ThrottleExceeded),
            Set(ResourcePath),
            Dash(IntegrationStatus),
            DecisionIn(ALLOWED),
        ],
        requires: &[],
        body: Body::Exact(&[31]),
    },
    Rule {
        class: Class::QuotaExceeded,
        response_types: &["QUOTA_EXCEEDED"],
        statuses: &[429],
        conds: &[
            REST_ONLY,
            ApiKeyRequired,
            ExecHas(F::QuotaExceeded),
            Set(ResourcePath),
            Dash(IntegrationStatus),
            DecisionIn(ALLOWED),
        ],
        requires: &[],
        body: Body::Exact(&[28]),
    },
    Rule {
        class: Class::BackendDenied,
        response_types: &[],
        statuses: &[401, 403, 429],
        conds: &[
            ExecHas(F::ExecutionCompleted),
            ExecLacks(F::ClientNotAuthorized),
            EqStatus(IntegrationStatus),
            Set(ResourcePath),
            EqOrDash(AuthorizerStatus, "200"),
            NotEq(AuthorizeStatus, "403"),
            NotEq(WafResponseCode, "WAF_BLOCK"),
            Dash(ErrorMessage),
            DecisionIn(ALLOWED),
        ],
        requires: &[],
        body: Body::Any,
    },
];

/// Response types that name a refusal (DESIGN.md "Scope").
pub fn is_denial_response_type(rt: &str) -> bool {
    RULES.iter().any(|r| r.response_types.contains(&rt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_per_class_in_taxonomy_order() {
        let classes: Vec<Class> = RULES.iter().map(|r| r.class).collect();
        assert_eq!(classes, Class::ALL.to_vec());
    }

    #[test]
    fn denial_response_types() {
        for rt in [
            "ACCESS_DENIED",
            "WAF_FILTERED",
            "THROTTLED",
            "AUTHORIZER_FAILURE",
        ] {
            assert!(is_denial_response_type(rt), "{rt}");
        }
        assert!(!is_denial_response_type("INTEGRATION_TIMEOUT"));
        assert!(!is_denial_response_type("-"));
    }
}
