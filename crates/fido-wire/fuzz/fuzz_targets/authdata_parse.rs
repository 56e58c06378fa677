//! Any input: authenticator data parses or fails cleanly, and whatever parses
//! re-encodes to exactly the same bytes.
#![no_main]
use fido_wire::webauthn::AuthenticatorData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ad) = AuthenticatorData::parse(data) {
        assert_eq!(ad.to_bytes(), data);
        let _ = format!("{ad:?}");
    }
});
