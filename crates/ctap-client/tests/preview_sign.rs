//! The WebAuthn client role's previewSign (sign extension) against the
//! virtual authenticator over CTAPHID: generateKey at registration gives
//! the generated key (key handle, public key, attestation object) as a
//! client extension output, signByCredential at authentication gives a
//! signature that verifies with that key; and the client's refusals of
//! inputs it cannot send.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{CtapError, Device, Recorder};
use ctaphid::pipe;
use fido_wire::cose::{CoseAlgorithm, CoseKey, KeyParams};
use fido_wire::webauthn::base64url::{self, Base64UrlBytes};
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, UserEntity as JsonUser,
    UserVerificationRequirement,
};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use virtual_authenticator::{Authenticator, Config};

const ORIGIN: &str = "https://example.org";

fn device() -> (Device, Arc<AtomicBool>) {
    let (host, end) = pipe();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    let authenticator = Authenticator::new(Config::default()).unwrap();
    std::thread::spawn(move || ctaphid::serve::serve(end, identity, authenticator, s));
    (Device::open(host, Recorder::default()).unwrap(), stop)
}

fn creation(extensions: serde_json::Value) -> CreationOptionsJson {
    CreationOptionsJson {
        rp: RelyingPartyEntity {
            id: Some("example.org".into()),
            name: "Example".into(),
        },
        user: JsonUser {
            id: Base64UrlBytes(b"user-alice".to_vec()),
            name: "alice".into(),
            display_name: "Alice".into(),
        },
        challenge: Base64UrlBytes(vec![7; 32]),
        pub_key_cred_params: vec![CredentialParameters::public_key(CoseAlgorithm::ES256)],
        timeout: Some(30_000),
        exclude_credentials: vec![],
        authenticator_selection: Some(AuthenticatorSelection {
            user_verification: Some(UserVerificationRequirement::Discouraged),
            ..AuthenticatorSelection::default()
        }),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: serde_json::from_value(extensions).unwrap(),
    }
}

fn request(allow: &[Vec<u8>], extensions: serde_json::Value) -> RequestOptionsJson {
    RequestOptionsJson {
        challenge: Base64UrlBytes(vec![9; 32]),
        timeout: Some(30_000),
        rp_id: Some("example.org".into()),
        allow_credentials: allow
            .iter()
            .map(|id| CredentialDescriptor {
                kind: CredentialType::PublicKey,
                id: Base64UrlBytes(id.clone()),
                transports: None,
            })
            .collect(),
        user_verification: Some(UserVerificationRequirement::Discouraged),
        hints: vec![],
        extensions: serde_json::from_value(extensions).unwrap(),
    }
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    base64url::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn generate_key_then_sign_by_credential() {
    let (mut device, _stop) = device();
    let mut ctx = ClientContext::new(ORIGIN);
    let registered = webauthn::register(
        &mut device,
        &creation(json!({ "previewSign": { "generateKey": { "algorithms": [-9, -7] } } })),
        &mut ctx,
    )
    .unwrap();
    let generated = &registered.client_extension_results["previewSign"]["generatedKey"];
    assert_eq!(generated["algorithm"], json!(-9));
    let key_handle = b64(&generated["keyHandle"]);
    let public_key = CoseKey::from_cbor(&b64(&generated["publicKey"])).unwrap();
    assert!(!b64(&generated["attestationObject"]).is_empty());
    let KeyParams::Ec2 { x, y, .. } = &public_key.params else {
        panic!("not an EC2 key");
    };
    let point = [&[4u8][..], x, y].concat();

    let credential = registered.raw_id.0.clone();
    let tbs = b"the document";
    let signed = webauthn::authenticate(
        &mut device,
        &request(
            std::slice::from_ref(&credential),
            json!({ "previewSign": { "signByCredential": {
                base64url::encode(&credential): {
                    "keyHandle": base64url::encode(&key_handle),
                    "tbs": base64url::encode(tbs),
                }
            } } }),
        ),
        &mut ctx,
    )
    .unwrap();
    let signature = b64(&signed.client_extension_results["previewSign"]["signature"]);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &point)
        .verify(tbs, &signature)
        .expect("the signature verifies with the generated key");
}

#[test]
fn sign_inputs_the_client_cannot_send_are_refused() {
    let (mut device, _stop) = device();
    let mut ctx = ClientContext::new(ORIGIN);
    let entry = json!({ "keyHandle": "AA", "tbs": "AA" });
    // No allowCredentials: the key could sign with any credential.
    let err = webauthn::authenticate(
        &mut device,
        &request(
            &[],
            json!({ "previewSign": { "signByCredential": { "AQ": entry } } }),
        ),
        &mut ctx,
    )
    .unwrap_err();
    assert!(matches!(err, CtapError::Options(m) if m.contains("allowCredentials")));
    // No entry for the allowed credential.
    let err = webauthn::authenticate(
        &mut device,
        &request(
            &[vec![1]],
            json!({ "previewSign": { "signByCredential": { "Ag": entry } } }),
        ),
        &mut ctx,
    )
    .unwrap_err();
    assert!(matches!(err, CtapError::Options(m) if m.contains("no entry")));
    let err = webauthn::register(
        &mut device,
        &creation(json!({ "previewSign": { "generateKey": { "algorithms": ["ES256"] } } })),
        &mut ctx,
    )
    .unwrap_err();
    assert!(matches!(err, CtapError::Options(m) if m.contains("COSE numbers")));
}
