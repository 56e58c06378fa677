//! Authenticator extensions (CTAP 2.1 §12): credProtect, hmac-secret,
//! credBlob, largeBlobKey and minPinLength, and CTAP 2.2's hmac-secret-mc
//! (hmac-secret's outputs at creation) and thirdPartyPayment (a credential
//! marked at creation for payments another party starts, §12.9), and
//! previewSign (its keys and signatures in `sign_extension`) — what
//! each reads from a request,
//! keeps with the credential, and writes into authenticator data.

use crate::authenticator::CtapResult;
use crate::pin::{PinRecord, PinSession};
use crate::sign_extension::{self, GenerateKeyRequest, SignRequest};
use crate::state::Credential;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use fido_wire::cbor::{self, Value};
use fido_wire::cose::CoseKey;
use fido_wire::ctap2::StatusCode;
use pin_uv_auth::{Protocol, SharedSecret};
use zeroize::Zeroizing;

/// The extensions getInfo lists.
pub const SUPPORTED: [&str; 8] = [
    "credBlob",
    "credProtect",
    "hmac-secret",
    "hmac-secret-mc",
    "largeBlobKey",
    "minPinLength",
    "previewSign",
    "thirdPartyPayment",
];

/// maxCredBlobLength.
pub const MAX_CRED_BLOB_LEN: usize = 32;

/// An extension output map in CTAP2 canonical key order (authenticator
/// data is signed, so its CBOR must be exactly what a verifier rebuilds).
fn output_map(mut entries: Vec<(Value, Value)>) -> Option<Value> {
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|(a, _), (b, _)| {
        cbor::canonical_key_order(&cbor::to_canonical_vec(a), &cbor::to_canonical_vec(b))
    });
    Some(Value::Map(entries))
}

fn input<'a>(extensions: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    extensions.and_then(|e| e.get_text(name))
}

/// What makeCredential asked of the extensions.
#[derive(Default)]
pub struct RegistrationExtensions {
    cred_protect: Option<u8>,
    hmac_secret: bool,
    /// hmac-secret-mc's salts, honoured with hmac-secret: true only.
    hmac_secret_mc: Option<HmacSecretInput>,
    cred_blob: Option<Vec<u8>>,
    large_blob_key: bool,
    min_pin_length: bool,
    third_party_payment: bool,
    /// previewSign's generateKey (the `sign_extension` module).
    sign: Option<GenerateKeyRequest>,
}

impl RegistrationExtensions {
    /// Reads the extension inputs; unknown extensions are ignored.
    /// hmac-secret-mc's salts are checked and decrypted here, as
    /// hmac-secret's are in getAssertion.
    pub fn parse(
        extensions: Option<&Value>,
        discoverable: bool,
        pin: &PinSession,
    ) -> CtapResult<Self> {
        if let Some(e) = extensions
            && e.as_map().is_none()
        {
            return Err(StatusCode::CBOR_UNEXPECTED_TYPE);
        }
        let flag = |name| -> CtapResult<bool> {
            match input(extensions, name) {
                None => Ok(false),
                Some(v) => v.as_bool().ok_or(StatusCode::CBOR_UNEXPECTED_TYPE),
            }
        };
        let large_blob_key = match input(extensions, "largeBlobKey") {
            None => false,
            // §12.3: only `true` is valid, and only for discoverable credentials.
            Some(Value::Bool(true)) if discoverable => true,
            Some(_) => return Err(StatusCode::INVALID_OPTION),
        };
        Ok(RegistrationExtensions {
            cred_protect: match input(extensions, "credProtect") {
                None => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .filter(|n| (1..=3).contains(n))
                        .ok_or(StatusCode::INVALID_OPTION)?,
                ),
            },
            hmac_secret: flag("hmac-secret")?,
            // Outputs at creation need the CredRandom hmac-secret creates:
            // without hmac-secret: true there is nothing to evaluate.
            hmac_secret_mc: match input(extensions, "hmac-secret-mc") {
                Some(v) if flag("hmac-secret")? => Some(HmacSecretInput::parse(v, pin)?),
                _ => None,
            },
            cred_blob: match input(extensions, "credBlob") {
                None => None,
                Some(v) => Some(
                    v.as_bytes()
                        .ok_or(StatusCode::CBOR_UNEXPECTED_TYPE)?
                        .to_vec(),
                ),
            },
            large_blob_key,
            min_pin_length: flag("minPinLength")?,
            // CTAP 2.2 §12.9: true marks the credential; false is no request.
            third_party_payment: flag("thirdPartyPayment")?,
            sign: input(extensions, sign_extension::NAME)
                .map(GenerateKeyRequest::parse)
                .transpose()?,
        })
    }

    /// Applies the inputs to the new credential and returns the extension
    /// outputs for its authenticator data.
    pub fn apply(
        &self,
        credential: &mut Credential,
        pin: &PinRecord,
        rng: &SystemRandom,
        user_verified: bool,
    ) -> CtapResult<Option<Value>> {
        let mut out = Vec::new();
        if let Some(level) = self.cred_protect {
            credential.cred_protect = level;
            out.push((Value::text("credProtect"), Value::int(u64::from(level))));
        }
        if self.hmac_secret {
            let mut random = Zeroizing::new([0u8; 64]);
            rng.fill(random.as_mut()).map_err(|_| StatusCode::OTHER)?;
            if let Some(input) = &self.hmac_secret_mc {
                out.push((
                    Value::text("hmac-secret-mc"),
                    Value::bytes(input.outputs(&random, user_verified)?),
                ));
            }
            credential.cred_random = Some(random);
            out.push((Value::text("hmac-secret"), Value::Bool(true)));
        }
        if let Some(blob) = &self.cred_blob {
            let stored = credential.discoverable && blob.len() <= MAX_CRED_BLOB_LEN;
            if stored {
                credential.cred_blob = Some(blob.clone());
            }
            out.push((Value::text("credBlob"), Value::Bool(stored)));
        }
        if self.large_blob_key {
            let mut key = [0u8; 32];
            rng.fill(&mut key).map_err(|_| StatusCode::OTHER)?;
            credential.large_blob_key = Some(key);
        }
        // Only RPs the owner listed with setMinPINLength may learn it.
        if self.min_pin_length && pin.min_length_rp_ids.contains(&credential.rp_id) {
            out.push((Value::text("minPinLength"), Value::int(pin.min_length)));
        }
        if self.third_party_payment {
            credential.third_party_payment = true;
            out.push((Value::text("thirdPartyPayment"), Value::Bool(true)));
        }
        if let Some(request) = &self.sign {
            let key = request.generate(rng)?;
            out.push((Value::text(sign_extension::NAME), key.registration_output()));
            credential.sign_key = Some(key);
        }
        Ok(output_map(out))
    }
}

/// hmac-secret's request, decrypted once for all the assertions it serves.
struct HmacSecretInput {
    shared: SharedSecret,
    salts: Zeroizing<Vec<u8>>,
}

impl HmacSecretInput {
    /// Checks and decrypts hmac-secret's input map (CTAP 2.1 §12.5):
    /// {1: keyAgreement, 2: saltEnc, 3: saltAuth, 4: pinUvAuthProtocol}.
    fn parse(v: &Value, pin: &PinSession) -> CtapResult<Self> {
        let key = v.get_int(1).ok_or(StatusCode::MISSING_PARAMETER)?;
        let salt_enc = v
            .get_int(2)
            .and_then(Value::as_bytes)
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        let salt_auth = v
            .get_int(3)
            .and_then(Value::as_bytes)
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        let protocol = match v.get_int(4) {
            None => Protocol::One,
            Some(p) => p
                .as_u64()
                .and_then(|p| Protocol::from_id(p).ok())
                .ok_or(StatusCode::INVALID_PARAMETER)?,
        };
        let peer = CoseKey::from_value(key).map_err(|_| StatusCode::INVALID_PARAMETER)?;
        let shared = pin
            .key_agreement()
            .shared_secret(protocol, &peer)
            .map_err(|_| StatusCode::INVALID_PARAMETER)?;
        shared
            .verify(salt_enc, salt_auth)
            .map_err(|_| StatusCode::PIN_AUTH_INVALID)?;
        let salts = shared
            .decrypt(salt_enc)
            .map_err(|_| StatusCode::INVALID_LENGTH)?;
        if salts.len() != 32 && salts.len() != 64 {
            return Err(StatusCode::INVALID_LENGTH);
        }
        Ok(HmacSecretInput { shared, salts })
    }

    /// HMAC-SHA-256 of each salt under CredRandomWithUV (the first half) or
    /// CredRandomWithoutUV (the second), encrypted with the shared secret.
    fn outputs(&self, random: &[u8; 64], user_verified: bool) -> CtapResult<Vec<u8>> {
        let secret = if user_verified {
            random.get(..32)
        } else {
            random.get(32..)
        }
        .ok_or(StatusCode::OTHER)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let mut outputs = Zeroizing::new(Vec::with_capacity(64));
        for salt in self.salts.chunks(32) {
            outputs.extend_from_slice(hmac::sign(&key, salt).as_ref());
        }
        self.shared.encrypt(&outputs).map_err(|_| StatusCode::OTHER)
    }
}

/// What getAssertion asked of the extensions.
#[derive(Default)]
pub struct AssertionExtensions {
    hmac_secret: Option<HmacSecretInput>,
    cred_blob: bool,
    /// largeBlobKey was requested.
    pub large_blob_key: bool,
    third_party_payment: bool,
    /// previewSign's signing request, read by the caller (it depends on
    /// the allow list: `SignRequest::parse`).
    pub sign: Option<SignRequest>,
}

impl AssertionExtensions {
    /// Reads the extension inputs; hmac-secret's salts are checked and
    /// decrypted here (CTAP 2.1 §12.5).
    pub fn parse(extensions: Option<&Value>, pin: &PinSession) -> CtapResult<Self> {
        if let Some(e) = extensions
            && e.as_map().is_none()
        {
            return Err(StatusCode::CBOR_UNEXPECTED_TYPE);
        }
        let hmac_secret = match input(extensions, "hmac-secret") {
            None => None,
            Some(v) => Some(HmacSecretInput::parse(v, pin)?),
        };
        let flag = |name| -> CtapResult<bool> {
            match input(extensions, name) {
                None => Ok(false),
                Some(v) => v.as_bool().ok_or(StatusCode::CBOR_UNEXPECTED_TYPE),
            }
        };
        Ok(AssertionExtensions {
            hmac_secret,
            cred_blob: flag("credBlob")?,
            large_blob_key: flag("largeBlobKey")?,
            third_party_payment: flag("thirdPartyPayment")?,
            sign: None,
        })
    }

    /// The extension outputs for one credential's authenticator data.
    pub fn outputs(
        &self,
        credential: &Credential,
        user_present: bool,
        user_verified: bool,
    ) -> CtapResult<Option<Value>> {
        let mut out = Vec::new();
        if let (Some(input), Some(random)) = (&self.hmac_secret, &credential.cred_random) {
            out.push((
                Value::text("hmac-secret"),
                Value::bytes(input.outputs(random, user_verified)?),
            ));
        }
        if self.cred_blob {
            out.push((
                Value::text("credBlob"),
                Value::bytes(credential.cred_blob.clone().unwrap_or_default()),
            ));
        }
        // CTAP 2.2 §12.9: whether this credential was made for payments.
        if self.third_party_payment {
            out.push((
                Value::text("thirdPartyPayment"),
                Value::Bool(credential.third_party_payment),
            ));
        }
        if let Some(request) = &self.sign {
            out.push((
                Value::text(sign_extension::NAME),
                request.output(credential.sign_key.as_ref(), user_present, user_verified)?,
            ));
        }
        Ok(output_map(out))
    }
}
