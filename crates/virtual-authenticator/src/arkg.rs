//! ARKG-P256 (draft-bradleylundberg-cfrg-arkg-10, "The Asynchronous Remote
//! Key Generation algorithm"): the key pair seed the authenticator keeps, the
//! derivation of a blinded private key from a key handle someone else made
//! with the public seed, and (for tests and for anyone holding only the
//! public seed) the public key derivation.
//!
//! The instance is ARKG-P256 (§5.1 of the draft): key blinding by elliptic
//! curve addition on secp256r1 with DST_ext "ARKG-P256", and an ECDH KEM
//! (DST_ext "ARKG-ECDH.ARKG-P256") wrapped in the HMAC construction that
//! makes decapsulation fail on a key handle not made for this seed. Scalars
//! come from hash_to_field (RFC 9380 §5.2, expand_message_xmd with SHA-256,
//! L = 48).
//!
//! Private scalars live in `p256::SecretKey`/`NonZeroScalar`, which zeroize
//! on drop; no `Debug` here prints one.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::hash2curve::{ExpandMsgXmd, hash_to_field};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{AffinePoint, NonZeroScalar, ProjectivePoint, PublicKey, Scalar, SecretKey};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// DST_ext of ARKG-P256's key blinding scheme.
const BL_DST_EXT: &[u8] = b"ARKG-P256";
/// DST_ext of ARKG-P256's KEM.
const KEM_DST_EXT: &[u8] = b"ARKG-ECDH.ARKG-P256";
/// The HMAC tag at the front of a key handle (HMAC-SHA-256 truncated to 128 bits).
const TAG_LEN: usize = 16;
/// An uncompressed SEC1 P-256 point.
const POINT_LEN: usize = 65;
/// A key handle: tag || ephemeral public point.
pub const KEY_HANDLE_LEN: usize = TAG_LEN + POINT_LEN;
/// ctx is at most 64 bytes (ARKG-Derive-Public-Key / -Secret-Key, step 1).
pub const MAX_CTX_LEN: usize = 64;

/// Why a derivation failed. None of these carries key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArkgError {
    /// ctx is longer than 64 bytes.
    #[error("ARKG context is longer than 64 bytes")]
    ContextTooLong,
    /// The key handle is not a tag and a valid P-256 point.
    #[error("ARKG key handle is malformed")]
    MalformedKeyHandle,
    /// The key handle's tag does not verify: not made for this seed and ctx.
    #[error("ARKG key handle was not made for this seed and context")]
    WrongKeyHandle,
    /// The derived scalar is zero (negligible probability).
    #[error("ARKG derived a zero key")]
    ZeroKey,
    /// A seed's stored scalar is not valid.
    #[error("ARKG seed scalar is not valid")]
    InvalidSeed,
}

impl ArkgError {
    /// A stable identifier.
    pub fn code(self) -> &'static str {
        match self {
            ArkgError::ContextTooLong => "arkg_context_too_long",
            ArkgError::MalformedKeyHandle => "arkg_malformed_key_handle",
            ArkgError::WrongKeyHandle => "arkg_wrong_key_handle",
            ArkgError::ZeroKey => "arkg_zero_key",
            ArkgError::InvalidSeed => "arkg_invalid_seed",
        }
    }
}

/// hash_to_field(msg, 1) into P-256's scalar field with DST = the
/// concatenation of `dst` (RFC 9380 §5.2; L = 48 through `Scalar: FromOkm`).
fn hash_to_scalar(msg: &[u8], dst: &[&[u8]]) -> Result<Scalar, ArkgError> {
    let mut out = [Scalar::ZERO];
    // Fails only for a DST over 255 bytes or an output too long; ours are
    // at most 11 + 9 + 19 + 1 + 64 bytes and one element.
    hash_to_field::<ExpandMsgXmd<Sha256>, Scalar>(&[msg], dst, &mut out)
        .map_err(|_| ArkgError::ContextTooLong)?;
    let [scalar] = out;
    Ok(scalar)
}

/// ctx' = I2OSP(LEN(ctx), 1) || ctx, checked for length.
fn prefixed_ctx(ctx: &[u8]) -> Result<Vec<u8>, ArkgError> {
    if ctx.len() > MAX_CTX_LEN {
        return Err(ArkgError::ContextTooLong);
    }
    let len = u8::try_from(ctx.len()).map_err(|_| ArkgError::ContextTooLong)?;
    Ok([&[len], ctx].concat())
}

/// BL-PRF(ikm_tau, ctx) -> tau (§3.1): hash_to_field with DST
/// 'ARKG-BL-EC.' || DST_ext || ctx.
fn bl_prf(ikm_tau: &[u8], ctx_bl: &[u8]) -> Result<Scalar, ArkgError> {
    hash_to_scalar(ikm_tau, &[b"ARKG-BL-EC.", BL_DST_EXT, ctx_bl])
}

/// The HMAC wrapper's key schedule (§3.2): from the sub-KEM's shared secret
/// k', the MAC key mk and the output k.
struct KemKeys {
    mac_key: Zeroizing<[u8; 32]>,
    shared: Zeroizing<[u8; 32]>,
}

fn kem_keys(k_prime: &[u8], ctx_kem: &[u8]) -> Result<KemKeys, ArkgError> {
    // HKDF-Extract with no salt, then two HKDF-Expand with distinct infos.
    let hk = Hkdf::<Sha256>::new(None, k_prime);
    let mut mac_key = Zeroizing::new([0u8; 32]);
    hk.expand_multi_info(
        &[b"ARKG-KEM-HMAC-mac.", KEM_DST_EXT, ctx_kem],
        mac_key.as_mut(),
    )
    .map_err(|_| ArkgError::MalformedKeyHandle)?;
    let mut shared = Zeroizing::new([0u8; 32]);
    hk.expand_multi_info(
        &[b"ARKG-KEM-HMAC-shared.", KEM_DST_EXT, ctx_kem],
        shared.as_mut(),
    )
    .map_err(|_| ArkgError::MalformedKeyHandle)?;
    Ok(KemKeys { mac_key, shared })
}

fn tag_mac(mac_key: &[u8]) -> Result<Hmac<Sha256>, ArkgError> {
    <Hmac<Sha256> as Mac>::new_from_slice(mac_key).map_err(|_| ArkgError::MalformedKeyHandle)
}

/// The compact ECDH output: the shared point's x coordinate.
fn ecdh(secret: &NonZeroScalar, public: &AffinePoint) -> Zeroizing<Vec<u8>> {
    let shared = p256::ecdh::diffie_hellman(secret, public);
    Zeroizing::new(shared.raw_secret_bytes().to_vec())
}

/// An ARKG-P256 key pair seed: the blinding key and the KEM key.
pub struct ArkgSeed {
    blinding: SecretKey,
    kem: SecretKey,
}

impl fmt::Debug for ArkgSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArkgSeed(private part redacted)")
    }
}

/// A public seed: the two public keys an ARKG-P256 derivation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArkgPublicSeed {
    /// pk_bl.
    pub blinding: PublicKey,
    /// pk_kem.
    pub kem: PublicKey,
}

impl ArkgSeed {
    /// A seed from two 32-byte scalars (as [`ArkgSeed::to_bytes`] writes
    /// them: sk_bl then sk_kem).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ArkgError> {
        let (bl, kem) = bytes
            .split_at_checked(32)
            .filter(|(_, kem)| kem.len() == 32)
            .ok_or(ArkgError::InvalidSeed)?;
        Ok(ArkgSeed {
            blinding: SecretKey::from_slice(bl).map_err(|_| ArkgError::InvalidSeed)?,
            kem: SecretKey::from_slice(kem).map_err(|_| ArkgError::InvalidSeed)?,
        })
    }

    /// sk_bl || sk_kem, for the state file.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new([self.blinding.to_bytes(), self.kem.to_bytes()].concat())
    }

    /// The public seed (pk_bl, pk_kem).
    pub fn public(&self) -> ArkgPublicSeed {
        ArkgPublicSeed {
            blinding: self.blinding.public_key(),
            kem: self.kem.public_key(),
        }
    }

    /// ARKG-Derive-Secret-Key((sk_bl, sk_kem), kh, ctx) -> sk' (§2.3):
    /// KEM-Decaps (which checks the key handle's tag), BL-PRF, and
    /// sk' = sk_bl + tau mod N.
    pub fn derive_secret_key(&self, key_handle: &[u8], ctx: &[u8]) -> Result<SecretKey, ArkgError> {
        let ctx = prefixed_ctx(ctx)?;
        let ctx_bl = [b"ARKG-Derive-Key-BL.".as_slice(), &ctx].concat();
        let ctx_kem = [b"ARKG-Derive-Key-KEM.".as_slice(), &ctx].concat();

        // KEM-Decaps: kh = t || c'.
        let (tag, point) = key_handle
            .split_at_checked(TAG_LEN)
            .filter(|(_, point)| point.len() == POINT_LEN)
            .ok_or(ArkgError::MalformedKeyHandle)?;
        // Sub-Kem-Decaps: pk' = OS2ECP(c'), k' = ECDH(pk', sk_kem).
        let ephemeral =
            PublicKey::from_sec1_bytes(point).map_err(|_| ArkgError::MalformedKeyHandle)?;
        let k_prime = ecdh(&self.kem.to_nonzero_scalar(), ephemeral.as_affine());
        let keys = kem_keys(&k_prime, &ctx_kem)?;
        let mut mac = tag_mac(keys.mac_key.as_ref())?;
        mac.update(point);
        // Constant-time comparison of the truncated tag.
        mac.verify_truncated_left(tag)
            .map_err(|_| ArkgError::WrongKeyHandle)?;

        let tau = bl_prf(keys.shared.as_ref(), &ctx_bl)?;
        // BL-Blind-Secret-Key: sk' = sk_bl + tau.
        let blinded = Zeroizing::new(*self.blinding.to_nonzero_scalar() + tau);
        let nonzero = Option::<NonZeroScalar>::from(NonZeroScalar::new(*blinded))
            .ok_or(ArkgError::ZeroKey)?;
        Ok(SecretKey::from(nonzero))
    }
}

impl ArkgPublicSeed {
    /// ARKG-Derive-Public-Key((pk_bl, pk_kem), ikm, ctx) -> (pk', kh) (§2.2).
    pub fn derive_public_key(
        &self,
        ikm: &[u8],
        ctx: &[u8],
    ) -> Result<(PublicKey, Vec<u8>), ArkgError> {
        let ctx = prefixed_ctx(ctx)?;
        let ctx_bl = [b"ARKG-Derive-Key-BL.".as_slice(), &ctx].concat();
        let ctx_kem = [b"ARKG-Derive-Key-KEM.".as_slice(), &ctx].concat();

        // Sub-Kem-Derive-Key-Pair(ikm): sk = hash_to_field(ikm) with DST
        // 'ARKG-KEM-ECDH-KG.' || DST_ext.
        let ephemeral = hash_to_scalar(ikm, &[b"ARKG-KEM-ECDH-KG.", KEM_DST_EXT])?;
        let ephemeral = Option::<NonZeroScalar>::from(NonZeroScalar::new(ephemeral))
            .ok_or(ArkgError::ZeroKey)?;
        let ephemeral_public = PublicKey::from_secret_scalar(&ephemeral);
        let point = ephemeral_public.to_encoded_point(false);
        let k_prime = ecdh(&ephemeral, self.kem.as_affine());
        let keys = kem_keys(&k_prime, &ctx_kem)?;
        let mut mac = tag_mac(keys.mac_key.as_ref())?;
        mac.update(point.as_bytes());
        let tag = mac.finalize().into_bytes();
        let key_handle = [tag.get(..TAG_LEN).unwrap_or_default(), point.as_bytes()].concat();

        let tau = bl_prf(keys.shared.as_ref(), &ctx_bl)?;
        // BL-Blind-Public-Key: pk' = pk_bl + tau * G.
        let blinded =
            ProjectivePoint::from(*self.blinding.as_affine()) + ProjectivePoint::GENERATOR * tau;
        let public = PublicKey::from_affine(blinded.to_affine()).map_err(|_| ArkgError::ZeroKey)?;
        Ok((public, key_handle))
    }
}

/// A fresh P-256 secret key from the system's random generator.
pub fn random_secret_key(rng: &dyn aws_lc_rs::rand::SecureRandom) -> Option<SecretKey> {
    // A random 32-byte string is a valid scalar except with probability
    // about 2^-32; try again in that case.
    for _ in 0..8 {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill(bytes.as_mut()).ok()?;
        if let Ok(key) = SecretKey::from_slice(bytes.as_ref()) {
            return Some(key);
        }
    }
    None
}

impl ArkgSeed {
    /// A fresh seed.
    pub fn generate(rng: &dyn aws_lc_rs::rand::SecureRandom) -> Option<Self> {
        Some(ArkgSeed {
            blinding: random_secret_key(rng)?,
            kem: random_secret_key(rng)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;

    fn seed() -> ArkgSeed {
        ArkgSeed::generate(&SystemRandom::new()).expect("seed")
    }

    /// §2.3 is the inverse of §2.2: the secret key derived from the key
    /// handle belongs to the derived public key.
    #[test]
    fn secret_key_matches_public_key() {
        let seed = seed();
        let (public, kh) = seed
            .public()
            .derive_public_key(b"input keying material", b"ctx")
            .expect("derive public");
        assert_eq!(kh.len(), KEY_HANDLE_LEN);
        let secret = seed.derive_secret_key(&kh, b"ctx").expect("derive secret");
        assert_eq!(secret.public_key(), public);
        // Each derivation blinds: not the seed's own blinding key.
        assert_ne!(public, seed.public().blinding);
    }

    /// KEM-Decaps: the HMAC tag binds the key handle to ctx and to the seed.
    #[test]
    fn wrong_context_seed_or_tag_fails() {
        let seed = seed();
        let (_, kh) = seed
            .public()
            .derive_public_key(b"ikm", b"ctx")
            .expect("derive");
        assert_eq!(
            seed.derive_secret_key(&kh, b"other").err(),
            Some(ArkgError::WrongKeyHandle)
        );
        assert_eq!(
            self::seed().derive_secret_key(&kh, b"ctx").err(),
            Some(ArkgError::WrongKeyHandle)
        );
        let mut bad = kh.clone();
        if let Some(b) = bad.first_mut() {
            *b ^= 1;
        }
        assert_eq!(
            seed.derive_secret_key(&bad, b"ctx").err(),
            Some(ArkgError::WrongKeyHandle)
        );
    }

    /// Step 1 of both derivations: ctx longer than 64 bytes is refused;
    /// a key handle that is not tag || point is refused.
    #[test]
    fn malformed_inputs_are_refused() {
        let seed = seed();
        assert_eq!(
            seed.derive_secret_key(&[0u8; KEY_HANDLE_LEN], &[0u8; 65])
                .err(),
            Some(ArkgError::ContextTooLong)
        );
        assert!(seed.derive_secret_key(&[0u8; 64], &[0u8; 64]).is_err());
        assert_eq!(
            seed.derive_secret_key(&[], b"").err(),
            Some(ArkgError::MalformedKeyHandle)
        );
        // Right length, but not a point on the curve.
        let mut kh = vec![0u8; KEY_HANDLE_LEN];
        if let Some(b) = kh.get_mut(TAG_LEN) {
            *b = 4;
        }
        assert_eq!(
            seed.derive_secret_key(&kh, b"").err(),
            Some(ArkgError::MalformedKeyHandle)
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// A vector from python-fido2 2.2.1's ARKG-P256 (its `derive_public_key`,
    /// the client side the device suite uses), made once by
    /// `testdata/arkg_p256_vector.py` run with KEYBENCH_PYTHON: the same
    /// public key and key handle from the same seed, ikm and ctx, and the
    /// secret key derived from that key handle belongs to that public key.
    #[test]
    fn matches_python_fido2() {
        let seed = ArkgSeed::from_bytes(
            &[
                hex("eb1b213bdec869b9c64ebc3133bd52b95be43f4d8a6afff9e06cb52710eebd52"),
                hex("d50813e765ed1cec0b3be63993be37f1cc7e62aae274943f7468d7642f89da79"),
            ]
            .concat(),
        )
        .expect("seed");
        let ikm = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let ctx = b"python-fido2.test_sign_extension_v4";
        let expected_kh = hex(concat!(
            "9abdd7fdf352942af42e5be7e71b0bbd04bf58b51fa935b85478462f0836023e",
            "66ad0e79c2aedcacf7983f3722f60712f317298d32b0f3bd22f3b740c0332a5e",
            "41ba0244c010d468c7f44a0959bab93243"
        ));
        let expected_point = [
            vec![4u8],
            hex("a6ed0ecd598683ee158ecb71b2b1194bccb5e68cdaf01b56e98db75bdd79da8c"),
            hex("da696a9eab0009b809b161c1321d8319b34393b64c17e7dfe29dc5b888a0b139"),
        ]
        .concat();
        let (public, kh) = seed.public().derive_public_key(&ikm, ctx).expect("derive");
        assert_eq!(kh, expected_kh);
        assert_eq!(public.to_encoded_point(false).as_bytes(), expected_point);
        let secret = seed.derive_secret_key(&expected_kh, ctx).expect("secret");
        assert_eq!(
            secret.public_key().to_encoded_point(false).as_bytes(),
            expected_point
        );
    }

    #[test]
    fn seed_round_trips_and_debug_hides_it() {
        let seed = seed();
        let again = ArkgSeed::from_bytes(&seed.to_bytes()).expect("from bytes");
        assert_eq!(again.public(), seed.public());
        assert_eq!(format!("{seed:?}"), "ArkgSeed(private part redacted)");
        assert!(ArkgSeed::from_bytes(&[0u8; 64]).is_err());
        assert!(ArkgSeed::from_bytes(&[1u8; 63]).is_err());
    }
}
