//! The rejection table: starting from a valid registration and a valid
//! assertion made by the virtual authenticator, each change to a signed
//! byte, the origin, the rpIdHash, the challenge, a flag, the counter or
//! the ceremony's expectations fails with its own precise error.
//! The table is printed (`cargo test -- --nocapture`) for the notes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Client, ORIGIN, RP_ID, USER};
use fido_wire::cbor::Value;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::RequestOptions;
use fido_wire::webauthn::json::{AuthenticationResponseJson, RegistrationResponseJson};
use fido_wire::webauthn::{AttestationObject, CeremonyType, CollectedClientData};
use relying_party::attestation::AttestationError;
use relying_party::{
    AttestationPolicy, BackupEligibilityPolicy, CeremonyError, CeremonyPolicy, CounterCheck,
    CounterPolicy, Credential, CrossOriginPolicy, RelyingParty, RpConfig, SignatureError,
    UserVerification,
};
use virtual_authenticator::AttestationMode;

const REG_CHALLENGE: [u8; 32] = [0xc1; 32];
const AUTH_CHALLENGE: [u8; 32] = [0xa1; 32];

fn policy() -> CeremonyPolicy {
    CeremonyPolicy {
        user_verification: UserVerification::NotRequired,
        ..CeremonyPolicy::default()
    }
}

fn rp_with(policy: CeremonyPolicy) -> RelyingParty {
    RelyingParty::new(RpConfig::new(RP_ID, [ORIGIN])).with_policy(policy)
}

fn rp() -> RelyingParty {
    rp_with(policy())
}

fn row(table: &mut Vec<String>, change: &str, err: &CeremonyError) {
    table.push(format!("| {change} | `{err:?}` |"));
}

/// Changes one part of clientDataJSON, keeping the CCDToString form.
fn client_data(
    ceremony: CeremonyType,
    challenge: &[u8],
    f: impl FnOnce(&mut CollectedClientData),
) -> Vec<u8> {
    let mut cd = CollectedClientData::new(ceremony, challenge, ORIGIN);
    f(&mut cd);
    cd.to_json()
}

fn registration_with_att(
    reg: &RegistrationResponseJson,
    f: impl FnOnce(&mut AttestationObject),
) -> RegistrationResponseJson {
    let mut att = AttestationObject::from_cbor(reg.response.attestation_object.as_slice()).unwrap();
    f(&mut att);
    let mut out = reg.clone();
    out.response.attestation_object = att.to_cbor().into();
    out
}

fn set_auth_data_byte(att: &mut AttestationObject, index: usize, f: impl FnOnce(u8) -> u8) {
    att.auth_data_bytes[index] = f(att.auth_data_bytes[index]);
}

#[test]
fn registration_rejections() {
    let mut table = vec![
        "| Registration: change | Error |".to_owned(),
        "|---|---|".to_owned(),
    ];
    for (mode, alg) in [
        (AttestationMode::PackedSelf, CoseAlgorithm::ES256),
        (AttestationMode::PackedSelf, CoseAlgorithm::ML_DSA_65),
        (AttestationMode::None, CoseAlgorithm::ML_DSA_44),
    ] {
        let mut client = Client::new(mode);
        let good = client.register(alg, &REG_CHALLENGE);
        let rp = rp();
        let finish = |rp: &RelyingParty, r: &RegistrationResponseJson| {
            rp.finish_registration(&REG_CHALLENGE, USER, r, &|_| false)
        };
        finish(&rp, &good).unwrap();
        let tag = format!("{alg:?} {mode:?}");
        let mut check = |change: &str,
                         result: Result<_, CeremonyError>,
                         expected: &dyn Fn(&CeremonyError) -> bool| {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{tag}: {change}: accepted"));
            assert!(expected(&err), "{tag}: {change}: {err:?}");
            if alg == CoseAlgorithm::ES256 {
                row(&mut table, change, &err);
            }
        };

        // Client data.
        let cdj = client_data(CeremonyType::Create, &[0xc2; 32], |_| {});
        let r = client.register_with_client_data(alg, cdj);
        check(
            "challenge (a different one was signed)",
            finish(&rp, &r),
            &|e| *e == CeremonyError::ChallengeMismatch,
        );
        let r = client.register(alg, &REG_CHALLENGE);
        check(
            "challenge (RP expects another)",
            rp.finish_registration(&[0u8; 32], USER, &r, &|_| false),
            &|e| *e == CeremonyError::ChallengeMismatch,
        );
        let cdj = client_data(CeremonyType::Create, &REG_CHALLENGE, |c| {
            c.origin = "https://evil.example".into()
        });
        let r = client.register_with_client_data(alg, cdj);
        check("origin", finish(&rp, &r), &|e| {
            *e == CeremonyError::OriginNotAllowed("https://evil.example".into())
        });
        let cdj = client_data(CeremonyType::Get, &REG_CHALLENGE, |_| {});
        let r = client.register_with_client_data(alg, cdj);
        check("type webauthn.get", finish(&rp, &r), &|e| {
            matches!(
                e,
                CeremonyError::WrongCeremonyType {
                    expected: "webauthn.create",
                    ..
                }
            )
        });
        let cdj = client_data(CeremonyType::Create, &REG_CHALLENGE, |c| {
            c.cross_origin = Some(true)
        });
        let r = client.register_with_client_data(alg, cdj);
        check("crossOrigin true", finish(&rp, &r), &|e| {
            *e == CeremonyError::CrossOriginNotAllowed
        });
        let cdj = client_data(CeremonyType::Create, &REG_CHALLENGE, |c| {
            c.top_origin = Some("https://top.example".into())
        });
        let r = client.register_with_client_data(alg, cdj.clone());
        check("topOrigin present", finish(&rp, &r), &|e| {
            *e == CeremonyError::TopOriginNotExpected
        });
        let framed = RelyingParty::new(RpConfig::new(RP_ID, [ORIGIN]).with_cross_origin(
            CrossOriginPolicy::EmbeddedIn {
                top_origins: vec!["https://other.example".into()],
            },
        ))
        .with_policy(policy());
        check(
            "topOrigin not an allowed embedder",
            finish(&framed, &r),
            &|e| *e == CeremonyError::TopOriginNotAllowed("https://top.example".into()),
        );

        // Authenticator data (signed by the attestation for packed).
        client.rp_id = "evil.example".into();
        let r = client.register(alg, &REG_CHALLENGE);
        client.rp_id = RP_ID.into();
        check(
            "rpIdHash (key used for another RP ID)",
            finish(&rp, &r),
            &|e| matches!(e, CeremonyError::RpIdHashMismatch { .. }),
        );
        let r = registration_with_att(&good, |a| set_auth_data_byte(a, 0, |b| b ^ 1));
        check("rpIdHash byte 0 flipped", finish(&rp, &r), &|e| {
            matches!(e, CeremonyError::RpIdHashMismatch { .. })
        });
        let r = registration_with_att(&good, |a| set_auth_data_byte(a, 32, |b| b & !0x01));
        check("flag UP cleared", finish(&rp, &r), &|e| {
            *e == CeremonyError::UserNotPresent
        });
        check(
            "UV required, flag UV clear",
            rp_with(CeremonyPolicy::default()).finish_registration(
                &REG_CHALLENGE,
                USER,
                &good,
                &|_| false,
            ),
            &|e| *e == CeremonyError::UserNotVerified,
        );
        let r = registration_with_att(&good, |a| set_auth_data_byte(a, 32, |b| b | 0x10));
        check("flag BS set without BE", finish(&rp, &r), &|e| {
            *e == CeremonyError::BackupStateWithoutEligibility
        });
        let r = registration_with_att(&good, |a| set_auth_data_byte(a, 32, |b| b | 0x04));
        if mode == AttestationMode::PackedSelf {
            check("flag UV set (signed byte)", finish(&rp, &r), &|e| {
                *e == CeremonyError::Attestation(AttestationError::BadSignature("packed"))
            });
            let r = registration_with_att(&good, |a| set_auth_data_byte(a, 36, |b| b ^ 1));
            check("signCount (signed byte)", finish(&rp, &r), &|e| {
                *e == CeremonyError::Attestation(AttestationError::BadSignature("packed"))
            });
            let r = registration_with_att(&good, |a| set_auth_data_byte(a, 37, |b| b ^ 1));
            check("AAGUID (signed byte)", finish(&rp, &r), &|e| {
                *e == CeremonyError::Attestation(AttestationError::BadSignature("packed"))
            });
            let r = registration_with_att(&good, |a| {
                if let Value::Map(m) = &mut a.att_stmt {
                    for (k, v) in m.iter_mut() {
                        if k.as_text() == Some("sig")
                            && let Value::Bytes(b) = v
                        {
                            let n = b.len() / 2;
                            b[n] ^= 1;
                        }
                    }
                }
            });
            check("attestation signature byte", finish(&rp, &r), &|e| {
                *e == CeremonyError::Attestation(AttestationError::BadSignature("packed"))
            });
            let r = registration_with_att(&good, |a| {
                if let Value::Map(m) = &mut a.att_stmt {
                    for (k, v) in m.iter_mut() {
                        if k.as_text() == Some("alg") {
                            *v = Value::int(-36);
                        }
                    }
                }
            });
            check("attStmt alg not the key's", finish(&rp, &r), &|e| {
                matches!(
                    e,
                    CeremonyError::Attestation(AttestationError::SelfAlgorithmMismatch { .. })
                )
            });
            check(
                "policy requires a trusted anchor (self)",
                rp_with(CeremonyPolicy {
                    attestation: AttestationPolicy::RequireTrustedAnchor,
                    ..policy()
                })
                .finish_registration(&REG_CHALLENGE, USER, &good, &|_| false),
                &|e| matches!(e, CeremonyError::AttestationNotTrusted(_)),
            );
        } else {
            let r = registration_with_att(&good, |a| {
                a.att_stmt = Value::map([(Value::text("x"), Value::int(1))])
            });
            check("none with a non-empty attStmt", finish(&rp, &r), &|e| {
                *e == CeremonyError::Attestation(AttestationError::NoneNotEmpty)
            });
        }
        let r = registration_with_att(&good, |a| a.fmt = "Packed".into());
        check("fmt \"Packed\" (case matters)", finish(&rp, &r), &|e| {
            *e == CeremonyError::UnsupportedAttestationFormat("Packed".into())
        });

        // Expectations.
        let only_es384 = rp_with(policy()).with_algorithms(&[CoseAlgorithm::ES384]);
        check("algorithm not offered", finish(&only_es384, &good), &|e| {
            *e == CeremonyError::AlgorithmNotOffered(alg)
        });
        check(
            "credential ID already registered",
            rp.finish_registration(&REG_CHALLENGE, USER, &good, &|id| {
                id == good.raw_id.as_slice()
            }),
            &|e| *e == CeremonyError::CredentialAlreadyRegistered,
        );
        let mut r = good.clone();
        r.raw_id.0[0] ^= 1;
        check(
            "rawId differs from authData credentialId",
            finish(&rp, &r),
            &|e| *e == CeremonyError::CredentialIdMismatch,
        );
        let mut r = good.clone();
        r.kind = "password".into();
        check("type not public-key", finish(&rp, &r), &|e| {
            *e == CeremonyError::WrongCredentialType("password".into())
        });
        let r = registration_with_att(&good, |a| {
            a.auth_data_bytes.truncate(40);
        });
        check("authData truncated", finish(&rp, &r), &|e| {
            matches!(e, CeremonyError::AttestationObject(_))
        });
    }
    println!("{}", table.join("\n"));
}

struct Setup {
    client: Client,
    rp: RelyingParty,
    credential: Credential,
    good: AuthenticationResponseJson,
}

fn setup(alg: CoseAlgorithm) -> Setup {
    let mut client = Client::new(AttestationMode::PackedSelf);
    let reg = client.register(alg, &REG_CHALLENGE);
    let rp = rp();
    let mut credential = rp
        .finish_registration(&REG_CHALLENGE, USER, &reg, &|_| false)
        .unwrap()
        .credential;
    let first = client.authenticate(&reg.raw_id.0, &AUTH_CHALLENGE);
    let out = finish_auth(&rp, &first, &credential).unwrap();
    credential.apply(&out); // counter now 1
    let good = client.authenticate(&reg.raw_id.0, &AUTH_CHALLENGE); // counter 2
    finish_auth(&rp, &good, &credential).unwrap();
    Setup {
        client,
        rp,
        credential,
        good,
    }
}

fn finish_auth(
    rp: &RelyingParty,
    r: &AuthenticationResponseJson,
    c: &Credential,
) -> Result<relying_party::AuthenticationOutcome, CeremonyError> {
    rp.finish_authentication(
        &AUTH_CHALLENGE,
        Some(USER),
        &[c.record().id.as_slice()],
        r,
        c,
    )
}

fn with_auth_data(
    r: &AuthenticationResponseJson,
    f: impl FnOnce(&mut Vec<u8>),
) -> AuthenticationResponseJson {
    let mut out = r.clone();
    f(&mut out.response.authenticator_data.0);
    out
}

/// What changing authenticator data byte `i` of a 37-byte assertion must give.
fn expected_for_auth_data_byte(i: usize, flipped_flags: u8) -> Box<dyn Fn(&CeremonyError) -> bool> {
    match i {
        0..=31 => Box::new(|e| matches!(e, CeremonyError::RpIdHashMismatch { .. })),
        32 => {
            // The flags byte: which rule fires depends on the bit.
            if flipped_flags & 0x01 == 0 {
                Box::new(|e| *e == CeremonyError::UserNotPresent)
            } else if flipped_flags & 0xc0 != 0 {
                // AT or ED announce bytes that are not there.
                Box::new(|e| matches!(e, CeremonyError::AuthenticatorData(_)))
            } else if flipped_flags & 0x18 == 0x10 {
                Box::new(|e| *e == CeremonyError::BackupStateWithoutEligibility)
            } else if flipped_flags & 0x08 != 0 {
                Box::new(|e| {
                    matches!(
                        e,
                        CeremonyError::BackupEligibilityChanged {
                            recorded: false,
                            received: true
                        }
                    )
                })
            } else {
                Box::new(|e| matches!(e, CeremonyError::Signature(SignatureError::Invalid(_))))
            }
        }
        _ => Box::new(|e| matches!(e, CeremonyError::Signature(SignatureError::Invalid(_)))),
    }
}

#[test]
fn authentication_rejections() {
    let mut table = vec![
        "| Authentication: change | Error |".to_owned(),
        "|---|---|".to_owned(),
    ];
    for alg in [
        CoseAlgorithm::ES256,
        CoseAlgorithm::EDDSA,
        CoseAlgorithm::ML_DSA_44,
        CoseAlgorithm::ML_DSA_65,
        CoseAlgorithm::ML_DSA_87,
    ] {
        let Setup {
            mut client,
            rp,
            credential,
            good,
        } = setup(alg);
        let id = credential.record().id.0.clone();
        let tag = format!("{alg:?}");
        let mut check = |change: &str,
                         result: Result<_, CeremonyError>,
                         expected: &dyn Fn(&CeremonyError) -> bool| {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{tag}: {change}: accepted"));
            assert!(expected(&err), "{tag}: {change}: {err:?}");
            if alg == CoseAlgorithm::ES256 {
                row(&mut table, change, &err);
            }
        };

        // Every byte of authenticator data, every bit of the flags.
        for i in 0..good.response.authenticator_data.0.len() {
            let bits: Vec<u8> = if i == 32 {
                (0..8).map(|b| 1u8 << b).collect()
            } else {
                vec![0x01]
            };
            for bit in bits {
                let r = with_auth_data(&good, |a| a[i] ^= bit);
                let flags = r.response.authenticator_data.0[32];
                let err = finish_auth(&rp, &r, &credential);
                let expected = expected_for_auth_data_byte(i, flags);
                let label = match i {
                    0..=31 => format!("rpIdHash byte {i}"),
                    32 => format!("flags bit 0x{bit:02x}"),
                    _ => format!("signCount byte {}", i - 33),
                };
                // One row per field in the printed table.
                if matches!(i, 0 | 33) || i == 32 {
                    check(&label, err, &*expected);
                } else {
                    let e = err
                        .err()
                        .unwrap_or_else(|| panic!("{alg:?}: {label}: accepted"));
                    assert!(expected(&e), "{alg:?}: {label}: {e:?}");
                }
            }
        }
        // Every byte of clientDataJSON is signed (through its hash).
        let cdj_len = good.response.client_data_json.0.len();
        for i in 0..cdj_len {
            let mut r = good.clone();
            r.response.client_data_json.0[i] ^= 0x01;
            let e = finish_auth(&rp, &r, &credential)
                .err()
                .unwrap_or_else(|| panic!("{alg:?}: clientDataJSON byte {i} accepted"));
            assert!(
                matches!(
                    e,
                    CeremonyError::ClientData(_)
                        | CeremonyError::WrongCeremonyType { .. }
                        | CeremonyError::ChallengeMismatch
                        | CeremonyError::OriginNotAllowed(_)
                        | CeremonyError::CrossOriginNotAllowed
                        | CeremonyError::Signature(_)
                ),
                "{alg:?}: clientDataJSON byte {i}: {e:?}"
            );
        }
        let mut r = good.clone();
        let n = r.response.client_data_json.0.len();
        r.response.client_data_json.0.truncate(n - 1);
        r.response
            .client_data_json
            .0
            .extend_from_slice(b",\"other\":1}");
        check(
            "clientDataJSON: an extra member (signed bytes)",
            finish_auth(&rp, &r, &credential),
            &|e| matches!(e, CeremonyError::Signature(SignatureError::Invalid(_))),
        );
        let r = client.authenticate_with_client_data(
            &id,
            client_data(CeremonyType::Get, &AUTH_CHALLENGE, |c| {
                c.origin = "https://evil.example".into()
            }),
        );
        check("origin", finish_auth(&rp, &r, &credential), &|e| {
            *e == CeremonyError::OriginNotAllowed("https://evil.example".into())
        });
        let r = client.authenticate_with_client_data(
            &id,
            client_data(CeremonyType::Get, &[0xa2; 32], |_| {}),
        );
        check("challenge", finish_auth(&rp, &r, &credential), &|e| {
            *e == CeremonyError::ChallengeMismatch
        });
        let r = client.authenticate_with_client_data(
            &id,
            client_data(CeremonyType::Create, &AUTH_CHALLENGE, |_| {}),
        );
        check(
            "type webauthn.create",
            finish_auth(&rp, &r, &credential),
            &|e| {
                matches!(
                    e,
                    CeremonyError::WrongCeremonyType {
                        expected: "webauthn.get",
                        ..
                    }
                )
            },
        );
        let r = client.authenticate_with_client_data(
            &id,
            client_data(CeremonyType::Get, &AUTH_CHALLENGE, |c| {
                c.cross_origin = Some(true)
            }),
        );
        check(
            "crossOrigin true",
            finish_auth(&rp, &r, &credential),
            &|e| *e == CeremonyError::CrossOriginNotAllowed,
        );
        let r = client.authenticate_with_client_data(
            &id,
            client_data(CeremonyType::Get, &AUTH_CHALLENGE, |c| {
                c.cross_origin = Some(true);
                c.top_origin = Some("https://top.example".into());
            }),
        );
        check(
            "topOrigin present",
            finish_auth(&rp, &r, &credential),
            &|e| {
                *e == CeremonyError::CrossOriginNotAllowed
                    || *e == CeremonyError::TopOriginNotExpected
            },
        );
        let mut r = good.clone();
        r.response
            .client_data_json
            .0
            .splice(0..0, [0xef, 0xbb, 0xbf]);
        check(
            "clientDataJSON with a BOM (stripped for parsing, still signed)",
            finish_auth(&rp, &r, &credential),
            &|e| matches!(e, CeremonyError::Signature(SignatureError::Invalid(_))),
        );

        // Signature.
        let mut r = good.clone();
        let n = r.response.signature.0.len();
        r.response.signature.0[n / 2] ^= 0x01;
        check("signature byte", finish_auth(&rp, &r, &credential), &|e| {
            matches!(e, CeremonyError::Signature(SignatureError::Invalid(_)))
        });
        let mut r = good.clone();
        r.response.signature.0.pop();
        check(
            "signature truncated",
            finish_auth(&rp, &r, &credential),
            &|e| {
                matches!(
                    e,
                    CeremonyError::Signature(
                        SignatureError::Invalid(_) | SignatureError::WrongLength { .. }
                    )
                )
            },
        );

        // Flags that the authenticator really signed.
        let cdj = client.client_data(CeremonyType::Get, &AUTH_CHALLENGE);
        let r = client.authenticate_with(
            &id,
            cdj,
            RequestOptions {
                up: Some(false),
                ..Default::default()
            },
        );
        check(
            "UP clear (signed by the key, up=false)",
            finish_auth(&rp, &r, &credential),
            &|e| *e == CeremonyError::UserNotPresent,
        );
        check(
            "UV required, UV clear",
            rp_with(CeremonyPolicy::default()).finish_authentication(
                &AUTH_CHALLENGE,
                Some(USER),
                &[],
                &good,
                &credential,
            ),
            &|e| *e == CeremonyError::UserNotVerified,
        );

        // Counter: replaying an older assertion after a newer one was recorded.
        let mut newer = Credential::from_record(credential.record().clone()).unwrap();
        let latest = client.authenticate(&id, &AUTH_CHALLENGE);
        let latest_out = finish_auth(&rp, &latest, &newer).unwrap();
        let n = latest_out.sign_count;
        assert!(n > 2);
        newer.apply(&latest_out);
        check(
            "counter not advancing (older assertion replayed)",
            finish_auth(&rp, &good, &newer),
            &|e| {
                *e == CeremonyError::CounterRegressed {
                    recorded: n,
                    received: 2,
                }
            },
        );
        check(
            "counter replay of the same assertion",
            finish_auth(&rp, &latest, &newer),
            &|e| {
                *e == CeremonyError::CounterRegressed {
                    recorded: n,
                    received: n,
                }
            },
        );
        let report = rp_with(CeremonyPolicy {
            counter: CounterPolicy::Report,
            ..policy()
        });
        let out = finish_auth(&report, &good, &newer).unwrap();
        assert_eq!(
            out.counter,
            CounterCheck::Regressed {
                recorded: n,
                received: 2
            }
        );
        newer.apply(&out);
        assert_eq!(
            newer.record().sign_count,
            n,
            "a regressed counter is never stored"
        );
        let relaxed = rp_with(CeremonyPolicy {
            backup_eligibility: BackupEligibilityPolicy::Report,
            ..policy()
        });
        let r = with_auth_data(&good, |a| a[32] |= 0x08);
        check(
            "BE set, relaxed policy: the signature still decides",
            finish_auth(&relaxed, &r, &credential),
            &|e| matches!(e, CeremonyError::Signature(_)),
        );

        // Expectations and the credential record.
        check(
            "credential not in allowCredentials",
            rp.finish_authentication(&AUTH_CHALLENGE, Some(USER), &[b"other"], &good, &credential),
            &|e| *e == CeremonyError::CredentialNotAllowed,
        );
        let mut r = good.clone();
        r.raw_id.0[0] ^= 1;
        check(
            "rawId names another credential",
            rp.finish_authentication(&AUTH_CHALLENGE, Some(USER), &[], &r, &credential),
            &|e| *e == CeremonyError::CredentialRecordMismatch,
        );
        check(
            "identified user is not the credential's",
            rp.finish_authentication(&AUTH_CHALLENGE, Some(b"bob"), &[], &good, &credential),
            &|e| *e == CeremonyError::UserHandleMismatch,
        );
        let mut r = good.clone();
        r.response.user_handle = Some(b"bob".to_vec().into());
        check(
            "userHandle of another user",
            rp.finish_authentication(&AUTH_CHALLENGE, Some(USER), &[], &r, &credential),
            &|e| *e == CeremonyError::UserHandleMismatch,
        );
        let mut r = good.clone();
        r.response.user_handle = None;
        check(
            "no userHandle, user not identified",
            rp.finish_authentication(&AUTH_CHALLENGE, None, &[], &r, &credential),
            &|e| *e == CeremonyError::UserHandleMissing,
        );
        let mut r = good.clone();
        r.kind = "otp".into();
        check(
            "type not public-key",
            finish_auth(&rp, &r, &credential),
            &|e| *e == CeremonyError::WrongCredentialType("otp".into()),
        );
    }
    println!("{}", table.join("\n"));
}
