//! Any CTAP2 request (command byte and parameters) to the virtual key: an
//! answer always comes, starts with a status byte, and fits one CTAPHID
//! message; the key keeps answering getInfo afterwards. The key keeps its
//! state across inputs, so sequences (setPIN, then getPinToken, ...) happen.
#![no_main]
use ctaphid::serve::RequestContext;
use fido_wire::cose::CoseAlgorithm;
use libfuzzer_sys::fuzz_target;
use std::sync::{Mutex, OnceLock};
use virtual_authenticator::{Authenticator, Config};

static KEY: OnceLock<Mutex<Authenticator>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let key = KEY.get_or_init(|| {
        Mutex::new(
            Authenticator::new(Config {
                // Cheap algorithms keep the fuzzer fast; ML-DSA is exercised by the tests.
                algorithms: vec![CoseAlgorithm::EDDSA, CoseAlgorithm::ES256],
                // The fingerprint sensor, so bioEnrollment and built-in UV are reached.
                fingerprint_sensor: true,
                ..Config::default()
            })
            .expect("an in-memory key starts"),
        )
    });
    let mut key = key.lock().unwrap_or_else(|e| e.into_inner());
    let ctx = RequestContext::detached();
    let answer = key.process(data, &ctx);
    assert!(!answer.is_empty());
    assert!(answer.len() <= ctaphid::MAX_MESSAGE_LEN);
    assert_eq!(key.process(&[0x04], &ctx).first(), Some(&0));
});
