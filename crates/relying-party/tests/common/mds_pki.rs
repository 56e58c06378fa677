//! A test PKI for FIDO metadata BLOBs, shared by the tests of every crate
//! that loads metadata (included by path): a generated root CA, an
//! intermediate CA and a signing certificate, like the FIDO Alliance's;
//! BLOBs signed with ES256 or RS256; CRLs of either CA.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use relying_party::mds::BlobTrust;
use relying_party::x509::{AnchorSource, Crl, TrustAnchor, TrustAnchors};
use serde_json::{Value as Json, json};

pub enum Signer {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// A root CA, an intermediate CA and a signing certificate, like FIDO's.
pub struct Pki {
    pub root_der: Vec<u8>,
    pub chain: Vec<Vec<u8>>, // leaf, intermediate
    pub signer: Signer,
    /// The CAs, kept to issue CRLs.
    pub root_ca: (CertificateParams, KeyPair),
    pub intermediate_ca: (CertificateParams, KeyPair),
}

/// The signing certificate's serial number in every test PKI.
pub const LEAF_SERIAL: [u8; 3] = [0x01, 0x23, 0x45];

pub fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "Keybench MDS test");
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2030, 1, 1);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    }
    p
}

impl Pki {
    pub fn new(rsa: bool, name: &str) -> Pki {
        Pki::build(rsa, name, "mds.example", false)
    }

    /// A PKI whose signing certificate is issued to `leaf_name`; with
    /// `crl_points`, the leaf and the intermediate name where their
    /// issuers publish CRLs.
    pub fn build(rsa: bool, name: &str, leaf_name: &str, crl_points: bool) -> Pki {
        let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let root_params = params(&format!("{name} Root"), true);
        let root = root_params.self_signed(&root_key).unwrap();
        let int_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut int_params = params(&format!("{name} Intermediate"), true);
        if crl_points {
            int_params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec!["http://crl.example/root.crl".into()],
            }];
        }
        let int = int_params
            .signed_by(&int_key, &Issuer::from_params(&root_params, &root_key))
            .unwrap();
        let (leaf_key, signer) = if rsa {
            let k = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            let der =
                aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&k).unwrap();
            (KeyPair::try_from(der.as_ref()).unwrap(), Signer::Rs256(k))
        } else {
            let k = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let signer =
                EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &k.serialize_der())
                    .unwrap();
            (k, Signer::Es256(signer))
        };
        let mut leaf_params = params(leaf_name, false);
        leaf_params.serial_number = Some(rcgen::SerialNumber::from(LEAF_SERIAL.to_vec()));
        if crl_points {
            leaf_params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec!["http://crl.example/intermediate.crl".into()],
            }];
        }
        let leaf = leaf_params
            .signed_by(&leaf_key, &Issuer::from_params(&int_params, &int_key))
            .unwrap();
        Pki {
            root_der: root.der().to_vec(),
            chain: vec![leaf.der().to_vec(), int.der().to_vec()],
            signer,
            root_ca: (root_params, root_key),
            intermediate_ca: (int_params, int_key),
        }
    }

    /// A CRL of the root (`intermediate: false`) or the intermediate,
    /// listing `revoked` serials, current from `this_update` to `next_update`.
    pub fn crl(
        &self,
        intermediate: bool,
        revoked: &[&[u8]],
        this_update: (i32, u8, u8),
        next_update: (i32, u8, u8),
    ) -> Crl {
        let (params, key) = if intermediate {
            &self.intermediate_ca
        } else {
            &self.root_ca
        };
        let crl = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(this_update.0, this_update.1, this_update.2),
            next_update: rcgen::date_time_ymd(next_update.0, next_update.1, next_update.2),
            crl_number: rcgen::SerialNumber::from(vec![1]),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(serial.to_vec()),
                    revocation_time: rcgen::date_time_ymd(2026, 1, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&Issuer::from_params(params, key))
        .unwrap();
        Crl::from_der(crl.der()).unwrap()
    }

    pub fn roots(&self) -> TrustAnchors {
        let mut r = TrustAnchors::new();
        r.add(TrustAnchor::from_der(&self.root_der, AnchorSource::Configured).unwrap());
        r
    }

    /// The BLOB trust of this PKI: its root, its signer's name.
    pub fn trust(&self) -> BlobTrust {
        BlobTrust::pinned(self.roots(), "mds.example")
    }

    pub fn alg(&self) -> &'static str {
        match self.signer {
            Signer::Es256(_) => "ES256",
            Signer::Rs256(_) => "RS256",
        }
    }

    pub fn header(&self) -> Json {
        json!({
            "alg": self.alg(),
            "typ": "JWT",
            "x5c": self.chain.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>(),
        })
    }

    pub fn sign_parts(&self, header: &Json, payload: &Json) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
        );
        let signature = match &self.signer {
            Signer::Es256(k) => k
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            Signer::Rs256(k) => {
                let mut s = vec![0; k.public_modulus_len()];
                k.sign(
                    &sig::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut s,
                )
                .unwrap();
                s
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    pub fn sign(&self, payload: &Json) -> String {
        self.sign_parts(&self.header(), payload)
    }
}
