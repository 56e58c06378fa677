//! The key lab's commands without Tauri: a comparison on a virtual key the
//! panel started (progress events, no traffic flood, the charts as SVG),
//! the report exported to a chosen path (and not over an existing file),
//! and the refusals a page can provoke.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_desktop::keys::{Keys, Notify, events};
use keybench_desktop::lab::Lab;
use serde_json::Value;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

struct Events(Mutex<Sender<(String, Value)>>);

impl Notify for Events {
    fn emit(&self, name: &'static str, payload: Value) {
        let _ = self.0.lock().unwrap().send((name.to_owned(), payload));
    }
}

type Panel = (
    Arc<Keys>,
    Arc<Lab>,
    Receiver<(String, Value)>,
    tempfile::TempDir,
);

fn panel() -> Panel {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = channel();
    let keys = Keys::new(
        "http://localhost:1".into(),
        dir.path().to_path_buf(),
        Arc::new(Events(Mutex::new(tx))),
    );
    keys.start_feeds();
    let lab = Lab::new(keys.clone());
    (keys, lab, rx, dir)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn compare_on_a_virtual_key_and_export_the_report() {
    let (keys, lab, events, dir) = panel();
    let key = keys
        .start_virtual(&strings(&["ML-DSA-44", "ES256"]), "approve")
        .unwrap();
    let view = lab
        .compare(&key.id, &strings(&["ML-DSA-44", "ES256", "EdDSA"]), 2, None)
        .unwrap();
    let section = &view.report["sections"][0];
    assert_eq!(section["kind"], "compare");
    let status: Vec<&str> = section["algorithms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["measured", "measured", "skipped"],
        "EdDSA is not on this key"
    );
    assert_eq!(view.charts.len(), 6);
    assert!(view.charts.iter().all(|c| c.starts_with("<svg")));
    assert!(view.suggested_path.ends_with(".html"));

    let seen: Vec<(String, Value)> = events.try_iter().collect();
    let progress: Vec<&Value> = seen
        .iter()
        .filter(|(n, _)| n == events::LAB_PROGRESS)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(progress.len(), 4, "two rounds of two algorithms");
    assert_eq!(progress[0]["algorithm"], "ML-DSA-44");
    let traffic = seen.iter().filter(|(n, _)| n == events::TRAFFIC).count();
    assert!(
        traffic < 40,
        "the comparison's frames stay out of the live view ({traffic})"
    );

    let path = dir.path().join("lab.html");
    let written = lab.export(path.to_str().unwrap()).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.contains("<svg") && html.contains("ML-DSA-44"));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    assert_eq!(json["key"]["aaguid"], view.report["key"]["aaguid"]);
    assert_eq!(
        lab.export(path.to_str().unwrap()).unwrap_err().code,
        "file_exists"
    );
    assert_eq!(lab.export("relative.html").unwrap_err().code, "bad_path");
    keys.shutdown();
}

#[test]
fn refusals() {
    let (keys, lab, _events, _dir) = panel();
    assert_eq!(
        lab.export("/tmp/never-written.html").unwrap_err().code,
        "no_report"
    );
    assert_eq!(
        lab.compare("udp:127.0.0.1:9", &strings(&["ES256"]), 1, None)
            .unwrap_err()
            .code,
        "unknown_key"
    );
    let key = keys.start_virtual(&strings(&["ES256"]), "approve").unwrap();
    assert_eq!(
        lab.compare(&key.id, &strings(&["ES256"]), 0, None)
            .unwrap_err()
            .code,
        "bad_rounds"
    );
    assert_eq!(
        lab.compare(&key.id, &strings(&["RS1x"]), 1, None)
            .unwrap_err()
            .code,
        "bad_algorithm"
    );
    keys.shutdown();
}
