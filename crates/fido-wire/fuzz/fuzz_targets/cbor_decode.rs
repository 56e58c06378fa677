//! Any input: the decoder returns a value or an error, never panics or hangs,
//! and every accepted input re-encodes to exactly the same bytes.
#![no_main]
use fido_wire::cbor::{self, DecodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = cbor::from_slice(data, &DecodeOptions::GENERAL) {
        assert_eq!(cbor::to_vec(&value), data, "general decode must round-trip");
        let canonical = cbor::to_canonical_vec(&value);
        let again = cbor::from_slice(&canonical, &DecodeOptions::GENERAL).expect("canonical re-decodes");
        assert_eq!(cbor::to_canonical_vec(&again), canonical);
        let _ = value.to_string();
    }
    if let Ok(value) = cbor::from_slice(data, &DecodeOptions::CTAP2) {
        assert_eq!(cbor::to_canonical_vec(&value), data, "CTAP2 input is already canonical");
    }
    if let Ok((_, used)) = cbor::from_slice_prefix(data, &DecodeOptions::CTAP2) {
        assert!(used <= data.len());
    }
});
