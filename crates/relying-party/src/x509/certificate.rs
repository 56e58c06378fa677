//! One certificate: DER kept, parsed on demand with x509-parser, its key
//! turned into a [`PublicKeyVerifier`] for a given algorithm, its own
//! signature checked against an issuer.

use crate::verifier::{CertSignatureAlgorithm, KeyError, PublicKeyVerifier};
use aws_lc_rs::signature as sig;
use fido_wire::cose::CoseAlgorithm;
use std::fmt;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// RS1: RSASSA-PKCS1-v1_5 with SHA-1 (COSE -65535), legacy TPM attestation only.
pub const RS1: CoseAlgorithm = CoseAlgorithm(-65535);

/// The largest certificate accepted (attestation certificates are 0.5-2 KB;
/// ML-DSA-87 ones about 7.5 KB).
pub const MAX_CERT_LEN: usize = 16 * 1024;

/// Object identifiers used here, dotted.
pub mod oid {
    /// id-ecPublicKey.
    pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
    /// P-256.
    pub const P256: &str = "1.2.840.10045.3.1.7";
    /// P-384.
    pub const P384: &str = "1.3.132.0.34";
    /// P-521.
    pub const P521: &str = "1.3.132.0.35";
    /// rsaEncryption.
    pub const RSA: &str = "1.2.840.113549.1.1.1";
    /// id-RSASSA-PSS.
    pub const RSA_PSS: &str = "1.2.840.113549.1.1.10";
    /// Ed25519.
    pub const ED25519: &str = "1.3.101.112";
    /// id-ml-dsa-44.
    pub const ML_DSA_44: &str = "2.16.840.1.101.3.4.3.17";
    /// id-ml-dsa-65.
    pub const ML_DSA_65: &str = "2.16.840.1.101.3.4.3.18";
    /// id-ml-dsa-87.
    pub const ML_DSA_87: &str = "2.16.840.1.101.3.4.3.19";
    /// ecdsa-with-SHA256.
    pub const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
    /// ecdsa-with-SHA384.
    pub const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
    /// ecdsa-with-SHA512.
    pub const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
    /// sha256WithRSAEncryption.
    pub const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
    /// sha384WithRSAEncryption.
    pub const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
    /// sha512WithRSAEncryption.
    pub const RSA_SHA512: &str = "1.2.840.113549.1.1.13";
    /// id-fido-gen-ce-aaguid (FIDO certificate extension carrying the AAGUID).
    pub const FIDO_AAGUID: &str = "1.3.6.1.4.1.45724.1.1.4";
}

/// Why a certificate is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Larger than [`MAX_CERT_LEN`].
    #[error("certificate is {0} bytes, over the limit of {MAX_CERT_LEN}")]
    TooLong(usize),
    /// Not a DER X.509 certificate.
    #[error("not a DER X.509 certificate: {0}")]
    Parse(String),
    /// Bytes after the certificate.
    #[error("{0} byte(s) follow the certificate")]
    TrailingBytes(usize),
    /// A signature or key algorithm not supported here.
    #[error("unsupported {what} algorithm {oid}")]
    UnsupportedAlgorithm {
        /// "signature" or "public key".
        what: &'static str,
        /// Its OID.
        oid: String,
    },
    /// The key does not suit the algorithm asked for.
    #[error("certificate key: {0}")]
    Key(#[from] KeyError),
    /// The certificate's signature does not verify under its issuer's key.
    #[error("signature of \"{subject}\" does not verify under the key of \"{issuer}\"")]
    BadSignature {
        /// Subject of the certificate.
        subject: String,
        /// Subject of the would-be issuer.
        issuer: String,
    },
    /// An extension that cannot be decoded.
    #[error("extension {oid}: {reason}")]
    Extension {
        /// Its OID.
        oid: String,
        /// What is wrong.
        reason: String,
    },
}

/// A certificate, DER kept.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = self.subject().unwrap_or_default();
        write!(f, "Certificate({subject:?})")
    }
}

impl Certificate {
    /// Checks that `der` is exactly one parseable certificate.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        if der.len() > MAX_CERT_LEN {
            return Err(CertError::TooLong(der.len()));
        }
        let (rest, _) =
            X509Certificate::from_der(der).map_err(|e| CertError::Parse(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::TrailingBytes(rest.len()));
        }
        Ok(Certificate { der: der.to_vec() })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Runs `f` on the parsed certificate (parsing is cheap and borrows the DER).
    pub fn with_parsed<T>(
        &self,
        f: impl FnOnce(&X509Certificate<'_>) -> Result<T, CertError>,
    ) -> Result<T, CertError> {
        let (_, cert) =
            X509Certificate::from_der(&self.der).map_err(|e| CertError::Parse(e.to_string()))?;
        f(&cert)
    }

    /// The subject, RFC 4514 style.
    pub fn subject(&self) -> Result<String, CertError> {
        self.with_parsed(|c| Ok(c.subject().to_string()))
    }

    /// A verifier for signatures made with this certificate's key under COSE
    /// algorithm `alg` (what attestation statements name).
    pub fn verifier_for(&self, alg: CoseAlgorithm) -> Result<PublicKeyVerifier, CertError> {
        self.with_parsed(|c| {
            let spki = c.public_key();
            let key_oid = spki.algorithm.algorithm.to_id_string();
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            let raw_key: &[u8] = &spki.subject_public_key.data;
            let wrong = || {
                CertError::Key(KeyError::KeyTypeMismatch {
                    alg,
                    found: format!("certificate key {key_oid}"),
                })
            };
            let cert_alg = match alg {
                CoseAlgorithm::ES256 | CoseAlgorithm::ES384 | CoseAlgorithm::ES512 => {
                    let (want, v): (&str, &'static sig::EcdsaVerificationAlgorithm) = match alg {
                        CoseAlgorithm::ES256 => (oid::P256, &sig::ECDSA_P256_SHA256_ASN1),
                        CoseAlgorithm::ES384 => (oid::P384, &sig::ECDSA_P384_SHA384_ASN1),
                        _ => (oid::P521, &sig::ECDSA_P521_SHA512_ASN1),
                    };
                    if key_oid != oid::EC_PUBLIC_KEY || curve.as_deref() != Some(want) {
                        return Err(wrong());
                    }
                    CertSignatureAlgorithm::Ecdsa(v, alg)
                }
                CoseAlgorithm::RS256 | CoseAlgorithm::PS256 => {
                    if key_oid != oid::RSA {
                        return Err(wrong());
                    }
                    let params = if alg == CoseAlgorithm::RS256 {
                        &sig::RSA_PKCS1_2048_8192_SHA256
                    } else {
                        &sig::RSA_PSS_2048_8192_SHA256
                    };
                    CertSignatureAlgorithm::Rsa(params, alg)
                }
                CoseAlgorithm::EDDSA | CoseAlgorithm::ED25519 => {
                    if key_oid != oid::ED25519 {
                        return Err(wrong());
                    }
                    CertSignatureAlgorithm::Ed25519
                }
                CoseAlgorithm::ML_DSA_44 | CoseAlgorithm::ML_DSA_65 | CoseAlgorithm::ML_DSA_87 => {
                    if ml_dsa_for_oid(&key_oid) != Some(alg) {
                        return Err(wrong());
                    }
                    CertSignatureAlgorithm::MlDsa(alg)
                }
                RS1 => {
                    // Legacy TPM attestation only: callers gate this on policy.
                    if key_oid != oid::RSA {
                        return Err(wrong());
                    }
                    CertSignatureAlgorithm::Rsa(
                        &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                        RS1,
                    )
                }
                other => return Err(CertError::Key(KeyError::UnsupportedAlgorithm(other))),
            };
            Ok(PublicKeyVerifier::from_certificate_key(
                cert_alg, spki.raw, raw_key,
            )?)
        })
    }

    /// The subject's attribute values of type `oid` (e.g. common name).
    fn subject_values(&self, common_name: bool) -> Result<Vec<String>, CertError> {
        self.with_parsed(|c| {
            let subject = c.subject();
            let values: Vec<String> = if common_name {
                subject
                    .iter_common_name()
                    .filter_map(|a| a.as_str().ok().map(str::to_owned))
                    .collect()
            } else {
                subject
                    .iter_organization()
                    .filter_map(|a| a.as_str().ok().map(str::to_owned))
                    .collect()
            };
            Ok(values)
        })
    }

    /// The names the certificate was issued to: the dNSNames of its
    /// subjectAltName, or, when it has none, its subject's common names
    /// (RFC 6125 §6.4.4).
    pub fn dns_names(&self) -> Result<Vec<String>, CertError> {
        let san: Vec<String> = self.with_parsed(|c| {
            let san = c
                .subject_alternative_name()
                .map_err(|e| CertError::Extension {
                    oid: "2.5.29.17".into(),
                    reason: e.to_string(),
                })?;
            Ok(san
                .map(|ext| {
                    ext.value
                        .general_names
                        .iter()
                        .filter_map(|n| match n {
                            x509_parser::extensions::GeneralName::DNSName(d) => {
                                Some((*d).to_owned())
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default())
        })?;
        if san.is_empty() {
            self.subject_values(true)
        } else {
            Ok(san)
        }
    }

    /// The subject's organization names.
    pub fn organizations(&self) -> Result<Vec<String>, CertError> {
        self.subject_values(false)
    }

    /// The issuer, RFC 4514 style.
    pub fn issuer(&self) -> Result<String, CertError> {
        self.with_parsed(|c| Ok(c.issuer().to_string()))
    }

    /// The serial number's bytes as encoded.
    pub fn serial(&self) -> Result<Vec<u8>, CertError> {
        self.with_parsed(|c| Ok(c.raw_serial().to_vec()))
    }

    /// The URIs of its CRL distribution points.
    pub fn crl_distribution_points(&self) -> Result<Vec<String>, CertError> {
        use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
        self.with_parsed(|c| {
            let mut uris = Vec::new();
            for ext in c.extensions() {
                if ext.oid.to_id_string() != "2.5.29.31" {
                    continue;
                }
                // A distribution-point extension that does not parse, or
                // names its CRL other than by URI, still says a CRL exists:
                // it is reported as such, never read as "nothing to check".
                let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() else {
                    return Err(CertError::Extension {
                        oid: "2.5.29.31".into(),
                        reason: "the CRL distribution points do not parse".into(),
                    });
                };
                for point in points.iter() {
                    match &point.distribution_point {
                        Some(DistributionPointName::FullName(names)) => {
                            for n in names {
                                uris.push(match n {
                                    GeneralName::URI(u) => (*u).to_owned(),
                                    other => format!("{other:?}"),
                                });
                            }
                        }
                        Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => {
                            uris.push("a name relative to the CRL issuer".into());
                        }
                        None => uris.push("the CRL issuer's own location".into()),
                    }
                }
            }
            Ok(uris)
        })
    }

    /// Checks that this certificate's key made `signature` over `data` with
    /// the signature algorithm `sig_oid` (what a CRL this CA issued carries).
    pub fn verify_signature_over(
        &self,
        sig_oid: &str,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), CertError> {
        self.signature_verifier(sig_oid)?
            .verify(data, signature)
            .map_err(|_| CertError::BadSignature {
                subject: "a CRL".into(),
                issuer: self.subject().unwrap_or_default(),
            })
    }

    /// Checks that `issuer`'s key made this certificate's signature.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<(), CertError> {
        self.with_parsed(|c| {
            let sig_oid = c.signature_algorithm.algorithm.to_id_string();
            let verifier = issuer.signature_verifier(&sig_oid)?;
            let tbs: &[u8] = c.tbs_certificate.as_ref();
            let signature: &[u8] = &c.signature_value.data;
            verifier
                .verify(tbs, signature)
                .map_err(|_| CertError::BadSignature {
                    subject: c.subject().to_string(),
                    issuer: issuer.subject().unwrap_or_default(),
                })
        })
    }

    /// A verifier of certificate signatures with OID `sig_oid` under this
    /// certificate's key (the ECDSA curve comes from the key, the hash from the OID).
    fn signature_verifier(&self, sig_oid: &str) -> Result<PublicKeyVerifier, CertError> {
        self.with_parsed(|c| {
            let spki = c.public_key();
            let key_oid = spki.algorithm.algorithm.to_id_string();
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            let unsupported = || CertError::UnsupportedAlgorithm {
                what: "signature",
                oid: sig_oid.to_owned(),
            };
            let alg = match (sig_oid, key_oid.as_str(), curve.as_deref()) {
                (oid::ECDSA_SHA256, oid::EC_PUBLIC_KEY, Some(oid::P256)) => {
                    CertSignatureAlgorithm::Ecdsa(
                        &sig::ECDSA_P256_SHA256_ASN1,
                        CoseAlgorithm::ES256,
                    )
                }
                (oid::ECDSA_SHA384, oid::EC_PUBLIC_KEY, Some(oid::P256)) => {
                    CertSignatureAlgorithm::Ecdsa(
                        &sig::ECDSA_P256_SHA384_ASN1,
                        CoseAlgorithm::ES256,
                    )
                }
                (oid::ECDSA_SHA256, oid::EC_PUBLIC_KEY, Some(oid::P384)) => {
                    CertSignatureAlgorithm::Ecdsa(
                        &sig::ECDSA_P384_SHA256_ASN1,
                        CoseAlgorithm::ES384,
                    )
                }
                (oid::ECDSA_SHA384, oid::EC_PUBLIC_KEY, Some(oid::P384)) => {
                    CertSignatureAlgorithm::Ecdsa(
                        &sig::ECDSA_P384_SHA384_ASN1,
                        CoseAlgorithm::ES384,
                    )
                }
                (oid::ECDSA_SHA512, oid::EC_PUBLIC_KEY, Some(oid::P521)) => {
                    CertSignatureAlgorithm::Ecdsa(
                        &sig::ECDSA_P521_SHA512_ASN1,
                        CoseAlgorithm::ES512,
                    )
                }
                (oid::RSA_SHA256, oid::RSA, _) => CertSignatureAlgorithm::Rsa(
                    &sig::RSA_PKCS1_2048_8192_SHA256,
                    CoseAlgorithm::RS256,
                ),
                (oid::RSA_SHA384, oid::RSA, _) => CertSignatureAlgorithm::Rsa(
                    &sig::RSA_PKCS1_2048_8192_SHA384,
                    CoseAlgorithm::RS256,
                ),
                (oid::RSA_SHA512, oid::RSA, _) => CertSignatureAlgorithm::Rsa(
                    &sig::RSA_PKCS1_2048_8192_SHA512,
                    CoseAlgorithm::RS256,
                ),
                (oid::ED25519, oid::ED25519, _) => CertSignatureAlgorithm::Ed25519,
                (s, k, _) if ml_dsa_for_oid(s).is_some() && s == k => {
                    CertSignatureAlgorithm::MlDsa(ml_dsa_for_oid(s).ok_or_else(unsupported)?)
                }
                _ => return Err(unsupported()),
            };
            Ok(PublicKeyVerifier::from_certificate_key(
                alg,
                spki.raw,
                &spki.subject_public_key.data,
            )?)
        })
    }

    /// The value of the id-fido-gen-ce-aaguid extension, if present
    /// (an OCTET STRING holding the 16-byte AAGUID).
    pub fn fido_aaguid(&self) -> Result<Option<Vec<u8>>, CertError> {
        self.with_parsed(|c| {
            let Some(ext) = c
                .extensions()
                .iter()
                .find(|e| e.oid.to_id_string() == oid::FIDO_AAGUID)
            else {
                return Ok(None);
            };
            let (_, inner) = x509_parser::der_parser::der::parse_der_octetstring(ext.value)
                .map_err(|e| CertError::Extension {
                    oid: oid::FIDO_AAGUID.into(),
                    reason: e.to_string(),
                })?;
            let bytes = inner.as_slice().map_err(|e| CertError::Extension {
                oid: oid::FIDO_AAGUID.into(),
                reason: e.to_string(),
            })?;
            Ok(Some(bytes.to_vec()))
        })
    }
}

impl Certificate {
    /// Whether this certificate's subject public key is `key` (the
    /// credential public key): same type, curve and key material.
    pub fn has_public_key(&self, key: &fido_wire::cose::CoseKey) -> Result<bool, CertError> {
        use fido_wire::cose::{CoseCurve, KeyParams};
        self.with_parsed(|c| {
            let spki = c.public_key();
            let key_oid = spki.algorithm.algorithm.to_id_string();
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            let bits: &[u8] = &spki.subject_public_key.data;
            Ok(match &key.params {
                KeyParams::Ec2 {
                    curve: crv, x, y, ..
                } => {
                    let want = match *crv {
                        CoseCurve::P256 => oid::P256,
                        CoseCurve::P384 => oid::P384,
                        CoseCurve::P521 => oid::P521,
                        _ => return Ok(false),
                    };
                    key_oid == oid::EC_PUBLIC_KEY
                        && curve.as_deref() == Some(want)
                        && bits.first() == Some(&0x04)
                        && bits.get(1..) == Some(&[x.as_slice(), y.as_slice()].concat()[..])
                }
                KeyParams::Okp { curve: crv, x, .. } => {
                    *crv == CoseCurve::ED25519 && key_oid == oid::ED25519 && bits == x.as_slice()
                }
                KeyParams::Rsa { n, e } => {
                    if key_oid != oid::RSA {
                        return Ok(false);
                    }
                    match spki.parsed() {
                        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                            strip(rsa.modulus) == strip(n) && strip(rsa.exponent) == strip(e)
                        }
                        _ => false,
                    }
                }
                KeyParams::Akp { public, .. } => {
                    key.alg.is_some()
                        && ml_dsa_for_oid(&key_oid) == key.alg
                        && bits == public.as_slice()
                }
                KeyParams::Other { .. } => false,
            })
        })
    }

    /// The raw value of the extension `ext_oid`, if present.
    pub fn extension_value(&self, ext_oid: &str) -> Result<Option<Vec<u8>>, CertError> {
        self.with_parsed(|c| {
            Ok(c.extensions()
                .iter()
                .find(|e| e.oid.to_id_string() == ext_oid)
                .map(|e| e.value.to_vec()))
        })
    }
}

fn strip(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

/// The ML-DSA parameter set of an algorithm OID (used both as key and signature OID).
pub(crate) fn ml_dsa_for_oid(o: &str) -> Option<CoseAlgorithm> {
    match o {
        oid::ML_DSA_44 => Some(CoseAlgorithm::ML_DSA_44),
        oid::ML_DSA_65 => Some(CoseAlgorithm::ML_DSA_65),
        oid::ML_DSA_87 => Some(CoseAlgorithm::ML_DSA_87),
        _ => None,
    }
}
