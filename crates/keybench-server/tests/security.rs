//! Regression tests for the server's security review: each test names the
//! flaw it guards against and fails on a server that has it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use ctap_client::webauthn::{self, ClientContext};
use serde_json::{Value, json};
use support::{browser, server, virtual_key};

fn options_of(v: &Value) -> fido_wire::webauthn::json::CreationOptionsJson {
    fido_wire::webauthn::json::from_json(&serde_json::to_vec(&v["publicKey"]).unwrap()).unwrap()
}

/// Account takeover through registration: a client that is not signed in
/// as an existing user must not be able to add its key to that account,
/// neither through the simple nor the advanced endpoint, whatever the case
/// or spacing of the name; and no part of the account (handle, credential
/// ids) is disclosed to it.
#[test]
fn a_stranger_cannot_register_an_existing_name() {
    let srv = server(None);
    let (mut alice_key, _a) = virtual_key();
    let (s, v, _) = srv.register(&browser(), &mut alice_key, "alice");
    assert_eq!(s, 200, "{v}");

    let stranger = browser();
    for (path, name) in [
        ("/api/register/begin", "alice"),
        ("/api/register/begin", " Alice "),
        ("/api/advanced/register/begin", "ALICE"),
    ] {
        let (s, v) = srv.post(&stranger, path, &json!({ "username": name }));
        assert_eq!(s, 409, "{path} {name:?}: {v}");
        assert_eq!(v["code"], "username_taken", "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("sign in as that user to add a key"),
            "{v}"
        );
        assert!(v.get("publicKey").is_none(), "{v}");
    }
    // The stranger's key never became alice's: it cannot sign in as alice,
    // and alice still has exactly her one credential.
    let (mut stranger_key, _s) = virtual_key();
    let (s, options) = srv.post(
        &stranger,
        "/api/authenticate/begin",
        &json!({ "username": "alice" }),
    );
    assert_eq!(s, 200, "{options}");
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&options["publicKey"]).unwrap())
            .unwrap();
    assert!(
        webauthn::authenticate(
            &mut stranger_key,
            &options,
            &mut ClientContext::new(srv.base.clone())
        )
        .is_err(),
        "the stranger's key holds no credential for alice"
    );
    let alice = browser();
    let (s, v, _) = srv.login(&alice, &mut alice_key, Some("alice"));
    assert_eq!(s, 200, "{v}");
    let (_, list) = srv.get(&alice, "/api/credentials");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

/// A user signed in as an account may add a key to it: the options carry
/// the account's own handle and exclude its existing credentials.
#[test]
fn a_signed_in_user_adds_a_key_to_their_own_account() {
    let srv = server(None);
    let (mut first, _a) = virtual_key();
    let (mut second, _b) = virtual_key();
    let alice = browser();
    let (s, v, first_body) = srv.register(&alice, &mut first, "alice");
    assert_eq!(s, 200, "{v}");

    let (s, begin) = srv.post(
        &alice,
        "/api/register/begin",
        &json!({ "username": "alice" }),
    );
    assert_eq!(s, 200, "{begin}");
    let options = options_of(&begin);
    assert_eq!(
        options
            .exclude_credentials
            .iter()
            .map(|c| fido_wire::webauthn::base64url::encode(&c.id.0))
            .collect::<Vec<_>>(),
        vec![first_body["id"].as_str().unwrap().to_owned()]
    );
    let response = webauthn::register(
        &mut second,
        &options,
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    let (s, v) = srv.post(
        &alice,
        "/api/register/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    let (_, list) = srv.get(&alice, "/api/credentials");
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    // The second key signs in as alice too.
    let (s, v, _) = srv.login(&browser(), &mut second, Some("alice"));
    assert_eq!((s, v["username"].as_str()), (200, Some("alice")), "{v}");
}

/// An account whose credential was registered with user verification asks
/// for user verification before it accepts another key: a key that cannot
/// verify the user is refused.
#[test]
fn adding_a_key_to_an_account_with_a_verified_credential_requires_uv() {
    let srv = server(None);
    let (mut with_pin, _a) = virtual_key();
    with_pin.set_pin("1234").unwrap();
    let alice = browser();
    let (s, begin) = srv.post(
        &alice,
        "/api/register/begin",
        &json!({ "username": "alice" }),
    );
    assert_eq!(s, 200, "{begin}");
    let mut ctx = ClientContext::new(srv.base.clone());
    ctx.pin = Some("1234");
    let response = webauthn::register(&mut with_pin, &options_of(&begin), &mut ctx).unwrap();
    let (s, v) = srv.post(
        &alice,
        "/api/register/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["credential"]["userVerified"], true, "{v}");

    let (s, begin) = srv.post(
        &alice,
        "/api/register/begin",
        &json!({ "username": "alice" }),
    );
    assert_eq!(s, 200, "{begin}");
    assert_eq!(
        begin["publicKey"]["authenticatorSelection"]["userVerification"], "required",
        "{begin}"
    );
    // Options asking for less are not honoured either.
    let (s, begin_discouraged) = srv.post(
        &alice,
        "/api/advanced/register/begin",
        &json!({ "username": "alice", "userVerification": "discouraged" }),
    );
    assert_eq!(s, 200, "{begin_discouraged}");
    assert_eq!(
        begin_discouraged["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    // A key without a PIN answers without UV: refused, nothing added. The
    // client is told UV is only preferred so that the key gets to answer.
    let (mut no_pin, _b) = virtual_key();
    let mut options = options_of(&begin_discouraged);
    if let Some(sel) = &mut options.authenticator_selection {
        sel.user_verification =
            Some(fido_wire::webauthn::json::UserVerificationRequirement::Discouraged);
    }
    let response = webauthn::register(
        &mut no_pin,
        &options,
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    let (s, v) = srv.post(
        &alice,
        "/api/register/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(s, 400, "{v}");
    let (_, list) = srv.get(&alice, "/api/credentials");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

/// A ceremony begun for a free name cannot complete once somebody else has
/// taken it: the late registration is refused, the account keeps its one key.
#[test]
fn a_registration_for_a_name_taken_meanwhile_is_refused() {
    let srv = server(None);
    let (mut late_key, _a) = virtual_key();
    let (mut bob_key, _b) = virtual_key();
    let late = browser();
    let (s, begin) = srv.post(&late, "/api/register/begin", &json!({ "username": "bob" }));
    assert_eq!(s, 200, "{begin}");
    let bob = browser();
    let (s, v, _) = srv.register(&bob, &mut bob_key, "bob");
    assert_eq!(s, 200, "{v}");
    let response = webauthn::register(
        &mut late_key,
        &options_of(&begin),
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    let (s, v) = srv.post(
        &late,
        "/api/register/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(s, 409, "{v}");
    assert_eq!(srv.get(&late, "/api/me").0, 401);
    let (_, list) = srv.get(&bob, "/api/credentials");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

/// Account enumeration: `authenticate/begin` answers a name without an
/// account like one with an account — a non-empty allow list of the same
/// shape, the same on every request and across restarts.
#[test]
fn authenticate_begin_does_not_tell_who_has_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let allow_of = |srv: &support::Server, user: &str| -> Vec<Value> {
        let (s, v) = srv.post(
            &browser(),
            "/api/authenticate/begin",
            &json!({ "username": user }),
        );
        assert_eq!(s, 200, "{v}");
        v["publicKey"]["allowCredentials"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let keys_of = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let (real, decoy) = {
        let srv = support::server_in(
            dir.path().to_owned(),
            None,
            keybench_server::StorageChoice::Local,
        );
        let (mut key, _a) = virtual_key();
        let (s, v, _) = srv.register(&browser(), &mut key, "alice");
        assert_eq!(s, 200, "{v}");
        let real = allow_of(&srv, "alice");
        let decoy = allow_of(&srv, "mallory");
        assert!(!decoy.is_empty(), "an unknown user gets a decoy list");
        assert_eq!(decoy, allow_of(&srv, "mallory"), "the same every time");
        assert_eq!(decoy, allow_of(&srv, " Mallory"), "for every spelling");
        assert_ne!(decoy, allow_of(&srv, "trent"), "and its own per name");
        (real, decoy)
    };
    assert_eq!(keys_of(&real[0]), keys_of(&decoy[0]));
    for d in &decoy {
        let id = fido_wire::webauthn::base64url::decode(d["id"].as_str().unwrap()).unwrap();
        assert!([32, 48, 64].contains(&id.len()), "{d}");
    }
    // After a restart on the same data the decoys are the same.
    let srv = support::server_in(
        dir.path().to_owned(),
        None,
        keybench_server::StorageChoice::Local,
    );
    assert_eq!(decoy, allow_of(&srv, "mallory"));
}

/// Security headers on everything the server sends: API answers and
/// errors, the UI's page and scripts, an unknown page, the live stream.
#[test]
fn every_response_carries_the_security_headers() {
    let srv = server(None);
    let c = browser();
    let check = |what: &str, r: &reqwest::blocking::Response| {
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin", "{what}");
    };
    for path in [
        "/",
        "/index.html",
        "/app.js",
        "/styles.css",
        "/no-such-page.html",
        "/api/session",
        "/api/me",
        "/api/nothing-here",
    ] {
        let r = c.get(format!("{}{path}", srv.base)).send().unwrap();
        check(path, &r);
    }
    let r = c
        .get(format!("{}/api/inspect/stream", srv.base))
        .bearer_auth(&srv.secret)
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    check("/api/inspect/stream", &r);
    let r = c
        .post(format!("{}/api/register/begin", srv.base))
        .header("Origin", "https://evil.example")
        .json(&json!({ "username": "x" }))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    check("refused POST", &r);
}

/// Unbounded session creation: cookie-less GETs create no session at all;
/// cookie-less ceremonies create sessions only at the per-peer rate; an
/// open dashboard stream sends coalesced snapshots instead of one listing
/// per new session, and the dashboard keeps answering.
#[test]
fn anonymous_requests_cannot_grow_the_session_store() {
    let srv = server(None);
    let sessions = |srv: &support::Server| -> usize {
        let (s, v) = srv.inspect(&browser(), "/api/inspect/sessions");
        assert_eq!(s, 200, "{v}");
        v.as_array().unwrap().len()
    };
    // The dashboard's live stream, read on its own thread.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    {
        let mut stream = browser()
            .get(format!("{}/api/inspect/stream", srv.base))
            .bearer_auth(&srv.secret)
            .send()
            .unwrap();
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = std::io::Read::read(&mut stream, &mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }

    // 10,000 GETs without a cookie (no cookie store: every one is new).
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let base = srv.base.clone();
            std::thread::spawn(move || {
                let c = reqwest::blocking::Client::new();
                for i in 0..2_500 {
                    let path = if (i + t) % 2 == 0 {
                        "/api/session"
                    } else {
                        "/api/metadata"
                    };
                    let r = c.get(format!("{base}{path}")).send().unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                    assert!(r.headers().get("set-cookie").is_none(), "{path}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sessions(&srv), 0, "GETs created sessions");

    // 600 cookie-less ceremony starts from one address: the burst (300)
    // and what refills meanwhile get sessions, the rest a clear refusal.
    let c = reqwest::blocking::Client::new();
    let (mut created, mut refused) = (0usize, 0usize);
    let flood = std::time::Instant::now();
    for i in 0..600 {
        let r = c
            .post(format!("{}/api/register/begin", srv.base))
            .header("Origin", &srv.base)
            .json(&json!({ "username": format!("flood{i}") }))
            .send()
            .unwrap();
        match r.status().as_u16() {
            200 => created += 1,
            429 => {
                let v: Value = r.json().unwrap();
                assert_eq!(v["code"], "too_many_sessions", "{v}");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let elapsed = flood.elapsed().as_secs_f64();
    println!("ceremony starts: {created} created a session, {refused} refused in {elapsed:.1} s");
    // The burst, plus the 5 a second that refill while the flood lasts.
    let refilled = (elapsed * 5.0).ceil() as usize + 1;
    assert!(
        (300..=300 + refilled).contains(&created),
        "{created} created in {elapsed:.1} s"
    );
    assert_eq!(created + refused, 600);
    // The dashboard answers, and its stream sent far fewer session
    // listings than sessions were created.
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(sessions(&srv), created);
    let listings = seen.lock().unwrap().matches("event: sessions").count();
    println!("stream: {listings} session listings for {created} new sessions");
    assert!(listings >= 2, "the initial listing and at least one update");
    assert!(listings * 3 < created, "{listings} listings");
}

/// Slow clients: a connection that never finishes its request headers, and
/// a keep-alive connection left idle, are closed by the server.
#[test]
fn slow_and_idle_connections_are_closed() {
    use std::io::{Read, Write};
    let srv = support::server_configured(|c| {
        c.connections.header_read_timeout = std::time::Duration::from_secs(1);
    });
    let addr = srv.base.trim_start_matches("http://").to_owned();
    // Waits (up to a generous bound) for the server to close the socket.
    let closed_by_server = |s: &mut std::net::TcpStream| -> bool {
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    };
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /api/session HTTP/1.1\r\nHost: ")
        .unwrap();
    assert!(
        closed_by_server(&mut slow),
        "a request whose headers never end kept its connection"
    );
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    idle.write_all(format!("GET /api/session HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    assert!(
        closed_by_server(&mut idle),
        "an idle keep-alive connection stayed open"
    );
}

/// Session ids in errors: a storage fault on a session's own item answers
/// with an incident id, never the store's text (which names the session's
/// path, and so its full id).
#[test]
fn a_storage_fault_answers_with_an_incident_id_only() {
    let srv = support::server_configured(|c| {
        c.storage = keybench_server::StorageChoice::Files;
    });
    let c = browser();
    let (s, v) = srv.post(&c, "/api/authenticate/begin", &json!({}));
    assert_eq!(s, 200, "{v}");
    // Break the one session's record: a directory where its file was.
    let sessions = srv.data.join("files/sessions");
    let owners: Vec<_> = std::fs::read_dir(&sessions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(owners.len(), 1, "{owners:?}");
    let owner = owners[0].file_name().unwrap().to_str().unwrap().to_owned();
    for item in std::fs::read_dir(&owners[0]).unwrap() {
        let path = item.unwrap().path();
        if path.is_file() {
            std::fs::remove_file(&path).unwrap();
            std::fs::create_dir(&path).unwrap();
        }
    }
    let (s, v) = srv.get(&c, "/api/me");
    println!("{s} {v}");
    assert!(s >= 500, "{s} {v}");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("incident"), "{message}");
    assert!(
        !message.contains(&owner),
        "the session id reached the client: {message}"
    );
    assert!(
        !message.contains("files/"),
        "a storage path reached the client: {message}"
    );
}

/// One session cannot grow the store without bound: user and display
/// names are bounded wherever they are stored, and a session keeps at most
/// 20 uploaded metadata statements.
#[test]
fn one_session_cannot_fill_the_store() {
    let srv = server(None);
    let c = browser();
    let huge = "a".repeat(60_000);
    let (s, v) = srv.post(&c, "/api/authenticate/begin", &json!({ "username": huge }));
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_username")),
        "{v}"
    );
    let (s, v) = srv.post(
        &c,
        "/api/register/begin",
        &json!({ "username": "bob", "displayName": huge }),
    );
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_display_name")),
        "{v}"
    );
    // Metadata uploads: the twenty-first is refused.
    let authenticator = virtual_authenticator::Authenticator::new(virtual_authenticator::Config {
        attestation: virtual_authenticator::AttestationMode::PackedBasic,
        ..virtual_authenticator::Config::default()
    })
    .unwrap();
    let root = authenticator.attestation_root().unwrap().to_vec();
    use base64::Engine as _;
    let statement = json!({
        "description": "a prototype",
        "aaguid": "6b627669-7274-2d75-706c-6f61642d3031",
        "protocolFamily": "fido2",
        "schema": 3,
        "attestationTypes": ["basic_full"],
        "attestationRootCertificates": [base64::engine::general_purpose::STANDARD.encode(&root)],
    });
    let upload = || {
        let (_, session) = srv.get(&c, "/api/session");
        let mut r = c
            .post(format!("{}/api/metadata", srv.base))
            .header("Origin", &srv.base)
            .json(&statement);
        if let Some(token) = session["csrfToken"].as_str() {
            r = r.header("X-CSRF-Token", token);
        }
        let r = r.send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    for i in 0..20 {
        let (s, v) = upload();
        assert_eq!(s, 201, "upload {i}: {v}");
    }
    let (s, v) = upload();
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("metadata_limit")),
        "{v}"
    );
}

/// Adding a key to an account needs a recent sign-in, not just a session
/// that is still signed in (a stolen cookie, a browser left signed in).
#[test]
fn adding_a_key_needs_a_recent_sign_in() {
    let srv = support::server_configured(|c| {
        c.add_key_within = std::time::Duration::ZERO;
    });
    let (mut key, _a) = virtual_key();
    let alice = browser();
    let (s, v, _) = srv.register(&alice, &mut key, "alice");
    assert_eq!(s, 200, "{v}");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (s, v) = srv.post(
        &alice,
        "/api/register/begin",
        &json!({ "username": "alice" }),
    );
    assert_eq!((s, v["code"].as_str()), (403, Some("sign_in_again")), "{v}");
    assert!(v.get("publicKey").is_none(), "{v}");
}
