//! How a request reaches the API's logic: axum gathers what the request
//! carries into a [`RequestInfo`], the logic runs as plain blocking Rust on
//! tokio's blocking pool (storage calls block), and its [`Reply`] becomes the
//! response with any `Set-Cookie`. [`security_headers`] is the one layer
//! that gives every response, API, UI file or event stream, the security
//! headers.

use crate::app::App;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use session_engine::{EndpointClass, RequestContext, Scheme};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest JSON body most endpoints accept.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest body of the decoder and metadata uploads.
pub const LARGE_BODY_LIMIT: usize = 1024 * 1024;

/// What the logic sees of a request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Method.
    pub method: Method,
    /// Headers.
    pub headers: HeaderMap,
    /// The peer.
    pub peer: SocketAddr,
    /// The body.
    pub body: Bytes,
    /// A path parameter, when the route has one.
    pub param: Option<String>,
}

impl RequestInfo {
    /// The session engine's view of this request.
    pub fn context(&self, endpoint: EndpointClass) -> RequestContext<'_> {
        RequestContext {
            // Keybench listens on plain HTTP; HTTPS only arrives through a
            // trusted proxy, which the engine's policy recognises.
            scheme: Scheme::Http,
            peer: Some(self.peer.ip()),
            headers: &self.headers,
            endpoint,
        }
    }

    /// The request's Origin, if it sent one.
    pub fn origin(&self) -> Option<&str> {
        self.headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
    }

    /// The body as strict JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        if !self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "json_required",
                "send the body as application/json",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        let value = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| (e.path().to_string(), e.into_inner()))
            .and_then(|v| de.end().map(|()| v).map_err(|e| (String::new(), e)));
        value.map_err(|(path, inner)| {
            let text = inner.to_string();
            let at = format!(" at line {} column {}", inner.line(), inner.column());
            let text = text.strip_suffix(&at).unwrap_or(&text);
            // A value outside an enumerated option's set (see [`Known`]).
            if inner.is_data()
                && let Some(rest) = text.strip_prefix(NOT_KNOWN)
            {
                ApiError::bad_request("invalid_option", format!("{path} {rest}"))
            } else {
                ApiError::bad_request(
                    "invalid_json",
                    format!("the request body is not acceptable: {inner}"),
                )
            }
        })
    }
}

/// How [`Known`]'s refusal begins (what tells it from other JSON errors).
const NOT_KNOWN: &str = "value not known: ";

/// One of fido-wire's enumerated WebAuthn strings, limited to the values
/// fido-wire knows. WebAuthn tells clients to ignore unknown values (and
/// fido-wire keeps them as `Other`), but this server's API refuses them:
/// such a value is a deserialization error naming the allowed values, which
/// [`RequestInfo::json`] answers as `invalid_option`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known<T>(pub T);

impl<'de, T> serde::Deserialize<'de> for Known<T>
where
    T: serde::Deserialize<'de> + fido_wire::webauthn::json::KnownValues,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = T::deserialize(d)?;
        if value.is_known() {
            Ok(Known(value))
        } else {
            Err(serde::de::Error::custom(format_args!(
                "{NOT_KNOWN}must be one of {} (not {:?})",
                T::KNOWN.join(", "),
                value.as_str()
            )))
        }
    }
}

/// What the logic answers.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// JSON body.
    pub body: serde_json::Value,
    /// `Set-Cookie` values.
    pub cookies: Vec<String>,
}

impl Reply {
    /// 200 with a body.
    pub fn ok(body: serde_json::Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            cookies: Vec::new(),
        }
    }

    /// The same reply, also setting `cookie` when there is one.
    pub fn with_cookie(mut self, cookie: Option<String>) -> Reply {
        self.cookies.extend(cookie);
        self
    }
}

/// A handler's logic.
pub type Logic = fn(&App, &RequestInfo) -> Result<Reply, ApiError>;

/// Runs `logic` for a request on the blocking pool and builds the response.
pub async fn run(
    app: Arc<App>,
    method: Method,
    headers: HeaderMap,
    peer: SocketAddr,
    param: Option<String>,
    body: Bytes,
    logic: Logic,
) -> Response {
    let info = RequestInfo {
        method,
        headers,
        peer,
        body,
        param,
    };
    let result = tokio::task::spawn_blocking(move || logic(&app, &info)).await;
    let mut response = match result {
        Ok(Ok(reply)) => {
            let mut r = (reply.status, axum::Json(reply.body)).into_response();
            for c in reply.cookies {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Ok(Err(e)) => e.into_response(),
        Err(join) => ApiError::internal(join).into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A body that could not be read (over the limit, broken stream) as a
/// JSON error.
pub fn body_rejected(e: axum::extract::rejection::BytesRejection) -> Response {
    let status = e.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "the request body is over the limit of {} KiB for this endpoint",
            BODY_LIMIT / 1024
        )
    } else {
        format!("the request body could not be read: {e}")
    };
    ApiError::new(status, "body_rejected", message).into_response()
}

/// Builds an axum handler for `logic` (no path parameter).
#[macro_export]
macro_rules! endpoint {
    ($logic:path) => {
        |axum::extract::State(app): axum::extract::State<std::sync::Arc<$crate::app::App>>,
         axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
         method: axum::http::Method,
         headers: axum::http::HeaderMap,
         body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>| async move {
            match body {
                Ok(body) => {
                    $crate::request::run(app, method, headers, peer, None, body, $logic).await
                }
                Err(e) => $crate::request::body_rejected(e),
            }
        }
    };
    ($logic:path, param) => {
        |axum::extract::State(app): axum::extract::State<std::sync::Arc<$crate::app::App>>,
         axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
         axum::extract::Path(param): axum::extract::Path<String>,
         method: axum::http::Method,
         headers: axum::http::HeaderMap,
         body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>| async move {
            match body {
                Ok(body) => {
                    $crate::request::run(app, method, headers, peer, Some(param), body, $logic)
                        .await
                }
                Err(e) => $crate::request::body_rejected(e),
            }
        }
    };
}

/// The layer over the whole router: every response the server sends (API
/// answers, errors, the UI's pages and scripts, the live event stream, 404s)
/// carries the session engine's security headers, decided for this
/// request's effective scheme.
pub async fn security_headers(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = app.engine.security_headers(&RequestContext {
        scheme: Scheme::Http,
        peer: Some(peer.ip()),
        headers: request.headers(),
        endpoint: EndpointClass::Normal,
    });
    let mut response = next.run(request).await;
    for (name, value) in &headers {
        response.headers_mut().insert(name, value.clone());
    }
    response
}
