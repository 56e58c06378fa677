//! CSRF defence for state-changing requests: the `Origin` header (or, when a
//! browser sent none, the origin of `Referer`) must be on the allow-list;
//! and requests that are not WebAuthn ceremonies (which are bound by their
//! challenge instead) must carry the session's CSRF token in
//! `X-CSRF-Token`, compared in constant time.

use crate::random;
use http::{HeaderMap, Method, Uri};
use serde::Serialize;

/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// Neither `Origin` nor `Referer` was sent.
    #[error("a state-changing request needs an Origin or Referer header")]
    MissingOrigin,
    /// `Origin: null` (sandboxed frames, some redirects, file URLs).
    #[error("Origin is null")]
    NullOrigin,
    /// An `Origin` or `Referer` that does not parse as an http(s) origin.
    #[error("malformed {header} header")]
    Malformed {
        /// Which header.
        header: &'static str,
    },
    /// Several `Origin` headers.
    #[error("more than one Origin header")]
    DuplicateOrigin,
    /// `Origin` is not on the allow-list.
    #[error("origin {0} is not allowed")]
    OriginNotAllowed(String),
    /// The `Referer`'s origin is not on the allow-list.
    #[error("referer origin {0} is not allowed")]
    RefererNotAllowed(String),
    /// No CSRF token header.
    #[error("missing {CSRF_HEADER} header")]
    MissingToken,
    /// The CSRF token does not match the session's.
    #[error("the CSRF token does not match")]
    BadToken,
}

impl CsrfRejection {
    /// Every code [`CsrfRejection::code`] answers.
    pub const CODES: &'static [&'static str] = &[
        "missing_origin",
        "null_origin",
        "malformed_origin",
        "duplicate_origin",
        "origin_not_allowed",
        "referer_not_allowed",
        "missing_token",
        "bad_token",
    ];

    /// The stable code of this refusal, for events and the API: written
    /// out, so renaming a variant cannot change it.
    pub fn code(&self) -> &'static str {
        match self {
            CsrfRejection::MissingOrigin => "missing_origin",
            CsrfRejection::NullOrigin => "null_origin",
            CsrfRejection::Malformed { .. } => "malformed_origin",
            CsrfRejection::DuplicateOrigin => "duplicate_origin",
            CsrfRejection::OriginNotAllowed(_) => "origin_not_allowed",
            CsrfRejection::RefererNotAllowed(_) => "referer_not_allowed",
            CsrfRejection::MissingToken => "missing_token",
            CsrfRejection::BadToken => "bad_token",
        }
    }
}

/// Which header vouched for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginVerdict {
    /// A safe method (GET, HEAD, OPTIONS): no check needed.
    SafeMethod,
    /// `Origin` matched.
    Origin,
    /// No `Origin`; `Referer` matched.
    Referer,
}

/// Serialises a URI's origin as `scheme://host[:port]`, lower-case, the
/// default port omitted; `None` if it is not an http(s) URI with a host or
/// carries user info.
pub fn origin_of(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    Some(match authority.port_u16() {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// The allowed origins.
#[derive(Debug, Clone, Default)]
pub struct OriginAllowList {
    origins: Vec<String>,
}

impl OriginAllowList {
    /// An allow-list from origin strings (`https://example.com`,
    /// `http://localhost:8080`); entries that are not origins are returned
    /// as errors.
    pub fn new<I, S>(origins: I) -> Result<OriginAllowList, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for o in origins {
            let o = o.as_ref();
            let uri: Uri = o.parse().map_err(|_| format!("not an origin: {o}"))?;
            let path_ok = uri.path() == "/" || uri.path().is_empty();
            match origin_of(&uri) {
                Some(norm) if path_ok && uri.query().is_none() => out.push(norm),
                _ => return Err(format!("not an origin: {o}")),
            }
        }
        Ok(OriginAllowList { origins: out })
    }

    /// True if `origin` (normalised) is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// The normalised entries.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }
}

/// Checks the request's origin. Safe methods pass.
pub fn check_origin(
    method: &Method,
    headers: &HeaderMap,
    allow: &OriginAllowList,
) -> Result<OriginVerdict, CsrfRejection> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(OriginVerdict::SafeMethod);
    }
    let origins: Vec<_> = headers.get_all(http::header::ORIGIN).iter().collect();
    match origins.as_slice() {
        [] => {}
        [one] => {
            let text = one
                .to_str()
                .map_err(|_| CsrfRejection::Malformed { header: "Origin" })?;
            if text.trim() == "null" {
                return Err(CsrfRejection::NullOrigin);
            }
            let uri: Uri = text
                .trim()
                .parse()
                .map_err(|_| CsrfRejection::Malformed { header: "Origin" })?;
            let origin = origin_of(&uri).ok_or(CsrfRejection::Malformed { header: "Origin" })?;
            return if allow.allows(&origin) {
                Ok(OriginVerdict::Origin)
            } else {
                Err(CsrfRejection::OriginNotAllowed(origin))
            };
        }
        _ => return Err(CsrfRejection::DuplicateOrigin),
    }
    let Some(referer) = headers.get(http::header::REFERER) else {
        return Err(CsrfRejection::MissingOrigin);
    };
    let text = referer
        .to_str()
        .map_err(|_| CsrfRejection::Malformed { header: "Referer" })?;
    let uri: Uri = text
        .trim()
        .parse()
        .map_err(|_| CsrfRejection::Malformed { header: "Referer" })?;
    let origin = origin_of(&uri).ok_or(CsrfRejection::Malformed { header: "Referer" })?;
    if allow.allows(&origin) {
        Ok(OriginVerdict::Referer)
    } else {
        Err(CsrfRejection::RefererNotAllowed(origin))
    }
}

/// Checks the `X-CSRF-Token` header against the session's token.
pub fn check_token(headers: &HeaderMap, session_token: &str) -> Result<(), CsrfRejection> {
    let presented = headers
        .get(CSRF_HEADER)
        .ok_or(CsrfRejection::MissingToken)?
        .as_bytes();
    if random::ct_eq(presented, session_token.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfRejection::BadToken)
    }
}
