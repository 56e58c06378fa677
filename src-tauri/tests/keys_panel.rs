//! The keys panel's commands without Tauri (as GitButler tests its
//! commands below the shell): a virtual key started through the panel,
//! getInfo, PIN, credential management, large blobs, ceremonies against the real
//! in-process server over HTTP, the "touch your key" event only on
//! UP_NEEDED, Cancel, and presence "ask" answered like the UI does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_desktop::keys::{Keys, Notify, events};
use serde_json::{Value, json};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Events(Mutex<Sender<(String, Value)>>);

impl Notify for Events {
    fn emit(&self, name: &'static str, payload: Value) {
        let _ = self.0.lock().unwrap().send((name.to_owned(), payload));
    }
}

/// A command's answer as JSON, the form the window receives.
fn wire(view: impl serde::Serialize) -> Value {
    serde_json::to_value(view).unwrap()
}

struct Fixture {
    keys: Arc<Keys>,
    events: Receiver<(String, Value)>,
    http: reqwest::blocking::Client,
    origin: String,
    _server: keybench_server::Running,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = keybench_server::ServerConfig::local(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().to_path_buf(),
    );
    config.no_keyring = true;
    let server = runtime.block_on(keybench_server::start(config)).unwrap();
    let origin = format!("http://localhost:{}", server.addr.port());
    let (tx, rx) = channel();
    let keys = Keys::new(
        origin.clone(),
        dir.path().to_path_buf(),
        Arc::new(Events(Mutex::new(tx))),
    );
    keys.start_feeds();
    let http = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    Fixture {
        keys,
        events: rx,
        http,
        origin,
        _server: server,
        _runtime: runtime,
        _dir: dir,
    }
}

impl Fixture {
    fn post(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.origin))
            .header("Origin", &self.origin)
            .json(body)
            .send()
            .unwrap();
        let status = r.status();
        let v: Value = r.json().unwrap();
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// Events seen so far with this name (the others are dropped).
    fn drain(&self, name: &str) -> Vec<Value> {
        self.events
            .try_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect()
    }

    fn wait_for(&self, name: &str) -> Value {
        loop {
            let (n, v) = self.events.recv_timeout(Duration::from_secs(20)).unwrap();
            if n == name {
                return v;
            }
        }
    }
}

#[test]
fn virtual_key_register_and_authenticate_ml_dsa_65_against_the_server() {
    let f = fixture();
    let key = f
        .keys
        .start_virtual(&["ML-DSA-65".into()], "approve")
        .unwrap();
    assert_eq!(key.kind, "virtual");
    assert!(key.id.starts_with("udp:127.0.0.1:"), "{}", key.id);
    assert_eq!(f.keys.list(), vec![key.clone()]);
    let listed = f.wait_for(events::KEYS_CHANGED);
    assert_eq!(listed[0]["id"], key.id.as_str());

    // As the window receives it.
    let info = wire(f.keys.info(&key.id).unwrap());
    assert_eq!(info["algorithms"][0]["name"], "ML-DSA-65");
    assert!(
        info["versions"]
            .as_array()
            .unwrap()
            .contains(&json!("FIDO_2_1"))
    );

    let options = f.post(
        "/api/advanced/register/begin",
        &json!({"username": "alice", "algorithms": [-49], "residentKey": "required"}),
    );
    let response = f.keys.register(&key.id, &options, None).unwrap();
    let done = f.post("/api/register/complete", &response);
    assert_eq!(done["username"], "alice");
    assert_eq!(done["credential"]["algorithmName"], "ML-DSA-65");

    let options = f.post("/api/authenticate/begin", &json!({"username": "alice"}));
    let response = f.keys.authenticate(&key.id, &options, None).unwrap();
    let done = f.post("/api/authenticate/complete", &response);
    assert_eq!(done["status"], "ok");
    assert_eq!(done["username"], "alice");

    // Approve never waits for a touch: no "touch your key" prompt.
    let seen: Vec<(String, Value)> = f.events.try_iter().collect();
    assert!(!seen.iter().any(|(n, _)| n == events::CEREMONY_STATUS));
    // The traffic view saw decoded requests and responses.
    let traffic: Vec<&Value> = seen
        .iter()
        .filter(|(n, _)| n == events::TRAFFIC)
        .map(|(_, v)| v)
        .collect();
    assert!(
        traffic
            .iter()
            .any(|e| e["type"] == "request" && e["command"] == "authenticatorMakeCredential"),
        "{traffic:?}"
    );
    assert!(traffic.iter().any(|e| e["type"] == "frame"));

    f.keys.stop_virtual(&key.id).unwrap();
    assert!(f.keys.list().is_empty());
    // A stopped key is no longer listed, so nothing is sent to its address.
    assert_eq!(f.keys.wink(&key.id).unwrap_err().code, "unknown_key");
}

#[test]
fn pin_set_change_retries_and_credential_management() {
    let f = fixture();
    let key = f.keys.start_virtual(&["ES256".into()], "approve").unwrap();
    f.keys.pin_set(&key.id, "123456").unwrap();
    assert_eq!(wire(f.keys.pin_retries(&key.id).unwrap())["retries"], 8);
    let wrong = f.keys.pin_change(&key.id, "000000", "654321").unwrap_err();
    assert_eq!(wrong.code, "ctap_pin_invalid");
    assert!(!wrong.message.contains("000000"), "no PIN in errors");
    assert_eq!(wire(f.keys.pin_retries(&key.id).unwrap())["retries"], 7);
    f.keys.pin_change(&key.id, "123456", "654321").unwrap();

    // A PIN is set, so the ceremony asks for it: the UI shows its dialog.
    let options = f.post(
        "/api/advanced/register/begin",
        &json!({"username": "bob", "residentKey": "required", "userVerification": "required"}),
    );
    let missing = f.keys.register(&key.id, &options, None).unwrap_err();
    assert_eq!(missing.code, "pin_required");
    let response = f.keys.register(&key.id, &options, Some("654321")).unwrap();
    f.post("/api/register/complete", &response);

    let listed = wire(f.keys.credentials(&key.id, "654321").unwrap());
    assert_eq!(listed["existing"], 1);
    let cred = &listed["credentials"][0];
    assert_eq!(cred["rpId"], "localhost");
    assert_eq!(cred["userName"], "bob");
    let id = cred["credentialId"].as_str().unwrap().to_owned();
    f.keys.delete_credential(&key.id, "654321", &id).unwrap();
    assert_eq!(
        wire(f.keys.credentials(&key.id, "654321").unwrap())["existing"],
        0
    );
    f.keys.wink(&key.id).unwrap();
}

#[test]
fn large_blobs_written_listed_decrypted_and_deleted() {
    let f = fixture();
    let key = f
        .keys
        .start_virtual(&["ML-DSA-65".into()], "approve")
        .unwrap();
    f.keys.pin_set(&key.id, "123456").unwrap();
    let options = f.post(
        "/api/advanced/register/begin",
        &json!({"username": "carol", "algorithms": [-49], "residentKey": "required",
                "extensions": {"largeBlob": {"support": "required"}}}),
    );
    let response = f.keys.register(&key.id, &options, Some("123456")).unwrap();
    assert_eq!(
        response["clientExtensionResults"]["largeBlob"]["supported"],
        true
    );
    f.post("/api/register/complete", &response);
    let id = response["id"].as_str().unwrap().to_owned();

    let missing = f.keys.large_blobs(&key.id, "000000").unwrap_err();
    assert_eq!(missing.code, "ctap_pin_invalid");
    // As the window receives it: the credential, no blob yet.
    let listed = wire(f.keys.large_blobs(&key.id, "123456").unwrap());
    assert_eq!(listed["credentials"][0]["credentialId"], id.as_str());
    assert_eq!(listed["credentials"][0]["userName"], "carol");
    assert_eq!(listed["credentials"][0]["blob"], Value::Null);

    f.keys
        .large_blob_write(&key.id, "123456", &id, b"a note kept on the key")
        .unwrap();
    let listed = wire(f.keys.large_blobs(&key.id, "123456").unwrap());
    assert_eq!(
        listed["credentials"][0]["blob"],
        json!({"size": 22, "text": "a note kept on the key", "hex": null})
    );
    // The largeBlobKey itself is never part of the answer.
    assert!(!listed.to_string().contains("largeBlobKey"), "{listed}");
    assert_eq!(f.keys.large_blob_delete(&key.id, "123456", &id).unwrap(), 1);
    let listed = wire(f.keys.large_blobs(&key.id, "123456").unwrap());
    assert_eq!(listed["credentials"][0]["blob"], Value::Null);
    assert_eq!(
        f.keys
            .large_blob_delete(&key.id, "123456", "not base64url!")
            .unwrap_err()
            .code,
        "bad_credential_id"
    );
}

#[test]
fn touch_prompt_only_on_up_needed_and_cancel_stops_the_ceremony() {
    let f = fixture();
    // "delay" keeps the key waiting for presence (UP_NEEDED) for 2 s.
    let key = f.keys.start_virtual(&["ES256".into()], "delay").unwrap();
    let options = f.post("/api/register/begin", &json!({"username": "carol"}));
    let response = f.keys.register(&key.id, &options, None).unwrap();
    f.post("/api/register/complete", &response);
    let status = f.drain(events::CEREMONY_STATUS);
    assert_eq!(status, vec![json!({"status": "up-needed"})], "exactly once");

    // "ask" waits for the person: cancel instead of answering.
    let key = f.keys.start_virtual(&["ES256".into()], "ask").unwrap();
    let options = f.post("/api/register/begin", &json!({"username": "dave"}));
    let keys = f.keys.clone();
    let id = key.id.clone();
    let running = std::thread::spawn(move || keys.register(&id, &options, None));
    let prompt = f.wait_for(events::PRESENCE_REQUEST);
    assert_eq!(prompt["operation"], "makeCredential");
    assert_eq!(prompt["key"], key.id.as_str());
    // A second operation on the busy key is refused, not interleaved.
    assert_eq!(f.keys.wink(&key.id).unwrap_err().code, "key_busy");
    assert!(f.keys.cancel(Some(&key.id)));
    let err = running.join().unwrap().unwrap_err();
    assert!(
        err.code == "cancelled" || err.code == "ctap_keepalive_cancel",
        "{err:?}"
    );

    // And answered like the UI's "Touch" button does.
    let options = f.post("/api/register/begin", &json!({"username": "erin"}));
    let keys = f.keys.clone();
    let id = key.id.clone();
    let running = std::thread::spawn(move || keys.register(&id, &options, None));
    let prompt = f.wait_for(events::PRESENCE_REQUEST);
    f.keys
        .answer_presence(&key.id, prompt["promptId"].as_u64().unwrap(), true)
        .unwrap();
    let response = running.join().unwrap().unwrap();
    f.post("/api/register/complete", &response);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let f = fixture();
    assert_eq!(
        f.keys
            .start_virtual(&["RS1".into()], "approve")
            .unwrap_err()
            .code,
        "bad_algorithm"
    );
    assert_eq!(
        f.keys
            .start_virtual(&["ES256".into()], "maybe")
            .unwrap_err()
            .code,
        "bad_presence"
    );
    let key = f.keys.start_virtual(&["ES256".into()], "approve").unwrap();
    let bad = f
        .keys
        .register(&key.id, &json!({"publicKey": {"rp": 1}}), None)
        .unwrap_err();
    assert_eq!(bad.code, "bad_options");
    assert_eq!(f.keys.info("hid").unwrap_err().code, "bad_key_id");
    assert!(!f.keys.cancel(None), "nothing to cancel");
}

/// Keys the app did not list are refused before anything is sent: a
/// virtual key another process runs on loopback UDP, a hidraw path the
/// app never discovered.
#[test]
fn only_keys_the_app_listed_can_be_used() {
    let f = fixture();
    let other = fixture();
    let foreign = other
        .keys
        .start_virtual(&["ES256".into()], "approve")
        .unwrap();
    // The foreign key answers its own panel...
    assert!(other.keys.info(&foreign.id).is_ok());
    // ...but not commands given to this one, whatever the command.
    assert_eq!(f.keys.info(&foreign.id).unwrap_err().code, "unknown_key");
    assert_eq!(f.keys.wink(&foreign.id).unwrap_err().code, "unknown_key");
    assert_eq!(f.keys.reset(&foreign.id).unwrap_err().code, "unknown_key");
    assert_eq!(
        f.keys.pin_retries(&foreign.id).unwrap_err().code,
        "unknown_key"
    );
    assert_eq!(
        f.keys.info("hid:/dev/hidraw99").unwrap_err().code,
        "unknown_key"
    );
    // A key this panel started works.
    let own = f.keys.start_virtual(&["ES256".into()], "approve").unwrap();
    assert!(f.keys.info(&own.id).is_ok());
}

/// Two keys' ceremonies at once: Cancel on one stops that one only; the
/// other goes on and completes.
#[test]
fn cancel_stops_only_the_named_keys_ceremony() {
    let f = fixture();
    let a = f.keys.start_virtual(&["ES256".into()], "ask").unwrap();
    let b = f.keys.start_virtual(&["ES256".into()], "ask").unwrap();
    let start = |key: &str, user: &str| {
        let options = f.post("/api/register/begin", &json!({ "username": user }));
        let keys = f.keys.clone();
        let id = key.to_owned();
        std::thread::spawn(move || keys.register(&id, &options, None))
    };
    let running_a = start(&a.id, "anna");
    let running_b = start(&b.id, "bert");
    // Both keys wait for a touch.
    let mut prompts = std::collections::HashMap::new();
    while prompts.len() < 2 {
        let p = f.wait_for(events::PRESENCE_REQUEST);
        prompts.insert(p["key"].as_str().unwrap().to_owned(), p);
    }
    // Cancel the second one started: the first is not touched.
    assert!(f.keys.cancel(Some(&b.id)));
    let err = running_b.join().unwrap().unwrap_err();
    assert!(
        err.code == "cancelled" || err.code == "ctap_keepalive_cancel",
        "{err:?}"
    );
    assert!(!f.keys.cancel(Some(&b.id)), "b has nothing left to cancel");
    f.keys
        .answer_presence(&a.id, prompts[&a.id]["promptId"].as_u64().unwrap(), true)
        .unwrap();
    let response = running_a.join().unwrap().expect("a's ceremony went on");
    f.post("/api/register/complete", &response);
}

/// Every event of `name` until none has come for half a second.
fn settle(f: &Fixture, name: &str) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok((n, v)) = f.events.recv_timeout(Duration::from_millis(500)) {
        if n == name {
            out.push(v);
        }
    }
    out
}

#[test]
fn traffic_events_of_two_keys_pin_operations_at_once_carry_no_pin_material() {
    let f = fixture();
    let a = f.keys.start_virtual(&["ES256".into()], "approve").unwrap();
    let b = f.keys.start_virtual(&["ES256".into()], "approve").unwrap();
    let pins = [
        ("Pq71-desk-pin", "Pq71-desk-new"),
        ("Lm28-desk-pin", "Lm28-desk-new"),
    ];
    std::thread::scope(|s| {
        for (key, (pin, new_pin)) in [&a, &b].into_iter().zip(pins) {
            let keys = &f.keys;
            s.spawn(move || {
                keys.pin_set(&key.id, pin).unwrap();
                for _ in 0..5 {
                    keys.credentials(&key.id, pin).unwrap();
                    keys.pin_retries(&key.id).unwrap();
                }
                keys.pin_change(&key.id, pin, new_pin).unwrap();
            });
        }
    });
    let traffic = settle(&f, events::TRAFFIC);
    let all = serde_json::to_string(&traffic).unwrap();
    for (pin, new_pin) in pins {
        for p in [pin, new_pin] {
            let hex: String = p.bytes().map(|b| format!("{b:02x}")).collect();
            let b64 = fido_wire::webauthn::base64url::encode(p.as_bytes());
            for form in [p.to_owned(), hex, b64] {
                assert!(!all.contains(&form), "traffic holds a PIN as {form}");
            }
        }
    }
    // No request frame of a PIN exchange (other than the few-byte retries
    // query) or of credential management keeps its bytes.
    let mut secret_frames = 0;
    for e in &traffic {
        if e["type"] != "frame" || e["direction"] != "out" {
            continue;
        }
        let header = e["header"].as_str().unwrap();
        let Some(bcnt) = header
            .strip_prefix("INIT CBOR bcnt=")
            .map(|n| n.parse::<usize>().unwrap())
        else {
            continue;
        };
        let Some(bytes) = e["bytes"].as_str() else {
            secret_frames += 1;
            continue;
        };
        let ctap_command = &bytes[14..16];
        assert!(
            !(ctap_command == "06" && bcnt > 8) && ctap_command != "0a" && ctap_command != "41",
            "a PIN or credential-management request kept its bytes: {e}"
        );
    }
    assert!(secret_frames > 10, "{secret_frames}");
}

#[test]
fn the_probe_reports_each_check_live_and_passes_on_a_virtual_key() {
    let f = fixture();
    let key = f
        .keys
        .start_virtual(&["ML-DSA-44".into(), "ES256".into()], "approve")
        .unwrap()
        .id;
    let report = f.keys.probe(&key, false, None).unwrap();
    assert_eq!(report["total"]["fail"], 0, "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["id"] == "ctap2.assertion.ml-dsa-44")
    );
    // One "running" and one "finished" event per check, for this key, in order.
    let progress: Vec<Value> = f
        .events
        .try_iter()
        .filter(|(name, _)| name == events::PROBE_PROGRESS)
        .map(|(_, v)| v)
        .collect();
    let finished: Vec<&Value> = progress
        .iter()
        .filter(|p| p["event"] == "finished")
        .collect();
    assert_eq!(finished.len(), checks.len());
    assert_eq!(finished[0]["result"]["id"], checks[0]["id"]);
    assert!(progress.iter().all(|p| p["key"] == key.as_str()));
    assert_eq!(
        progress.iter().filter(|p| p["event"] == "running").count(),
        checks.len()
    );
    // The key is free again afterwards.
    f.keys.info(&key).unwrap();
}

#[test]
fn cancel_stops_a_running_probe() {
    let f = fixture();
    let key = f
        .keys
        .start_virtual(&["ES256".into()], "approve")
        .unwrap()
        .id;
    let keys = f.keys.clone();
    let probed = key.clone();
    let run = std::thread::spawn(move || keys.probe(&probed, false, None));
    // Cancel once the first check has finished.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (name, payload) = f
            .events
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("probe progress");
        if name == events::PROBE_PROGRESS && payload["event"] == "finished" {
            assert!(f.keys.cancel(Some(&key)), "the probe is cancellable");
            break;
        }
    }
    let report = run.join().unwrap().unwrap();
    let checks = report["checks"].as_array().unwrap();
    let last = checks.last().unwrap();
    assert_eq!(last["outcome"], "skip");
    assert!(
        last["note"].as_str().unwrap().contains("cancelled"),
        "{last}"
    );
    assert_eq!(report["total"]["fail"], 0, "{report:#}");
    // The key is free again.
    f.keys.info(&key).unwrap();
}
