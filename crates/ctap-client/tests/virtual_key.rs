//! The client end to end against the virtual authenticator in-process, over
//! the real CTAPHID framing (an in-process report pipe): every command, the
//! PIN rules, credential management, config, every extension, the WebAuthn
//! client role for every algorithm, cancel, timeouts, the maxMsgSize guard
//! and the recorder's redaction.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{CtapError, Device, Recorder};
use ctaphid::{CancelToken, ClientError, KeepaliveStatus, Transaction, pipe};
use fido_wire::cbor::Value;
use fido_wire::cose::{CoseAlgorithm, CoseKey, KeyParams};
use fido_wire::ctap2::{
    MakeCredentialRequest, MinPinLengthParams, Permissions, RequestOptions, StatusCode, UserEntity,
};
use fido_wire::webauthn::base64url::Base64UrlBytes;
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement,
    UserEntity as JsonUser, UserVerificationRequirement,
};
use fido_wire::webauthn::{AttestationObject, AuthenticatorData};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use virtual_authenticator::{
    AttestationMode, Authenticator, Config, PresencePolicy, SharedAuthenticator,
};

const ORIGIN: &str = "https://example.org";

struct Key {
    device: Device,
    authenticator: SharedAuthenticator,
    _stop: Arc<AtomicBool>,
}

fn key(config: Config) -> Key {
    let (host, end) = pipe();
    let authenticator = SharedAuthenticator::new(Authenticator::new(config).unwrap());
    let served = authenticator.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    std::thread::spawn(move || ctaphid::serve::serve(end, identity, served, s));
    Key {
        device: Device::open(host, Recorder::default()).unwrap(),
        authenticator,
        _stop: stop,
    }
}

impl Key {
    fn power_cycle(&self) {
        self.authenticator.with(|a| a.power_cycle()).unwrap();
    }
}

fn creation(
    algs: &[CoseAlgorithm],
    rk: bool,
    uv: UserVerificationRequirement,
) -> CreationOptionsJson {
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
        pub_key_cred_params: algs
            .iter()
            .map(|a| CredentialParameters::public_key(*a))
            .collect(),
        timeout: Some(30_000),
        exclude_credentials: vec![],
        authenticator_selection: Some(AuthenticatorSelection {
            resident_key: Some(if rk {
                ResidentKeyRequirement::Required
            } else {
                ResidentKeyRequirement::Discouraged
            }),
            user_verification: Some(uv),
            ..AuthenticatorSelection::default()
        }),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: None,
    }
}

fn request(allow: &[Vec<u8>], uv: UserVerificationRequirement) -> RequestOptionsJson {
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
        user_verification: Some(uv),
        hints: vec![],
        extensions: None,
    }
}

fn with_pin(pin: &str) -> ClientContext<'_> {
    ClientContext {
        pin: Some(pin),
        ..ClientContext::new(ORIGIN)
    }
}

/// Verifies an assertion signature with the credential's COSE key.
fn verify(key: &CoseKey, message: &[u8], signature: &[u8]) {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1, ECDSA_P256K1_SHA256_ASN1, ECDSA_P384_SHA384_ASN1,
        ECDSA_P521_SHA512_ASN1, ED25519, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
        RsaPublicKeyComponents, UnparsedPublicKey,
    };
    use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _};
    match (&key.params, key.alg.unwrap()) {
        (KeyParams::Rsa { n, e }, alg) => {
            let padding = match alg {
                CoseAlgorithm::RS256 => &RSA_PKCS1_2048_8192_SHA256,
                CoseAlgorithm::PS256 => &RSA_PSS_2048_8192_SHA256,
                other => panic!("unexpected {other}"),
            };
            RsaPublicKeyComponents { n, e }
                .verify(padding, message, signature)
                .unwrap();
        }
        (KeyParams::Ec2 { x, y, .. }, alg) => {
            let point = [&[4u8][..], x, y].concat();
            let algorithm = match alg {
                CoseAlgorithm::ES256 => &ECDSA_P256_SHA256_ASN1,
                CoseAlgorithm::ES384 => &ECDSA_P384_SHA384_ASN1,
                CoseAlgorithm::ES512 => &ECDSA_P521_SHA512_ASN1,
                CoseAlgorithm::ES256K => &ECDSA_P256K1_SHA256_ASN1,
                other => panic!("unexpected {other}"),
            };
            UnparsedPublicKey::new(algorithm, point)
                .verify(message, signature)
                .unwrap();
        }
        (KeyParams::Okp { x, .. }, CoseAlgorithm::EDDSA) => {
            UnparsedPublicKey::new(&ED25519, x)
                .verify(message, signature)
                .unwrap();
        }
        (KeyParams::Akp { public, .. }, alg) => {
            macro_rules! ml_dsa {
                ($m:ident) => {{
                    use pqcrypto_mldsa::$m;
                    $m::verify_detached_signature(
                        &$m::DetachedSignature::from_bytes(signature).unwrap(),
                        message,
                        &$m::PublicKey::from_bytes(public).unwrap(),
                    )
                    .unwrap()
                }};
            }
            match alg {
                CoseAlgorithm::ML_DSA_44 => ml_dsa!(mldsa44),
                CoseAlgorithm::ML_DSA_65 => ml_dsa!(mldsa65),
                CoseAlgorithm::ML_DSA_87 => ml_dsa!(mldsa87),
                other => panic!("unexpected {other}"),
            }
        }
        other => panic!("unexpected key {other:?}"),
    }
}

/// A bare makeCredential request (ES256), authenticated by `token` if given.
fn raw_mc(rp_id: &str, cdh: &[u8], token: Option<&ctap_client::PinToken>) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: cdh.to_vec(),
        rp_id: rp_id.into(),
        rp_name: None,
        user_id: vec![1],
        user_name: None,
        user_display_name: None,
        pub_key_cred_params: vec![("public-key".into(), CoseAlgorithm::ES256)],
        exclude_list: vec![],
        extensions: None,
        options: RequestOptions::default(),
        pin_uv_auth_param: token.map(|t| t.authenticate(cdh)),
        pin_uv_auth_protocol: token.map(|t| t.protocol().id()),
        enterprise_attestation: None,
        attestation_formats_preference: vec![],
    }
}

fn sha256(b: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

#[test]
fn get_info_is_fully_decoded() {
    let k = key(Config::default());
    let info = k.device.info();
    assert_eq!(info.versions, ["FIDO_2_0", "FIDO_2_1"]);
    assert_eq!(&info.aaguid, b"kbvirt-mldsa-v01");
    assert_eq!(info.max_msg_size, Some(7609));
    assert_eq!(info.pin_uv_auth_protocols, [2, 1]);
    assert_eq!(
        info.algorithms.iter().map(|a| a.alg).collect::<Vec<_>>(),
        [
            CoseAlgorithm::ML_DSA_87,
            CoseAlgorithm::ML_DSA_65,
            CoseAlgorithm::ML_DSA_44,
            CoseAlgorithm::EDDSA,
            CoseAlgorithm::ES256,
            CoseAlgorithm::ES384,
            CoseAlgorithm::ES512,
            CoseAlgorithm::RS256,
            CoseAlgorithm::PS256,
            CoseAlgorithm::ES256K,
        ]
    );
    assert!(info.extensions.iter().any(|e| e == "hmac-secret"));
    assert_eq!(info.option("clientPin"), Some(false));
    assert_eq!(info.option("credMgmt"), Some(true));
    assert_eq!(info.firmware_version, Some(1));
    assert_eq!(info.min_pin_length, Some(4));
    assert_eq!(info.remaining_discoverable_credentials, Some(100));
}

#[test]
fn webauthn_register_and_authenticate_every_algorithm() {
    for attestation in [
        AttestationMode::PackedSelf,
        AttestationMode::PackedBasic,
        AttestationMode::None,
    ] {
        let mut k = key(Config {
            attestation,
            ..Config::default()
        });
        for alg in virtual_authenticator::keys::SUPPORTED {
            let options = creation(&[alg], false, UserVerificationRequirement::Discouraged);
            let reg = webauthn::register(&mut k.device, &options, &mut ClientContext::new(ORIGIN))
                .unwrap();
            let att = AttestationObject::from_cbor(&reg.response.attestation_object.0).unwrap();
            let size = reg.response.attestation_object.0.len();
            if alg == CoseAlgorithm::ML_DSA_87 && attestation == AttestationMode::PackedSelf {
                // Close to the CTAPHID limit, reassembled from 120+ frames.
                assert!(size > 7300, "{size}");
            }
            assert_eq!(reg.response.public_key_algorithm, Some(alg));
            assert!(reg.response.public_key.is_some(), "SPKI for {alg}");
            let cd =
                fido_wire::webauthn::CollectedClientData::parse(&reg.response.client_data_json.0)
                    .unwrap();
            assert_eq!(cd.origin, ORIGIN);
            assert_eq!(cd.challenge_bytes().unwrap(), vec![7; 32]);
            let acd = att.auth_data.attested_credential.clone().unwrap();
            let cose = CoseKey::from_cbor(&acd.public_key_cbor).unwrap();
            assert_eq!(cose.alg, Some(alg));
            let signed = [
                att.auth_data_bytes.as_slice(),
                &sha256(&reg.response.client_data_json.0),
            ]
            .concat();
            match attestation {
                AttestationMode::PackedSelf => verify(
                    &cose,
                    &signed,
                    att.att_stmt.get_text("sig").unwrap().as_bytes().unwrap(),
                ),
                AttestationMode::PackedBasic => assert!(att.att_stmt.get_text("x5c").is_some()),
                AttestationMode::None => assert_eq!(att.fmt, "none"),
            }

            let auth = webauthn::authenticate(
                &mut k.device,
                &request(
                    std::slice::from_ref(&reg.raw_id.0),
                    UserVerificationRequirement::Discouraged,
                ),
                &mut ClientContext::new(ORIGIN),
            )
            .unwrap();
            assert_eq!(auth.raw_id, reg.raw_id);
            let ad = AuthenticatorData::parse(&auth.response.authenticator_data.0).unwrap();
            assert_eq!(ad.sign_count, 1);
            assert!(ad.flags.user_present());
            let signed = [
                auth.response.authenticator_data.0.as_slice(),
                &sha256(&auth.response.client_data_json.0),
            ]
            .concat();
            verify(&cose, &signed, &auth.response.signature.0);
        }
    }
}

#[test]
fn requests_over_max_msg_size_are_refused_before_sending() {
    let mut k = key(Config::default());
    let mut options = creation(
        &[CoseAlgorithm::ES256],
        false,
        UserVerificationRequirement::Discouraged,
    );
    options.exclude_credentials = (0..200)
        .map(|i| CredentialDescriptor {
            kind: CredentialType::PublicKey,
            id: Base64UrlBytes(vec![i as u8; 64]),
            transports: None,
        })
        .collect();
    let sent_before = k.device.recorder().events().len();
    let err =
        webauthn::register(&mut k.device, &options, &mut ClientContext::new(ORIGIN)).unwrap_err();
    let message = err.to_string();
    match err {
        CtapError::RequestTooLarge { len, max, .. } => {
            assert!(len > 7609);
            assert_eq!(max, 7609);
        }
        other => panic!("{other}"),
    }
    // The message names the limit and says nothing was sent.
    assert!(
        message.contains("maxMsgSize of 7609") && message.contains("not sent"),
        "{message}"
    );
    // Nothing reached the key: no frame after the refusal.
    assert_eq!(k.device.recorder().events().len(), sent_before);
}

#[test]
fn pin_set_change_retries_and_the_power_cycle_rule() {
    let mut k = key(Config::default());
    // A PIN is needed for UV: required UV without one is a clear error.
    let err = webauthn::register(
        &mut k.device,
        &creation(
            &[CoseAlgorithm::ES256],
            true,
            UserVerificationRequirement::Required,
        ),
        &mut ClientContext::new(ORIGIN),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no PIN set"), "{err}");

    k.device.set_pin("1234").unwrap();
    assert_eq!(k.device.info().option("clientPin"), Some(true));
    assert_eq!(
        k.device.set_pin("5678").unwrap_err().status(),
        Some(StatusCode::NOT_ALLOWED)
    );
    assert!(matches!(
        k.device.set_pin("12"),
        Err(CtapError::PinUvAuth(_))
    ));
    k.device.change_pin("1234", "24681357").unwrap();
    assert_eq!(
        k.device
            .change_pin("1234", "99999999")
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_INVALID)
    );
    assert_eq!(k.device.pin_retries().unwrap().retries, 7);

    // Two more wrong PINs: the third in a row blocks until a power cycle.
    let wrong = |d: &mut Device| {
        d.pin_token(
            "0000",
            Permissions(Permissions::GET_ASSERTION),
            Some("example.org"),
        )
        .unwrap_err()
        .status()
    };
    assert_eq!(wrong(&mut k.device), Some(StatusCode::PIN_INVALID));
    assert_eq!(wrong(&mut k.device), Some(StatusCode::PIN_AUTH_BLOCKED));
    let r = k.device.pin_retries().unwrap();
    assert_eq!((r.retries, r.power_cycle_required), (5, true));
    // Even the right PIN is refused until the key is re-plugged.
    let blocked = k
        .device
        .pin_token(
            "24681357",
            Permissions(Permissions::GET_ASSERTION),
            Some("example.org"),
        )
        .unwrap_err();
    assert_eq!(blocked.status(), Some(StatusCode::PIN_AUTH_BLOCKED));
    assert!(
        blocked.to_string().contains("unplug and re-insert"),
        "{blocked}"
    );
    k.power_cycle();
    k.device
        .pin_token(
            "24681357",
            Permissions(Permissions::GET_ASSERTION),
            Some("example.org"),
        )
        .unwrap();
    assert_eq!(k.device.pin_retries().unwrap().retries, 8);

    // Eight wrong PINs (with power cycles) block the PIN for good.
    let mut last = None;
    for i in 0..8 {
        if i % 3 == 0 && i > 0 {
            k.power_cycle();
        }
        last = wrong(&mut k.device);
    }
    assert_eq!(last, Some(StatusCode::PIN_BLOCKED));
    k.power_cycle();
    assert_eq!(
        k.device
            .pin_token(
                "24681357",
                Permissions(Permissions::GET_ASSERTION),
                Some("example.org")
            )
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_BLOCKED)
    );
}

#[test]
fn token_permissions_and_rp_binding_are_enforced() {
    let mut k = key(Config::default());
    k.device.set_pin("1234").unwrap();
    let ga = k
        .device
        .pin_token(
            "1234",
            Permissions(Permissions::GET_ASSERTION),
            Some("example.org"),
        )
        .unwrap();
    // A ga-only token cannot manage credentials or make credentials.
    assert_eq!(
        k.device.credentials_metadata(&ga).unwrap_err().status(),
        Some(StatusCode::PIN_AUTH_INVALID)
    );
    let mc = k
        .device
        .pin_token(
            "1234",
            Permissions(Permissions::MAKE_CREDENTIAL),
            Some("example.org"),
        )
        .unwrap();
    let cdh = vec![1u8; 32];
    let mut req = raw_mc("other.example", &cdh, Some(&mc));
    // Bound to example.org: another RP is refused.
    assert_eq!(
        k.device
            .make_credential(&req, Transaction::with_timeout(Duration::from_secs(5)))
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_AUTH_INVALID)
    );
    req.rp_id = "example.org".into();
    let made = k
        .device
        .make_credential(&req, Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap();
    assert!(
        AuthenticatorData::parse(&made.auth_data)
            .unwrap()
            .flags
            .user_verified()
    );
    // A tampered pinUvAuthParam is refused.
    req.pin_uv_auth_param = Some(fido_wire::ctap2::PinUvAuthParam(vec![0; 32]));
    assert_eq!(
        k.device
            .make_credential(&req, Transaction::with_timeout(Duration::from_secs(5)))
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_AUTH_INVALID)
    );
    // Once a PIN is set, a discoverable credential needs the token.
    let err = webauthn::register(
        &mut k.device,
        &creation(
            &[CoseAlgorithm::ES256],
            true,
            UserVerificationRequirement::Discouraged,
        ),
        &mut ClientContext::new(ORIGIN),
    )
    .unwrap_err();
    assert!(matches!(err, CtapError::PinRequired), "{err}");
}

#[test]
fn credential_management_lists_updates_and_deletes() {
    let mut k = key(Config::default());
    k.device.set_pin("1234").unwrap();
    for (rp, user) in [
        ("example.org", "alice"),
        ("example.org", "bob"),
        ("login.example.org", "carol"),
    ] {
        let mut options = creation(
            &[CoseAlgorithm::ML_DSA_44],
            true,
            UserVerificationRequirement::Required,
        );
        options.rp.id = Some(rp.into());
        options.user.id = Base64UrlBytes(user.as_bytes().to_vec());
        options.user.name = user.into();
        let ctx_origin = format!("https://{rp}");
        webauthn::register(
            &mut k.device,
            &options,
            &mut ClientContext {
                pin: Some("1234"),
                ..ClientContext::new(ctx_origin)
            },
        )
        .unwrap();
    }
    let cm = k
        .device
        .pin_token(
            "1234",
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
    let meta = k.device.credentials_metadata(&cm).unwrap();
    assert_eq!((meta.existing, meta.remaining), (3, 97));
    let rps = k.device.relying_parties(&cm).unwrap();
    let ids: Vec<&str> = rps.iter().map(|(rp, _)| rp.id.as_str()).collect();
    assert_eq!(ids, ["example.org", "login.example.org"]);
    let creds = k.device.credentials(&cm, &rps[0].0, &rps[0].1).unwrap();
    assert_eq!(creds.len(), 2);
    assert_eq!(
        creds[0].public_key.as_ref().unwrap().alg,
        Some(CoseAlgorithm::ML_DSA_44)
    );
    let bob = creds.iter().find(|c| c.user.id == b"bob").unwrap().clone();
    k.device
        .update_user(
            &cm,
            &bob.id,
            UserEntity {
                id: b"bob".to_vec(),
                name: Some("bob@example.org".into()),
                display_name: Some("Bob".into()),
            },
        )
        .unwrap();
    // The user id cannot change.
    assert_eq!(
        k.device
            .update_user(
                &cm,
                &bob.id,
                UserEntity {
                    id: b"mallory".to_vec(),
                    name: None,
                    display_name: None
                }
            )
            .unwrap_err()
            .status(),
        Some(StatusCode::INVALID_PARAMETER)
    );
    let creds = k.device.credentials(&cm, &rps[0].0, &rps[0].1).unwrap();
    assert_eq!(
        creds
            .iter()
            .find(|c| c.user.id == b"bob")
            .unwrap()
            .user
            .name
            .as_deref(),
        Some("bob@example.org")
    );
    k.device.delete_credential(&cm, &bob.id).unwrap();
    assert_eq!(
        k.device
            .delete_credential(&cm, &bob.id)
            .unwrap_err()
            .status(),
        Some(StatusCode::NO_CREDENTIALS)
    );
    assert_eq!(k.device.credentials_metadata(&cm).unwrap().existing, 2);
}

#[test]
fn config_always_uv_and_min_pin_length() {
    let mut k = key(Config::default());
    // Without a PIN (and alwaysUv off), config needs no token.
    k.device.toggle_always_uv(None).unwrap();
    assert_eq!(k.device.info().option("alwaysUv"), Some(true));
    assert_eq!(k.device.info().option("makeCredUvNotRqd"), Some(false));
    // With alwaysUv on, every config change needs a token, so a PIN first.
    assert_eq!(
        k.device.toggle_always_uv(None).unwrap_err().status(),
        Some(StatusCode::PUAT_REQUIRED)
    );
    k.device.set_pin("123456").unwrap();
    let cfg = k
        .device
        .pin_token(
            "123456",
            Permissions(Permissions::AUTHENTICATOR_CONFIG),
            None,
        )
        .unwrap();
    k.device.toggle_always_uv(Some(&cfg)).unwrap();
    assert_eq!(k.device.info().option("alwaysUv"), Some(false));
    k.device.toggle_always_uv(Some(&cfg)).unwrap();
    // alwaysUv: even a non-discoverable credential now needs the PIN.
    let mut ctx = ClientContext::new(ORIGIN);
    assert!(matches!(
        webauthn::register(
            &mut k.device,
            &creation(
                &[CoseAlgorithm::ES256],
                false,
                UserVerificationRequirement::Discouraged
            ),
            &mut ctx
        ),
        Err(CtapError::PinRequired)
    ));
    k.device
        .set_min_pin_length(
            Some(&cfg),
            MinPinLengthParams {
                new_min_pin_length: Some(8),
                rp_ids: Some(vec!["example.org".into()]),
                force_change_pin: None,
            },
        )
        .unwrap();
    assert_eq!(k.device.info().min_pin_length, Some(8));
    assert_eq!(k.device.info().force_pin_change, Some(true));
    // The minimum never shrinks.
    assert_eq!(
        k.device
            .set_min_pin_length(
                Some(&cfg),
                MinPinLengthParams {
                    new_min_pin_length: Some(6),
                    ..MinPinLengthParams::default()
                }
            )
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_POLICY_VIOLATION)
    );
    // A forced change refuses tokens (CTAP 2.1 §6.5.5.7.2: PIN_INVALID),
    // and a too-short new PIN.
    assert_eq!(
        k.device
            .pin_token(
                "123456",
                Permissions(Permissions::GET_ASSERTION),
                Some("example.org")
            )
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_INVALID)
    );
    assert_eq!(
        k.device
            .change_pin("123456", "1234567")
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_POLICY_VIOLATION)
    );
    k.device.change_pin("123456", "12345678").unwrap();
    assert_eq!(k.device.info().force_pin_change, Some(false));
    // minPinLength extension: example.org may read it.
    let mut options = creation(
        &[CoseAlgorithm::ES256],
        true,
        UserVerificationRequirement::Required,
    );
    options.extensions = Some(serde_json::from_str(r#"{"minPinLength": true}"#).unwrap());
    let reg = webauthn::register(&mut k.device, &options, &mut with_pin("12345678")).unwrap();
    let att = AttestationObject::from_cbor(&reg.response.attestation_object.0).unwrap();
    let ext = att.auth_data.extensions.unwrap();
    assert_eq!(
        ext.get_text("minPinLength").and_then(Value::as_u64),
        Some(8)
    );
}

#[test]
fn extensions_cred_protect_hmac_secret_prf_cred_blob_large_blob_key() {
    let mut k = key(Config::default());
    k.device.set_pin("1234").unwrap();
    let mut options = creation(
        &[CoseAlgorithm::ML_DSA_65],
        true,
        UserVerificationRequirement::Required,
    );
    options.extensions = Some(
        serde_json::from_str(
            r#"{"credentialProtectionPolicy": "userVerificationRequired", "enforceCredentialProtectionPolicy": true,
                "prf": {}, "credBlob": "a2V5YmVuY2g", "largeBlob": {"support": "preferred"}, "credProps": true}"#,
        )
        .unwrap(),
    );
    let reg = webauthn::register(&mut k.device, &options, &mut with_pin("1234")).unwrap();
    let outputs = serde_json::Value::Object(reg.client_extension_results.clone());
    assert_eq!(outputs["prf"]["enabled"], true);
    assert_eq!(outputs["credBlob"], true);
    assert_eq!(outputs["largeBlob"]["supported"], true);
    assert_eq!(outputs["credProps"]["rk"], true);
    let att = AttestationObject::from_cbor(&reg.response.attestation_object.0).unwrap();
    assert_eq!(
        att.auth_data
            .extensions
            .as_ref()
            .unwrap()
            .get_text("credProtect")
            .and_then(Value::as_u64),
        Some(3)
    );

    // prf: deterministic per input, different across inputs, and differs with
    // and without UV (CredRandomWithUV vs WithoutUV).
    let prf = |k: &mut Key, input: &str, uv: UserVerificationRequirement| {
        let mut req = request(std::slice::from_ref(&reg.raw_id.0), uv.clone());
        req.extensions = Some(
            serde_json::from_str(&format!(
                r#"{{"prf": {{"eval": {{"first": "{input}", "second": "c2Vjb25k"}}}}, "getCredBlob": true}}"#
            ))
            .unwrap(),
        );
        let pin = (uv == UserVerificationRequirement::Required).then_some("1234");
        let auth = webauthn::authenticate(
            &mut k.device,
            &req,
            &mut ClientContext {
                pin,
                ..ClientContext::new(ORIGIN)
            },
        );
        auth.map(|a| serde_json::Value::Object(a.client_extension_results))
    };
    let a = prf(&mut k, "Zmlyc3Q", UserVerificationRequirement::Required).unwrap();
    let b = prf(&mut k, "Zmlyc3Q", UserVerificationRequirement::Required).unwrap();
    let c = prf(&mut k, "b3RoZXI", UserVerificationRequirement::Required).unwrap();
    assert_eq!(a["prf"]["results"]["first"], b["prf"]["results"]["first"]);
    assert_ne!(a["prf"]["results"]["first"], c["prf"]["results"]["first"]);
    assert_eq!(a["prf"]["results"]["second"], c["prf"]["results"]["second"]);
    assert_eq!(a["getCredBlob"], "a2V5YmVuY2g");
    // credProtect 3: invisible without UV, even with its id in the allow list.
    let err = prf(&mut k, "Zmlyc3Q", UserVerificationRequirement::Discouraged).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NO_CREDENTIALS));

    // Raw hmac-secret (hmacGetSecret) on a credProtect-1 credential, with and without UV.
    let mut options = creation(
        &[CoseAlgorithm::ES256],
        true,
        UserVerificationRequirement::Required,
    );
    options.extensions = Some(serde_json::from_str(r#"{"hmacCreateSecret": true}"#).unwrap());
    let reg2 = webauthn::register(&mut k.device, &options, &mut with_pin("1234")).unwrap();
    assert_eq!(reg2.client_extension_results["hmacCreateSecret"], true);
    let salt = "A".repeat(43);
    let get = |k: &mut Key, pin: Option<&str>, uv| {
        let mut req = request(std::slice::from_ref(&reg2.raw_id.0), uv);
        req.extensions = Some(
            serde_json::from_str(&format!(r#"{{"hmacGetSecret": {{"salt1": "{salt}"}}}}"#))
                .unwrap(),
        );
        let a = webauthn::authenticate(
            &mut k.device,
            &req,
            &mut ClientContext {
                pin,
                ..ClientContext::new(ORIGIN)
            },
        )
        .unwrap();
        a.client_extension_results["hmacGetSecret"]["output1"].clone()
    };
    let with_uv = get(&mut k, Some("1234"), UserVerificationRequirement::Required);
    let without_uv = get(&mut k, None, UserVerificationRequirement::Discouraged);
    assert_ne!(with_uv, without_uv);
    assert_eq!(
        with_uv,
        get(&mut k, Some("1234"), UserVerificationRequirement::Required)
    );
}

#[test]
fn discoverable_login_and_get_next_assertion() {
    let mut k = key(Config::default());
    let mut ids = vec![];
    for user in ["alice", "bob", "carol"] {
        let mut options = creation(
            &[CoseAlgorithm::EDDSA],
            true,
            UserVerificationRequirement::Discouraged,
        );
        options.user.id = Base64UrlBytes(user.as_bytes().to_vec());
        ids.push(
            webauthn::register(&mut k.device, &options, &mut ClientContext::new(ORIGIN))
                .unwrap()
                .raw_id
                .0,
        );
    }
    let auth = webauthn::authenticate(
        &mut k.device,
        &request(&[], UserVerificationRequirement::Discouraged),
        &mut ClientContext::new(ORIGIN),
    )
    .unwrap();
    // The most recent credential answers first, with its user handle.
    assert_eq!(auth.raw_id.0, ids[2]);
    assert_eq!(auth.response.user_handle.unwrap().0, b"carol");
    let next = k.device.get_next_assertion().unwrap();
    assert_eq!(next.credential_id.unwrap(), ids[1]);
    let last = k.device.get_next_assertion().unwrap();
    assert_eq!(last.credential_id.unwrap(), ids[0]);
    assert_eq!(
        k.device.get_next_assertion().unwrap_err().status(),
        Some(StatusCode::NOT_ALLOWED)
    );
    // Excluded credential: refused after a touch.
    let mut options = creation(
        &[CoseAlgorithm::EDDSA],
        true,
        UserVerificationRequirement::Discouraged,
    );
    options.exclude_credentials = vec![CredentialDescriptor {
        kind: CredentialType::PublicKey,
        id: Base64UrlBytes(ids[0].clone()),
        transports: None,
    }];
    let err =
        webauthn::register(&mut k.device, &options, &mut ClientContext::new(ORIGIN)).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::CREDENTIAL_EXCLUDED));
    // Unsupported algorithm (Ed448: the key does not offer it).
    let err = webauthn::register(
        &mut k.device,
        &creation(
            &[CoseAlgorithm::ED448],
            false,
            UserVerificationRequirement::Discouraged,
        ),
        &mut ClientContext::new(ORIGIN),
    )
    .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNSUPPORTED_ALGORITHM));
    // An RP ID that is not the origin's is refused by the client.
    let mut options = creation(
        &[CoseAlgorithm::EDDSA],
        false,
        UserVerificationRequirement::Discouraged,
    );
    options.rp.id = Some("evil.example".into());
    assert!(matches!(
        webauthn::register(&mut k.device, &options, &mut ClientContext::new(ORIGIN)),
        Err(CtapError::Options(_))
    ));
}

#[test]
fn cancel_while_up_needed_and_timeouts() {
    let mut k = key(Config {
        presence: PresencePolicy::Delay(Duration::from_secs(30)),
        ..Config::default()
    });
    let cancel = CancelToken::new();
    let c2 = cancel.clone();
    let mut seen = vec![];
    let mut on_status = |s: KeepaliveStatus| {
        seen.push(s);
        // The UI shows "touch your key" only now, and the user presses Cancel.
        if s == KeepaliveStatus::UpNeeded {
            c2.cancel();
        }
    };
    let mut ctx = ClientContext {
        on_status: Some(&mut on_status),
        cancel: Some(&cancel),
        ..ClientContext::new(ORIGIN)
    };
    let started = std::time::Instant::now();
    let err = webauthn::register(
        &mut k.device,
        &creation(
            &[CoseAlgorithm::ES256],
            false,
            UserVerificationRequirement::Discouraged,
        ),
        &mut ctx,
    )
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(err, CtapError::Hid(ClientError::Cancelled))
            || err.status() == Some(StatusCode::KEEPALIVE_CANCEL),
        "{err}"
    );
    assert!(seen.contains(&KeepaliveStatus::UpNeeded));

    // A deadline: CANCEL is sent when it passes, and the key stays usable.
    let err = k
        .device
        .make_credential(
            &raw_mc("example.org", &[0; 32], None),
            Transaction::with_timeout(Duration::from_millis(400)),
        )
        .unwrap_err();
    assert!(
        matches!(err, CtapError::Hid(ClientError::Timeout { .. })),
        "{err}"
    );
    k.device.get_info().unwrap();
}

#[test]
fn selection_wink_and_reset_window() {
    let mut k = key(Config {
        reset_window: Duration::from_millis(500),
        ..Config::default()
    });
    k.device.wink().unwrap();
    k.device
        .selection(Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap();
    webauthn::register(
        &mut k.device,
        &creation(
            &[CoseAlgorithm::ES256],
            true,
            UserVerificationRequirement::Discouraged,
        ),
        &mut ClientContext::new(ORIGIN),
    )
    .unwrap();
    k.device.set_pin("1234").unwrap();
    k.device
        .reset(Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(k.device.info().option("clientPin"), Some(false));
    std::thread::sleep(Duration::from_millis(600));
    let err = k
        .device
        .reset(Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_ALLOWED));
    assert!(err.to_string().contains("10 seconds"), "{err}");
    k.power_cycle();
    k.device
        .reset(Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap();
}

#[test]
fn the_recorder_sees_frames_and_messages_but_never_secrets() {
    let mut k = key(Config::default());
    let before = k.device.recorder().events().len();
    let live = k.device.recorder().subscribe();
    k.device.set_pin("8642").unwrap();
    let token = k
        .device
        .pin_token(
            "8642",
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
    k.device.credentials_metadata(&token).unwrap();
    let events = k.device.recorder().events();
    let json: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let all = json.join("\n");
    assert!(all.contains("\"type\":\"frame\""));
    assert!(all.contains("authenticatorClientPIN"));
    assert!(all.contains("authenticatorCredentialManagement"));
    // The PIN in any form: text, hex, and its padded block's hex prefix.
    assert!(!all.contains("8642"), "PIN leaked");
    assert!(
        !all.contains(
            &"8642"
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    );
    assert!(format!("{token:?}").contains("redacted"));
    assert!(all.contains("redacted"));
    // clientPIN frames carry no bytes.
    let pin_frames = events
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                ctap_client::recorder::EventKind::Frame { bytes: None, .. }
            )
        })
        .count();
    assert!(pin_frames > 0);
    // The live feed saw the same events.
    assert_eq!(live.try_iter().count(), events.len() - before);
}

#[test]
fn legacy_pin_token_and_uv_retries() {
    let mut k = key(Config::default());
    k.device.set_pin("1234").unwrap();
    // CTAP 2.0's getPinToken: mc and ga for any RP, nothing else.
    let token = k.device.legacy_pin_token("1234").unwrap();
    let mut options = creation(
        &[CoseAlgorithm::ES256],
        false,
        UserVerificationRequirement::Discouraged,
    );
    options.rp.id = Some("example.org".into());
    let req = raw_mc("example.org", &[3u8; 32], Some(&token));
    k.device
        .make_credential(&req, Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(
        k.device.credentials_metadata(&token).unwrap_err().status(),
        Some(StatusCode::PIN_AUTH_INVALID)
    );
    // The virtual key has no built-in UV: getUVRetries is refused up front.
    assert!(matches!(
        k.device.uv_retries(),
        Err(CtapError::Unsupported(_))
    ));
}

#[test]
fn the_virtual_key_refuses_a_64_byte_pin() {
    use fido_wire::ctap2::{ClientPinRequest, Encrypted, PinSubCommand, PinUvAuthParam, command};
    let mut k = key(Config::default());
    let protocol = k.device.pin_protocol().unwrap();
    let mut set_pin = |padded: &[u8]| {
        let (platform_key, shared) = k.device.key_agreement(protocol).unwrap();
        let enc = shared.encrypt(padded).unwrap();
        let mut req = ClientPinRequest::new(Some(protocol.id()), PinSubCommand::SET_PIN);
        req.pin_uv_auth_param = Some(PinUvAuthParam(shared.authenticate(&enc)));
        req.key_agreement = Some(platform_key);
        req.new_pin_enc = Some(Encrypted(enc));
        k.device
            .call(
                command::CLIENT_PIN,
                Some(&req.to_value()),
                Transaction::with_timeout(Duration::from_secs(5)),
            )
            .map(drop)
    };
    // 64 PIN bytes leave no room for the terminating zero.
    let err = set_pin(&[b'1'; 64]).unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::PIN_POLICY_VIOLATION),
        "{err}"
    );
    let mut longest = [b'1'; 64];
    longest[63] = 0;
    set_pin(&longest).unwrap();
    assert!(k.authenticator.with(|a| a.has_pin()));
}

#[test]
fn a_token_makes_or_gets_once_then_loses_mc_and_ga() {
    let mut k = key(Config::default());
    k.device.set_pin("1234").unwrap();
    let both = Permissions(Permissions::MAKE_CREDENTIAL | Permissions::GET_ASSERTION);
    let tx = || Transaction::with_timeout(Duration::from_secs(5));
    let token = k
        .device
        .pin_token("1234", both, Some("example.org"))
        .unwrap();
    let made = k
        .device
        .make_credential(&raw_mc("example.org", &[1u8; 32], Some(&token)), tx())
        .unwrap();
    // makeCredential cleared mc and ga: neither works with this token again.
    let again = k
        .device
        .make_credential(&raw_mc("example.org", &[2u8; 32], Some(&token)), tx())
        .unwrap_err();
    assert_eq!(
        again.status(),
        Some(StatusCode::PIN_AUTH_INVALID),
        "{again}"
    );
    let id = AuthenticatorData::parse(&made.auth_data)
        .unwrap()
        .attested_credential
        .unwrap()
        .credential_id;
    let ga = |token: &ctap_client::PinToken, cdh: [u8; 32]| fido_wire::ctap2::GetAssertionRequest {
        rp_id: "example.org".into(),
        client_data_hash: cdh.to_vec(),
        allow_list: vec![fido_wire::ctap2::Descriptor::public_key(id.clone())],
        extensions: None,
        options: RequestOptions::default(),
        pin_uv_auth_param: Some(token.authenticate(&cdh)),
        pin_uv_auth_protocol: Some(token.protocol().id()),
    };
    let err = k
        .device
        .get_assertion(&ga(&token, [3u8; 32]), tx())
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PIN_AUTH_INVALID), "{err}");
    // The same holds after getAssertion.
    let token = k
        .device
        .pin_token("1234", both, Some("example.org"))
        .unwrap();
    k.device
        .get_assertion(&ga(&token, [4u8; 32]), tx())
        .unwrap();
    let err = k
        .device
        .get_assertion(&ga(&token, [5u8; 32]), tx())
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PIN_AUTH_INVALID), "{err}");
}

#[test]
fn a_config_change_that_cannot_be_saved_leaves_the_key_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let mut k = key(Config {
        state: virtual_authenticator::StateStore::File(state_dir.join("key.state")),
        ..Config::default()
    });
    // The state file can no longer be written: its directory is gone.
    std::fs::remove_dir_all(&state_dir).unwrap();
    let err = k.device.toggle_always_uv(None).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
    let info = k.device.get_info().unwrap();
    assert_eq!(info.option("alwaysUv"), Some(false));
    let err = k
        .device
        .set_min_pin_length(
            None,
            MinPinLengthParams {
                new_min_pin_length: Some(8),
                rp_ids: Some(vec!["example.org".into()]),
                force_change_pin: None,
            },
        )
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
    let info = k.device.get_info().unwrap();
    assert_eq!(info.min_pin_length, Some(4));
    // Once the file can be written again, the same change is kept.
    std::fs::create_dir(&state_dir).unwrap();
    k.device.toggle_always_uv(None).unwrap();
    assert_eq!(k.device.info().option("alwaysUv"), Some(true));
}

#[test]
fn a_credential_change_that_cannot_be_saved_leaves_the_credential_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let mut k = key(Config {
        state: virtual_authenticator::StateStore::File(state_dir.join("key.state")),
        ..Config::default()
    });
    k.device.set_pin("1234").unwrap();
    let options = creation(
        &[CoseAlgorithm::ES256],
        true,
        UserVerificationRequirement::Required,
    );
    webauthn::register(&mut k.device, &options, &mut with_pin("1234")).unwrap();
    let cm = k
        .device
        .pin_token(
            "1234",
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
    let (rp, hash) = k.device.relying_parties(&cm).unwrap().remove(0);
    let stored = k.device.credentials(&cm, &rp, &hash).unwrap().remove(0);
    std::fs::remove_dir_all(&state_dir).unwrap();
    let renamed = UserEntity {
        name: Some("renamed".into()),
        ..stored.user.clone()
    };
    let err = k.device.update_user(&cm, &stored.id, renamed).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
    let err = k.device.delete_credential(&cm, &stored.id).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
    assert_eq!(k.device.credentials(&cm, &rp, &hash).unwrap(), vec![stored]);
}

#[test]
fn a_pin_change_that_cannot_be_saved_leaves_the_old_pin() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let mut k = key(Config {
        state: virtual_authenticator::StateStore::File(state_dir.join("key.state")),
        ..Config::default()
    });
    k.device.set_pin("1234").unwrap();
    std::fs::remove_dir_all(&state_dir).unwrap();
    let err = k.device.change_pin("1234", "5678").unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
    let cm = Permissions(Permissions::CREDENTIAL_MANAGEMENT);
    // A wrong PIN still costs a retry when it cannot be saved.
    let err = k.device.pin_token("0000", cm, None).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
    assert_eq!(k.device.pin_retries().unwrap().retries, 7);
    // Memory still has the PIN the state file has.
    std::fs::create_dir(&state_dir).unwrap();
    let err = k.device.pin_token("5678", cm, None).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PIN_INVALID), "{err}");
    k.device.pin_token("1234", cm, None).unwrap();
}

/// CTAP 2.1 §6.5.5.2 (getPINRetries) with no PIN set: PIN_NOT_SET, as
/// python-fido2's `test_clientpin.py::test_set_and_reset` expects after a
/// factory reset; getKeyAgreement (§6.5.5.4) still answers, since setPIN
/// needs it.
#[test]
fn pin_retries_without_a_pin_is_pin_not_set() {
    let mut k = key(Config::default());
    let err = k.device.pin_retries().unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PIN_NOT_SET), "{err}");
    let protocol = k.device.pin_protocol().unwrap();
    k.device.key_agreement(protocol).unwrap();
    k.device.set_pin("1234").unwrap();
    assert_eq!(k.device.pin_retries().unwrap().retries, 8);
    // A factory reset (§6.6) clears the PIN: no retries to report again.
    k.device
        .reset(Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(
        k.device.get_info().unwrap().option("clientPin"),
        Some(false)
    );
    let err = k.device.pin_retries().unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PIN_NOT_SET), "{err}");
}

/// CTAP 2.1 §6.5.5.7.1 (getPinToken) and §6.5.5.7.2
/// (getPinUvAuthTokenUsingPinWithPermissions): with forcePINChange set, the
/// right PIN resets pinRetries and the token is refused with PIN_INVALID
/// (python-fido2's `test_config.py::test_force_pin_change`); changePIN
/// (§6.5.5.6) still works and clears forcePINChange.
#[test]
fn a_forced_pin_change_refuses_tokens_with_pin_invalid_at_no_retry_cost() {
    let mut k = key(Config::default());
    k.device.set_pin("123456").unwrap();
    let cfg = k
        .device
        .pin_token(
            "123456",
            Permissions(Permissions::AUTHENTICATOR_CONFIG),
            None,
        )
        .unwrap();
    k.device
        .set_min_pin_length(
            Some(&cfg),
            MinPinLengthParams {
                force_change_pin: Some(true),
                ..MinPinLengthParams::default()
            },
        )
        .unwrap();
    assert_eq!(k.device.info().force_pin_change, Some(true));
    let ga = Permissions(Permissions::GET_ASSERTION);
    // More right-PIN attempts than the three-in-a-row power-cycle rule
    // allows wrong ones: none of them counts as a wrong PIN.
    for _ in 0..4 {
        let err = k
            .device
            .pin_token("123456", ga, Some("example.org"))
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::PIN_INVALID), "{err}");
        let err = k.device.legacy_pin_token("123456").unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::PIN_INVALID), "{err}");
        let r = k.device.pin_retries().unwrap();
        assert_eq!((r.retries, r.power_cycle_required), (8, false));
    }
    // A wrong PIN still costs a retry; the right one restores them.
    let err = k
        .device
        .pin_token("000000", ga, Some("example.org"))
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PIN_INVALID), "{err}");
    assert_eq!(k.device.pin_retries().unwrap().retries, 7);
    let err = k
        .device
        .pin_token("123456", ga, Some("example.org"))
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PIN_INVALID), "{err}");
    assert_eq!(k.device.pin_retries().unwrap().retries, 8);
    // The forced change must really change the PIN.
    let err = k.device.change_pin("123456", "123456").unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::PIN_POLICY_VIOLATION),
        "{err}"
    );
    k.device.change_pin("123456", "654321").unwrap();
    assert_eq!(k.device.info().force_pin_change, Some(false));
    k.device
        .pin_token("654321", ga, Some("example.org"))
        .unwrap();
}

// ---- authenticatorLargeBlobs (CTAP 2.1 §6.10) ----

mod large_blobs {
    use super::*;
    use ctap_client::{LargeBlobArray, LargeBlobError};
    use fido_wire::ctap2::{
        GetAssertionRequest, INITIAL_LARGE_BLOB_ARRAY, LargeBlobsRequest, PinUvAuthParam, command,
    };

    fn tx() -> Transaction<'static> {
        Transaction::with_timeout(Duration::from_secs(10))
    }

    /// A discoverable credential of `alg` with a largeBlobKey (§12.3),
    /// made with `token` when the key has a PIN. Returns (id, largeBlobKey).
    fn credential_with_key(
        k: &mut Key,
        alg: CoseAlgorithm,
        token: Option<&ctap_client::PinToken>,
    ) -> (Vec<u8>, Vec<u8>) {
        let mut req = raw_mc("example.org", &[5u8; 32], token);
        req.pub_key_cred_params = vec![("public-key".into(), alg)];
        req.options.rk = Some(true);
        req.user_id = b"user-blob".to_vec();
        req.extensions = Some(Value::map([(
            Value::text("largeBlobKey"),
            Value::Bool(true),
        )]));
        let made = k
            .device
            .make_credential(&req, Transaction::with_timeout(Duration::from_secs(30)))
            .unwrap();
        let id = AuthenticatorData::parse(&made.auth_data)
            .unwrap()
            .attested_credential
            .unwrap()
            .credential_id;
        (id, made.large_blob_key.unwrap())
    }

    /// A raw authenticatorLargeBlobs call's status.
    fn raw(k: &mut Key, req: &LargeBlobsRequest) -> Option<StatusCode> {
        match k
            .device
            .call(command::LARGE_BLOBS, Some(&req.to_value()), tx())
        {
            Ok(_) => Some(StatusCode::OK),
            Err(e) => e.status(),
        }
    }

    /// A serialized array whose hash is right, of `len` bytes in all.
    fn serialized(len: usize) -> Vec<u8> {
        // A CBOR array holding one byte string, sized so the whole is `len`.
        let array = (0..len)
            .rev()
            .map(|n| fido_wire::cbor::to_vec(&Value::Array(vec![Value::bytes(vec![0x42; n])])))
            .find(|a| a.len() + 16 == len)
            .unwrap();
        let mut out = array.clone();
        out.extend_from_slice(&sha256(&array)[..16]);
        assert_eq!(out.len(), len);
        out
    }

    /// Random bytes, which DEFLATE cannot shrink: the write needs several
    /// fragments of maxMsgSize − 64 bytes.
    fn incompressible(len: usize) -> Vec<u8> {
        use aws_lc_rs::rand::{SecureRandom, SystemRandom};
        let mut v = vec![0u8; len];
        SystemRandom::new().fill(&mut v).unwrap();
        v
    }

    /// §6.10 getInfo members and §6.10.2 reads of a fresh key: the initial
    /// array, 0x80 and its truncated hash.
    #[test]
    fn get_info_and_the_initial_array() {
        let mut k = key(Config::default());
        let info = k.device.info().clone();
        assert_eq!(info.option("largeBlobs"), Some(true));
        let max = info.max_serialized_large_blob_array.unwrap();
        assert!(max >= 1024, "{max}");
        assert_eq!(
            max,
            virtual_authenticator::MAX_SERIALIZED_LARGE_BLOB_ARRAY as u64
        );
        assert_eq!(
            k.device.large_blob_read_serialized().unwrap(),
            INITIAL_LARGE_BLOB_ARRAY.to_vec()
        );
        assert_eq!(
            k.device.large_blob_read().unwrap(),
            LargeBlobArray::default()
        );
    }

    /// §6.10.2 set with a PIN: fragments each authenticated by a token with
    /// lbw; the blob of a credential (§6.10.3) read back after the write.
    #[test]
    fn fragmented_write_with_an_lbw_token_round_trips() {
        let mut k = key(Config::default());
        k.device.set_pin("1234").unwrap();
        let mc = k
            .device
            .pin_token(
                "1234",
                Permissions(Permissions::MAKE_CREDENTIAL),
                Some("example.org"),
            )
            .unwrap();
        let (_, blob_key) = credential_with_key(&mut k, CoseAlgorithm::ES256, Some(&mc));
        // 20 KB of random data: three fragments of at most 7,545 bytes.
        let blob = incompressible(20_000);
        let mut array = k.device.large_blob_read().unwrap();
        array.write(&blob_key, &blob).unwrap();
        let fragment = k.device.info().effective_max_msg_size() as usize - 64;
        assert!(array.to_serialized().len() > 2 * fragment);

        // Without a token: PUAT_REQUIRED (step 4.5.1).
        let err = k
            .device
            .large_blob_write(None, &array.to_cbor())
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::PUAT_REQUIRED), "{err}");
        // A token without lbw: PIN_AUTH_INVALID (step 4.5.5).
        let cm = k
            .device
            .pin_token(
                "1234",
                Permissions(Permissions::CREDENTIAL_MANAGEMENT),
                None,
            )
            .unwrap();
        let err = k
            .device
            .large_blob_write(Some(&cm), &array.to_cbor())
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::PIN_AUTH_INVALID), "{err}");
        assert_eq!(
            k.device.large_blob_read_serialized().unwrap(),
            INITIAL_LARGE_BLOB_ARRAY.to_vec()
        );

        let lbw = k
            .device
            .pin_token("1234", Permissions(Permissions::LARGE_BLOB_WRITE), None)
            .unwrap();
        k.device.large_blob_write_array(Some(&lbw), &array).unwrap();
        let read = k.device.large_blob_read().unwrap();
        assert_eq!(read, array);
        assert_eq!(read.read(&blob_key).unwrap(), Some(blob.clone()));
        // Another key's view: nothing for it, and deleting leaves ours.
        let mut other = read.clone();
        assert_eq!(other.read(&[7u8; 32]).unwrap(), None);
        assert_eq!(other.delete(&[7u8; 32]).unwrap(), 0);
        assert_eq!(other.delete(&blob_key).unwrap(), 1);
        k.device.large_blob_write_array(Some(&lbw), &other).unwrap();
        assert_eq!(
            k.device.large_blob_read().unwrap().read(&blob_key).unwrap(),
            None
        );

        // A tampered pinUvAuthParam is refused (step 4.5.4).
        let mut req = LargeBlobsRequest::set(0, INITIAL_LARGE_BLOB_ARRAY.to_vec(), Some(17));
        req.protocol = Some(lbw.protocol().id());
        req.pin_uv_auth_param = Some(PinUvAuthParam(vec![0; 32]));
        assert_eq!(raw(&mut k, &req), Some(StatusCode::PIN_AUTH_INVALID));
        // Without the protocol: MISSING_PARAMETER (step 4.5.2).
        req.protocol = None;
        assert_eq!(raw(&mut k, &req), Some(StatusCode::MISSING_PARAMETER));
    }

    /// §6.10.2 step 4.9: a complete write whose truncated hash is wrong is
    /// refused with INTEGRITY_FAILURE and the stored array is kept.
    #[test]
    fn a_wrong_hash_is_refused_with_integrity_failure() {
        let mut k = key(Config::default());
        let mut bad = serialized(100);
        *bad.last_mut().unwrap() ^= 1;
        let first = LargeBlobsRequest::set(0, bad[..60].to_vec(), Some(100));
        assert_eq!(raw(&mut k, &first), Some(StatusCode::OK));
        let rest = LargeBlobsRequest::set(60, bad[60..].to_vec(), None);
        assert_eq!(raw(&mut k, &rest), Some(StatusCode::INTEGRITY_FAILURE));
        assert_eq!(
            k.device.large_blob_read_serialized().unwrap(),
            INITIAL_LARGE_BLOB_ARRAY.to_vec()
        );
        // The buffer is gone: the write cannot be continued.
        assert_eq!(
            raw(&mut k, &LargeBlobsRequest::set(100, vec![0], None)),
            Some(StatusCode::INVALID_SEQ)
        );
        // The same array with its right hash is kept.
        let good = serialized(100);
        assert_eq!(
            raw(&mut k, &LargeBlobsRequest::set(0, good.clone(), Some(100))),
            Some(StatusCode::OK)
        );
        assert_eq!(k.device.large_blob_read_serialized().unwrap(), good);
    }

    /// §6.10.2: one status per rule, in the spec's order.
    #[test]
    fn every_refusal_has_its_status() {
        let mut k = key(Config::default());
        let max_fragment = k.device.info().effective_max_msg_size() - 64;
        let max = virtual_authenticator::MAX_SERIALIZED_LARGE_BLOB_ARRAY as u64;
        let get = |offset, n| LargeBlobsRequest::get(offset, n);
        let cases: Vec<(&str, LargeBlobsRequest, StatusCode)> = vec![
            (
                "1: no offset",
                LargeBlobsRequest {
                    get: Some(10),
                    ..LargeBlobsRequest::default()
                },
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "2: neither get nor set",
                LargeBlobsRequest {
                    offset: Some(0),
                    ..LargeBlobsRequest::default()
                },
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "2: both get and set",
                LargeBlobsRequest {
                    get: Some(1),
                    ..LargeBlobsRequest::set(0, vec![0; 17], Some(17))
                },
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "3.1: get with length",
                LargeBlobsRequest {
                    length: Some(17),
                    ..get(0, 17)
                },
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "3.2: get with pinUvAuthParam",
                LargeBlobsRequest {
                    pin_uv_auth_param: Some(PinUvAuthParam(vec![0; 32])),
                    ..get(0, 17)
                },
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "3.2: get with pinUvAuthProtocol",
                LargeBlobsRequest {
                    protocol: Some(2),
                    ..get(0, 17)
                },
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "3.3: get over maxFragmentLength",
                get(0, max_fragment + 1),
                StatusCode::INVALID_LENGTH,
            ),
            (
                "3.4: offset past the array",
                get(18, 1),
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "4.1: set over maxFragmentLength",
                LargeBlobsRequest::set(0, vec![0; max_fragment as usize + 1], Some(max)),
                StatusCode::INVALID_LENGTH,
            ),
            (
                "4.2.1: first fragment without length",
                LargeBlobsRequest::set(0, vec![0; 17], None),
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "4.2.2: length over maxSerializedLargeBlobArray",
                LargeBlobsRequest::set(0, vec![0; 17], Some(max + 1)),
                StatusCode::LARGE_BLOB_STORAGE_FULL,
            ),
            (
                "4.2.3: length under 17",
                LargeBlobsRequest::set(0, vec![0; 16], Some(16)),
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "4.3: later fragment with length",
                LargeBlobsRequest::set(5, vec![0; 5], Some(100)),
                StatusCode::INVALID_PARAMETER,
            ),
            (
                "4.4: fragment with no write begun",
                LargeBlobsRequest::set(5, vec![0; 5], None),
                StatusCode::INVALID_SEQ,
            ),
            (
                "4.6: first fragment longer than length",
                LargeBlobsRequest::set(0, vec![0; 30], Some(20)),
                StatusCode::INVALID_PARAMETER,
            ),
        ];
        for (rule, req, status) in cases {
            assert_eq!(raw(&mut k, &req), Some(status), "step {rule}");
        }
        // Reads within bounds: offset = length reads nothing; get is clamped.
        let body = k
            .device
            .call(command::LARGE_BLOBS, Some(&get(17, 100).to_value()), tx())
            .unwrap()
            .unwrap();
        assert_eq!(body.get_int(1).and_then(Value::as_bytes), Some(&[][..]));
        let body = k
            .device
            .call(command::LARGE_BLOBS, Some(&get(1, 5).to_value()), tx())
            .unwrap()
            .unwrap();
        assert_eq!(
            body.get_int(1).and_then(Value::as_bytes),
            Some(&INITIAL_LARGE_BLOB_ARRAY[1..6])
        );
        // 4.4 and 4.6 within a write: out of order, then past the end.
        let whole = serialized(40);
        assert_eq!(
            raw(
                &mut k,
                &LargeBlobsRequest::set(0, whole[..20].to_vec(), Some(40))
            ),
            Some(StatusCode::OK)
        );
        assert_eq!(
            raw(
                &mut k,
                &LargeBlobsRequest::set(21, whole[21..].to_vec(), None)
            ),
            Some(StatusCode::INVALID_SEQ)
        );
        assert_eq!(
            raw(&mut k, &LargeBlobsRequest::set(20, vec![0; 21], None)),
            Some(StatusCode::INVALID_PARAMETER)
        );
        assert_eq!(
            raw(
                &mut k,
                &LargeBlobsRequest::set(20, whole[20..].to_vec(), None)
            ),
            Some(StatusCode::OK)
        );
        assert_eq!(k.device.large_blob_read_serialized().unwrap(), whole);
        // The client refuses an array larger than the key stores, unsent.
        let too_big = vec![0x80; max as usize];
        assert!(matches!(
            k.device.large_blob_write(None, &too_big),
            Err(CtapError::LargeBlob(LargeBlobError::TooLarge { .. }))
        ));
    }

    /// §6.10.2 step 4.9 "commit": the array lives in the state file — it
    /// survives a restart — and authenticatorReset (§6.6) restores the
    /// initial array.
    #[test]
    fn the_array_survives_a_restart_and_reset_empties_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.state");
        let config = || Config {
            state: virtual_authenticator::StateStore::File(path.clone()),
            ..Config::default()
        };
        let blob = b"written before the restart".to_vec();
        let blob_key = {
            let mut k = key(config());
            let (_, blob_key) = credential_with_key(&mut k, CoseAlgorithm::ES256, None);
            let mut array = k.device.large_blob_read().unwrap();
            array.write(&blob_key, &blob).unwrap();
            k.device.large_blob_write_array(None, &array).unwrap();
            blob_key
        };
        let mut k = key(config());
        let array = k.device.large_blob_read().unwrap();
        assert_eq!(array.read(&blob_key).unwrap(), Some(blob));
        k.device.reset(tx()).unwrap();
        assert_eq!(
            k.device.large_blob_read_serialized().unwrap(),
            INITIAL_LARGE_BLOB_ARRAY.to_vec()
        );
        drop(k);
        let mut k = key(config());
        assert_eq!(
            k.device.large_blob_read_serialized().unwrap(),
            INITIAL_LARGE_BLOB_ARRAY.to_vec()
        );
    }

    /// A write the state file cannot take is not kept in memory either.
    #[test]
    fn a_write_that_cannot_be_saved_leaves_the_old_array() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        std::fs::create_dir(&state_dir).unwrap();
        let mut k = key(Config {
            state: virtual_authenticator::StateStore::File(state_dir.join("key.state")),
            ..Config::default()
        });
        std::fs::remove_dir_all(&state_dir).unwrap();
        let whole = serialized(40);
        let err = k.device.large_blob_write(None, &whole[..24]).unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
        assert_eq!(
            k.device.large_blob_read_serialized().unwrap(),
            INITIAL_LARGE_BLOB_ARRAY.to_vec()
        );
    }

    /// §12.3 with §6.10.3: an ML-DSA-65 credential's largeBlobKey, as
    /// getAssertion returns it, encrypts and decrypts that credential's blob.
    #[test]
    fn an_ml_dsa_credential_keeps_its_blob() {
        let mut k = key(Config::default());
        k.device.set_pin("1234").unwrap();
        let mc = k
            .device
            .pin_token(
                "1234",
                Permissions(Permissions::MAKE_CREDENTIAL),
                Some("example.org"),
            )
            .unwrap();
        let (id, made_key) = credential_with_key(&mut k, CoseAlgorithm::ML_DSA_65, Some(&mc));
        // A second credential's blob shares the array.
        let mc = k
            .device
            .pin_token(
                "1234",
                Permissions(Permissions::MAKE_CREDENTIAL),
                Some("example.org"),
            )
            .unwrap();
        let mut second = raw_mc("example.org", &[6u8; 32], Some(&mc));
        second.options.rk = Some(true);
        second.user_id = b"user-two".to_vec();
        second.extensions = Some(Value::map([(
            Value::text("largeBlobKey"),
            Value::Bool(true),
        )]));
        let other_key = k
            .device
            .make_credential(&second, tx())
            .unwrap()
            .large_blob_key
            .unwrap();

        let cdh = [8u8; 32];
        let ga = k
            .device
            .pin_token(
                "1234",
                Permissions(Permissions::GET_ASSERTION),
                Some("example.org"),
            )
            .unwrap();
        let assertion = k
            .device
            .get_assertion(
                &GetAssertionRequest {
                    rp_id: "example.org".into(),
                    client_data_hash: cdh.to_vec(),
                    allow_list: vec![fido_wire::ctap2::Descriptor::public_key(id)],
                    extensions: Some(Value::map([(
                        Value::text("largeBlobKey"),
                        Value::Bool(true),
                    )])),
                    options: RequestOptions::default(),
                    pin_uv_auth_param: Some(ga.authenticate(&cdh)),
                    pin_uv_auth_protocol: Some(ga.protocol().id()),
                },
                tx(),
            )
            .unwrap();
        let blob_key = assertion.large_blob_key.unwrap();
        assert_eq!(blob_key, made_key);

        // An ML-DSA-65 public key (1,952 bytes) as the blob: it compresses little.
        let cert_like = incompressible(1952);
        let mut array = k.device.large_blob_read().unwrap();
        array.write(&blob_key, &cert_like).unwrap();
        array
            .write(&other_key, b"the other credential's note")
            .unwrap();
        let lbw = k
            .device
            .pin_token("1234", Permissions(Permissions::LARGE_BLOB_WRITE), None)
            .unwrap();
        k.device.large_blob_write_array(Some(&lbw), &array).unwrap();
        let read = k.device.large_blob_read().unwrap();
        assert_eq!(read.elements.len(), 2);
        assert_eq!(read.read(&blob_key).unwrap(), Some(cert_like));
        assert_eq!(
            read.read(&other_key).unwrap().as_deref(),
            Some(&b"the other credential's note"[..])
        );
    }
}

// ---- hmac-secret-mc (CTAP 2.2 §12.7) and prf at creation ----

mod hmac_secret_mc {
    use super::*;

    const EVAL: &str = r#"{"prf": {"eval": {"first": "Zmlyc3Q", "second": "c2Vjb25k"}}}"#;

    fn prf_results(outputs: &serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
        outputs["prf"]["results"].clone()
    }

    /// CTAP 2.2 §12.7: hmac-secret-mc evaluates the new credential's
    /// CredRandom at creation, the same secret getAssertion's hmac-secret
    /// (§12.5) uses later — with UV (a PIN) and without, for a classical
    /// and an ML-DSA credential. WebAuthn L3 §10.1.4: prf.eval at creation.
    #[test]
    fn prf_results_at_creation_match_those_of_the_assertion() {
        assert!(
            key(Config::default())
                .device
                .info()
                .extensions
                .iter()
                .any(|e| e == "hmac-secret-mc")
        );
        for (alg, pin) in [
            (CoseAlgorithm::ES256, None),
            (CoseAlgorithm::ML_DSA_65, None),
            (CoseAlgorithm::ES256, Some("1234")),
            (CoseAlgorithm::ML_DSA_65, Some("1234")),
        ] {
            let mut k = key(Config::default());
            let uv = if let Some(pin) = pin {
                k.device.set_pin(pin).unwrap();
                UserVerificationRequirement::Required
            } else {
                UserVerificationRequirement::Discouraged
            };
            let ctx = || match pin {
                Some(p) => with_pin(p),
                None => ClientContext::new(ORIGIN),
            };
            let mut options = creation(&[alg], true, uv.clone());
            options.extensions = Some(serde_json::from_str(EVAL).unwrap());
            let reg = webauthn::register(&mut k.device, &options, &mut ctx()).unwrap();
            let at_creation = prf_results(&reg.client_extension_results);
            assert_eq!(reg.client_extension_results["prf"]["enabled"], true);
            assert!(at_creation["first"].is_string(), "{alg} {at_creation}");
            assert!(at_creation["second"].is_string());
            assert_ne!(at_creation["first"], at_creation["second"]);
            let mut req = request(std::slice::from_ref(&reg.raw_id.0), uv);
            req.extensions = Some(serde_json::from_str(EVAL).unwrap());
            let auth = webauthn::authenticate(&mut k.device, &req, &mut ctx()).unwrap();
            assert_eq!(
                prf_results(&auth.client_extension_results),
                at_creation,
                "{alg} with PIN {pin:?}"
            );
        }
    }

    fn mc_input(k: &mut Key, salts: &[u8], tamper: bool) -> Value {
        let protocol = k.device.pin_protocol().unwrap();
        let (platform_key, shared) = k.device.key_agreement(protocol).unwrap();
        let salt_enc = shared.encrypt(salts).unwrap();
        let mut salt_auth = shared.authenticate(&salt_enc);
        if tamper {
            salt_auth[0] ^= 1;
        }
        Value::map([
            (Value::int(1), platform_key.to_value()),
            (Value::int(2), Value::bytes(salt_enc)),
            (Value::int(3), Value::bytes(salt_auth)),
            (Value::int(4), Value::int(protocol.id())),
        ])
    }

    /// §12.7 with §12.5's checks: saltAuth must verify (PIN_AUTH_INVALID),
    /// salts are 32 or 64 bytes (INVALID_LENGTH), and without hmac-secret:
    /// true there is no CredRandom, so no hmac-secret-mc output.
    #[test]
    fn its_input_is_checked_and_needs_hmac_secret() {
        let mut k = key(Config::default());
        let tx = || Transaction::with_timeout(Duration::from_secs(10));
        let with = |ext: Vec<(&str, Value)>| {
            let mut req = raw_mc("example.org", &[4u8; 32], None);
            req.extensions = Some(Value::map(
                ext.into_iter().map(|(k, v)| (Value::text(k), v)),
            ));
            req
        };
        let input = mc_input(&mut k, &[1u8; 32], true);
        let err = k
            .device
            .make_credential(
                &with(vec![
                    ("hmac-secret", Value::Bool(true)),
                    ("hmac-secret-mc", input),
                ]),
                tx(),
            )
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::PIN_AUTH_INVALID), "{err}");
        let input = mc_input(&mut k, &[1u8; 48], false);
        let err = k
            .device
            .make_credential(
                &with(vec![
                    ("hmac-secret", Value::Bool(true)),
                    ("hmac-secret-mc", input),
                ]),
                tx(),
            )
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::INVALID_LENGTH), "{err}");
        let input = mc_input(&mut k, &[1u8; 32], false);
        let made = k
            .device
            .make_credential(&with(vec![("hmac-secret-mc", input)]), tx())
            .unwrap();
        let ad = AuthenticatorData::parse(&made.auth_data).unwrap();
        assert!(ad.extensions.is_none(), "{:?}", ad.extensions);
        let input = mc_input(&mut k, &[1u8; 32], false);
        let made = k
            .device
            .make_credential(
                &with(vec![
                    ("hmac-secret", Value::Bool(true)),
                    ("hmac-secret-mc", input),
                ]),
                tx(),
            )
            .unwrap();
        let ext = AuthenticatorData::parse(&made.auth_data)
            .unwrap()
            .extensions
            .unwrap();
        assert_eq!(ext.get_text("hmac-secret"), Some(&Value::Bool(true)));
        // One 32-byte output, encrypted (protocol 2: a 16-byte IV first).
        assert_eq!(
            ext.get_text("hmac-secret-mc")
                .and_then(Value::as_bytes)
                .map(<[u8]>::len),
            Some(48)
        );
    }
}

/// A reset that cannot be saved leaves the key as it was: its PIN still
/// guards it, in memory as on disk (before, memory had no PIN while the
/// file still had one, and anyone could set a new one).
#[test]
fn a_reset_that_cannot_be_saved_leaves_the_key_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let mut k = key(Config {
        state: virtual_authenticator::StateStore::File(state_dir.join("key.state")),
        ..Config::default()
    });
    k.device.set_pin("1234").unwrap();
    std::fs::remove_dir_all(&state_dir).unwrap();
    let err = k
        .device
        .reset(Transaction::with_timeout(Duration::from_secs(5)))
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::OTHER), "{err}");
    assert_eq!(k.device.get_info().unwrap().option("clientPin"), Some(true));
    assert!(k.device.set_pin("9999").is_err(), "a PIN could be set anew");
    k.device
        .pin_token(
            "1234",
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
}

/// The attestation statement's first certificate, if any.
fn x5c_leaf(reg: &fido_wire::webauthn::json::RegistrationResponseJson) -> Option<Vec<u8>> {
    let att = AttestationObject::from_cbor(&reg.response.attestation_object.0).unwrap();
    att.att_stmt
        .get_text("x5c")
        .and_then(Value::as_array)
        .and_then(|certs| certs.first())
        .and_then(Value::as_bytes)
        .map(<[u8]>::to_vec)
}

/// Enterprise attestation through the client: enableEnterpriseAttestation
/// with an acfg token (CTAP 2.1 §6.11.1), then `attestation: "enterprise"`
/// sent as makeCredential's enterpriseAttestation (WebAuthn L3 §5.1.3 step
/// 20): 1 when the platform keeps no list (the key grants it to its own RP
/// IDs, §6.1.2 step 9.3), 2 for an RP on the platform's list (step 9.4),
/// nothing for an RP off it or before `ep` is true — for ES256 and
/// ML-DSA-65 credentials.
#[test]
fn enterprise_attestation_through_the_webauthn_client() {
    use ctap_client::webauthn::PlatformPolicy;
    use fido_wire::webauthn::json::AttestationConveyance;
    let mut k = key(Config {
        enterprise_rp_ids: Some(vec!["example.org".into()]),
        ..Config::default()
    });
    k.device.set_pin("123456").unwrap();
    let enterprise = |alg| {
        let mut options = creation(&[alg], false, UserVerificationRequirement::Discouraged);
        options.attestation = Some(AttestationConveyance::Enterprise);
        options
    };
    // Before enabling: `ep` is false, so the client asks for nothing and
    // the key gives its ordinary (self) attestation.
    assert_eq!(k.device.info().option("ep"), Some(false));
    let reg = webauthn::register(
        &mut k.device,
        &enterprise(CoseAlgorithm::ES256),
        &mut with_pin("123456"),
    )
    .unwrap();
    assert_eq!(x5c_leaf(&reg), None);
    // Refused without a token once a PIN is set (§6.11 step 3).
    assert_eq!(
        k.device
            .enable_enterprise_attestation(None)
            .unwrap_err()
            .status(),
        Some(StatusCode::PUAT_REQUIRED)
    );
    let cfg = k
        .device
        .pin_token(
            "123456",
            Permissions(Permissions::AUTHENTICATOR_CONFIG),
            None,
        )
        .unwrap();
    k.device.enable_enterprise_attestation(Some(&cfg)).unwrap();
    assert_eq!(k.device.info().option("ep"), Some(true));
    let root = k
        .authenticator
        .with(|a| a.enterprise_attestation_root().map(<[u8]>::to_vec))
        .unwrap();
    let platform_list = PlatformPolicy {
        enterprise_rp_ids: Some(vec!["example.org".into()]),
    };
    let other_list = PlatformPolicy {
        enterprise_rp_ids: Some(vec!["corp.example".into()]),
    };
    let mut leaves = Vec::new();
    for alg in [CoseAlgorithm::ES256, CoseAlgorithm::ML_DSA_65] {
        for (platform, expect) in [
            (PlatformPolicy::default(), true),
            (platform_list.clone(), true),
            (other_list.clone(), false),
        ] {
            let reg = webauthn::register_as(
                &mut k.device,
                &enterprise(alg),
                &mut with_pin("123456"),
                &platform,
            )
            .unwrap();
            assert_eq!(reg.response.public_key_algorithm, Some(alg));
            let leaf = x5c_leaf(&reg);
            assert_eq!(leaf.is_some(), expect, "{alg:?} {platform:?}");
            leaves.extend(leaf);
        }
    }
    assert_eq!(leaves.len(), 4);
    assert!(leaves.windows(2).all(|w| w[0] == w[1]));
    assert!(!root.is_empty());
    // The same options without "enterprise" never get it.
    let mut direct = enterprise(CoseAlgorithm::ES256);
    direct.attestation = Some(AttestationConveyance::Direct);
    let reg = webauthn::register_as(
        &mut k.device,
        &direct,
        &mut with_pin("123456"),
        &platform_list,
    )
    .unwrap();
    assert_eq!(x5c_leaf(&reg), None);
}

/// CTAP 2.2 persistent read-only credential management: getInfo's
/// perCredMgmtRO; a token with pcmr alone (pcmr with any other permission:
/// UNAUTHORIZED_PERMISSION) lists credentials — metadata, RPs, credentials
/// — but cannot delete one (PIN_AUTH_INVALID), survives a power cycle and
/// an ordinary token, opens encIdentifier (stable) and encCredStoreState
/// (changes with the discoverable credentials), and ends with a PIN
/// change; a reset gives the key a new identifier.
#[test]
fn persistent_read_only_credential_management() {
    use pin_uv_auth::persistent::{ENC_CRED_STORE_STATE, ENC_IDENTIFIER};
    let mut k = key(Config::default());
    assert_eq!(k.device.info().option("perCredMgmtRO"), Some(true));
    assert_eq!(
        k.device.info().enc_identifier,
        None,
        "no persistent token yet"
    );
    k.device.set_pin("123456").unwrap();
    let mut ids = Vec::new();
    for user in ["alice", "bob"] {
        let mut options = creation(
            &[CoseAlgorithm::ES256],
            true,
            UserVerificationRequirement::Required,
        );
        options.user.id = Base64UrlBytes(user.as_bytes().to_vec());
        options.user.name = user.into();
        let reg = webauthn::register(&mut k.device, &options, &mut with_pin("123456")).unwrap();
        ids.push(reg.raw_id.0);
    }
    assert_eq!(
        k.device
            .pin_token(
                "123456",
                Permissions(
                    Permissions::PERSISTENT_CREDENTIAL_MANAGEMENT_READ_ONLY
                        | Permissions::CREDENTIAL_MANAGEMENT
                ),
                None,
            )
            .unwrap_err()
            .status(),
        Some(StatusCode::UNAUTHORIZED_PERMISSION)
    );
    let ppuat = k.device.persistent_token("123456").unwrap();
    let open = |k: &mut Key, label: &[u8]| {
        let info = k.device.get_info().unwrap();
        let sealed = if label == ENC_IDENTIFIER {
            info.enc_identifier.clone()
        } else {
            info.enc_cred_store_state.clone()
        };
        (
            sealed.clone(),
            ppuat
                .open_info_member(label, sealed.as_deref())
                .unwrap()
                .map(|v| v.to_vec()),
        )
    };
    let (sealed_a, identifier) = open(&mut k, ENC_IDENTIFIER);
    let (sealed_b, identifier_again) = open(&mut k, ENC_IDENTIFIER);
    assert_eq!(identifier.as_ref().map(Vec::len), Some(16));
    assert_eq!(identifier, identifier_again, "the identifier is stable");
    assert_ne!(sealed_a, sealed_b, "sealed with a fresh IV each time");
    let (_, store_before) = open(&mut k, ENC_CRED_STORE_STATE);
    assert!(store_before.is_some());

    let list = |k: &mut Key| -> Vec<Vec<u8>> {
        let meta = k.device.credentials_metadata(&ppuat).unwrap();
        assert_eq!(meta.existing, 2);
        let mut found = Vec::new();
        for (rp, hash) in k.device.relying_parties(&ppuat).unwrap() {
            for c in k.device.credentials(&ppuat, &rp, &hash).unwrap() {
                found.push(c.id);
            }
        }
        found.sort();
        found
    };
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(list(&mut k), expected);
    // Read-only: it deletes nothing.
    assert_eq!(
        k.device
            .delete_credential(&ppuat, &ids[0])
            .unwrap_err()
            .status(),
        Some(StatusCode::PIN_AUTH_INVALID)
    );
    // Persistent: an ordinary token and a power cycle leave it working.
    let cm = k
        .device
        .pin_token(
            "123456",
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
    k.power_cycle();
    assert_eq!(list(&mut k), expected);
    // The ordinary token went with the power cycle; a new one deletes, and
    // the credential store's state changes with it.
    assert!(k.device.delete_credential(&cm, &ids[0]).is_err());
    let cm = k
        .device
        .pin_token(
            "123456",
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
    k.device.delete_credential(&cm, &ids[0]).unwrap();
    let (_, store_after) = open(&mut k, ENC_CRED_STORE_STATE);
    assert_ne!(store_before, store_after);
    // A PIN change ends it.
    k.device.change_pin("123456", "654321").unwrap();
    assert_eq!(k.device.info().enc_identifier, None);
    assert_eq!(
        k.device.credentials_metadata(&ppuat).unwrap_err().status(),
        Some(StatusCode::PIN_AUTH_INVALID)
    );
    // A reset makes a new identifier.
    k.power_cycle();
    k.device
        .reset(Transaction::with_timeout(Duration::from_secs(10)))
        .unwrap();
    k.device.set_pin("123456").unwrap();
    let fresh = k.device.persistent_token("123456").unwrap();
    let info = k.device.get_info().unwrap();
    let new_identifier = fresh
        .open_info_member(ENC_IDENTIFIER, info.enc_identifier.as_deref())
        .unwrap()
        .map(|v| v.to_vec());
    assert!(new_identifier.is_some());
    assert_ne!(new_identifier, identifier);
}

/// Secure Payment Confirmation's `payment` extension through the WebAuthn
/// client: `isPayment: true` goes to the key as thirdPartyPayment (CTAP
/// 2.2 §12.9), marking the credential at registration and asking for the
/// mark at authentication; without it nothing is sent. ES256 and ML-DSA-65.
#[test]
fn payment_extension_maps_to_third_party_payment() {
    let mut k = key(Config::default());
    let payment: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"payment": {"isPayment": true}}"#).unwrap();
    let mark = |ad: &[u8]| {
        AuthenticatorData::parse(ad)
            .unwrap()
            .extensions
            .and_then(|e| e.get_text("thirdPartyPayment").and_then(Value::as_bool))
    };
    for alg in [CoseAlgorithm::ES256, CoseAlgorithm::ML_DSA_65] {
        let mut options = creation(&[alg], false, UserVerificationRequirement::Discouraged);
        options.extensions = Some(payment.clone());
        let reg =
            webauthn::register(&mut k.device, &options, &mut ClientContext::new(ORIGIN)).unwrap();
        let att = AttestationObject::from_cbor(&reg.response.attestation_object.0).unwrap();
        assert_eq!(
            att.auth_data
                .extensions
                .as_ref()
                .and_then(|e| e.get_text("thirdPartyPayment"))
                .and_then(Value::as_bool),
            Some(true),
            "{alg:?}"
        );
        assert!(!reg.client_extension_results.contains_key("payment"));
        let plain = webauthn::register(
            &mut k.device,
            &creation(&[alg], false, UserVerificationRequirement::Discouraged),
            &mut ClientContext::new(ORIGIN),
        )
        .unwrap();
        for (id, expected) in [(&reg.raw_id.0, Some(true)), (&plain.raw_id.0, Some(false))] {
            let mut req = request(
                std::slice::from_ref(id),
                UserVerificationRequirement::Discouraged,
            );
            req.extensions = Some(payment.clone());
            let auth = webauthn::authenticate(&mut k.device, &req, &mut ClientContext::new(ORIGIN))
                .unwrap();
            assert_eq!(
                mark(&auth.response.authenticator_data.0),
                expected,
                "{alg:?}"
            );
            let unasked = webauthn::authenticate(
                &mut k.device,
                &request(
                    std::slice::from_ref(id),
                    UserVerificationRequirement::Discouraged,
                ),
                &mut ClientContext::new(ORIGIN),
            )
            .unwrap();
            assert_eq!(mark(&unasked.response.authenticator_data.0), None);
        }
    }
}

/// CTAP 2.2 §6.8.4: enumerateCredentials names each credential's
/// thirdPartyPayment mark (found by python-fido2's device suite, whose
/// test_payment reads it), for a payment credential and an ordinary one.
#[test]
fn credential_management_reports_the_payment_mark() {
    let mut k = key(Config::default());
    k.device.set_pin("1234").unwrap();
    let payment: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"payment": {"isPayment": true}}"#).unwrap();
    let mut paying = creation(
        &[CoseAlgorithm::ML_DSA_65],
        true,
        UserVerificationRequirement::Required,
    );
    paying.extensions = Some(payment);
    let paid = webauthn::register(&mut k.device, &paying, &mut with_pin("1234")).unwrap();
    let mut plain = creation(
        &[CoseAlgorithm::ES256],
        true,
        UserVerificationRequirement::Required,
    );
    plain.user.id = fido_wire::webauthn::Base64UrlBytes(b"another user".to_vec());
    let ordinary = webauthn::register(&mut k.device, &plain, &mut with_pin("1234")).unwrap();
    let cm = k
        .device
        .pin_token(
            "1234",
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
    let (rp, hash) = k.device.relying_parties(&cm).unwrap().remove(0);
    let listed = k.device.credentials(&cm, &rp, &hash).unwrap();
    let mark = |id: &[u8]| {
        listed
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.third_party_payment)
    };
    assert_eq!(mark(&paid.raw_id.0), Some(true));
    assert_eq!(mark(&ordinary.raw_id.0), Some(false));
}
