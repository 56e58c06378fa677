//! The WebAuthn Level 3 test vectors (§"Test Vectors", vendored in
//! tests/data, see its README): every registration verifies with the
//! attestation its format gives, the attestation chains to the vectors'
//! `attestation_ca_cert` where there is one, and every authentication
//! verifies with the registered record, Ed448 (packed-ed448) included. The
//! results table is printed for the notes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use fido_wire::cose::CoseAlgorithm;
use relying_party::attestation::AttestationType;
use relying_party::ceremony::{
    AuthenticationExpectations, AuthenticationResponse, CeremonyContext, CounterCheck,
    RegistrationExpectations, RegistrationResponse, verify_authentication, verify_registration,
};
use relying_party::x509::{AnchorSource, TrustAnchor, UnixTime};
use relying_party::{
    CeremonyError, CeremonyPolicy, CrossOriginPolicy, RpConfig, TrustOutcome, TrustStore,
    UserVerification,
};
use std::collections::BTreeMap;

type Block = BTreeMap<String, Vec<u8>>;

struct Section {
    id: String,
    blocks: Vec<Block>,
}

fn sections() -> Vec<Section> {
    let text = include_str!("data/webauthn-l3/test-vectors.bs");
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("## ") {
            if let Some(start) = line.find("{#") {
                sections.push(Section {
                    id: line[start + 2..line.len() - 1].to_string(),
                    blocks: Vec::new(),
                });
            }
        } else if line.starts_with("<xmp") {
            current = Some(Block::new());
        } else if line.starts_with("</xmp>") {
            if let (Some(block), Some(section)) = (current.take(), sections.last_mut()) {
                section.blocks.push(block);
            }
        } else if let Some(block) = current.as_mut()
            && let Some((name, rest)) = line.split_once(" = h'")
            && !name.contains(' ')
        {
            let hex_str = &rest[..rest.find('\'').unwrap()];
            block.insert(name.to_string(), hex::decode(hex_str).unwrap());
        }
    }
    sections
}

const USER: &[u8] = b"vector-user";
/// 2026-08-01: inside every vector certificate's validity.
const AT: UnixTime = UnixTime(1_785_542_400);

#[test]
fn webauthn_l3_vectors_verify() {
    let all = sections();
    let root = all
        .iter()
        .find(|s| s.id == "sctn-test-vectors-attestation-root-cert")
        .unwrap();
    let ca = &root.blocks[0]["attestation_ca_cert"];
    let mut trust = TrustStore::new();
    trust.add_global(TrustAnchor::from_der(ca, AnchorSource::Configured).unwrap());
    let rp = RpConfig::new("example.org", ["https://example.org"]).with_cross_origin(
        CrossOriginPolicy::EmbeddedIn {
            top_origins: vec!["https://example.com".into()],
        },
    );
    let ctx = CeremonyContext {
        rp: &rp,
        policy: CeremonyPolicy {
            user_verification: UserVerification::NotRequired,
            ..CeremonyPolicy::default()
        },
        trust: &trust,
        now: AT,
    };
    let strict_rp = RpConfig::new("example.org", ["https://example.org"]);

    let mut table = vec![
        "| Vector | Registration | Attestation | Authentication |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    let mut verified = 0;
    for s in all
        .iter()
        .filter(|s| s.id.starts_with("sctn-test-vectors-") && s.blocks.len() == 2)
    {
        let id = s.id.trim_start_matches("sctn-test-vectors-");
        let (reg, auth) = (&s.blocks[0], &s.blocks[1]);
        let algorithms = [
            CoseAlgorithm::ES256,
            CoseAlgorithm::ES384,
            CoseAlgorithm::ES512,
            CoseAlgorithm::EDDSA,
            CoseAlgorithm::ED448,
            CoseAlgorithm::RS256,
        ];
        let response = RegistrationResponse {
            credential_type: "public-key",
            raw_id: &reg["credential_id"],
            client_data_json: &reg["clientDataJSON"],
            attestation_object: &reg["attestationObject"],
            transports: &[],
            client_extension_results: None,
        };
        let expect = RegistrationExpectations {
            challenge: &reg["challenge"],
            user_handle: USER,
            algorithms: &algorithms,
            conditional_mediation: false,
            extensions: None,
        };
        let result = verify_registration(&ctx, &expect, &response, &|_| false);
        let outcome = result.unwrap_or_else(|e| panic!("{id}: registration: {e}"));

        // The attestation each vector carries.
        let expected_type = if id.starts_with("none") {
            AttestationType::None
        } else if id.starts_with("packed-self") {
            AttestationType::SelfAttestation
        } else if id.starts_with("apple") {
            AttestationType::AnonCa
        } else if id.starts_with("tpm") {
            AttestationType::AttCa
        } else if id.starts_with("android-key") {
            AttestationType::Basic
        } else {
            AttestationType::Uncertain
        };
        assert_eq!(outcome.statement.attestation_type, expected_type, "{id}");
        match expected_type {
            AttestationType::None => assert_eq!(outcome.trust, TrustOutcome::NoAttestation),
            AttestationType::SelfAttestation => {
                assert_eq!(outcome.trust, TrustOutcome::SelfAttestation)
            }
            _ => assert_eq!(
                outcome.trust,
                TrustOutcome::Trusted {
                    anchor:
                        "CN=WebAuthn test vectors, O=W3C, OU=Authenticator Attestation CA, C=AA"
                            .into(),
                    source: AnchorSource::Configured
                },
                "{id}"
            ),
        }
        // An empty trust list trusts nothing: the same statement, no anchor.
        if !outcome.statement.trust_path.is_empty() {
            let empty = TrustStore::new().assess(&outcome.statement, &[0; 16], AT);
            assert!(
                matches!(&empty, TrustOutcome::NotTrusted { reason } if reason.contains("no trust anchors")),
                "{id}: {empty:?}"
            );
        }
        // The crossOrigin/topOrigin vectors need the embedding policy.
        if id.contains("crossOrigin") || id.contains("topOrigin") {
            let strict = CeremonyContext {
                rp: &strict_rp,
                ..ctx
            };
            let err = verify_registration(&strict, &expect, &response, &|_| false).unwrap_err();
            assert_eq!(err, CeremonyError::CrossOriginNotAllowed, "{id}");
        }

        let credential = outcome.credential;
        let auth_out = verify_authentication(
            &ctx,
            &AuthenticationExpectations {
                challenge: &auth["challenge"],
                allow_credentials: &[],
                identified_user: Some(USER),
                extensions: None,
            },
            &AuthenticationResponse {
                credential_type: "public-key",
                raw_id: &reg["credential_id"],
                client_data_json: &auth["clientDataJSON"],
                authenticator_data: &auth["authenticatorData"],
                signature: &auth["signature"],
                user_handle: None,
                client_extension_results: None,
            },
            &credential,
        )
        .unwrap_or_else(|e| panic!("{id}: authentication: {e}"));
        assert_eq!(auth_out.counter, CounterCheck::NotUsed, "{id}");
        let trust = match &outcome.trust {
            TrustOutcome::Trusted { .. } => "trusted (vector CA)".to_owned(),
            other => format!("{other:?}"),
        };
        table.push(format!(
            "| {id} | ok ({:?}) | {:?}, {trust} | ok |",
            credential.record().algorithm,
            outcome.statement.attestation_type
        ));
        verified += 1;
    }
    println!("{}", table.join("\n"));
    assert_eq!(verified, 15);
}
