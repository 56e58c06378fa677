//! Security response headers: HSTS on HTTPS, a strict Content Security
//! Policy with `frame-ancestors 'none'`, `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy`, and the older `X-Frame-Options` for browsers without
//! CSP level 2.

use crate::policy::Scheme;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Header settings.
#[derive(Debug, Clone)]
pub struct HeaderConfig {
    /// HSTS max-age in seconds (HTTPS only).
    pub hsts_max_age_secs: u64,
    /// The CSP.
    pub content_security_policy: String,
    /// The Referrer-Policy. `no-referrer`: no address (which may carry the
    /// launch secret's page or a user name) leaves in a `Referer`; the CSRF
    /// check relies on `Origin`, which browsers send on every state change.
    pub referrer_policy: String,
}

impl Default for HeaderConfig {
    fn default() -> Self {
        HeaderConfig {
            hsts_max_age_secs: 63_072_000,
            content_security_policy: "default-src 'self'; script-src 'self'; style-src 'self'; \
                img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                form-action 'self'; frame-ancestors 'none'"
                .to_owned(),
            referrer_policy: "no-referrer".to_owned(),
        }
    }
}

/// The headers for a response to a request of the given effective scheme.
pub fn security_headers(scheme: Scheme, config: &HeaderConfig) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    if scheme == Scheme::Https {
        set(
            "strict-transport-security",
            &format!("max-age={}; includeSubDomains", config.hsts_max_age_secs),
        );
    }
    set("content-security-policy", &config.content_security_policy);
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", &config.referrer_policy);
    set("cross-origin-opener-policy", "same-origin");
    h
}
