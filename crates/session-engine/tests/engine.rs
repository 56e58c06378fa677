//! Sessions through the engine: cookies (sealed, per-request policy),
//! coalesced last access, isolation, fixation defence, CSRF, security
//! headers and the event ring.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use http::{HeaderMap, HeaderValue, Method};
use session_engine::policy::find_cookie;
use session_engine::{
    CookieLifetime, CsrfRejection, EndpointClass, EngineConfig, EventKind, ManualClock,
    OriginAllowList, OriginVerdict, RequestContext, Scheme, SecretKey, SecureBasis, SessionEngine,
    StateChange,
};
use session_store::{LocalStore, Storage};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

struct Fixture {
    engine: SessionEngine,
    clock: Arc<ManualClock>,
    store: Arc<LocalStore>,
    _dir: tempfile::TempDir,
}

fn fixture_with(config: EngineConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::at_2025());
    let engine =
        SessionEngine::with_key(config, store.clone(), clock.clone(), SecretKey::generate());
    Fixture {
        engine,
        clock,
        store,
        _dir: dir,
    }
}

fn fixture() -> Fixture {
    fixture_with(EngineConfig {
        allowed_origins: OriginAllowList::new([
            "https://keybench.example",
            "http://localhost:8080",
        ])
        .unwrap(),
        ..EngineConfig::default()
    })
}

fn ctx(headers: &HeaderMap, scheme: Scheme) -> RequestContext<'_> {
    RequestContext {
        scheme,
        peer: Some("203.0.113.9".parse().unwrap()),
        headers,
        endpoint: EndpointClass::Normal,
    }
}

/// The request headers a browser would send back after `set_cookie`.
fn cookie_headers(set_cookie: &str) -> HeaderMap {
    let pair = set_cookie.split(';').next().unwrap();
    let mut h = HeaderMap::new();
    h.insert(http::header::COOKIE, HeaderValue::from_str(pair).unwrap());
    h
}

#[test]
fn a_new_session_round_trips_through_its_sealed_cookie() {
    let f = fixture();
    let empty = HeaderMap::new();
    assert!(
        f.engine
            .open(&ctx(&empty, Scheme::Https))
            .unwrap()
            .is_none()
    );
    let opened = f
        .engine
        .open_or_create(&ctx(&empty, Scheme::Https))
        .unwrap();
    assert!(opened.created);
    let set_cookie = opened.set_cookie.clone().unwrap();
    // Sealed: the id is not visible in the cookie.
    assert!(!set_cookie.contains(opened.session.id.expose()));
    assert!(
        set_cookie.starts_with("__Host-keybench-session="),
        "{set_cookie}"
    );
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=31536000",
    ] {
        assert!(set_cookie.contains(attr), "{attr} missing in {set_cookie}");
    }
    let headers = cookie_headers(&set_cookie);
    let again = f
        .engine
        .open(&ctx(&headers, Scheme::Https))
        .unwrap()
        .unwrap();
    assert_eq!(again.session.id, opened.session.id);
    assert!(!again.created);
    assert!(again.set_cookie.is_none());
    // On plain HTTP the __Host- cookie is not the one looked for.
    assert!(
        f.engine
            .open(&ctx(&headers, Scheme::Http))
            .unwrap()
            .is_none()
    );
}

#[test]
fn tampered_forged_and_renamed_cookies_are_refused() {
    let f = fixture();
    let empty = HeaderMap::new();
    let opened = f.engine.open_or_create(&ctx(&empty, Scheme::Http)).unwrap();
    let set_cookie = opened.set_cookie.unwrap();
    let pair = set_cookie.split(';').next().unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    // Flip one character of the sealed value.
    let mut bytes = value.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{name}={}", String::from_utf8(bytes).unwrap());
    // A raw (unsealed) id, as the Python platform accepted.
    let raw = format!("{name}={}", opened.session.id.expose());
    // The sealed value under another cookie name (AEAD associated data).
    let renamed = format!("other={value}");
    for cookie in [
        tampered,
        raw,
        "keybench-session=".to_owned() + &"A".repeat(300),
    ] {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            HeaderValue::from_str(&cookie).unwrap(),
        );
        assert!(
            f.engine.open(&ctx(&h, Scheme::Http)).unwrap().is_none(),
            "{cookie}"
        );
    }
    let mut h = HeaderMap::new();
    h.insert(
        http::header::COOKIE,
        HeaderValue::from_str(&renamed).unwrap(),
    );
    assert!(f.engine.open(&ctx(&h, Scheme::Http)).unwrap().is_none());
    let reasons: Vec<_> = f
        .engine
        .events()
        .snapshot()
        .into_iter()
        .filter(|e| e.kind == EventKind::CookieRejected)
        .map(|e| e.reason.unwrap())
        .collect();
    assert_eq!(reasons, vec!["bad_seal", "bad_seal", "too_long"]);
    // A duplicated cookie name is ignored altogether.
    let mut h = HeaderMap::new();
    h.append(http::header::COOKIE, HeaderValue::from_str(pair).unwrap());
    h.append(http::header::COOKIE, HeaderValue::from_str(pair).unwrap());
    assert_eq!(find_cookie(&h, name), None);
}

#[test]
fn key_rotation_keeps_old_cookies_open_until_retirement() {
    let f = fixture();
    let empty = HeaderMap::new();
    let opened = f.engine.open_or_create(&ctx(&empty, Scheme::Http)).unwrap();
    let old_cookie = cookie_headers(&opened.set_cookie.unwrap());
    let before = f.engine.key_status();
    let after = f.engine.rotate_key().unwrap();
    assert_ne!(before.fingerprint, after.fingerprint);
    assert_eq!(
        after.previous_fingerprint.as_deref(),
        Some(before.fingerprint.as_str())
    );
    // Opened with the previous key: re-sealed under the new one.
    let reopened = f
        .engine
        .open(&ctx(&old_cookie, Scheme::Http))
        .unwrap()
        .unwrap();
    assert_eq!(reopened.session.id, opened.session.id);
    let resealed = cookie_headers(
        &reopened
            .set_cookie
            .expect("re-sealed under the current key"),
    );
    assert!(
        f.engine
            .open(&ctx(&resealed, Scheme::Http))
            .unwrap()
            .unwrap()
            .set_cookie
            .is_none()
    );
    // After the retirement period (a day by default) the old seal is dead.
    f.clock.advance(Duration::from_secs(366 * 24 * 3600));
    // (keep the session itself alive for the check)
    let mut s = reopened.session.clone();
    s.record.last_access_ms = session_engine::clock::unix_ms(f.engine.clock().now());
    session_engine::session::save(&**f.engine.storage(), &s).unwrap();
    assert!(
        f.engine
            .open(&ctx(&old_cookie, Scheme::Http))
            .unwrap()
            .is_none()
    );
    assert!(
        f.engine
            .open(&ctx(&resealed, Scheme::Http))
            .unwrap()
            .is_some()
    );
}

#[test]
fn cookie_policy_per_request() {
    let proxy: IpAddr = "10.0.0.2".parse().unwrap();
    let config = EngineConfig {
        policy: session_engine::PolicyConfig {
            trusted_proxies: vec![proxy],
            authenticated_max_age: Duration::from_secs(3600),
            ..session_engine::PolicyConfig::default()
        },
        ..EngineConfig::default()
    };
    let f = fixture_with(config);
    let mut xfp = HeaderMap::new();
    xfp.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    let mut two = HeaderMap::new();
    two.append("x-forwarded-proto", HeaderValue::from_static("https"));
    two.append("x-forwarded-proto", HeaderValue::from_static("http"));
    let empty = HeaderMap::new();
    let untrusted: IpAddr = "198.51.100.7".parse().unwrap();
    let case = |headers: &HeaderMap, scheme, peer, endpoint| {
        f.engine.cookie_policy(
            &RequestContext {
                scheme,
                peer: Some(peer),
                headers,
                endpoint,
            },
            CookieLifetime::Metadata,
        )
    };
    let p = case(&empty, Scheme::Https, untrusted, EndpointClass::Normal);
    assert_eq!(
        (p.secure, p.basis, p.same_site, p.host_prefix),
        (
            true,
            SecureBasis::DirectTls,
            session_engine::policy::SameSite::Lax,
            true
        )
    );
    assert_eq!(p.name, "__Host-keybench-session");
    let p = case(&empty, Scheme::Http, untrusted, EndpointClass::Normal);
    assert_eq!(
        (p.secure, p.basis, p.same_site, p.host_prefix),
        (
            false,
            SecureBasis::PlainHttp,
            session_engine::policy::SameSite::Lax,
            false
        )
    );
    assert_eq!(p.name, "keybench-session");
    // X-Forwarded-Proto from an untrusted peer is ignored.
    let p = case(&xfp, Scheme::Http, untrusted, EndpointClass::Normal);
    assert_eq!(
        (p.secure, p.basis),
        (false, SecureBasis::UntrustedForwardedProtoIgnored)
    );
    // From the trusted proxy it counts.
    let p = case(&xfp, Scheme::Http, proxy, EndpointClass::Normal);
    assert_eq!(
        (p.secure, p.basis, p.host_prefix),
        (true, SecureBasis::TrustedProxyHttps, true)
    );
    let p = case(&two, Scheme::Http, proxy, EndpointClass::Normal);
    assert_eq!(
        (p.secure, p.basis),
        (false, SecureBasis::MalformedForwardedProto)
    );
    let p = case(&empty, Scheme::Http, proxy, EndpointClass::Normal);
    assert_eq!((p.secure, p.basis), (false, SecureBasis::TrustedProxyHttp));
    // SameSite follows the session's state, not the endpoint (see
    // same_site_follows_the_session_state_on_every_issue_path).
    assert_eq!(
        case(&empty, Scheme::Https, untrusted, EndpointClass::Critical).same_site,
        session_engine::policy::SameSite::Lax
    );
    // Lifetimes.
    assert_eq!(p.max_age_secs, 365 * 24 * 3600);
    let auth = f
        .engine
        .cookie_policy(&ctx(&empty, Scheme::Https), CookieLifetime::Authenticated);
    assert_eq!(auth.max_age_secs, 3600);
    assert!(auth.http_only && auth.path == "/");
    // The policy is a displayable value.
    let json = serde_json::to_value(&auth).unwrap();
    assert_eq!(json["same_site"], "Strict");
    assert_eq!(json["basis"], "direct_tls");
    assert!(auth.clear_cookie().contains("Max-Age=0"));
}

/// One SameSite rule, whatever the context, the endpoint or the path that
/// issues the cookie: a signed-in session's cookie is Strict, a pre-login
/// one Lax (on HTTPS too).
#[test]
fn same_site_follows_the_session_state_on_every_issue_path() {
    let proxy: IpAddr = "10.0.0.2".parse().unwrap();
    let f = fixture_with(EngineConfig {
        policy: session_engine::PolicyConfig {
            trusted_proxies: vec![proxy],
            ..session_engine::PolicyConfig::default()
        },
        ..EngineConfig::default()
    });
    #[derive(Debug, Clone, Copy)]
    enum Via {
        Http,
        Https,
        TrustedProxyHttps,
    }
    let headers = |via: Via, set_cookie: Option<&str>| {
        let mut h = set_cookie.map_or_else(HeaderMap::new, cookie_headers);
        if let Via::TrustedProxyHttps = via {
            h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        }
        h
    };
    fn context(via: Via, h: &HeaderMap, endpoint: EndpointClass) -> RequestContext<'_> {
        let (scheme, peer) = match via {
            Via::Http => (Scheme::Http, "203.0.113.9"),
            Via::Https => (Scheme::Https, "203.0.113.9"),
            Via::TrustedProxyHttps => (Scheme::Http, "10.0.0.2"),
        };
        RequestContext {
            scheme,
            peer: Some(peer.parse().unwrap()),
            headers: h,
            endpoint,
        }
    }
    let same_site = |set_cookie: &str| {
        set_cookie
            .split(';')
            .map(str::trim)
            .find_map(|a| a.strip_prefix("SameSite="))
            .unwrap_or("(none)")
            .to_owned()
    };
    let mut failures = Vec::new();
    let mut check = |via: Via, endpoint, path: &str, set_cookie: &str, expected: &str| {
        let got = same_site(set_cookie);
        if got != expected {
            failures.push(format!(
                "{via:?} {endpoint:?} {path}: SameSite={got}, expected {expected}"
            ));
        }
    };
    for via in [Via::Http, Via::Https, Via::TrustedProxyHttps] {
        for endpoint in [EndpointClass::Normal, EndpointClass::Critical] {
            // A new (pre-login) session.
            let h = headers(via, None);
            let new = f
                .engine
                .open_or_create(&context(via, &h, endpoint))
                .unwrap();
            let pre = new.set_cookie.unwrap();
            check(via, endpoint, "new session", &pre, "Lax");
            // Pre-login, re-sealed after a key rotation.
            f.engine.rotate_key().unwrap();
            let h = headers(via, Some(&pre));
            let resealed = f.engine.open(&context(via, &h, endpoint)).unwrap().unwrap();
            let pre = resealed.set_cookie.unwrap();
            check(via, endpoint, "pre-login re-seal", &pre, "Lax");
            // Sign-in (id rotation).
            let signed = f
                .engine
                .authenticate(
                    &context(via, &h, endpoint),
                    &resealed.session,
                    "alice",
                    vec!["user".into()],
                )
                .unwrap();
            let auth = signed.set_cookie.unwrap();
            check(via, endpoint, "sign-in", &auth, "Strict");
            // Signed in, re-sealed after a key rotation, on any endpoint.
            f.engine.rotate_key().unwrap();
            let h = headers(via, Some(&auth));
            let resealed = f.engine.open(&context(via, &h, endpoint)).unwrap().unwrap();
            let auth = resealed.set_cookie.unwrap();
            check(via, endpoint, "signed-in re-seal", &auth, "Strict");
            // Signed in, privilege change (id rotation).
            let changed = f
                .engine
                .change_privileges(
                    &context(via, &h, endpoint),
                    &resealed.session,
                    vec!["user".into(), "admin".into()],
                )
                .unwrap();
            let auth = changed.set_cookie.unwrap();
            check(via, endpoint, "privilege change", &auth, "Strict");
            // Signed in, an ordinary request after a minute (last access
            // written): the policy it reports.
            f.clock.advance(Duration::from_secs(120));
            let h = headers(via, Some(&auth));
            let opened = f.engine.open(&context(via, &h, endpoint)).unwrap().unwrap();
            let shown = opened.policy.set_cookie("x");
            check(via, endpoint, "signed-in touch", &shown, "Strict");
            // Login expiry: no longer signed in, so a pre-login cookie.
            f.clock.advance(Duration::from_secs(13 * 3600));
            let expired = f.engine.open(&context(via, &h, endpoint)).unwrap().unwrap();
            assert!(!expired.session.record.is_authenticated());
            let pre = expired.set_cookie.unwrap();
            check(via, endpoint, "login expiry", &pre, "Lax");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn last_access_writes_are_coalesced() {
    let f = fixture();
    let empty = HeaderMap::new();
    let opened = f.engine.open_or_create(&ctx(&empty, Scheme::Http)).unwrap();
    let h = cookie_headers(&opened.set_cookie.unwrap());
    let stored = || {
        session_engine::session::load(&*f.store, &opened.session.id)
            .unwrap()
            .unwrap()
            .record
            .last_access_ms
    };
    let t0 = stored();
    for _ in 0..10 {
        f.clock.advance(Duration::from_secs(5));
        f.engine.open(&ctx(&h, Scheme::Http)).unwrap().unwrap();
    }
    assert_eq!(stored(), t0, "50 s of requests: no write");
    f.clock.advance(Duration::from_secs(10));
    f.engine.open(&ctx(&h, Scheme::Http)).unwrap().unwrap();
    assert_eq!(stored(), t0 + 60_000, "one write once a minute has passed");
}

/// A request that loaded its session before a concurrent logout or id
/// rotation must not write the session back when it touches last access.
#[test]
fn touch_never_resurrects_a_logged_out_or_rotated_session() {
    use session_engine::session;
    let f = fixture();
    let empty = HeaderMap::new();
    let c = ctx(&empty, Scheme::Http);
    let coalesce = Duration::from_secs(60);
    // Logout between load and touch.
    let opened = f.engine.open_or_create(&c).unwrap();
    let mut stale = session::load(&*f.store, &opened.session.id)
        .unwrap()
        .unwrap();
    f.engine.logout(&c, &opened.session).unwrap();
    f.clock.advance(Duration::from_secs(120));
    let _ = session::touch(&*f.store, &mut stale, f.engine.clock().now(), coalesce);
    assert!(
        session::load(&*f.store, &opened.session.id)
            .unwrap()
            .is_none(),
        "a logged-out session came back"
    );
    assert!(f.store.list(&opened.session.id.scope()).unwrap().is_empty());
    // Id rotation (sign-in) between load and touch.
    let opened = f.engine.open_or_create(&c).unwrap();
    let mut stale = session::load(&*f.store, &opened.session.id)
        .unwrap()
        .unwrap();
    let signed_in = f
        .engine
        .authenticate(&c, &opened.session, "alice", vec!["user".into()])
        .unwrap();
    f.clock.advance(Duration::from_secs(120));
    let _ = session::touch(&*f.store, &mut stale, f.engine.clock().now(), coalesce);
    assert!(
        session::load(&*f.store, &opened.session.id)
            .unwrap()
            .is_none(),
        "the pre-rotation id came back"
    );
    assert!(
        session::load(&*f.store, &signed_in.session.id)
            .unwrap()
            .is_some()
    );
}

#[test]
fn idle_sessions_do_not_open() {
    let f = fixture();
    let empty = HeaderMap::new();
    let opened = f.engine.open_or_create(&ctx(&empty, Scheme::Http)).unwrap();
    let h = cookie_headers(&opened.set_cookie.unwrap());
    f.clock.advance(Duration::from_secs(14 * 24 * 3600 - 1));
    assert!(f.engine.open(&ctx(&h, Scheme::Http)).unwrap().is_some());
    f.clock.advance(Duration::from_secs(14 * 24 * 3600 + 1));
    assert!(f.engine.open(&ctx(&h, Scheme::Http)).unwrap().is_none());
    assert!(
        session_engine::session::load(&*f.store, &opened.session.id)
            .unwrap()
            .is_none(),
        "removed"
    );
}

#[test]
fn sessions_cannot_reach_each_others_items() {
    let f = fixture();
    let empty = HeaderMap::new();
    let a = f
        .engine
        .open_or_create(&ctx(&empty, Scheme::Http))
        .unwrap()
        .session;
    let b = f
        .engine
        .open_or_create(&ctx(&empty, Scheme::Http))
        .unwrap()
        .session;
    f.engine.items(&a).put("metadata.json", b"alice").unwrap();
    assert_eq!(f.engine.items(&b).get("metadata.json").unwrap(), None);
    f.engine.items(&b).put("metadata.json", b"bob").unwrap();
    assert_eq!(
        f.engine.items(&a).get("metadata.json").unwrap().unwrap(),
        b"alice"
    );
    // Traversal attempts and the reserved record are refused by name.
    for bad in ["../x", "a/b", ".last-access", "..", "session.json"] {
        assert!(f.engine.items(&a).put(bad, b"x").is_err(), "{bad}");
    }
    assert_eq!(f.engine.items(&a).list().unwrap().len(), 1);
}

#[test]
fn fixation_a_planted_session_never_becomes_authenticated() {
    let f = fixture();
    let empty = HeaderMap::new();
    // The attacker obtains a valid session and plants its cookie in the
    // victim's browser.
    let planted = f
        .engine
        .open_or_create(&ctx(&empty, Scheme::Https))
        .unwrap();
    let planted_cookie = cookie_headers(&planted.set_cookie.clone().unwrap());
    f.engine
        .items(&planted.session)
        .put("upload.json", b"victim data")
        .unwrap();
    // The victim signs in with it.
    let victim = f
        .engine
        .open(&ctx(&planted_cookie, Scheme::Https))
        .unwrap()
        .unwrap();
    let authed = f
        .engine
        .authenticate(
            &ctx(&planted_cookie, Scheme::Https),
            &victim.session,
            "alice",
            vec!["user".into()],
        )
        .unwrap();
    assert_ne!(authed.session.id, planted.session.id, "the id rotated");
    assert_ne!(
        authed.session.record.csrf_token, planted.session.record.csrf_token,
        "a new CSRF token"
    );
    assert_eq!(authed.session.record.user.as_deref(), Some("alice"));
    assert_eq!(authed.policy.lifetime, CookieLifetime::Authenticated);
    // The session's items moved along.
    assert_eq!(
        f.engine
            .items(&authed.session)
            .get("upload.json")
            .unwrap()
            .unwrap(),
        b"victim data"
    );
    // The attacker's copy of the old cookie opens nothing.
    assert!(
        f.engine
            .open(&ctx(&planted_cookie, Scheme::Https))
            .unwrap()
            .is_none()
    );
    let last = f.engine.events().snapshot().into_iter().last().unwrap();
    assert_eq!(
        (last.kind, last.reason),
        (EventKind::CookieRejected, Some("unknown_session"))
    );
    // The victim's new cookie opens the authenticated session.
    let new_cookie = cookie_headers(&authed.set_cookie.clone().unwrap());
    let reopened = f
        .engine
        .open(&ctx(&new_cookie, Scheme::Https))
        .unwrap()
        .unwrap();
    assert_eq!(reopened.session.record.user.as_deref(), Some("alice"));
    // A privilege change rotates again.
    let elevated = f
        .engine
        .change_privileges(
            &ctx(&new_cookie, Scheme::Https),
            &reopened.session,
            vec!["user".into(), "admin".into()],
        )
        .unwrap();
    assert_ne!(elevated.session.id, reopened.session.id);
    assert!(
        f.engine
            .open(&ctx(&new_cookie, Scheme::Https))
            .unwrap()
            .is_none()
    );
    // Authentication expires (12 h by default): privileges drop, the id rotates.
    let elevated_cookie = cookie_headers(&elevated.set_cookie.unwrap());
    f.clock.advance(Duration::from_secs(12 * 3600 + 1));
    let expired = f
        .engine
        .open(&ctx(&elevated_cookie, Scheme::Https))
        .unwrap()
        .unwrap();
    assert_eq!(expired.session.record.user, None);
    assert!(expired.session.record.privileges.is_empty());
    assert_ne!(expired.session.id, elevated.session.id);
    // Logout removes the session.
    let clear = f
        .engine
        .logout(&ctx(&empty, Scheme::Https), &expired.session)
        .unwrap();
    assert!(clear.contains("Max-Age=0"));
    assert!(
        session_engine::session::load(&*f.store, &expired.session.id)
            .unwrap()
            .is_none()
    );
}

fn with(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn csrf_origin_referer_and_token() {
    let f = fixture();
    let session = f
        .engine
        .open_or_create(&ctx(&HeaderMap::new(), Scheme::Https))
        .unwrap()
        .session;
    let token = session.record.csrf_token.clone();
    let post = Method::POST;
    let check = |h: &HeaderMap, change| f.engine.check_csrf(&post, h, Some(&session), change);
    // Safe methods pass without headers.
    assert_eq!(
        f.engine.check_csrf(
            &Method::GET,
            &HeaderMap::new(),
            Some(&session),
            StateChange::Other
        ),
        Ok(OriginVerdict::SafeMethod)
    );
    // Origin allowed (default port normalised, case-insensitive host) + token.
    assert_eq!(
        check(
            &with(&[
                ("origin", "https://KeyBench.example:443"),
                ("x-csrf-token", &token)
            ]),
            StateChange::Other
        ),
        Ok(OriginVerdict::Origin)
    );
    // Ceremonies need no token (the bound challenge protects them).
    assert_eq!(
        check(
            &with(&[("origin", "http://localhost:8080")]),
            StateChange::Ceremony
        ),
        Ok(OriginVerdict::Origin)
    );
    // Referer as fallback.
    assert_eq!(
        check(
            &with(&[
                ("referer", "https://keybench.example/page?x=1"),
                ("x-csrf-token", &token)
            ]),
            StateChange::Other
        ),
        Ok(OriginVerdict::Referer)
    );
    // Refusals, each with its own reason.
    let cases: Vec<(HeaderMap, CsrfRejection)> = vec![
        (
            with(&[("origin", "https://evil.example"), ("x-csrf-token", &token)]),
            CsrfRejection::OriginNotAllowed("https://evil.example".into()),
        ),
        (
            with(&[
                ("origin", "http://keybench.example"),
                ("x-csrf-token", &token),
            ]),
            CsrfRejection::OriginNotAllowed("http://keybench.example".into()),
        ),
        (
            with(&[("origin", "https://keybench.example:8443")]),
            CsrfRejection::OriginNotAllowed("https://keybench.example:8443".into()),
        ),
        (with(&[("origin", "null")]), CsrfRejection::NullOrigin),
        (
            with(&[("origin", "https://user@keybench.example")]),
            CsrfRejection::Malformed { header: "Origin" },
        ),
        (
            with(&[
                ("origin", "https://keybench.example"),
                ("origin", "https://keybench.example"),
            ]),
            CsrfRejection::DuplicateOrigin,
        ),
        (
            with(&[("referer", "https://evil.example/keybench.example")]),
            CsrfRejection::RefererNotAllowed("https://evil.example".into()),
        ),
        (
            with(&[("referer", "javascript:alert(1)")]),
            CsrfRejection::Malformed { header: "Referer" },
        ),
        (HeaderMap::new(), CsrfRejection::MissingOrigin),
        (
            with(&[("origin", "https://keybench.example")]),
            CsrfRejection::MissingToken,
        ),
        (
            with(&[
                ("origin", "https://keybench.example"),
                ("x-csrf-token", "wrong"),
            ]),
            CsrfRejection::BadToken,
        ),
    ];
    for (h, want) in &cases {
        assert_eq!(check(h, StateChange::Other).as_ref(), Err(want), "{h:?}");
    }
    let rejected = f
        .engine
        .events()
        .snapshot()
        .into_iter()
        .filter(|e| e.kind == EventKind::CsrfRejected)
        .count();
    assert_eq!(rejected, cases.len());
    // A token from another session is refused.
    let other = f
        .engine
        .open_or_create(&ctx(&HeaderMap::new(), Scheme::Https))
        .unwrap()
        .session;
    let h = with(&[
        ("origin", "https://keybench.example"),
        ("x-csrf-token", &other.record.csrf_token),
    ]);
    assert_eq!(check(&h, StateChange::Other), Err(CsrfRejection::BadToken));
    assert!(OriginAllowList::new(["https://a.example/path"]).is_err());
    assert!(OriginAllowList::new(["ftp://a.example"]).is_err());
}

#[test]
fn security_headers() {
    let f = fixture();
    let empty = HeaderMap::new();
    let https = f.engine.security_headers(&ctx(&empty, Scheme::Https));
    let http = f.engine.security_headers(&ctx(&empty, Scheme::Http));
    assert!(
        https["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=63072000")
    );
    assert!(
        http.get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );
    for h in [&https, &http] {
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
}

#[test]
fn events_never_carry_full_ids_or_tokens() {
    let f = fixture();
    let empty = HeaderMap::new();
    let opened = f
        .engine
        .open_or_create(&ctx(&empty, Scheme::Https))
        .unwrap();
    let authed = f
        .engine
        .authenticate(
            &ctx(&empty, Scheme::Https),
            &opened.session,
            "alice",
            vec![],
        )
        .unwrap();
    let _ = f.engine.check_csrf(
        &Method::POST,
        &with(&[
            ("origin", "https://keybench.example"),
            ("x-csrf-token", "nope"),
        ]),
        Some(&authed.session),
        StateChange::Other,
    );
    let events = f.engine.events().snapshot();
    assert!(events.len() >= 3);
    let dump = serde_json::to_string(&events).unwrap();
    for secret in [
        opened.session.id.expose(),
        authed.session.id.expose(),
        &authed.session.record.csrf_token,
        &opened.session.record.csrf_token,
    ] {
        assert!(!dump.contains(secret), "event ring leaks a secret");
        assert!(
            !dump.contains(&secret[..12]),
            "event ring leaks a prefix of a secret"
        );
    }
    assert!(dump.contains(&authed.session.id.redacted()));
    // Debug output of records and sessions is redacted too.
    let debug = format!("{:?}", authed.session);
    assert!(
        !debug.contains(authed.session.id.expose())
            && !debug.contains(&authed.session.record.csrf_token)
    );
}

/// A storage failure on a session's record: neither the error the server
/// would log and return, nor the events, nor the cleanup status show the
/// session id.
#[test]
fn storage_errors_never_show_the_session_id() {
    let f = fixture();
    let empty = HeaderMap::new();
    let opened = f.engine.open_or_create(&ctx(&empty, Scheme::Http)).unwrap();
    let id = opened.session.id.expose().to_owned();
    // A directory where the record should be: reading it fails (as root too).
    let record = f
        .store
        .scope_dir(&opened.session.id.scope())
        .join("session.json");
    std::fs::remove_file(&record).unwrap();
    std::fs::create_dir(&record).unwrap();
    std::fs::write(record.join("x"), b"").unwrap();
    let h = cookie_headers(&opened.set_cookie.unwrap());
    let err = f.engine.open(&ctx(&h, Scheme::Http)).unwrap_err();
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!shown.contains(&id), "{shown}");
    assert!(shown.contains(&opened.session.id.redacted()), "{shown}");
    f.engine.sweep_now().unwrap();
    let events = serde_json::to_string(&f.engine.events().snapshot()).unwrap();
    assert!(events.contains("error"), "{events}");
    assert!(!events.contains(&id), "{events}");
    let cleanup = format!("{:?}", f.engine.cleanup_status());
    assert!(!cleanup.contains(&id), "{cleanup}");
}

/// A sign-in (an id rotation) that completes after a logout of the same
/// session does not bring it back, signed in, under a new id.
#[test]
fn a_sign_in_after_a_logout_does_not_resurrect_the_session() {
    use session_engine::session;
    let f = fixture();
    let empty = HeaderMap::new();
    let c = ctx(&empty, Scheme::Http);
    let opened = f.engine.open_or_create(&c).unwrap();
    f.engine.logout(&c, &opened.session).unwrap();
    assert!(
        f.engine
            .authenticate(&c, &opened.session, "alice", vec!["user".into()])
            .is_err(),
        "a logged-out session was signed in"
    );
    let idle = Duration::from_secs(14 * 24 * 3600);
    let left = session::list_sessions(&*f.store, idle).unwrap();
    assert!(
        left.iter().all(|s| s.user.as_deref() != Some("alice")),
        "a session signed in as alice appeared: {left:?}"
    );
}

/// A completed sign-in's writes (the challenge's consumption, the
/// application's counter, the id rotation) in one batch: all made, a
/// replay refused, and a refused counter leaves the session as it was with
/// the challenge consumed all the same.
fn sign_in_with(store: Arc<dyn Storage>) {
    use session_engine::{Binding, Ceremony, ChallengeRejection, SignInError};
    use session_store::{BatchRefusal, BatchWrite, ItemName, Kind, OwnerId, Scope};
    let engine = SessionEngine::with_key(
        EngineConfig::default(),
        store.clone(),
        Arc::new(ManualClock::at_2025()),
        SecretKey::generate(),
    );
    let empty = HeaderMap::new();
    let c = ctx(&empty, Scheme::Https);
    let opened = engine.create(&c).unwrap();
    let binding = Binding {
        session: opened.session.id.clone(),
        ceremony: Ceremony::Authentication,
        rp_id: "keybench.example".into(),
        origin: "https://keybench.example".into(),
        user: None,
    };
    let account = Scope::new(Kind::accounts(), OwnerId::new("alice").unwrap());
    let cred = ItemName::new("cred-1").unwrap();
    store.put(&account, &cred, b"count=1").unwrap();
    let counter = |expected: &'static [u8]| BatchWrite::Swap {
        scope: &account,
        item: &cred,
        expected,
        value: b"count=2",
    };

    let issued = engine.issue_challenge(&binding).unwrap();
    let checked = engine.check_challenge(&issued.bytes, &binding).unwrap();
    // A second check before the consumption still passes: the batch decides.
    let racer = engine.check_challenge(&issued.bytes, &binding).unwrap();
    let (_, signed_in) = engine
        .sign_in(
            &c,
            checked,
            &opened.session,
            "alice",
            vec!["user".into()],
            &[counter(b"count=1")],
        )
        .unwrap();
    assert_ne!(signed_in.session.id, opened.session.id);
    assert_eq!(signed_in.session.record.user.as_deref(), Some("alice"));
    assert_eq!(
        store.get(&account, &cred).unwrap().as_deref(),
        Some(&b"count=2"[..])
    );
    assert!(store.list(&opened.session.id.scope()).unwrap().is_empty());
    // The racer loses at the consumption; a later check is refused at once.
    assert!(matches!(
        engine.sign_in(
            &c,
            racer,
            &signed_in.session,
            "alice",
            vec![],
            &[counter(b"count=2")]
        ),
        Err(SignInError::Challenge(ChallengeRejection::Reused))
    ));
    assert_eq!(
        engine.check_challenge(&issued.bytes, &binding).unwrap_err(),
        ChallengeRejection::Reused
    );

    // A stale counter: refused, the session not rotated, the challenge used.
    let binding = Binding {
        session: signed_in.session.id.clone(),
        ..binding
    };
    let issued = engine.issue_challenge(&binding).unwrap();
    let checked = engine.check_challenge(&issued.bytes, &binding).unwrap();
    assert!(matches!(
        engine.sign_in(
            &c,
            checked,
            &signed_in.session,
            "alice",
            vec![],
            &[counter(b"count=1")]
        ),
        Err(SignInError::Refused {
            index: 0,
            why: BatchRefusal::Changed
        })
    ));
    assert!(
        !store
            .list(&signed_in.session.id.scope())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        engine.check_challenge(&issued.bytes, &binding).unwrap_err(),
        ChallengeRejection::Reused
    );
}

#[test]
fn a_sign_in_is_one_batch_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    sign_in_with(Arc::new(
        session_store::EmbeddedStore::open(dir.path()).unwrap(),
    ));
}

#[test]
fn a_sign_in_is_made_in_steps_on_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    sign_in_with(Arc::new(LocalStore::open(dir.path()).unwrap()));
}
