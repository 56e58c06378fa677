//! The client over NFC against the virtual key as an in-process card (the
//! FIDO applet of `ctap-nfc` in front of the real authenticator, no PC/SC
//! service): the same `Device` calls as over CTAPHID — PIN, ML-DSA-87
//! registration and assertion — on a reader limited to short APDUs with a
//! small buffer, so every message is chained; the recorder shows the APDUs
//! decoded and never the bytes of a secret-bearing exchange.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctap_client::nfc::NfcLink;
use ctap_client::recorder::EventKind;
use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{Device, LinkInfo, Recorder};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::base64url::Base64UrlBytes;
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement,
    UserEntity as JsonUser, UserVerificationRequirement,
};
use virtual_authenticator::nfc::{AppletOptions, FidoCard};
use virtual_authenticator::{Authenticator, Config, SharedAuthenticator};

fn card(options: AppletOptions) -> (Device, Recorder) {
    let key = SharedAuthenticator::new(Authenticator::new(Config::default()).unwrap());
    let recorder = Recorder::new(1 << 16);
    let link = NfcLink::select(FidoCard::new(key, options), recorder.clone()).unwrap();
    (
        Device::open_link(Box::new(link), recorder.clone()).unwrap(),
        recorder,
    )
}

fn creation(alg: CoseAlgorithm) -> CreationOptionsJson {
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

fn apdu_headers(recorder: &Recorder) -> Vec<(String, bool)> {
    recorder
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Apdu { header, bytes, .. } => Some((header, bytes.is_some())),
            _ => None,
        })
        .collect()
}

#[test]
fn pin_and_ml_dsa_87_ceremonies_through_chained_short_apdus() {
    let (mut device, recorder) = card(AppletOptions {
        short_only: true,
        max_response: 128,
        ..AppletOptions::default()
    });
    assert_eq!(
        device.link_info(),
        LinkInfo::Nfc {
            applet_version: "FIDO_2_0".into(),
            extended_apdus: Some(false),
        }
    );
    assert!(device.info().transports.iter().any(|t| t == "nfc"));
    device.set_pin("975310").unwrap();
    assert_eq!(device.pin_retries().unwrap().retries, 8);

    let mut ctx = ClientContext {
        pin: Some("975310"),
        ..ClientContext::new("https://example.org")
    };
    // Five unknown credentials to exclude make a request over 255 bytes.
    let mut options = creation(CoseAlgorithm::ML_DSA_87);
    options.exclude_credentials = (0..5u8)
        .map(|i| CredentialDescriptor {
            kind: CredentialType::PublicKey,
            id: Base64UrlBytes(vec![i; 64]),
            transports: None,
        })
        .collect();
    let registered = webauthn::register(&mut device, &options, &mut ctx).unwrap();
    let attestation = registered.response.attestation_object.0.len();
    assert!(attestation > 7000, "{attestation}");
    let request = RequestOptionsJson {
        challenge: Base64UrlBytes(vec![9; 32]),
        timeout: Some(30_000),
        rp_id: Some("example.org".into()),
        allow_credentials: vec![CredentialDescriptor {
            kind: CredentialType::PublicKey,
            id: registered.raw_id.clone(),
            transports: None,
        }],
        user_verification: Some(UserVerificationRequirement::Required),
        hints: vec![],
        extensions: None,
    };
    let asserted = webauthn::authenticate(&mut device, &request, &mut ctx).unwrap();
    assert_eq!(asserted.raw_id, registered.raw_id);

    let headers = apdu_headers(&recorder);
    // 128-byte answers: the 7.3 KB attestation needs over 50 GET RESPONSEs.
    let gets = headers
        .iter()
        .filter(|(h, _)| h.starts_with("GET RESPONSE"))
        .count();
    assert!(gets > 50, "{gets}");
    // Requests over 255 bytes went as command chains.
    assert!(
        headers
            .iter()
            .any(|(h, _)| h.starts_with("NFCCTAP_MSG chained short CLA=90"))
    );
    assert!(headers.iter().any(|(h, _)| h.starts_with("SELECT")));
    // The PIN exchanges (setPIN, getPinUvAuthTokenUsingPinWithPermissions)
    // and the ceremonies with a pinUvAuthParam are recorded without bytes.
    assert!(headers.iter().any(|(_, with_bytes)| !with_bytes));
    assert!(headers.iter().any(|(_, with_bytes)| *with_bytes));
    assert!(device.wink().is_err(), "no wink over NFC");
}

#[test]
fn extended_apdus_carry_a_registration_in_one_exchange() {
    let (mut device, recorder) = card(AppletOptions::default());
    let mut ctx = ClientContext::new("https://example.org");
    let mut options = creation(CoseAlgorithm::ML_DSA_87);
    options.authenticator_selection = Some(AuthenticatorSelection {
        resident_key: Some(ResidentKeyRequirement::Discouraged),
        user_verification: Some(UserVerificationRequirement::Discouraged),
        ..AuthenticatorSelection::default()
    });
    let before = apdu_headers(&recorder).len();
    webauthn::register(&mut device, &options, &mut ctx).unwrap();
    let during: Vec<String> = apdu_headers(&recorder)
        .into_iter()
        .skip(before)
        .map(|(h, _)| h)
        .collect();
    assert_eq!(device.link_info().transport(), "nfc");
    // One extended command, one answer with everything.
    assert_eq!(during.len(), 2, "{during:#?}");
    assert!(during[0].starts_with("NFCCTAP_MSG extended"));
    assert!(during[1].starts_with("SW=9000 (OK)"));
}

/// The exchange meter over NFC: each CTAP2 exchange counts its APDUs (one
/// answer per command), the chained request parts as sending and the GET
/// RESPONSEs after 61xx as receiving, so the key lab's comparison reads the
/// same metrics over a reader as over CTAPHID.
#[test]
fn exchanges_over_nfc_are_metered_per_apdu() {
    let (mut device, recorder) = card(AppletOptions {
        short_only: true,
        max_response: 256,
        ..AppletOptions::default()
    });
    let mut ctx = ClientContext::new("https://example.org");
    let mut options = creation(CoseAlgorithm::ML_DSA_87);
    options.authenticator_selection = Some(AuthenticatorSelection {
        resident_key: Some(ResidentKeyRequirement::Discouraged),
        user_verification: Some(UserVerificationRequirement::Discouraged),
        ..AuthenticatorSelection::default()
    });
    device.take_exchanges();
    let before = apdu_headers(&recorder).len();
    webauthn::register(&mut device, &options, &mut ctx).unwrap();
    let apdus = (apdu_headers(&recorder).len() - before) / 2;
    let exchanges = device.take_exchanges();
    let made = exchanges
        .iter()
        .find(|m| m.command == 0x01)
        .expect("the makeCredential exchange was metered");
    assert!(
        made.response_bytes > 7_000,
        "an ML-DSA-87 attestation: {made:?}"
    );
    // 7 KB in 256-byte answers: the first plus GET RESPONSEs.
    assert!(
        made.reports_in as usize >= made.response_bytes / 258,
        "{made:?}"
    );
    assert_eq!(made.reports_out, made.reports_in);
    assert!(
        made.reports_out as usize <= apdus,
        "{made:?} of {apdus} APDUs"
    );
    assert!(made.receive > std::time::Duration::ZERO, "{made:?}");
    assert!(
        made.total >= made.send + made.key + made.receive,
        "{made:?}"
    );
}
