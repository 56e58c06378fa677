//! The server over real HTTP on loopback: full ceremonies with Keybench's
//! WebAuthn client driving the virtual key, the inspection API and its live
//! stream, and every rejection the issue lists, printed as a table
//! (request → status, code, message).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../session-store/tests/support/fake_gcs.rs"]
mod fake_gcs;

mod support;

use ctap_client::webauthn::{self, ClientContext};
use keybench_server::ServerConfig;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{browser, server, server_in, server_with, virtual_key};

#[test]
fn ceremonies_sessions_and_the_dashboard() {
    let srv = server(None);
    let (mut key, _stop) = virtual_key();
    let c = browser();
    assert_eq!(srv.get(&c, "/api/me").0, 401);
    let (s, v, _) = srv.register(&c, &mut key, "alice");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["username"], "alice");
    assert_eq!(v["credential"]["algorithmName"], "ML-DSA-87");
    assert_eq!(v["credential"]["attestation"]["format"], "packed");
    let (s, me) = srv.get(&c, "/api/me");
    assert_eq!((s, me["username"].as_str()), (200, Some("alice")));

    // Named login, then a discoverable login with no user name.
    let (s, v, _) = srv.login(&c, &mut key, Some("alice"));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["signCount"], 1);
    let fresh = browser();
    let (s, v, _) = srv.login(&fresh, &mut key, None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["username"], "alice");
    let (s, list) = srv.get(&fresh, "/api/credentials");
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // The dashboard: sessions, consumed challenges, cookie table, key, cleanup.
    let dash = browser();
    let (s, sessions) = srv.inspect(&dash, "/api/inspect/sessions");
    assert_eq!(s, 200, "{sessions}");
    assert!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["user"] == "alice" && x["authenticated"] == true)
    );
    assert!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["id"].as_str().unwrap().starts_with("sid:")
                && x["id"].as_str().unwrap().len() == 12),
        "ids are redacted: {sessions}"
    );
    let (_, challenges) = srv.inspect(&dash, "/api/inspect/challenges");
    let states: Vec<&str> = challenges
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert!(
        states.iter().filter(|s| **s == "consumed").count() >= 3,
        "{challenges}"
    );
    let (_, cookies) = srv.inspect(&dash, "/api/inspect/cookies");
    let rows = cookies["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["context"] == "https"
        && r["secure"] == true
        && r["header"].as_str().unwrap().starts_with("__Host-")));
    assert!(
        rows.iter()
            .any(|r| r["context"] == "http" && r["secure"] == false)
    );
    assert!(rows.iter().all(|r| r["httpOnly"] == true));
    // The asking request came over plain HTTP.
    assert_eq!(cookies["current"], "http", "{cookies}");
    let (_, key_status) = srv.inspect(&dash, "/api/inspect/key");
    assert!(key_status["fingerprint"].is_string(), "{key_status}");
    for path in [
        "/api/inspect/key/rotate",
        "/api/inspect/key/revoke-previous",
    ] {
        let (s, status) = dash
            .post(format!("{}{path}", srv.base))
            .bearer_auth(&srv.secret)
            .send()
            .map(|r| (r.status().as_u16(), r.json::<Value>().unwrap()))
            .unwrap();
        assert_eq!(s, 200, "{path}: {status}");
        assert_eq!(
            status["previous"]["fingerprint"].is_string(),
            path.ends_with("rotate"),
            "{path}: {status}"
        );
    }
    // The revoked key opened this browser's cookie: it is signed out now.
    assert_eq!(srv.get(&c, "/api/me").0, 401);
    let (s, v, _) = srv.login(&c, &mut key, Some("alice"));
    assert_eq!(s, 200, "{v}");
    let (s, report) = dash
        .post(format!("{}/api/inspect/cleanup", srv.base))
        .bearer_auth(&srv.secret)
        .send()
        .map(|r| (r.status().as_u16(), r.json::<Value>().unwrap()))
        .unwrap();
    assert_eq!(s, 200, "{report}");
    assert!(report["runs"].as_u64().unwrap() >= 1, "{report}");
    assert!(
        report["lastRun"].as_str().unwrap().ends_with('Z'),
        "{report}"
    );

    // The live stream: every topic at once, as server-sent events.
    let mut stream = dash
        .get(format!("{}/api/inspect/stream", srv.base))
        .bearer_auth(&srv.secret)
        .send()
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while ![
        "sessions",
        "challenges",
        "cleanup",
        "key",
        "events",
        "storage",
    ]
    .iter()
    .all(|t| seen.contains(&format!("event: {t}")))
    {
        let n = std::io::Read::read(&mut stream, &mut buf).unwrap();
        assert!(n > 0, "stream ended: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }

    // Logout ends the session.
    let (_, session) = srv.get(&c, "/api/session");
    let token = session["csrfToken"].as_str().unwrap().to_owned();
    let r = c
        .post(format!("{}/api/logout", srv.base))
        .header("Origin", &srv.base)
        .header("X-CSRF-Token", token)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(srv.get(&c, "/api/me").0, 401);
}

/// One row of the rejection table.
#[test]
fn both_local_backends_hold_accounts_and_sessions() {
    for (storage, backend) in [
        (keybench_server::StorageChoice::Local, "embedded"),
        (keybench_server::StorageChoice::Files, "local"),
    ] {
        let srv = server_with(None, storage);
        let (mut key, _stop) = virtual_key();
        let c = browser();
        let (s, v, _) = srv.register(&c, &mut key, "bob");
        assert_eq!(s, 200, "{backend}: {v}");
        let (s, v, _) = srv.login(&browser(), &mut key, Some("bob"));
        assert_eq!(
            (s, v["signCount"].as_u64()),
            (200, Some(1)),
            "{backend}: {v}"
        );
        // The counter check is named, not Debug text.
        assert_eq!(v["counter"], "advanced", "{backend}: {v}");
        let (s, status) = srv.inspect(&browser(), "/api/inspect/storage");
        assert_eq!(s, 200, "{status}");
        assert_eq!(status["backend"], backend, "{status}");
        let on_disk = match backend {
            "embedded" => srv.data.join("store/store.redb"),
            _ => srv.data.join("files/accounts"),
        };
        assert!(on_disk.exists(), "{backend}: {}", on_disk.display());
    }
}

/// A data directory an earlier build wrote one file per item (under
/// `<data dir>/store`) keeps its accounts: the embedded store adopts them.
#[test]
fn accounts_an_earlier_build_wrote_as_files_still_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let (mut key, _stop) = virtual_key();
    {
        let srv = server_in(
            dir.path().to_owned(),
            None,
            keybench_server::StorageChoice::Files,
        );
        let (s, v, _) = srv.register(&browser(), &mut key, "erin");
        assert_eq!(s, 200, "{v}");
    }
    // The earlier layout: the same files directly under <data dir>/store.
    std::fs::rename(dir.path().join("files"), dir.path().join("store")).unwrap();
    let srv = server_in(
        dir.path().to_owned(),
        None,
        keybench_server::StorageChoice::Local,
    );
    let (s, v, _) = srv.login(&browser(), &mut key, Some("erin"));
    assert_eq!((s, v["username"].as_str()), (200, Some("erin")), "{v}");
    assert!(dir.path().join("store/store.redb").exists());
    assert!(!dir.path().join("store/accounts").exists());
}

/// `keybench serve --storage gcs`: accounts, sessions and challenges go to
/// the bucket (fake-gcs-server, a real GCS JSON-API emulator), and the
/// dashboard says so.
#[test]
fn gcs_storage_holds_accounts_and_sessions() {
    if fake_gcs::skip() {
        return;
    }
    let gcs = fake_gcs::start();
    let srv = server_with(
        None,
        keybench_server::StorageChoice::Gcs {
            bucket: fake_gcs::TEST_BUCKET.into(),
            service_account_key: Some(fake_gcs::key_json(gcs.port)),
        },
    );
    let (mut key, _stop) = virtual_key();
    let (s, v, _) = srv.register(&browser(), &mut key, "carol");
    assert_eq!(s, 200, "{v}");
    let (s, v, _) = srv.login(&browser(), &mut key, Some("carol"));
    assert_eq!((s, v["signCount"].as_u64()), (200, Some(1)), "{v}");
    let (s, status) = srv.inspect(&browser(), "/api/inspect/storage");
    assert_eq!(s, 200, "{status}");
    assert_eq!(status["backend"], "gcs", "{status}");
    assert_eq!(status["healthy"], true, "{status}");
    // Read the bucket with an independent client: the items are there.
    use session_store::Storage as _;
    let bucket = fake_gcs::connect(gcs.port, "keybench");
    assert!(
        !bucket
            .owners(&session_store::Kind::accounts())
            .unwrap()
            .is_empty()
    );
    assert!(
        !bucket
            .owners(&session_store::Kind::sessions())
            .unwrap()
            .is_empty()
    );
    assert!(
        !bucket
            .owners(&session_store::Kind::challenges())
            .unwrap()
            .is_empty()
    );
    // The local fallback was never used.
    assert!(
        status.get("fallback").is_none_or(Value::is_null),
        "{status}"
    );
}

fn row(table: &mut Vec<String>, request: &str, status: u16, body: &Value) {
    table.push(format!(
        "| {request} | {status} | `{}` | {} |",
        body["code"].as_str().unwrap_or("-"),
        body["message"].as_str().unwrap_or("-")
    ));
}

#[test]
fn every_rejection_has_its_status_and_message() {
    let srv = server(Some(Duration::from_secs(2)));
    let (mut key, _stop) = virtual_key();
    let mut table = vec![
        "| Request | Status | Code | Message |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    let c = browser();

    // Replayed challenge: the same complete body twice.
    let (s, _, body) = srv.register(&c, &mut key, "bob");
    assert_eq!(s, 200);
    // The session id rotated on success, so the replay arrives from a
    // session the challenge was never bound to.
    let (s, v) = srv.post(&c, "/api/register/complete", &body);
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("challenge_other_session"))
    );
    row(
        &mut table,
        "register/complete replayed after success",
        s,
        &v,
    );

    // Another session's challenge.
    let (_, options) = srv.post(&c, "/api/authenticate/begin", &json!({ "username": "bob" }));
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&options["publicKey"]).unwrap())
            .unwrap();
    let response = webauthn::authenticate(
        &mut key,
        &options,
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    let other = browser();
    // The other client has a session of its own (from its own ceremony).
    let _ = srv.post(&other, "/api/authenticate/begin", &json!({}));
    let (s, v) = srv.post(
        &other,
        "/api/authenticate/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("challenge_other_session"))
    );
    row(
        &mut table,
        "authenticate/complete with another session's challenge",
        s,
        &v,
    );

    // Expired challenge (this server's TTL is 2 s).
    let (_, options) = srv.post(&c, "/api/authenticate/begin", &json!({ "username": "bob" }));
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&options["publicKey"]).unwrap())
            .unwrap();
    let response = webauthn::authenticate(
        &mut key,
        &options,
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(2200));
    let (s, v) = srv.post(
        &c,
        "/api/authenticate/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!((s, v["code"].as_str()), (400, Some("challenge_expired")));
    row(&mut table, "authenticate/complete after the TTL", s, &v);

    // A changed signature is caught by the relying party.
    let (_, options) = srv.post(&c, "/api/authenticate/begin", &json!({ "username": "bob" }));
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&options["publicKey"]).unwrap())
            .unwrap();
    let mut response = webauthn::authenticate(
        &mut key,
        &options,
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    let genuine = serde_json::to_value(&response).unwrap();
    let last = response.response.signature.0.len() - 1;
    response.response.signature.0[last] ^= 1;
    let (s, v) = srv.post(
        &c,
        "/api/authenticate/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(s, 400, "{v}");
    row(
        &mut table,
        "authenticate/complete with one signature bit flipped",
        s,
        &v,
    );
    // The refused attempt used the challenge up: the genuine response now
    // meets a consumed challenge.
    let (s, v) = srv.post(&c, "/api/authenticate/complete", &genuine);
    assert_eq!((s, v["code"].as_str()), (400, Some("challenge_reused")));
    row(
        &mut table,
        "authenticate/complete replayed (same session)",
        s,
        &v,
    );

    // Malformed CBOR in the attestation object.
    let (_, options) = srv.post(&c, "/api/register/begin", &json!({ "username": "carol" }));
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&options["publicKey"]).unwrap())
            .unwrap();
    let mut reg = webauthn::register(
        &mut key,
        &options,
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    reg.response.attestation_object.0 = vec![0xa3, 0x63, 0x66, 0x6d];
    let (s, v) = srv.post(
        &c,
        "/api/register/complete",
        &serde_json::to_value(&reg).unwrap(),
    );
    assert_eq!(s, 400, "{v}");
    row(&mut table, "register/complete with malformed CBOR", s, &v);

    // Tampered and forged cookies.
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let url: reqwest::Url = srv.base.parse().unwrap();
    jar.add_cookie_str("keybench-session=AAAAtampered", &url);
    let forged = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let (s, v) = srv.get(&forged, "/api/me");
    assert_eq!(s, 401);
    row(
        &mut table,
        "GET /api/me with a tampered session cookie",
        s,
        &v,
    );
    jar.add_cookie_str(
        "keybench-session=dGhpcy1pcy1hLWZvcmdlZC1zZXNzaW9uLWlkLTQzY2hhcnM",
        &url,
    );
    let (s, v) = srv.get(&forged, "/api/me");
    assert_eq!(s, 401);
    row(
        &mut table,
        "GET /api/me with a forged (unsealed) session id",
        s,
        &v,
    );

    // Path traversal in ids and item names.
    let (_, session) = srv.get(&c, "/api/session");
    let token = session["csrfToken"].as_str().unwrap().to_owned();
    for path in [
        "/api/credentials/..%2F..%2Fetc%2Fpasswd",
        "/api/metadata/..%2F..%2Frecord",
    ] {
        let r = c
            .delete(format!("{}{path}", srv.base))
            .header("Origin", &srv.base)
            .header("X-CSRF-Token", &token)
            .send()
            .unwrap();
        let s = r.status().as_u16();
        let v: Value = r.json().unwrap_or(Value::Null);
        assert!(s == 400 || s == 404, "{path}: {s} {v}");
        row(&mut table, &format!("DELETE {path}"), s, &v);
    }

    // Cross-origin POST.
    let r = c
        .post(format!("{}/api/register/begin", srv.base))
        .header("Origin", "https://evil.example")
        .json(&json!({ "username": "mallory" }))
        .send()
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().unwrap();
    assert_eq!(s, 403);
    row(
        &mut table,
        "POST register/begin from https://evil.example",
        s,
        &v,
    );
    // State change without the CSRF token.
    let r = c
        .post(format!("{}/api/logout", srv.base))
        .header("Origin", &srv.base)
        .send()
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().unwrap();
    assert_eq!(s, 403);
    row(&mut table, "POST logout without X-CSRF-Token", s, &v);

    // Inspection: foreign Host (DNS rebinding), no launch secret, foreign Origin.
    let r = c
        .get(format!("{}/api/inspect/sessions", srv.base))
        .header("Host", "attacker.example")
        .bearer_auth(&srv.secret)
        .send()
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().unwrap();
    assert_eq!(s, 421);
    row(
        &mut table,
        "GET inspect/sessions with Host: attacker.example",
        s,
        &v,
    );
    let (s, v) = srv.get(&c, "/api/inspect/sessions");
    assert_eq!(s, 401);
    row(
        &mut table,
        "GET inspect/sessions without the launch secret",
        s,
        &v,
    );
    let r = c
        .get(format!("{}/api/inspect/events", srv.base))
        .header("Origin", "https://evil.example")
        .bearer_auth(&srv.secret)
        .send()
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().unwrap();
    assert_eq!(s, 403);
    row(&mut table, "GET inspect/events from another origin", s, &v);

    // Oversized body, wrong content type, unknown field, bad user name.
    let big = json!({ "username": "x".repeat(70 * 1024) });
    let (s, v) = srv.post(&c, "/api/register/begin", &big);
    assert_eq!(s, 413);
    row(&mut table, "POST register/begin with a 70 KB body", s, &v);
    let r = c
        .post(format!("{}/api/register/begin", srv.base))
        .header("Origin", &srv.base)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().unwrap();
    assert_eq!(s, 415);
    row(&mut table, "POST register/begin as text/plain", s, &v);
    let (s, v) = srv.post(
        &c,
        "/api/register/begin",
        &json!({ "username": "a", "admin": true }),
    );
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_json")));
    row(
        &mut table,
        "POST register/begin with an unknown field",
        s,
        &v,
    );
    let (s, v) = srv.post(&c, "/api/register/begin", &json!({ "username": "" }));
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_username")));
    row(
        &mut table,
        "POST register/begin with an empty user name",
        s,
        &v,
    );
    let (s, v) = srv.post(
        &c,
        "/api/advanced/register/begin",
        &json!({ "username": "a", "algorithms": [-999] }),
    );
    assert_eq!(s, 400);
    row(
        &mut table,
        "advanced/register/begin with algorithm -999",
        s,
        &v,
    );
    // Enumerated options outside their WebAuthn sets: refused (WebAuthn
    // clients ignore unknown values; this API names the allowed ones).
    for (path, body, member, allowed) in [
        (
            "/api/advanced/register/begin",
            json!({ "username": "a", "attestation": "full" }),
            "attestation",
            "none, indirect, direct, enterprise",
        ),
        (
            "/api/advanced/register/begin",
            json!({ "username": "a", "residentKey": "always" }),
            "residentKey",
            "discouraged, preferred, required",
        ),
        (
            "/api/advanced/register/begin",
            json!({ "username": "a", "userVerification": "REQUIRED" }),
            "userVerification",
            "required, preferred, discouraged",
        ),
        (
            "/api/advanced/register/begin",
            json!({ "username": "a", "authenticatorAttachment": "usb" }),
            "authenticatorAttachment",
            "platform, cross-platform",
        ),
        (
            "/api/advanced/register/begin",
            json!({ "username": "a", "hints": ["security-key", "phone"] }),
            "hints[1]",
            "security-key, client-device, hybrid",
        ),
        (
            "/api/advanced/authenticate/begin",
            json!({ "userVerification": "maybe" }),
            "userVerification",
            "required, preferred, discouraged",
        ),
        (
            "/api/advanced/authenticate/begin",
            json!({ "hints": ["nfc"] }),
            "hints[0]",
            "security-key, client-device, hybrid",
        ),
    ] {
        let (s, v) = srv.post(&c, path, &body);
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("invalid_option")),
            "{body}: {v}"
        );
        let message = v["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{member} must be one of {allowed} (not \"")),
            "{body}: {message}"
        );
        row(&mut table, &format!("POST {path} with {body}"), s, &v);
    }
    let (s, v) = srv.post(&c, "/api/decode", &json!({ "input": "zz" }));
    assert_eq!(s, 400);
    row(&mut table, "POST decode with undecodable input", s, &v);
    let (s, v) = srv.get(&c, "/api/nothing-here");
    assert_eq!(s, 404);
    row(&mut table, "GET /api/nothing-here", s, &v);

    println!("{}", table.join("\n"));
    let all = table.join("\n");
    // No message leaks a cookie value or the launch secret.
    assert!(!all.contains(&srv.secret));
}

/// Shutdown while requests are in flight: every request that was answered
/// left its session and its bound challenge in storage (graceful shutdown
/// waits for in-flight handlers and their blocking storage writes).
#[test]
fn graceful_shutdown_loses_no_session_write() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = ServerConfig::local(([127, 0, 0, 1], 0).into(), dir.path().to_owned());
    config.no_keyring = true;
    let running = runtime.block_on(keybench_server::start(config)).unwrap();
    let base = format!("http://localhost:{}", running.addr.port());
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut threads = Vec::new();
    for i in 0..8 {
        let base = base.clone();
        let answered = answered.clone();
        threads.push(std::thread::spawn(move || {
            for j in 0..50 {
                let c = browser();
                let r = c
                    .post(format!("{base}/api/register/begin"))
                    .header("Origin", &base)
                    .json(&json!({ "username": format!("u{i}-{j}") }))
                    .send();
                match r {
                    Ok(r) if r.status().is_success() => {
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
        }));
    }
    // Shut down mid-load: once requests are being answered (a loaded
    // machine may take a while to answer the first), not at a fixed time.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while answered.load(std::sync::atomic::Ordering::SeqCst) == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    runtime.block_on(running.shutdown());
    for t in threads {
        t.join().unwrap();
    }
    let answered = answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(answered > 0);
    // Reopening also proves the server released the store on shutdown.
    let store = session_store::EmbeddedStore::open(dir.path().join("store")).unwrap();
    use session_store::Storage as _;
    let sessions = store
        .owners(&session_store::Kind::sessions())
        .unwrap()
        .len();
    let challenges = store
        .owners(&session_store::Kind::challenges())
        .unwrap()
        .len();
    println!("answered {answered}, sessions stored {sessions}, challenges stored {challenges}");
    assert!(
        sessions >= answered,
        "{sessions} sessions for {answered} answers"
    );
    assert!(
        challenges >= answered,
        "{challenges} challenges for {answered} answers"
    );
}

/// The inspection API answers exactly the members docs/API.md lists for
/// each endpoint (camelCase, RFC 3339 times): the dashboard reads them as
/// they come, with no converting layer.
#[test]
fn the_inspection_api_answers_the_documented_shapes() {
    let srv = server(None);
    let (mut key, _stop) = virtual_key();
    let (s, v, _) = srv.register(&browser(), &mut key, "alice");
    assert_eq!(s, 200, "{v}");
    let dash = browser();
    let members = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let rfc3339 = |v: &Value| {
        let t = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
        assert!(
            t.len() >= 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
    };
    let (_, sessions) = srv.inspect(&dash, "/api/inspect/sessions");
    let first = &sessions[0];
    assert_eq!(
        members(first),
        [
            "authenticated",
            "bytes",
            "created",
            "current",
            "expires",
            "id",
            "items",
            "lastAccess",
            "tag",
            "user"
        ]
    );
    for t in ["created", "lastAccess", "expires"] {
        rfc3339(&first[t]);
    }
    let (_, challenges) = srv.inspect(&dash, "/api/inspect/challenges");
    assert_eq!(
        members(&challenges[0]),
        [
            "ceremony", "consumed", "created", "expires", "id", "origin", "rpId", "session",
            "state", "user"
        ]
    );
    rfc3339(&challenges[0]["created"]);
    let (_, cookies) = srv.inspect(&dash, "/api/inspect/cookies");
    assert_eq!(
        members(&cookies),
        ["current", "rows", "trustedProxyConfigured"]
    );
    assert_eq!(
        members(&cookies["rows"][0]),
        [
            "basis",
            "context",
            "endpoint",
            "header",
            "hostPrefix",
            "httpOnly",
            "lifetime",
            "maxAge",
            "name",
            "path",
            "sameSite",
            "secure"
        ]
    );
    let (_, cleanup) = srv.inspect(&dash, "/api/inspect/cleanup");
    assert_eq!(
        members(&cleanup),
        [
            "durationMs",
            "emergencyRuns",
            "errors",
            "idleLimitDays",
            "intervalHours",
            "lastRun",
            "maxBytes",
            "maxSessions",
            "nextRun",
            "remaining",
            "removed",
            "removedChallenges",
            "running",
            "runs",
            "scanned",
            "sessionEstimate",
            "trigger"
        ]
    );
    rfc3339(&cleanup["nextRun"]);
    let (_, key_status) = srv.inspect(&dash, "/api/inspect/key");
    assert_eq!(
        members(&key_status),
        [
            "fingerprint",
            "generated",
            "previous",
            "source",
            "sourceDetail",
            "warnings"
        ]
    );
    assert_eq!(key_status["source"], "key file", "{key_status}");
    let (_, events) = srv.inspect(&dash, "/api/inspect/events");
    assert_eq!(
        members(&events[0]),
        [
            "at", "detail", "kind", "reason", "seq", "session", "severity"
        ]
    );
    rfc3339(&events[0]["at"]);
    let (_, storage) = srv.inspect(&dash, "/api/inspect/storage");
    assert_eq!(
        members(&storage),
        [
            "backend",
            "fallback",
            "fallbackSince",
            "healthy",
            "location",
            "state"
        ]
    );
    assert_eq!(storage["state"], "primary");
    assert_eq!(storage["fallback"], Value::Null);
}

/// The advanced endpoints' enumerated options reach the options as asked
/// (they are fido-wire's enums from the request body on), and a ceremony
/// begun with them completes.
#[test]
fn advanced_options_are_carried_into_the_ceremony() {
    let srv = server(None);
    let (mut key, _stop) = virtual_key();
    let c = browser();
    let (s, v) = srv.post(
        &c,
        "/api/advanced/register/begin",
        &json!({
            "username": "carol",
            "attestation": "none",
            "residentKey": "required",
            "userVerification": "discouraged",
            "authenticatorAttachment": "cross-platform",
            "algorithms": [-7],
            "hints": ["security-key", "hybrid"],
            "extensions": {"credProps": true, "credentialProtectionPolicy": "userVerificationRequired", "enforceCredentialProtectionPolicy": true},
        }),
    );
    assert_eq!(s, 200, "{v}");
    let pk = &v["publicKey"];
    assert_eq!(pk["attestation"], "none");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["requireResidentKey"], true);
    assert_eq!(
        pk["authenticatorSelection"]["userVerification"],
        "discouraged"
    );
    assert_eq!(
        pk["authenticatorSelection"]["authenticatorAttachment"],
        "cross-platform"
    );
    assert_eq!(pk["hints"], json!(["security-key", "hybrid"]));
    assert_eq!(
        pk["pubKeyCredParams"],
        json!([{ "type": "public-key", "alg": -7 }])
    );
    let options = fido_wire::webauthn::json::from_json(&serde_json::to_vec(pk).unwrap()).unwrap();
    let response = webauthn::register(
        &mut key,
        &options,
        &mut ClientContext::new(srv.base.clone()),
    )
    .unwrap();
    let (s, v) = srv.post(
        &c,
        "/api/register/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["credential"]["algorithmName"], "ES256");
    let attestation = &v["credential"]["attestation"];
    assert_eq!(attestation["fmt"], attestation["format"]);
    // The extension outputs were judged against the inputs the options carried.
    let verdicts = v["extensions"].as_array().unwrap();
    let cred_protect = verdicts
        .iter()
        .find(|e| e["name"] == "credProtect")
        .unwrap();
    assert_eq!(cred_protect["status"], "ok", "{v}");
    assert!(
        cred_protect["detail"]
            .as_str()
            .unwrap()
            .starts_with("policy 3"),
        "{v}"
    );

    let (s, v) = srv.post(
        &c,
        "/api/advanced/authenticate/begin",
        &json!({ "username": "carol", "userVerification": "required", "hints": ["client-device"] }),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["publicKey"]["userVerification"], "required");
    assert_eq!(v["publicKey"]["hints"], json!(["client-device"]));
    assert_eq!(
        v["publicKey"]["allowCredentials"].as_array().unwrap().len(),
        1
    );
}

/// Start-up's blocking work (the data directory, the storage, the secret
/// key from the keyring or its file) runs on the blocking pool, so the
/// runtime it is started on stays free: here a current-thread runtime,
/// whose one thread another task needs. The previous-key file is a FIFO,
/// so reading it blocks start-up until a writer opens it, and the writer is
/// a task on that same runtime. Were the key read on the runtime's thread,
/// the task could never run: a watchdog thread then opens the FIFO after
/// 10 s so start-up can finish, and the test fails.
#[test]
fn start_up_leaves_the_runtime_free() {
    use std::sync::atomic::{AtomicBool, Ordering};
    if std::env::var_os("KEYBENCH_SECRET_KEY").is_some() {
        eprintln!("skipped: KEYBENCH_SECRET_KEY is set, so no key file is read");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("secret.key");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let fifo = dir.path().join("secret.key.previous");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let done = Arc::new(AtomicBool::new(false));
    let fired = Arc::new(AtomicBool::new(false));
    {
        let (done, fired, fifo) = (done.clone(), fired.clone(), fifo.clone());
        // Detached: it only acts when start-up is stuck on the FIFO.
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !done.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !done.load(Ordering::SeqCst) {
                fired.store(true, Ordering::SeqCst);
                let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
            }
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config = ServerConfig::local(([127, 0, 0, 1], 0).into(), dir.path().to_owned());
    config.no_keyring = true;
    let helped = runtime.block_on(async {
        // Opens the FIFO for writing once start-up waits to read it (until
        // then the open fails: no reader), without blocking the thread.
        let helper = tokio::spawn(async move {
            loop {
                match tokio::net::unix::pipe::OpenOptions::new().open_sender(&fifo) {
                    Ok(sender) => {
                        drop(sender);
                        return true;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        });
        let running = keybench_server::start(config).await.unwrap();
        done.store(true, Ordering::SeqCst);
        let helped = helper.is_finished();
        helper.abort();
        // Shutdown's blocking part (joining the cleanup thread and the
        // store's writer) also stays off this thread.
        running.shutdown().await;
        helped
    });
    assert!(
        !fired.load(Ordering::SeqCst),
        "start-up blocked the runtime's thread: a task on it could not run until the watchdog stepped in"
    );
    assert!(
        helped,
        "start-up did not wait for the previous-key file: the test did not exercise the key read"
    );
}

/// Shutdown with a live event stream open: after the grace period the
/// stream's connection is ended, not left running, and the server's state
/// goes with it, so the store is released when shutdown returns.
#[test]
fn shutdown_ends_an_open_stream_and_releases_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = ServerConfig::local(([127, 0, 0, 1], 0).into(), dir.path().to_owned());
    config.no_keyring = true;
    config.connections.shutdown_grace = Duration::from_millis(300);
    let running = runtime.block_on(keybench_server::start(config)).unwrap();
    let base = format!("http://localhost:{}", running.addr.port());
    let mut stream = browser()
        .get(format!("{base}/api/inspect/stream"))
        .bearer_auth(&running.launch_secret)
        .send()
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buf = [0u8; 4096];
    assert!(std::io::Read::read(&mut stream, &mut buf).unwrap() > 0);
    runtime.block_on(running.shutdown());
    // The store is free: nothing of the server holds it any more.
    session_store::EmbeddedStore::open(dir.path().join("store")).unwrap();
    // And the stream ended.
    let ended = std::thread::spawn(move || {
        loop {
            match std::io::Read::read(&mut stream, &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !ended.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the stream is still open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An uploaded metadata statement vouches for its model's attestation in
/// the session that uploaded it ("uploaded, not MDS-trusted"), and in no
/// other; the upload and the list show its AAGUID and description.
#[test]
fn uploaded_metadata_vouches_in_its_session_only() {
    use base64::Engine as _;
    use virtual_authenticator::{AttestationMode, Authenticator, Config};
    let srv = server(None);
    let aaguid = *b"kbvirt-upload-01";
    let authenticator = Authenticator::new(Config {
        aaguid,
        attestation: AttestationMode::PackedBasic,
        ..Config::default()
    })
    .unwrap();
    let root = authenticator.attestation_root().unwrap().to_vec();
    let (mut key, _stop) = support::virtual_key_with(authenticator);
    let uuid = relying_party::decoder::uuid_string(&aaguid);
    let c = browser();
    let statement = json!({
        "description": "My prototype",
        "aaguid": uuid,
        "protocolFamily": "fido2",
        "schema": 3,
        "attestationTypes": ["basic_full"],
        "attestationRootCertificates": [base64::engine::general_purpose::STANDARD.encode(&root)],
    });
    let (s, v) = srv.post(&c, "/api/metadata", &statement);
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (
            v["aaguid"].as_str(),
            v["description"].as_str(),
            v["entries"].as_u64()
        ),
        (Some(uuid.as_str()), Some("My prototype"), Some(1))
    );
    let (s, list) = srv.get(&c, "/api/metadata");
    assert_eq!(s, 200);
    assert_eq!(list[0]["aaguid"], uuid);
    assert_eq!(list[0]["description"], "My prototype");

    let (s, v, _) = srv.register(&c, &mut key, "dave");
    assert_eq!(s, 200, "{v}");
    let attestation = &v["credential"]["attestation"];
    assert_eq!(attestation["trust"], "trusted", "{attestation}");
    assert!(
        attestation["anchor"]
            .as_str()
            .unwrap()
            .contains("uploaded, not MDS-trusted"),
        "{attestation}"
    );
    // Another session, without the upload: the model is not trusted there.
    let (s, v, _) = srv.register(&browser(), &mut key, "erin");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["credential"]["attestation"]["trust"], "not trusted");
}

/// A data directory used with `--storage local` and then with a bucket:
/// the local accounts do not shadow the bucket's (the bucket's fallback has
/// a directory of its own), so a name that exists only locally is free in
/// the bucket and one that exists in the bucket signs in from it.
#[test]
fn local_accounts_do_not_shadow_the_buckets() {
    if fake_gcs::skip() {
        return;
    }
    let gcs = fake_gcs::start();
    let bucket = || keybench_server::StorageChoice::Gcs {
        bucket: fake_gcs::TEST_BUCKET.into(),
        service_account_key: Some(fake_gcs::key_json(gcs.port)),
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut local_key, _a) = virtual_key();
    let (mut bucket_key, _b) = virtual_key();
    // zed registers locally.
    {
        let local = server_in(
            dir.path().to_owned(),
            None,
            keybench_server::StorageChoice::Local,
        );
        let (s, v, _) = local.register(&browser(), &mut local_key, "zed");
        assert_eq!(s, 200, "{v}");
    }
    // On the bucket, from the same data directory, zed is a free name.
    let srv = server_in(dir.path().to_owned(), None, bucket());
    let (s, v, _) = srv.register(&browser(), &mut bucket_key, "zed");
    assert_eq!(s, 200, "the local account shadowed the bucket: {v}");
    let (s, v, _) = srv.login(&browser(), &mut bucket_key, Some("zed"));
    assert_eq!((s, v["username"].as_str()), (200, Some("zed")), "{v}");
}

/// `POST /api/verify`: another relying party's ceremony (options made here,
/// Keybench's client and the virtual key answering for origin
/// https://rp.example) is reported step by step; a changed challenge fails
/// at its step; unreadable input and a foreign Origin are refused.
#[test]
fn verify_reports_any_relying_partys_ceremony() {
    let srv = server(None);
    let (mut key, _stop) = virtual_key();
    let c = browser();
    let origin = "https://rp.example";
    let creation = json!({
        "rp": {"id": "rp.example", "name": "RP"},
        "user": {"id": "dXNlci0x", "name": "u", "displayName": "U"},
        "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2U",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"userVerification": "discouraged"},
        "extensions": {"credProps": true, "credentialProtectionPolicy": "userVerificationOptionalWithCredentialIDList"},
    });
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&creation).unwrap()).unwrap();
    let registration =
        webauthn::register(&mut key, &options, &mut ClientContext::new(origin)).unwrap();
    let registration = serde_json::to_value(&registration).unwrap();
    let (s, report) = srv.post(
        &c,
        "/api/verify",
        &json!({"options": {"publicKey": creation}, "response": registration, "origin": origin}),
    );
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["verified"], true, "{report:#}");
    assert_eq!(report["ceremony"], "registration");
    let cred_protect = report["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "credProtect")
        .unwrap();
    assert_eq!(cred_protect["status"], "ok", "{report:#}");

    let request = json!({
        "challenge": "YW5vdGhlci1jaGFsbGVuZ2UtYW5vdGhlci1jaGFsbGVuZ2U",
        "rpId": "rp.example",
        "allowCredentials": [{"type": "public-key", "id": registration["rawId"]}],
        "userVerification": "discouraged",
    });
    let req_options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&request).unwrap()).unwrap();
    let assertion =
        webauthn::authenticate(&mut key, &req_options, &mut ClientContext::new(origin)).unwrap();
    let assertion = serde_json::to_value(&assertion).unwrap();
    // The stored key as the registration response (pasted as text).
    let (s, report) = srv.post(
        &c,
        "/api/verify",
        &json!({"options": request, "response": assertion,
                "publicKey": registration.to_string(), "origin": origin}),
    );
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["verified"], true, "{report:#}");
    // The challenge by hand, and a different one: step 11 fails, 200 still.
    let (s, report) = srv.post(
        &c,
        "/api/verify",
        &json!({"response": assertion, "publicKey": registration,
                "challenge": "b3RoZXI", "origin": origin}),
    );
    assert_eq!(s, 200);
    assert_eq!(report["verified"], false);
    assert_eq!(report["failure"]["step"], "7.2 step 11", "{report:#}");
    assert_eq!(report["failure"]["code"], "challenge_mismatch");

    let (s, v) = srv.post(&c, "/api/verify", &json!({"response": "not json"}));
    assert_eq!((s, v["code"].as_str()), (400, Some("bad_response")), "{v}");
    let (s, v) = srv.post(
        &c,
        "/api/verify",
        &json!({"response": assertion, "origin": origin, "challenge": "AA"}),
    );
    assert_eq!((s, v["code"].as_str()), (400, Some("missing_input")), "{v}");
    let r = c
        .post(format!("{}/api/verify", srv.base))
        .header("Origin", "https://evil.example")
        .json(&json!({"response": assertion}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}
