//! Registration and authentication verification per algorithm, one thread.
//!
//! Baseline in the same run, per algorithm: the bare signature check
//! (aws-lc-rs `ParsedPublicKey::verify_sig`, ed448-goldilocks for Ed448, or pqcrypto-mldsa's detached
//! verify with its key parsed up front) over the same authenticatorData ||
//! SHA-256(clientDataJSON) message. `authentication` is the whole §7.2
//! core (client data, flags, counter, signature) from the response bytes.
//! Authentication inputs come from keys generated here (every algorithm);
//! registrations come from the virtual authenticator (ES256, EdDSA, ML-DSA).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair,
};
use criterion::{Criterion, criterion_group, criterion_main};
use ctaphid::serve::RequestContext;
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey, KeyParams};
use fido_wire::ctap2::{
    MakeCredentialRequest, MakeCredentialResponse, RequestOptions, command, encode_request,
    parse_response,
};
use fido_wire::webauthn::{AuthenticatorData, CeremonyType, CollectedClientData, Flags};
use pqcrypto_mldsa::{mldsa44, mldsa65, mldsa87};
use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _};
use relying_party::ceremony::{
    AuthenticationExpectations, AuthenticationResponse, CeremonyContext, RegistrationExpectations,
    RegistrationResponse, verify_authentication, verify_registration,
};
use relying_party::x509::UnixTime;
use relying_party::{
    CeremonyPolicy, Credential, CredentialRecord, RpConfig, TrustOutcome, TrustStore,
    UserVerification,
};
use std::hint::black_box;
use std::time::Duration;
use virtual_authenticator::{AttestationMode, Authenticator, Config};

const ORIGIN: &str = "https://example.org";
const USER: &[u8] = b"bench-user";

fn sha256(d: &[u8]) -> [u8; 32] {
    let mut o = [0u8; 32];
    o.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, d).as_ref());
    o
}

type Signer = Box<dyn Fn(&[u8]) -> Vec<u8>>;
type BareVerifier = Box<dyn Fn(&[u8], &[u8]) -> bool>;

/// A key of one algorithm: its COSE form, a signer, and the bare verifier.
struct BenchKey {
    cose: CoseKey,
    sign: Signer,
    bare: BareVerifier,
}

fn ec(alg: CoseAlgorithm) -> BenchKey {
    let (signing, verifying, curve): (
        &'static sig::EcdsaSigningAlgorithm,
        &'static sig::EcdsaVerificationAlgorithm,
        CoseCurve,
    ) = match alg {
        CoseAlgorithm::ES256 => (
            &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            &sig::ECDSA_P256_SHA256_ASN1,
            CoseCurve::P256,
        ),
        CoseAlgorithm::ES384 => (
            &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
            &sig::ECDSA_P384_SHA384_ASN1,
            CoseCurve::P384,
        ),
        _ => (
            &sig::ECDSA_P521_SHA512_ASN1_SIGNING,
            &sig::ECDSA_P521_SHA512_ASN1,
            CoseCurve::P521,
        ),
    };
    let kp = EcdsaKeyPair::generate(signing).unwrap();
    let point = kp.public_key().as_ref().to_vec();
    let n = (point.len() - 1) / 2;
    let cose = CoseKey {
        kid: None,
        alg: Some(alg),
        params: KeyParams::Ec2 {
            curve,
            x: point[1..=n].to_vec(),
            y: point[n + 1..].to_vec(),
            d: None,
        },
        other: vec![],
    };
    let parsed = ParsedPublicKey::new(verifying, &point).unwrap();
    BenchKey {
        cose,
        sign: Box::new(move |m| kp.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()),
        bare: Box::new(move |m, s| parsed.verify_sig(m, s).is_ok()),
    }
}

fn ed25519() -> BenchKey {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let kp = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    let x = kp.public_key().as_ref().to_vec();
    let parsed = ParsedPublicKey::new(&sig::ED25519, &x).unwrap();
    BenchKey {
        cose: CoseKey {
            kid: None,
            alg: Some(CoseAlgorithm::EDDSA),
            params: KeyParams::Okp {
                curve: CoseCurve::ED25519,
                x,
                d: None,
            },
            other: vec![],
        },
        sign: Box::new(move |m| kp.sign(m).as_ref().to_vec()),
        bare: Box::new(move |m, s| parsed.verify_sig(m, s).is_ok()),
    }
}

/// Ed448 (RustCrypto ed448-goldilocks; aws-lc-rs has none), from a random seed.
fn ed448() -> BenchKey {
    let mut seed = [0u8; 57];
    aws_lc_rs::rand::fill(&mut seed).unwrap();
    let sk = ed448_goldilocks::SigningKey::from(ed448_goldilocks::SecretKey::from(seed));
    let vk = sk.verifying_key();
    BenchKey {
        cose: CoseKey {
            kid: None,
            alg: Some(CoseAlgorithm::ED448),
            params: KeyParams::Okp {
                curve: CoseCurve::ED448,
                x: vk.to_bytes().to_vec(),
                d: None,
            },
            other: vec![],
        },
        sign: Box::new(move |m| sk.sign_raw(m).to_bytes().to_vec()),
        bare: Box::new(move |m, s| {
            ed448_goldilocks::Signature::try_from(s).is_ok_and(|s| vk.verify_raw(&s, m).is_ok())
        }),
    }
}

fn rsa(alg: CoseAlgorithm) -> BenchKey {
    let kp = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let n = kp
        .public_key()
        .modulus()
        .big_endian_without_leading_zero()
        .to_vec();
    let e = kp
        .public_key()
        .exponent()
        .big_endian_without_leading_zero()
        .to_vec();
    let (encoding, params): (&'static dyn sig::RsaEncoding, &'static sig::RsaParameters) =
        if alg == CoseAlgorithm::RS256 {
            (&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256)
        } else {
            (&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256)
        };
    let parsed = sig::RsaPublicKeyComponents { n: &n, e: &e }
        .to_parsed_public_key(params)
        .unwrap();
    BenchKey {
        cose: CoseKey {
            kid: None,
            alg: Some(alg),
            params: KeyParams::Rsa { n, e },
            other: vec![],
        },
        sign: Box::new(move |m| {
            let mut s = vec![0u8; kp.public_modulus_len()];
            kp.sign(encoding, &SystemRandom::new(), m, &mut s).unwrap();
            s
        }),
        bare: Box::new(move |m, s| parsed.verify_sig(m, s).is_ok()),
    }
}

macro_rules! ml_dsa {
    ($set:ident, $alg:expr) => {{
        let (pk, sk) = $set::keypair();
        let public = pk.as_bytes().to_vec();
        BenchKey {
            cose: CoseKey {
                kid: None,
                alg: Some($alg),
                params: KeyParams::Akp { public, seed: None },
                other: vec![],
            },
            sign: Box::new(move |m| $set::detached_sign(m, &sk).as_bytes().to_vec()),
            bare: Box::new(move |m, s| {
                $set::verify_detached_signature(
                    &$set::DetachedSignature::from_bytes(s).unwrap(),
                    m,
                    &pk,
                )
                .is_ok()
            }),
        }
    }};
}

fn key(alg: CoseAlgorithm) -> BenchKey {
    match alg {
        CoseAlgorithm::ES256 | CoseAlgorithm::ES384 | CoseAlgorithm::ES512 => ec(alg),
        CoseAlgorithm::EDDSA => ed25519(),
        CoseAlgorithm::ED448 => ed448(),
        CoseAlgorithm::RS256 | CoseAlgorithm::PS256 => rsa(alg),
        CoseAlgorithm::ML_DSA_44 => ml_dsa!(mldsa44, alg),
        CoseAlgorithm::ML_DSA_65 => ml_dsa!(mldsa65, alg),
        _ => ml_dsa!(mldsa87, alg),
    }
}

fn record(cose: &CoseKey, alg: CoseAlgorithm) -> CredentialRecord {
    CredentialRecord {
        id: vec![7u8; 32].into(),
        public_key: cose.to_cbor().into(),
        algorithm: alg,
        sign_count: 0,
        uv_initialized: false,
        transports: vec![],
        backup_eligible: false,
        backup_state: false,
        rp_id: "example.org".into(),
        user_handle: USER.to_vec().into(),
        aaguid: vec![0u8; 16].into(),
        attestation_format: "none".into(),
        attestation_trust: TrustOutcome::NoAttestation,
    }
}

fn virtual_registration(
    alg: CoseAlgorithm,
    mode: AttestationMode,
    cdj: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let mut key = Authenticator::new(Config {
        attestation: mode,
        ..Config::default()
    })
    .unwrap();
    let req = MakeCredentialRequest {
        client_data_hash: sha256(cdj).to_vec(),
        rp_id: "example.org".into(),
        rp_name: None,
        user_id: USER.to_vec(),
        user_name: Some("bench".into()),
        user_display_name: None,
        pub_key_cred_params: vec![("public-key".into(), alg)],
        exclude_list: vec![],
        extensions: None,
        options: RequestOptions::default(),
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
        attestation_formats_preference: vec![],
    };
    let answer = key.process(
        &encode_request(command::MAKE_CREDENTIAL, Some(&req.to_value())),
        &RequestContext::detached(),
    );
    let (_, body) = parse_response(&answer).unwrap();
    let att = MakeCredentialResponse::from_value(&body.unwrap())
        .unwrap()
        .to_attestation_object()
        .unwrap();
    let id = att
        .auth_data
        .attested_credential
        .as_ref()
        .unwrap()
        .credential_id
        .clone();
    (id, att.to_cbor())
}

fn bench(c: &mut Criterion) {
    let rp = RpConfig::new("example.org", [ORIGIN]);
    let trust = TrustStore::new();
    let ctx = CeremonyContext {
        rp: &rp,
        policy: CeremonyPolicy {
            user_verification: UserVerification::NotRequired,
            ..CeremonyPolicy::default()
        },
        trust: &trust,
        now: UnixTime(1_785_542_400),
    };
    let challenge = [0x42u8; 32];
    for alg in [
        CoseAlgorithm::ES256,
        CoseAlgorithm::ES384,
        CoseAlgorithm::ES512,
        CoseAlgorithm::EDDSA,
        CoseAlgorithm::ED448,
        CoseAlgorithm::RS256,
        CoseAlgorithm::PS256,
        CoseAlgorithm::ML_DSA_44,
        CoseAlgorithm::ML_DSA_65,
        CoseAlgorithm::ML_DSA_87,
    ] {
        let mut group = c.benchmark_group(alg.name().unwrap());
        let k = key(alg);
        let credential = Credential::from_record(record(&k.cose, alg)).unwrap();
        let auth_data = AuthenticatorData {
            rp_id_hash: *rp.rp_id_hash(),
            flags: Flags(Flags::UP),
            sign_count: 1,
            attested_credential: None,
            extensions: None,
        }
        .to_bytes();
        let cdj = CollectedClientData::new(CeremonyType::Get, &challenge, ORIGIN).to_json();
        let message = [&auth_data[..], &sha256(&cdj)].concat();
        let signature = (k.sign)(&message);
        assert!((k.bare)(&message, &signature));

        group.bench_function("baseline_verify", |b| {
            b.iter(|| assert!((k.bare)(black_box(&message), black_box(&signature))))
        });
        let response = AuthenticationResponse {
            credential_type: "public-key",
            raw_id: &[7u8; 32],
            client_data_json: &cdj,
            authenticator_data: &auth_data,
            signature: &signature,
            user_handle: None,
            client_extension_results: None,
        };
        let expect = AuthenticationExpectations {
            challenge: &challenge,
            allow_credentials: &[],
            identified_user: Some(USER),
            extensions: None,
        };
        verify_authentication(&ctx, &expect, &response, &credential).unwrap();
        group.bench_function("authentication", |b| {
            b.iter(|| {
                verify_authentication(&ctx, &expect, black_box(&response), &credential).unwrap()
            })
        });

        if [
            CoseAlgorithm::ES256,
            CoseAlgorithm::EDDSA,
            CoseAlgorithm::ML_DSA_44,
            CoseAlgorithm::ML_DSA_65,
            CoseAlgorithm::ML_DSA_87,
        ]
        .contains(&alg)
        {
            let cdj = CollectedClientData::new(CeremonyType::Create, &challenge, ORIGIN).to_json();
            for (mode, name) in [
                (AttestationMode::PackedSelf, "registration_packed_self"),
                (AttestationMode::None, "registration_none"),
            ] {
                let (id, att) = virtual_registration(alg, mode, &cdj);
                let response = RegistrationResponse {
                    credential_type: "public-key",
                    raw_id: &id,
                    client_data_json: &cdj,
                    attestation_object: &att,
                    transports: &[],
                    client_extension_results: None,
                };
                let expect = RegistrationExpectations {
                    challenge: &challenge,
                    user_handle: USER,
                    algorithms: &[alg],
                    conditional_mediation: false,
                    extensions: None,
                };
                verify_registration(&ctx, &expect, &response, &|_| false).unwrap();
                group.bench_function(name, |b| {
                    b.iter(|| {
                        verify_registration(&ctx, &expect, black_box(&response), &|_| false)
                            .unwrap()
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(40)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
