//! COSE_Key (RFC 9052 §7, RFC 9053, RFC 9964 for ML-DSA AKP keys) to
//! annotated nodes: every label named for its key type, algorithm and curve
//! names, lengths checked against the curve or parameter set, private
//! material redacted, and whether the key is usable for verification here.

use super::cbor;
use super::node::{Node, hex};
use crate::verifier::PublicKeyVerifier;
use fido_wire::cbor::Value;
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey};
use serde_json::json;

/// The name of a COSE algorithm, with the registry value.
pub(crate) fn alg_meaning(alg: i64) -> String {
    let a = CoseAlgorithm(alg);
    match (a.name(), alg) {
        (Some(name), _) => format!("{name}: {}", alg_description(a)),
        (None, -65535) => "RS1: RSASSA-PKCS1-v1_5 with SHA-1 (legacy TPM only)".into(),
        (None, -25) => "ECDH-ES + HKDF-256 (key agreement, not a signature algorithm)".into(),
        (None, -258) => "RS384: RSASSA-PKCS1-v1_5 with SHA-384".into(),
        (None, -259) => "RS512: RSASSA-PKCS1-v1_5 with SHA-512".into(),
        (None, -38) => "PS384: RSASSA-PSS with SHA-384".into(),
        (None, -39) => "PS512: RSASSA-PSS with SHA-512".into(),
        (None, -47) => "ES256K: ECDSA with SHA-256 on secp256k1".into(),
        _ => format!("unknown COSE algorithm {alg}"),
    }
}

fn alg_description(a: CoseAlgorithm) -> &'static str {
    match a {
        CoseAlgorithm::ES256 => "ECDSA with SHA-256 on P-256",
        CoseAlgorithm::ES384 => "ECDSA with SHA-384 on P-384",
        CoseAlgorithm::ES512 => "ECDSA with SHA-512 on P-521",
        CoseAlgorithm::EDDSA => "EdDSA (Ed25519 in WebAuthn)",
        CoseAlgorithm::ED25519 => "Ed25519 (fully specified)",
        CoseAlgorithm::ED448 => "Ed448 (fully specified)",
        CoseAlgorithm::RS256 => "RSASSA-PKCS1-v1_5 with SHA-256",
        CoseAlgorithm::PS256 => "RSASSA-PSS with SHA-256",
        CoseAlgorithm::ML_DSA_44 => "ML-DSA-44 (FIPS 204, post-quantum, NIST level 2)",
        CoseAlgorithm::ML_DSA_65 => "ML-DSA-65 (FIPS 204, post-quantum, NIST level 3)",
        CoseAlgorithm::ML_DSA_87 => "ML-DSA-87 (FIPS 204, post-quantum, NIST level 5)",
        _ => "",
    }
}

fn kty_meaning(kty: i64) -> &'static str {
    match kty {
        1 => "OKP: octet key pair (Ed25519, Ed448, X25519)",
        2 => "EC2: elliptic curve key with x and y",
        3 => "RSA",
        4 => "Symmetric",
        5 => "HSS-LMS",
        6 => "WalnutDSA",
        7 => "AKP: algorithm key pair (ML-DSA, RFC 9964)",
        _ => "unknown key type",
    }
}

fn curve_meaning(crv: i64) -> String {
    CoseCurve(crv)
        .name()
        .map_or_else(|| format!("unknown curve {crv}"), str::to_owned)
}

/// The name and meaning of `label` in a key of type `kty`.
fn label(kty: Option<i64>, label: i64) -> (&'static str, &'static str) {
    match (kty, label) {
        (_, 1) => ("kty", "key type"),
        (_, 2) => ("kid", "key identifier"),
        (_, 3) => ("alg", "algorithm the key is for"),
        (_, 4) => ("key_ops", "permitted operations"),
        (_, 5) => ("Base IV", "base initialisation vector"),
        (Some(1 | 2), -1) => ("crv", "curve"),
        (Some(1), -2) => ("x", "public key"),
        (Some(2), -2) => ("x", "x coordinate"),
        (Some(2), -3) => ("y", "y coordinate"),
        (Some(1 | 2), -4) => ("d", "PRIVATE key"),
        (Some(3), -1) => ("n", "modulus"),
        (Some(3), -2) => ("e", "public exponent"),
        (Some(3), -12..=-3) => ("private", "PRIVATE RSA parameter"),
        (Some(4), -1) => ("k", "PRIVATE symmetric key"),
        (Some(7), -1) => ("pub", "ML-DSA public key (FIPS 204 encoding)"),
        (Some(7), -2) => ("priv", "PRIVATE ML-DSA seed"),
        _ => ("", "label not interpreted here"),
    }
}

/// An annotated COSE_Key.
pub(crate) fn key(name: &str, v: &Value) -> Node {
    let mut n = Node::new(name).kind("COSE_Key");
    let Some(entries) = v.as_map() else {
        return n.error(format!("a COSE key must be a map, found a {}", v.kind()));
    };
    let kty = v.get_int(1).and_then(Value::as_i64);
    let alg = v.get_int(3).and_then(Value::as_i64);
    let crv = v.get_int(-1).and_then(Value::as_i64);
    for (k, item) in entries {
        let Some(l) = k.as_i64() else {
            n.push(cbor::node(cbor::key_name(k), item).meaning("label not interpreted here"));
            continue;
        };
        let (lname, lmeaning) = label(kty, l);
        let shown = if lname.is_empty() {
            l.to_string()
        } else {
            format!("{lname} ({l})")
        };
        let mut f = if lmeaning.starts_with("PRIVATE") {
            // A decoder output ends up on screens and in bug reports: never show secrets.
            let len = item.as_bytes().map_or(0, <[u8]>::len);
            Node::new(shown)
                .kind(cbor::type_name(item))
                .length(len)
                .raw(format!("<redacted, {len} bytes>"))
                .meaning(format!(
                    "{lmeaning}: private key material, which a credential public key must never carry"
                ))
        } else {
            cbor::node(shown, item)
        };
        let meaning = match (l, item.as_i64()) {
            (1, Some(t)) => kty_meaning(t).to_owned(),
            (3, Some(a)) => alg_meaning(a),
            (-1, Some(c)) if matches!(kty, Some(1 | 2)) => curve_meaning(c),
            _ => size_meaning(kty, l, item, alg, crv).unwrap_or_else(|| lmeaning.to_owned()),
        };
        if !lmeaning.starts_with("PRIVATE") {
            f.set_meaning(meaning);
        }
        n.push(f);
    }
    let usable = match CoseKey::from_value(v) {
        Err(e) => json!({ "valid": false, "reason": e.to_string() }),
        Ok(parsed) => match PublicKeyVerifier::from_cose(&parsed) {
            Ok(verifier) => json!({
                "valid": true,
                "verifies": verifier.algorithm().to_string(),
            }),
            Err(e) => json!({ "valid": false, "reason": e.to_string() }),
        },
    };
    n.set_meaning(json!({
        "summary": summary(kty, alg, crv),
        "usableForVerification": usable,
    }));
    n
}

fn summary(kty: Option<i64>, alg: Option<i64>, crv: Option<i64>) -> String {
    let mut parts = Vec::new();
    if let Some(k) = kty {
        parts.push(
            kty_meaning(k)
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    if let (Some(c), Some(1 | 2)) = (crv, kty) {
        parts.push(curve_meaning(c));
    }
    if let Some(a) = alg {
        parts.push(
            CoseAlgorithm(a)
                .name()
                .map_or_else(|| format!("alg {a}"), str::to_owned),
        );
    }
    format!("{} public key", parts.join(" "))
}

/// Length notes for key material whose size the curve or parameter set fixes.
fn size_meaning(
    kty: Option<i64>,
    l: i64,
    item: &Value,
    alg: Option<i64>,
    crv: Option<i64>,
) -> Option<String> {
    let bytes = item.as_bytes()?;
    match (kty, l) {
        (Some(1 | 2), -2 | -3) => {
            let want = crv.and_then(|c| CoseCurve(c).coordinate_len())?;
            Some(if bytes.len() == want {
                format!("{} bytes, as the curve requires", bytes.len())
            } else {
                format!(
                    "{} bytes, but the curve requires {want}: invalid",
                    bytes.len()
                )
            })
        }
        (Some(3), -1) => {
            let significant = bytes.iter().skip_while(|b| **b == 0).count();
            Some(format!("modulus, {} bits", significant * 8))
        }
        (Some(3), -2) => {
            let e = bytes
                .iter()
                .take(8)
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            Some(format!("public exponent {e} (0x{})", hex(bytes)))
        }
        (Some(7), -1) => {
            let a = CoseAlgorithm(alg?);
            let sizes = a.ml_dsa_sizes()?;
            let name = a.name().unwrap_or_default();
            Some(if bytes.len() == sizes.public_key {
                format!(
                    "{name} public key, {} bytes as FIPS 204 requires",
                    bytes.len()
                )
            } else {
                format!(
                    "{} bytes, but a {name} public key is {} bytes: invalid",
                    bytes.len(),
                    sizes.public_key
                )
            })
        }
        _ => None,
    }
}
