//! Ceremony options: a relying party's (PublicKeyCredentialCreationOptionsJSON
//! or RequestOptionsJSON, bare or wrapped as `{"publicKey": …}`, in the
//! strict JSON forms), or Keybench's own for a key tried without one.

use crate::error::KeyOpError;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::base64url::{self, Base64UrlBytes};
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement, UserEntity,
    UserVerificationRequirement,
};

/// Options given as JSON, bare or as `{"publicKey": …}`.
pub fn parse<T: serde::de::DeserializeOwned>(options: &serde_json::Value) -> Result<T, KeyOpError> {
    let inner = options.get("publicKey").unwrap_or(options);
    let bytes = serde_json::to_vec(inner).map_err(|e| KeyOpError::BadOptions(e.to_string()))?;
    fido_wire::webauthn::json::from_json(&bytes).map_err(|e| KeyOpError::BadOptions(e.to_string()))
}

/// Options given as JSON text (a file a relying party wrote).
pub fn parse_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, KeyOpError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| KeyOpError::BadOptions(format!("not JSON: {e}")))?;
    parse(&value)
}

fn random(n: usize) -> Result<Vec<u8>, KeyOpError> {
    let mut v = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut v).map_err(|_| KeyOpError::NoRandomness)?;
    Ok(v)
}

/// Keybench's own registration options: a random user handle and
/// challenge, the algorithms asked for, a discoverable credential or not,
/// and the user verification requirement (`required`, `preferred`,
/// `discouraged`).
pub fn creation(
    rp_id: &str,
    user: &str,
    algorithms: &[CoseAlgorithm],
    resident: bool,
    uv: &str,
) -> Result<CreationOptionsJson, KeyOpError> {
    Ok(CreationOptionsJson {
        rp: RelyingPartyEntity {
            id: Some(rp_id.to_owned()),
            name: "Keybench".into(),
        },
        user: UserEntity {
            id: Base64UrlBytes(random(16)?),
            name: user.to_owned(),
            display_name: user.to_owned(),
        },
        challenge: Base64UrlBytes(random(32)?),
        pub_key_cred_params: algorithms
            .iter()
            .map(|a| CredentialParameters::public_key(*a))
            .collect(),
        timeout: Some(120_000),
        exclude_credentials: vec![],
        authenticator_selection: Some(AuthenticatorSelection {
            resident_key: Some(if resident {
                ResidentKeyRequirement::Required
            } else {
                ResidentKeyRequirement::Discouraged
            }),
            user_verification: Some(UserVerificationRequirement::from(uv)),
            ..AuthenticatorSelection::default()
        }),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: None,
    })
}

/// Keybench's own authentication options: a random challenge, the one
/// credential named (base64url) or none (a discoverable login).
pub fn request(
    rp_id: &str,
    credential: Option<&str>,
    uv: &str,
) -> Result<RequestOptionsJson, KeyOpError> {
    let allow = match credential {
        None => vec![],
        Some(id) => vec![CredentialDescriptor {
            kind: CredentialType::PublicKey,
            id: Base64UrlBytes(base64url::decode(id).map_err(|_| KeyOpError::BadCredentialId)?),
            transports: None,
        }],
    };
    Ok(RequestOptionsJson {
        challenge: Base64UrlBytes(random(32)?),
        timeout: Some(120_000),
        rp_id: Some(rp_id.to_owned()),
        allow_credentials: allow,
        user_verification: Some(UserVerificationRequirement::from(uv)),
        hints: vec![],
        extensions: None,
    })
}

/// The signing algorithms previewSign (the sign extension) can ask for,
/// by name: ESP256, ES256, ESP256-split (-300), ESP256-split-ARKG (the
/// draft's placeholder -65539), ML-DSA-44/65/87; or a COSE number.
pub fn sign_algorithm(name: &str) -> Result<i64, KeyOpError> {
    const NAMES: [(&str, i64); 7] = [
        ("ESP256", -9),
        ("ES256", -7),
        ("ESP256-split", -300),
        ("ESP256-split-ARKG", -65539),
        ("ML-DSA-44", -48),
        ("ML-DSA-65", -49),
        ("ML-DSA-87", -50),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, alg)| *alg)
        .or_else(|| name.parse().ok())
        .ok_or_else(|| KeyOpError::UnknownAlgorithm(name.to_owned()))
}

fn extensions_of(
    extensions: &mut Option<serde_json::Map<String, serde_json::Value>>,
) -> &mut serde_json::Map<String, serde_json::Value> {
    extensions.get_or_insert_with(serde_json::Map::new)
}

/// Adds previewSign's generateKey to registration options (a relying
/// party's or Keybench's own): the key makes a signing key for the first
/// of `algorithms` it offers, reported in the response's client extension
/// results.
pub fn request_sign_key(options: &mut CreationOptionsJson, algorithms: &[i64]) {
    extensions_of(&mut options.extensions).insert(
        "previewSign".into(),
        serde_json::json!({ "generateKey": { "algorithms": algorithms } }),
    );
}

/// Adds previewSign's signByCredential to authentication options that
/// allow exactly one credential: the key signs `tbs` (a SHA-256 digest
/// for the split algorithms) with the signing key `key_handle` names,
/// with the algorithm's `additional_args` (ARKG's COSE_Sign_Args, CBOR).
pub fn request_signature(
    options: &mut RequestOptionsJson,
    key_handle: &[u8],
    tbs: &[u8],
    additional_args: Option<&[u8]>,
) -> Result<(), KeyOpError> {
    let [credential] = options.allow_credentials.as_slice() else {
        return Err(KeyOpError::BadOptions(
            "signing needs exactly one allowed credential (--credential)".into(),
        ));
    };
    let mut entry = serde_json::json!({
        "keyHandle": base64url::encode(key_handle),
        "tbs": base64url::encode(tbs),
    });
    if let (Some(args), Some(map)) = (additional_args, entry.as_object_mut()) {
        map.insert(
            "additionalArgs".into(),
            serde_json::Value::String(base64url::encode(args)),
        );
    }
    let id = base64url::encode(&credential.id.0);
    extensions_of(&mut options.extensions).insert(
        "previewSign".into(),
        serde_json::json!({ "signByCredential": { id: entry } }),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_wrapped_options_parse_alike() {
        let own = request("localhost", None, "preferred").unwrap();
        let bare = serde_json::to_value(&own).unwrap();
        let wrapped = serde_json::json!({ "publicKey": bare });
        let a: RequestOptionsJson = parse(&bare).unwrap();
        let b: RequestOptionsJson = parse(&wrapped).unwrap();
        assert_eq!(a.challenge.0, own.challenge.0);
        assert_eq!(b.challenge.0, own.challenge.0);
        let bad: Result<CreationOptionsJson, _> =
            parse(&serde_json::json!({"publicKey": {"rp": 1}}));
        assert_eq!(bad.unwrap_err().code(), "bad_options");
        let text: Result<RequestOptionsJson, _> = parse_bytes(b"not json");
        assert_eq!(text.unwrap_err().code(), "bad_options");
    }

    #[test]
    fn own_options_are_fresh_each_time() {
        let a = creation(
            "localhost",
            "alice",
            &[CoseAlgorithm::ES256],
            true,
            "required",
        )
        .unwrap();
        let b = creation(
            "localhost",
            "alice",
            &[CoseAlgorithm::ES256],
            true,
            "required",
        )
        .unwrap();
        assert_ne!(a.challenge.0, b.challenge.0);
        assert_eq!(a.challenge.0.len(), 32);
        assert_eq!(
            request("localhost", Some("!!"), "preferred")
                .unwrap_err()
                .code(),
            "bad_credential_id"
        );
    }

    #[test]
    fn sign_extension_inputs_go_into_the_options() {
        assert_eq!(sign_algorithm("esp256-split-arkg").unwrap(), -65539);
        assert_eq!(sign_algorithm("-300").unwrap(), -300);
        assert_eq!(
            sign_algorithm("RSA").unwrap_err().code(),
            KeyOpError::UnknownAlgorithm(String::new()).code()
        );
        let mut c = creation(
            "localhost",
            "alice",
            &[CoseAlgorithm::ES256],
            false,
            "preferred",
        )
        .unwrap();
        request_sign_key(&mut c, &[-9, -7]);
        assert_eq!(
            c.extensions.unwrap()["previewSign"]["generateKey"]["algorithms"],
            serde_json::json!([-9, -7])
        );
        let mut r = request("localhost", None, "preferred").unwrap();
        assert_eq!(
            request_signature(&mut r, b"kh", b"tbs", None)
                .unwrap_err()
                .code(),
            "bad_options"
        );
        let mut r = request("localhost", Some("AQID"), "preferred").unwrap();
        request_signature(&mut r, b"kh", b"tbs", Some(b"args")).unwrap();
        let entry = &r.extensions.unwrap()["previewSign"]["signByCredential"]["AQID"];
        assert_eq!(entry["keyHandle"], "a2g");
        assert_eq!(entry["tbs"], "dGJz");
        assert_eq!(entry["additionalArgs"], "YXJncw");
    }
}
