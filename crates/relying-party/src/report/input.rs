//! The JSON forms people bring to "verify this ceremony": options as a
//! relying party sent them (bare, or wrapped in `publicKey` as
//! python-fido2 and webauthn-rs write them) and responses as clients and
//! libraries serialise them (the browser's `toJSON()`, SimpleWebAuthn,
//! py_webauthn, webauthn-rs's `extensions` member). Byte members in padded
//! or standard base64, or as arrays of numbers, are rewritten as the
//! unpadded base64url the WebAuthn L3 JSON forms use, and each rewrite is
//! noted; the strict fido-wire types then parse the result.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value as Json};

/// The largest JSON document read (options, response or key).
pub const MAX_INPUT_LEN: usize = fido_wire::webauthn::json::MAX_JSON_LEN;

/// Why the inputs cannot be verified (before any step runs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The options are not options in any accepted form.
    #[error("options: {0}")]
    Options(String),
    /// The response is not a registration or authentication response.
    #[error("response: {0}")]
    Response(String),
    /// The public key is not in any accepted form.
    #[error("public key: {0}")]
    PublicKey(String),
    /// A value needed to verify was given nowhere.
    #[error("{0}")]
    Missing(String),
    /// A trust anchor certificate does not parse.
    #[error("trust anchor: {0}")]
    TrustAnchor(String),
}

impl InputError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::Options(_) => "bad_options",
            InputError::Response(_) => "bad_response",
            InputError::PublicKey(_) => "bad_public_key",
            InputError::Missing(_) => "missing_input",
            InputError::TrustAnchor(_) => "bad_trust_anchor",
        }
    }

    /// Every code [`InputError::code`] answers.
    pub const CODES: &'static [&'static str] = &[
        "bad_options",
        "bad_response",
        "bad_public_key",
        "missing_input",
        "bad_trust_anchor",
    ];
}

/// A JSON document rewritten into the strict form, with what was rewritten.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    /// The document in the WebAuthn L3 JSON form.
    pub value: Json,
    /// One line per rewrite.
    pub notes: Vec<String>,
}

/// Base64 in any alphabet, padded or not (trailing bits tolerated).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The bytes of a byte member: base64url, base64 (padded or not), an
/// array of numbers, or Node's `{"type": "Buffer", "data": [...]}`.
fn member_bytes(v: &Json) -> Option<(Vec<u8>, Option<&'static str>)> {
    match v {
        Json::String(s) => {
            if fido_wire::webauthn::base64url::decode(s).is_ok() {
                return None;
            }
            let url = s.trim().replace('+', "-").replace('/', "_");
            let form = if s.contains(['+', '/']) {
                "standard base64"
            } else {
                "padded base64url"
            };
            LENIENT.decode(url.as_bytes()).ok().map(|b| (b, Some(form)))
        }
        Json::Array(items) => items
            .iter()
            .map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect::<Option<Vec<u8>>>()
            .map(|b| (b, Some("an array of numbers"))),
        Json::Object(m) if m.get("type").and_then(Json::as_str) == Some("Buffer") => m
            .get("data")
            .and_then(member_bytes)
            .map(|(b, _)| (b, Some("a Node Buffer"))),
        _ => None,
    }
}

/// Rewrites the byte member at `path` (a JSON pointer) if it is not already
/// base64url; an unreadable value is left for the strict parser to name.
fn fix(value: &mut Json, path: &str, notes: &mut Vec<String>) {
    let Some(v) = value.pointer_mut(path) else {
        return;
    };
    if let Some((bytes, Some(form))) = member_bytes(v) {
        *v = Json::String(fido_wire::webauthn::base64url::encode(&bytes));
        notes.push(format!(
            "{} was {form}; read as unpadded base64url",
            path.trim_start_matches('/').replace('/', ".")
        ));
    }
}

fn parse_json(bytes: &[u8], what: fn(String) -> InputError) -> Result<Json, InputError> {
    if bytes.len() > MAX_INPUT_LEN {
        return Err(what(format!(
            "{} bytes, over the limit of {MAX_INPUT_LEN}",
            bytes.len()
        )));
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    serde_json::from_slice(text).map_err(|e| what(format!("not JSON: {e}")))
}

/// Which options a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionsKind {
    /// PublicKeyCredentialCreationOptionsJSON.
    Creation,
    /// PublicKeyCredentialRequestOptionsJSON.
    Request,
}

/// Options, unwrapped and normalised, with `mediation` if the wrapper had it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionsDocument {
    /// Creation or request.
    pub kind: OptionsKind,
    /// The inner options.
    pub options: Normalised,
    /// `mediation` from a `{"publicKey": …, "mediation": …}` wrapper.
    pub mediation: Option<String>,
}

/// Reads options JSON in any accepted form.
pub fn options(bytes: &[u8]) -> Result<OptionsDocument, InputError> {
    let outer = parse_json(bytes, InputError::Options)?;
    let mut notes = Vec::new();
    let mediation = outer
        .get("mediation")
        .and_then(Json::as_str)
        .map(str::to_owned);
    let mut value = match outer.get("publicKey") {
        Some(inner) => {
            notes.push("options were wrapped in \"publicKey\"".to_owned());
            inner.clone()
        }
        None => outer,
    };
    let Some(map) = value.as_object() else {
        return Err(InputError::Options("a JSON object is required".into()));
    };
    let kind = if map.contains_key("pubKeyCredParams") || map.contains_key("user") {
        OptionsKind::Creation
    } else if map.contains_key("challenge") {
        OptionsKind::Request
    } else {
        return Err(InputError::Options(
            "neither creation options (pubKeyCredParams, user) nor request options (challenge)"
                .into(),
        ));
    };
    fix(&mut value, "/challenge", &mut notes);
    fix(&mut value, "/user/id", &mut notes);
    for list in ["excludeCredentials", "allowCredentials"] {
        let n = value.get(list).and_then(Json::as_array).map_or(0, Vec::len);
        for i in 0..n {
            fix(&mut value, &format!("/{list}/{i}/id"), &mut notes);
        }
    }
    Ok(OptionsDocument {
        kind,
        options: Normalised { value, notes },
        mediation,
    })
}

/// Which ceremony a response is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// RegistrationResponseJSON.
    Registration,
    /// AuthenticationResponseJSON.
    Authentication,
}

/// Reads a response JSON document in any accepted form.
pub fn response(bytes: &[u8]) -> Result<(ResponseKind, Normalised), InputError> {
    let json = parse_json(bytes, InputError::Response)?;
    let normalised = normalise_response(&json)?;
    let r = normalised.value.get("response");
    let kind = if r.and_then(|r| r.get("attestationObject")).is_some() {
        ResponseKind::Registration
    } else if r.and_then(|r| r.get("authenticatorData")).is_some() {
        ResponseKind::Authentication
    } else {
        return Err(InputError::Response(
            "response.attestationObject (registration) or response.authenticatorData (authentication) is required"
                .into(),
        ));
    };
    Ok((kind, normalised))
}

/// Rewrites a response into RegistrationResponseJSON /
/// AuthenticationResponseJSON form.
pub(crate) fn normalise_response(json: &Json) -> Result<Normalised, InputError> {
    let mut notes = Vec::new();
    let mut value = json.clone();
    for wrapper in ["credential", "publicKeyCredential"] {
        if let Some(inner) = value.get(wrapper).filter(|v| v.get("response").is_some()) {
            notes.push(format!("the response was wrapped in \"{wrapper}\""));
            value = inner.clone();
            break;
        }
    }
    let Some(map) = value.as_object_mut() else {
        return Err(InputError::Response("a JSON object is required".into()));
    };
    if !map.contains_key("response") {
        return Err(InputError::Response("\"response\" is missing".into()));
    }
    if !map.contains_key("clientExtensionResults")
        && let Some(ext) = map.remove("extensions")
    {
        notes.push("\"extensions\" read as clientExtensionResults".to_owned());
        map.insert("clientExtensionResults".into(), ext);
    }
    if !map.contains_key("type") {
        notes.push("\"type\" was missing; \"public-key\" assumed".to_owned());
        map.insert("type".into(), Json::String("public-key".into()));
    }
    if let Some(r) = map.get_mut("response").and_then(Json::as_object_mut)
        && r.get("userHandle").is_some_and(Json::is_null)
    {
        r.remove("userHandle");
    }
    for path in [
        "/rawId",
        "/response/clientDataJSON",
        "/response/attestationObject",
        "/response/authenticatorData",
        "/response/signature",
        "/response/userHandle",
        "/response/publicKey",
    ] {
        fix(&mut value, path, &mut notes);
    }
    let map = value
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut map: Map<String, Json> = map;
    match (map.get("id").cloned(), map.get("rawId").cloned()) {
        (Some(id), None) => {
            let canon = match &id {
                Json::String(s) => member_bytes(&id)
                    .map(|(b, _)| fido_wire::webauthn::base64url::encode(&b))
                    .unwrap_or_else(|| s.clone()),
                _ => return Err(InputError::Response("\"id\" is not a string".into())),
            };
            notes.push("\"rawId\" was missing; taken from \"id\"".to_owned());
            map.insert("id".into(), Json::String(canon.clone()));
            map.insert("rawId".into(), Json::String(canon));
        }
        (None, Some(raw)) => {
            notes.push("\"id\" was missing; taken from \"rawId\"".to_owned());
            map.insert("id".into(), raw);
        }
        (Some(Json::String(id)), Some(Json::String(raw))) if id != raw => {
            // A padded or standard-alphabet id of the same bytes is the same id.
            let same = member_bytes(&Json::String(id.clone()))
                .map(|(b, _)| fido_wire::webauthn::base64url::encode(&b))
                .is_some_and(|canon| canon == raw);
            if same {
                notes.push("id was not unpadded base64url; read as rawId".to_owned());
                map.insert("id".into(), Json::String(raw));
            }
        }
        _ => {}
    }
    Ok(Normalised {
        value: Json::Object(map),
        notes,
    })
}

/// Text a person pasted (hex, base64, base64url) as bytes.
pub(crate) fn text_bytes(text: &str) -> Result<Vec<u8>, String> {
    crate::decoder::text_bytes(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrapped_padded_options_are_read() {
        let doc = options(
            br#"{"publicKey":{"challenge":"AAEC/w==","rpId":"example.org","allowCredentials":[{"type":"public-key","id":[1,2,3]}]},"mediation":"conditional"}"#,
        )
        .unwrap();
        assert_eq!(doc.kind, OptionsKind::Request);
        assert_eq!(doc.mediation.as_deref(), Some("conditional"));
        assert_eq!(doc.options.value["challenge"], "AAEC_w");
        assert_eq!(doc.options.value["allowCredentials"][0]["id"], "AQID");
        assert_eq!(doc.options.notes.len(), 3, "{:?}", doc.options.notes);
    }

    #[test]
    fn library_responses_are_read() {
        let (kind, n) = response(
            br#"{"rawId":"AQID","response":{"clientDataJSON":"e30=","authenticatorData":"AA","signature":"AA","userHandle":null},"extensions":{}}"#,
        )
        .unwrap();
        assert_eq!(kind, ResponseKind::Authentication);
        assert_eq!(n.value["id"], "AQID");
        assert_eq!(n.value["type"], "public-key");
        assert_eq!(n.value["response"]["clientDataJSON"], "e30");
        assert_eq!(n.value["clientExtensionResults"], json!({}));
        assert!(n.value["response"].get("userHandle").is_none());
    }

    #[test]
    fn malformed_inputs_are_named() {
        assert_eq!(options(b"[1]").unwrap_err().code(), "bad_options");
        assert_eq!(options(b"{\"rp\":1").unwrap_err().code(), "bad_options");
        assert!(matches!(
            response(br#"{"response":{}}"#),
            Err(InputError::Response(m)) if m.contains("attestationObject")
        ));
        let big = vec![b' '; MAX_INPUT_LEN + 1];
        assert_eq!(response(&big).unwrap_err().code(), "bad_response");
    }
}
