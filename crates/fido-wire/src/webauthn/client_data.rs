//! Collected client data (WebAuthn L3 §5.8.1): parsed from clientDataJSON and
//! serialised the way §5.8.1.1 (CCDToString) prescribes, so that a client's
//! output matches what relying parties' limited verification expects.

use serde_json::{Map, Value as Json};

/// The largest clientDataJSON accepted (browsers produce a few hundred bytes).
pub const MAX_CLIENT_DATA_LEN: usize = 16 * 1024;

/// `webauthn.create` or `webauthn.get`, or anything else as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CeremonyType {
    /// "webauthn.create".
    Create,
    /// "webauthn.get".
    Get,
    /// Any other value, kept for the error report.
    Other(String),
}

impl CeremonyType {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            CeremonyType::Create => "webauthn.create",
            CeremonyType::Get => "webauthn.get",
            CeremonyType::Other(s) => s,
        }
    }

    fn parse(s: &str) -> CeremonyType {
        match s {
            "webauthn.create" => CeremonyType::Create,
            "webauthn.get" => CeremonyType::Get,
            other => CeremonyType::Other(other.to_owned()),
        }
    }
}

/// Collected client data.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectedClientData {
    /// `type`.
    pub ceremony: CeremonyType,
    /// `challenge` as sent: base64url of the RP's challenge bytes.
    pub challenge: String,
    /// `origin`.
    pub origin: String,
    /// `crossOrigin`; absent is treated as false.
    pub cross_origin: Option<bool>,
    /// `topOrigin`, present only for cross-origin calls.
    pub top_origin: Option<String>,
    /// Every other member, in the order received.
    pub other: Map<String, Json>,
}

/// Why clientDataJSON is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientDataError {
    /// Larger than [`MAX_CLIENT_DATA_LEN`].
    #[error("clientDataJSON is {len} bytes, over the limit of {max}")]
    TooLong {
        /// Length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON (or not UTF-8).
    #[error("clientDataJSON is not valid JSON: {0}")]
    Json(String),
    /// Not a JSON object.
    #[error("clientDataJSON must be a JSON object")]
    NotAnObject,
    /// A member is missing or of the wrong type.
    #[error("clientDataJSON member \"{member}\" must be {expected}")]
    Member {
        /// The member.
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },
}

fn take_string(
    map: &mut Map<String, Json>,
    member: &'static str,
) -> Result<String, ClientDataError> {
    match map.shift_remove(member) {
        Some(Json::String(s)) => Ok(s),
        _ => Err(ClientDataError::Member {
            member,
            expected: "a string",
        }),
    }
}

impl CollectedClientData {
    /// Builds client data for a ceremony (crossOrigin false, no topOrigin).
    pub fn new(ceremony: CeremonyType, challenge: &[u8], origin: impl Into<String>) -> Self {
        CollectedClientData {
            ceremony,
            challenge: crate::webauthn::base64url::encode(challenge),
            origin: origin.into(),
            cross_origin: Some(false),
            top_origin: None,
            other: Map::new(),
        }
    }

    /// Parses clientDataJSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<CollectedClientData, ClientDataError> {
        if bytes.len() > MAX_CLIENT_DATA_LEN {
            return Err(ClientDataError::TooLong {
                len: bytes.len(),
                max: MAX_CLIENT_DATA_LEN,
            });
        }
        let json: Json =
            serde_json::from_slice(bytes).map_err(|e| ClientDataError::Json(e.to_string()))?;
        let Json::Object(mut map) = json else {
            return Err(ClientDataError::NotAnObject);
        };
        let ceremony = CeremonyType::parse(&take_string(&mut map, "type")?);
        let challenge = take_string(&mut map, "challenge")?;
        let origin = take_string(&mut map, "origin")?;
        let cross_origin = match map.shift_remove("crossOrigin") {
            None | Some(Json::Null) => None,
            Some(Json::Bool(b)) => Some(b),
            Some(_) => {
                return Err(ClientDataError::Member {
                    member: "crossOrigin",
                    expected: "a boolean",
                });
            }
        };
        let top_origin = match map.shift_remove("topOrigin") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s),
            Some(_) => {
                return Err(ClientDataError::Member {
                    member: "topOrigin",
                    expected: "a string",
                });
            }
        };
        Ok(CollectedClientData {
            ceremony,
            challenge,
            origin,
            cross_origin,
            top_origin,
            other: map,
        })
    }

    /// The challenge bytes, if `challenge` is valid unpadded base64url.
    pub fn challenge_bytes(&self) -> Result<Vec<u8>, crate::webauthn::base64url::Base64UrlError> {
        crate::webauthn::base64url::decode(&self.challenge)
    }

    /// Serialises per CCDToString (§5.8.1.1): type, challenge, origin,
    /// crossOrigin, then topOrigin when present, then the other members.
    pub fn to_json(&self) -> Vec<u8> {
        let s = |v: &str| Json::String(v.to_owned()).to_string();
        let mut out = String::with_capacity(256);
        out.push_str("{\"type\":");
        out.push_str(&s(self.ceremony.as_str()));
        out.push_str(",\"challenge\":");
        out.push_str(&s(&self.challenge));
        out.push_str(",\"origin\":");
        out.push_str(&s(&self.origin));
        out.push_str(",\"crossOrigin\":");
        out.push_str(if self.cross_origin.unwrap_or(false) {
            "true"
        } else {
            "false"
        });
        if let Some(top) = &self.top_origin {
            out.push_str(",\"topOrigin\":");
            out.push_str(&s(top));
        }
        for (k, v) in &self.other {
            out.push(',');
            out.push_str(&s(k));
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_ccd_to_string_form() {
        let cd = CollectedClientData::new(CeremonyType::Get, &[0xfb, 0xff], "https://example.org");
        assert_eq!(
            String::from_utf8(cd.to_json()).unwrap(),
            r#"{"type":"webauthn.get","challenge":"-_8","origin":"https://example.org","crossOrigin":false}"#
        );
        assert_eq!(CollectedClientData::parse(&cd.to_json()).unwrap(), cd);
    }

    #[test]
    fn rejects_bad_members() {
        assert_eq!(
            CollectedClientData::parse(br#"{"type":"webauthn.get","origin":"x"}"#),
            Err(ClientDataError::Member {
                member: "challenge",
                expected: "a string"
            })
        );
        assert_eq!(
            CollectedClientData::parse(br#"[1]"#),
            Err(ClientDataError::NotAnObject)
        );
        assert!(matches!(
            CollectedClientData::parse(b"{"),
            Err(ClientDataError::Json(_))
        ));
        let long = vec![b' '; MAX_CLIENT_DATA_LEN + 1];
        assert!(matches!(
            CollectedClientData::parse(&long),
            Err(ClientDataError::TooLong { .. })
        ));
    }
}
