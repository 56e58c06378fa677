//! CTAP 2.1 PIN/UV auth protocols one and two (§6.5.6, §6.5.7): the P-256
//! key agreement, the shared secret's key derivation, AES-256-CBC encryption,
//! HMAC-SHA-256 authentication and the PIN padding rules.
//!
//! Both ends of Keybench use this one implementation: the client
//! encapsulates against the authenticator's key agreement key, and the
//! virtual authenticator decapsulates with its own. All crypto is aws-lc-rs;
//! this crate only arranges it the way CTAP specifies.
//!
//! Secrets (shared secrets, tokens, PINs) are zeroized on drop and never
//! shown by `Debug`. [`persistent`] seals and opens CTAP 2.2's getInfo
//! members encrypted under the persistent pinUvAuthToken.

#![forbid(unsafe_code)]

use aws_lc_rs::agreement::{self, ECDH_P256, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{hkdf, hmac};
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey, KeyParams};
use std::fmt;
use zeroize::Zeroizing;

pub mod persistent;

/// Why a PIN/UV auth operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinUvAuthError {
    /// The protocol number is not 1 or 2.
    #[error("pinUvAuthProtocol {0} is not supported (1 and 2 are)")]
    UnsupportedProtocol(u64),
    /// The peer's key agreement key is not a P-256 EC2 key on the curve.
    #[error("the peer's key agreement key is not a valid P-256 point")]
    InvalidPeerKey,
    /// A ciphertext's length is not what the protocol allows.
    #[error("ciphertext of {len} bytes: protocol {protocol} needs a multiple of 16{}", if *.protocol == 2 { " after a 16-byte IV" } else { "" })]
    CiphertextLength {
        /// The protocol.
        protocol: u8,
        /// The length found.
        len: usize,
    },
    /// A plaintext's length is not a multiple of the AES block.
    #[error("plaintext of {0} bytes is not a multiple of 16")]
    PlaintextLength(usize),
    /// An authentication tag did not verify.
    #[error("pinUvAuthParam does not verify")]
    VerifyFailed,
    /// A PIN is shorter than 4 code points or longer than 63 bytes.
    #[error(
        "a PIN must be 4 to 63 bytes of UTF-8 with at least 4 characters; this one has {chars} characters in {bytes} bytes"
    )]
    PinLength {
        /// Unicode code points.
        chars: usize,
        /// UTF-8 bytes.
        bytes: usize,
    },
    /// A decrypted PIN block is not a valid padded PIN.
    #[error("the decrypted PIN is not valid padded UTF-8")]
    PinEncoding,
    /// The crypto library refused an operation it should not have.
    #[error("cryptographic operation failed")]
    Crypto,
}

type Result<T> = std::result::Result<T, PinUvAuthError>;

/// A pinUvAuthProtocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// Protocol one: SHA-256 KDF, zero IV, 16-byte tags.
    One,
    /// Protocol two: HKDF with separate HMAC and AES keys, random IVs, 32-byte tags.
    Two,
}

impl Protocol {
    /// The protocol with this number.
    pub fn from_id(id: u64) -> Result<Protocol> {
        match id {
            1 => Ok(Protocol::One),
            2 => Ok(Protocol::Two),
            other => Err(PinUvAuthError::UnsupportedProtocol(other)),
        }
    }

    /// Its number on the wire.
    pub fn id(self) -> u64 {
        match self {
            Protocol::One => 1,
            Protocol::Two => 2,
        }
    }

    fn number(self) -> u8 {
        match self {
            Protocol::One => 1,
            Protocol::Two => 2,
        }
    }

    /// The tag length `authenticate` produces.
    pub fn tag_len(self) -> usize {
        match self {
            Protocol::One => 16,
            Protocol::Two => 32,
        }
    }

    /// authenticate(key, message): with a shared secret or a pinUvAuthToken.
    pub fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        // Protocol two keeps only the HMAC half of a 64-byte shared secret;
        // a 32-byte token is used whole.
        let key = match self {
            Protocol::One => key,
            Protocol::Two => key.get(..32).unwrap_or(key),
        };
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message);
        tag.as_ref()
            .get(..self.tag_len())
            .unwrap_or(tag.as_ref())
            .to_vec()
    }

    /// verify(key, message, signature), in constant time.
    pub fn verify(self, key: &[u8], message: &[u8], signature: &[u8]) -> Result<()> {
        let expected = self.authenticate(key, message);
        verify_slices_are_equal(&expected, signature).map_err(|_| PinUvAuthError::VerifyFailed)
    }

    fn kdf(self, z: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            Protocol::One => Ok(Zeroizing::new(digest(&SHA256, z).as_ref().to_vec())),
            Protocol::Two => {
                let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[0u8; 32]).extract(z);
                let mut out = Zeroizing::new(vec![0u8; 64]);
                for (info, half) in [b"CTAP2 HMAC key".as_slice(), b"CTAP2 AES key"]
                    .into_iter()
                    .zip(out.chunks_mut(32))
                {
                    prk.expand(&[info], hkdf::HKDF_SHA256)
                        .and_then(|okm| okm.fill(half))
                        .map_err(|_| PinUvAuthError::Crypto)?;
                }
                Ok(out)
            }
        }
    }
}

/// A P-256 key agreement key: the authenticator's (getKeyAgreement) or the
/// platform's ephemeral one.
pub struct KeyAgreementKey {
    private: PrivateKey,
    public: Vec<u8>,
}

impl fmt::Debug for KeyAgreementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAgreementKey")
            .field("private", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl KeyAgreementKey {
    /// A fresh key.
    pub fn generate() -> Result<KeyAgreementKey> {
        let private = PrivateKey::generate(&ECDH_P256).map_err(|_| PinUvAuthError::Crypto)?;
        let public = private
            .compute_public_key()
            .map_err(|_| PinUvAuthError::Crypto)?
            .as_ref()
            .to_vec();
        Ok(KeyAgreementKey { private, public })
    }

    /// The public half as CTAP sends it: EC2, P-256, alg ECDH-ES+HKDF-256.
    pub fn cose_public_key(&self) -> CoseKey {
        // The uncompressed point is 0x04 || x || y.
        let coords = self.public.get(1..).unwrap_or_default();
        let (x, y) = coords.split_at(coords.len() / 2);
        CoseKey {
            kid: None,
            alg: Some(CoseAlgorithm::ECDH_ES_HKDF_256),
            params: KeyParams::Ec2 {
                curve: CoseCurve::P256,
                x: x.to_vec(),
                y: y.to_vec(),
                d: None,
            },
            other: Vec::new(),
        }
    }

    /// ecdh(peer) followed by the protocol's kdf: the shared secret.
    pub fn shared_secret(&self, protocol: Protocol, peer: &CoseKey) -> Result<SharedSecret> {
        let KeyParams::Ec2 { curve, x, y, .. } = &peer.params else {
            return Err(PinUvAuthError::InvalidPeerKey);
        };
        if *curve != CoseCurve::P256 || x.len() != 32 || y.len() != 32 {
            return Err(PinUvAuthError::InvalidPeerKey);
        }
        let point = [[0x04].as_slice(), x, y].concat();
        // aws-lc-rs checks that the point is on the curve.
        let z = agreement::agree(
            &self.private,
            UnparsedPublicKey::new(&ECDH_P256, &point),
            PinUvAuthError::InvalidPeerKey,
            |z| Ok(Zeroizing::new(z.to_vec())),
        )?;
        Ok(SharedSecret {
            protocol,
            bytes: protocol.kdf(&z)?,
        })
    }
}

/// A shared secret from the key agreement, for one protocol.
pub struct SharedSecret {
    protocol: Protocol,
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SharedSecret(protocol {}, <redacted>)",
            self.protocol.id()
        )
    }
}

fn aes_key(bytes: &[u8]) -> Result<UnboundCipherKey> {
    UnboundCipherKey::new(&AES_256, bytes).map_err(|_| PinUvAuthError::Crypto)
}

impl SharedSecret {
    /// The protocol it belongs to.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn aes_key_bytes(&self) -> &[u8] {
        match self.protocol {
            Protocol::One => &self.bytes,
            Protocol::Two => self.bytes.get(32..).unwrap_or_default(),
        }
    }

    /// encrypt(key, plaintext): the plaintext must be whole AES blocks.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        if !plaintext.len().is_multiple_of(16) {
            return Err(PinUvAuthError::PlaintextLength(plaintext.len()));
        }
        let key = EncryptingKey::cbc(aes_key(self.aes_key_bytes())?)
            .map_err(|_| PinUvAuthError::Crypto)?;
        let mut iv = [0u8; 16];
        if self.protocol == Protocol::Two {
            SystemRandom::new()
                .fill(&mut iv)
                .map_err(|_| PinUvAuthError::Crypto)?;
        }
        let mut out = plaintext.to_vec();
        key.less_safe_encrypt(&mut out, EncryptionContext::Iv128(iv.into()))
            .map_err(|_| PinUvAuthError::Crypto)?;
        Ok(match self.protocol {
            Protocol::One => out,
            Protocol::Two => [iv.as_slice(), &out].concat(),
        })
    }

    /// decrypt(key, ciphertext).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let length_error = PinUvAuthError::CiphertextLength {
            protocol: self.protocol.number(),
            len: ciphertext.len(),
        };
        let (iv, body) = match self.protocol {
            Protocol::One => ([0u8; 16], ciphertext),
            Protocol::Two => {
                let (iv, body) = ciphertext
                    .split_at_checked(16)
                    .ok_or(length_error.clone())?;
                (iv.try_into().map_err(|_| PinUvAuthError::Crypto)?, body)
            }
        };
        if !body.len().is_multiple_of(16) {
            return Err(length_error);
        }
        let key = DecryptingKey::cbc(aes_key(self.aes_key_bytes())?)
            .map_err(|_| PinUvAuthError::Crypto)?;
        let mut out = Zeroizing::new(body.to_vec());
        key.decrypt(&mut out, DecryptionContext::Iv128(iv.into()))
            .map_err(|_| PinUvAuthError::Crypto)?;
        Ok(out)
    }

    /// authenticate(sharedSecret, message).
    pub fn authenticate(&self, message: &[u8]) -> Vec<u8> {
        self.protocol.authenticate(&self.bytes, message)
    }

    /// verify(sharedSecret, message, signature).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        self.protocol.verify(&self.bytes, message, signature)
    }
}

/// The length of a padded PIN block (newPinEnc's plaintext).
pub const PADDED_PIN_LEN: usize = 64;

/// Checks a PIN against CTAP's rules (at least 4 code points, at most 63
/// bytes) and pads it with zeros to 64 bytes.
pub fn pad_pin(pin: &str) -> Result<Zeroizing<Vec<u8>>> {
    let chars = pin.chars().count();
    let bytes = pin.len();
    if chars < 4 || bytes > PADDED_PIN_LEN - 1 {
        return Err(PinUvAuthError::PinLength { chars, bytes });
    }
    let mut out = Zeroizing::new(vec![0u8; PADDED_PIN_LEN]);
    out.get_mut(..bytes)
        .ok_or(PinUvAuthError::PinLength { chars, bytes })?
        .copy_from_slice(pin.as_bytes());
    Ok(out)
}

/// The PIN inside a decrypted 64-byte block: the bytes before the first zero.
/// Returns its UTF-8 bytes and its length in code points. A block without a
/// zero would be a 64-byte PIN, and CTAP 2.1 (§6.5.5.5) allows at most 63.
pub fn unpad_pin(block: &[u8]) -> Result<(Zeroizing<Vec<u8>>, usize)> {
    if block.len() != PADDED_PIN_LEN {
        return Err(PinUvAuthError::PinEncoding);
    }
    let Some(end) = block.iter().position(|&b| b == 0) else {
        let chars = std::str::from_utf8(block)
            .map_err(|_| PinUvAuthError::PinEncoding)?
            .chars()
            .count();
        return Err(PinUvAuthError::PinLength {
            chars,
            bytes: block.len(),
        });
    };
    let pin = block.get(..end).ok_or(PinUvAuthError::PinEncoding)?;
    let chars = std::str::from_utf8(pin)
        .map_err(|_| PinUvAuthError::PinEncoding)?
        .chars()
        .count();
    Ok((Zeroizing::new(pin.to_vec()), chars))
}

/// LEFT(SHA-256(PIN), 16): what pinHashEnc carries and the authenticator keeps.
pub fn pin_hash(pin: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let d = digest(&SHA256, pin);
    out.copy_from_slice(d.as_ref().get(..16).unwrap_or(&[0u8; 16]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(protocol: Protocol) -> (SharedSecret, SharedSecret) {
        let authenticator = KeyAgreementKey::generate().unwrap();
        let platform = KeyAgreementKey::generate().unwrap();
        let a = authenticator
            .shared_secret(protocol, &platform.cose_public_key())
            .unwrap();
        let p = platform
            .shared_secret(protocol, &authenticator.cose_public_key())
            .unwrap();
        (a, p)
    }

    #[test]
    fn both_ends_derive_the_same_secret_and_interoperate() {
        for protocol in [Protocol::One, Protocol::Two] {
            let (a, p) = pair(protocol);
            assert_eq!(*a.bytes, *p.bytes);
            assert_eq!(
                a.bytes.len(),
                if protocol == Protocol::One { 32 } else { 64 }
            );
            let ct = p.encrypt(&[7u8; 64]).unwrap();
            assert_eq!(ct.len(), if protocol == Protocol::One { 64 } else { 80 });
            assert_eq!(*a.decrypt(&ct).unwrap(), vec![7u8; 64]);
            let tag = p.authenticate(b"message");
            assert_eq!(tag.len(), protocol.tag_len());
            a.verify(b"message", &tag).unwrap();
            assert_eq!(
                a.verify(b"massage", &tag),
                Err(PinUvAuthError::VerifyFailed)
            );
        }
    }

    #[test]
    fn protocol_two_uses_random_ivs_and_protocol_one_none() {
        let (_, p1) = pair(Protocol::One);
        assert_eq!(p1.encrypt(&[1; 16]).unwrap(), p1.encrypt(&[1; 16]).unwrap());
        let (_, p2) = pair(Protocol::Two);
        assert_ne!(p2.encrypt(&[1; 16]).unwrap(), p2.encrypt(&[1; 16]).unwrap());
    }

    #[test]
    fn protocol_two_derives_independent_hmac_and_aes_keys() {
        let (a, _) = pair(Protocol::Two);
        assert_ne!(a.bytes.get(..32), a.bytes.get(32..));
        // The tag uses only the HMAC half.
        assert_eq!(
            a.authenticate(b"m"),
            Protocol::Two.authenticate(a.bytes.get(..32).unwrap(), b"m")
        );
    }

    #[test]
    fn bad_lengths_and_peer_keys_are_errors() {
        let (a1, _) = pair(Protocol::One);
        let (a2, _) = pair(Protocol::Two);
        assert!(matches!(
            a1.decrypt(&[0; 15]),
            Err(PinUvAuthError::CiphertextLength { .. })
        ));
        assert!(matches!(
            a2.decrypt(&[0; 8]),
            Err(PinUvAuthError::CiphertextLength { .. })
        ));
        assert!(matches!(
            a2.decrypt(&[0; 20]),
            Err(PinUvAuthError::CiphertextLength { .. })
        ));
        assert_eq!(
            a1.encrypt(&[0; 10]),
            Err(PinUvAuthError::PlaintextLength(10))
        );
        let k = KeyAgreementKey::generate().unwrap();
        let mut off_curve = k.cose_public_key();
        if let KeyParams::Ec2 { y, .. } = &mut off_curve.params {
            y[31] ^= 1;
        }
        assert_eq!(
            k.shared_secret(Protocol::Two, &off_curve).unwrap_err(),
            PinUvAuthError::InvalidPeerKey
        );
        assert_eq!(
            Protocol::from_id(3),
            Err(PinUvAuthError::UnsupportedProtocol(3))
        );
    }

    #[test]
    fn pin_padding_follows_the_length_rules() {
        assert!(pad_pin("123").is_err());
        assert_eq!(pad_pin("1234").unwrap().len(), 64);
        assert!(pad_pin(&"x".repeat(63)).is_ok());
        assert!(pad_pin(&"x".repeat(64)).is_err());
        // Four code points in 8 bytes is long enough.
        assert!(pad_pin("ĀāĂă").is_ok());
        let padded = pad_pin("ĀāĂă").unwrap();
        let (pin, chars) = unpad_pin(&padded).unwrap();
        assert_eq!((pin.as_slice(), chars), ("ĀāĂă".as_bytes(), 4));
        assert_eq!(unpad_pin(&[0xff; 64]), Err(PinUvAuthError::PinEncoding));
        assert_eq!(unpad_pin(&[0x31; 32]), Err(PinUvAuthError::PinEncoding));
        // 63 bytes and a terminator is the longest PIN; 64 has no room for one.
        let mut longest = [0x31; 64];
        longest[63] = 0;
        assert_eq!(unpad_pin(&longest).unwrap().1, 63);
        assert_eq!(
            unpad_pin(&[0x31; 64]),
            Err(PinUvAuthError::PinLength {
                chars: 64,
                bytes: 64
            })
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let (a, _) = pair(Protocol::Two);
        let shown = format!("{a:?} {:?}", KeyAgreementKey::generate().unwrap());
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&format!("{:?}", &a.bytes[..4])));
    }
}
