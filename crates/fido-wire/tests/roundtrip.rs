//! Property tests: encode/decode round trips for CBOR values, COSE keys,
//! authenticator data and the JSON forms, plus a cross-check of the CBOR
//! decoder against an independent one (ciborium).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use fido_wire::cbor::{self, DecodeOptions, Float, Int, Value};
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey, KeyParams};
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement, UserEntity,
    UserVerificationRequirement,
};
use fido_wire::webauthn::{AttestedCredentialData, AuthenticatorData, Flags};
use proptest::prelude::*;
use std::collections::HashSet;

fn int() -> impl Strategy<Value = Int> {
    prop_oneof![
        (0u64..30).prop_map(Int::from),
        any::<u64>().prop_map(Int::from),
        any::<i64>().prop_map(Int::from),
        (Int::MIN..=Int::MAX).prop_map(|v| Int::try_from(v).unwrap()),
    ]
}

fn scalar(tags: bool, simple: bool) -> BoxedStrategy<Value> {
    let mut options: Vec<BoxedStrategy<Value>> = vec![
        int().prop_map(Value::Integer).boxed(),
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(Value::Bytes)
            .boxed(),
        ".{0,12}".prop_map(Value::Text).boxed(),
        any::<bool>().prop_map(Value::Bool).boxed(),
        Just(Value::Null).boxed(),
    ];
    if simple {
        options.push(Just(Value::Undefined).boxed());
        options.push(
            prop_oneof![0u8..20, 32u8..=255]
                .prop_map(Value::Simple)
                .boxed(),
        );
        options.push(
            any::<u16>()
                .prop_map(|b| Value::Float(Float::Half(b)))
                .boxed(),
        );
    }
    if tags && simple {
        options.push(
            any::<u64>()
                .prop_map(|b| Value::Float(Float::Double(b)))
                .boxed(),
        );
        options.push(
            any::<u32>()
                .prop_map(|b| Value::Float(Float::Single(b)))
                .boxed(),
        );
    }
    proptest::strategy::Union::new(options).boxed()
}

/// Values with unique map keys (by encoding); tags and wide floats only when
/// `general`; simple values and floats only when `simple`.
fn value_with(general: bool, simple: bool) -> impl Strategy<Value = Value> {
    scalar(general, simple).prop_recursive(4, 48, 6, move |inner| {
        let mut options: Vec<BoxedStrategy<Value>> = vec![
            proptest::collection::vec(inner.clone(), 0..6)
                .prop_map(Value::Array)
                .boxed(),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..6)
                .prop_map(|entries| {
                    let mut seen = HashSet::new();
                    Value::Map(
                        entries
                            .into_iter()
                            .filter(|(k, _)| seen.insert(cbor::to_canonical_vec(k)))
                            .collect(),
                    )
                })
                .boxed(),
        ];
        if general {
            options.push(
                (any::<u64>(), inner)
                    .prop_map(|(t, v)| Value::Tag(t, Box::new(v)))
                    .boxed(),
            );
        }
        proptest::strategy::Union::new(options)
    })
}

/// Sorts every map the canonical way, to compare with a canonical decode.
fn value(general: bool) -> impl Strategy<Value = Value> {
    value_with(general, true)
}

fn canonicalize(v: &Value) -> Value {
    cbor::from_slice(&cbor::to_canonical_vec(v), &DecodeOptions::GENERAL).unwrap()
}

fn from_ciborium(v: ciborium::Value) -> Option<Value> {
    Some(match v {
        ciborium::Value::Integer(i) => Value::Integer(Int::try_from(i128::from(i)).ok()?),
        ciborium::Value::Bytes(b) => Value::Bytes(b),
        ciborium::Value::Text(t) => Value::Text(t),
        ciborium::Value::Bool(b) => Value::Bool(b),
        ciborium::Value::Null => Value::Null,
        ciborium::Value::Tag(t, inner) => Value::Tag(t, Box::new(from_ciborium(*inner)?)),
        ciborium::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(from_ciborium)
                .collect::<Option<_>>()?,
        ),
        ciborium::Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Some((from_ciborium(k)?, from_ciborium(v)?)))
                .collect::<Option<_>>()?,
        ),
        // Floats lose their width in ciborium; compared separately.
        _ => return None,
    })
}

fn has_float_or_simple(v: &Value) -> bool {
    match v {
        Value::Float(_) | Value::Simple(_) | Value::Undefined => true,
        Value::Array(items) => items.iter().any(has_float_or_simple),
        Value::Map(entries) => entries
            .iter()
            .any(|(k, v)| has_float_or_simple(k) || has_float_or_simple(v)),
        Value::Tag(_, inner) => has_float_or_simple(inner),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn general_values_round_trip(v in value(true)) {
        let bytes = cbor::to_vec(&v);
        let back = cbor::from_slice(&bytes, &DecodeOptions::GENERAL).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(cbor::to_vec(&back), bytes);
    }

    #[test]
    fn canonical_encoding_is_accepted_by_the_ctap2_profile(v in value(false)) {
        let bytes = cbor::to_canonical_vec(&v);
        let back = cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap();
        prop_assert_eq!(&back, &canonicalize(&v));
        prop_assert_eq!(cbor::to_vec(&back), bytes);
    }

    #[test]
    fn agrees_with_ciborium(v in value_with(true, false)) {
        // ciborium knows no simple values beyond the named ones, and loses float widths.
        prop_assert!(!has_float_or_simple(&v));
        let bytes = cbor::to_vec(&v);
        let theirs: ciborium::Value = ciborium::from_reader(bytes.as_slice()).unwrap();
        prop_assert_eq!(from_ciborium(theirs), Some(v));
    }

    #[test]
    fn mutated_inputs_never_panic_and_accepted_ones_round_trip(
        v in value(true),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = cbor::to_vec(&v);
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(1));
        for opts in [DecodeOptions::GENERAL, DecodeOptions::CTAP2] {
            if let Ok(decoded) = cbor::from_slice(&bytes, &opts) {
                prop_assert_eq!(cbor::to_vec(&decoded), bytes.clone());
            }
        }
    }
}

fn cose_key() -> impl Strategy<Value = CoseKey> {
    let ec2 = (
        proptest::array::uniform32(any::<u8>()),
        proptest::array::uniform32(any::<u8>()),
    )
        .prop_map(|(x, y)| CoseKey {
            kid: None,
            alg: Some(CoseAlgorithm::ES256),
            params: KeyParams::Ec2 {
                curve: CoseCurve::P256,
                x: x.to_vec(),
                y: y.to_vec(),
                d: None,
            },
            other: vec![],
        });
    let okp = proptest::array::uniform32(any::<u8>()).prop_map(|x| CoseKey {
        kid: None,
        alg: Some(CoseAlgorithm::EDDSA),
        params: KeyParams::Okp {
            curve: CoseCurve::ED25519,
            x: x.to_vec(),
            d: None,
        },
        other: vec![],
    });
    let akp = prop_oneof![
        Just(CoseAlgorithm::ML_DSA_44),
        Just(CoseAlgorithm::ML_DSA_65),
        Just(CoseAlgorithm::ML_DSA_87)
    ]
    .prop_flat_map(|alg| {
        let len = alg.ml_dsa_sizes().unwrap().public_key;
        proptest::collection::vec(any::<u8>(), len).prop_map(move |public| CoseKey {
            kid: None,
            alg: Some(alg),
            params: KeyParams::Akp { public, seed: None },
            other: vec![],
        })
    });
    let rsa = (
        proptest::collection::vec(any::<u8>(), 256),
        Just(vec![1u8, 0, 1]),
    )
        .prop_map(|(n, e)| CoseKey {
            kid: None,
            alg: Some(CoseAlgorithm::RS256),
            params: KeyParams::Rsa { n, e },
            other: vec![],
        });
    prop_oneof![ec2, okp, akp, rsa]
}

fn extensions() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        proptest::collection::btree_map("[a-z]{1,12}", any::<bool>(), 0..4)
            .prop_map(|m| Value::map(m.into_iter().map(|(k, v)| (Value::Text(k), Value::Bool(v))))),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cose_keys_round_trip(key in cose_key()) {
        let bytes = key.to_cbor();
        prop_assert_eq!(CoseKey::from_cbor(&bytes).unwrap(), key);
        prop_assert!(cbor::from_slice(&bytes, &DecodeOptions::CTAP2).is_ok());
    }

    #[test]
    fn authenticator_data_round_trips(
        rp_id_hash in proptest::array::uniform32(any::<u8>()),
        flags in any::<u8>(),
        sign_count in any::<u32>(),
        credential in proptest::option::of((proptest::array::uniform16(any::<u8>()), proptest::collection::vec(any::<u8>(), 0..=1023), cose_key())),
        extensions in extensions(),
    ) {
        let attested_credential = credential.map(|(aaguid, id, key)| AttestedCredentialData::new(aaguid, id, key));
        let mut expected_flags = flags & !(Flags::AT | Flags::ED);
        if attested_credential.is_some() { expected_flags |= Flags::AT; }
        if extensions.is_some() { expected_flags |= Flags::ED; }
        let ad = AuthenticatorData { rp_id_hash, flags: Flags(expected_flags), sign_count, attested_credential, extensions };
        let bytes = ad.to_bytes();
        let back = AuthenticatorData::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &ad);
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn creation_and_request_options_round_trip(
        challenge in proptest::collection::vec(any::<u8>(), 16..64),
        user_id in proptest::collection::vec(any::<u8>(), 1..64),
        name in "[a-z]{1,16}",
        algs in proptest::collection::vec(prop_oneof![Just(-7i64), Just(-8), Just(-49), Just(-50), any::<i64>()], 1..6),
        exclude in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 16..80), 0..4),
        timeout in proptest::option::of(any::<u32>()),
        rk in proptest::option::of(prop_oneof![Just("required"), Just("preferred"), Just("discouraged"), Just("future")]),
    ) {
        let creation = CreationOptionsJson {
            rp: RelyingPartyEntity { id: Some("localhost".into()), name: "Keybench".into() },
            user: UserEntity { id: user_id.into(), name: name.clone(), display_name: name },
            challenge: challenge.clone().into(),
            pub_key_cred_params: algs.into_iter().map(|a| CredentialParameters::public_key(CoseAlgorithm(a))).collect(),
            timeout,
            exclude_credentials: exclude.iter().map(|id| CredentialDescriptor { kind: CredentialType::PublicKey, id: id.clone().into(), transports: None }).collect(),
            authenticator_selection: rk.map(|rk| AuthenticatorSelection { resident_key: Some(ResidentKeyRequirement::from(rk)), user_verification: Some(UserVerificationRequirement::Preferred), ..Default::default() }),
            hints: vec![],
            attestation: None,
            attestation_formats: vec![],
            extensions: None,
        };
        let json = serde_json::to_vec(&creation).unwrap();
        prop_assert_eq!(fido_wire::webauthn::json::from_json::<CreationOptionsJson>(&json).unwrap(), creation);

        let request = RequestOptionsJson {
            challenge: challenge.into(),
            timeout,
            rp_id: Some("localhost".into()),
            allow_credentials: exclude.into_iter().map(|id| CredentialDescriptor { kind: CredentialType::PublicKey, id: id.into(), transports: None }).collect(),
            user_verification: None,
            hints: vec![],
            extensions: None,
        };
        let json = serde_json::to_vec(&request).unwrap();
        prop_assert_eq!(fido_wire::webauthn::json::from_json::<RequestOptionsJson>(&json).unwrap(), request);
    }
}
