//! "none" attestation (§8.7): an empty statement, nothing to verify.

use super::{
    AttestationError, AttestationFormat, AttestationType, StatementInput, VerifiedStatement,
};

pub(super) fn verify(input: &StatementInput<'_>) -> Result<VerifiedStatement, AttestationError> {
    if input.att_stmt.as_map().is_some_and(|m| !m.is_empty()) {
        return Err(AttestationError::NoneNotEmpty);
    }
    Ok(VerifiedStatement {
        format: AttestationFormat::None,
        attestation_type: AttestationType::None,
        trust_path: Vec::new(),
    })
}
