//! The previewSign extension (WebAuthn `sign` extension, version 4 on the
//! wire as python-fido2 2.2.1 sends it) driven through the authenticator's
//! CTAP2 entry point: one signing key per credential for the first
//! algorithm of the RP's list the key offers, its attestation object in the
//! unsigned extension outputs, signatures verified with the crypto
//! libraries directly (ARKG keys derived from the public seed as an RP
//! does), the flags policy, the status of every refusal, and the key in the
//! state file across a restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use ctaphid::serve::RequestContext;
use fido_wire::cbor::{self, DecodeOptions, Value};
use fido_wire::cose::{CoseAlgorithm, CoseKey, KeyParams};
use fido_wire::ctap2::{
    Descriptor, GetAssertionRequest, GetInfo, MakeCredentialRequest, MakeCredentialResponse,
    RequestOptions, StatusCode, command, encode_request, parse_response,
};
use fido_wire::webauthn::AuthenticatorData;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use pqcrypto_mldsa::mldsa44;
use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _};
use virtual_authenticator::arkg::ArkgPublicSeed;
use virtual_authenticator::{Authenticator, Config, StateStore};

const ESP256: i64 = -9;
const ES256: i64 = -7;
const ESP256_SPLIT: i64 = -300;
const ESP256_SPLIT_PROTOTYPE: i64 = -70009;
const ESP256_SPLIT_ARKG: i64 = -65539;
const ALL: [i64; 5] = [
    ESP256,
    ES256,
    ESP256_SPLIT,
    ESP256_SPLIT_PROTOTYPE,
    ESP256_SPLIT_ARKG,
];

fn call(k: &mut Authenticator, cmd: u8, params: &Value) -> Result<Value, StatusCode> {
    let answer = k.process(
        &encode_request(cmd, Some(params)),
        &RequestContext::detached(),
    );
    match parse_response(&answer).unwrap() {
        (StatusCode::OK, Some(body)) => Ok(body),
        (status, _) => Err(status),
    }
}

fn generate_input(algorithms: &[i64], flags: u64) -> Value {
    Value::map([
        (
            Value::int(3),
            Value::Array(algorithms.iter().map(|a| Value::int(*a)).collect()),
        ),
        (Value::int(4), Value::int(flags)),
    ])
}

fn mc(extension: Value) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: vec![0x11; 32],
        rp_id: "example.com".into(),
        rp_name: None,
        user_id: vec![0xa1; 16],
        user_name: Some("alice".into()),
        user_display_name: None,
        pub_key_cred_params: vec![("public-key".into(), CoseAlgorithm::ES256)],
        exclude_list: vec![],
        extensions: Some(Value::map([(Value::text("previewSign"), extension)])),
        options: RequestOptions::default(),
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
        attestation_formats_preference: vec![],
    }
}

/// What a registration with previewSign gave.
struct Registered {
    credential_id: Vec<u8>,
    algorithm: i64,
    key_handle: Vec<u8>,
    public_key: CoseKey,
    public_key_value: Value,
}

fn register(k: &mut Authenticator, extension: Value) -> Result<Registered, StatusCode> {
    let body = call(k, command::MAKE_CREDENTIAL, &mc(extension).to_value())?;
    let response = MakeCredentialResponse::from_value(&body).unwrap();
    let auth_data = AuthenticatorData::parse(&response.auth_data).unwrap();
    let signed = auth_data.extensions.unwrap();
    let signed = signed.get_text("previewSign").unwrap();
    let algorithm = signed.get_int(3).unwrap().as_i64().unwrap();
    let credential = auth_data.attested_credential.unwrap();

    let unsigned = response.unsigned_extension_outputs.unwrap();
    let att_obj = unsigned
        .get_text("previewSign")
        .and_then(|v| v.get_int(7))
        .and_then(Value::as_bytes)
        .unwrap();
    let att_obj = cbor::from_slice(att_obj, &DecodeOptions::CTAP2).unwrap();
    assert_eq!(att_obj.get_int(1), Some(&Value::text("none")));
    assert_eq!(att_obj.get_int(3), Some(&Value::Map(vec![])));
    let inner = AuthenticatorData::parse(att_obj.get_int(2).unwrap().as_bytes().unwrap()).unwrap();
    // The signing key's authenticator data: same RP and flags, counter 0,
    // the same AAGUID, its own id, and {3: alg, 4: flags} as extensions.
    assert_eq!(inner.rp_id_hash, auth_data.rp_id_hash);
    assert_eq!(inner.flags.0, auth_data.flags.0);
    assert_eq!(inner.sign_count, 0);
    let inner_ext = inner.extensions.unwrap();
    let inner_ext = inner_ext.get_text("previewSign").unwrap();
    assert_eq!(inner_ext.get_int(3), signed.get_int(3));
    assert!(inner_ext.get_int(4).unwrap().as_u64().is_some());
    let sign_credential = inner.attested_credential.unwrap();
    assert_eq!(sign_credential.aaguid, credential.aaguid);
    assert_ne!(sign_credential.credential_id, credential.credential_id);
    let public_key_value =
        cbor::from_slice(&sign_credential.public_key_cbor, &DecodeOptions::CTAP2).unwrap();
    Ok(Registered {
        credential_id: credential.credential_id,
        algorithm,
        key_handle: sign_credential.credential_id,
        public_key: sign_credential.public_key,
        public_key_value,
    })
}

fn sign_input(key_handle: Option<&[u8]>, tbs: Option<&[u8]>, args: Option<&Value>) -> Value {
    let mut m = Vec::new();
    if let Some(kh) = key_handle {
        m.push((Value::int(2), Value::bytes(kh.to_vec())));
    }
    if let Some(tbs) = tbs {
        m.push((Value::int(6), Value::bytes(tbs.to_vec())));
    }
    if let Some(args) = args {
        m.push((Value::int(7), Value::bytes(cbor::to_canonical_vec(args))));
    }
    Value::Map(m)
}

fn ga(allow: Option<&[u8]>, extension: Value, up: bool) -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: "example.com".into(),
        client_data_hash: vec![0x22; 32],
        allow_list: allow
            .map(|id| Descriptor {
                kind: "public-key".into(),
                id: id.to_vec(),
            })
            .into_iter()
            .collect(),
        extensions: Some(Value::map([(Value::text("previewSign"), extension)])),
        options: RequestOptions {
            up: Some(up),
            ..RequestOptions::default()
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
    }
}

fn sign(k: &mut Authenticator, req: &GetAssertionRequest) -> Result<Vec<u8>, StatusCode> {
    let body = call(k, command::GET_ASSERTION, &req.to_value())?;
    let auth_data = AuthenticatorData::parse(body.get_int(2).unwrap().as_bytes().unwrap()).unwrap();
    Ok(auth_data
        .extensions
        .unwrap()
        .get_text("previewSign")
        .unwrap()
        .get_int(6)
        .unwrap()
        .as_bytes()
        .unwrap()
        .to_vec())
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

fn ec2_point(key: &CoseKey) -> Vec<u8> {
    match &key.params {
        KeyParams::Ec2 { x, y, .. } => [&[4u8][..], x, y].concat(),
        other => panic!("not an EC2 key: {other:?}"),
    }
}

/// An ESP256 signature over `message`, checked both as a message signature
/// and as a signature over its SHA-256 digest (the split algorithms' view).
fn verify_esp256(point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let by_message = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
        .verify(message, signature)
        .is_ok();
    let by_digest = VerifyingKey::from_sec1_bytes(point)
        .unwrap()
        .verify_prehash(
            &sha256(message),
            &DerSignature::try_from(signature).unwrap(),
        );
    assert_eq!(by_message, by_digest.is_ok());
    by_message
}

fn arkg_seed(v: &Value) -> ArkgPublicSeed {
    let point = |label| {
        let key = CoseKey::from_value(v.get_int(label).unwrap()).unwrap();
        p256::PublicKey::from_sec1_bytes(&ec2_point(&key)).unwrap()
    };
    ArkgPublicSeed {
        blinding: point(-1),
        kem: point(-2),
    }
}

fn arkg_args(kh: &[u8], ctx: &[u8]) -> Value {
    Value::map([
        (Value::int(3), Value::int(ESP256_SPLIT_ARKG)),
        (Value::int(-1), Value::bytes(kh.to_vec())),
        (Value::int(-2), Value::bytes(ctx.to_vec())),
    ])
}

fn key() -> Authenticator {
    Authenticator::new(Config::default()).unwrap()
}

#[test]
fn get_info_lists_preview_sign() {
    let k = key();
    let info: GetInfo = k.info();
    assert!(info.extensions.iter().any(|e| e == "previewSign"));
}

/// Registration: the key is made for the first algorithm of the RP's list
/// the authenticator offers; its public key is presented with the
/// verification algorithm (ESP256 for the split ones, the ARKG public seed
/// for ARKG); authentication signs the tbs (a digest for the split
/// algorithms) and the signature verifies against that key.
#[test]
fn each_algorithm_registers_and_signs() {
    let mut k = key();
    let message = b"the RP's message";
    for alg in [ESP256, ES256, ESP256_SPLIT, ESP256_SPLIT_PROTOTYPE] {
        // An unknown number first: skipped for the first known one.
        let reg = register(&mut k, generate_input(&[-18, alg, ESP256], 0)).unwrap();
        assert_eq!(reg.algorithm, alg);
        let prehashed = alg == ESP256_SPLIT || alg == ESP256_SPLIT_PROTOTYPE;
        let expected_alg = if prehashed { ESP256 } else { alg };
        assert_eq!(reg.public_key.alg, Some(CoseAlgorithm(expected_alg)));
        let tbs = if prehashed {
            sha256(message)
        } else {
            message.to_vec()
        };
        let sig = sign(
            &mut k,
            &ga(
                Some(&reg.credential_id),
                sign_input(Some(&reg.key_handle), Some(&tbs), None),
                false,
            ),
        )
        .unwrap();
        assert!(verify_esp256(&ec2_point(&reg.public_key), message, &sig));
        assert!(!verify_esp256(&ec2_point(&reg.public_key), b"other", &sig));
    }

    // ESP256-split-ARKG: the RP derives a public key and a key handle from
    // the seed; the authenticator derives the private key and signs.
    let reg = register(&mut k, generate_input(&[ESP256_SPLIT_ARKG], 0)).unwrap();
    assert_eq!(reg.algorithm, ESP256_SPLIT_ARKG);
    assert_eq!(reg.public_key_value.get_int(3), Some(&Value::int(-65700)));
    assert_eq!(reg.public_key_value.get_int(-3), Some(&Value::int(ESP256)));
    let seed = arkg_seed(&reg.public_key_value);
    let ctx = b"python-fido2.test_sign_extension_v4";
    let (derived, arkg_kh) = seed.derive_public_key(&[7u8; 32], ctx).unwrap();
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&derived, false);
    let sig = sign(
        &mut k,
        &ga(
            Some(&reg.credential_id),
            sign_input(
                Some(&reg.key_handle),
                Some(&sha256(message)),
                Some(&arkg_args(&arkg_kh, ctx)),
            ),
            false,
        ),
    )
    .unwrap();
    assert!(verify_esp256(point.as_bytes(), message, &sig));

    // ML-DSA-44: the message is signed as is (pure ML-DSA).
    let reg = register(&mut k, generate_input(&[-48], 0)).unwrap();
    assert_eq!(reg.algorithm, -48);
    let sig = sign(
        &mut k,
        &ga(
            Some(&reg.credential_id),
            sign_input(Some(&reg.key_handle), Some(message), None),
            false,
        ),
    )
    .unwrap();
    let KeyParams::Akp { public, .. } = &reg.public_key.params else {
        panic!("ML-DSA key is not AKP");
    };
    assert!(
        mldsa44::verify_detached_signature(
            &mldsa44::DetachedSignature::from_bytes(&sig).unwrap(),
            message,
            &mldsa44::PublicKey::from_bytes(public).unwrap(),
        )
        .is_ok()
    );
}

/// Registration input rules: no offered algorithm is
/// UNSUPPORTED_ALGORITHM; flags other than 0b000, 0b001 and 0b101 are
/// INVALID_OPTION (the suite's test_register_invalid_flags walks all 256);
/// malformed members get the CBOR status, a missing list
/// MISSING_PARAMETER, signing inputs INVALID_OPTION.
#[test]
fn registration_inputs_are_checked() {
    let mut k = key();
    assert_eq!(
        register(&mut k, generate_input(&[-18], 0)).err(),
        Some(StatusCode::UNSUPPORTED_ALGORITHM)
    );
    assert_eq!(
        register(&mut k, generate_input(&[], 0)).err(),
        Some(StatusCode::UNSUPPORTED_ALGORITHM)
    );
    for flags in 0..=255u64 {
        let result = register(&mut k, generate_input(&[ESP256], flags));
        if [0, 1, 5].contains(&flags) {
            assert!(result.is_ok(), "flags {flags:#b}");
        } else {
            assert_eq!(result.err(), Some(StatusCode::INVALID_OPTION), "{flags:#b}");
        }
    }
    let no_algorithms = Value::map([(Value::int(4), Value::int(0))]);
    assert_eq!(
        register(&mut k, no_algorithms).err(),
        Some(StatusCode::MISSING_PARAMETER)
    );
    let text_algorithm = Value::map([(Value::int(3), Value::Array(vec![Value::text("ES256")]))]);
    assert_eq!(
        register(&mut k, text_algorithm).err(),
        Some(StatusCode::CBOR_UNEXPECTED_TYPE)
    );
    assert_eq!(
        register(&mut k, Value::bytes(vec![1])).err(),
        Some(StatusCode::CBOR_UNEXPECTED_TYPE)
    );
    let with_tbs = Value::map([
        (Value::int(3), Value::Array(vec![Value::int(ESP256)])),
        (Value::int(6), Value::bytes(vec![0; 32])),
    ]);
    assert_eq!(
        register(&mut k, with_tbs).err(),
        Some(StatusCode::INVALID_OPTION)
    );
    // Nothing refused was kept.
    assert_eq!(k.credential_count(), 3);
}

/// Authentication input rules, as the suite's test_assert_* expect:
/// signing needs an allow list and both key handle and tbs
/// (INVALID_OPTION); a key handle of no key of the credential is
/// INVALID_CREDENTIAL; a split tbs that is not a SHA-256 digest
/// INVALID_LENGTH.
#[test]
fn assertion_inputs_are_checked() {
    let mut k = key();
    let reg = register(&mut k, generate_input(&[ESP256_SPLIT], 0)).unwrap();
    let digest = sha256(b"m");
    let id = Some(reg.credential_id.as_slice());
    let kh = Some(reg.key_handle.as_slice());
    let status = |k: &mut Authenticator, req| sign(k, &req).err();
    assert_eq!(
        status(&mut k, ga(None, sign_input(kh, Some(&digest), None), false)),
        Some(StatusCode::INVALID_OPTION)
    );
    assert_eq!(
        status(&mut k, ga(id, sign_input(None, Some(&digest), None), false)),
        Some(StatusCode::INVALID_OPTION)
    );
    assert_eq!(
        status(&mut k, ga(id, sign_input(kh, None, None), false)),
        Some(StatusCode::INVALID_OPTION)
    );
    assert_eq!(
        status(
            &mut k,
            ga(id, sign_input(Some(&[9u8; 32]), Some(&digest), None), false)
        ),
        Some(StatusCode::INVALID_CREDENTIAL)
    );
    assert_eq!(
        status(
            &mut k,
            ga(id, sign_input(kh, Some(b"not a digest"), None), false)
        ),
        Some(StatusCode::INVALID_LENGTH)
    );
    assert_eq!(
        status(&mut k, ga(id, Value::text("sign"), false)),
        Some(StatusCode::CBOR_UNEXPECTED_TYPE)
    );
    let tbs_as_text = Value::map([
        (Value::int(2), Value::bytes(reg.key_handle.clone())),
        (Value::int(6), Value::text("tbs")),
    ]);
    assert_eq!(
        status(&mut k, ga(id, tbs_as_text, false)),
        Some(StatusCode::CBOR_UNEXPECTED_TYPE)
    );
    assert!(sign(&mut k, &ga(id, sign_input(kh, Some(&digest), None), false)).is_ok());
}

/// The key's flags: 0b001 refuses an assertion without user presence
/// (UP_REQUIRED), 0b101 one without user verification (PUAT_REQUIRED).
#[test]
fn flags_require_presence_and_verification() {
    let mut k = key();
    let up = register(&mut k, generate_input(&[ESP256], 0b001)).unwrap();
    let uv = register(&mut k, generate_input(&[ESP256], 0b101)).unwrap();
    let input = |r: &Registered| sign_input(Some(&r.key_handle), Some(b"m"), None);
    assert_eq!(
        sign(&mut k, &ga(Some(&up.credential_id), input(&up), false)).err(),
        Some(StatusCode::UP_REQUIRED)
    );
    assert!(sign(&mut k, &ga(Some(&up.credential_id), input(&up), true)).is_ok());
    assert_eq!(
        sign(&mut k, &ga(Some(&uv.credential_id), input(&uv), true)).err(),
        Some(StatusCode::PUAT_REQUIRED)
    );
}

/// ARKG's additional arguments (COSE_Sign_Args): missing is
/// MISSING_PARAMETER; without or with another alg, or a key handle not
/// made for this seed, INVALID_CREDENTIAL; not CBOR, INVALID_CBOR; unknown
/// members are ignored.
#[test]
fn arkg_arguments_are_checked() {
    let mut k = key();
    let reg = register(&mut k, generate_input(&ALL[4..], 0)).unwrap();
    let seed = arkg_seed(&reg.public_key_value);
    let (_, arkg_kh) = seed.derive_public_key(&[1u8; 32], b"ctx").unwrap();
    let digest = sha256(b"m");
    let id = Some(reg.credential_id.as_slice());
    let kh = Some(reg.key_handle.as_slice());
    let with_args = |args: Option<&Value>| ga(id, sign_input(kh, Some(&digest), args), false);
    let good = arkg_args(&arkg_kh, b"ctx");
    assert!(sign(&mut k, &with_args(Some(&good))).is_ok());
    assert_eq!(
        sign(&mut k, &with_args(None)).err(),
        Some(StatusCode::MISSING_PARAMETER)
    );
    let Value::Map(mut entries) = good.clone() else {
        unreachable!()
    };
    entries.push((Value::int(42), Value::int(1337)));
    assert!(sign(&mut k, &with_args(Some(&Value::Map(entries.clone())))).is_ok());
    entries.retain(|(key, _)| key != &Value::int(3));
    assert_eq!(
        sign(&mut k, &with_args(Some(&Value::Map(entries)))).err(),
        Some(StatusCode::INVALID_CREDENTIAL)
    );
    assert_eq!(
        sign(
            &mut k,
            &with_args(Some(&Value::map([
                (Value::int(3), Value::int(ESP256_SPLIT_ARKG + 1)),
                (Value::int(-1), Value::bytes(arkg_kh.clone())),
                (Value::int(-2), Value::bytes(b"ctx".to_vec())),
            ])))
        )
        .err(),
        Some(StatusCode::INVALID_CREDENTIAL)
    );
    assert_eq!(
        sign(&mut k, &with_args(Some(&arkg_args(&arkg_kh, b"other ctx")))).err(),
        Some(StatusCode::INVALID_CREDENTIAL)
    );
    let garbage = Value::map([
        (Value::int(2), Value::bytes(reg.key_handle.clone())),
        (Value::int(6), Value::bytes(digest.clone())),
        (Value::int(7), Value::bytes(vec![0xff, 0x00])),
    ]);
    assert_eq!(
        sign(&mut k, &ga(id, garbage, false)).err(),
        Some(StatusCode::INVALID_CBOR)
    );
}

/// The signing keys are in the state file: after a restart on the same
/// file (a power cycle of `virtual-key serve --state`), each key signs
/// and verifies against the public key registration gave.
#[test]
fn signing_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config {
        state: StateStore::File(dir.path().join("key.state")),
        ..Config::default()
    };
    let mut k = Authenticator::new(config()).unwrap();
    let plain = register(&mut k, generate_input(&[ESP256], 0)).unwrap();
    let arkg = register(&mut k, generate_input(&[ESP256_SPLIT_ARKG], 0)).unwrap();
    drop(k);
    let mut k = Authenticator::new(config()).unwrap();
    let sig = sign(
        &mut k,
        &ga(
            Some(&plain.credential_id),
            sign_input(Some(&plain.key_handle), Some(b"m"), None),
            false,
        ),
    )
    .unwrap();
    assert!(verify_esp256(&ec2_point(&plain.public_key), b"m", &sig));
    let (derived, arkg_kh) = arkg_seed(&arkg.public_key_value)
        .derive_public_key(&[2u8; 32], b"")
        .unwrap();
    let sig = sign(
        &mut k,
        &ga(
            Some(&arkg.credential_id),
            sign_input(
                Some(&arkg.key_handle),
                Some(&sha256(b"m")),
                Some(&arkg_args(&arkg_kh, b"")),
            ),
            false,
        ),
    )
    .unwrap();
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&derived, false);
    assert!(verify_esp256(point.as_bytes(), b"m", &sig));
}
