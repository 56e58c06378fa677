//! FIDO MDS3 offline: BLOBs built here (a generated root, intermediate and
//! signing certificate, the JWT signed with aws-lc-rs) verify with ES256
//! and RS256; a changed payload or header, the wrong root, a stale
//! nextUpdate, a rollback, a revoked or compromised model are each refused
//! with their own error; verified entries make the virtual key's packed
//! basic attestation Trusted with source FidoMds, uploaded statements make it
//! Trusted as "uploaded, not MDS-trusted", and nothing lifts an MDS denial.
//! python-fido2's published example BLOB (FIDO MDS3 spec example) checks the
//! JWS path against someone else's bytes. The bundled FIDO root is checked.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "common/mds_pki.rs"]
mod mds_pki;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Client, ORIGIN, RP_ID, USER};
use mds_pki::{LEAF_SERIAL, Pki};
use relying_party::mds::{
    self, BlobTrust, MdsError, apply_uploaded, fido_mds_root, load_blob_file, parse_uploaded,
    verify_blob,
};
use relying_party::x509::{
    AnchorSource, ChainError, Crl, RevocationError, TrustAnchor, TrustAnchors, UnixTime,
};
use relying_party::{
    CeremonyPolicy, RelyingParty, RpConfig, TrustOutcome, TrustStore, UserVerification,
};
use serde_json::{Value as Json, json};
use virtual_authenticator::{AttestationMode, Authenticator, Config};

/// 2026-08-01: inside every generated certificate's validity, before nextUpdate.
const AT: UnixTime = UnixTime(1_785_542_400);
const NEXT_UPDATE: &str = "2026-09-01";
const VIRTUAL_AAGUID: [u8; 16] = *b"kbvirt-mldsa-v01";
const REVOKED_AAGUID: [u8; 16] = *b"kbvirt-revoked01";

fn uuid(a: &[u8; 16]) -> String {
    relying_party::decoder::uuid_string(a)
}

/// A virtual key with packed basic attestation for `aaguid`, and its root.
fn virtual_key(aaguid: [u8; 16]) -> (Client, Vec<u8>) {
    let key = Authenticator::new(Config {
        aaguid,
        attestation: AttestationMode::PackedBasic,
        ..Config::default()
    })
    .unwrap();
    let root = key.attestation_root().unwrap().to_vec();
    let mut client = Client::new(AttestationMode::None);
    client.key = key;
    (client, root)
}

fn entry(aaguid: &[u8; 16], description: &str, root: &[u8], statuses: &[&str]) -> Json {
    json!({
        "aaguid": uuid(aaguid),
        "metadataStatement": {
            "description": description,
            "aaguid": uuid(aaguid),
            "protocolFamily": "fido2",
            "schema": 3,
            "attestationTypes": ["basic_full"],
            "attestationRootCertificates": [STANDARD.encode(root)],
        },
        "statusReports": statuses.iter().enumerate().map(|(i, s)| json!({
            "status": s,
            "effectiveDate": format!("2025-0{}-01", i + 1),
        })).collect::<Vec<_>>(),
        "timeOfLastStatusChange": "2025-01-01",
    })
}

fn payload(entries: Vec<Json>) -> Json {
    json!({
        "legalHeader": "Keybench test BLOB, not from the FIDO Alliance",
        "no": 42,
        "nextUpdate": NEXT_UPDATE,
        "entries": entries,
    })
}

fn rp(trust: impl Into<std::sync::Arc<TrustStore>>) -> RelyingParty {
    RelyingParty::new(RpConfig::new(RP_ID, [ORIGIN]))
        .with_policy(CeremonyPolicy {
            user_verification: UserVerification::NotRequired,
            ..CeremonyPolicy::default()
        })
        .with_trust(trust)
        .with_fixed_time(AT)
}

fn register(client: &mut Client, trust: impl Into<std::sync::Arc<TrustStore>>) -> TrustOutcome {
    let challenge = [3u8; 32];
    let reg = client.register(fido_wire::cose::CoseAlgorithm::ES256, &challenge);
    rp(trust)
        .finish_registration(&challenge, USER, &reg, &|_| false)
        .unwrap()
        .trust
}

#[test]
fn a_good_blob_feeds_trust_and_a_revoked_model_is_denied() {
    let (mut good_key, good_root) = virtual_key(VIRTUAL_AAGUID);
    let (mut revoked_key, revoked_root) = virtual_key(REVOKED_AAGUID);
    for rsa in [false, true] {
        let pki = Pki::new(rsa, "MDS");
        let jwt = pki.sign(&payload(vec![
            entry(
                &VIRTUAL_AAGUID,
                "Keybench Virtual Key",
                &good_root,
                &["FIDO_CERTIFIED"],
            ),
            entry(
                &REVOKED_AAGUID,
                "Keybench Revoked Key",
                &revoked_root,
                &[
                    "FIDO_CERTIFIED",
                    "ATTESTATION_KEY_COMPROMISE",
                    "UPDATE_AVAILABLE",
                ],
            ),
            json!({ "aaid": "1234#5678", "metadataStatement": { "description": "a UAF model" } }),
        ]));
        let blob = verify_blob(jwt.as_bytes(), &pki.trust(), AT, Some(41)).unwrap();
        assert_eq!(blob.no, 42);
        assert_eq!(blob.next_update, NEXT_UPDATE);
        assert_eq!(blob.algorithm, pki.alg());
        assert_eq!(blob.signer, "CN=mds.example, O=Keybench MDS test");
        assert_eq!(blob.anchor, "CN=MDS Root, O=Keybench MDS test");
        assert_eq!(blob.entries.len(), 3);
        assert_eq!(
            blob.entry(&VIRTUAL_AAGUID).unwrap().description(),
            "Keybench Virtual Key"
        );
        assert!(blob.entry(&[0; 16]).is_none());

        let mut store = TrustStore::new();
        let report = blob.apply_to(&mut store);
        assert_eq!(report.anchors_added, 1);
        assert_eq!(report.models_trusted, 1);
        assert_eq!(report.denied.len(), 1);
        assert_eq!(report.denied[0].0, uuid(&REVOKED_AAGUID));
        assert!(report.problems.is_empty(), "{:?}", report.problems);

        assert_eq!(
            register(&mut good_key, store.clone()),
            TrustOutcome::Trusted {
                anchor: "C=US, O=Keybench, OU=Virtual Authenticator Root, CN=Keybench Virtual Key Root CA".into(),
                source: AnchorSource::FidoMds {
                    description: "Keybench Virtual Key".into()
                },
            }
        );
        // Denied even when an operator anchor would vouch for the chain.
        store.add_global(TrustAnchor::from_der(&revoked_root, AnchorSource::Configured).unwrap());
        assert_eq!(
            register(&mut revoked_key, store.clone()),
            TrustOutcome::NotTrusted {
                reason: "FIDO MDS3 reports ATTESTATION_KEY_COMPROMISE for \"Keybench Revoked Key\" (effective 2025-02-01)".into()
            }
        );
        // And an uploaded statement does not lift the denial.
        let upload =
            serde_json::to_vec(&entry(&REVOKED_AAGUID, "my prototype", &revoked_root, &[]))
                .unwrap();
        apply_uploaded(&parse_uploaded(&upload).unwrap(), &mut store);
        assert!(!register(&mut revoked_key, store).is_trusted());
    }
}

#[test]
fn every_broken_blob_is_refused_with_its_own_error() {
    let pki = Pki::new(false, "MDS");
    let (_, root) = virtual_key(VIRTUAL_AAGUID);
    let body = payload(vec![entry(
        &VIRTUAL_AAGUID,
        "Keybench Virtual Key",
        &root,
        &[],
    )]);
    let jwt = pki.sign(&body);
    let parts: Vec<&str> = jwt.split('.').collect();
    let roots = pki.trust();
    let check = |jwt: &str| verify_blob(jwt.as_bytes(), &roots, AT, None).map(|b| b.no);
    assert_eq!(check(&jwt), Ok(42));
    // A trailing newline from a cached file is fine; anything else is not.
    assert_eq!(check(&format!("{jwt}\n")), Ok(42));

    // Tampered payload: the same signature over another "no".
    let mut tampered = body.clone();
    tampered["no"] = json!(43);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered).unwrap()),
        parts[2]
    );
    assert_eq!(check(&forged), Err(MdsError::BadSignature));
    // One signature byte changed.
    let mut s = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    s[10] ^= 1;
    let forged = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&s));
    assert_eq!(check(&forged), Err(MdsError::BadSignature));
    // A DER signature or a truncated one is not JOSE ES256.
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&s[..63])
    );
    assert_eq!(
        check(&forged),
        Err(MdsError::SignatureEncoding {
            alg: "ES256".into(),
            len: 63
        })
    );
    // Header changes: algorithm swaps, "none", no x5c, crit.
    let with_header = |h: Json| pki.sign_parts(&h, &body);
    let mut h = pki.header();
    h["alg"] = json!("RS256");
    assert_eq!(
        check(&with_header(h)),
        Err(MdsError::KeyMismatch("RS256".into()))
    );
    let mut h = pki.header();
    h["alg"] = json!("none");
    assert_eq!(
        check(&with_header(h)),
        Err(MdsError::UnsupportedAlgorithm("none".into()))
    );
    let mut h = pki.header();
    h["alg"] = json!("HS256");
    assert_eq!(
        check(&with_header(h)),
        Err(MdsError::UnsupportedAlgorithm("HS256".into()))
    );
    let mut h = pki.header();
    h.as_object_mut().unwrap().remove("x5c");
    assert_eq!(check(&with_header(h)), Err(MdsError::MissingX5c));
    let mut h = pki.header();
    h["crit"] = json!(["exp"]);
    assert_eq!(check(&with_header(h)), Err(MdsError::UnsupportedCritical));
    let mut h = pki.header();
    h["x5c"] = json!(["AAAA"]);
    assert!(matches!(
        check(&with_header(h)),
        Err(MdsError::X5c { index: 0, .. })
    ));
    // Leaf only, without the intermediate: no path to the root.
    let mut h = pki.header();
    h["x5c"] = json!([STANDARD.encode(&pki.chain[0])]);
    assert!(matches!(
        check(&with_header(h)),
        Err(MdsError::Chain(ChainError::NoAnchorVouches(_)))
    ));
    // Structure.
    assert_eq!(check("abc.def"), Err(MdsError::NotCompactJws));
    assert_eq!(check(&format!("{jwt}.x")), Err(MdsError::NotCompactJws));
    assert!(matches!(
        check(&format!("{}=.{}.{}", parts[0], parts[1], parts[2])),
        Err(MdsError::Base64 { part: "header", .. })
    ));

    // Wrong root: another PKI's, the bundled FIDO root, or none at all.
    let other = Pki::new(false, "Other");
    assert!(matches!(
        verify_blob(jwt.as_bytes(), &other.trust(), AT, None),
        Err(MdsError::Chain(ChainError::NoAnchorVouches(s))) if s == "CN=MDS Intermediate, O=Keybench MDS test"
    ));
    assert!(matches!(
        verify_blob(jwt.as_bytes(), &BlobTrust::fido(Vec::new()), AT, None),
        Err(MdsError::Chain(ChainError::NoAnchorVouches(_)))
    ));
    assert_eq!(
        verify_blob(
            jwt.as_bytes(),
            &BlobTrust::pinned(TrustAnchors::new(), "mds.example"),
            AT,
            None
        )
        .map(|b| b.no),
        Err(MdsError::Chain(ChainError::NoAnchors))
    );

    // nextUpdate: current through its day, stale the day after.
    let day_of = UnixTime(1_788_220_800); // 2026-09-01T00:00:00Z
    assert!(verify_blob(jwt.as_bytes(), &roots, UnixTime(day_of.0 + 86_399), None).is_ok());
    assert_eq!(
        verify_blob(jwt.as_bytes(), &roots, UnixTime(day_of.0 + 86_400), None).map(|b| b.no),
        Err(MdsError::Stale {
            next_update: NEXT_UPDATE.into(),
            at: "2026-09-02T00:00:00Z".into()
        })
    );
    let mut bad_date = body.clone();
    bad_date["nextUpdate"] = json!("soon");
    assert_eq!(
        check(&pki.sign(&bad_date)),
        Err(MdsError::BadNextUpdate("soon".into()))
    );
    // Rollback: not newer than the last BLOB accepted.
    assert_eq!(
        verify_blob(jwt.as_bytes(), &roots, AT, Some(42)).map(|b| b.no),
        Err(MdsError::Rollback {
            no: 42,
            previous: 42
        })
    );
    // Entries: a malformed AAGUID, a duplicate.
    let mut bad = body.clone();
    bad["entries"][0]["aaguid"] = json!("not-a-uuid");
    assert!(matches!(
        check(&pki.sign(&bad)),
        Err(MdsError::Entry { index: 0, .. })
    ));
    let mut dup = body.clone();
    dup["entries"] = json!([body["entries"][0], body["entries"][0]]);
    assert!(matches!(
        check(&pki.sign(&dup)),
        Err(MdsError::Entry { index: 1, .. })
    ));
}

#[test]
fn blob_file_offline() {
    let pki = Pki::new(false, "MDS");
    let (mut key, root) = virtual_key(VIRTUAL_AAGUID);
    let jwt = pki.sign(&payload(vec![entry(
        &VIRTUAL_AAGUID,
        "Keybench Virtual Key",
        &root,
        &[],
    )]));
    let dir = std::env::temp_dir().join(format!("keybench-rp-mds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("blob.jwt");
    std::fs::write(&path, format!("{jwt}\n")).unwrap();
    let blob = load_blob_file(&path, &pki.trust(), AT, None).unwrap();
    let mut store = TrustStore::new();
    blob.apply_to(&mut store);
    assert!(register(&mut key, store).is_trusted());
    assert!(matches!(
        load_blob_file(&dir.join("missing.jwt"), &pki.trust(), AT, None),
        Err(MdsError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn uploaded_statements_are_marked_not_mds_trusted() {
    let (mut key, root) = virtual_key(VIRTUAL_AAGUID);
    // A bare statement, an entry, a BLOB-shaped document: all accepted.
    let e = entry(&VIRTUAL_AAGUID, "my prototype key", &root, &[]);
    for doc in [
        e["metadataStatement"].clone(),
        e.clone(),
        json!({ "entries": [e.clone()] }),
        json!([e.clone()]),
    ] {
        let statements = parse_uploaded(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(statements.len(), 1);
        let mut store = TrustStore::new();
        let report = apply_uploaded(&statements, &mut store);
        assert_eq!(report.anchors_added, 1);
        assert_eq!(
            register(&mut key, store),
            TrustOutcome::Trusted {
                anchor: "C=US, O=Keybench, OU=Virtual Authenticator Root, CN=Keybench Virtual Key Root CA".into(),
                source: AnchorSource::Uploaded {
                    description: "my prototype key (uploaded, not MDS-trusted)".into()
                },
            }
        );
    }
    // Without an upload the same registration is not trusted.
    assert!(matches!(
        register(&mut key, TrustStore::new()),
        TrustOutcome::NotTrusted { .. }
    ));
    // Refusals.
    let mut no_aaguid = e["metadataStatement"].clone();
    no_aaguid.as_object_mut().unwrap().remove("aaguid");
    assert!(
        matches!(parse_uploaded(&serde_json::to_vec(&no_aaguid).unwrap()), Err(MdsError::Uploaded(m)) if m.contains("no aaguid"))
    );
    let mut no_roots = e["metadataStatement"].clone();
    no_roots["attestationRootCertificates"] = json!([]);
    assert!(
        matches!(parse_uploaded(&serde_json::to_vec(&no_roots).unwrap()), Err(MdsError::Uploaded(m)) if m.contains("attestationRootCertificates"))
    );
    assert!(
        matches!(parse_uploaded(b"[1, 2"), Err(MdsError::Uploaded(m)) if m.starts_with("not JSON"))
    );
    assert!(matches!(
        parse_uploaded(&vec![b' '; mds::MAX_UPLOAD_LEN + 1]),
        Err(MdsError::TooLong { .. })
    ));
    // A statement whose certificate is garbage: reported, nothing added.
    let mut garbage = e["metadataStatement"].clone();
    garbage["attestationRootCertificates"] = json!(["bm90IGEgY2VydA=="]);
    let mut store = TrustStore::new();
    let report = apply_uploaded(
        &parse_uploaded(&serde_json::to_vec(&garbage).unwrap()).unwrap(),
        &mut store,
    );
    assert_eq!(report.anchors_added, 0);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
}

#[test]
fn bundled_fido_root_is_globalsign_r3() {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, mds::FIDO_MDS_ROOT_DER);
    assert_eq!(
        hex::encode(digest.as_ref()),
        "cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b"
    );
    let roots = fido_mds_root();
    assert_eq!(roots.anchors().len(), 1);
    assert_eq!(
        roots.anchors()[0].subject,
        "OU=GlobalSign Root CA - R3, O=GlobalSign, CN=GlobalSign"
    );
}

/// python-fido2's tests/test_mds3.py (vendored verbatim): the FIDO MDS3
/// specification's example BLOB and root. python-fido2 re-encoded its ES256
/// signature as DER ("Signature changed to be properly ASN.1 formatted!"),
/// which JOSE does not allow: refused as such. Converted back to r||s, the
/// path and signature verify up to the example root, and then the BLOB is
/// refused as stale: the example can never be current (its certificates
/// start 2021-04-19, its nextUpdate is 2020-03-30; python-fido2's
/// parse_blob does not look at nextUpdate).
#[test]
fn python_fido2_example_blob() {
    let src = include_str!("data/python-fido2/test_mds3.py");
    let between = |start: &str| {
        let from = src.find(start).unwrap() + start.len();
        let to = from + src[from..].find("\"\"\"").unwrap();
        src[from..to].split_whitespace().collect::<String>()
    };
    let ca = STANDARD
        .decode(between("EXAMPLE_CA = b64decode(\n    \"\"\""))
        .unwrap();
    let blob = between("EXAMPLE_BLOB = \"\"\"");
    let mut anchors = TrustAnchors::new();
    anchors.add(TrustAnchor::from_der(&ca, AnchorSource::Configured).unwrap());
    // The example's own signer name, read from its x5c leaf.
    let header: Json = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(blob.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let leaf = relying_party::x509::Certificate::from_der(
        &STANDARD.decode(header["x5c"][0].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let signer = leaf.dns_names().unwrap();
    println!(
        "python-fido2 example signer: {signer:?}, CRL points {:?}",
        leaf.crl_distribution_points().unwrap()
    );
    let roots = BlobTrust::pinned(anchors, signer[0].clone());
    let at = UnixTime(1_619_827_200); // 2021-05-01, inside the certificates' validity
    assert_eq!(
        verify_blob(blob.as_bytes(), &roots, at, None).unwrap_err(),
        MdsError::SignatureEncoding {
            alg: "ES256".into(),
            len: 72
        }
    );
    let parts: Vec<&str> = blob.split('.').collect();
    let raw = der_to_raw(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap());
    let jose = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&raw));
    assert_eq!(
        verify_blob(jose.as_bytes(), &roots, at, None).unwrap_err(),
        MdsError::Stale {
            next_update: "2020-03-30".into(),
            at: "2021-05-01T00:00:00Z".into()
        }
    );
    // One changed signature byte: the signature check (before staleness) fails.
    let mut bad = raw.clone();
    bad[5] ^= 1;
    let forged = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&bad));
    assert_eq!(
        verify_blob(forged.as_bytes(), &roots, at, None).unwrap_err(),
        MdsError::BadSignature
    );
    // Before the certificates' validity the path itself fails.
    assert!(matches!(
        verify_blob(jose.as_bytes(), &roots, UnixTime(1_585_267_200), None),
        Err(MdsError::Chain(ChainError::NotValidAt { .. }))
    ));
}

/// ECDSA-Sig-Value DER to JOSE r||s (P-256), for the example above.
fn der_to_raw(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    let mut i = 2;
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = &int[int.len().saturating_sub(32)..];
        out.extend(std::iter::repeat_n(0, 32 - int.len()));
        out.extend_from_slice(int);
        i += 2 + len;
    }
    out
}

/// The BLOB's signer is pinned: a certificate for another name, even under
/// the right root, cannot sign a BLOB, and neither can one issued by a CA
/// of another organization than the pinned one. (Before the pin, any
/// certificate under the root could.)
#[test]
fn only_the_pinned_signer_may_sign_a_blob() {
    let (_, root) = virtual_key(VIRTUAL_AAGUID);
    let body = payload(vec![entry(
        &VIRTUAL_AAGUID,
        "Keybench Virtual Key",
        &root,
        &[],
    )]);
    let impostor = Pki::build(false, "MDS", "evil.example", false);
    let jwt = impostor.sign(&body);
    assert_eq!(
        verify_blob(jwt.as_bytes(), &impostor.trust(), AT, None).map(|b| b.no),
        Err(MdsError::SignerNotPinned {
            expected: "mds.example".into(),
            found: vec!["evil.example".into()],
        })
    );
    // Names compare without regard to case.
    let trust = BlobTrust::pinned(impostor.roots(), "EVIL.example");
    assert_eq!(
        verify_blob(jwt.as_bytes(), &trust, AT, None).map(|b| b.no),
        Ok(42)
    );
    // The issuing CA's organization.
    let mut trust = BlobTrust::pinned(impostor.roots(), "evil.example");
    trust.intermediate_organization = Some(mds::FIDO_MDS_INTERMEDIATE_ORGANIZATION.into());
    assert_eq!(
        verify_blob(jwt.as_bytes(), &trust, AT, None).map(|b| b.no),
        Err(MdsError::IssuerNotPinned {
            expected: "GlobalSign nv-sa".into(),
            found: "CN=MDS Intermediate, O=Keybench MDS test".into(),
        })
    );
    trust.intermediate_organization = Some("Keybench MDS test".into());
    assert_eq!(
        verify_blob(jwt.as_bytes(), &trust, AT, None).map(|b| b.no),
        Ok(42)
    );
    // The FIDO pin: its signer's name and issuer.
    let fido = BlobTrust::fido(Vec::new());
    assert_eq!(fido.signer_name, "mds.fidoalliance.org");
    assert_eq!(
        fido.intermediate_organization.as_deref(),
        Some("GlobalSign nv-sa")
    );
}

/// The signing path's CRLs: a revoked signer is refused with the CRL's
/// reason, a CRL that was not supplied is reported (not passed), and a CRL
/// that is out of date, not yet valid or not signed by the issuer cannot
/// vouch.
#[test]
fn the_signing_paths_crls_are_checked() {
    let (_, root) = virtual_key(VIRTUAL_AAGUID);
    let body = payload(vec![entry(
        &VIRTUAL_AAGUID,
        "Keybench Virtual Key",
        &root,
        &[],
    )]);
    let pki = Pki::build(false, "MDS", "mds.example", true);
    let jwt = pki.sign(&body);
    let verify = |crls: Vec<Crl>| {
        verify_blob(jwt.as_bytes(), &pki.trust().with_crls(crls), AT, None).map(|b| b.no)
    };
    let current = ((2026, 7, 1), (2026, 9, 1));
    let root_crl = pki.crl(false, &[], current.0, current.1);
    let int_crl = pki.crl(true, &[], current.0, current.1);
    assert_eq!(verify(vec![root_crl.clone(), int_crl.clone()]), Ok(42));
    // Nothing supplied: reported, with where the CRL lives.
    assert_eq!(
        verify(Vec::new()),
        Err(MdsError::Revocation(RevocationError::Unavailable {
            subject: "CN=mds.example, O=Keybench MDS test".into(),
            points: vec!["http://crl.example/intermediate.crl".into()],
        }))
    );
    assert!(matches!(
        verify(vec![int_crl.clone()]),
        Err(MdsError::Revocation(RevocationError::Unavailable { subject, .. }))
            if subject == "CN=MDS Intermediate, O=Keybench MDS test"
    ));
    // The signer revoked by the intermediate.
    let revoking = pki.crl(true, &[&LEAF_SERIAL], current.0, current.1);
    assert_eq!(
        verify(vec![root_crl.clone(), revoking]),
        Err(MdsError::Revocation(RevocationError::Revoked {
            subject: "CN=mds.example, O=Keybench MDS test".into(),
            serial: "012345".into(),
            reason: "keyCompromise",
        }))
    );
    // Another serial revoked: the signer is fine.
    let other = pki.crl(true, &[&[0x09, 0x99]], current.0, current.1);
    assert_eq!(verify(vec![root_crl.clone(), other]), Ok(42));
    // Out of date, and not yet valid.
    let old = pki.crl(true, &[], (2026, 5, 1), (2026, 6, 1));
    assert!(matches!(
        verify(vec![root_crl.clone(), old]),
        Err(MdsError::Revocation(RevocationError::Expired { .. }))
    ));
    let future = pki.crl(true, &[], (2026, 8, 2), (2026, 9, 1));
    assert!(matches!(
        verify(vec![root_crl.clone(), future]),
        Err(MdsError::Revocation(RevocationError::NotYetValid { .. }))
    ));
    // A CRL naming the intermediate but signed by another key.
    let forger = Pki::build(false, "MDS", "mds.example", true);
    let forged = forger.crl(true, &[], current.0, current.1);
    assert!(matches!(
        verify(vec![root_crl.clone(), forged.clone()]),
        Err(MdsError::Revocation(RevocationError::BadSignature { .. }))
    ));
    // A forged CRL beside the issuer's own does not hide it.
    let revoking = pki.crl(true, &[&LEAF_SERIAL], current.0, current.1);
    assert!(matches!(
        verify(vec![root_crl.clone(), forged, revoking]),
        Err(MdsError::Revocation(RevocationError::Revoked { .. }))
    ));
    // The newest of the issuer's CRLs decides: an older one, still current,
    // that does not list the revocation yet cannot hide it.
    let older = pki.crl(true, &[], (2026, 6, 1), (2026, 9, 1));
    let newer = pki.crl(true, &[&LEAF_SERIAL], (2026, 7, 15), (2026, 9, 1));
    for crls in [
        vec![root_crl.clone(), older.clone(), newer.clone()],
        vec![root_crl.clone(), newer, older],
    ] {
        assert!(matches!(
            verify(crls),
            Err(MdsError::Revocation(RevocationError::Revoked { .. }))
        ));
    }
    // Not a CRL at all.
    assert!(matches!(
        Crl::from_der(b"not a CRL"),
        Err(RevocationError::Parse(_))
    ));
}

/// A store over a shared base: the base's anchors and denials apply, what
/// is added stays in the store over it (the base is not copied, and not
/// changed), and uploaded statements kept as `ModelTrust` (parsed once)
/// apply like the statements they came from.
#[test]
fn a_store_over_a_shared_base_adds_without_copying_or_changing_it() {
    use std::sync::Arc;
    let (mut good_key, good_root) = virtual_key(VIRTUAL_AAGUID);
    let (mut revoked_key, revoked_root) = virtual_key(REVOKED_AAGUID);
    let other_aaguid = *b"kbvirt-other-v01";
    let (mut other_key, other_root) = virtual_key(other_aaguid);
    let mut base = TrustStore::new();
    base.add_global(TrustAnchor::from_der(&good_root, AnchorSource::Configured).unwrap());
    base.deny_aaguid(REVOKED_AAGUID, "denied by the operator");
    let base = Arc::new(base);

    let upload = serde_json::to_vec(&json!([
        entry(&REVOKED_AAGUID, "my revoked prototype", &revoked_root, &[]),
        entry(&other_aaguid, "my other prototype", &other_root, &[]),
    ]))
    .unwrap();
    let entries = parse_uploaded(&upload).unwrap();
    let models: Vec<mds::ModelTrust> = entries.iter().filter_map(mds::ModelTrust::of).collect();
    assert_eq!(models.len(), 2);
    // The kept form survives storage as JSON, and applies as the statements do.
    let kept: Vec<mds::ModelTrust> =
        serde_json::from_slice(&serde_json::to_vec(&models).unwrap()).unwrap();
    assert_eq!(kept, models);
    let mut over = TrustStore::over(Arc::clone(&base));
    let report = mds::apply_uploaded_models(&kept, &mut over);
    let mut plain = TrustStore::over(Arc::clone(&base));
    assert_eq!(report, apply_uploaded(&entries, &mut plain));
    assert_eq!(report.anchors_added, 2);
    let over = Arc::new(over);

    // The base's global anchor applies through the store over it.
    assert!(matches!(
        register(&mut good_key, Arc::clone(&over)),
        TrustOutcome::Trusted {
            source: AnchorSource::Configured,
            ..
        }
    ));
    // The base's denial stays, whatever was uploaded on top.
    assert_eq!(
        register(&mut revoked_key, Arc::clone(&over)),
        TrustOutcome::NotTrusted {
            reason: "denied by the operator".into()
        }
    );
    // The upload vouches in the store over the base...
    assert_eq!(
        register(&mut other_key, Arc::clone(&over)),
        TrustOutcome::Trusted {
            anchor:
                "C=US, O=Keybench, OU=Virtual Authenticator Root, CN=Keybench Virtual Key Root CA"
                    .into(),
            source: AnchorSource::Uploaded {
                description: "my other prototype (uploaded, not MDS-trusted)".into()
            },
        }
    );
    // ...and not in the base, which it did not change.
    assert!(matches!(
        register(&mut other_key, Arc::clone(&base)),
        TrustOutcome::NotTrusted { .. }
    ));
}

/// The data directory's metadata cache: a BLOB is written only after it
/// verified (with the CRLs that made it verify, kept beside it), only when
/// newer than a valid cached one; an invalid file or an older one leaves
/// the cache as it was; a stale cache gives way to any valid BLOB.
#[test]
fn the_metadata_cache_keeps_only_verified_newer_blobs() {
    let (_, root) = virtual_key(VIRTUAL_AAGUID);
    let pki = Pki::build(false, "MDS", "mds.example", true);
    let blob_no = |no: u64, next_update: &str| {
        let mut body = payload(vec![entry(
            &VIRTUAL_AAGUID,
            "Keybench Virtual Key",
            &root,
            &["FIDO_CERTIFIED_L1"],
        )]);
        body["no"] = json!(no);
        body["nextUpdate"] = json!(next_update);
        pki.sign(&body)
    };
    let current = ((2026, 7, 1), (2026, 9, 1));
    let crls = vec![
        pki.crl(false, &[], current.0, current.1).der().to_vec(),
        pki.crl(true, &[], current.0, current.1).der().to_vec(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let cache = mds::MetadataCache::in_data_dir(dir.path());
    assert!(cache.load(&pki.trust(), AT).unwrap().is_none());

    let blob42 = blob_no(42, NEXT_UPDATE);
    assert_eq!(
        mds::signing_path_crl_points(blob42.as_bytes()).unwrap(),
        [
            "http://crl.example/intermediate.crl",
            "http://crl.example/root.crl"
        ]
    );
    // Without the CRLs it does not verify, and nothing is written.
    assert!(matches!(
        cache.install(blob42.as_bytes(), &[], &pki.trust(), AT),
        Err(MdsError::Revocation(RevocationError::Unavailable { .. }))
    ));
    assert!(cache.blob_bytes().unwrap().is_none());
    let installed = cache
        .install(blob42.as_bytes(), &crls, &pki.trust(), AT)
        .unwrap();
    assert!(matches!(installed, mds::Installed::Replaced(ref b) if b.no == 42));
    // The cached CRLs verify it from then on, with none brought.
    assert_eq!(cache.load(&pki.trust(), AT).unwrap().unwrap().no, 42);
    assert!(matches!(
        cache.install(blob42.as_bytes(), &[], &pki.trust(), AT),
        Ok(mds::Installed::Unchanged(_))
    ));

    // An older BLOB, a BLOB of another signer, bytes that are no BLOB:
    // each refused, the cache unchanged.
    let before = cache.blob_bytes().unwrap();
    assert!(matches!(
        cache.install(blob_no(41, NEXT_UPDATE).as_bytes(), &[], &pki.trust(), AT),
        Err(MdsError::Rollback {
            no: 41,
            previous: 42
        })
    ));
    let stranger = Pki::new(false, "Stranger");
    let mut body = payload(vec![]);
    body["no"] = json!(99);
    assert!(matches!(
        cache.install(stranger.sign(&body).as_bytes(), &[], &pki.trust(), AT),
        Err(MdsError::Chain(_))
    ));
    assert!(matches!(
        cache.install(b"not.a.blob", &[], &pki.trust(), AT),
        Err(MdsError::Base64 { .. } | MdsError::HeaderJson(_))
    ));
    assert_eq!(cache.blob_bytes().unwrap(), before);

    // A newer one replaces it.
    let blob43 = blob_no(43, NEXT_UPDATE);
    assert!(matches!(
        cache.install(blob43.as_bytes(), &[], &pki.trust(), AT),
        Ok(mds::Installed::Replaced(ref b)) if b.no == 43
    ));
    // Past nextUpdate the cache is stale: loading says so, and a valid
    // BLOB replaces it whatever its number.
    let later = UnixTime(AT.0 + 40 * 86_400);
    let later_crls = [
        pki.crl(false, &[], (2026, 8, 1), (2026, 12, 1)),
        pki.crl(true, &[], (2026, 8, 1), (2026, 12, 1)),
    ];
    assert!(matches!(
        cache.load(&pki.trust().with_crls(later_crls.to_vec()), later),
        Err(MdsError::Stale { .. })
    ));
    let crls_later: Vec<Vec<u8>> = later_crls.iter().map(|c| c.der().to_vec()).collect();
    assert!(matches!(
        cache.install(blob_no(7, "2026-11-01").as_bytes(), &crls_later, &pki.trust(), later),
        Ok(mds::Installed::Replaced(ref b)) if b.no == 7
    ));
    // No temporary file left behind.
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A model's card: the highest certification recorded, or, once a report
/// says revoked or compromised, untrusted with the reason; icons only as
/// data: URLs.
#[test]
fn model_info_gives_certification_and_untrusted_reasons() {
    let (_, root) = virtual_key(VIRTUAL_AAGUID);
    let mut good = entry(
        &VIRTUAL_AAGUID,
        "Keybench Virtual Key",
        &root,
        &["FIDO_CERTIFIED_L1", "FIDO_CERTIFIED", "FIDO_CERTIFIED_L2"],
    );
    good["metadataStatement"]["icon"] = json!("data:image/png;base64,iVBORw0KGgo=");
    let mut revoked = entry(
        &REVOKED_AAGUID,
        "Revoked Key",
        &root,
        &["FIDO_CERTIFIED_L1", "REVOKED"],
    );
    revoked["metadataStatement"]["icon"] = json!("https://tracker.example/icon.png");
    let pki = Pki::new(false, "MDS");
    let blob = verify_blob(
        pki.sign(&payload(vec![good, revoked])).as_bytes(),
        &pki.trust(),
        AT,
        None,
    )
    .unwrap();
    let card = mds::ModelInfo::of(blob.entry(&VIRTUAL_AAGUID).unwrap());
    assert_eq!(
        card.verdict,
        mds::ModelVerdict::Certified {
            level: "FIDO_CERTIFIED_L2".into()
        }
    );
    assert_eq!(
        card.icon.as_deref(),
        Some("data:image/png;base64,iVBORw0KGgo=")
    );
    assert_eq!(card.aaguid, uuid(&VIRTUAL_AAGUID));
    let card = mds::ModelInfo::of(blob.entry(&REVOKED_AAGUID).unwrap());
    assert!(
        matches!(&card.verdict, mds::ModelVerdict::Untrusted { reason }
            if reason.contains("REVOKED") && reason.contains("Revoked Key")),
        "{:?}",
        card.verdict
    );
    assert_eq!(card.icon, None, "a remote icon URL is never passed on");
    let json = serde_json::to_value(&card).unwrap();
    assert_eq!(json["verdict"]["kind"], "untrusted");
    assert_eq!(json["statusReports"][1]["status"], "REVOKED");
}

/// The real format: a BLOB the FIDO Alliance published (no 20, October
/// 2022; source in tests/data/README.md) is read entry by entry, and its
/// signing path verifies to the bundled GlobalSign root with the pinned
/// signer and an RS256 signature that checks, up to the one thing this
/// copy cannot bring: the CRLs GlobalSign published then, which are named.
#[test]
fn a_real_mds3_blob_reads_and_its_signing_path_verifies_to_the_fido_root() {
    use std::io::Read as _;
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fido-mds3-blob-no20-2022-10.jwt.gz"
    ))
    .unwrap();
    let mut jwt = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut jwt)
        .unwrap();
    let payload = mds::read_unverified(&jwt).unwrap();
    assert_eq!(
        (payload.no, payload.next_update.as_str()),
        (20, "2022-11-01")
    );
    assert_eq!(payload.entries.len(), 126);
    let yubikey = payload
        .entries
        .iter()
        .find(|e| e.aaguid == mds::parse_aaguid("cb69481e-8ff7-4039-93ec-0a2729a154a8"))
        .unwrap();
    let card = mds::ModelInfo::of(yubikey);
    assert_eq!(card.description, "YubiKey 5 Series");
    assert_eq!(
        card.verdict,
        mds::ModelVerdict::Certified {
            level: "FIDO_CERTIFIED_L1".into()
        }
    );
    assert!(!yubikey.attestation_root_certificates().is_empty());

    let points = mds::signing_path_crl_points(&jwt).unwrap();
    assert!(
        points
            .iter()
            .all(|p| p.starts_with("http://crl.globalsign.com/")),
        "{points:?}"
    );
    // 2022-10-25: inside the BLOB's and its certificates' validity.
    let then = UnixTime(1_666_656_000);
    match verify_blob(&jwt, &BlobTrust::fido(Vec::new()), then, None) {
        Err(MdsError::Revocation(RevocationError::Unavailable { subject, points })) => {
            assert!(subject.contains("mds.fidoalliance.org"), "{subject}");
            assert!(
                points
                    .iter()
                    .all(|p| p.starts_with("http://crl.globalsign.com/"))
            );
        }
        other => panic!("expected only the CRLs to be missing, got {other:?}"),
    }
    // Today it is long past nextUpdate, and a cache refuses it.
    let dir = tempfile::tempdir().unwrap();
    let cache = mds::MetadataCache::in_data_dir(dir.path());
    assert!(
        cache
            .install(&jwt, &[], &BlobTrust::fido(Vec::new()), UnixTime::now())
            .is_err()
    );
    assert!(cache.blob_bytes().unwrap().is_none());
}

/// Revocation on attestation paths (RFC 5280 §5): a path that reaches an
/// anchor is trusted only when none of its certificates is on its issuer's
/// CRL; a certificate naming a CRL the store lacks is reported as not
/// checked (not trusted, with where the CRL lives), never passed silently.
#[test]
fn attestation_paths_are_checked_against_their_crls() {
    use relying_party::attestation::{AttestationFormat, AttestationType, VerifiedStatement};
    use relying_party::x509::Certificate;
    // A root, an intermediate and a leaf naming their CRLs (the test PKI).
    let pki = Pki::build(false, "Attestation", "attestation.example", true);
    let statement = VerifiedStatement {
        format: AttestationFormat::Packed,
        attestation_type: AttestationType::Basic,
        trust_path: pki
            .chain
            .iter()
            .map(|der| Certificate::from_der(der).unwrap())
            .collect(),
    };
    let assess = |crls: Vec<Crl>| {
        let mut store = TrustStore::new();
        store.add_global(TrustAnchor::from_der(&pki.root_der, AnchorSource::Configured).unwrap());
        for crl in crls {
            store.add_crl(crl);
        }
        // Through a store over it too, as the server's sessions use.
        let over = TrustStore::over(std::sync::Arc::new(store));
        over.assess(&statement, &[0; 16], AT)
    };
    let current = ((2026, 7, 1), (2026, 9, 1));
    let root_crl = pki.crl(false, &[], current.0, current.1);
    let int_crl = pki.crl(true, &[], current.0, current.1);
    assert!(
        matches!(
            assess(vec![root_crl.clone(), int_crl]),
            TrustOutcome::Trusted { .. }
        ),
        "current CRLs that list nothing"
    );
    let revoking = pki.crl(true, &[&LEAF_SERIAL], current.0, current.1);
    match assess(vec![root_crl.clone(), revoking]) {
        TrustOutcome::NotTrusted { reason } => {
            assert!(
                reason.contains("revoked") && reason.contains("keyCompromise"),
                "{reason}"
            );
        }
        other => panic!("a revoked attestation certificate was {other:?}"),
    }
    match assess(Vec::new()) {
        TrustOutcome::NotTrusted { reason } => {
            assert!(
                reason.contains("not checked") && reason.contains("http://crl.example/"),
                "{reason}"
            );
        }
        other => panic!("an unchecked path was {other:?}"),
    }
}
