//! "android-key" attestation (§8.4): the credential key signs, its
//! certificate (x5c[0]) is the credential key, and the Android key
//! description extension (1.3.6.1.4.1.11129.2.1.17) binds the challenge
//! and says how the key was made.
//!
//! Policy: the union of the software- and TEE-enforced authorization lists
//! is used (keys from a software keystore are accepted and reported through
//! the trust chain, which decides trust). `origin` and `purpose`, when
//! present, must be KM_ORIGIN_GENERATED and exactly KM_PURPOSE_SIGN; when
//! absent they are not required (the W3C test vector carries empty lists).

use super::{
    AttestationError, AttestationFormat, AttestationType, StatementInput, Stmt, VerifiedStatement,
};
use x509_parser::der_parser::ber::{BerObject, BerObjectContent};
use x509_parser::der_parser::der::parse_der;

const FMT: &str = "android-key";
const KEY_DESCRIPTION_OID: &str = "1.3.6.1.4.1.11129.2.1.17";
/// AuthorizationList tags.
const TAG_PURPOSE: u32 = 1;
const TAG_ALL_APPLICATIONS: u32 = 600;
const TAG_ORIGIN: u32 = 702;
const KM_PURPOSE_SIGN: u64 = 2;
const KM_ORIGIN_GENERATED: u64 = 0;

pub(super) fn verify(input: &StatementInput<'_>) -> Result<VerifiedStatement, AttestationError> {
    let stmt = Stmt::new(FMT, input.att_stmt);
    let alg = stmt.alg()?;
    let sig = stmt.bytes("sig")?;
    let x5c = stmt.x5c()?;
    let Some(cred_cert) = x5c.first() else {
        return Err(AttestationError::EmptyX5c(FMT));
    };
    // sig over authenticatorData || clientDataHash with the first certificate's key.
    let verifier = cred_cert.verifier_for(alg).map_err(|e| stmt.cert_err(e))?;
    verifier
        .verify(&input.signed_data(), sig)
        .map_err(|_| AttestationError::BadSignature(FMT))?;
    // That key is the credential public key.
    if !cred_cert
        .has_public_key(input.credential_key)
        .map_err(|e| stmt.cert_err(e))?
    {
        return Err(AttestationError::CredentialKeyMismatch(FMT));
    }
    let ext = cred_cert
        .extension_value(KEY_DESCRIPTION_OID)
        .map_err(|e| stmt.cert_err(e))?
        .ok_or_else(|| {
            stmt.requirement(format!(
                "key description extension {KEY_DESCRIPTION_OID} is missing"
            ))
        })?;
    let desc =
        KeyDescription::parse(&ext).map_err(|r| stmt.malformed(format!("key description: {r}")))?;
    // attestationChallenge is clientDataHash.
    if desc.challenge != input.client_data_hash {
        return Err(AttestationError::NonceMismatch(FMT));
    }
    // allApplications on neither list (the credential is scoped to the RP ID).
    if desc.all_applications {
        return Err(stmt.requirement("allApplications is present"));
    }
    // origin KM_ORIGIN_GENERATED and purpose KM_PURPOSE_SIGN.
    // Absent fields are accepted: the W3C test vector's lists are empty.
    if desc.origin.is_some_and(|o| o != KM_ORIGIN_GENERATED) {
        return Err(stmt.requirement(format!(
            "origin is {:?}, not KM_ORIGIN_GENERATED (0)",
            desc.origin
        )));
    }
    if !desc.purposes.is_empty() && desc.purposes != [KM_PURPOSE_SIGN] {
        return Err(stmt.requirement(format!(
            "purpose is {:?}, not [KM_PURPOSE_SIGN (2)]",
            desc.purposes
        )));
    }
    Ok(VerifiedStatement {
        format: AttestationFormat::AndroidKey,
        attestation_type: AttestationType::Basic,
        trust_path: x5c,
    })
}

/// The parts of KeyDescription WebAuthn checks, both lists merged.
struct KeyDescription {
    challenge: Vec<u8>,
    all_applications: bool,
    origin: Option<u64>,
    purposes: Vec<u64>,
}

impl KeyDescription {
    fn parse(der: &[u8]) -> Result<KeyDescription, String> {
        let (rest, obj) = parse_der(der).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err("trailing bytes".into());
        }
        let fields = obj.as_sequence().map_err(|e| e.to_string())?;
        // KeyDescription ::= SEQUENCE { attestationVersion, attestationSecurityLevel,
        //   keymasterVersion, keymasterSecurityLevel, attestationChallenge OCTET STRING,
        //   uniqueId, softwareEnforced AuthorizationList, teeEnforced AuthorizationList }
        let challenge = fields
            .get(4)
            .and_then(|f| f.as_slice().ok())
            .ok_or("attestationChallenge is not an OCTET STRING")?
            .to_vec();
        let mut desc = KeyDescription {
            challenge,
            all_applications: false,
            origin: None,
            purposes: Vec::new(),
        };
        for list in [fields.get(6), fields.get(7)] {
            let list = list.ok_or("an authorization list is missing")?;
            desc.merge(list)?;
        }
        desc.purposes.sort_unstable();
        desc.purposes.dedup();
        Ok(desc)
    }

    fn merge(&mut self, list: &BerObject<'_>) -> Result<(), String> {
        let entries = list.as_sequence().map_err(|e| e.to_string())?;
        for entry in entries {
            let tag = entry.header.tag().0;
            // Each entry is [tag] EXPLICIT <value>; der-parser keeps the content raw.
            let inner = match &entry.content {
                BerObjectContent::Unknown(any) => parse_der(any.data).map_err(|e| e.to_string())?.1,
                _ => continue,
            };
            match tag {
                TAG_ALL_APPLICATIONS => self.all_applications = true,
                TAG_ORIGIN => {
                    self.origin = Some(inner.as_u64().map_err(|e| format!("origin: {e}"))?);
                }
                TAG_PURPOSE => {
                    for p in inner.as_set().map_err(|e| format!("purpose: {e}"))? {
                        self.purposes
                            .push(p.as_u64().map_err(|e| format!("purpose: {e}"))?);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
