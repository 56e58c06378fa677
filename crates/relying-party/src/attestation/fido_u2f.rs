//! "fido-u2f" attestation (§8.6): a U2F registration signature by a P-256
//! attestation certificate over 0x00 || rpIdHash || clientDataHash ||
//! credentialId || publicKeyU2F.

use super::{
    AttestationError, AttestationFormat, AttestationType, StatementInput, Stmt, VerifiedStatement,
};
use fido_wire::cose::{CoseAlgorithm, CoseCurve, KeyParams};

const FMT: &str = "fido-u2f";

pub(super) fn verify(input: &StatementInput<'_>) -> Result<VerifiedStatement, AttestationError> {
    let stmt = Stmt::new(FMT, input.att_stmt);
    let sig = stmt.bytes("sig")?;
    // Step 2: exactly one certificate, with a P-256 key.
    let x5c = stmt.x5c()?;
    let [cert] = x5c.as_slice() else {
        return Err(stmt.requirement(format!(
            "x5c must hold exactly one certificate, not {}",
            x5c.len()
        )));
    };
    let verifier = cert
        .verifier_for(CoseAlgorithm::ES256)
        .map_err(|e| stmt.cert_err(e))?;
    // Steps 3-4: the credential key as a raw P-256 point (x and y 32 bytes each).
    let Some(acd) = input.auth_data.attested_credential.as_ref() else {
        return Err(stmt.malformed("authenticator data has no attested credential"));
    };
    let (x, y) = match &input.credential_key.params {
        KeyParams::Ec2 {
            curve: CoseCurve::P256,
            x,
            y,
            ..
        } if x.len() == 32 && y.len() == 32 => (x, y),
        _ => {
            return Err(AttestationError::CredentialKeyType {
                fmt: FMT,
                alg: input.credential_verifier.algorithm(),
            });
        }
    };
    // Step 5: verificationData.
    let mut data = Vec::with_capacity(1 + 32 + 32 + acd.credential_id.len() + 65);
    data.push(0x00);
    data.extend_from_slice(&input.auth_data.rp_id_hash);
    data.extend_from_slice(input.client_data_hash);
    data.extend_from_slice(&acd.credential_id);
    data.push(0x04);
    data.extend_from_slice(x);
    data.extend_from_slice(y);
    // Step 6: the signature, ECDSA P-256 with SHA-256.
    verifier
        .verify(&data, sig)
        .map_err(|_| AttestationError::BadSignature(FMT))?;
    // Step 7: Basic or AttCA cannot be told apart without outside knowledge.
    Ok(VerifiedStatement {
        format: AttestationFormat::FidoU2f,
        attestation_type: AttestationType::Uncertain,
        trust_path: x5c,
    })
}
