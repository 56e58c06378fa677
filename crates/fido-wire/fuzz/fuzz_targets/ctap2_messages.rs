//! Any bytes as a CTAP2 response or request body: every typed decoder
//! (getInfo, makeCredential, getAssertion, clientPIN, credentialManagement,
//! authenticatorConfig) accepts or refuses it cleanly, and what one accepts
//! encodes again without panicking.
#![no_main]
use fido_wire::cbor::{self, DecodeOptions};
use fido_wire::ctap2::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_response(data);
    let Ok(v) = cbor::from_slice(data, &DecodeOptions::CTAP_ANY_ORDER) else {
        return;
    };
    if let Ok(x) = GetInfo::from_value(&v) {
        let _ = x.to_value();
    }
    if let Ok(x) = MakeCredentialResponse::from_value(&v) {
        let _ = x.to_value();
        let _ = x.to_attestation_object();
    }
    if let Ok(x) = GetAssertionResponse::from_value(&v) {
        let _ = x.to_value();
        let _ = x.parsed_auth_data();
    }
    if let Ok(x) = ClientPinResponse::from_value(&v) {
        let _ = x.to_value();
    }
    if let Ok(x) = CredMgmtResponse::from_value(&v) {
        let _ = x.to_value();
    }
    if let Ok(x) = MakeCredentialRequest::from_value(&v) {
        let _ = x.to_value();
    }
    if let Ok(x) = GetAssertionRequest::from_value(&v) {
        let _ = x.to_value();
    }
    if let Ok(x) = ClientPinRequest::from_value(&v) {
        let _ = format!("{x:?}");
        let _ = x.to_value();
    }
    if let Ok(x) = CredMgmtRequest::from_value(&v) {
        let _ = x.auth_message();
        let _ = x.to_value();
    }
    if let Ok(x) = ConfigRequest::from_value(&v) {
        let _ = x.auth_message();
        let _ = x.to_value();
    }
});
