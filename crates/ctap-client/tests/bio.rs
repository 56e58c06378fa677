//! The client's fingerprint side against the virtual key with its sensor,
//! in-process over the real CTAPHID framing: sensor info, enrolment with
//! each sample reported, list, rename, remove, getUVRetries, a token from
//! built-in UV, and the WebAuthn client putting the finger before the PIN
//! (falling back to the PIN once UV is blocked), ML-DSA included.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{CtapError, Device, Recorder, SampleReport};
use ctaphid::pipe;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{Permissions, SampleStatus, StatusCode};
use fido_wire::webauthn::AttestationObject;
use fido_wire::webauthn::base64url::Base64UrlBytes;
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialParameters, RegistrationResponseJson,
    RelyingPartyEntity, ResidentKeyRequirement, UserEntity as JsonUser,
    UserVerificationRequirement,
};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use virtual_authenticator::{
    Authenticator, Config, PresencePolicy, SharedAuthenticator, bio::MAX_UV_RETRIES,
    bio::SAMPLES_PER_ENROLLMENT,
};

const PIN: &str = "4321";

struct Key {
    device: Device,
    authenticator: SharedAuthenticator,
    _stop: Arc<AtomicBool>,
}

fn key() -> Key {
    let (host, end) = pipe();
    let authenticator = SharedAuthenticator::new(
        Authenticator::new(Config {
            fingerprint_sensor: true,
            ..Config::default()
        })
        .unwrap(),
    );
    let served = authenticator.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    std::thread::spawn(move || ctaphid::serve::serve(end, identity, served, s));
    let mut device = Device::open(host, Recorder::default()).unwrap();
    device.set_pin(PIN).unwrap();
    Key {
        device,
        authenticator,
        _stop: stop,
    }
}

impl Key {
    fn presence(&self, policy: PresencePolicy) {
        self.authenticator.with(|a| a.set_presence(policy));
    }
}

fn be_token(device: &mut Device) -> ctap_client::PinToken {
    device
        .pin_token(PIN, Permissions(Permissions::BIO_ENROLLMENT), None)
        .unwrap()
}

fn enroll(device: &mut Device) -> (Vec<u8>, Vec<SampleReport>) {
    let token = be_token(device);
    let mut samples = Vec::new();
    let id = device
        .enroll_fingerprint(&token, &mut |s| samples.push(s), None, None)
        .unwrap();
    (id, samples)
}

fn creation(alg: CoseAlgorithm) -> CreationOptionsJson {
    CreationOptionsJson {
        rp: RelyingPartyEntity {
            id: Some("example.org".into()),
            name: "Example".into(),
        },
        user: JsonUser {
            id: Base64UrlBytes(b"user-bio".to_vec()),
            name: "bio".into(),
            display_name: "Bio".into(),
        },
        challenge: Base64UrlBytes(vec![7; 32]),
        pub_key_cred_params: vec![CredentialParameters::public_key(alg)],
        timeout: Some(30_000),
        exclude_credentials: vec![],
        authenticator_selection: Some(AuthenticatorSelection {
            resident_key: Some(ResidentKeyRequirement::Required),
            user_verification: Some(UserVerificationRequirement::Required),
            ..AuthenticatorSelection::default()
        }),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: None,
    }
}

fn user_verified(response: &RegistrationResponseJson) -> bool {
    AttestationObject::from_cbor(&response.response.attestation_object.0)
        .unwrap()
        .auth_data
        .flags
        .user_verified()
}

#[test]
fn a_finger_is_enrolled_sample_by_sample_listed_renamed_and_removed() {
    let mut k = key();
    assert!(k.device.has_fingerprint_sensor());
    assert!(!k.device.built_in_uv_ready(), "no finger yet: uv false");
    let info = k.device.fingerprint_sensor_info().unwrap();
    assert_eq!(info.max_samples, Some(SAMPLES_PER_ENROLLMENT));
    let token = be_token(&mut k.device);
    assert!(k.device.fingerprints(&token).unwrap().is_empty());

    let (id, samples) = enroll(&mut k.device);
    // Each sample reported, good, counting down to none.
    let remaining: Vec<u64> = samples.iter().map(|s| s.remaining).collect();
    let expected: Vec<u64> = (0..SAMPLES_PER_ENROLLMENT).rev().collect();
    assert_eq!(remaining, expected);
    assert!(samples.iter().all(|s| s.status == SampleStatus::GOOD));
    assert!(k.device.built_in_uv_ready(), "a finger: uv true");

    let token = be_token(&mut k.device);
    k.device.rename_fingerprint(&token, &id, "thumb").unwrap();
    let listed = k.device.fingerprints(&token).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].template_id, id);
    assert_eq!(listed[0].name.as_deref(), Some("thumb"));
    k.device.remove_fingerprint(&token, &id).unwrap();
    assert!(k.device.fingerprints(&token).unwrap().is_empty());
    assert!(!k.device.built_in_uv_ready());
}

#[test]
fn poor_samples_are_reported_and_an_endless_run_of_them_is_abandoned() {
    let mut k = key();
    k.presence(PresencePolicy::Deny);
    let token = be_token(&mut k.device);
    let mut samples = Vec::new();
    let err = k
        .device
        .enroll_fingerprint(&token, &mut |s| samples.push(s), None, None)
        .unwrap_err();
    assert!(
        matches!(err, CtapError::EnrollmentAbandoned { .. }),
        "{err}"
    );
    assert!(samples.len() > 1);
    assert!(
        samples.iter().all(
            |s| s.status == SampleStatus::POOR_QUALITY && s.remaining == SAMPLES_PER_ENROLLMENT
        )
    );
    k.presence(PresencePolicy::Approve);
    let token = be_token(&mut k.device);
    assert!(k.device.fingerprints(&token).unwrap().is_empty());
}

#[test]
fn registration_uses_the_finger_before_the_pin_for_every_algorithm() {
    let mut k = key();
    enroll(&mut k.device);
    for alg in [
        CoseAlgorithm::ES256,
        CoseAlgorithm::EDDSA,
        CoseAlgorithm::ML_DSA_65,
    ] {
        // No PIN in the context: the token can only come from the finger.
        let mut ctx = ClientContext::new("https://example.org");
        let response = webauthn::register(&mut k.device, &creation(alg), &mut ctx).unwrap();
        assert!(user_verified(&response), "{alg:?}");
    }
    assert_eq!(k.device.uv_retries().unwrap(), MAX_UV_RETRIES);
}

#[test]
fn a_blocked_finger_falls_back_to_the_pin_which_unblocks_it() {
    let mut k = key();
    enroll(&mut k.device);
    k.presence(PresencePolicy::Deny);
    for left in (0..MAX_UV_RETRIES).rev() {
        let tx = ctaphid::Transaction::with_timeout(std::time::Duration::from_secs(5));
        let err = k
            .device
            .uv_token(
                Permissions(Permissions::MAKE_CREDENTIAL),
                Some("example.org"),
                tx,
            )
            .unwrap_err();
        let expected = if left == 0 {
            StatusCode::UV_BLOCKED
        } else {
            StatusCode::UV_INVALID
        };
        assert_eq!(err.status(), Some(expected));
        assert_eq!(k.device.uv_retries().unwrap(), left);
    }
    k.presence(PresencePolicy::Approve);
    // Blocked, and no PIN given: the client asks for the PIN.
    let mut ctx = ClientContext::new("https://example.org");
    let err =
        webauthn::register(&mut k.device, &creation(CoseAlgorithm::ES256), &mut ctx).unwrap_err();
    assert!(matches!(err, CtapError::PinRequired), "{err}");
    // With it, the ceremony completes through the PIN, which also gives
    // the finger its attempts back.
    let mut ctx = ClientContext {
        pin: Some(PIN),
        ..ClientContext::new("https://example.org")
    };
    let response =
        webauthn::register(&mut k.device, &creation(CoseAlgorithm::ML_DSA_44), &mut ctx).unwrap();
    assert!(user_verified(&response));
    assert_eq!(k.device.uv_retries().unwrap(), MAX_UV_RETRIES);
}
