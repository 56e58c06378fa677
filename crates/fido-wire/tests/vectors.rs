//! Published vectors, vendored in tests/data (see its README for sources):
//! the WebAuthn Level 3 test vectors and the COSE ML-DSA examples of the draft
//! that became RFC 9964. Each decodes, and re-encodes byte for byte.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use fido_wire::cbor::{self, DecodeOptions, Value};
use fido_wire::cose::{CoseAlgorithm, CoseKey, KeyParams};
use fido_wire::webauthn::base64url;
use fido_wire::webauthn::json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson, CredentialType,
    RegistrationResponseJson,
};
use fido_wire::webauthn::{
    AttestationObject, AuthenticatorData, CeremonyType, CollectedClientData,
};
use std::collections::BTreeMap;

/// One `<xmp>` example block: its `name = h'…'` values.
type Block = BTreeMap<String, Vec<u8>>;

/// A test-vector section: its anchor id and example blocks in order.
struct Section {
    id: String,
    blocks: Vec<Block>,
}

fn webauthn_sections() -> Vec<Section> {
    let text = include_str!("data/webauthn-l3/test-vectors.bs");
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("## ") {
            if let Some(start) = line.find("{#") {
                let id = line[start + 2..line.len() - 1].to_string();
                sections.push(Section {
                    id,
                    blocks: Vec::new(),
                });
            }
        } else if line.starts_with("<xmp") {
            current = Some(Block::new());
        } else if line.starts_with("</xmp>") {
            if let (Some(block), Some(section)) = (current.take(), sections.last_mut()) {
                section.blocks.push(block);
            }
        } else if let Some(block) = current.as_mut() {
            // name = h'hex'   ; comment
            if let Some((name, rest)) = line.split_once(" = h'")
                && !name.contains(' ')
            {
                let hex_str = &rest[..rest.find('\'').unwrap()];
                block.insert(name.to_string(), hex::decode(hex_str).unwrap());
            }
        }
    }
    sections
}

fn ceremony_sections() -> Vec<Section> {
    webauthn_sections()
        .into_iter()
        .filter(|s| s.id.starts_with("sctn-test-vectors-") && s.blocks.len() == 2)
        .collect()
}

#[test]
fn webauthn_vectors_are_all_found() {
    let ids: Vec<String> = ceremony_sections().into_iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 15, "{ids:?}");
    for expected in [
        "none-es256",
        "packed-es512",
        "packed-rs256",
        "packed-ed448",
        "tpm-es256",
        "android-key-es256",
        "apple-es256",
        "fido-u2f-es256",
    ] {
        assert!(
            ids.iter().any(|id| id.ends_with(expected)),
            "{expected} missing from {ids:?}"
        );
    }
}

fn expected_fmt(id: &str) -> &'static str {
    for fmt in ["packed", "tpm", "android-key", "apple", "fido-u2f"] {
        if id.starts_with(&format!("sctn-test-vectors-{fmt}")) {
            return fmt;
        }
    }
    "none"
}

fn expected_alg(id: &str) -> CoseAlgorithm {
    if id.ends_with("es384") {
        CoseAlgorithm::ES384
    } else if id.ends_with("es512") {
        CoseAlgorithm::ES512
    } else if id.ends_with("rs256") {
        CoseAlgorithm::RS256
    } else if id.ends_with("ed448") {
        CoseAlgorithm::ED448
    } else if id.ends_with("eddsa") {
        CoseAlgorithm::EDDSA
    } else {
        CoseAlgorithm::ES256
    }
}

#[test]
fn webauthn_registrations_decode_and_reencode_byte_for_byte() {
    for section in ceremony_sections() {
        let reg = &section.blocks[0];
        let id = &section.id;
        let att_bytes = &reg["attestationObject"];

        // Generic CBOR: canonical, and re-encodes exactly.
        let generic = cbor::from_slice(att_bytes, &DecodeOptions::CTAP2)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(&cbor::to_vec(&generic), att_bytes, "{id}");

        // Typed.
        let att = AttestationObject::from_cbor(att_bytes).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(&att.to_cbor(), att_bytes, "{id}");
        assert_eq!(att.fmt, expected_fmt(id), "{id}");
        let acd = att.auth_data.attested_credential.as_ref().unwrap();
        assert_eq!(acd.credential_id, reg["credential_id"], "{id}");
        assert_eq!(acd.aaguid.as_slice(), reg["aaguid"].as_slice(), "{id}");
        assert_eq!(acd.public_key.alg, Some(expected_alg(id)), "{id}");
        assert_eq!(
            acd.public_key.to_cbor(),
            acd.public_key_cbor,
            "{id}: key re-encodes"
        );
        assert_eq!(att.auth_data.to_bytes(), att.auth_data_bytes, "{id}");
        assert!(att.auth_data.flags.user_present(), "{id}");

        // The authenticator data flags follow the generator's inputs:
        // the UV, BE and BS bits of auth_data_UV_BE_BS are copied (BS only if BE).
        let flags = att.auth_data.flags;
        if let Some(bits) = reg.get("auth_data_UV_BE_BS") {
            let uv_be_bs = bits[0];
            assert_eq!(flags.user_verified(), uv_be_bs & 0x04 != 0, "{id} UV");
            assert_eq!(flags.backup_eligible(), uv_be_bs & 0x08 != 0, "{id} BE");
            assert_eq!(flags.backed_up(), uv_be_bs & 0x18 == 0x18, "{id} BS");
        }

        // clientDataJSON.
        let cdj = &reg["clientDataJSON"];
        let cd = CollectedClientData::parse(cdj).unwrap();
        assert_eq!(cd.ceremony, CeremonyType::Create, "{id}");
        assert_eq!(cd.origin, "https://example.org", "{id}");
        assert_eq!(cd.challenge_bytes().unwrap(), reg["challenge"], "{id}");
        assert_eq!(&cd.to_json(), cdj, "{id}: CCDToString form");
        assert_eq!(
            cd.cross_origin == Some(true),
            id.contains("crossOrigin") || id.contains("topOrigin"),
            "{id}"
        );
        assert_eq!(
            cd.top_origin.as_deref(),
            id.contains("topOrigin").then_some("https://example.com"),
            "{id}"
        );
    }
}

#[test]
fn webauthn_authentications_decode_and_reencode_byte_for_byte() {
    for section in ceremony_sections() {
        let id = &section.id;
        let reg_att =
            AttestationObject::from_cbor(&section.blocks[0]["attestationObject"]).unwrap();
        let auth = &section.blocks[1];
        let ad_bytes = &auth["authenticatorData"];
        let ad = AuthenticatorData::parse(ad_bytes).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(&ad.to_bytes(), ad_bytes, "{id}");
        assert_eq!(ad.rp_id_hash, reg_att.auth_data.rp_id_hash, "{id}");
        assert!(ad.attested_credential.is_none(), "{id}");
        let cd = CollectedClientData::parse(&auth["clientDataJSON"]).unwrap();
        assert_eq!(cd.ceremony, CeremonyType::Get, "{id}");
        assert_eq!(cd.challenge_bytes().unwrap(), auth["challenge"], "{id}");
        assert_eq!(cd.to_json(), auth["clientDataJSON"], "{id}");
        assert!(!auth["signature"].is_empty());
    }
}

#[test]
fn webauthn_vectors_survive_the_json_forms() {
    for section in ceremony_sections() {
        let reg = &section.blocks[0];
        let auth = &section.blocks[1];
        let cred_id = reg["credential_id"].clone();
        let registration = RegistrationResponseJson {
            id: base64url::encode(&cred_id),
            raw_id: cred_id.clone().into(),
            response: AttestationResponseJson {
                client_data_json: reg["clientDataJSON"].clone().into(),
                authenticator_data: None,
                transports: vec![],
                public_key: None,
                public_key_algorithm: Some(expected_alg(&section.id)),
                attestation_object: reg["attestationObject"].clone().into(),
            },
            authenticator_attachment: None,
            client_extension_results: Default::default(),
            kind: CredentialType::PublicKey,
        };
        let json = serde_json::to_vec(&registration).unwrap();
        let back: RegistrationResponseJson = fido_wire::webauthn::json::from_json(&json).unwrap();
        assert_eq!(back, registration);
        back.check_id().unwrap();

        let authentication = AuthenticationResponseJson {
            id: base64url::encode(&cred_id),
            raw_id: cred_id.into(),
            response: AssertionResponseJson {
                client_data_json: auth["clientDataJSON"].clone().into(),
                authenticator_data: auth["authenticatorData"].clone().into(),
                signature: auth["signature"].clone().into(),
                user_handle: None,
                attestation_object: None,
            },
            authenticator_attachment: None,
            client_extension_results: Default::default(),
            kind: CredentialType::PublicKey,
        };
        let json = serde_json::to_vec(&authentication).unwrap();
        let back: AuthenticationResponseJson = fido_wire::webauthn::json::from_json(&json).unwrap();
        assert_eq!(back, authentication);
    }
}

struct CoseExample {
    alg: CoseAlgorithm,
    json: serde_json::Value,
}

impl CoseExample {
    fn hex(&self, field: &str) -> Vec<u8> {
        hex::decode(self.json[field].as_str().unwrap()).unwrap()
    }
    fn text(&self, field: &str) -> &str {
        self.json[field].as_str().unwrap()
    }
}

fn cose_examples() -> Vec<CoseExample> {
    [
        (
            CoseAlgorithm::ML_DSA_44,
            include_str!("data/cose-ml-dsa/ML_DSA_44.cose.json"),
        ),
        (
            CoseAlgorithm::ML_DSA_65,
            include_str!("data/cose-ml-dsa/ML_DSA_65.cose.json"),
        ),
        (
            CoseAlgorithm::ML_DSA_87,
            include_str!("data/cose-ml-dsa/ML_DSA_87.cose.json"),
        ),
    ]
    .into_iter()
    .map(|(alg, text)| CoseExample {
        alg,
        json: serde_json::from_str(text).unwrap(),
    })
    .collect()
}

#[test]
fn cose_ml_dsa_keys_decode_and_reencode_byte_for_byte() {
    for ex in cose_examples() {
        let bytes = ex.hex("key");
        // The example orders keys 2, 1, 3, -1, -2: well-formed but not CTAP2 canonical.
        assert!(matches!(
            cbor::from_slice(&bytes, &DecodeOptions::CTAP2),
            Err(cbor::DecodeError::MapKeysNotCanonical { .. })
        ));
        let value = cbor::from_slice(&bytes, &DecodeOptions::GENERAL).unwrap();
        assert_eq!(cbor::to_vec(&value), bytes, "{:?}", ex.alg);
        assert_eq!(value.to_string(), ex.text("key_diag"), "{:?}", ex.alg);

        let key = CoseKey::from_value(&value).unwrap();
        assert_eq!(key.alg, Some(ex.alg));
        let KeyParams::Akp { public, seed } = &key.params else {
            panic!("not AKP")
        };
        assert_eq!(public, &ex.hex("raw_public_key"));
        assert_eq!(public.len(), ex.alg.ml_dsa_sizes().unwrap().public_key);
        assert_eq!(seed.as_ref().unwrap().0, ex.hex("priv"));
        assert_eq!(
            key.to_cbor(),
            cbor::to_canonical_vec(&value),
            "typed form keeps every parameter"
        );
        // What a credential public key would carry: no seed, canonical.
        let public_only = key.public_only().to_cbor();
        assert!(
            CoseKey::from_cbor(&public_only).unwrap().params
                == KeyParams::Akp {
                    public: public.clone(),
                    seed: None
                }
        );
    }
}

#[test]
fn cose_ml_dsa_sign1_decodes_and_its_sig_structure_matches() {
    for ex in cose_examples() {
        let bytes = ex.hex("sign1");
        let value = cbor::from_slice(&bytes, &DecodeOptions::GENERAL).unwrap();
        assert_eq!(cbor::to_vec(&value), bytes);
        assert_eq!(value.to_string(), ex.text("sign1_diag"));

        // COSE_Sign1 = 18([protected: bstr, unprotected: map, payload: bstr, signature: bstr])
        let Value::Tag(18, inner) = &value else {
            panic!("not tag 18")
        };
        let parts = inner.as_array().unwrap();
        let protected_bytes = parts[0].as_bytes().unwrap();
        let protected = cbor::from_slice(protected_bytes, &DecodeOptions::GENERAL).unwrap();
        assert_eq!(protected.get_int(1).and_then(Value::as_i64), Some(ex.alg.0));
        let signature = parts[3].as_bytes().unwrap();
        assert_eq!(signature, ex.hex("raw_signature"));
        assert_eq!(signature.len(), ex.alg.ml_dsa_sizes().unwrap().signature);

        // RFC 9052 §4.4 Sig_structure, rebuilt from our parse, equals the published bytes.
        let sig_structure = Value::Array(vec![
            Value::text("Signature1"),
            Value::bytes(protected_bytes.to_vec()),
            Value::bytes(Vec::new()),
            parts[2].clone(),
        ]);
        assert_eq!(cbor::to_vec(&sig_structure), ex.hex("raw_to_be_signed"));
    }
}
