//! "packed" attestation (§8.2): self attestation with the credential key, or
//! a signature by an attestation certificate (x5c), whose key may be
//! classical or ML-DSA (certificate OIDs 2.16.840.1.101.3.4.3.17/18/19).

use super::{
    AttestationError, AttestationFormat, AttestationType, StatementInput, Stmt, VerifiedStatement,
    check_cert_aaguid,
};
use crate::x509::Certificate;

const FMT: &str = "packed";

pub(super) fn verify(input: &StatementInput<'_>) -> Result<VerifiedStatement, AttestationError> {
    let stmt = Stmt::new(FMT, input.att_stmt);
    let alg = stmt.alg()?;
    let sig = stmt.bytes("sig")?;
    let signed = input.signed_data();
    if stmt.has("x5c") {
        // §8.2.2: "If x5c is present": the attestation certificate's key signed
        // authenticatorData || clientDataHash with alg.
        let x5c = stmt.x5c()?;
        let Some(leaf) = x5c.first() else {
            return Err(AttestationError::EmptyX5c(FMT));
        };
        let verifier = leaf.verifier_for(alg).map_err(|e| stmt.cert_err(e))?;
        verifier
            .verify(&signed, sig)
            .map_err(|_| AttestationError::BadSignature(FMT))?;
        check_leaf_requirements(&stmt, leaf)?;
        check_cert_aaguid(&stmt, leaf, input.auth_data)?;
        Ok(VerifiedStatement {
            format: AttestationFormat::Packed,
            attestation_type: AttestationType::Uncertain,
            trust_path: x5c,
        })
    } else {
        // Self attestation: alg must be the credential key's, and the
        // credential key made the signature.
        let credential = input.credential_verifier.algorithm();
        if alg != credential {
            return Err(AttestationError::SelfAlgorithmMismatch {
                stmt: alg,
                credential,
            });
        }
        input
            .credential_verifier
            .verify(&signed, sig)
            .map_err(|_| AttestationError::BadSignature(FMT))?;
        Ok(VerifiedStatement {
            format: AttestationFormat::Packed,
            attestation_type: AttestationType::SelfAttestation,
            trust_path: Vec::new(),
        })
    }
}

/// §8.2.1 packed attestation statement certificate requirements.
fn check_leaf_requirements(stmt: &Stmt<'_>, leaf: &Certificate) -> Result<(), AttestationError> {
    leaf.with_parsed(|c| {
        let mut broken = Vec::new();
        if c.version().0 != 2 {
            broken.push("version must be 3".to_owned());
        }
        let subject = c.subject();
        let has = |attr: &x509_parser::der_parser::oid::Oid<'_>| {
            subject.iter_attributes().any(|a| a.attr_type() == attr)
        };
        use x509_parser::oid_registry as o;
        for (oid, name) in [
            (&o::OID_X509_COUNTRY_NAME, "C"),
            (&o::OID_X509_ORGANIZATION_NAME, "O"),
            (&o::OID_X509_COMMON_NAME, "CN"),
        ] {
            if !has(oid) {
                broken.push(format!("subject lacks {name}"));
            }
        }
        let ou_ok = subject
            .iter_organizational_unit()
            .any(|ou| ou.as_str().ok() == Some("Authenticator Attestation"));
        if !ou_ok {
            broken.push("subject OU must be \"Authenticator Attestation\"".to_owned());
        }
        match c.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => {
                broken.push("basicConstraints CA must be false".to_owned())
            }
            Ok(_) => {}
            Err(e) => broken.push(format!("basicConstraints: {e}")),
        }
        Ok(broken)
    })
    .map_err(|e| stmt.cert_err(e))
    .and_then(|broken| match broken.is_empty() {
        true => Ok(()),
        false => Err(stmt.requirement(broken.join("; "))),
    })
}
