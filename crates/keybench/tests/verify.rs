//! `keybench verify` on other people's bytes: each of the 15 WebAuthn
//! Level 3 test vectors (vendored in crates/relying-party/tests/data, see
//! its README) verifies as a registration and as an authentication, the
//! options and responses written as a relying party and a browser would;
//! the stored key given as the registration response, as COSE and as JWK;
//! a changed challenge fails at its step with a nonzero exit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use fido_wire::webauthn::AttestationObject;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

type Block = BTreeMap<String, Vec<u8>>;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// (section id, blocks) of the vendored test vectors.
fn vectors() -> Vec<(String, Vec<Block>)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../relying-party/tests/data/webauthn-l3/test-vectors.bs"),
    )
    .unwrap();
    let mut out: Vec<(String, Vec<Block>)> = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("## ") {
            if let Some(start) = line.find("{#") {
                out.push((line[start + 2..line.len() - 1].to_string(), Vec::new()));
            }
        } else if line.starts_with("<xmp") {
            current = Some(Block::new());
        } else if line.starts_with("</xmp>") {
            if let (Some(b), Some(last)) = (current.take(), out.last_mut()) {
                last.1.push(b);
            }
        } else if let Some(b) = current.as_mut()
            && let Some((name, rest)) = line.split_once(" = h'")
            && !name.contains(' ')
        {
            b.insert(name.into(), unhex(&rest[..rest.find('\'').unwrap()]));
        }
    }
    out
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p.to_str().unwrap().to_owned()
}

fn keybench(args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// 2026-08-01: inside every vector certificate's validity.
const AT: &str = "1785542400";

#[test]
fn every_webauthn_l3_vector_verifies_through_keybench_verify() {
    let dir = tempfile::tempdir().unwrap();
    let all = vectors();
    let root = &all
        .iter()
        .find(|(id, _)| id == "sctn-test-vectors-attestation-root-cert")
        .unwrap()
        .1[0]["attestation_ca_cert"];
    let ca = dir.path().join("ca.der");
    std::fs::write(&ca, root).unwrap();
    let ca = ca.to_str().unwrap();
    let mut verified = 0;
    let mut table = vec!["| Vector | Registration | Authentication |".to_owned()];
    for (id, blocks) in all
        .iter()
        .filter(|(id, b)| id.starts_with("sctn-test-vectors-") && b.len() == 2)
    {
        let name = id.trim_start_matches("sctn-test-vectors-");
        let (reg, auth) = (&blocks[0], &blocks[1]);
        let params: Vec<Value> = [-7, -35, -36, -8, -53, -257]
            .iter()
            .map(|a| json!({"type": "public-key", "alg": a}))
            .collect();
        let creation = json!({"publicKey": {
            "rp": {"id": "example.org", "name": "Example"},
            "user": {"id": b64(b"vector-user"), "name": "u", "displayName": "U"},
            "challenge": b64(&reg["challenge"]),
            "pubKeyCredParams": params,
            "attestation": "direct",
        }});
        let registration = json!({
            "id": b64(&reg["credential_id"]),
            "rawId": b64(&reg["credential_id"]),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&reg["clientDataJSON"]),
                "attestationObject": b64(&reg["attestationObject"]),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        });
        let o = write(dir.path(), &format!("{name}-creation.json"), &creation);
        let r = write(
            dir.path(),
            &format!("{name}-registration.json"),
            &registration,
        );
        let common = [
            "--origin",
            "https://example.org",
            "--top-origin",
            "https://example.com",
            "--at",
            AT,
            "--json",
        ];
        let mut args = vec![
            "verify",
            "--options",
            &o,
            "--response",
            &r,
            "--trust-anchor",
            ca,
        ];
        args.extend(common);
        let (ok, report, err) = keybench(&args);
        assert!(ok, "{name}: registration: {err}\n{report:#}");
        assert_eq!(report["verified"], true, "{name}");
        let trust = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["rule"] == "attestationTrust")
            .unwrap()["found"]
            .as_str()
            .unwrap()
            .to_owned();

        let request = json!({
            "challenge": b64(&auth["challenge"]),
            "rpId": "example.org",
            "allowCredentials": [{"type": "public-key", "id": b64(&reg["credential_id"])}],
            "userVerification": "preferred",
        });
        let assertion = json!({
            "id": b64(&reg["credential_id"]),
            "rawId": b64(&reg["credential_id"]),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&auth["clientDataJSON"]),
                "authenticatorData": b64(&auth["authenticatorData"]),
                "signature": b64(&auth["signature"]),
            },
            "clientExtensionResults": {},
        });
        let q = write(dir.path(), &format!("{name}-request.json"), &request);
        let a = write(dir.path(), &format!("{name}-assertion.json"), &assertion);
        // The stored key as the registration response, then as COSE base64url.
        let att = AttestationObject::from_cbor(&reg["attestationObject"]).unwrap();
        let cose = att.auth_data.attested_credential.unwrap().public_key_cbor;
        let k = dir.path().join(format!("{name}-key.cose.b64u"));
        std::fs::write(&k, b64(&cose)).unwrap();
        for key in [r.as_str(), k.to_str().unwrap()] {
            let mut args = vec![
                "verify",
                "--options",
                &q,
                "--response",
                &a,
                "--public-key",
                key,
            ];
            args.extend(common);
            let (ok, report, err) = keybench(&args);
            assert!(ok, "{name}: authentication with {key}: {err}\n{report:#}");
            assert_eq!(report["ceremony"], "authentication");
        }
        table.push(format!("| {name} | verified ({trust}) | verified |"));
        verified += 1;
    }
    println!("{}", table.join("\n"));
    assert_eq!(verified, 15);
}

#[test]
fn a_changed_challenge_fails_at_its_step_with_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let all = vectors();
    let reg = &all
        .iter()
        .find(|(id, _)| id == "sctn-test-vectors-none-es256")
        .unwrap()
        .1[0];
    let registration = json!({
        "id": b64(&reg["credential_id"]),
        "rawId": b64(&reg["credential_id"]),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&reg["clientDataJSON"]),
            "attestationObject": b64(&reg["attestationObject"]),
        },
    });
    let r = write(dir.path(), "reg.json", &registration);
    // Options by hand: challenge, RP ID from the origin.
    let (ok, report, err) = keybench(&[
        "verify",
        "--response",
        &r,
        "--challenge",
        &b64(b"another challenge"),
        "--origin",
        "https://example.org",
        "--json",
    ]);
    assert!(!ok);
    assert!(err.contains("7.1 step 8 (challenge_mismatch)"), "{err}");
    let failed: Vec<&Value> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["location"]["path"], "clientDataJSON.challenge");
    // The text form names the step and the spec's sentence.
    let out = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args([
            "verify",
            "--response",
            &r,
            "--challenge",
            &b64(b"x"),
            "--rp-id",
            "example.org",
            "--origin",
            "https://example.org",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[FAIL] 7.1 step 8"), "{text}");
    assert!(
        text.contains("equals the base64url encoding of pkOptions.challenge"),
        "{text}"
    );
    // Malformed input: a clear error, no report.
    std::fs::write(dir.path().join("bad.json"), "{\"response\": 1").unwrap();
    let (ok, _, err) = keybench(&[
        "verify",
        "--response",
        dir.path().join("bad.json").to_str().unwrap(),
        "--challenge",
        "AA",
        "--rp-id",
        "example.org",
    ]);
    assert!(!ok);
    assert!(err.contains("bad_response"), "{err}");
}
