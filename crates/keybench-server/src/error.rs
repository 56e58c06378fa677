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
    /// The fault's text (which may name files, storage keys or backends)
    /// goes to the log under an incident id; the client gets the id only.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::incident(StatusCode::INTERNAL_SERVER_ERROR, "internal", what)
    }

    /// An internal error, unless the storage is out of space: that is 503
    /// `storage_full` (the operator frees space; nothing was half-written,
    /// the request can be retried).
    pub fn from_fault(e: &(dyn std::error::Error + 'static)) -> Self {
        if storage_unavailable(e) {
            Self::incident(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                format!("the storage backend is unavailable: {e}"),
            )
        } else if storage_full(e) {
            Self::incident(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_full",
                format!("the storage is full: {e}"),
            )
        } else {
            Self::internal(e)
        }
    }

    /// An error whose details stay in the log, under an incident id that
    /// the answer names.
    pub fn incident(
        status: StatusCode,
        code: impl Into<String>,
        what: impl std::fmt::Display,
    ) -> Self {
        let mut id = [0u8; 6];
        // No randomness is no reason to fail the answer: the id is for
        // finding the log line, not a secret.
        let _ = aws_lc_rs::rand::fill(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        tracing::error!(incident = %id, error = %what, "request failed inside the server");
        Self::new(
            status,
            code,
            format!(
                "the server could not complete the request (incident {id}; the server's log has the details)"
            ),
        )
    }
}

/// Whether `e` (or an error it wraps) is the remote storage being
/// unreachable (a bucket outage: what lives there cannot be read or
/// changed until it returns; new sessions go to the local fallback).
fn storage_unavailable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(session_store::StoreError::Unavailable { .. }) =
            e.downcast_ref::<session_store::StoreError>()
        {
            return true;
        }
        at = e.source();
    }
    false
}

/// Whether `e` (or an error it wraps) is the storage running out of space.
fn storage_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(store) = e.downcast_ref::<session_store::StoreError>()
            && store.is_full()
        {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && session_store::is_out_of_space(io)
        {
            return true;
        }
        at = e.source();
    }
    false
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
        match e {
            // Not a fault: the key is the operator's, set in the environment.
            session_engine::EngineError::Key(
                session_engine::SecretKeyError::RotationNotPersistable,
            ) => Self::new(
                StatusCode::CONFLICT,
                "key_from_environment",
                "the session key comes from KEYBENCH_SECRET_KEY: rotate it there and restart",
            ),
            // The session was removed while this request used it (a logout
            // racing a sign-in): nothing to continue.
            session_engine::EngineError::Session(
                session_engine::session::SessionError::Storage(
                    session_store::StoreError::ScopeGone,
                ),
            ) => Self::bad_request(
                "no_session",
                "the session ended meanwhile (signed out elsewhere): begin again",
            ),
            other => Self::from_fault(&other),
        }
    }
}

impl From<session_engine::session::SessionError> for ApiError {
    fn from(e: session_engine::session::SessionError) -> Self {
        Self::from_fault(&e)
    }
}

impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
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
                "a user name is 1 to 64 characters, without control or invisible characters",
            ),
            other => Self::from_fault(&other),
        }
    }
}

impl From<session_store::StoreError> for ApiError {
    fn from(e: session_store::StoreError) -> Self {
        Self::from_fault(&e)
    }
}

impl From<relying_party::CeremonyError> for ApiError {
    fn from(e: relying_party::CeremonyError) -> Self {
        Self::bad_request(e.code(), format!("verification failed: {e}"))
    }
}

impl From<session_engine::ChallengeRejection> for ApiError {
    fn from(e: session_engine::ChallengeRejection) -> Self {
        let code = format!("challenge_{}", e.code());
        match e {
            // A storage fault's text stays in the log.
            session_engine::ChallengeRejection::Storage(_) => {
                Self::incident(StatusCode::SERVICE_UNAVAILABLE, code, e)
            }
            _ => Self::new(
                StatusCode::BAD_REQUEST,
                code,
                format!("challenge refused: {e}"),
            ),
        }
    }
}

impl From<session_engine::CsrfRejection> for ApiError {
    fn from(e: session_engine::CsrfRejection) -> Self {
        Self::forbidden(e.code(), format!("cross-site request refused: {e}"))
    }
}
