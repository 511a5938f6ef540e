//! The denial taxonomy (DESIGN.md): phases, classes and confidence words, with their stable
//! snake_case names.

/// The phase of API Gateway's pipeline that refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Phase {
    Waf,
    ResourcePolicy,
    Routing,
    Authentication,
    Authorizer,
    Authorization,
    ApiKey,
    Throttling,
    Integration,
    Unknown,
}

impl Phase {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Waf => "waf",
            Phase::ResourcePolicy => "resource_policy",
            Phase::Routing => "routing",
            Phase::Authentication => "authentication",
            Phase::Authorizer => "authorizer",
            Phase::Authorization => "authorization",
            Phase::ApiKey => "api_key",
            Phase::Throttling => "throttling",
            Phase::Integration => "integration",
            Phase::Unknown => "unknown",
        }
    }
}

/// A denial class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Class {
    WafBlock,
    ResourcePolicyExplicitDeny,
    ResourcePolicyImplicitDeny,
    MissingAuthenticationToken,
    IamUnsigned,
    IamSignatureInvalid,
    IamTokenExpired,
    IamTokenInvalid,
    AuthorizerExplicitDeny,
    AuthorizerCachedDeny,
    AuthorizerPolicyMismatch,
    AuthorizerIdentityMissing,
    AuthorizerUnauthorized,
    AuthorizerConfigurationError,
    AuthorizerTimeout,
    CognitoUnauthorized,
    JwtUnauthorized,
    JwtInsufficientScope,
    IamPolicyDeny,
    ApiKeyInvalid,
    Throttled,
    QuotaExceeded,
    BackendDenied,
}

impl Class {
    /// Every class, in taxonomy order.
    pub const ALL: [Class; 23] = [
        Class::WafBlock,
        Class::ResourcePolicyExplicitDeny,
        Class::ResourcePolicyImplicitDeny,
        Class::MissingAuthenticationToken,
        Class::IamUnsigned,
        Class::IamSignatureInvalid,
        Class::IamTokenExpired,
        Class::IamTokenInvalid,
        Class::AuthorizerExplicitDeny,
        Class::AuthorizerCachedDeny,
        Class::AuthorizerPolicyMismatch,
        Class::AuthorizerIdentityMissing,
        Class::AuthorizerUnauthorized,
        Class::AuthorizerConfigurationError,
        Class::AuthorizerTimeout,
        Class::CognitoUnauthorized,
        Class::JwtUnauthorized,
        Class::JwtInsufficientScope,
        Class::IamPolicyDeny,
        Class::ApiKeyInvalid,
        Class::Throttled,
        Class::QuotaExceeded,
        Class::BackendDenied,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::WafBlock => "waf_block",
            Class::ResourcePolicyExplicitDeny => "resource_policy_explicit_deny",
            Class::ResourcePolicyImplicitDeny => "resource_policy_implicit_deny",
            Class::MissingAuthenticationToken => "missing_authentication_token",
            Class::IamUnsigned => "iam_unsigned",
            Class::IamSignatureInvalid => "iam_signature_invalid",
            Class::IamTokenExpired => "iam_token_expired",
            Class::IamTokenInvalid => "iam_token_invalid",
            Class::AuthorizerExplicitDeny => "authorizer_explicit_deny",
            Class::AuthorizerCachedDeny => "authorizer_cached_deny",
            Class::AuthorizerPolicyMismatch => "authorizer_policy_mismatch",
            Class::AuthorizerIdentityMissing => "authorizer_identity_missing",
            Class::AuthorizerUnauthorized => "authorizer_unauthorized",
            Class::AuthorizerConfigurationError => "authorizer_configuration_error",
            Class::AuthorizerTimeout => "authorizer_timeout",
            Class::CognitoUnauthorized => "cognito_unauthorized",
            Class::JwtUnauthorized => "jwt_unauthorized",
            Class::JwtInsufficientScope => "jwt_insufficient_scope",
            Class::IamPolicyDeny => "iam_policy_deny",
            Class::ApiKeyInvalid => "api_key_invalid",
            Class::Throttled => "throttled",
            Class::QuotaExceeded => "quota_exceeded",
            Class::BackendDenied => "backend_denied",
        }
    }

    /// The class named `s`.
    pub fn from_name(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The phase the class belongs to.
    pub fn phase(self) -> Phase {
        use Class::*;
        match self {
            WafBlock => Phase::Waf,
            ResourcePolicyExplicitDeny | ResourcePolicyImplicitDeny => Phase::ResourcePolicy,
            MissingAuthenticationToken => Phase::Routing,
            IamUnsigned | IamSignatureInvalid | IamTokenExpired | IamTokenInvalid => {
                Phase::Authentication
            }
            AuthorizerExplicitDeny
            | AuthorizerCachedDeny
            | AuthorizerPolicyMismatch
            | AuthorizerIdentityMissing
            | AuthorizerUnauthorized
            | AuthorizerConfigurationError
            | AuthorizerTimeout
            | CognitoUnauthorized
            | JwtUnauthorized
            | JwtInsufficientScope => Phase::Authorizer,
            IamPolicyDeny => Phase::Authorization,
            ApiKeyInvalid => Phase::ApiKey,
            Throttled | QuotaExceeded => Phase::Throttling,
            BackendDenied => Phase::Integration,
        }
    }
}

/// How sure a classification is (DESIGN.md "Scope, confidence and absence").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Confidence {
    /// A heuristic picked the class.
    Low,
    /// Message text or a field pattern alone leaves one class.
    Medium,
    /// A response type with its message, an execution-log line or the authorizer's own log
    /// confirms the class.
    High,
}

impl Confidence {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}
