//! Any input: the decoder for users returns annotated JSON or an error for
//! every kind and for auto-detection, never panics or hangs, and what it
//! returns serialises. Text input goes through the text entry point too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use relying_party::decoder::{InputKind, decode, decode_auto, decode_text};

const KINDS: [InputKind; 6] = [
    InputKind::AttestationObject,
    InputKind::AuthenticatorData,
    InputKind::ClientDataJson,
    InputKind::CoseKey,
    InputKind::Certificate,
    InputKind::Cbor,
];

fuzz_target!(|data: &[u8]| {
    for kind in KINDS {
        if let Ok(out) = decode(kind, data) {
            assert_eq!(out["kind"], kind.name());
            let _ = out.to_string();
        }
    }
    if let Ok(out) = decode_auto(data) {
        let _ = out.to_string();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_text(text).map(|o| o.to_string());
    }
});
