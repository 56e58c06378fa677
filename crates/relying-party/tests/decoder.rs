//! The decoder for users on other people's bytes: every W3C WebAuthn L3
//! test vector (attestation objects of all formats, clientDataJSON,
//! authenticator data, the vectors' CA certificate as DER and PEM),
//! python-fido2's ML-DSA-87 CTAP response, and virtual-authenticator
//! registrations with ML-DSA keys. Also: auto-detection, text encodings,
//! precise errors, redaction of private COSE parameters, and a mutation
//! sweep that must never panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::Engine as _;
use common::Client;
use fido_wire::cbor::{self, Value};
use fido_wire::cose::CoseAlgorithm;
use relying_party::decoder::{DecodeError, InputKind, decode, decode_auto, decode_text};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use virtual_authenticator::AttestationMode;

type Block = BTreeMap<String, Vec<u8>>;

/// (section id, blocks) of the vendored W3C test vectors.
fn vectors() -> Vec<(String, Vec<Block>)> {
    let text = include_str!("data/webauthn-l3/test-vectors.bs");
    let mut out: Vec<(String, Vec<Block>)> = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("## ") {
            if let Some(start) = line.find("{#") {
                out.push((line[start + 2..line.len() - 1].to_string(), Vec::new()));
            }
        } else if line.starts_with("<xmp") {
            current = Some(Block::new());
        } else if line.starts_with("</xmp>") {
            if let (Some(b), Some(s)) = (current.take(), out.last_mut()) {
                s.1.push(b);
            }
        } else if let Some(b) = current.as_mut()
            && let Some((name, rest)) = line.split_once(" = h'")
            && !name.contains(' ')
        {
            b.insert(
                name.into(),
                hex::decode(&rest[..rest.find('\'').unwrap()]).unwrap(),
            );
        }
    }
    out
}

/// The child of `node` named `name`.
fn field<'a>(node: &'a Json, name: &str) -> &'a Json {
    let fields = node["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in {}", node["name"]));
    fields
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| {
            let names: Vec<&Json> = fields.iter().map(|f| &f["name"]).collect();
            panic!("no field {name} in {}: {names:?}", node["name"])
        })
}

fn uuid(b: &[u8]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn ca_cert() -> Vec<u8> {
    vectors()
        .into_iter()
        .find(|(id, _)| id == "sctn-test-vectors-attestation-root-cert")
        .unwrap()
        .1[0]["attestation_ca_cert"]
        .clone()
}

#[test]
fn every_w3c_vector_decodes_with_annotations() {
    let mut count = 0;
    for (id, blocks) in vectors()
        .into_iter()
        .filter(|(id, b)| id.starts_with("sctn-test-vectors-") && b.len() == 2)
    {
        let name = id.trim_start_matches("sctn-test-vectors-");
        let (reg, auth) = (&blocks[0], &blocks[1]);
        let fmt = name.rsplit_once('-').unwrap().0.replace("-es256", "");
        let fmt = match fmt.as_str() {
            f if f.starts_with("none") => "none",
            f if f.starts_with("packed") => "packed",
            f => f.split("-es").next().unwrap(),
        }
        .to_string();

        let att = decode(InputKind::AttestationObject, &reg["attestationObject"]).unwrap();
        assert_eq!(
            decode_auto(&reg["attestationObject"]).unwrap(),
            att,
            "{name}"
        );
        assert_eq!(att["kind"], "attestationObject");
        assert_eq!(field(&att, "fmt")["raw"], fmt.as_str(), "{name}");
        let ad = field(&att, "authData");
        let flags = field(ad, "flags");
        assert!(
            flags["meaning"]["set"]
                .as_array()
                .unwrap()
                .contains(&"AT".into()),
            "{name}"
        );
        assert_eq!(field(flags, "AT")["raw"], true);
        let acd = field(ad, "attestedCredentialData");
        assert_eq!(
            field(acd, "aaguid")["raw"],
            hex::encode(&reg["aaguid"]),
            "{name}"
        );
        assert_eq!(
            field(acd, "aaguid")["meaning"]["uuid"],
            uuid(&reg["aaguid"])
        );
        assert_eq!(
            field(acd, "credentialId")["raw"],
            hex::encode(&reg["credential_id"])
        );
        let key = field(acd, "credentialPublicKey");
        let usable = &key["meaning"]["usableForVerification"];
        assert_eq!(usable["valid"], true, "{name}: {usable}");
        let stmt = field(&att, "attStmt");
        if let Some(serial) = reg.get("attestation_cert_serial_number") {
            // The attestation certificate is decoded, its FIDO AAGUID extension
            // (where the format has one) matches authData's AAGUID.
            let leaf = &field(stmt, "x5c")["fields"][0];
            assert_eq!(leaf["type"], "X.509 certificate", "{name}");
            // raw is the DER INTEGER content, with its sign byte when the top bit is set.
            let raw = field(leaf, "serialNumber")["raw"]
                .as_str()
                .unwrap()
                .to_owned();
            let raw = raw.strip_prefix("00").unwrap_or(&raw);
            assert_eq!(raw, hex::encode(serial), "{name}");
            assert!(field(leaf, "validity")["fields"][1]["meaning"]["unix"].is_i64());
            // The W3C certificates carry no FIDO AAGUID extension (the virtual
            // key's do, see below); where one is present it must match.
            let fido_ext = field(leaf, "extensions")["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["meaning"]["oid"] == "1.3.6.1.4.1.45724.1.1.4");
            if let Some(ext) = fido_ext {
                assert_eq!(
                    ext["meaning"]["value"]["aaguid"],
                    uuid(&reg["aaguid"]),
                    "{name}"
                );
            }
        }
        if fmt == "tpm" {
            // The AIK certificate: TPM attributes in subjectAltName, the AIK EKU.
            let exts = field(&field(stmt, "x5c")["fields"][0], "extensions");
            let san = field(exts, "subjectAltName")["meaning"]["value"][0].to_string();
            assert!(san.contains("tcg-at-tpmManufacturer"), "{san}");
            let eku = &field(exts, "extKeyUsage")["meaning"]["value"];
            assert_eq!(
                eku[0],
                "tcg-kp-AIKCertificate (TPM attestation identity key)"
            );
            assert!(
                field(stmt, "certInfo")["meaning"]
                    .as_str()
                    .unwrap()
                    .contains("TPMS_ATTEST")
            );
        }
        if fmt == "android-key" {
            let exts = field(&field(stmt, "x5c")["fields"][0], "extensions");
            field(exts, "Android key attestation (KeyDescription)");
        }
        if stmt["fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["name"] == "alg"))
        {
            assert!(
                field(stmt, "alg")["meaning"]
                    .as_str()
                    .unwrap()
                    .contains(':'),
                "{name}"
            );
        }

        for block in [reg, auth] {
            let cd = decode(InputKind::ClientDataJson, &block["clientDataJSON"]).unwrap();
            assert_eq!(decode_auto(&block["clientDataJSON"]).unwrap(), cd);
            assert_eq!(
                field(&cd, "challenge")["meaning"]["hex"],
                hex::encode(&block["challenge"]),
                "{name}"
            );
        }
        let a = decode(InputKind::AuthenticatorData, &auth["authenticatorData"]).unwrap();
        assert_eq!(
            decode_auto(&auth["authenticatorData"]).unwrap()["kind"],
            "authenticatorData"
        );
        let count_bytes: [u8; 4] = auth["authenticatorData"][33..37].try_into().unwrap();
        assert_eq!(
            field(&a, "signCount")["raw"],
            u32::from_be_bytes(count_bytes)
        );
        count += 1;
    }
    assert_eq!(count, 15);
}

#[test]
fn ca_certificate_decodes_from_der_and_pem() {
    let der = ca_cert();
    let out = decode(InputKind::Certificate, &der).unwrap();
    assert_eq!(decode_auto(&der).unwrap(), out);
    assert_eq!(out["meaning"]["selfIssued"], true);
    assert_eq!(field(&out, "version")["meaning"], "v3");
    let bc = field(field(&out, "extensions"), "basicConstraints");
    assert_eq!(bc["meaning"]["value"]["cA"], true);
    let spki = field(&out, "subjectPublicKeyInfo");
    assert_eq!(field(spki, "algorithm")["raw"], "1.2.840.10045.2.1");
    assert_eq!(
        field(spki, "namedCurve")["meaning"],
        "P-256 (prime256v1, secp256r1)"
    );

    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        b64.as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(decode(InputKind::Certificate, pem.as_bytes()).unwrap(), out);
    assert_eq!(decode_auto(pem.as_bytes()).unwrap(), out);
    let mut text = decode_text(&pem).unwrap();
    assert_eq!(text["encoding"], "pem");
    text.as_object_mut().unwrap().remove("encoding");
    assert_eq!(text, out);

    // Errors are precise.
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(
        decode(InputKind::Certificate, &trailing).unwrap_err(),
        DecodeError::Certificate(relying_party::x509::CertError::TrailingBytes(1))
    );
    let key_pem = pem.replace("CERTIFICATE", "PRIVATE KEY");
    assert!(
        matches!(decode(InputKind::Certificate, key_pem.as_bytes()), Err(DecodeError::Pem(ref m)) if m.contains("PRIVATE KEY")),
    );
}

#[test]
fn ml_dsa_87_ctap_response_from_python_fido2() {
    let samples: Json =
        serde_json::from_str(include_str!("data/python-fido2/samples.json")).unwrap();
    let resp = hex::decode(
        samples["test_mldsa87_attestation"]["resp"]["hex"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let out = decode_auto(&resp).unwrap();
    assert_eq!(out["kind"], "attestationObject");
    assert!(out["meaning"]["note"].as_str().unwrap().contains("CTAP2"));
    let key = field(
        field(field(&out, "authData"), "attestedCredentialData"),
        "credentialPublicKey",
    );
    assert_eq!(
        field(key, "kty (1)")["meaning"],
        "AKP: algorithm key pair (ML-DSA, RFC 9964)"
    );
    assert!(
        field(key, "alg (3)")["meaning"]
            .as_str()
            .unwrap()
            .starts_with("ML-DSA-87")
    );
    let public = field(key, "pub (-1)");
    assert_eq!(public["length"], 2592);
    assert_eq!(
        public["meaning"],
        "ML-DSA-87 public key, 2592 bytes as FIPS 204 requires"
    );
    assert_eq!(key["meaning"]["usableForVerification"]["valid"], true);
    assert_eq!(key["meaning"]["summary"], "AKP ML-DSA-87 public key");
}

#[test]
fn virtual_key_ml_dsa_registrations_decode() {
    let mut client = Client::new(AttestationMode::PackedBasic);
    for alg in [
        CoseAlgorithm::ML_DSA_44,
        CoseAlgorithm::ML_DSA_65,
        CoseAlgorithm::ES256,
    ] {
        let reg = client.register(alg, &[7; 32]);
        let out = decode_auto(reg.response.attestation_object.as_slice()).unwrap();
        let acd = field(field(&out, "authData"), "attestedCredentialData");
        assert_eq!(
            field(acd, "aaguid")["meaning"]["note"],
            "the Keybench virtual authenticator"
        );
        let key = field(acd, "credentialPublicKey");
        assert_eq!(
            key["meaning"]["usableForVerification"]["verifies"],
            alg.to_string(),
            "{alg:?}"
        );
        // The batch certificate carries the FIDO AAGUID extension.
        let leaf = &field(field(&out, "attStmt"), "x5c")["fields"][0];
        let ext = field(
            field(leaf, "extensions"),
            "id-fido-gen-ce-aaguid (FIDO authenticator model AAGUID)",
        );
        assert_eq!(ext["meaning"]["value"]["aaguid"], uuid(b"kbvirt-mldsa-v01"));
        // And the key alone.
        let key_cbor = reg_key_cbor(reg.response.attestation_object.as_slice());
        let k = decode(InputKind::CoseKey, &key_cbor).unwrap();
        assert_eq!(decode_auto(&key_cbor).unwrap(), k);
        assert_eq!(k["kind"], "coseKey");
    }
}

fn reg_key_cbor(att: &[u8]) -> Vec<u8> {
    fido_wire::webauthn::AttestationObject::from_cbor(att)
        .unwrap()
        .auth_data
        .attested_credential
        .unwrap()
        .public_key_cbor
}

#[test]
fn private_cose_parameters_are_redacted() {
    let d = vec![0x5a; 32];
    let key = Value::map([
        (Value::int(1), Value::int(2)),
        (Value::int(3), Value::int(-7)),
        (Value::int(-1), Value::int(1)),
        (Value::int(-2), Value::bytes(vec![1; 32])),
        (Value::int(-3), Value::bytes(vec![2; 31])),
        (Value::int(-4), Value::bytes(d.clone())),
    ]);
    let out = decode(InputKind::CoseKey, &cbor::to_vec(&key)).unwrap();
    let text = out.to_string();
    assert!(!text.contains(&hex::encode(&d)), "{text}");
    assert_eq!(field(&out, "d (-4)")["raw"], "<redacted, 32 bytes>");
    assert_eq!(
        field(&out, "y (-3)")["meaning"],
        "31 bytes, but the curve requires 32: invalid"
    );
    assert_eq!(out["meaning"]["usableForVerification"]["valid"], false);
    assert_eq!(field(&out, "crv (-1)")["meaning"], "P-256");
}

#[test]
fn text_input_in_hex_and_base64url() {
    let reg = &vectors()
        .into_iter()
        .find(|(id, _)| id == "sctn-test-vectors-packed-es256")
        .unwrap()
        .1[0];
    let att = &reg["attestationObject"];
    let direct = decode_auto(att).unwrap();
    for (text, encoding) in [
        (hex::encode(att), "hex"),
        (hex::encode_upper(att), "hex"),
        (
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(att),
            "base64",
        ),
        (
            base64::engine::general_purpose::STANDARD.encode(att),
            "base64",
        ),
    ] {
        let mut out = decode_text(&format!("  {text}\n")).unwrap();
        assert_eq!(out["encoding"], encoding);
        out.as_object_mut().unwrap().remove("encoding");
        assert_eq!(out, direct);
    }
    let cdj = std::str::from_utf8(&reg["clientDataJSON"]).unwrap();
    assert_eq!(decode_text(cdj).unwrap()["kind"], "clientDataJSON");
}

#[test]
fn errors_name_the_problem() {
    let reg = &vectors()
        .into_iter()
        .find(|(id, _)| id == "sctn-test-vectors-none-es256")
        .unwrap()
        .1[0];
    let att = &reg["attestationObject"];
    // Truncated authenticator data: where and why.
    let err = decode(InputKind::AuthenticatorData, &[0u8; 36]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not authenticator data: authenticator data ends at byte 36 inside signCount (needs 4 bytes from byte 33)"
    );
    // Truncated attestation object: CBOR error with the offset.
    let err = decode(InputKind::AttestationObject, &att[..att.len() - 1]).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Cbor(cbor::DecodeError::UnexpectedEnd { .. })
        ),
        "{err}"
    );
    // A CBOR map that is not an attestation object.
    assert_eq!(
        decode(InputKind::AttestationObject, &[0xa1, 0x01, 0x02]).unwrap_err(),
        DecodeError::NotAttestationObject("the map lacks \"fmt\" or \"authData\"".into())
    );
    assert_eq!(
        decode(InputKind::CoseKey, &[0x83, 1, 2, 3]).unwrap_err(),
        DecodeError::NotCoseKey("array")
    );
    // Broken authData inside an attestation object: reported in place.
    let mut v = cbor::from_slice(att, &cbor::DecodeOptions::GENERAL).unwrap();
    if let Value::Map(entries) = &mut v {
        for (k, val) in entries.iter_mut() {
            if k.as_text() == Some("authData") {
                *val = Value::bytes(vec![0u8; 40]);
            }
        }
    }
    let out = decode(InputKind::AttestationObject, &cbor::to_vec(&v)).unwrap();
    assert_eq!(
        field(&out, "authData")["error"],
        "3 unexpected byte(s) at byte 37 (flags Flags(0x00 ) announce nothing more)"
    );
    // Nesting over the limit.
    let deep: Vec<u8> = std::iter::repeat_n(0x81u8, 40).chain([0x00]).collect();
    assert!(matches!(
        decode(InputKind::Cbor, &deep),
        Err(DecodeError::Cbor(cbor::DecodeError::DepthLimit { .. }))
    ));
    // Unrecognisable bytes.
    assert!(matches!(
        decode_auto(&[0xff, 0x00, 0x01]),
        Err(DecodeError::NotRecognised(_))
    ));
    assert!(matches!(
        decode_text("hello, world"),
        Err(DecodeError::TextEncoding(_))
    ));
}

/// Deterministic mutations (xorshift) of every vector: each kind and the
/// auto-detection return a value or an error, never panic, and what they
/// return serialises.
#[test]
fn mutated_inputs_never_panic() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for (_, blocks) in vectors() {
        for b in blocks {
            for k in [
                "attestationObject",
                "authenticatorData",
                "clientDataJSON",
                "attestation_ca_cert",
            ] {
                if let Some(v) = b.get(k) {
                    inputs.push(v.clone());
                }
            }
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let kinds = [
        InputKind::AttestationObject,
        InputKind::AuthenticatorData,
        InputKind::ClientDataJson,
        InputKind::CoseKey,
        InputKind::Certificate,
        InputKind::Cbor,
    ];
    let mut decoded = 0;
    for input in &inputs {
        for _ in 0..25 {
            let mut m = input.clone();
            match next() % 3 {
                0 => {
                    let i = (next() as usize) % m.len();
                    m[i] ^= 1 << (next() % 8);
                }
                1 => m.truncate((next() as usize) % m.len()),
                _ => {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
            }
            for kind in kinds {
                if let Ok(out) = decode(kind, &m) {
                    decoded += 1;
                    let _ = out.to_string();
                }
            }
            let _ = decode_auto(&m).map(|o| o.to_string());
            let _ = decode_text(&String::from_utf8_lossy(&m));
        }
    }
    assert!(decoded > 0);
}

#[test]
fn pasted_credential_json_is_decoded_member_by_member() {
    let mut client = Client::new(AttestationMode::PackedSelf);
    let reg = client.register(CoseAlgorithm::ML_DSA_65, &[9; 32]);
    let text = serde_json::to_string(&reg).unwrap();
    let out = decode_text(&text).unwrap();
    assert_eq!(out["kind"], "publicKeyCredential");
    assert_eq!(out["meaning"]["ceremony"], "registration");
    assert_eq!(
        decode_auto(text.as_bytes()).unwrap()["kind"],
        "publicKeyCredential"
    );
    let response = field(&out, "response");
    assert_eq!(
        field(field(response, "clientDataJSON"), "type")["raw"],
        "webauthn.create"
    );
    let att = field(response, "attestationObject");
    assert_eq!(field(att, "fmt")["raw"], "packed");
    assert_eq!(
        field(&out, "rawId")["raw"],
        hex::encode(reg.raw_id.as_slice())
    );

    let assertion = client.authenticate(reg.raw_id.as_slice(), &[1; 32]);
    let out = decode_text(&serde_json::to_string(&assertion).unwrap()).unwrap();
    assert_eq!(out["meaning"]["ceremony"], "authentication");
    let response = field(&out, "response");
    assert_eq!(
        field(field(response, "authenticatorData"), "signCount")["raw"],
        1
    );
    assert_eq!(field(response, "signature")["length"], 3309);
    // A broken member is reported in place.
    let mut broken: Json = serde_json::to_value(&assertion).unwrap();
    broken["response"]["authenticatorData"] = Json::String("AAAA".into());
    let out = decode_text(&broken.to_string()).unwrap();
    assert!(
        field(field(&out, "response"), "authenticatorData")["error"]
            .as_str()
            .unwrap()
            .contains("ends at byte 3")
    );
}
