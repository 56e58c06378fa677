//! Validated names: the namespace kind, the owner id (a session or an
//! account) and the item name. Every storage call takes these types, so a
//! path separator, a leading dot or an over-long name is refused before any
//! backend is touched, and no caller can build a path outside its own scope.

use std::fmt;

/// Longest owner id or item name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("{what} is empty")]
    Empty {
        /// Which kind of name.
        what: &'static str,
    },
    /// The name is longer than [`MAX_NAME_LEN`] (or the kind's own limit).
    #[error("{what} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// Which kind of name.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name starts with a dot (hidden files, `.` and `..`).
    #[error("{what} must not start with a dot")]
    LeadingDot {
        /// Which kind of name.
        what: &'static str,
    },
    /// The name contains `/` or `\`.
    #[error("{what} must not contain a path separator (at byte {offset})")]
    PathSeparator {
        /// Which kind of name.
        what: &'static str,
        /// Byte offset of the separator.
        offset: usize,
    },
    /// The name contains `..`.
    #[error("{what} must not contain '..'")]
    DotDot {
        /// Which kind of name.
        what: &'static str,
    },
    /// A byte outside the name's alphabet.
    #[error("{what} has a character outside {alphabet} at byte {offset}")]
    BadCharacter {
        /// Which kind of name.
        what: &'static str,
        /// The allowed alphabet.
        alphabet: &'static str,
        /// Byte offset of the first bad character.
        offset: usize,
    },
}

/// Checks the rules shared by every name. `extra` lists punctuation allowed
/// besides ASCII letters and digits.
fn check(
    what: &'static str,
    s: &str,
    max: usize,
    extra: &[u8],
    alphabet: &'static str,
) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty { what });
    }
    if s.len() > max {
        return Err(NameError::TooLong {
            what,
            len: s.len(),
            max,
        });
    }
    if s.starts_with('.') {
        return Err(NameError::LeadingDot { what });
    }
    for (offset, b) in s.bytes().enumerate() {
        if b == b'/' || b == b'\\' {
            return Err(NameError::PathSeparator { what, offset });
        }
        if !(b.is_ascii_alphanumeric() || extra.contains(&b)) {
            return Err(NameError::BadCharacter {
                what,
                alphabet,
                offset,
            });
        }
    }
    if s.contains("..") {
        return Err(NameError::DotDot { what });
    }
    Ok(())
}

/// A namespace kind: `sessions`, `challenges`, `accounts`, or one a later
/// crate defines. Lower-case letters, digits and `-`, at most 32 bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(String);

impl Kind {
    /// Sessions: one scope per session id.
    pub fn sessions() -> Kind {
        Kind("sessions".to_owned())
    }
    /// Bound ceremony challenges: one scope per challenge handle.
    pub fn challenges() -> Kind {
        Kind("challenges".to_owned())
    }
    /// User accounts of the relying party: one scope per account id, holding
    /// the account's credentials.
    pub fn accounts() -> Kind {
        Kind("accounts".to_owned())
    }

    /// A validated kind.
    pub fn new(s: &str) -> Result<Kind, NameError> {
        const WHAT: &str = "namespace kind";
        check(WHAT, s, 32, b"-", "[a-z0-9-]")?;
        if let Some(offset) = s.bytes().position(|b| b.is_ascii_uppercase()) {
            return Err(NameError::BadCharacter {
                what: WHAT,
                alphabet: "[a-z0-9-]",
                offset,
            });
        }
        Ok(Kind(s.to_owned()))
    }

    /// The kind as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.0)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of a scope's owner: a session id, an account id, a challenge
/// handle. Base64url alphabet (`A-Z a-z 0-9 - _`), 1 to 128 bytes.
///
/// Its `Debug` output shows only the length: owner ids are often bearer
/// secrets (session ids).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerId(String);

impl OwnerId {
    /// A validated owner id.
    pub fn new(s: &str) -> Result<OwnerId, NameError> {
        check("owner id", s, MAX_NAME_LEN, b"-_", "[A-Za-z0-9_-]")?;
        Ok(OwnerId(s.to_owned()))
    }

    /// The id as a string. Treat it as a secret when it is a session id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short tag errors and logs show instead of the id: `sid:` and the
    /// first 8 base64url characters of its SHA-256, the same tag the session
    /// engine and the dashboard show for a session id.
    pub fn redacted(&self) -> String {
        redact_id(&self.0)
    }
}

/// `sid:` and the first 8 base64url characters of SHA-256(`id`).
pub fn redact_id(id: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    let mut out = String::from("sid:");
    // 6 bytes are exactly 8 base64 characters.
    for chunk in digest.as_ref().chunks(3).take(2) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        for shift in [18, 12, 6, 0] {
            let index = usize::try_from((n >> shift) & 0x3f).unwrap_or(0);
            out.push(char::from(*ALPHABET.get(index).unwrap_or(&b'?')));
        }
    }
    out
}

impl fmt::Debug for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnerId(<{} bytes>)", self.0.len())
    }
}

/// The name of one item inside a scope: `[A-Za-z0-9._-]`, 1 to 128 bytes, no
/// leading dot and no `..`. (Temporary files of the local backend start with
/// a dot, so they can never collide with an item.)
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemName(String);

impl ItemName {
    /// A validated item name.
    pub fn new(s: &str) -> Result<ItemName, NameError> {
        check("item name", s, MAX_NAME_LEN, b"-_.", "[A-Za-z0-9._-]")?;
        Ok(ItemName(s.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ItemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemName({})", self.0)
    }
}

impl fmt::Display for ItemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One owner's namespace of one kind: all a caller can reach through a
/// storage call. Two scopes never share items.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Scope {
    /// The namespace kind.
    pub kind: Kind,
    /// The owner.
    pub owner: OwnerId,
}

impl Scope {
    /// The scope of `owner` in namespace `kind`.
    pub fn new(kind: Kind, owner: OwnerId) -> Scope {
        Scope { kind, owner }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_names() {
        assert!(ItemName::new("session.json").is_ok());
        assert!(ItemName::new("a-b_c.1").is_ok());
        assert_eq!(
            ItemName::new(""),
            Err(NameError::Empty { what: "item name" })
        );
        assert_eq!(
            ItemName::new(".hidden"),
            Err(NameError::LeadingDot { what: "item name" })
        );
        assert_eq!(
            ItemName::new("a/b"),
            Err(NameError::PathSeparator {
                what: "item name",
                offset: 1
            })
        );
        assert!(matches!(
            ItemName::new("a\\b"),
            Err(NameError::PathSeparator { offset: 1, .. })
        ));
        assert_eq!(
            ItemName::new("a..b"),
            Err(NameError::DotDot { what: "item name" })
        );
        assert!(matches!(
            ItemName::new("a b"),
            Err(NameError::BadCharacter { offset: 1, .. })
        ));
        assert!(matches!(
            ItemName::new("é"),
            Err(NameError::BadCharacter { offset: 0, .. })
        ));
        assert!(matches!(
            ItemName::new("a\0"),
            Err(NameError::BadCharacter { offset: 1, .. })
        ));
        assert!(ItemName::new(&"a".repeat(128)).is_ok());
        assert!(matches!(
            ItemName::new(&"a".repeat(129)),
            Err(NameError::TooLong { len: 129, .. })
        ));
    }

    #[test]
    fn owner_ids() {
        assert!(OwnerId::new("AbC-_09").is_ok());
        assert!(matches!(
            OwnerId::new("a.b"),
            Err(NameError::BadCharacter { offset: 1, .. })
        ));
        assert!(matches!(
            OwnerId::new(".."),
            Err(NameError::LeadingDot { .. })
        ));
        assert!(matches!(
            OwnerId::new("../etc"),
            Err(NameError::LeadingDot { .. })
        ));
        assert!(matches!(
            OwnerId::new("x/../y"),
            Err(NameError::PathSeparator { offset: 1, .. })
        ));
        let debug = format!("{:?}", OwnerId::new("secretsecret").unwrap());
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn kinds() {
        assert_eq!(Kind::new("sessions").unwrap(), Kind::sessions());
        assert!(Kind::new("Sessions").is_err());
        assert!(Kind::new("a_b").is_err());
        assert!(Kind::new(&"a".repeat(33)).is_err());
    }
}
