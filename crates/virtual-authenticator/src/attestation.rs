//! The batch attestation identity for "packed" basic attestation
//! (WebAuthn L3 §8.2): an ES256 root CA and an attestation certificate it
//! signs, meeting §8.2.1's requirements (subject C, O, OU "Authenticator
//! Attestation", CN; basicConstraints CA:false; the id-fido-gen-ce-aaguid
//! extension carrying the AAGUID). Certificates come from rcgen, signatures
//! from aws-lc-rs.
//!
//! An ES256 signature and one certificate keep even an ML-DSA-87
//! registration (public key 2,592 bytes) near 3.4 KB, far below the
//! 7,609-byte CTAPHID limit, where self attestation needs about 7.4 KB.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use std::fmt;
use zeroize::Zeroizing;

/// id-fido-gen-ce-aaguid (1.3.6.1.4.1.45724.1.1.4).
pub const AAGUID_EXTENSION_OID: [u64; 10] = [1, 3, 6, 1, 4, 1, 45724, 1, 1, 4];

/// Why the attestation identity could not be made or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// Certificate generation failed.
    #[error("attestation certificate generation failed: {0}")]
    Generate(String),
    /// The stored attestation key is not a P-256 PKCS#8 key.
    #[error("the stored attestation key is not a valid P-256 key")]
    InvalidKey,
}

/// A root certificate, an attestation certificate and the attestation key.
pub struct AttestationIdentity {
    key_pkcs8: Zeroizing<Vec<u8>>,
    key: EcdsaKeyPair,
    /// DER of the attestation certificate (x5c[0]).
    pub certificate: Vec<u8>,
    /// DER of the root CA that signed it: the trust anchor a relying party installs.
    pub root: Vec<u8>,
}

impl fmt::Debug for AttestationIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestationIdentity")
            .field("certificate", &format!("{} bytes", self.certificate.len()))
            .field("root", &format!("{} bytes", self.root.len()))
            .field("key", &"<redacted>")
            .finish()
    }
}

fn dn(entries: [(DnType, &str); 4]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (kind, value) in entries {
        dn.push(kind, value);
    }
    dn
}

fn validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
}

impl AttestationIdentity {
    /// A fresh root and attestation certificate for a model with this AAGUID.
    pub fn generate(aaguid: [u8; 16]) -> Result<Self, AttestationError> {
        Self::generate_named(
            aaguid,
            "Keybench Virtual Key Root CA",
            "Keybench Virtual Key Attestation",
        )
    }

    /// A fresh root and a certificate that names this one device: the
    /// identity of enterprise attestation (CTAP 2.1 §7.1), which may be
    /// uniquely identifying. `serial` is the device's serial number, put in
    /// the subject's CN, so two keys never share a certificate.
    pub fn generate_for_device(aaguid: [u8; 16], serial: &str) -> Result<Self, AttestationError> {
        Self::generate_named(
            aaguid,
            "Keybench Virtual Key Enterprise Root CA",
            &format!("Keybench Virtual Key {serial}"),
        )
    }

    fn generate_named(
        aaguid: [u8; 16],
        root_cn: &str,
        leaf_cn: &str,
    ) -> Result<Self, AttestationError> {
        let err = |e: rcgen::Error| AttestationError::Generate(e.to_string());
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut root_params = CertificateParams::default();
        root_params.distinguished_name = dn([
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Keybench"),
            (DnType::OrganizationalUnitName, "Virtual Authenticator Root"),
            (DnType::CommonName, root_cn),
        ]);
        root_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        root_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut root_params);
        let root = root_params.self_signed(&root_key).map_err(err)?;

        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut leaf_params = CertificateParams::default();
        leaf_params.distinguished_name = dn([
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Keybench"),
            (DnType::OrganizationalUnitName, "Authenticator Attestation"),
            (DnType::CommonName, leaf_cn),
        ]);
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // extnValue is the DER OCTET STRING holding the 16 AAGUID bytes.
        let mut content = vec![0x04, 0x10];
        content.extend_from_slice(&aaguid);
        leaf_params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &AAGUID_EXTENSION_OID,
                content,
            ));
        validity(&mut leaf_params);
        let issuer = Issuer::from_params(&root_params, &root_key);
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(err)?;

        Self::from_parts(
            Zeroizing::new(leaf_key.serialize_der()),
            leaf.der().to_vec(),
            root.der().to_vec(),
        )
    }

    /// An identity loaded from the state file.
    pub fn from_parts(
        key_pkcs8: Zeroizing<Vec<u8>>,
        certificate: Vec<u8>,
        root: Vec<u8>,
    ) -> Result<Self, AttestationError> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key_pkcs8)
            .map_err(|_| AttestationError::InvalidKey)?;
        Ok(AttestationIdentity {
            key_pkcs8,
            key,
            certificate,
            root,
        })
    }

    /// The attestation key as PKCS#8, for the state file.
    pub fn key_pkcs8(&self) -> &[u8] {
        &self.key_pkcs8
    }

    /// Signs authenticatorData || clientDataHash with the attestation key.
    pub fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.key
            .sign(&SystemRandom::new(), message)
            .ok()
            .map(|s| s.as_ref().to_vec())
    }
}
