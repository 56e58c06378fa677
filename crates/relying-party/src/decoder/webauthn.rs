//! WebAuthn structures to annotated nodes: authenticator data (§6.1, byte
//! offsets, flags spelled out, AAGUID, credential ID, COSE key, extension
//! outputs), the attestation object (§6.5.4, attStmt members per format,
//! x5c certificates decoded) and clientDataJSON (§5.8.1).

use super::node::{Node, hex, uuid};
use super::{cbor, cert, cose};
use fido_wire::cbor::Value;
use fido_wire::webauthn::{AuthDataError, AuthenticatorData, CollectedClientData, Flags};
use serde_json::json;

const FLAG_BITS: [(u8, &str, &str); 8] = [
    (Flags::UP, "UP", "user present"),
    (0x02, "RFU1", "reserved for future use (must be 0)"),
    (Flags::UV, "UV", "user verified"),
    (
        Flags::BE,
        "BE",
        "backup eligible (a multi-device credential)",
    ),
    (Flags::BS, "BS", "backup state (currently backed up)"),
    (0x20, "RFU2", "reserved for future use (must be 0)"),
    (Flags::AT, "AT", "attested credential data included"),
    (Flags::ED, "ED", "extension data included"),
];

fn flags_node(flags: Flags) -> Node {
    let mut n = Node::new("flags")
        .kind("uint8")
        .length(1)
        .raw(format!("0x{:02x}", flags.0));
    let mut notes = Vec::new();
    for (bit, name, meaning) in FLAG_BITS {
        let set = flags.0 & bit != 0;
        n.push(
            Node::new(name)
                .raw(set)
                .meaning(format!("bit 0x{bit:02x}: {meaning}")),
        );
    }
    if flags.0 & Flags::RFU != 0 {
        notes.push("a reserved bit is set".to_owned());
    }
    if flags.backed_up() && !flags.backup_eligible() {
        notes.push("BS without BE: invalid (§6.1.3)".to_owned());
    }
    n.set_meaning(json!({ "set": flags.names(), "notes": notes }));
    n
}

fn counter_meaning(count: u32) -> String {
    if count == 0 {
        "0: the authenticator keeps no signature counter for this credential (or this is its first use)".into()
    } else {
        format!("{count}: must exceed the stored counter to rule out a cloned authenticator")
    }
}

/// AAGUIDs with a known meaning, for the annotation.
fn aaguid_meaning(aaguid: &[u8; 16]) -> String {
    if aaguid.iter().all(|b| *b == 0) {
        return "all zero: the authenticator does not identify its model (typical for none attestation or U2F)".into();
    }
    if aaguid == b"kbvirt-mldsa-v01" {
        return "the Keybench virtual authenticator".into();
    }
    "authenticator model; look it up in FIDO MDS3 by this AAGUID".into()
}

fn extension_meaning(name: &str, v: &Value) -> String {
    match (name, v) {
        ("credProtect", Value::Integer(i)) => match i.to_i64() {
            Some(1) => "1: userVerificationOptional".into(),
            Some(2) => "2: userVerificationOptionalWithCredentialIDList".into(),
            Some(3) => "3: userVerificationRequired".into(),
            _ => "unknown credProtect level".into(),
        },
        ("hmac-secret", Value::Bool(b)) => format!("hmac-secret enabled: {b}"),
        ("hmac-secret", Value::Bytes(_)) => {
            "encrypted HMAC outputs (decrypted by the client only)".into()
        }
        ("hmac-secret-mc", _) => "encrypted HMAC outputs at creation".into(),
        ("credBlob", Value::Bool(b)) => format!("credBlob stored: {b}"),
        ("credBlob", Value::Bytes(b)) => format!("the stored credBlob, {} bytes", b.len()),
        ("minPinLength", Value::Integer(i)) => format!("minimum PIN length {i}"),
        ("thirdPartyPayment", Value::Bool(b)) => format!("thirdPartyPayment: {b}"),
        ("largeBlobKey", _) => "largeBlobKey (never in authenticator data; suspicious)".into(),
        _ => "extension output not interpreted here".into(),
    }
}

fn extensions_node(v: &Value) -> Node {
    let entries = v.as_map().unwrap_or_default();
    let mut n = Node::new("extensions")
        .kind("map")
        .length(entries.len())
        .meaning("authenticator extension outputs (CBOR map)");
    for (k, item) in entries {
        let name = cbor::key_name(k);
        let m = extension_meaning(&name, item);
        n.push(cbor::node(name, item).meaning(m));
    }
    n
}

/// Annotated authenticator data. Fails only when the bytes are not
/// authenticator data at all; the error says where and why.
pub(crate) fn auth_data(name: &str, bytes: &[u8]) -> Result<Node, AuthDataError> {
    let ad = AuthenticatorData::parse(bytes)?;
    let mut n = Node::new(name).kind("bytes").length(bytes.len());
    n.push(
        Node::bytes("rpIdHash", &ad.rp_id_hash)
            .meaning("SHA-256 of the RP ID (offset 0, 32 bytes); compare with SHA-256(rpId)"),
    );
    n.push(flags_node(ad.flags));
    n.push(
        Node::new("signCount")
            .kind("uint32 big-endian")
            .length(4)
            .raw(ad.sign_count)
            .meaning(counter_meaning(ad.sign_count)),
    );
    if let Some(acd) = &ad.attested_credential {
        let mut a =
            Node::new("attestedCredentialData").meaning("§6.5.2, present because AT is set");
        a.push(
            Node::bytes("aaguid", &acd.aaguid)
                .meaning(json!({ "uuid": uuid(&acd.aaguid), "note": aaguid_meaning(&acd.aaguid) })),
        );
        a.push(
            Node::new("credentialIdLength")
                .kind("uint16 big-endian")
                .length(2)
                .raw(acd.credential_id.len())
                .meaning("length of the credential ID (at most 1023)"),
        );
        a.push(
            Node::bytes("credentialId", &acd.credential_id).meaning(json!({
                "base64url": fido_wire::webauthn::base64url::encode(&acd.credential_id),
            })),
        );
        let key = fido_wire::cbor::from_slice(
            &acd.public_key_cbor,
            &fido_wire::cbor::DecodeOptions::CTAP_ANY_ORDER,
        )
        .map_or_else(
            |e| Node::new("credentialPublicKey").error(e.to_string()),
            |v| cose::key("credentialPublicKey", &v),
        );
        a.push(key.length(acd.public_key_cbor.len()));
        n.push(a);
    }
    if let Some(ext) = &ad.extensions {
        n.push(extensions_node(ext));
    }
    n.set_meaning(json!({
        "flags": ad.flags.names(),
        "signCount": ad.sign_count,
        "hasAttestedCredentialData": ad.attested_credential.is_some(),
        "hasExtensions": ad.extensions.is_some(),
    }));
    Ok(n)
}

fn format_meaning(fmt: &str) -> &'static str {
    match fmt {
        "none" => "none (§8.7): no attestation; nothing about the model is proven",
        "packed" => "packed (§8.2): FIDO2's own format; self attestation or an x5c chain",
        "tpm" => "tpm (§8.3): a TPM 2.0 attestation (certInfo, pubArea, AIK certificate)",
        "android-key" => "android-key (§8.4): Android Keystore hardware attestation",
        "android-safetynet" => "android-safetynet (§8.5): deprecated SafetyNet JWS",
        "fido-u2f" => "fido-u2f (§8.6): a U2F authenticator's attestation",
        "apple" => "apple (§8.8): Apple anonymous attestation",
        _ => "unknown attestation format",
    }
}

fn stmt_member(fmt: &str, name: &str, v: &Value) -> Node {
    match (name, v) {
        ("alg", Value::Integer(i)) => cbor::node(name, v).meaning(
            i.to_i64()
                .map_or_else(|| "not a COSE algorithm".into(), cose::alg_meaning),
        ),
        ("x5c", Value::Array(items)) => {
            let mut n = Node::new("x5c")
                .kind("array")
                .length(items.len())
                .meaning("attestation certificate first, then its issuers");
            for (i, item) in items.iter().enumerate() {
                let label = format!("[{i}]");
                n.push(match item.as_bytes() {
                    Some(der) => cert::certificate(&label, der),
                    None => cbor::node(label, item).error("x5c entries must be byte strings"),
                });
            }
            n
        }
        ("sig", Value::Bytes(_)) => cbor::node(name, v).meaning(match fmt {
            "tpm" => "signature over certInfo by the AIK",
            "fido-u2f" => {
                "signature over 0x00 || rpIdHash || clientDataHash || credentialId || publicKey (U2F)"
            }
            _ => "signature over authenticatorData || SHA-256(clientDataJSON)",
        }),
        ("ver", _) => cbor::node(name, v).meaning("TPM specification version (must be \"2.0\")"),
        ("certInfo", _) => cbor::node(name, v).meaning("TPMS_ATTEST structure the AIK signed"),
        ("pubArea", _) => cbor::node(name, v).meaning("TPMT_PUBLIC: the credential key as the TPM holds it"),
        ("response", Value::Bytes(b)) => cbor::node(name, v).meaning(json!({
            "jws": String::from_utf8_lossy(b),
            "note": "android-safetynet JWS (compact serialisation)",
        })),
        ("ecdaaKeyId", _) => cbor::node(name, v).meaning("ECDAA (removed from WebAuthn L2+)"),
        _ => cbor::node(name, v).meaning("member not interpreted here"),
    }
}

/// Annotated attestation object from its decoded CBOR map. Members that
/// fail to decode are reported inside the tree, not as a failure of the whole.
pub(crate) fn attestation_object(v: &Value) -> Node {
    if v.get_text("fmt").is_none()
        && let Some(webauthn_form) = ctap_form(v)
    {
        let mut n = attestation_object(&webauthn_form);
        n.set_meaning(json!({
            "format": webauthn_form.get_text("fmt").and_then(Value::as_text),
            "note": "a CTAP2 authenticatorMakeCredential response (1 fmt, 2 authData, 3 attStmt), shown with the WebAuthn member names",
        }));
        return n;
    }
    let mut n = Node::new("attestationObject").kind("map");
    let fmt = v
        .get_text("fmt")
        .and_then(Value::as_text)
        .unwrap_or_default();
    for (k, item) in v.as_map().unwrap_or_default() {
        let key = cbor::key_name(k);
        let f = match (key.as_str(), item) {
            ("fmt", Value::Text(t)) => cbor::node("fmt", item).meaning(format_meaning(t)),
            ("attStmt", Value::Map(entries)) => {
                let mut s = Node::new("attStmt")
                    .kind("map")
                    .length(entries.len())
                    .meaning(format!("the {fmt} attestation statement"));
                for (mk, mv) in entries {
                    s.push(stmt_member(fmt, &cbor::key_name(mk), mv));
                }
                if fmt == "packed" && entries.iter().all(|(mk, _)| mk.as_text() != Some("x5c")) {
                    s.set_meaning("packed self attestation: signed by the credential key itself");
                }
                s
            }
            ("authData", Value::Bytes(b)) => match auth_data("authData", b) {
                Ok(a) => a,
                Err(e) => Node::bytes("authData", b).error(e.to_string()),
            },
            _ => cbor::node(key, item)
                .error("not a member of an attestation object, or of the wrong type"),
        };
        n.push(f);
    }
    n.set_meaning(json!({ "format": fmt }));
    n
}

/// Whether a CBOR item looks like an attestation object, in the WebAuthn
/// form (text keys) or the CTAP2 makeCredential response form (1 fmt,
/// 2 authData, 3 attStmt).
pub(crate) fn is_attestation_object(v: &Value) -> bool {
    (v.get_text("fmt").is_some() && v.get_text("authData").is_some()) || ctap_form(v).is_some()
}

/// A CTAP2 makeCredential response rewritten with the WebAuthn member names.
fn ctap_form(v: &Value) -> Option<Value> {
    let fmt = v.get_int(1).filter(|f| f.as_text().is_some())?;
    let auth_data = v.get_int(2).filter(|a| a.as_bytes().is_some())?;
    let att_stmt = v.get_int(3).filter(|s| s.as_map().is_some())?;
    Some(Value::map([
        (Value::text("fmt"), fmt.clone()),
        (Value::text("attStmt"), att_stmt.clone()),
        (Value::text("authData"), auth_data.clone()),
    ]))
}

/// Annotated clientDataJSON.
pub(crate) fn client_data(bytes: &[u8]) -> Result<Node, fido_wire::webauthn::ClientDataError> {
    let stripped = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let cd = CollectedClientData::parse(stripped)?;
    let mut n = Node::new("clientDataJSON").kind("JSON").length(bytes.len());
    if stripped.len() != bytes.len() {
        n.push(
            Node::new("BOM")
                .raw("efbbbf")
                .meaning("UTF-8 byte order mark, ignored when parsing (still signed)"),
        );
    }
    n.push(
        Node::new("type")
            .raw(cd.ceremony.as_str())
            .meaning(match cd.ceremony.as_str() {
                "webauthn.create" => "a registration (navigator.credentials.create)",
                "webauthn.get" => "an authentication (navigator.credentials.get)",
                _ => "neither webauthn.create nor webauthn.get: a relying party must reject it",
            }),
    );
    let challenge = match cd.challenge_bytes() {
        Ok(b) => json!({ "hex": hex(&b), "length": b.len() }),
        Err(e) => json!({ "error": format!("not base64url: {e}") }),
    };
    n.push(
        Node::new("challenge")
            .raw(cd.challenge.clone())
            .meaning(challenge),
    );
    n.push(
        Node::new("origin")
            .raw(cd.origin.clone())
            .meaning("the caller's origin; must be on the relying party's allow-list"),
    );
    if let Some(c) = cd.cross_origin {
        n.push(Node::new("crossOrigin").raw(c).meaning(if c {
            "called from a cross-origin iframe"
        } else {
            "called from a same-origin context"
        }));
    }
    if let Some(t) = &cd.top_origin {
        n.push(
            Node::new("topOrigin")
                .raw(t.clone())
                .meaning("the top-level origin of a cross-origin call"),
        );
    }
    for (k, v) in &cd.other {
        let meaning = match k.as_str() {
            "tokenBinding" => "token binding (obsolete)",
            "other_keys_can_be_added_here" => {
                "a member the specification adds to test that RPs ignore unknown members"
            }
            _ => "a member relying parties ignore",
        };
        n.push(Node::new(k.clone()).raw(v.clone()).meaning(meaning));
    }
    n.set_meaning(json!({
        "ceremony": cd.ceremony.as_str(),
        "sha256": super::node::sha256_hex(bytes),
    }));
    Ok(n)
}

/// Whether a JSON document is a PublicKeyCredential in its L3 JSON form
/// (what `toJSON()` gives and what servers receive).
pub(crate) fn is_credential_json(j: &serde_json::Value) -> bool {
    j.get("response").is_some_and(serde_json::Value::is_object)
}

fn b64_member(name: &str, text: &str, decode: impl FnOnce(&[u8]) -> Node) -> Node {
    match fido_wire::webauthn::base64url::decode(text) {
        Ok(bytes) => decode(&bytes),
        Err(e) => Node::new(name)
            .raw(text.to_owned())
            .error(format!("not base64url: {e}")),
    }
}

/// An annotated PublicKeyCredential JSON (registration or authentication
/// response): each base64url member decoded as what it holds.
pub(crate) fn credential_json(j: &serde_json::Value) -> Node {
    let mut n = Node::new("publicKeyCredential").kind("JSON");
    let empty = serde_json::Map::new();
    for (k, v) in j.as_object().unwrap_or(&empty) {
        let f = match (k.as_str(), v) {
            ("id", serde_json::Value::String(s)) => Node::new("id")
                .raw(s.clone())
                .meaning("the credential ID, base64url"),
            ("rawId", serde_json::Value::String(s)) => b64_member("rawId", s, |b| {
                Node::bytes("rawId", b).meaning("the credential ID; must equal id and authData's")
            }),
            ("type", serde_json::Value::String(s)) => Node::new("type")
                .raw(s.clone())
                .meaning("must be \"public-key\""),
            ("response", serde_json::Value::Object(r)) => {
                let mut rn = Node::new("response").kind("object");
                for (rk, rv) in r {
                    rn.push(response_member(rk, rv));
                }
                rn
            }
            _ => Node::new(k.clone())
                .raw(v.clone())
                .meaning("member not decoded here"),
        };
        n.push(f);
    }
    let ceremony = match j.get("response") {
        Some(r) if r.get("attestationObject").is_some() => "registration",
        Some(r) if r.get("signature").is_some() => "authentication",
        _ => "unknown",
    };
    n.set_meaning(json!({ "ceremony": ceremony }));
    n
}

fn response_member(name: &str, v: &serde_json::Value) -> Node {
    let Some(text) = v.as_str() else {
        return Node::new(name)
            .raw(v.clone())
            .meaning("member not decoded here");
    };
    match name {
        "clientDataJSON" => b64_member(name, text, |b| {
            client_data(b).unwrap_or_else(|e| Node::bytes(name, b).error(e.to_string()))
        }),
        "attestationObject" => b64_member(name, text, |b| {
            match fido_wire::cbor::from_slice(b, &fido_wire::cbor::DecodeOptions::GENERAL) {
                Ok(v) if is_attestation_object(&v) => {
                    let mut n = attestation_object(&v);
                    n.set_meaning(json!({ "format": v.get_text("fmt").and_then(Value::as_text) }));
                    n
                }
                Ok(_) => Node::bytes(name, b).error("not an attestation object"),
                Err(e) => Node::bytes(name, b).error(e.to_string()),
            }
        }),
        "authenticatorData" => b64_member(name, text, |b| {
            auth_data(name, b).unwrap_or_else(|e| Node::bytes(name, b).error(e.to_string()))
        }),
        "signature" => b64_member(name, text, |b| {
            Node::bytes(name, b)
                .meaning("signature over authenticatorData || SHA-256(clientDataJSON)")
        }),
        "userHandle" => b64_member(name, text, |b| {
            Node::bytes(name, b).meaning("the user handle (user.id at registration)")
        }),
        "publicKey" => b64_member(name, text, |b| {
            Node::bytes(name, b).meaning(
                "SubjectPublicKeyInfo the client adds for convenience; a relying party uses the key in authenticatorData, never this",
            )
        }),
        _ => Node::new(name)
            .raw(text.to_owned())
            .meaning("member not decoded here"),
    }
}
