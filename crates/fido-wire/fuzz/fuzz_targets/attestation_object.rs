//! Any input: an attestation object parses or fails cleanly; what parses
//! re-parses identically from its canonical encoding.
#![no_main]
use fido_wire::webauthn::AttestationObject;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(att) = AttestationObject::from_cbor(data) {
        let again = AttestationObject::from_cbor(&att.to_cbor()).expect("re-encoding parses");
        assert_eq!(again, att);
    }
});
