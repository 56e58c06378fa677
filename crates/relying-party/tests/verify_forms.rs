//! `report::verify_ceremony` reads the forms people bring: the WebAuthn L3
//! test vector "none-es256" and "packed-eddsa" (vendored, see
//! tests/data/README.md) written as different libraries and clients write
//! options and responses, and the stored key as COSE, JWK, PEM and DER
//! SubjectPublicKeyInfo and the registration response; every form verifies,
//! each rewrite is noted, and malformed input gets a clear error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use fido_wire::cose::KeyParams;
use fido_wire::webauthn::AttestationObject;
use relying_party::report::{InputError, StepStatus, VerifyRequest, verify_ceremony};
use relying_party::x509::UnixTime;
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Block = BTreeMap<String, Vec<u8>>;

fn vector(id: &str) -> (Block, Block) {
    let text = include_str!("data/webauthn-l3/test-vectors.bs");
    let mut in_section = false;
    let mut blocks: Vec<Block> = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("## ") {
            in_section = line.contains(&format!("{{#sctn-test-vectors-{id}}}"));
        } else if in_section && line.starts_with("<xmp") {
            current = Some(Block::new());
        } else if in_section && line.starts_with("</xmp>") {
            blocks.extend(current.take());
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
    assert_eq!(blocks.len(), 2, "{id}");
    (blocks[0].clone(), blocks[1].clone())
}

fn b64u(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

const AT: UnixTime = UnixTime(1_785_542_400);

fn verify(options: &Value, response: &Value, key: Option<&[u8]>) -> relying_party::report::Report {
    let o = serde_json::to_vec(options).unwrap();
    let r = serde_json::to_vec(response).unwrap();
    verify_ceremony(&VerifyRequest {
        options: Some(&o),
        response: &r,
        public_key: key,
        origin: Some("https://example.org"),
        at: Some(AT),
        ..Default::default()
    })
    .unwrap()
}

fn creation(reg: &Block) -> Value {
    json!({
        "rp": {"id": "example.org", "name": "Example"},
        "user": {"id": b64u(b"user"), "name": "u", "displayName": "U"},
        "challenge": b64u(&reg["challenge"]),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -8}],
        "timeout": 60000,
        "attestation": "none",
    })
}

#[test]
fn registration_forms_of_the_main_libraries_verify() {
    let (reg, _) = vector("none-es256");
    let id = &reg["credential_id"];
    let browser = json!({
        "id": b64u(id), "rawId": b64u(id), "type": "public-key",
        "authenticatorAttachment": "cross-platform",
        "response": {
            "clientDataJSON": b64u(&reg["clientDataJSON"]),
            "attestationObject": b64u(&reg["attestationObject"]),
            "transports": ["usb"],
            // The convenience members toJSON() and SimpleWebAuthn add.
            "publicKeyAlgorithm": -7,
            "authenticatorData": b64u(&[0u8; 37]),
        },
        "clientExtensionResults": {},
    });
    // SimpleWebAuthn / py_webauthn: the L3 JSON forms as they are.
    let report = verify(&creation(&reg), &browser, None);
    assert!(report.verified, "{:#?}", report.steps);
    assert!(report.notes.iter().all(|n| !n.starts_with("response:")));

    // python-fido2 and webauthn-rs wrap the options in "publicKey"
    // (webauthn-rs with "mediation": null); webauthn-rs's response names the
    // client extension results "extensions".
    let mut webauthn_rs = browser.clone();
    let ext = webauthn_rs
        .as_object_mut()
        .unwrap()
        .remove("clientExtensionResults")
        .unwrap();
    webauthn_rs["extensions"] = ext;
    let report = verify(
        &json!({"publicKey": creation(&reg), "mediation": null}),
        &webauthn_rs,
        None,
    );
    assert!(report.verified, "{:#?}", report.steps);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("wrapped in \"publicKey\"")),
        "{:?}",
        report.notes
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("\"extensions\" read as clientExtensionResults")),
        "{:?}",
        report.notes
    );

    // Hand-rolled servers: standard padded base64, a "credential" wrapper,
    // no "id", the challenge padded in the options.
    let mut options = creation(&reg);
    options["challenge"] = json!(b64(&reg["challenge"]));
    let hand = json!({"credential": {
        "rawId": b64(id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&reg["clientDataJSON"]),
            "attestationObject": b64(&reg["attestationObject"]),
        },
    }});
    let report = verify(&options, &hand, None);
    assert!(report.verified, "{:#?} {:?}", report.steps, report.notes);
    assert!(report.notes.len() >= 4, "{:?}", report.notes);
}

#[test]
fn the_stored_key_in_every_form_verifies_an_assertion() {
    for vector_id in ["none-es256", "packed-eddsa"] {
        let (reg, auth) = vector(vector_id);
        let id = &reg["credential_id"];
        let registration = json!({
            "id": b64u(id), "rawId": b64u(id), "type": "public-key",
            "response": {
                "clientDataJSON": b64u(&reg["clientDataJSON"]),
                "attestationObject": b64u(&reg["attestationObject"]),
            },
        });
        let assertion = json!({
            "id": b64u(id), "rawId": b64u(id), "type": "public-key",
            "response": {
                "clientDataJSON": b64u(&auth["clientDataJSON"]),
                "authenticatorData": b64u(&auth["authenticatorData"]),
                "signature": b64u(&auth["signature"]),
            },
            "clientExtensionResults": {},
        });
        let request = json!({
            "challenge": b64u(&auth["challenge"]),
            "rpId": "example.org",
            "allowCredentials": [{"type": "public-key", "id": b64u(id)}],
        });
        let att = AttestationObject::from_cbor(&reg["attestationObject"]).unwrap();
        let acd = att.auth_data.attested_credential.unwrap();
        let (jwk, spki) = match &acd.public_key.params {
            KeyParams::Ec2 { x, y, .. } => {
                let mut spki =
                    hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
                spki.push(4);
                spki.extend_from_slice(x);
                spki.extend_from_slice(y);
                (
                    json!({"kty": "EC", "crv": "P-256", "x": b64u(x), "y": b64u(y)}),
                    spki,
                )
            }
            KeyParams::Okp { x, .. } => {
                let mut spki = hex::decode("302a300506032b6570032100").unwrap();
                spki.extend_from_slice(x);
                (json!({"kty": "OKP", "crv": "Ed25519", "x": b64u(x)}), spki)
            }
            other => panic!("{other:?}"),
        };
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            b64(&spki)
        );
        let forms: Vec<(&str, Vec<u8>)> = vec![
            (
                "registration response",
                serde_json::to_vec(&registration).unwrap(),
            ),
            ("COSE base64url", b64u(&acd.public_key_cbor).into_bytes()),
            ("COSE hex", hex::encode(&acd.public_key_cbor).into_bytes()),
            ("COSE binary", acd.public_key_cbor.clone()),
            ("JWK", serde_json::to_vec(&jwk).unwrap()),
            ("PEM SubjectPublicKeyInfo", pem.into_bytes()),
            ("DER SubjectPublicKeyInfo", spki),
        ];
        for (form, key) in forms {
            let report = verify(&request, &assertion, Some(&key));
            assert!(report.verified, "{vector_id} {form}: {:#?}", report.steps);
            let sig = report
                .steps
                .iter()
                .find(|s| s.step == "7.2 step 21")
                .unwrap();
            assert_eq!(sig.status, StepStatus::Passed, "{vector_id} {form}");
            // Without a registration the record's counter and BE are unknown.
            let counter = report
                .steps
                .iter()
                .find(|s| s.step == "7.2 step 22")
                .unwrap();
            let expected = if form == "registration response" {
                StepStatus::Passed
            } else {
                StepStatus::NotCheckable
            };
            assert_eq!(counter.status, expected, "{vector_id} {form}");
        }
        // Another key: the signature step fails, and only it.
        let other = if vector_id == "none-es256" {
            json!({"kty": "EC", "crv": "P-256",
                   "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                   "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
        } else {
            json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
        };
        let report = verify(
            &request,
            &assertion,
            Some(&serde_json::to_vec(&other).unwrap()),
        );
        let failed: Vec<&str> = report
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Failed)
            .map(|s| s.step.as_str())
            .collect();
        assert_eq!(failed, ["7.2 step 21"], "{vector_id}");
    }
}

#[test]
fn malformed_inputs_get_clear_errors() {
    let (reg, auth) = vector("none-es256");
    let id = &reg["credential_id"];
    let assertion = serde_json::to_vec(&json!({
        "id": b64u(id), "rawId": b64u(id), "type": "public-key",
        "response": {
            "clientDataJSON": b64u(&auth["clientDataJSON"]),
            "authenticatorData": b64u(&auth["authenticatorData"]),
            "signature": b64u(&auth["signature"]),
        },
    }))
    .unwrap();
    let run = |options: Option<&[u8]>, key: Option<&[u8]>| {
        verify_ceremony(&VerifyRequest {
            options,
            response: &assertion,
            public_key: key,
            origin: Some("https://example.org"),
            challenge: Some("AA"),
            ..Default::default()
        })
    };
    // (options, public key, code, words in the message)
    type Case<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (None, None, "missing_input", "stored public key"),
        (
            None,
            Some(b"{\"kty\":\"EC\",\"crv\":\"P-256\"}"),
            "bad_public_key",
            "\"x\" is missing",
        ),
        (
            None,
            Some(b"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\",\"d\":\"AA\"}"),
            "bad_public_key",
            "private key",
        ),
        (
            None,
            Some(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            "bad_public_key",
            "not a SubjectPublicKeyInfo",
        ),
        (None, Some(b"zz"), "bad_public_key", "not COSE"),
        (
            Some(b"{\"rp\":{}, \"user\":{}}"),
            Some(b"AA"),
            "bad_options",
            "creation options",
        ),
        (Some(b"not json"), None, "bad_options", "not JSON"),
        (
            Some(b"{\"foo\":1}"),
            None,
            "bad_options",
            "neither creation options",
        ),
    ];
    for (options, key, code, words) in cases {
        let err: InputError = run(options, key).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(err.to_string().contains(words), "{err}");
    }
}
