//! "apple" anonymous attestation (§8.8): the credential certificate carries
//! SHA-256(authenticatorData || clientDataHash) as a nonce in extension
//! 1.2.840.113635.100.8.2, and the credential public key as its key.

use super::{
    AttestationError, AttestationFormat, AttestationType, StatementInput, Stmt, VerifiedStatement,
};
use crate::ceremony::sha256 as ceremony_sha256;

const FMT: &str = "apple";
const NONCE_OID: &str = "1.2.840.113635.100.8.2";
/// DER of `SEQUENCE { [1] EXPLICIT OCTET STRING (32 bytes) }`, before the nonce.
/// DER has exactly one encoding of this structure, so matching the prefix is parsing it.
const NONCE_PREFIX: [u8; 6] = [0x30, 0x24, 0xa1, 0x22, 0x04, 0x20];

pub(super) fn verify(input: &StatementInput<'_>) -> Result<VerifiedStatement, AttestationError> {
    let stmt = Stmt::new(FMT, input.att_stmt);
    let x5c = stmt.x5c()?;
    let Some(cred_cert) = x5c.first() else {
        return Err(AttestationError::EmptyX5c(FMT));
    };
    // Steps 2-4: nonce = SHA-256(authenticatorData || clientDataHash) equals the extension's.
    let nonce = ceremony_sha256(&input.signed_data());
    let ext = cred_cert
        .extension_value(NONCE_OID)
        .map_err(|e| stmt.cert_err(e))?
        .ok_or_else(|| stmt.requirement(format!("extension {NONCE_OID} (nonce) is missing")))?;
    let found = ext
        .strip_prefix(&NONCE_PREFIX[..])
        .filter(|n| n.len() == 32)
        .ok_or_else(|| {
            stmt.malformed(format!(
                "extension {NONCE_OID} is not SEQUENCE {{ [1] OCTET STRING (32) }}"
            ))
        })?;
    if found != nonce {
        return Err(AttestationError::NonceMismatch(FMT));
    }
    // Step 5: the credential public key is the certificate's subject public key.
    if !cred_cert
        .has_public_key(input.credential_key)
        .map_err(|e| stmt.cert_err(e))?
    {
        return Err(AttestationError::CredentialKeyMismatch(FMT));
    }
    Ok(VerifiedStatement {
        format: AttestationFormat::Apple,
        attestation_type: AttestationType::AnonCa,
        trust_path: x5c,
    })
}
