//! The virtual authenticator driven over CTAPHID (the real framing, an
//! in-process pipe) the way a client drives a key: every algorithm and
//! attestation mode, the positive paths and the refusals CTAP 2.1 names.
//! Signatures are verified with the crypto libraries directly.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ED25519, UnparsedPublicKey};
use ctaphid::transport::PipeEnd;
use ctaphid::{
    CancelToken, ClientConfig, ClientError, DeviceIdentity, HidChannel, KeepaliveStatus,
    Transaction, pipe,
};
use fido_wire::cbor::Value;
use fido_wire::cose::{CoseAlgorithm, CoseKey, KeyParams};
use fido_wire::ctap2::{
    Descriptor, GetAssertionRequest, GetAssertionResponse, GetInfo, MakeCredentialRequest,
    MakeCredentialResponse, RequestOptions, StatusCode, command, encode_request, parse_response,
};
use pqcrypto_mldsa::{mldsa44, mldsa65, mldsa87};
use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use virtual_authenticator::{AttestationMode, Authenticator, Config, PresencePolicy};

struct Key {
    channel: HidChannel<PipeEnd>,
    _stop: Arc<AtomicBool>,
}

fn key(config: Config) -> Key {
    let (host, device) = pipe();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    std::thread::spawn(move || {
        ctaphid::serve::serve(device, identity, Authenticator::new(config).unwrap(), s)
    });
    Key {
        channel: HidChannel::open(host, ClientConfig::default()).unwrap(),
        _stop: stop,
    }
}

impl Key {
    fn raw(&mut self, request: &[u8]) -> Vec<u8> {
        self.channel
            .cbor(request, Transaction::with_timeout(Duration::from_secs(10)))
            .unwrap()
    }
    fn call(&mut self, cmd: u8, params: Option<&Value>) -> (StatusCode, Option<Value>, usize) {
        let answer = self.raw(&encode_request(cmd, params));
        let (status, body) = parse_response(&answer).unwrap();
        (status, body, answer.len())
    }
    fn make_credential(
        &mut self,
        req: &MakeCredentialRequest,
    ) -> Result<(MakeCredentialResponse, usize), StatusCode> {
        match self.call(command::MAKE_CREDENTIAL, Some(&req.to_value())) {
            (StatusCode::OK, Some(body), len) => {
                Ok((MakeCredentialResponse::from_value(&body).unwrap(), len))
            }
            (status, ..) => Err(status),
        }
    }
    fn get_assertion(
        &mut self,
        req: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, StatusCode> {
        match self.call(command::GET_ASSERTION, Some(&req.to_value())) {
            (StatusCode::OK, Some(body), _) => Ok(GetAssertionResponse::from_value(&body).unwrap()),
            (status, ..) => Err(status),
        }
    }
}

fn mc(algs: &[CoseAlgorithm], rk: bool) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: vec![0x11; 32],
        rp_id: "example.org".into(),
        rp_name: Some("Example".into()),
        user_id: vec![0xa1; 16],
        user_name: Some("alice".into()),
        user_display_name: Some("Alice".into()),
        pub_key_cred_params: algs
            .iter()
            .map(|a| ("public-key".to_string(), *a))
            .collect(),
        exclude_list: vec![],
        extensions: None,
        options: RequestOptions {
            rk: Some(rk),
            ..Default::default()
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
        attestation_formats_preference: vec![],
    }
}

fn ga(allow: Vec<Vec<u8>>) -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: "example.org".into(),
        client_data_hash: vec![0x22; 32],
        allow_list: allow
            .into_iter()
            .map(|id| Descriptor {
                kind: "public-key".into(),
                id,
            })
            .collect(),
        extensions: None,
        options: RequestOptions::default(),
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
    }
}

macro_rules! ml_dsa_verify {
    ($set:ident, $public:expr, $message:expr, $signature:expr) => {
        $set::verify_detached_signature(
            &$set::DetachedSignature::from_bytes($signature).unwrap(),
            $message,
            &$set::PublicKey::from_bytes($public).unwrap(),
        )
        .is_ok()
    };
}

fn verify(key: &CoseKey, message: &[u8], signature: &[u8]) -> bool {
    use aws_lc_rs::signature::{
        ECDSA_P256K1_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ECDSA_P521_SHA512_ASN1,
        RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
    };
    match (&key.params, key.alg) {
        (KeyParams::Ec2 { x, y, .. }, Some(alg)) => {
            let point = [&[4u8][..], x, y].concat();
            let algorithm = match alg {
                CoseAlgorithm::ES256 => &ECDSA_P256_SHA256_ASN1,
                CoseAlgorithm::ES384 => &ECDSA_P384_SHA384_ASN1,
                CoseAlgorithm::ES512 => &ECDSA_P521_SHA512_ASN1,
                CoseAlgorithm::ES256K => &ECDSA_P256K1_SHA256_ASN1,
                other => panic!("unexpected EC2 algorithm {other}"),
            };
            UnparsedPublicKey::new(algorithm, point)
                .verify(message, signature)
                .is_ok()
        }
        (KeyParams::Rsa { n, e }, Some(alg)) => {
            let padding = match alg {
                CoseAlgorithm::RS256 => &RSA_PKCS1_2048_8192_SHA256,
                CoseAlgorithm::PS256 => &RSA_PSS_2048_8192_SHA256,
                other => panic!("unexpected RSA algorithm {other}"),
            };
            RsaPublicKeyComponents { n, e }
                .verify(padding, message, signature)
                .is_ok()
        }
        (KeyParams::Okp { x, .. }, Some(CoseAlgorithm::EDDSA)) => {
            UnparsedPublicKey::new(&ED25519, x)
                .verify(message, signature)
                .is_ok()
        }
        (KeyParams::Akp { public, .. }, Some(CoseAlgorithm::ML_DSA_44)) => {
            ml_dsa_verify!(mldsa44, public, message, signature)
        }
        (KeyParams::Akp { public, .. }, Some(CoseAlgorithm::ML_DSA_65)) => {
            ml_dsa_verify!(mldsa65, public, message, signature)
        }
        (KeyParams::Akp { public, .. }, Some(CoseAlgorithm::ML_DSA_87)) => {
            ml_dsa_verify!(mldsa87, public, message, signature)
        }
        other => panic!("unexpected key {other:?}"),
    }
}

#[test]
fn get_info_reports_the_ctap_2_1_shape() {
    let mut k = key(Config::default());
    let (status, body, _) = k.call(command::GET_INFO, None);
    assert_eq!(status, StatusCode::OK);
    let info = GetInfo::from_value(&body.unwrap()).unwrap();
    assert_eq!(info.versions, ["FIDO_2_0", "FIDO_2_1"]);
    assert_eq!(info.max_msg_size, Some(7609));
    assert_eq!(info.option("rk"), Some(true));
    let algs: Vec<i64> = info.algorithms.iter().map(|a| a.alg.0).collect();
    assert_eq!(algs, [-50, -49, -48, -8, -7, -35, -36, -257, -37, -47]);
}

#[test]
fn every_algorithm_and_attestation_mode_registers_and_authenticates() {
    for attestation in [AttestationMode::PackedSelf, AttestationMode::None] {
        let mut k = key(Config {
            attestation,
            ..Config::default()
        });
        for alg in virtual_authenticator::keys::SUPPORTED {
            let req = mc(&[alg], false);
            let (resp, len) = k.make_credential(&req).unwrap();
            let att = resp.to_attestation_object().unwrap();
            let acd = att.auth_data.attested_credential.clone().unwrap();
            assert_eq!(acd.public_key.alg, Some(alg));
            assert!(att.auth_data.flags.user_present());
            match attestation {
                AttestationMode::PackedSelf => {
                    assert_eq!(att.fmt, "packed");
                    assert_eq!(
                        att.att_stmt.get_text("alg").and_then(Value::as_i64),
                        Some(alg.0)
                    );
                    let sig = att
                        .att_stmt
                        .get_text("sig")
                        .and_then(Value::as_bytes)
                        .unwrap();
                    let signed = [resp.auth_data.as_slice(), &req.client_data_hash].concat();
                    assert!(
                        verify(&acd.public_key, &signed, sig),
                        "{alg:?} self attestation verifies"
                    );
                    if alg == CoseAlgorithm::ML_DSA_87 {
                        assert!(
                            len > 7300,
                            "ML-DSA-87 self-attested registration is {len} bytes"
                        );
                        assert!(len <= 7609);
                    }
                }
                _ => assert_eq!(att.fmt, "none"),
            }

            for expected_count in 1..=2 {
                let a = k
                    .get_assertion(&ga(vec![acd.credential_id.clone()]))
                    .unwrap();
                let ad = a.parsed_auth_data().unwrap();
                assert_eq!(ad.sign_count, expected_count);
                assert_eq!(ad.rp_id_hash, att.auth_data.rp_id_hash);
                let signed = [a.auth_data.as_slice(), &[0x22; 32]].concat();
                assert!(
                    verify(&acd.public_key, &signed, &a.signature),
                    "{alg:?} assertion verifies"
                );
                assert_eq!(
                    a.credential_id.as_deref(),
                    Some(acd.credential_id.as_slice())
                );
            }
        }
    }
}

#[test]
fn algorithm_is_chosen_in_the_rp_order_and_unsupported_is_refused() {
    let mut k = key(Config::default());
    let (resp, _) = k
        .make_credential(&mc(
            &[
                CoseAlgorithm::ED448,
                CoseAlgorithm::ML_DSA_65,
                CoseAlgorithm::ES256,
            ],
            false,
        ))
        .unwrap();
    let att = resp.to_attestation_object().unwrap();
    assert_eq!(
        att.auth_data.attested_credential.unwrap().public_key.alg,
        Some(CoseAlgorithm::ML_DSA_65)
    );
    assert_eq!(
        k.make_credential(&mc(&[CoseAlgorithm::ED448], false))
            .unwrap_err(),
        StatusCode::UNSUPPORTED_ALGORITHM
    );
    let limited = Config {
        algorithms: vec![CoseAlgorithm::ES256],
        ..Config::default()
    };
    let mut k = key(limited);
    assert_eq!(
        k.make_credential(&mc(&[CoseAlgorithm::ML_DSA_87], false))
            .unwrap_err(),
        StatusCode::UNSUPPORTED_ALGORITHM
    );
}

#[test]
fn excluded_credential_and_missing_credentials() {
    let mut k = key(Config::default());
    let (resp, _) = k
        .make_credential(&mc(&[CoseAlgorithm::ES256], false))
        .unwrap();
    let id = resp
        .to_attestation_object()
        .unwrap()
        .auth_data
        .attested_credential
        .unwrap()
        .credential_id;
    let mut again = mc(&[CoseAlgorithm::ES256], false);
    again.exclude_list = vec![Descriptor {
        kind: "public-key".into(),
        id: id.clone(),
    }];
    assert_eq!(
        k.make_credential(&again).unwrap_err(),
        StatusCode::CREDENTIAL_EXCLUDED
    );
    assert_eq!(
        k.get_assertion(&ga(vec![vec![9; 32]])).unwrap_err(),
        StatusCode::NO_CREDENTIALS
    );
    let mut other_rp = ga(vec![id]);
    other_rp.rp_id = "evil.example".into();
    assert_eq!(
        k.get_assertion(&other_rp).unwrap_err(),
        StatusCode::NO_CREDENTIALS
    );
}

#[test]
fn discoverable_credentials_and_get_next_assertion() {
    let mut k = key(Config::default());
    let mut ids = Vec::new();
    for user in [1u8, 2] {
        let mut req = mc(&[CoseAlgorithm::EDDSA], true);
        req.user_id = vec![user; 8];
        let (resp, _) = k.make_credential(&req).unwrap();
        ids.push(
            resp.to_attestation_object()
                .unwrap()
                .auth_data
                .attested_credential
                .unwrap()
                .credential_id,
        );
    }
    let first = k.get_assertion(&ga(vec![])).unwrap();
    assert_eq!(first.number_of_credentials, Some(2));
    assert_eq!(
        first.user.as_ref().unwrap().id,
        vec![2; 8],
        "most recent first"
    );
    let (status, body, _) = k.call(command::GET_NEXT_ASSERTION, None);
    assert_eq!(status, StatusCode::OK);
    let second = GetAssertionResponse::from_value(&body.unwrap()).unwrap();
    assert_eq!(second.user.unwrap().id, vec![1; 8]);
    assert_eq!(
        k.call(command::GET_NEXT_ASSERTION, None).0,
        StatusCode::NOT_ALLOWED
    );
}

#[test]
fn presence_denied_and_silent_assertions() {
    let mut k = key(Config {
        presence: PresencePolicy::Deny,
        ..Config::default()
    });
    assert_eq!(
        k.make_credential(&mc(&[CoseAlgorithm::ES256], false))
            .unwrap_err(),
        StatusCode::OPERATION_DENIED
    );
    assert_eq!(
        k.call(command::SELECTION, None).0,
        StatusCode::OPERATION_DENIED
    );

    let mut k = key(Config::default());
    let (resp, _) = k
        .make_credential(&mc(&[CoseAlgorithm::ES256], false))
        .unwrap();
    let id = resp
        .to_attestation_object()
        .unwrap()
        .auth_data
        .attested_credential
        .unwrap()
        .credential_id;
    let mut silent = ga(vec![id]);
    silent.options.up = Some(false);
    let a = k.get_assertion(&silent).unwrap();
    assert!(!a.parsed_auth_data().unwrap().flags.user_present());
}

#[test]
fn cancel_while_waiting_for_touch() {
    let mut k = key(Config {
        presence: PresencePolicy::Delay(Duration::from_secs(30)),
        ..Config::default()
    });
    let token = CancelToken::new();
    let t = token.clone();
    let mut touch_prompts = 0;
    let mut cb = |s: KeepaliveStatus| {
        if s == KeepaliveStatus::UpNeeded {
            touch_prompts += 1;
            t.cancel();
        }
    };
    let request = encode_request(
        command::MAKE_CREDENTIAL,
        Some(&mc(&[CoseAlgorithm::ES256], false).to_value()),
    );
    let result = k.channel.cbor(
        &request,
        Transaction {
            timeout: Duration::from_secs(20),
            on_keepalive: Some(&mut cb),
            cancel: Some(&token),
        },
    );
    assert_eq!(result, Err(ClientError::Cancelled));
    assert!(touch_prompts >= 1);
    assert_eq!(
        k.call(command::GET_INFO, None).0,
        StatusCode::OK,
        "the key answers again"
    );
}

#[test]
fn malformed_requests_get_their_ctap2_status() {
    let mut k = key(Config::default());
    assert_eq!(
        k.raw(&[command::MAKE_CREDENTIAL, 0xa1, 0x01]),
        [StatusCode::INVALID_CBOR.0]
    );
    // Keys out of canonical order.
    assert_eq!(
        k.raw(&[command::GET_ASSERTION, 0xa2, 0x02, 0x00, 0x01, 0x00]),
        [StatusCode::INVALID_CBOR.0]
    );
    assert_eq!(
        k.raw(&[command::MAKE_CREDENTIAL, 0xa0]),
        [StatusCode::MISSING_PARAMETER.0]
    );
    assert_eq!(
        k.raw(&[command::MAKE_CREDENTIAL]),
        [StatusCode::MISSING_PARAMETER.0]
    );
    let mut wrong_type = mc(&[CoseAlgorithm::ES256], false).to_value();
    if let Value::Map(entries) = &mut wrong_type {
        entries[0].1 = Value::text("not bytes");
    }
    assert_eq!(
        k.call(command::MAKE_CREDENTIAL, Some(&wrong_type)).0,
        StatusCode::CBOR_UNEXPECTED_TYPE
    );
    assert_eq!(k.raw(&[0x55]), [StatusCode::INVALID_COMMAND.0]);
    let mut uv = mc(&[CoseAlgorithm::ES256], false);
    uv.options.uv = Some(true);
    // CTAP 2.1 §6.1.2 step 5: no built-in UV method → INVALID_OPTION ("retained
    // for backwards compatibility", the spec notes).
    assert_eq!(
        k.make_credential(&uv).unwrap_err(),
        StatusCode::INVALID_OPTION
    );
}

#[test]
fn reset_only_within_the_power_up_window() {
    let mut k = key(Config {
        reset_window: Duration::from_millis(300),
        ..Config::default()
    });
    k.make_credential(&mc(&[CoseAlgorithm::ES256], true))
        .unwrap();
    assert_eq!(k.call(command::RESET, None).0, StatusCode::OK);
    assert_eq!(
        k.get_assertion(&ga(vec![])).unwrap_err(),
        StatusCode::NO_CREDENTIALS
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(k.call(command::RESET, None).0, StatusCode::NOT_ALLOWED);
}

#[test]
fn presence_asked_of_a_person_through_a_prompt() {
    use virtual_authenticator::{PresenceRequest, PresenceResponder};
    let (tx, rx) = std::sync::mpsc::channel::<(PresenceRequest, PresenceResponder)>();
    let mut k = key(Config {
        presence: PresencePolicy::Ask(Arc::new(tx)),
        ..Config::default()
    });
    // The "person": approves the first request, refuses the second, and
    // never answers the third.
    let person = std::thread::spawn(move || {
        let mut seen = vec![];
        for (i, (request, responder)) in rx.iter().enumerate() {
            seen.push(request.clone());
            match i {
                0 => responder.answer(true),
                1 => responder.answer(false),
                _ => {
                    std::mem::forget(responder);
                    break;
                }
            }
        }
        seen
    });
    k.make_credential(&mc(&[CoseAlgorithm::ES256], false))
        .unwrap();
    assert_eq!(
        k.make_credential(&mc(&[CoseAlgorithm::ES256], false))
            .unwrap_err(),
        StatusCode::OPERATION_DENIED
    );
    // Unanswered: the client cancels, and the key says so.
    let token = CancelToken::new();
    let t = token.clone();
    let mut cb = |s: KeepaliveStatus| {
        if s == KeepaliveStatus::UpNeeded {
            t.cancel();
        }
    };
    let request = encode_request(command::SELECTION, None);
    let result = k.channel.cbor(
        &request,
        Transaction {
            timeout: Duration::from_secs(20),
            on_keepalive: Some(&mut cb),
            cancel: Some(&token),
        },
    );
    assert_eq!(result, Err(ClientError::Cancelled));
    let seen = person.join().unwrap();
    assert_eq!(seen[0].operation, "makeCredential");
    assert_eq!(seen[0].rp_id.as_deref(), Some("example.org"));
    assert_eq!(seen[2].operation, "selection");
}

/// CTAP 2.1 §6.10.2: the stored large-blob array starts as the empty array
/// and its hash — also for a state file written before large blobs existed —
/// and a stored array of an impossible size is a corrupt file, not a crash.
#[test]
fn state_files_without_or_with_a_bad_large_blob_array() {
    use fido_wire::cbor::{self, DecodeOptions};
    use fido_wire::ctap2::INITIAL_LARGE_BLOB_ARRAY;
    use virtual_authenticator::state::{PersistentState, StateError};
    let path = std::path::Path::new("key.state");
    let fresh = PersistentState::default();
    assert_eq!(fresh.large_blob_array, INITIAL_LARGE_BLOB_ARRAY.to_vec());
    let bytes = fresh.to_cbor().unwrap();
    let Value::Map(mut root) = cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap() else {
        panic!("the state is a map");
    };
    let with = |root: &[(Value, Value)]| cbor::to_canonical_vec(&Value::Map(root.to_vec()));
    root.retain(|(k, _)| k.as_text() != Some("largeBlobs"));
    let old = PersistentState::from_cbor(&with(&root), path).unwrap();
    assert_eq!(old.large_blob_array, INITIAL_LARGE_BLOB_ARRAY.to_vec());
    root.push((Value::text("largeBlobs"), Value::bytes(vec![0x80; 3])));
    let err = PersistentState::from_cbor(&with(&root), path).unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
}

/// The attestation certificate's P-256 public key (the first uncompressed
/// point in a BIT STRING: the subject public key comes before the signature).
fn certificate_point(der: &[u8]) -> Vec<u8> {
    let at = der
        .windows(4)
        .position(|w| w == [0x03, 0x42, 0x00, 0x04])
        .unwrap();
    der[at + 3..at + 3 + 65].to_vec()
}

fn config_request(sub_command: u64) -> Value {
    Value::map([(Value::int(0x01), Value::int(sub_command))])
}

fn get_info(k: &mut Key) -> GetInfo {
    let (status, body, _) = k.call(command::GET_INFO, None);
    assert_eq!(status, StatusCode::OK);
    GetInfo::from_value(&body.unwrap()).unwrap()
}

/// CTAP 2.1 §6.1.2 step 9 and §6.11.1: enterprise attestation is refused
/// until enableEnterpriseAttestation (9.1, INVALID_PARAMETER), values other
/// than 1 and 2 are INVALID_OPTION (9.2), vendor-facilitated (1) serves only
/// the key's RP ID list (9.3: others get the ordinary attestation and no
/// epAtt), platform-managed (2) any RP (9.4); an enterprise attestation is
/// packed with the device's own certificate (epAtt true), for ES256 and
/// ML-DSA-65 credentials alike, and a reset disables it again (§7.1).
#[test]
fn enterprise_attestation_vendor_facilitated_and_platform_managed() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("key.state");
    let config = || Config {
        state: virtual_authenticator::StateStore::File(state.clone()),
        enterprise_rp_ids: Some(vec!["corp.example".into()]),
        ..Config::default()
    };
    let mut k = key(config());
    assert_eq!(get_info(&mut k).option("ep"), Some(false));
    let mut req = mc(&[CoseAlgorithm::ES256], false);
    req.enterprise_attestation = Some(2);
    assert_eq!(
        k.make_credential(&req).unwrap_err(),
        StatusCode::INVALID_PARAMETER,
        "step 9.1: disabled"
    );
    // No PIN set: authenticatorConfig needs no token (§6.11 step 3).
    let (status, ..) = k.call(
        command::CONFIG,
        Some(&config_request(
            fido_wire::ctap2::ConfigSubCommand::ENABLE_ENTERPRISE_ATTESTATION.0,
        )),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get_info(&mut k).option("ep"), Some(true));
    for value in [0, 3] {
        req.enterprise_attestation = Some(value);
        assert_eq!(
            k.make_credential(&req).unwrap_err(),
            StatusCode::INVALID_OPTION,
            "step 9.2: value {value}"
        );
    }
    let mut certificates = Vec::new();
    for alg in [CoseAlgorithm::ES256, CoseAlgorithm::ML_DSA_65] {
        for (value, rp_id, expect_enterprise) in [
            (1, "corp.example", true),
            (1, "example.org", false),
            (2, "example.org", true),
        ] {
            let mut req = mc(&[alg], false);
            req.rp_id = rp_id.into();
            req.enterprise_attestation = Some(value);
            let (resp, _) = k.make_credential(&req).unwrap();
            let what = format!("{alg:?} value {value} for {rp_id}");
            let att = resp.to_attestation_object().unwrap();
            assert_eq!(att.fmt, "packed", "{what}");
            let x5c = att.att_stmt.get_text("x5c").and_then(Value::as_array);
            if !expect_enterprise {
                assert_eq!(resp.enterprise_attestation, None, "{what}");
                assert!(x5c.is_none(), "{what}: ordinary (self) attestation");
                continue;
            }
            assert_eq!(resp.enterprise_attestation, Some(true), "{what}");
            let cert = x5c.unwrap()[0].as_bytes().unwrap().to_vec();
            assert_eq!(
                att.att_stmt.get_text("alg").and_then(Value::as_i64),
                Some(-7)
            );
            let sig = att
                .att_stmt
                .get_text("sig")
                .and_then(Value::as_bytes)
                .unwrap();
            let signed = [resp.auth_data.as_slice(), &req.client_data_hash].concat();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, certificate_point(&cert))
                .verify(&signed, sig)
                .unwrap();
            certificates.push(cert);
        }
    }
    // One device, one certificate, naming it.
    assert!(certificates.windows(2).all(|w| w[0] == w[1]));
    let cert = certificates[0].clone();
    assert!(
        cert.windows(b"Keybench Virtual Key ".len())
            .any(|w| w == b"Keybench Virtual Key "),
    );
    // Survives a restart with the same state file; another key's differs.
    drop(k);
    let mut k = key(config());
    assert_eq!(get_info(&mut k).option("ep"), Some(true));
    let mut other = key(Config::default());
    let (status, ..) = other.call(
        command::CONFIG,
        Some(&config_request(
            fido_wire::ctap2::ConfigSubCommand::ENABLE_ENTERPRISE_ATTESTATION.0,
        )),
    );
    assert_eq!(status, StatusCode::OK);
    let mut req = mc(&[CoseAlgorithm::ES256], false);
    req.enterprise_attestation = Some(2);
    let (resp, _) = other.make_credential(&req).unwrap();
    let other_cert = resp
        .to_attestation_object()
        .unwrap()
        .att_stmt
        .get_text("x5c")
        .unwrap()
        .as_array()
        .unwrap()[0]
        .as_bytes()
        .unwrap()
        .to_vec();
    assert_ne!(other_cert, cert, "uniquely identifying");
    // §7.1: reset disables it (inside the reset window after power-up).
    let (status, ..) = k.call(command::RESET, None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get_info(&mut k).option("ep"), Some(false));
    req.enterprise_attestation = Some(1);
    req.rp_id = "corp.example".into();
    assert_eq!(
        k.make_credential(&req).unwrap_err(),
        StatusCode::INVALID_PARAMETER
    );
}

/// The state file keeps enterprise attestation's setting, list and identity;
/// a file written before it existed reads as disabled with no list.
#[test]
fn state_files_with_and_without_enterprise_attestation() {
    use fido_wire::cbor::{self, DecodeOptions};
    use virtual_authenticator::state::PersistentState;
    let path = std::path::Path::new("key.state");
    let mut state = PersistentState::default();
    state.enterprise.enabled = true;
    state.enterprise.rp_ids = vec!["corp.example".into()];
    let back = PersistentState::from_cbor(&state.to_cbor().unwrap(), path).unwrap();
    assert!(back.enterprise.enabled);
    assert_eq!(back.enterprise.rp_ids, ["corp.example"]);
    let bytes = state.to_cbor().unwrap();
    let Value::Map(mut root) = cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap() else {
        panic!("the state is a map");
    };
    root.retain(|(k, _)| k.as_text() != Some("enterprise"));
    let old = PersistentState::from_cbor(&cbor::to_canonical_vec(&Value::Map(root)), path).unwrap();
    assert!(!old.enterprise.enabled);
    assert!(old.enterprise.rp_ids.is_empty());
}

/// CTAP 2.2 perCredMgmtRO in getInfo; the state file keeps the persistent
/// token and the device identifier, and reads files written before they
/// existed as having none.
#[test]
fn per_cred_mgmt_ro_and_its_state() {
    use fido_wire::cbor::{self, DecodeOptions};
    use virtual_authenticator::state::PersistentState;
    let mut k = key(Config::default());
    let info = get_info(&mut k);
    assert_eq!(info.option("perCredMgmtRO"), Some(true));
    // No persistent token yet: nothing sealed under one.
    assert_eq!(info.enc_identifier, None);
    assert_eq!(info.enc_cred_store_state, None);
    let path = std::path::Path::new("key.state");
    let mut state = PersistentState {
        identifier: Some([3; 16]),
        ..PersistentState::default()
    };
    state.pin.persistent_token = Some(zeroize::Zeroizing::new([4; 32]));
    let back = PersistentState::from_cbor(&state.to_cbor().unwrap(), path).unwrap();
    assert_eq!(back.identifier, Some([3; 16]));
    assert_eq!(
        back.pin.persistent_token.as_deref().map(|t| t.to_vec()),
        Some(vec![4; 32])
    );
    let bytes = state.to_cbor().unwrap();
    let Value::Map(mut root) = cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap() else {
        panic!("the state is a map");
    };
    root.retain(|(k, _)| k.as_text() != Some("identifier"));
    for (k, v) in &mut root {
        if k.as_text() == Some("pin")
            && let Value::Map(pin) = v
        {
            pin.retain(|(k, _)| k.as_text() != Some("persistentToken"));
        }
    }
    let old = PersistentState::from_cbor(&cbor::to_canonical_vec(&Value::Map(root)), path).unwrap();
    assert_eq!(old.identifier, None);
    assert!(old.pin.persistent_token.is_none());
}

/// CTAP 2.2 §12.9 thirdPartyPayment: listed in getInfo; true at
/// registration marks the credential (output true) and the mark is kept in
/// the state file; getAssertion asked for it answers the credential's mark
/// (true for the marked one, false for another), and says nothing unasked;
/// a non-boolean input is CBOR_UNEXPECTED_TYPE. ES256 and ML-DSA-65.
#[test]
fn third_party_payment_marks_credentials_and_is_reported_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("key.state");
    let config = || Config {
        state: virtual_authenticator::StateStore::File(state.clone()),
        ..Config::default()
    };
    let mut k = key(config());
    assert!(
        get_info(&mut k)
            .extensions
            .iter()
            .any(|e| e == "thirdPartyPayment")
    );
    let payment = Value::map([(Value::text("thirdPartyPayment"), Value::Bool(true))]);
    let mut marked = Vec::new();
    let mut plain = Vec::new();
    for alg in [CoseAlgorithm::ES256, CoseAlgorithm::ML_DSA_65] {
        let mut req = mc(&[alg], false);
        req.extensions = Some(payment.clone());
        let (resp, _) = k.make_credential(&req).unwrap();
        let att = resp.to_attestation_object().unwrap();
        assert_eq!(
            att.auth_data
                .extensions
                .as_ref()
                .and_then(|e| e.get_text("thirdPartyPayment"))
                .and_then(Value::as_bool),
            Some(true),
            "{alg:?}"
        );
        marked.push(att.auth_data.attested_credential.unwrap().credential_id);
        let (resp, _) = k.make_credential(&mc(&[alg], false)).unwrap();
        let att = resp.to_attestation_object().unwrap();
        assert!(att.auth_data.extensions.is_none());
        plain.push(att.auth_data.attested_credential.unwrap().credential_id);
    }
    let mut bad = mc(&[CoseAlgorithm::ES256], false);
    bad.extensions = Some(Value::map([(
        Value::text("thirdPartyPayment"),
        Value::int(1),
    )]));
    assert_eq!(
        k.make_credential(&bad).unwrap_err(),
        StatusCode::CBOR_UNEXPECTED_TYPE
    );
    // Restarted on the same file: the marks are still there.
    drop(k);
    let mut k = key(config());
    let output = |k: &mut Key, id: &[u8], ask: bool| {
        let mut req = ga(vec![id.to_vec()]);
        if ask {
            req.extensions = Some(payment.clone());
        }
        let a = k.get_assertion(&req).unwrap();
        a.parsed_auth_data()
            .unwrap()
            .extensions
            .and_then(|e| e.get_text("thirdPartyPayment").cloned())
    };
    for (m, p) in marked.iter().zip(&plain) {
        assert_eq!(output(&mut k, m, true), Some(Value::Bool(true)));
        assert_eq!(output(&mut k, p, true), Some(Value::Bool(false)));
        assert_eq!(output(&mut k, m, false), None, "not asked, not told");
    }
}
