//! Authenticator data (WebAuthn L3 §6.1): rpIdHash, flags, signCount,
//! attested credential data and extensions, parsed from and written to bytes.

use crate::cbor::{self, DecodeError, DecodeOptions, Value};
use crate::cose::{CoseKey, CoseKeyError};
use std::fmt;

/// The largest credential ID WebAuthn L3 allows (§5.1.8, "at most 1023 bytes").
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The fixed part: rpIdHash (32) + flags (1) + signCount (4).
pub const FIXED_LEN: usize = 37;

/// The authenticator data flags byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified.
    pub const UV: u8 = 0x04;
    /// Backup eligible.
    pub const BE: u8 = 0x08;
    /// Backup state.
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;
    /// Bits reserved for future use (0x02, 0x20).
    pub const RFU: u8 = 0x22;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// UP.
    pub fn user_present(self) -> bool {
        self.has(Self::UP)
    }
    /// UV.
    pub fn user_verified(self) -> bool {
        self.has(Self::UV)
    }
    /// BE.
    pub fn backup_eligible(self) -> bool {
        self.has(Self::BE)
    }
    /// BS.
    pub fn backed_up(self) -> bool {
        self.has(Self::BS)
    }
    /// AT.
    pub fn attested_credential_data(self) -> bool {
        self.has(Self::AT)
    }
    /// ED.
    pub fn extension_data(self) -> bool {
        self.has(Self::ED)
    }
    /// The names of the set flags, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Self::UP, "UP"),
            (0x02, "RFU1"),
            (Self::UV, "UV"),
            (Self::BE, "BE"),
            (Self::BS, "BS"),
            (0x20, "RFU2"),
            (Self::AT, "AT"),
            (Self::ED, "ED"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.0 & bit != 0)
        .map(|(_, name)| name)
        .collect()
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags(0x{:02x} {})", self.0, self.names().join("|"))
    }
}

/// Attested credential data (WebAuthn L3 §6.5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredentialData {
    /// The authenticator model's AAGUID.
    pub aaguid: [u8; 16],
    /// The credential ID (at most [`MAX_CREDENTIAL_ID_LEN`] bytes).
    pub credential_id: Vec<u8>,
    /// The credential public key as parsed.
    pub public_key: CoseKey,
    /// The credential public key exactly as encoded.
    pub public_key_cbor: Vec<u8>,
}

impl AttestedCredentialData {
    /// Builds attested credential data for `public_key`, encoded in CTAP2 canonical CBOR.
    pub fn new(aaguid: [u8; 16], credential_id: Vec<u8>, public_key: CoseKey) -> Self {
        let public_key_cbor = public_key.to_cbor();
        AttestedCredentialData {
            aaguid,
            credential_id,
            public_key,
            public_key_cbor,
        }
    }
}

/// Authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// Flags.
    pub flags: Flags,
    /// Signature counter.
    pub sign_count: u32,
    /// Present when the AT flag is set.
    pub attested_credential: Option<AttestedCredentialData>,
    /// The extension outputs map, present when the ED flag is set.
    pub extensions: Option<Value>,
}

/// Why bytes are not valid authenticator data. Offsets count from the start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthDataError {
    /// Larger than any message could carry.
    #[error("authenticator data is {len} bytes, over the limit of {max}")]
    TooLong {
        /// Length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Ends before a field is complete.
    #[error(
        "authenticator data ends at byte {len} inside {field} (needs {needed} bytes from byte {offset})"
    )]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// Its length.
        needed: usize,
        /// Total length.
        len: usize,
    },
    /// A credential ID longer than WebAuthn allows.
    #[error("credential ID length {len} exceeds the maximum of 1023 bytes")]
    CredentialIdTooLong {
        /// The declared length.
        len: usize,
    },
    /// The credential public key is not valid CBOR.
    #[error("credential public key at byte {offset} is not valid CBOR: {source}")]
    PublicKeyCbor {
        /// Where it starts.
        offset: usize,
        /// The CBOR error (offsets relative to the key).
        source: DecodeError,
    },
    /// The credential public key is not a usable COSE key.
    #[error("credential public key at byte {offset}: {source}")]
    PublicKey {
        /// Where it starts.
        offset: usize,
        /// The COSE error.
        source: CoseKeyError,
    },
    /// The extensions are not valid CBOR.
    #[error("extensions at byte {offset} are not valid CBOR: {source}")]
    ExtensionsCbor {
        /// Where they start.
        offset: usize,
        /// The CBOR error (offsets relative to the extensions).
        source: DecodeError,
    },
    /// The extensions item is not a map.
    #[error("extensions at byte {offset} must be a map, found a {found}")]
    ExtensionsNotAMap {
        /// Where they start.
        offset: usize,
        /// The kind of item found.
        found: &'static str,
    },
    /// Bytes that no flag accounts for.
    #[error("{count} unexpected byte(s) at byte {offset} (flags {flags:?} announce nothing more)")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
        /// The flags.
        flags: Flags,
    },
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], AuthDataError> {
        let slice = self.bytes.get(self.pos..self.pos.saturating_add(n)).ok_or(
            AuthDataError::Truncated {
                field,
                offset: self.pos,
                needed: n,
                len: self.bytes.len(),
            },
        )?;
        self.pos += n;
        Ok(slice)
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }
}

impl AuthenticatorData {
    /// Parses authenticator data; every byte must be accounted for by the flags.
    pub fn parse(bytes: &[u8]) -> Result<AuthenticatorData, AuthDataError> {
        let limits = cbor::Limits::CTAP;
        if bytes.len() > limits.max_input_len {
            return Err(AuthDataError::TooLong {
                len: bytes.len(),
                max: limits.max_input_len,
            });
        }
        let mut c = Cursor { bytes, pos: 0 };
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(c.take(32, "rpIdHash")?);
        let flags = Flags(c.take(1, "flags")?.first().copied().unwrap_or_default());
        let mut counter = [0u8; 4];
        counter.copy_from_slice(c.take(4, "signCount")?);
        let sign_count = u32::from_be_bytes(counter);

        let attested_credential = if flags.attested_credential_data() {
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(c.take(16, "aaguid")?);
            let len_bytes = c.take(2, "credentialIdLength")?;
            let len = usize::from(u16::from_be_bytes([
                len_bytes.first().copied().unwrap_or_default(),
                len_bytes.get(1).copied().unwrap_or_default(),
            ]));
            if len > MAX_CREDENTIAL_ID_LEN {
                return Err(AuthDataError::CredentialIdTooLong { len });
            }
            let credential_id = c.take(len, "credentialId")?.to_vec();
            let offset = c.pos;
            let (value, used) =
                cbor::from_slice_prefix(c.rest(), &DecodeOptions::CTAP_ANY_ORDER)
                    .map_err(|source| AuthDataError::PublicKeyCbor { offset, source })?;
            let public_key_cbor = c.take(used, "credentialPublicKey")?.to_vec();
            let public_key = CoseKey::from_value(&value)
                .map_err(|source| AuthDataError::PublicKey { offset, source })?;
            Some(AttestedCredentialData {
                aaguid,
                credential_id,
                public_key,
                public_key_cbor,
            })
        } else {
            None
        };

        let extensions = if flags.extension_data() {
            let offset = c.pos;
            let (value, used) =
                cbor::from_slice_prefix(c.rest(), &DecodeOptions::CTAP_ANY_ORDER)
                    .map_err(|source| AuthDataError::ExtensionsCbor { offset, source })?;
            if value.as_map().is_none() {
                return Err(AuthDataError::ExtensionsNotAMap {
                    offset,
                    found: value.kind(),
                });
            }
            c.pos += used;
            Some(value)
        } else {
            None
        };

        if c.pos != bytes.len() {
            return Err(AuthDataError::TrailingBytes {
                offset: c.pos,
                count: bytes.len() - c.pos,
                flags,
            });
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count,
            attested_credential,
            extensions,
        })
    }

    /// Encodes the authenticator data. The AT and ED flags are taken from the
    /// presence of attested credential data and extensions, so the output
    /// always parses back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut flags = self.flags.0 & !(Flags::AT | Flags::ED);
        if self.attested_credential.is_some() {
            flags |= Flags::AT;
        }
        if self.extensions.is_some() {
            flags |= Flags::ED;
        }
        let mut out = Vec::with_capacity(FIXED_LEN + 256);
        out.extend_from_slice(&self.rp_id_hash);
        out.push(flags);
        out.extend_from_slice(&self.sign_count.to_be_bytes());
        if let Some(acd) = &self.attested_credential {
            out.extend_from_slice(&acd.aaguid);
            // Lengths above 1023 are refused on parse; clamp rather than wrap here.
            let len = u16::try_from(acd.credential_id.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&acd.credential_id);
            out.extend_from_slice(&acd.public_key_cbor);
        }
        if let Some(ext) = &self.extensions {
            cbor::write(&mut out, ext, false);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertion_auth_data_parses() {
        // WebAuthn L3 test vectors, none.ES256 authentication.
        let bytes = hex::decode(
            "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000",
        )
        .unwrap();
        let ad = AuthenticatorData::parse(&bytes).unwrap();
        assert_eq!(ad.flags.names(), ["UP", "BE", "BS"]);
        assert_eq!(ad.sign_count, 0);
        assert!(ad.attested_credential.is_none());
        assert_eq!(ad.to_bytes(), bytes);
    }

    #[test]
    fn errors_are_precise() {
        assert!(matches!(
            AuthenticatorData::parse(&[0u8; 36]),
            Err(AuthDataError::Truncated {
                field: "signCount",
                offset: 33,
                ..
            })
        ));
        let mut b = vec![0u8; 37];
        b.push(0);
        assert!(matches!(
            AuthenticatorData::parse(&b),
            Err(AuthDataError::TrailingBytes {
                offset: 37,
                count: 1,
                ..
            })
        ));
        let mut b = vec![0u8; 37];
        b[32] = Flags::AT;
        b.extend_from_slice(&[0u8; 16]);
        b.extend_from_slice(&[0x04, 0x00]);
        assert_eq!(
            AuthenticatorData::parse(&b),
            Err(AuthDataError::CredentialIdTooLong { len: 1024 })
        );
        let mut b = vec![0u8; 37];
        b[32] = Flags::ED;
        b.push(0x01);
        assert!(matches!(
            AuthenticatorData::parse(&b),
            Err(AuthDataError::ExtensionsNotAMap {
                offset: 37,
                found: "integer"
            })
        ));
    }
}
