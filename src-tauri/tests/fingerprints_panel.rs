//! The Keys page's fingerprint commands without Tauri: a virtual key with
//! a fingerprint sensor started through the panel, a finger enrolled with
//! each sample sent as an event, listed, renamed and deleted; presence
//! "ask" turning each sample into a prompt that names the finger, answered
//! like the UI's buttons do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_desktop::fingerprints::FINGERPRINT_SAMPLE;
use keybench_desktop::keys::{Keys, Notify, events};
use serde_json::Value;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PIN: &str = "24682468";

struct Events(Mutex<Sender<(String, Value)>>);

impl Notify for Events {
    fn emit(&self, name: &'static str, payload: Value) {
        let _ = self.0.lock().unwrap().send((name.to_owned(), payload));
    }
}

fn fixture() -> (Arc<Keys>, Receiver<(String, Value)>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = channel();
    let keys = Keys::new(
        "http://localhost:1".into(),
        dir.path().to_path_buf(),
        Arc::new(Events(Mutex::new(tx))),
    );
    (keys, rx, dir)
}

fn wait_for(events: &Receiver<(String, Value)>, name: &str) -> Value {
    loop {
        let (n, v) = events.recv_timeout(Duration::from_secs(20)).unwrap();
        if n == name {
            return v;
        }
    }
}

#[test]
fn a_finger_is_enrolled_sample_by_sample_listed_renamed_and_deleted() {
    let (keys, events, _dir) = fixture();
    let key = keys
        .start_virtual_key(&["ML-DSA-65".into()], "approve", true)
        .unwrap();
    assert!(key.label.contains("fingerprint sensor"), "{}", key.label);
    keys.pin_set(&key.id, PIN).unwrap();
    let done = serde_json::to_value(
        keys.fingerprint_enroll(&key.id, PIN, Some("thumb"))
            .unwrap(),
    )
    .unwrap();
    let samples: Vec<Value> = events
        .try_iter()
        .filter(|(n, _)| n == FINGERPRINT_SAMPLE)
        .map(|(_, v)| v)
        .collect();
    let remaining: Vec<u64> = samples
        .iter()
        .map(|s| s["sample"]["remaining"].as_u64().unwrap())
        .collect();
    assert_eq!(remaining, vec![3, 2, 1, 0]);
    assert!(samples.iter().all(|s| s["key"] == key.id.as_str()));
    assert_eq!(done["samples"].as_array().unwrap().len(), 4);
    let id = done["fingerprint"]["templateId"]
        .as_str()
        .unwrap()
        .to_owned();

    let list = serde_json::to_value(keys.fingerprints(&key.id, PIN).unwrap()).unwrap();
    assert_eq!(list["fingerprints"][0]["name"], "thumb");
    assert_eq!(list["uvRetries"], 5);
    keys.fingerprint_rename(&key.id, PIN, &id, "index").unwrap();
    let list = serde_json::to_value(keys.fingerprints(&key.id, PIN).unwrap()).unwrap();
    assert_eq!(list["fingerprints"][0]["name"], "index");
    assert_eq!(
        keys.fingerprint_delete(&key.id, PIN, "0000")
            .unwrap_err()
            .code,
        "no_such_fingerprint"
    );
    keys.fingerprint_delete(&key.id, PIN, &id).unwrap();
    let list = serde_json::to_value(keys.fingerprints(&key.id, PIN).unwrap()).unwrap();
    assert_eq!(list["fingerprints"], serde_json::json!([]));
}

#[test]
fn a_key_without_the_sensor_says_so() {
    let (keys, _events, _dir) = fixture();
    let key = keys.start_virtual(&["ES256".into()], "approve").unwrap();
    keys.pin_set(&key.id, PIN).unwrap();
    assert_eq!(
        keys.fingerprints(&key.id, PIN).unwrap_err().code,
        "unsupported"
    );
}

#[test]
fn with_presence_ask_each_sample_asks_for_the_finger_by_number() {
    let (keys, events, _dir) = fixture();
    let key = keys
        .start_virtual_key(&["ES256".into()], "ask", true)
        .unwrap();
    keys.pin_set(&key.id, PIN).unwrap();
    let enrolling = {
        let keys = keys.clone();
        let id = key.id.clone();
        std::thread::spawn(move || keys.fingerprint_enroll(&id, PIN, None))
    };
    // The first touch is refused (the wrong finger): a poor sample, and the
    // same number of samples is asked for again.
    let mut answers = vec![false, true, true, true, true];
    let mut asked = Vec::new();
    while let Some(touched) = (!answers.is_empty()).then(|| answers.remove(0)) {
        let prompt = wait_for(&events, events::PRESENCE_REQUEST);
        asked.push(prompt["fingerprint"].as_str().unwrap().to_owned());
        keys.answer_presence(&key.id, prompt["promptId"].as_u64().unwrap(), touched)
            .unwrap();
    }
    let done = serde_json::to_value(enrolling.join().unwrap().unwrap()).unwrap();
    assert_eq!(
        asked,
        vec![
            "Touch with finger 1 (4 samples to go)",
            "Touch with finger 1 (4 samples to go)",
            "Touch with finger 1 (3 samples to go)",
            "Touch with finger 1 (2 samples to go)",
            "Touch with finger 1 (1 sample to go)",
        ]
    );
    assert_eq!(done["samples"][0]["status"], "FP_POOR_QUALITY");
    assert_eq!(done["samples"].as_array().unwrap().len(), 5);
}
