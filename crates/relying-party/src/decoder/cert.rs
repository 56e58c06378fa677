//! X.509 certificates (DER) to annotated nodes: version, serial, signature
//! algorithm, issuer and subject attributes, validity (as UTC and Unix
//! time), the subject public key (curve, RSA size, ML-DSA parameter set),
//! every extension decoded where known (basicConstraints, keyUsage,
//! extendedKeyUsage, subjectAltName incl. TPM attributes, key identifiers,
//! FIDO AAGUID and transports, Android and Apple attestation extensions),
//! the signature and the SHA-256 fingerprint.

use super::node::{Node, hex, sha256_hex, uuid};
use crate::x509::{Certificate, oid};
use serde_json::{Value as Json, json};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::prelude::X509Name;

/// Names for OIDs the general registry lacks (FIDO, TPM, Android, Apple, ML-DSA).
fn known_oid(o: &str) -> Option<&'static str> {
    Some(match o {
        oid::FIDO_AAGUID => "id-fido-gen-ce-aaguid (FIDO authenticator model AAGUID)",
        "1.3.6.1.4.1.45724.2.1.1" => "id-fido-u2f-ce-transports (FIDO transports)",
        oid::ML_DSA_44 => "id-ml-dsa-44 (ML-DSA-44, FIPS 204)",
        oid::ML_DSA_65 => "id-ml-dsa-65 (ML-DSA-65, FIPS 204)",
        oid::ML_DSA_87 => "id-ml-dsa-87 (ML-DSA-87, FIPS 204)",
        oid::ED25519 => "Ed25519",
        oid::EC_PUBLIC_KEY => "id-ecPublicKey (elliptic curve key)",
        oid::P256 => "P-256 (prime256v1, secp256r1)",
        oid::P384 => "P-384 (secp384r1)",
        oid::P521 => "P-521 (secp521r1)",
        oid::RSA => "rsaEncryption",
        oid::RSA_PSS => "RSASSA-PSS",
        oid::ECDSA_SHA256 => "ecdsa-with-SHA256",
        oid::ECDSA_SHA384 => "ecdsa-with-SHA384",
        oid::ECDSA_SHA512 => "ecdsa-with-SHA512",
        oid::RSA_SHA256 => "sha256WithRSAEncryption",
        oid::RSA_SHA384 => "sha384WithRSAEncryption",
        oid::RSA_SHA512 => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption (SHA-1: weak)",
        "1.3.6.1.4.1.11129.2.1.17" => "Android key attestation (KeyDescription)",
        "1.2.840.113635.100.8.2" => "Apple anonymous attestation nonce",
        "2.23.133.8.3" => "tcg-kp-AIKCertificate (TPM attestation identity key)",
        "2.23.133.2.1" => "tcg-at-tpmManufacturer",
        "2.23.133.2.2" => "tcg-at-tpmModel",
        "2.23.133.2.3" => "tcg-at-tpmVersion",
        "1.3.6.1.4.1.311.21.31" => "Microsoft TPM AIK certificate extension",
        "2.5.29.14" => "subjectKeyIdentifier",
        "2.5.29.15" => "keyUsage",
        "2.5.29.17" => "subjectAltName",
        "2.5.29.19" => "basicConstraints",
        "2.5.29.31" => "cRLDistributionPoints",
        "2.5.29.32" => "certificatePolicies",
        "2.5.29.35" => "authorityKeyIdentifier",
        "2.5.29.37" => "extKeyUsage",
        "1.3.6.1.5.5.7.1.1" => "authorityInfoAccess",
        _ => return None,
    })
}

/// The best name for an OID: ours, then x509-parser's registry, else the digits.
pub(crate) fn oid_name(o: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    let dotted = o.to_id_string();
    if let Some(name) = known_oid(&dotted) {
        return name.to_owned();
    }
    let registry = x509_parser::objects::oid_registry();
    x509_parser::objects::oid2sn(o, registry)
        .map(str::to_owned)
        .unwrap_or(dotted)
}

fn oid_node(name: &str, o: &x509_parser::der_parser::oid::Oid<'_>) -> Node {
    Node::new(name)
        .kind("OBJECT IDENTIFIER")
        .raw(o.to_id_string())
        .meaning(oid_name(o))
}

fn name_node(field: &str, name: &X509Name<'_>) -> Node {
    let mut n = Node::new(field).kind("Name").raw(name.to_string());
    for attr in name.iter_attributes() {
        let value = attr
            .as_str()
            .map_or_else(|_| hex(attr.attr_value().data), str::to_owned);
        n.push(
            Node::new(oid_name(attr.attr_type()))
                .raw(value)
                .meaning(attr.attr_type().to_id_string()),
        );
    }
    n
}

fn time_node(field: &str, t: &x509_parser::time::ASN1Time) -> Node {
    let unix = t.timestamp();
    Node::new(field)
        .kind(if t.is_utctime() {
            "UTCTime"
        } else {
            "GeneralizedTime"
        })
        .raw(t.to_string())
        .meaning(json!({ "utc": crate::date::rfc3339(unix), "unix": unix }))
}

/// An annotated certificate; `der` must be one DER certificate.
pub(crate) fn certificate(name: &str, der: &[u8]) -> Node {
    let n = Node::new(name).kind("X.509 certificate").length(der.len());
    let cert = match Certificate::from_der(der) {
        Ok(c) => c,
        Err(e) => return n.error(e.to_string()).raw(hex(der)),
    };
    let built = cert.with_parsed(|c| Ok(annotate(n.clone(), c, der)));
    built.unwrap_or_else(|e| n.error(e.to_string()))
}

fn annotate(mut n: Node, c: &X509Certificate<'_>, der: &[u8]) -> Node {
    let self_issued = c.subject().as_raw() == c.issuer().as_raw();
    let version = c.version().0;
    n.push(
        Node::new("version")
            .kind("INTEGER")
            .raw(version)
            .meaning(format!("v{}", version.saturating_add(1))),
    );
    n.push(
        Node::bytes("serialNumber", c.raw_serial())
            .kind("INTEGER")
            .meaning(c.raw_serial_as_string()),
    );
    n.push(oid_node(
        "signatureAlgorithm",
        &c.signature_algorithm.algorithm,
    ));
    n.push(name_node("issuer", c.issuer()));
    let v = c.validity();
    n.push(
        Node::new("validity")
            .field(time_node("notBefore", &v.not_before))
            .field(time_node("notAfter", &v.not_after)),
    );
    n.push(name_node("subject", c.subject()));
    n.push(public_key(c));
    let mut exts = Node::new("extensions").length(c.extensions().len());
    for e in c.extensions() {
        exts.push(extension(e));
    }
    n.push(exts);
    n.push(Node::bytes("signatureValue", &c.signature_value.data).kind("BIT STRING"));
    n.set_meaning(json!({
        "subject": c.subject().to_string(),
        "issuer": c.issuer().to_string(),
        "selfIssued": self_issued,
        "sha256Fingerprint": sha256_hex(der),
    }));
    n
}

fn public_key(c: &X509Certificate<'_>) -> Node {
    let spki = c.public_key();
    let alg = &spki.algorithm.algorithm;
    let key_oid = alg.to_id_string();
    let mut n = Node::new("subjectPublicKeyInfo").field(oid_node("algorithm", alg));
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    if let Some(curve) = &curve {
        n.push(oid_node("namedCurve", curve));
    }
    let bits: &[u8] = &spki.subject_public_key.data;
    let meaning = match key_oid.as_str() {
        oid::EC_PUBLIC_KEY => format!(
            "elliptic curve key on {}, {} point",
            curve
                .as_ref()
                .map_or_else(|| "an unnamed curve".into(), oid_name),
            if bits.first() == Some(&0x04) {
                "uncompressed"
            } else {
                "compressed or invalid"
            }
        ),
        oid::RSA => match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!(
                "RSA {} bits, exponent {}",
                rsa.key_size(),
                rsa.try_exponent()
                    .map_or_else(|_| hex(rsa.exponent), |e| e.to_string())
            ),
            _ => "RSA key that does not parse".into(),
        },
        oid::ED25519 => format!("Ed25519 key, {} bytes", bits.len()),
        o => match crate::x509::ml_dsa_for_oid(o) {
            Some(a) => {
                let want = a.ml_dsa_sizes().map(|s| s.public_key).unwrap_or_default();
                let name = a.name().unwrap_or_default();
                if bits.len() == want {
                    format!("{name} public key, {want} bytes as FIPS 204 requires")
                } else {
                    format!(
                        "{} bytes, but a {name} public key is {want} bytes: invalid",
                        bits.len()
                    )
                }
            }
            None => "key type not interpreted here".into(),
        },
    };
    n.push(
        Node::bytes("subjectPublicKey", bits)
            .kind("BIT STRING")
            .meaning(meaning),
    );
    n
}

fn general_name(g: &GeneralName<'_>) -> Json {
    match g {
        GeneralName::DirectoryName(name) => {
            // TPM AIK certificates put the TPM attributes here.
            let attrs: Vec<Json> = name
                .iter_attributes()
                .map(|a| {
                    json!({
                        "type": oid_name(a.attr_type()),
                        "value": a.as_str().map_or_else(|_| hex(a.attr_value().data), str::to_owned),
                    })
                })
                .collect();
            json!({ "directoryName": name.to_string(), "attributes": attrs })
        }
        other => json!(other.to_string()),
    }
}

fn extension(e: &X509Extension<'_>) -> Node {
    let dotted = e.oid.to_id_string();
    let n = Node::bytes(oid_name(&e.oid), e.value).kind("Extension");
    let decoded = match (dotted.as_str(), e.parsed_extension()) {
        (oid::FIDO_AAGUID, _) => fido_aaguid(e.value),
        ("1.3.6.1.4.1.45724.2.1.1", _) => fido_transports(e.value),
        (_, ParsedExtension::BasicConstraints(bc)) => json!({
            "cA": bc.ca,
            "pathLenConstraint": bc.path_len_constraint,
        }),
        (_, ParsedExtension::KeyUsage(ku)) => json!(ku.to_string()),
        (_, ParsedExtension::ExtendedKeyUsage(eku)) => {
            let mut uses = Vec::new();
            for (set, name) in [
                (eku.any, "anyExtendedKeyUsage"),
                (eku.server_auth, "serverAuth"),
                (eku.client_auth, "clientAuth"),
                (eku.code_signing, "codeSigning"),
                (eku.email_protection, "emailProtection"),
                (eku.time_stamping, "timeStamping"),
                (eku.ocsp_signing, "OCSPSigning"),
            ] {
                if set {
                    uses.push(name.to_owned());
                }
            }
            uses.extend(eku.other.iter().map(oid_name));
            json!(uses)
        }
        (_, ParsedExtension::SubjectAlternativeName(san)) => {
            json!(
                san.general_names
                    .iter()
                    .map(general_name)
                    .collect::<Vec<_>>()
            )
        }
        (_, ParsedExtension::SubjectKeyIdentifier(k)) => json!(hex(k.0)),
        (_, ParsedExtension::AuthorityKeyIdentifier(aki)) => json!({
            "keyIdentifier": aki.key_identifier.as_ref().map(|k| hex(k.0)),
        }),
        (_, ParsedExtension::CRLDistributionPoints(points)) => json!(
            points
                .points
                .iter()
                .map(|p| format!("{:?}", p.distribution_point))
                .collect::<Vec<_>>()
        ),
        (_, ParsedExtension::AuthorityInfoAccess(aia)) => json!(
            aia.accessdescs
                .iter()
                .map(|d| format!("{}: {}", oid_name(&d.access_method), d.access_location))
                .collect::<Vec<_>>()
        ),
        (_, ParsedExtension::CertificatePolicies(p)) => {
            json!(p.iter().map(|i| oid_name(&i.policy_id)).collect::<Vec<_>>())
        }
        (_, ParsedExtension::ParseError { error }) => json!({ "error": error.to_string() }),
        ("1.3.6.1.4.1.11129.2.1.17", _) => {
            json!("Android KeyDescription (attestation challenge and key authorisations), DER")
        }
        ("1.2.840.113635.100.8.2", _) => {
            json!("Apple nonce: SHA-256 of authenticatorData || clientDataHash, DER")
        }
        _ => json!("extension not interpreted here"),
    };
    n.meaning(json!({
        "oid": dotted,
        "critical": e.critical,
        "value": decoded,
    }))
}

/// id-fido-gen-ce-aaguid: an OCTET STRING with the 16-byte AAGUID.
fn fido_aaguid(value: &[u8]) -> Json {
    match x509_parser::der_parser::der::parse_der_octetstring(value) {
        Ok(([], inner)) => match inner.as_slice() {
            Ok(bytes) => match <[u8; 16]>::try_from(bytes) {
                Ok(a) => json!({ "aaguid": uuid(&a) }),
                Err(_) => json!({ "error": format!("AAGUID is {} bytes, not 16", bytes.len()) }),
            },
            Err(e) => json!({ "error": e.to_string() }),
        },
        Ok(_) => json!({ "error": "bytes follow the OCTET STRING" }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

/// id-fido-u2f-ce-transports: a BIT STRING of transports.
fn fido_transports(value: &[u8]) -> Json {
    let Ok((_, obj)) = x509_parser::der_parser::der::parse_der_bitstring(value) else {
        return json!({ "error": "not a BIT STRING" });
    };
    let Ok(bits) = obj.content.as_bitstring() else {
        return json!({ "error": "not a BIT STRING" });
    };
    let names = [
        "bluetoothRadio",
        "bluetoothLowEnergy",
        "usb",
        "nfc",
        "usbInternal",
    ];
    let set: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| bits.is_set(*i))
        .map(|(_, n)| *n)
        .collect();
    json!(set)
}
