//! Base64url without padding (RFC 4648 §5), as every WebAuthn JSON form uses,
//! and [`Base64UrlBytes`], bytes that serialise as such a string.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a string is not unpadded base64url.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base64UrlError {
    /// Padding characters are not allowed.
    #[error("base64url must be unpadded: remove the trailing '='")]
    Padded,
    /// A character outside `A-Z a-z 0-9 - _`, or a bad length.
    #[error("not base64url: {0}")]
    Invalid(String),
}

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; padding, the standard alphabet's `+` and `/`,
/// and non-zero trailing bits are refused.
pub fn decode(s: &str) -> Result<Vec<u8>, Base64UrlError> {
    if s.ends_with('=') {
        return Err(Base64UrlError::Padded);
    }
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| Base64UrlError::Invalid(e.to_string()))
}

/// Bytes carried in JSON as an unpadded base64url string.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Base64UrlBytes(pub Vec<u8>);

impl Base64UrlBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Base64UrlBytes {
    fn from(v: Vec<u8>) -> Self {
        Base64UrlBytes(v)
    }
}

impl From<&[u8]> for Base64UrlBytes {
    fn from(v: &[u8]) -> Self {
        Base64UrlBytes(v.to_vec())
    }
}

impl AsRef<[u8]> for Base64UrlBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Base64UrlBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b64'{}'", encode(&self.0))
    }
}

impl fmt::Display for Base64UrlBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode(&self.0))
    }
}

impl Serialize for Base64UrlBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64UrlBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        decode(&s)
            .map(Base64UrlBytes)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding() {
        assert_eq!(decode("-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode("-_8="), Err(Base64UrlError::Padded));
        assert!(matches!(decode("+/8"), Err(Base64UrlError::Invalid(_))));
        assert!(matches!(decode("-_9"), Err(Base64UrlError::Invalid(_))));
        assert!(matches!(decode("A"), Err(Base64UrlError::Invalid(_))));
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }
}
