//! Placeholder.

use super::{AttestationError, StatementInput, VerifiedStatement};

pub(super) fn verify(_input: &StatementInput<'_>) -> Result<VerifiedStatement, AttestationError> {
    Err(AttestationError::Malformed {
        fmt: "tpm",
        reason: "not verified yet".into(),
    })
}
