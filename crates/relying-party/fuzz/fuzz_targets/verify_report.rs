//! Any input: `keybench verify`'s core (options, response and stored key
//! as people paste them) answers a report or an input error, never panics
//! or hangs, and the report serialises with every byte range inside its
//! input. The input is split at NUL bytes into options, response and key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use relying_party::report::{VerifyRequest, verify_ceremony};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let options = parts.next().filter(|p| !p.is_empty());
    let response = parts.next().unwrap_or_default();
    let key = parts.next().filter(|p| !p.is_empty());
    let request = VerifyRequest {
        options,
        response,
        public_key: key,
        origin: Some("https://example.org"),
        challenge: Some("AAAA"),
        ..Default::default()
    };
    if let Ok(report) = verify_ceremony(&request) {
        let json = serde_json::to_value(&report).unwrap_or_default();
        for step in &report.steps {
            if let Some(l) = &step.detail.location {
                let name = serde_json::to_value(l.input).unwrap_or_default();
                let hex = json["inputs"][name.as_str().unwrap_or_default()]
                    .as_str()
                    .unwrap_or_default();
                assert!(l.range.start <= l.range.end && l.range.end <= hex.len() / 2);
            }
        }
    }
});
