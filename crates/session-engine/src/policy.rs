//! The cookie policy, computed per request: a value the server applies and
//! the UI displays.
//!
//! - `HttpOnly` always; `Path=/`.
//! - `Secure` when the request is HTTPS: directly over TLS, or from a
//!   configured trusted proxy whose `X-Forwarded-Proto` says `https`
//!   (exactly one header, one value). The header from anyone else is ignored.
//! - `SameSite` from the session's state alone ([`same_site_for`]): `Strict`
//!   for a signed-in session, `Lax` before sign-in, on HTTP and HTTPS alike,
//!   whichever endpoint or path (new session, sign-in, id rotation, re-seal
//!   after a key rotation, login expiry) issues the cookie. `None` is never
//!   used: nothing embeds Keybench cross-site.
//! - `Max-Age`: one year for the long-lived metadata-session cookie, shorter
//!   (configurable) once the session is authenticated.
//! - The `__Host-` name prefix whenever `Secure` (which also requires
//!   `Path=/` and no `Domain`, both true here).

use http::HeaderMap;
use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

/// The scheme of the connection the server accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// TLS.
    Https,
}

/// How sensitive the endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointClass {
    /// Ordinary pages and API calls.
    #[default]
    Normal,
    /// Sign-in, sign-out, account and credential changes. (The cookie's
    /// `SameSite` does not depend on the endpoint; see [`same_site_for`].)
    Critical,
}

/// Which lifetime the cookie gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieLifetime {
    /// The long-lived metadata session (unauthenticated).
    Metadata,
    /// An authenticated session.
    Authenticated,
}

/// What the policy needs to know about one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The scheme of the accepted connection.
    pub scheme: Scheme,
    /// The peer address of the connection (a proxy's, behind one).
    pub peer: Option<IpAddr>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The endpoint's class.
    pub endpoint: EndpointClass,
}

/// Why the request counts as HTTPS or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecureBasis {
    /// TLS on the connection itself.
    DirectTls,
    /// A trusted proxy said `X-Forwarded-Proto: https`.
    TrustedProxyHttps,
    /// A trusted proxy said `X-Forwarded-Proto: http`, or said nothing.
    TrustedProxyHttp,
    /// Plain HTTP, no proxy header.
    PlainHttp,
    /// `X-Forwarded-Proto` came from a peer that is not a trusted proxy and
    /// was ignored.
    UntrustedForwardedProtoIgnored,
    /// A trusted proxy sent several or malformed `X-Forwarded-Proto` values;
    /// treated as HTTP.
    MalformedForwardedProto,
}

/// Cookie settings.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// Cookie name without prefix.
    pub cookie_name: String,
    /// Max-Age of the metadata-session cookie.
    pub metadata_max_age: Duration,
    /// Max-Age of an authenticated session's cookie.
    pub authenticated_max_age: Duration,
    /// Peers whose `X-Forwarded-Proto` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            cookie_name: "keybench-session".to_owned(),
            metadata_max_age: Duration::from_secs(365 * 24 * 3600),
            authenticated_max_age: Duration::from_secs(12 * 3600),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SameSite {
    /// `Strict`.
    Strict,
    /// `Lax`.
    Lax,
    /// `None` (only with `Secure`).
    None,
}

/// The cookie policy for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookiePolicy {
    /// The cookie name, with `__Host-` when secure.
    pub name: String,
    /// Always true.
    pub http_only: bool,
    /// `Secure`.
    pub secure: bool,
    /// Why `secure` is what it is.
    pub basis: SecureBasis,
    /// `SameSite`.
    pub same_site: SameSite,
    /// `Max-Age` in seconds.
    pub max_age_secs: u64,
    /// Always `/`.
    pub path: &'static str,
    /// The `__Host-` prefix is used.
    pub host_prefix: bool,
    /// The lifetime chosen.
    pub lifetime: CookieLifetime,
}

/// Decides whether the request is HTTPS.
pub fn effective_scheme(ctx: &RequestContext<'_>, trusted: &[IpAddr]) -> (Scheme, SecureBasis) {
    let forwarded: Vec<_> = ctx.headers.get_all("x-forwarded-proto").iter().collect();
    if ctx.scheme == Scheme::Https {
        return (Scheme::Https, SecureBasis::DirectTls);
    }
    let from_trusted = ctx.peer.is_some_and(|p| trusted.contains(&p));
    if !from_trusted {
        let basis = if forwarded.is_empty() {
            SecureBasis::PlainHttp
        } else {
            SecureBasis::UntrustedForwardedProtoIgnored
        };
        return (Scheme::Http, basis);
    }
    match forwarded.as_slice() {
        [] => (Scheme::Http, SecureBasis::TrustedProxyHttp),
        [one] => match one
            .to_str()
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            Ok("https") => (Scheme::Https, SecureBasis::TrustedProxyHttps),
            Ok("http") => (Scheme::Http, SecureBasis::TrustedProxyHttp),
            _ => (Scheme::Http, SecureBasis::MalformedForwardedProto),
        },
        _ => (Scheme::Http, SecureBasis::MalformedForwardedProto),
    }
}

/// The one `SameSite` rule, from the session's state: a signed-in session
/// ([`CookieLifetime::Authenticated`]) is `Strict` so no cross-site request
/// carries it; a pre-login one is `Lax` so a link into Keybench still finds
/// its session. Every path that issues a cookie goes through here, so a
/// re-issue can never weaken it.
pub fn same_site_for(lifetime: CookieLifetime) -> SameSite {
    match lifetime {
        CookieLifetime::Authenticated => SameSite::Strict,
        CookieLifetime::Metadata => SameSite::Lax,
    }
}

impl CookiePolicy {
    /// The policy for a request and a lifetime.
    pub fn for_request(
        config: &PolicyConfig,
        ctx: &RequestContext<'_>,
        lifetime: CookieLifetime,
    ) -> CookiePolicy {
        let (scheme, basis) = effective_scheme(ctx, &config.trusted_proxies);
        let secure = scheme == Scheme::Https;
        let same_site = same_site_for(lifetime);
        let max_age = match lifetime {
            CookieLifetime::Metadata => config.metadata_max_age,
            CookieLifetime::Authenticated => config.authenticated_max_age,
        };
        CookiePolicy {
            name: Self::cookie_name(config, secure),
            http_only: true,
            secure,
            basis,
            same_site,
            max_age_secs: max_age.as_secs(),
            path: "/",
            host_prefix: secure,
            lifetime,
        }
    }

    /// The cookie's name on a secure or plain request.
    pub fn cookie_name(config: &PolicyConfig, secure: bool) -> String {
        if secure {
            format!("__Host-{}", config.cookie_name)
        } else {
            config.cookie_name.clone()
        }
    }

    fn build(&self, value: String, max_age_secs: i64) -> String {
        let same_site = match self.same_site {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        };
        cookie::Cookie::build((self.name.clone(), value))
            .http_only(true)
            .secure(self.secure)
            .same_site(same_site)
            .path(self.path)
            .max_age(cookie::time::Duration::seconds(max_age_secs))
            .build()
            .to_string()
    }

    /// The `Set-Cookie` header value carrying `sealed_value`.
    pub fn set_cookie(&self, sealed_value: &str) -> String {
        self.build(
            sealed_value.to_owned(),
            i64::try_from(self.max_age_secs).unwrap_or(i64::MAX),
        )
    }

    /// A `Set-Cookie` header value that deletes the cookie.
    pub fn clear_cookie(&self) -> String {
        self.build(String::new(), 0)
    }
}

/// Most bytes of `Cookie` headers looked at.
pub const MAX_COOKIE_HEADER_BYTES: usize = 8192;

/// The value of cookie `name` from the request's `Cookie` headers, if
/// present. Headers beyond [`MAX_COOKIE_HEADER_BYTES`] in total are ignored;
/// if the name appears more than once, none is used (a duplicate can be an
/// injection from a sibling domain).
pub fn find_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut seen = 0usize;
    let mut found: Option<String> = None;
    for header in headers.get_all(http::header::COOKIE) {
        seen += header.len();
        if seen > MAX_COOKIE_HEADER_BYTES {
            break;
        }
        let Ok(text) = header.to_str() else { continue };
        for c in cookie::Cookie::split_parse(text).flatten() {
            if c.name() == name {
                if found.is_some() {
                    return None;
                }
                found = Some(c.value().to_owned());
            }
        }
    }
    found
}
