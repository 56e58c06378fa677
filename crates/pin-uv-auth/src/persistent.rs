//! CTAP 2.2's getInfo members encrypted under the persistent
//! pinUvAuthToken (a token with the pcmr permission): encIdentifier and
//! encCredStoreState are IV || AES-128-CBC(key, 16-byte value), the key
//! HKDF-SHA-256(salt = 32 zero bytes, IKM = the token, info = the member's
//! name, L = 16). The virtual key seals them, the client opens them.

use crate::{PinUvAuthError, Result};
use aws_lc_rs::cipher::{
    AES_128, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::hkdf;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// encIdentifier's HKDF info.
pub const ENC_IDENTIFIER: &[u8] = b"encIdentifier";
/// encCredStoreState's HKDF info.
pub const ENC_CRED_STORE_STATE: &[u8] = b"encCredStoreState";

/// HKDF output length L = 16 (an AES-128 key).
struct Aes128KeyLength;

impl hkdf::KeyType for Aes128KeyLength {
    fn len(&self) -> usize {
        16
    }
}

fn member_key(token: &[u8], label: &[u8]) -> Result<UnboundCipherKey> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[0u8; 32]).extract(token);
    let mut key = Zeroizing::new([0u8; 16]);
    prk.expand(&[label], Aes128KeyLength)
        .and_then(|okm| okm.fill(key.as_mut()))
        .map_err(|_| PinUvAuthError::Crypto)?;
    UnboundCipherKey::new(&AES_128, key.as_ref()).map_err(|_| PinUvAuthError::Crypto)
}

/// Encrypts a 16-byte value for the getInfo member `label` under `token`,
/// with a fresh random IV.
pub fn seal(token: &[u8], label: &[u8], value: &[u8; 16]) -> Result<Vec<u8>> {
    let key = EncryptingKey::cbc(member_key(token, label)?).map_err(|_| PinUvAuthError::Crypto)?;
    let mut iv = [0u8; 16];
    SystemRandom::new()
        .fill(&mut iv)
        .map_err(|_| PinUvAuthError::Crypto)?;
    let mut out = value.to_vec();
    key.less_safe_encrypt(&mut out, EncryptionContext::Iv128(iv.into()))
        .map_err(|_| PinUvAuthError::Crypto)?;
    Ok([iv.as_slice(), &out].concat())
}

/// Decrypts the getInfo member `label` with `token`.
pub fn open(token: &[u8], label: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let length_error = PinUvAuthError::CiphertextLength {
        protocol: 2,
        len: sealed.len(),
    };
    let (iv, body) = sealed.split_at_checked(16).ok_or(length_error.clone())?;
    if body.is_empty() || !body.len().is_multiple_of(16) {
        return Err(length_error);
    }
    let iv: [u8; 16] = iv.try_into().map_err(|_| PinUvAuthError::Crypto)?;
    let key = DecryptingKey::cbc(member_key(token, label)?).map_err(|_| PinUvAuthError::Crypto)?;
    let mut out = Zeroizing::new(body.to_vec());
    key.decrypt(&mut out, DecryptionContext::Iv128(iv.into()))
        .map_err(|_| PinUvAuthError::Crypto)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_members_open_with_the_same_token_and_label_only() {
        let token = [7u8; 32];
        let value = [1u8; 16];
        let a = seal(&token, ENC_IDENTIFIER, &value).unwrap();
        let b = seal(&token, ENC_IDENTIFIER, &value).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b, "a fresh IV each time");
        assert_eq!(open(&token, ENC_IDENTIFIER, &a).unwrap().as_slice(), value);
        assert_ne!(
            open(&token, ENC_CRED_STORE_STATE, &a).unwrap().as_slice(),
            value
        );
        assert_ne!(
            open(&[8u8; 32], ENC_IDENTIFIER, &a).unwrap().as_slice(),
            value
        );
        assert!(open(&token, ENC_IDENTIFIER, &a[..20]).is_err());
    }

    /// The key is HKDF-SHA-256 as RFC 5869 writes it with HMAC: PRK =
    /// HMAC(zeros, token), T(1) = HMAC(PRK, label || 0x01), first 16 bytes.
    #[test]
    fn the_member_key_is_rfc_5869_hkdf() {
        use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext};
        use aws_lc_rs::hmac;
        let token = [9u8; 32];
        let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &[0u8; 32]), &token);
        let t1 = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref()),
            &[ENC_IDENTIFIER, &[1u8]].concat(),
        );
        let key = UnboundCipherKey::new(&AES_128, &t1.as_ref()[..16]).unwrap();
        let iv = [5u8; 16];
        let mut body = [2u8; 16].to_vec();
        EncryptingKey::cbc(key)
            .unwrap()
            .less_safe_encrypt(&mut body, EncryptionContext::Iv128(iv.into()))
            .unwrap();
        let sealed = [iv.as_slice(), &body].concat();
        assert_eq!(
            open(&token, ENC_IDENTIFIER, &sealed).unwrap().as_slice(),
            [2u8; 16]
        );
    }
}
