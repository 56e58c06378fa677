//! Sealed session cookies: the session id encrypted and authenticated with
//! AES-256-GCM by the cookie crate's private jar, under a key expanded from
//! the secret key (HKDF-SHA256). The cookie name is the AEAD's associated
//! data, so a value sealed for one name does not open under another. The
//! previous key (after a rotation) still opens cookies until it retires.

use crate::id::{SessionId, SessionIdError};
use crate::secret::KeyManager;
use cookie::{Cookie, CookieJar};

/// Longest sealed value accepted (a sealed id is about 96 characters).
pub const MAX_SEALED_LEN: usize = 256;

/// Why a cookie did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// Longer than [`MAX_SEALED_LEN`].
    #[error("the cookie value is {0} bytes; at most {MAX_SEALED_LEN} are accepted")]
    TooLong(usize),
    /// Neither the current nor the previous key opens it (forged, tampered,
    /// sealed under another name or a retired key).
    #[error("the cookie's seal does not verify")]
    BadSeal,
    /// It opened, but the content is not a session id.
    #[error("the sealed content is not a session id: {0}")]
    BadId(SessionIdError),
}

impl CookieError {
    /// A short reason code for events.
    pub fn code(&self) -> &'static str {
        match self {
            CookieError::TooLong(_) => "too_long",
            CookieError::BadSeal => "bad_seal",
            CookieError::BadId(_) => "bad_id",
        }
    }
}

/// Which key opened a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenedWith {
    /// The current key.
    Current,
    /// The previous key: re-seal under the current one.
    Previous,
}

/// Seals `id` as the value of cookie `name` with the current key.
pub fn seal(keys: &KeyManager, name: &str, id: &SessionId) -> String {
    let set = keys.keys();
    let mut jar = CookieJar::new();
    jar.private_mut(&set.current_cookie)
        .add(Cookie::new(name.to_owned(), id.expose().to_owned()));
    jar.get(name)
        .map(|c| c.value().to_owned())
        .unwrap_or_default()
}

/// Opens a sealed value of cookie `name`.
pub fn open(
    keys: &KeyManager,
    name: &str,
    value: &str,
) -> Result<(SessionId, OpenedWith), CookieError> {
    if value.len() > MAX_SEALED_LEN {
        return Err(CookieError::TooLong(value.len()));
    }
    let set = keys.keys();
    let jar = CookieJar::new();
    let sealed = Cookie::new(name.to_owned(), value.to_owned());
    let (plain, with) = match jar.private(&set.current_cookie).decrypt(sealed.clone()) {
        Some(c) => (c, OpenedWith::Current),
        None => {
            let prev = keys.previous_cookie_key(&set).ok_or(CookieError::BadSeal)?;
            let c = jar
                .private(&prev)
                .decrypt(sealed)
                .ok_or(CookieError::BadSeal)?;
            (c, OpenedWith::Previous)
        }
    };
    let id = SessionId::parse(plain.value()).map_err(CookieError::BadId)?;
    Ok((id, with))
}
