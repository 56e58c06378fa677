//! The previewSign extension (the WebAuthn `sign` extension, version 4 as
//! python-fido2 2.2.1 speaks it on the wire): at makeCredential a signing
//! key pair separate from the credential key, kept with the credential; at
//! getAssertion a signature by that key over data the RP chose.
//!
//! This module owns the extension's CTAP inputs and outputs, the signing
//! keys (ESP256, ES256, ESP256-split and its prototype number,
//! ESP256-split-ARKG over [`crate::arkg`], ML-DSA-44/65/87), their place in
//! the state file, and the attestation object for the new key that travels
//! in the unsigned extension outputs.
//!
//! Wire format (integer keys of the authenticator input and output maps):
//! registration input {3: algorithms, 4: flags}, output {3: alg, 4: flags}
//! in authenticator data and {7: attestation object} unsigned; assertion
//! input {2: key handle, 6: to-be-signed, 7: additional arguments (CBOR)},
//! output {6: signature}. Flags: 0b001 user presence required, 0b100 user
//! verification required; 0b000, 0b001 and 0b101 are the valid values.
//!
//! The split algorithms (draft-lundberg-cose-two-party-signing-algs) sign a
//! digest the RP computed, so their public key is presented with the
//! verification algorithm ESP256 (-9): a verifier checks the signature over
//! the message as for any ESP256 key.

use crate::arkg::{self, ArkgSeed};
use crate::attestation::AttestationIdentity;
use crate::authenticator::CtapResult;
use crate::keys::CredentialKey;
use aws_lc_rs::rand::SecureRandom;
use fido_wire::cbor::{self, DecodeOptions, Value};
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey, KeyParams};
use fido_wire::ctap2::StatusCode;
use fido_wire::webauthn::{AttestedCredentialData, AuthenticatorData, Flags};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use std::fmt;
use zeroize::Zeroizing;

/// The extension identifier.
pub const NAME: &str = "previewSign";

/// Authenticator input: the key handle of the signing key.
const IN_KEY_HANDLE: i64 = 2;
/// Authenticator input: the algorithms the RP accepts, preferred first.
const IN_ALGORITHMS: i64 = 3;
/// Authenticator input: the key's UP/UV policy.
const IN_FLAGS: i64 = 4;
/// Authenticator input: the data to be signed.
const IN_TBS: i64 = 6;
/// Authenticator input: the algorithm's additional arguments (CBOR bytes).
const IN_ARGS: i64 = 7;
/// Authenticator output: the chosen algorithm.
const OUT_ALG: i64 = 3;
/// Authenticator output: the key's flags.
const OUT_FLAGS: i64 = 4;
/// Authenticator output: the signature.
const OUT_SIGNATURE: i64 = 6;
/// Unsigned output: the attestation object of the signing key.
const OUT_ATTESTATION_OBJECT: i64 = 7;

/// COSE_Sign_Args (draft-bradleylundberg-cfrg-arkg §6): alg.
const ARGS_ALG: i64 = 3;
/// COSE_Sign_Args for ARKG: the ARKG key handle.
const ARGS_ARKG_KEY_HANDLE: i64 = -1;
/// COSE_Sign_Args for ARKG: the ARKG context.
const ARGS_ARKG_CTX: i64 = -2;

/// COSE key type of an ARKG public seed (the draft's placeholder value).
const KTY_ARKG_PUB: i64 = -65537;
/// COSE algorithm ARKG-P256 (placeholder value).
const ALG_ARKG_P256: i64 = -65700;

/// The signing algorithms this key offers, by their COSE numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignAlgorithm {
    /// ESP256 (-9): ECDSA P-256 with SHA-256 over the message.
    Esp256,
    /// ES256 (-7): the same signature under its older name.
    Es256,
    /// ESP256-split (-300): ECDSA P-256 over a SHA-256 digest the RP made.
    Esp256Split,
    /// ESP256-split under the number some prototypes used (-70009).
    Esp256SplitPrototype,
    /// ESP256-split with a private key derived by ARKG-P256 (-65539).
    Esp256SplitArkg,
    /// ML-DSA-44 (-48).
    MlDsa44,
    /// ML-DSA-65 (-49).
    MlDsa65,
    /// ML-DSA-87 (-50).
    MlDsa87,
}

impl SignAlgorithm {
    /// Every algorithm, for lookups.
    pub const ALL: [SignAlgorithm; 8] = [
        SignAlgorithm::Esp256,
        SignAlgorithm::Es256,
        SignAlgorithm::Esp256Split,
        SignAlgorithm::Esp256SplitPrototype,
        SignAlgorithm::Esp256SplitArkg,
        SignAlgorithm::MlDsa44,
        SignAlgorithm::MlDsa65,
        SignAlgorithm::MlDsa87,
    ];

    /// The COSE algorithm number.
    pub fn cose(self) -> i64 {
        match self {
            SignAlgorithm::Esp256 => -9,
            SignAlgorithm::Es256 => -7,
            SignAlgorithm::Esp256Split => -300,
            SignAlgorithm::Esp256SplitPrototype => -70009,
            SignAlgorithm::Esp256SplitArkg => -65539,
            SignAlgorithm::MlDsa44 => CoseAlgorithm::ML_DSA_44.0,
            SignAlgorithm::MlDsa65 => CoseAlgorithm::ML_DSA_65.0,
            SignAlgorithm::MlDsa87 => CoseAlgorithm::ML_DSA_87.0,
        }
    }

    /// The algorithm a COSE number names, if offered.
    pub fn from_cose(alg: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.cose() == alg)
    }

    /// Whether the to-be-signed data is already a SHA-256 digest.
    pub fn prehashed(self) -> bool {
        matches!(
            self,
            SignAlgorithm::Esp256Split
                | SignAlgorithm::Esp256SplitPrototype
                | SignAlgorithm::Esp256SplitArkg
        )
    }

    /// The credential-key algorithm that signs whole messages for it.
    fn message_key_algorithm(self) -> Option<CoseAlgorithm> {
        match self {
            SignAlgorithm::Esp256 | SignAlgorithm::Es256 => Some(CoseAlgorithm::ES256),
            SignAlgorithm::MlDsa44 => Some(CoseAlgorithm::ML_DSA_44),
            SignAlgorithm::MlDsa65 => Some(CoseAlgorithm::ML_DSA_65),
            SignAlgorithm::MlDsa87 => Some(CoseAlgorithm::ML_DSA_87),
            _ => None,
        }
    }
}

/// A signing key's user presence / verification policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignFlags(pub u8);

impl SignFlags {
    /// Signing needs user presence.
    pub const UP: u8 = 0b001;
    /// Signing needs user verification.
    pub const UV: u8 = 0b100;

    /// The flags values the extension defines: none, UP, UP and UV.
    fn parse(value: u64) -> CtapResult<Self> {
        match value {
            0b000 | 0b001 | 0b101 => Ok(SignFlags(value as u8)),
            _ => Err(StatusCode::INVALID_OPTION),
        }
    }

    fn up(self) -> bool {
        self.0 & Self::UP != 0
    }

    fn uv(self) -> bool {
        self.0 & Self::UV != 0
    }
}

/// The private part of a signing key.
enum SignSecret {
    /// ESP256/ES256 and ML-DSA: the message is signed as a credential key signs.
    Message(CredentialKey),
    /// ESP256-split: a P-256 key that signs a digest.
    Prehash(p256::SecretKey),
    /// ESP256-split-ARKG: the seed each signing key is derived from.
    Arkg(ArkgSeed),
}

/// A credential's signing key.
pub struct SignKey {
    /// The key handle the RP presents to sign with this key.
    pub key_handle: Vec<u8>,
    /// Its algorithm.
    pub algorithm: SignAlgorithm,
    /// Its UP/UV policy.
    pub flags: SignFlags,
    secret: SignSecret,
}

impl fmt::Debug for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignKey")
            .field("algorithm", &self.algorithm)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

fn ec2(point: &p256::PublicKey, alg: i64) -> CoseKey {
    let point = point.to_encoded_point(false);
    CoseKey {
        kid: None,
        alg: Some(CoseAlgorithm(alg)),
        params: KeyParams::Ec2 {
            curve: CoseCurve::P256,
            x: point.x().map(|x| x.to_vec()).unwrap_or_default(),
            y: point.y().map(|y| y.to_vec()).unwrap_or_default(),
            d: None,
        },
        other: Vec::new(),
    }
}

fn prehash_sign(key: &p256::SecretKey, digest: &[u8]) -> CtapResult<Vec<u8>> {
    if digest.len() != 32 {
        return Err(StatusCode::INVALID_LENGTH);
    }
    let signature: p256::ecdsa::Signature = SigningKey::from(key)
        .sign_prehash(digest)
        .map_err(|_| StatusCode::OTHER)?;
    Ok(signature.to_der().as_bytes().to_vec())
}

impl SignKey {
    /// A fresh key for `algorithm` with a random key handle.
    pub fn generate(
        algorithm: SignAlgorithm,
        flags: SignFlags,
        rng: &dyn SecureRandom,
    ) -> CtapResult<Self> {
        let secret = match algorithm.message_key_algorithm() {
            Some(alg) => SignSecret::Message(
                CredentialKey::generate(alg)
                    .ok_or(StatusCode::UNSUPPORTED_ALGORITHM)?
                    .map_err(|_| StatusCode::OTHER)?,
            ),
            None if algorithm == SignAlgorithm::Esp256SplitArkg => {
                SignSecret::Arkg(ArkgSeed::generate(rng).ok_or(StatusCode::OTHER)?)
            }
            None => SignSecret::Prehash(arkg::random_secret_key(rng).ok_or(StatusCode::OTHER)?),
        };
        let mut key_handle = vec![0u8; 32];
        rng.fill(&mut key_handle).map_err(|_| StatusCode::OTHER)?;
        Ok(SignKey {
            key_handle,
            algorithm,
            flags,
            secret,
        })
    }

    /// The public key as the attestation object carries it: EC2 for the
    /// ECDSA keys (ESP256 for the split ones, see the module comment), AKP
    /// for ML-DSA, and the ARKG public seed {1: ARKG-pub, 3: ARKG-P256,
    /// -1: pk_bl, -2: pk_kem, -3: ESP256} for ARKG.
    pub fn cose_public_key(&self) -> CoseKey {
        match &self.secret {
            SignSecret::Message(key) => {
                let mut cose = key.cose_public_key();
                cose.alg = Some(CoseAlgorithm(self.algorithm.cose()));
                cose
            }
            SignSecret::Prehash(key) => ec2(&key.public_key(), SignAlgorithm::Esp256.cose()),
            SignSecret::Arkg(seed) => {
                let public = seed.public();
                CoseKey {
                    kid: None,
                    alg: Some(CoseAlgorithm(ALG_ARKG_P256)),
                    params: KeyParams::Other {
                        kty: Value::int(KTY_ARKG_PUB),
                    },
                    other: vec![
                        (
                            Value::int(-1),
                            ec2(&public.blinding, SignAlgorithm::Esp256.cose()).to_value(),
                        ),
                        (
                            Value::int(-2),
                            ec2(&public.kem, CoseAlgorithm::ECDH_ES_HKDF_256.0).to_value(),
                        ),
                        (Value::int(-3), Value::int(SignAlgorithm::Esp256.cose())),
                    ],
                }
            }
        }
    }

    /// The authenticator data output at registration: {3: alg, 4: flags}.
    pub fn registration_output(&self) -> Value {
        Value::map([
            (Value::int(OUT_ALG), Value::int(self.algorithm.cose())),
            (Value::int(OUT_FLAGS), Value::int(self.flags.0)),
        ])
    }

    /// Whether an assertion with these UP/UV results may use the key.
    fn authorize(&self, user_present: bool, user_verified: bool) -> CtapResult<()> {
        if self.flags.up() && !user_present {
            return Err(StatusCode::UP_REQUIRED);
        }
        if self.flags.uv() && !user_verified {
            return Err(StatusCode::PUAT_REQUIRED);
        }
        Ok(())
    }

    /// Signs `tbs` (a digest for the split algorithms) with the key, or with
    /// the key ARKG derives from `args` for ESP256-split-ARKG.
    fn sign(&self, tbs: &[u8], args: Option<&[u8]>) -> CtapResult<Vec<u8>> {
        match &self.secret {
            SignSecret::Message(key) => key.sign(tbs).map_err(|_| StatusCode::OTHER),
            SignSecret::Prehash(key) => prehash_sign(key, tbs),
            SignSecret::Arkg(seed) => {
                let args = args.ok_or(StatusCode::MISSING_PARAMETER)?;
                let args = ArkgArgs::parse(args)?;
                let derived = seed
                    .derive_secret_key(&args.key_handle, &args.ctx)
                    .map_err(|_| StatusCode::INVALID_CREDENTIAL)?;
                prehash_sign(&derived, tbs)
            }
        }
    }

    /// The key as the state file keeps it. Holds the private key.
    pub fn to_value(&self) -> CtapResult<Value> {
        let private = match &self.secret {
            SignSecret::Message(key) => key.to_private_bytes().map_err(|_| StatusCode::OTHER)?,
            SignSecret::Prehash(key) => Zeroizing::new(key.to_bytes().to_vec()),
            SignSecret::Arkg(seed) => seed.to_bytes(),
        };
        Ok(Value::map([
            (Value::text("kh"), Value::bytes(self.key_handle.clone())),
            (Value::text("alg"), Value::int(self.algorithm.cose())),
            (Value::text("flags"), Value::int(self.flags.0)),
            (Value::text("key"), Value::bytes(private.to_vec())),
        ]))
    }

    /// The key [`SignKey::to_value`] wrote; the error names what is wrong.
    pub fn from_value(v: &Value) -> Result<Self, &'static str> {
        let key_handle = v
            .get_text("kh")
            .and_then(Value::as_bytes)
            .ok_or("previewSign key handle")?
            .to_vec();
        let algorithm = v
            .get_text("alg")
            .and_then(Value::as_i64)
            .and_then(SignAlgorithm::from_cose)
            .ok_or("previewSign algorithm")?;
        let flags = v
            .get_text("flags")
            .and_then(Value::as_u64)
            .and_then(|f| SignFlags::parse(f).ok())
            .ok_or("previewSign flags")?;
        let private = Zeroizing::new(
            v.get_text("key")
                .and_then(Value::as_bytes)
                .ok_or("previewSign key")?
                .to_vec(),
        );
        let bad = "previewSign key is not valid for its algorithm";
        let secret = match algorithm.message_key_algorithm() {
            Some(alg) => SignSecret::Message(
                CredentialKey::from_private_bytes(alg, &private).map_err(|_| bad)?,
            ),
            None if algorithm == SignAlgorithm::Esp256SplitArkg => {
                SignSecret::Arkg(ArkgSeed::from_bytes(&private).map_err(|_| bad)?)
            }
            None => SignSecret::Prehash(p256::SecretKey::from_slice(&private).map_err(|_| bad)?),
        };
        Ok(SignKey {
            key_handle,
            algorithm,
            flags,
            secret,
        })
    }
}

/// ARKG's COSE_Sign_Args: {3: ESP256-split-ARKG, -1: kh, -2: ctx}; other
/// members are ignored.
struct ArkgArgs {
    key_handle: Vec<u8>,
    ctx: Vec<u8>,
}

impl ArkgArgs {
    fn parse(bytes: &[u8]) -> CtapResult<Self> {
        let args = cbor::from_slice(bytes, &DecodeOptions::CTAP_ANY_ORDER)
            .map_err(|_| StatusCode::INVALID_CBOR)?;
        // Arguments for another algorithm (or none named) cannot make this
        // key's signing key.
        if args.as_map().is_none()
            || args.get_int(ARGS_ALG).and_then(Value::as_i64)
                != Some(SignAlgorithm::Esp256SplitArkg.cose())
        {
            return Err(StatusCode::INVALID_CREDENTIAL);
        }
        let member = |label| {
            args.get_int(label)
                .and_then(Value::as_bytes)
                .map(<[u8]>::to_vec)
                .ok_or(StatusCode::INVALID_CREDENTIAL)
        };
        Ok(ArkgArgs {
            key_handle: member(ARGS_ARKG_KEY_HANDLE)?,
            ctx: member(ARGS_ARKG_CTX)?,
        })
    }
}

fn require_map(input: &Value) -> CtapResult<()> {
    input
        .as_map()
        .map(|_| ())
        .ok_or(StatusCode::CBOR_UNEXPECTED_TYPE)
}

/// A makeCredential's generateKey request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateKeyRequest {
    /// The first algorithm of the RP's list this key offers.
    pub algorithm: SignAlgorithm,
    /// The key's policy.
    pub flags: SignFlags,
}

impl GenerateKeyRequest {
    /// Reads the registration input {3: algorithms, 4: flags}.
    pub fn parse(input: &Value) -> CtapResult<Self> {
        require_map(input)?;
        // Signing inputs have no place in a registration.
        if [IN_KEY_HANDLE, IN_TBS, IN_ARGS]
            .iter()
            .any(|k| input.get_int(*k).is_some())
        {
            return Err(StatusCode::INVALID_OPTION);
        }
        let flags = match input.get_int(IN_FLAGS) {
            // Without flags the key asks for a touch, the safe default.
            None => SignFlags(SignFlags::UP),
            Some(v) => SignFlags::parse(v.as_u64().ok_or(StatusCode::CBOR_UNEXPECTED_TYPE)?)?,
        };
        let algorithms = input
            .get_int(IN_ALGORITHMS)
            .ok_or(StatusCode::MISSING_PARAMETER)?
            .as_array()
            .ok_or(StatusCode::CBOR_UNEXPECTED_TYPE)?;
        let mut chosen = None;
        for alg in algorithms {
            let alg = alg.as_i64().ok_or(StatusCode::CBOR_UNEXPECTED_TYPE)?;
            if chosen.is_none() {
                chosen = SignAlgorithm::from_cose(alg);
            }
        }
        Ok(GenerateKeyRequest {
            algorithm: chosen.ok_or(StatusCode::UNSUPPORTED_ALGORITHM)?,
            flags,
        })
    }

    /// Generates the key.
    pub fn generate(&self, rng: &dyn SecureRandom) -> CtapResult<SignKey> {
        SignKey::generate(self.algorithm, self.flags, rng)
    }
}

/// What the unsigned extension outputs' attestation object is made of,
/// besides the key: the credential's RP, flags and AAGUID, the request's
/// clientDataHash, and the batch identity when the key attests with one.
pub struct KeyAttestation<'a> {
    /// The authenticator model's AAGUID.
    pub aaguid: [u8; 16],
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// The credential's UP/UV flags.
    pub flags: Flags,
    /// The makeCredential clientDataHash.
    pub client_data_hash: &'a [u8],
    /// Packed basic attestation's identity, if the key uses it.
    pub identity: Option<&'a AttestationIdentity>,
}

impl KeyAttestation<'_> {
    /// The unsigned extension outputs {"previewSign": {7: attestation
    /// object}}: the signing key's attestation object ({1: fmt, 2:
    /// authData, 3: attStmt}) whose attested credential is the signing key
    /// under its key handle, signature counter 0, and the registration
    /// output as its extensions.
    pub fn unsigned_outputs(&self, key: &SignKey) -> CtapResult<Value> {
        let auth_data = AuthenticatorData {
            rp_id_hash: self.rp_id_hash,
            flags: self.flags,
            sign_count: 0,
            attested_credential: Some(AttestedCredentialData::new(
                self.aaguid,
                key.key_handle.clone(),
                key.cose_public_key(),
            )),
            extensions: Some(Value::map([(Value::text(NAME), key.registration_output())])),
        }
        .to_bytes();
        let (fmt, att_stmt) = match self.identity {
            Some(identity) => {
                let signed = [auth_data.as_slice(), self.client_data_hash].concat();
                let sig = identity.sign(&signed).ok_or(StatusCode::OTHER)?;
                (
                    "packed",
                    Value::map([
                        (Value::text("alg"), Value::int(CoseAlgorithm::ES256.0)),
                        (Value::text("sig"), Value::bytes(sig)),
                        (
                            Value::text("x5c"),
                            Value::Array(vec![Value::bytes(identity.certificate.clone())]),
                        ),
                    ]),
                )
            }
            None => ("none", Value::Map(Vec::new())),
        };
        let attestation_object = Value::map([
            (Value::int(1), Value::text(fmt)),
            (Value::int(2), Value::bytes(auth_data)),
            (Value::int(3), att_stmt),
        ]);
        Ok(Value::map([(
            Value::text(NAME),
            Value::map([(
                Value::int(OUT_ATTESTATION_OBJECT),
                Value::bytes(cbor::to_canonical_vec(&attestation_object)),
            )]),
        )]))
    }
}

/// A getAssertion's signing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    key_handle: Vec<u8>,
    tbs: Vec<u8>,
    args: Option<Vec<u8>>,
}

impl SignRequest {
    /// Reads the assertion input {2: key handle, 6: tbs, 7: args} from the
    /// request's extensions, if previewSign is among them. Signing needs an
    /// allow list naming the credential, and both the key handle and the
    /// data: without them the request is INVALID_OPTION.
    pub fn parse(extensions: Option<&Value>, by_allow_list: bool) -> CtapResult<Option<Self>> {
        let Some(input) = extensions.and_then(|e| e.get_text(NAME)) else {
            return Ok(None);
        };
        require_map(input)?;
        if !by_allow_list {
            return Err(StatusCode::INVALID_OPTION);
        }
        // Key generation inputs have no place in an assertion.
        if [IN_ALGORITHMS, IN_FLAGS]
            .iter()
            .any(|k| input.get_int(*k).is_some())
        {
            return Err(StatusCode::INVALID_OPTION);
        }
        let bytes = |label| -> CtapResult<Option<Vec<u8>>> {
            input
                .get_int(label)
                .map(|v| {
                    v.as_bytes()
                        .map(<[u8]>::to_vec)
                        .ok_or(StatusCode::CBOR_UNEXPECTED_TYPE)
                })
                .transpose()
        };
        Ok(Some(SignRequest {
            key_handle: bytes(IN_KEY_HANDLE)?.ok_or(StatusCode::INVALID_OPTION)?,
            tbs: bytes(IN_TBS)?.ok_or(StatusCode::INVALID_OPTION)?,
            args: bytes(IN_ARGS)?,
        }))
    }

    /// The credential's signing key this request names, if UP/UV allow
    /// its use. Checked before the touch, so a refused request costs none.
    pub fn authorize<'k>(
        &self,
        key: Option<&'k SignKey>,
        user_present: bool,
        user_verified: bool,
    ) -> CtapResult<&'k SignKey> {
        let key = key
            .filter(|k| k.key_handle == self.key_handle)
            .ok_or(StatusCode::INVALID_CREDENTIAL)?;
        key.authorize(user_present, user_verified)?;
        Ok(key)
    }

    /// The authenticator data output {6: signature}.
    pub fn output(
        &self,
        key: Option<&SignKey>,
        user_present: bool,
        user_verified: bool,
    ) -> CtapResult<Value> {
        let key = self.authorize(key, user_present, user_verified)?;
        let signature = key.sign(&self.tbs, self.args.as_deref())?;
        Ok(Value::map([(
            Value::int(OUT_SIGNATURE),
            Value::bytes(signature),
        )]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;

    /// The state file keeps every kind of key: what `to_value` writes,
    /// `from_value` reads back to the same public key and policy.
    #[test]
    fn keys_round_trip_through_the_state_file_form() {
        let rng = SystemRandom::new();
        for algorithm in SignAlgorithm::ALL {
            let key = SignKey::generate(algorithm, SignFlags(SignFlags::UP), &rng).unwrap();
            let again = SignKey::from_value(&key.to_value().unwrap()).unwrap();
            assert_eq!(again.algorithm, algorithm);
            assert_eq!(again.flags, key.flags);
            assert_eq!(again.key_handle, key.key_handle);
            assert_eq!(again.cose_public_key(), key.cose_public_key());
        }
        let mut v = SignKey::generate(SignAlgorithm::Esp256Split, SignFlags(0), &rng)
            .unwrap()
            .to_value()
            .unwrap();
        if let Value::Map(entries) = &mut v {
            entries.retain(|(k, _)| k.as_text() != Some("key"));
        }
        assert_eq!(SignKey::from_value(&v).err(), Some("previewSign key"));
    }

    /// Debug output names the algorithm and policy, never key material.
    #[test]
    fn debug_output_holds_no_private_key() {
        let rng = SystemRandom::new();
        for algorithm in [SignAlgorithm::Esp256Split, SignAlgorithm::Esp256SplitArkg] {
            let key = SignKey::generate(algorithm, SignFlags(0), &rng).unwrap();
            let debug = format!("{key:?}");
            let private = key.to_value().unwrap();
            let private = private.get_text("key").and_then(Value::as_bytes).unwrap();
            let hex: String = private.iter().map(|b| format!("{b:02x}")).collect();
            assert!(!debug.contains(&hex), "{debug}");
            assert!(!debug.contains(&format!("{private:?}")), "{debug}");
            assert!(debug.starts_with("SignKey {"), "{debug}");
        }
    }

    /// The flags values the extension defines are 0b000, 0b001 and 0b101;
    /// any other is INVALID_OPTION (the suite's test_register_invalid_flags).
    #[test]
    fn only_three_flags_values_are_valid() {
        let valid: Vec<u64> = (0..=255).filter(|f| SignFlags::parse(*f).is_ok()).collect();
        assert_eq!(valid, vec![0, 1, 5]);
        assert_eq!(SignFlags::parse(2).err(), Some(StatusCode::INVALID_OPTION));
        assert_eq!(
            SignFlags::parse(1 << 40).err(),
            Some(StatusCode::INVALID_OPTION)
        );
    }
}
