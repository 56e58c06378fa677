//! Registrations and assertions made by the virtual authenticator (driven
//! through CTAP2 CBOR like a real key) verify, for every algorithm it has
//! (ES256, EdDSA, ML-DSA-44/65/87) and both attestation modes (none,
//! packed self); the stored record survives serialisation and keeps
//! verifying; counters advance.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{ALGORITHMS, Client, ORIGIN, RP_ID, USER};
use relying_party::attestation::{AttestationFormat, AttestationType};
use relying_party::{
    CeremonyPolicy, CounterCheck, Credential, CredentialRecord, RelyingParty, RpConfig,
    TrustOutcome, UserVerification,
};
use virtual_authenticator::AttestationMode;

fn rp() -> RelyingParty {
    RelyingParty::new(RpConfig::new(RP_ID, [ORIGIN])).with_policy(CeremonyPolicy {
        // The virtual key has no PIN and no built-in UV yet.
        user_verification: UserVerification::NotRequired,
        ..CeremonyPolicy::default()
    })
}

#[test]
fn every_algorithm_and_attestation_mode_registers_and_authenticates() {
    let rp = rp();
    for mode in [AttestationMode::None, AttestationMode::PackedSelf] {
        let mut client = Client::new(mode);
        for alg in ALGORITHMS {
            let challenge = [alg.0 as u8; 32];
            let reg = client.register(alg, &challenge);
            let outcome = rp
                .finish_registration(&challenge, USER, &reg, &|_| false)
                .unwrap_or_else(|e| panic!("{alg:?} {mode:?}: {e}"));
            let (format, kind, trust) = match mode {
                AttestationMode::None => (
                    AttestationFormat::None,
                    AttestationType::None,
                    TrustOutcome::NoAttestation,
                ),
                _ => (
                    AttestationFormat::Packed,
                    AttestationType::SelfAttestation,
                    TrustOutcome::SelfAttestation,
                ),
            };
            assert_eq!(outcome.statement.format, format);
            assert_eq!(outcome.statement.attestation_type, kind);
            assert_eq!(outcome.trust, trust);
            let record = outcome.credential.record().clone();
            assert_eq!(record.algorithm, alg);
            assert_eq!(record.id.as_slice(), reg.raw_id.as_slice());
            assert_eq!(record.user_handle.as_slice(), USER);
            assert_eq!(record.rp_id, RP_ID);
            assert_eq!(record.aaguid.as_slice(), b"kbvirt-mldsa-v01");
            assert!(!record.uv_initialized);

            // The record goes through JSON (what a store keeps) and is decoded once.
            let json = serde_json::to_string(&record).unwrap();
            let back: CredentialRecord = serde_json::from_str(&json).unwrap();
            assert_eq!(back, record);
            let mut credential = Credential::from_record(back).unwrap();
            assert_eq!(credential.verifier().algorithm(), alg);

            for round in 1..=3u32 {
                let challenge = [round as u8; 32];
                let assertion = client.authenticate(&record.id.0, &challenge);
                let out = rp
                    .finish_authentication(
                        &challenge,
                        Some(USER),
                        &[record.id.as_slice()],
                        &assertion,
                        &credential,
                    )
                    .unwrap_or_else(|e| panic!("{alg:?} {mode:?} round {round}: {e}"));
                assert_eq!(out.sign_count, round);
                assert_eq!(out.counter, CounterCheck::Advanced);
                assert!(!out.user_verified);
                credential.apply(&out);
                assert_eq!(credential.record().sign_count, round);
            }
        }
    }
}

#[test]
fn discoverable_login_uses_the_user_handle() {
    let rp = rp();
    let mut client = Client::new(AttestationMode::PackedSelf);
    let challenge = [9u8; 32];
    let reg = client.register(fido_wire::cose::CoseAlgorithm::ML_DSA_65, &challenge);
    let credential = rp
        .finish_registration(&challenge, USER, &reg, &|_| false)
        .unwrap()
        .credential;
    let mut assertion = client.authenticate(&reg.raw_id.0, &[1; 32]);
    // The user was not identified beforehand: userHandle names the account.
    assertion.response.user_handle = Some(USER.to_vec().into());
    rp.finish_authentication(&[1; 32], None, &[], &assertion, &credential)
        .unwrap();
}
