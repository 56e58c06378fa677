//! "tpm" attestation (§8.3): the TPM's AIK certifies the credential key.
//! `pubArea` (TPMT_PUBLIC) must be the credential key, `certInfo`
//! (TPMS_ATTEST) must certify that key's Name with extraData =
//! hash(authenticatorData || clientDataHash), and the AIK certificate
//! signed `certInfo`. Structures per TPM 2.0 Part 2 (§10.12.8, §12.2.4),
//! read with bounds checks only.

use super::{
    AttestationError, AttestationFormat, AttestationType, StatementInput, Stmt, VerifiedStatement,
    check_cert_aaguid,
};
use crate::x509::{Certificate, RS1};
use aws_lc_rs::digest;
use fido_wire::cose::{CoseAlgorithm, CoseCurve, KeyParams};

const FMT: &str = "tpm";
const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;
const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_NULL: u16 = 0x0010;
const TCG_KP_AIK_CERTIFICATE: &str = "2.23.133.8.3";
/// tcg-at-tpmManufacturer, tcg-at-tpmModel, tcg-at-tpmVersion.
const TPM_SAN_ATTRIBUTES: [&str; 3] = ["2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3"];

pub(super) fn verify(input: &StatementInput<'_>) -> Result<VerifiedStatement, AttestationError> {
    let stmt = Stmt::new(FMT, input.att_stmt);
    if stmt.text("ver")? != "2.0" {
        return Err(stmt.malformed("ver must be \"2.0\""));
    }
    let alg = stmt.alg()?;
    if alg == RS1 && !input.allow_tpm_rs1 {
        return Err(AttestationError::InsecureAlgorithm { fmt: FMT, alg });
    }
    let sig = stmt.bytes("sig")?;
    let cert_info = stmt.bytes("certInfo")?;
    let pub_area = stmt.bytes("pubArea")?;

    // pubArea's parameters and unique are the credential public key.
    let public = PubArea::parse(pub_area).map_err(|r| stmt.malformed(format!("pubArea: {r}")))?;
    if !public.matches(input.credential_key) {
        return Err(AttestationError::CredentialKeyMismatch(FMT));
    }
    // x5c present; aikCert requirements; AAGUID extension; sig over certInfo.
    let x5c = stmt.x5c()?;
    let Some(aik) = x5c.first() else {
        return Err(AttestationError::EmptyX5c(FMT));
    };
    check_aik_requirements(&stmt, aik)?;
    check_cert_aaguid(&stmt, aik, input.auth_data)?;
    let verifier = aik.verifier_for(alg).map_err(|e| stmt.cert_err(e))?;
    verifier
        .verify(cert_info, sig)
        .map_err(|_| AttestationError::BadSignature(FMT))?;

    // certInfo: magic, type, extraData, attested name.
    let info = CertInfo::parse(cert_info).map_err(|r| stmt.malformed(format!("certInfo: {r}")))?;
    if info.magic != TPM_GENERATED_VALUE {
        return Err(stmt.malformed("certInfo magic is not TPM_GENERATED_VALUE"));
    }
    if info.kind != TPM_ST_ATTEST_CERTIFY {
        return Err(stmt.malformed("certInfo type is not TPM_ST_ATTEST_CERTIFY"));
    }
    let hash_alg = match alg {
        CoseAlgorithm::ES384 => &digest::SHA384,
        CoseAlgorithm::ES512 => &digest::SHA512,
        RS1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        _ => &digest::SHA256,
    };
    let expected_extra = digest::digest(hash_alg, &input.signed_data());
    if info.extra_data != expected_extra.as_ref() {
        return Err(AttestationError::NonceMismatch(FMT));
    }
    let name_alg = match public.name_alg {
        0x000b => &digest::SHA256,
        0x000c => &digest::SHA384,
        0x000d => &digest::SHA512,
        0x0004 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        other => {
            return Err(stmt.malformed(format!("pubArea nameAlg 0x{other:04x} is not supported")));
        }
    };
    let mut name = public.name_alg.to_be_bytes().to_vec();
    name.extend_from_slice(digest::digest(name_alg, pub_area).as_ref());
    if info.attested_name != name {
        return Err(stmt.malformed("certInfo attested name is not the Name of pubArea"));
    }
    Ok(VerifiedStatement {
        format: AttestationFormat::Tpm,
        attestation_type: AttestationType::AttCa,
        trust_path: x5c,
    })
}

/// §8.3.1 TPM attestation statement certificate requirements.
fn check_aik_requirements(stmt: &Stmt<'_>, aik: &Certificate) -> Result<(), AttestationError> {
    let broken = aik
        .with_parsed(|c| {
            let mut broken = Vec::new();
            if c.version().0 != 2 {
                broken.push("version must be 3".to_owned());
            }
            if c.subject().iter_attributes().next().is_some() {
                broken.push("subject must be empty".to_owned());
            }
            match c.subject_alternative_name() {
                Ok(Some(san)) => {
                    // TPMv2-EK-Profile §3.2.9: a directoryName with the TPM
                    // manufacturer, model and version attributes.
                    let attrs: Vec<String> = san
                        .value
                        .general_names
                        .iter()
                        .filter_map(|g| match g {
                            x509_parser::extensions::GeneralName::DirectoryName(n) => Some(n),
                            _ => None,
                        })
                        .flat_map(|n| n.iter_attributes().map(|a| a.attr_type().to_id_string()))
                        .collect();
                    for want in TPM_SAN_ATTRIBUTES {
                        if !attrs.iter().any(|a| a == want) {
                            broken.push(format!("subjectAltName lacks TPM attribute {want}"));
                        }
                    }
                }
                Ok(None) => broken.push("subjectAltName is missing".to_owned()),
                Err(e) => broken.push(format!("subjectAltName: {e}")),
            }
            match c.extended_key_usage() {
                Ok(Some(eku)) => {
                    if !eku
                        .value
                        .other
                        .iter()
                        .any(|o| o.to_id_string() == TCG_KP_AIK_CERTIFICATE)
                    {
                        broken.push(format!("extendedKeyUsage lacks {TCG_KP_AIK_CERTIFICATE}"));
                    }
                }
                Ok(None) => broken.push("extendedKeyUsage is missing".to_owned()),
                Err(e) => broken.push(format!("extendedKeyUsage: {e}")),
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
        .map_err(|e| stmt.cert_err(e))?;
    if broken.is_empty() {
        Ok(())
    } else {
        Err(stmt.requirement(broken.join("; ")))
    }
}

/// A bounds-checked big-endian reader.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let s = self
            .bytes
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or_else(|| format!("ends inside {what} at byte {}", self.pos))?;
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }
    /// A TPM2B: u16 size then that many bytes.
    fn sized(&mut self, what: &str) -> Result<&'a [u8], String> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what)
    }
    fn end(&self, what: &str) -> Result<(), String> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(format!(
                "{} unexpected byte(s) after {what}",
                self.bytes.len() - self.pos
            ))
        }
    }
}

/// TPMT_PUBLIC, the parts that identify the key.
struct PubArea {
    name_alg: u16,
    key: TpmKey,
}

enum TpmKey {
    Rsa { modulus: Vec<u8>, exponent: u32 },
    Ecc { curve: u16, x: Vec<u8>, y: Vec<u8> },
}

impl PubArea {
    fn parse(bytes: &[u8]) -> Result<PubArea, String> {
        let mut r = Reader::new(bytes);
        let kind = r.u16("type")?;
        let name_alg = r.u16("nameAlg")?;
        r.u32("objectAttributes")?;
        r.sized("authPolicy")?;
        // TPMT_SYM_DEF_OBJECT: algorithm, then keyBits and mode unless NULL.
        let symmetric = r.u16("symmetric")?;
        if symmetric != TPM_ALG_NULL {
            r.u16("symmetric.keyBits")?;
            r.u16("symmetric.mode")?;
        }
        // Scheme: algorithm, then hashAlg unless NULL.
        let scheme = r.u16("scheme")?;
        if scheme != TPM_ALG_NULL {
            r.u16("scheme.hashAlg")?;
        }
        let key = match kind {
            TPM_ALG_RSA => {
                r.u16("keyBits")?;
                let exponent = r.u32("exponent")?;
                let modulus = r.sized("unique (modulus)")?.to_vec();
                TpmKey::Rsa { modulus, exponent }
            }
            TPM_ALG_ECC => {
                let curve = r.u16("curveID")?;
                let kdf = r.u16("kdf")?;
                if kdf != TPM_ALG_NULL {
                    r.u16("kdf.hashAlg")?;
                }
                let x = r.sized("unique.x")?.to_vec();
                let y = r.sized("unique.y")?.to_vec();
                TpmKey::Ecc { curve, x, y }
            }
            other => return Err(format!("key type 0x{other:04x} is not RSA or ECC")),
        };
        r.end("pubArea")?;
        Ok(PubArea { name_alg, key })
    }

    fn matches(&self, key: &fido_wire::cose::CoseKey) -> bool {
        match (&self.key, &key.params) {
            (TpmKey::Rsa { modulus, exponent }, KeyParams::Rsa { n, e }) => {
                // exponent 0 means the default, 65537.
                let exp = if *exponent == 0 { 65537 } else { *exponent };
                let e_val = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                e.len() <= 8 && modulus == n && u64::from(exp) == e_val
            }
            (
                TpmKey::Ecc { curve, x, y },
                KeyParams::Ec2 {
                    curve: c,
                    x: kx,
                    y: ky,
                    ..
                },
            ) => {
                let tpm_curve = match *c {
                    CoseCurve::P256 => 0x0003,
                    CoseCurve::P384 => 0x0004,
                    CoseCurve::P521 => 0x0005,
                    _ => return false,
                };
                *curve == tpm_curve && x == kx && y == ky
            }
            _ => false,
        }
    }
}

/// TPMS_ATTEST with TPMS_CERTIFY_INFO.
struct CertInfo<'a> {
    magic: u32,
    kind: u16,
    extra_data: &'a [u8],
    attested_name: &'a [u8],
}

impl<'a> CertInfo<'a> {
    fn parse(bytes: &'a [u8]) -> Result<CertInfo<'a>, String> {
        let mut r = Reader::new(bytes);
        let magic = r.u32("magic")?;
        let kind = r.u16("type")?;
        r.sized("qualifiedSigner")?;
        let extra_data = r.sized("extraData")?;
        r.take(17, "clockInfo")?;
        r.take(8, "firmwareVersion")?;
        let attested_name = r.sized("attested.name")?;
        r.sized("attested.qualifiedName")?;
        r.end("certInfo")?;
        Ok(CertInfo {
            magic,
            kind,
            extra_data,
            attested_name,
        })
    }
}
