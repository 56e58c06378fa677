//! The one error shape of the HTTP API: a status and `{code, message}`,
//! where the message says what went wrong and what to do, and never carries
//! a secret, a cookie value or a full session id.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: String,
    /// Human message.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with its status, code and message.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401.
    pub fn unauthorized(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403.
    pub fn forbidden(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404.
    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 500, for faults of the server itself (storage down and the like).
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "request failed inside the server");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the server could not complete the request: {what}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(Body {
                code: &self.code,
                message: &self.message,
            }),
        )
            .into_response()
    }
}

impl From<session_engine::EngineError> for ApiError {
    fn from(e: session_engine::EngineError) -> Self {
        Self::internal(e)
    }
}

impl From<session_engine::session::SessionError> for ApiError {
    fn from(e: session_engine::session::SessionError) -> Self {
        Self::internal(e)
    }
}

impl From<relying_party::accounts::AccountError> for ApiError {
    fn from(e: relying_party::accounts::AccountError) -> Self {
        use relying_party::accounts::AccountError;
        match e {
            AccountError::CredentialTaken => Self::new(
                StatusCode::CONFLICT,
                "credential_registered",
                "this credential is already registered",
            ),
            AccountError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "credential_conflict",
                "the credential was used by another login at the same time; try again",
            ),
            AccountError::CredentialDeleted => Self::new(
                StatusCode::CONFLICT,
                "credential_deleted",
                "the credential was deleted during this login",
            ),
            AccountError::InvalidUsername => Self::bad_request(
                "invalid_username",
                "a user name is 1 to 64 characters, without control characters",
            ),
            other => Self::internal(other),
        }
    }
}

impl From<session_store::StoreError> for ApiError {
    fn from(e: session_store::StoreError) -> Self {
        Self::internal(e)
    }
}

/// A stable code from an error enum's variant name (`WrongOrigin(..)` →
/// `wrong_origin`), so every verification rule has its own code.
pub fn variant_code(debug: &str) -> String {
    let name: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl From<relying_party::CeremonyError> for ApiError {
    fn from(e: relying_party::CeremonyError) -> Self {
        Self::bad_request(
            variant_code(&format!("{e:?}")),
            format!("verification failed: {e}"),
        )
    }
}

impl From<session_engine::ChallengeRejection> for ApiError {
    fn from(e: session_engine::ChallengeRejection) -> Self {
        let status = match e {
            session_engine::ChallengeRejection::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(
            status,
            format!("challenge_{}", e.code()),
            format!("challenge refused: {e}"),
        )
    }
}

impl From<session_engine::CsrfRejection> for ApiError {
    fn from(e: session_engine::CsrfRejection) -> Self {
        Self::forbidden(
            variant_code(&format!("{e:?}")),
            format!("cross-site request refused: {e}"),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn variant_codes_are_snake_case() {
        assert_eq!(super::variant_code("WrongOrigin { a: 1 }"), "wrong_origin");
        assert_eq!(super::variant_code("Unknown"), "unknown");
    }
}
