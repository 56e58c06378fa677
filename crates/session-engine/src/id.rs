//! Session ids: 256 random bits as 43 characters of unpadded base64url, and
//! the strict validator every id passes before storage is touched.

use crate::random;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use session_store::{Kind, OwnerId, Scope};
use std::fmt;

/// Length of a session id in characters.
pub const SESSION_ID_LEN: usize = 43;

/// Why a string is not a session id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionIdError {
    /// Not exactly 43 characters.
    #[error("a session id has 43 characters, not {0}")]
    Length(usize),
    /// A leading dot (hidden file, `.`/`..`).
    #[error("a session id must not start with a dot")]
    LeadingDot,
    /// `/` or `\`.
    #[error("a session id must not contain a path separator (at {0})")]
    PathSeparator(usize),
    /// A character outside `A-Z a-z 0-9 - _`.
    #[error("a session id has a character outside the base64url alphabet at {0}")]
    Alphabet(usize),
    /// The last character carries non-zero padding bits, so the string is
    /// not the canonical encoding of 32 bytes.
    #[error("a session id must be the canonical base64url encoding of 32 bytes")]
    NonCanonical,
}

/// A validated session id. Its `Debug` and `Display` show only a short
/// fingerprint ([`SessionId::redacted`]); the full id comes from
/// [`SessionId::expose`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh id from 32 bytes of the system CSPRNG.
    pub fn generate() -> SessionId {
        SessionId(URL_SAFE_NO_PAD.encode(random::bytes::<32>()))
    }

    /// Validates an untrusted string: length first (cheap, bounded), then a
    /// leading dot, path separators, the alphabet and canonical encoding.
    pub fn parse(s: &str) -> Result<SessionId, SessionIdError> {
        if s.len() != SESSION_ID_LEN {
            return Err(SessionIdError::Length(s.chars().count().min(s.len())));
        }
        if s.starts_with('.') {
            return Err(SessionIdError::LeadingDot);
        }
        for (i, b) in s.bytes().enumerate() {
            if b == b'/' || b == b'\\' {
                return Err(SessionIdError::PathSeparator(i));
            }
            if !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(SessionIdError::Alphabet(i));
            }
        }
        match URL_SAFE_NO_PAD.decode(s) {
            Ok(bytes) if bytes.len() == 32 => Ok(SessionId(s.to_owned())),
            _ => Err(SessionIdError::NonCanonical),
        }
    }

    /// The full id: put it only in the sealed cookie and in storage paths.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short, non-reversible label for logs and the UI:
    /// `sid:` and 8 base64url characters of SHA-256(id).
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    /// The storage scope of this session.
    pub fn scope(&self) -> Scope {
        // A validated session id is always a valid owner id.
        let owner = OwnerId::new(&self.0).unwrap_or_else(|_| unreachable_owner());
        Scope::new(Kind::sessions(), owner)
    }
}

/// Never reached (43 base64url characters are a valid owner id); kept
/// panic-free by returning a fixed placeholder owner.
#[cold]
fn unreachable_owner() -> OwnerId {
    OwnerId::new("invalid").unwrap_or_else(|_| unreachable_owner())
}

/// `sid:` and 8 base64url characters of SHA-256(`id`).
pub fn redact(id: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    let enc = URL_SAFE_NO_PAD.encode(digest.as_ref());
    format!("sid:{}", enc.get(..8).unwrap_or(""))
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.redacted())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_validate() {
        for _ in 0..100 {
            let id = SessionId::generate();
            assert_eq!(id.expose().len(), 43);
            assert_eq!(SessionId::parse(id.expose()).unwrap(), id);
        }
    }

    #[test]
    fn validator_rejects() {
        let good = SessionId::generate();
        let g = good.expose();
        assert_eq!(SessionId::parse(""), Err(SessionIdError::Length(0)));
        assert_eq!(SessionId::parse(&g[..42]), Err(SessionIdError::Length(42)));
        assert!(matches!(
            SessionId::parse(&format!("{g}A")),
            Err(SessionIdError::Length(44))
        ));
        assert_eq!(
            SessionId::parse(&format!(".{}", &g[1..])),
            Err(SessionIdError::LeadingDot)
        );
        assert_eq!(
            SessionId::parse(&format!("{}/{}", &g[..5], &g[6..])),
            Err(SessionIdError::PathSeparator(5))
        );
        assert_eq!(
            SessionId::parse(&format!("{}\\{}", &g[..5], &g[6..])),
            Err(SessionIdError::PathSeparator(5))
        );
        assert_eq!(
            SessionId::parse(&format!("{}+{}", &g[..5], &g[6..])),
            Err(SessionIdError::Alphabet(5))
        );
        assert_eq!(
            SessionId::parse(&format!("{}={}", &g[..5], &g[6..])),
            Err(SessionIdError::Alphabet(5))
        );
        assert_eq!(
            SessionId::parse(&format!("{}.{}", &g[..5], &g[6..])),
            Err(SessionIdError::Alphabet(5))
        );
        // 43 characters, but a multi-byte one makes the byte length differ.
        assert!(SessionId::parse(&format!("{}é", &g[..41])).is_err());
        // Last character with non-zero padding bits: 'B' encodes ...0001.
        let noncanonical = format!("{}B", &"A".repeat(42));
        assert_eq!(
            SessionId::parse(&noncanonical),
            Err(SessionIdError::NonCanonical)
        );
        assert!(SessionId::parse(&format!("{}A", &"A".repeat(42))).is_ok());
    }

    #[test]
    fn debug_and_display_redact() {
        let id = SessionId::generate();
        for shown in [format!("{id:?}"), format!("{id}")] {
            assert!(!shown.contains(id.expose()), "{shown}");
            assert!(!shown.contains(&id.expose()[..8]), "{shown}");
        }
        assert_eq!(id.redacted().len(), 12);
    }
}
