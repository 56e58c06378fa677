//! Registrations and assertions made by the virtual authenticator (driven
//! through CTAP2 CBOR like a real key) verify, for every algorithm it offers
//! (ML-DSA-44/65/87, EdDSA, ES256/384/512, ES256K, RS256, PS256) and both
//! attestation modes (none, packed self); the stored record survives serialisation and keeps
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

#[test]
fn packed_basic_attestation_is_trusted_by_its_root_only() {
    use relying_party::TrustStore;
    use relying_party::x509::{AnchorSource, TrustAnchor, UnixTime};
    let mut client = Client::new(AttestationMode::PackedBasic);
    let root = client.key.attestation_root().unwrap().to_vec();
    let mut store = TrustStore::new();
    store.add_global(TrustAnchor::from_der(&root, AnchorSource::Configured).unwrap());
    // 2026-08-01: inside the generated chain's validity (2025-2045).
    let at = UnixTime(1_785_542_400);
    for alg in ALGORITHMS {
        let challenge = [0x42; 32];
        let reg = client.register(alg, &challenge);
        let trusted = rp()
            .with_trust(store.clone())
            .with_fixed_time(at)
            .finish_registration(&challenge, USER, &reg, &|_| false)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(trusted.statement.format, AttestationFormat::Packed);
        assert_eq!(
            trusted.statement.attestation_type,
            AttestationType::Uncertain
        );
        assert_eq!(
            trusted.statement.trust_path.len(),
            1,
            "x5c = [attestation certificate]"
        );
        assert_eq!(
            trusted.trust,
            TrustOutcome::Trusted {
                anchor: "C=US, O=Keybench, OU=Virtual Authenticator Root, CN=Keybench Virtual Key Root CA".into(),
                source: AnchorSource::Configured,
            },
            "{alg:?}"
        );
        // The same registration with an empty store: valid, but nobody vouches.
        let untrusted = rp()
            .with_fixed_time(at)
            .finish_registration(&challenge, USER, &reg, &|_| false)
            .unwrap();
        assert_eq!(
            untrusted.trust,
            TrustOutcome::NotTrusted {
                reason: "no trust anchors are configured, so nothing is trusted".into()
            }
        );
        // Another key's root does not vouch either.
        let other = Client::new(AttestationMode::PackedBasic);
        let mut wrong = TrustStore::new();
        wrong.add_global(
            TrustAnchor::from_der(
                other.key.attestation_root().unwrap(),
                AnchorSource::Configured,
            )
            .unwrap(),
        );
        let refused = rp()
            .with_trust(wrong)
            .with_fixed_time(at)
            .finish_registration(&challenge, USER, &reg, &|_| false)
            .unwrap();
        assert!(
            matches!(refused.trust, TrustOutcome::NotTrusted { .. }),
            "{:?}",
            refused.trust
        );
    }
}

/// Enterprise attestation as the relying party sees it: options that ask
/// for "enterprise", a registration whose packed statement carries the
/// key's per-device certificate (platform-managed, CTAP 2.1 §6.1.2 step
/// 9.4), trusted by the enterprise root: the verdict says enterprise. The
/// same registration judged by an RP that asked for "direct", and an
/// ordinary self attestation given to one that asked for "enterprise", do not.
#[test]
fn enterprise_attestation_is_reported_when_asked_for() {
    use ctaphid::serve::RequestContext;
    use fido_wire::ctap2::{ConfigSubCommand, StatusCode, command, encode_request};
    use fido_wire::webauthn::json::AttestationConveyance;
    use relying_party::TrustStore;
    use relying_party::x509::{AnchorSource, TrustAnchor, UnixTime};
    let mut client = Client::new(AttestationMode::PackedSelf);
    let enable = fido_wire::cbor::Value::map([(
        fido_wire::cbor::Value::int(0x01),
        fido_wire::cbor::Value::int(ConfigSubCommand::ENABLE_ENTERPRISE_ATTESTATION.0),
    )]);
    let answer = client.key.process(
        &encode_request(command::CONFIG, Some(&enable)),
        &RequestContext::detached(),
    );
    assert_eq!(answer, [StatusCode::OK.0]);
    let root = client.key.enterprise_attestation_root().unwrap().to_vec();
    let mut store = TrustStore::new();
    store.add_global(TrustAnchor::from_der(&root, AnchorSource::Configured).unwrap());
    let at = UnixTime(1_785_542_400);
    let enterprise_rp = || {
        rp().with_requested_attestation(AttestationConveyance::Enterprise)
            .with_trust(store.clone())
            .with_fixed_time(at)
    };
    assert_eq!(
        enterprise_rp()
            .creation_options(
                &[1; 32],
                fido_wire::webauthn::json::UserEntity {
                    id: USER.to_vec().into(),
                    name: "alice".into(),
                    display_name: "Alice".into(),
                },
                "Example",
                &[],
            )
            .attestation,
        Some(AttestationConveyance::Enterprise)
    );
    for alg in [
        fido_wire::cose::CoseAlgorithm::ES256,
        fido_wire::cose::CoseAlgorithm::ML_DSA_65,
    ] {
        let challenge = [0x43; 32];
        client.enterprise_attestation = Some(2);
        let reg = client.register(alg, &challenge);
        let outcome = enterprise_rp()
            .finish_registration(&challenge, USER, &reg, &|_| false)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert!(outcome.enterprise_attestation, "{alg:?}");
        assert!(
            matches!(outcome.trust, TrustOutcome::Trusted { .. }),
            "{alg:?}: {:?}",
            outcome.trust
        );
        let direct = rp()
            .with_trust(store.clone())
            .with_fixed_time(at)
            .finish_registration(&challenge, USER, &reg, &|_| false)
            .unwrap();
        assert!(!direct.enterprise_attestation, "{alg:?}: not asked for");
        client.enterprise_attestation = None;
        let ordinary = client.register(alg, &challenge);
        let outcome = enterprise_rp()
            .finish_registration(&challenge, USER, &ordinary, &|_| false)
            .unwrap();
        assert!(!outcome.enterprise_attestation, "{alg:?}: self attestation");
    }
}
