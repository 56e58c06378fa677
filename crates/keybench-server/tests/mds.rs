//! FIDO metadata in the server: `ServerConfig::mds` (`keybench serve --mds`)
//! installs a BLOB into the data directory's cache, which every later start
//! loads; a registration's verdict goes from "not trusted" (no anchor) to
//! "trusted" by an MDS anchor once it is loaded, and to "not trusted" with
//! the REVOKED reason when the model's status says so; `GET /api/mds` and
//! `GET /api/mds/{aaguid}` show what is in force and each credential carries
//! its model card. BLOBs come from a test PKI (the one relying-party's
//! metadata tests use).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

#[path = "../../relying-party/tests/common/mds_pki.rs"]
mod mds_pki;

use base64::Engine as _;
use keybench_server::metadata::MdsSettings;
use mds_pki::Pki;
use serde_json::{Value, json};
use support::{browser, server, server_configured};
use virtual_authenticator::{AttestationMode, Authenticator, Config};

const AAGUID: [u8; 16] = *b"kbvirt-mds-0001a";

fn blob(pki: &Pki, root: &[u8], statuses: &[&str]) -> String {
    let uuid = relying_party::decoder::uuid_string(&AAGUID);
    pki.sign(&json!({
        "legalHeader": "Keybench test BLOB, not from the FIDO Alliance",
        "no": 42,
        // Inside the test PKI's validity (to 2030), after today.
        "nextUpdate": "2029-12-01",
        "entries": [{
            "aaguid": uuid,
            "metadataStatement": {
                "description": "Keybench Test Key",
                "aaguid": uuid,
                "protocolFamily": "fido2",
                "schema": 3,
                "attestationTypes": ["basic_full"],
                "attestationRootCertificates": [
                    base64::engine::general_purpose::STANDARD.encode(root)
                ],
            },
            "statusReports": statuses.iter().map(|s| json!({
                "status": s, "effectiveDate": "2026-01-01"
            })).collect::<Vec<_>>(),
        }],
    }))
}

fn register(srv: &support::Server, device: &mut support::Key, user: &str) -> Value {
    let (s, v, _) = srv.register(&browser(), device, user);
    assert_eq!(s, 200, "{v}");
    v["credential"].clone()
}

fn key() -> Authenticator {
    Authenticator::new(Config {
        aaguid: AAGUID,
        attestation: AttestationMode::PackedBasic,
        ..Config::default()
    })
    .unwrap()
}

#[test]
fn a_blob_given_at_start_up_makes_verdicts_and_shows_model_cards() {
    let pki = Pki::new(false, "MDS");
    let authenticator = key();
    let root = authenticator.attestation_root().unwrap().to_vec();
    let uuid = relying_party::decoder::uuid_string(&AAGUID);
    let (mut device, _stop) = support::virtual_key_with(authenticator);

    // Before: no metadata, no anchor for the key's attestation.
    let srv = server(None);
    let (s, status) = srv.get(&browser(), "/api/mds");
    assert_eq!((s, status["state"].as_str()), (200, Some("none")));
    let before = register(&srv, &mut device, "ann");
    assert_eq!(before["attestation"]["trust"], "not trusted", "{before}");
    assert_eq!(before["model"], Value::Null);
    println!("without metadata: {}", before["attestation"]);

    // After: the BLOB given at start-up is verified, cached and in force.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob.jwt");
    std::fs::write(&file, blob(&pki, &root, &["FIDO_CERTIFIED_L1"])).unwrap();
    let data = dir.path().join("data");
    let settings = MdsSettings {
        file: Some(file.clone()),
        crl_files: Vec::new(),
        trust: Some(pki.trust()),
        refresh_url: None,
    };
    let srv = {
        let (data, settings) = (data.clone(), settings.clone());
        support::server_at(data, move |c| c.mds = settings)
    };
    let (_, status) = srv.get(&browser(), "/api/mds");
    assert_eq!(status["state"], "loaded", "{status}");
    assert_eq!(
        (status["no"].as_u64(), status["entries"].as_u64()),
        (Some(42), Some(1))
    );
    let (s, card) = srv.get(&browser(), &format!("/api/mds/{uuid}"));
    assert_eq!(s, 200, "{card}");
    assert_eq!(card["description"], "Keybench Test Key");
    assert_eq!(
        card["verdict"],
        json!({"kind": "certified", "level": "FIDO_CERTIFIED_L1"})
    );
    let (s, v) = srv.get(&browser(), &format!("/api/mds/{}", "00".repeat(16)));
    assert_eq!((s, v["code"].as_str()), (404, Some("no_such_model")));
    let (s, v) = srv.get(&browser(), "/api/mds/not-an-aaguid");
    assert_eq!((s, v["code"].as_str()), (400, Some("bad_aaguid")));
    let after = register(&srv, &mut device, "bob");
    assert_eq!(after["attestation"]["trust"], "trusted", "{after}");
    assert!(
        after["attestation"]["anchor"]
            .as_str()
            .unwrap()
            .contains("(FIDO MDS: Keybench Test Key)"),
        "{after}"
    );
    assert_eq!(after["model"]["description"], "Keybench Test Key");
    println!("with metadata:    {}", after["attestation"]);
    drop(srv);

    // The cache outlives the process: a start without --mds loads it.
    let srv = {
        let trust = settings.trust.clone();
        support::server_at(data.clone(), move |c| {
            c.mds = MdsSettings {
                trust,
                ..MdsSettings::default()
            };
        })
    };
    let (_, status) = srv.get(&browser(), "/api/mds");
    assert_eq!(status["state"], "loaded", "{status}");
    drop(srv);

    // A model reported REVOKED: its attestation is refused with the reason.
    let revoked_file = dir.path().join("revoked.jwt");
    let revoked_blob = blob(&pki, &root, &["FIDO_CERTIFIED_L1", "REVOKED"]);
    std::fs::write(&revoked_file, revoked_blob).unwrap();
    let srv = server_configured({
        let trust = Some(pki.trust());
        move |c| {
            c.mds = MdsSettings {
                file: Some(revoked_file),
                crl_files: Vec::new(),
                trust,
                refresh_url: None,
            };
        }
    });
    let refused = register(&srv, &mut device, "carl");
    assert_eq!(refused["attestation"]["trust"], "not trusted", "{refused}");
    assert!(
        refused["attestation"]["reason"]
            .as_str()
            .unwrap()
            .contains("REVOKED"),
        "{refused}"
    );
    assert_eq!(
        refused["model"]["verdict"]["kind"], "untrusted",
        "{refused}"
    );
    println!("model REVOKED:    {}", refused["attestation"]);
}

/// A BLOB that does not verify (another signer) stops start-up with the
/// reason, and nothing is cached.
#[test]
fn a_blob_that_does_not_verify_stops_start_up() {
    let pki = Pki::new(false, "MDS");
    let stranger = Pki::new(false, "Stranger");
    let authenticator = key();
    let root = authenticator.attestation_root().unwrap().to_vec();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob.jwt");
    std::fs::write(&file, blob(&stranger, &root, &[])).unwrap();
    let mut config =
        keybench_server::ServerConfig::local(([127, 0, 0, 1], 0).into(), dir.path().join("data"));
    config.no_keyring = true;
    config.mds = MdsSettings {
        file: Some(file),
        crl_files: Vec::new(),
        trust: Some(pki.trust()),
        refresh_url: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Err(err) = runtime.block_on(keybench_server::start(config)) else {
        panic!("start-up accepted a BLOB of another signer");
    };
    assert!(err.to_string().contains("--mds"), "{err}");
    assert!(!dir.path().join("data/mds/blob.jwt").exists());
}

/// A BLOB installed into the cache while the server runs (as the desktop
/// and `keybench mds install` do) is put in force by a reload: the next
/// registration is trusted. A refresh URL that cannot be reached neither
/// delays start-up nor touches the valid cache.
#[test]
fn a_reload_puts_a_newly_installed_blob_in_force_and_a_failed_refresh_changes_nothing() {
    let pki = Pki::new(false, "MDS");
    let authenticator = key();
    let root = authenticator.attestation_root().unwrap().to_vec();
    let (mut device, _stop) = support::virtual_key_with(authenticator);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let srv = {
        let trust = Some(pki.trust());
        support::server_at(data.clone(), move |c| {
            c.mds = MdsSettings {
                trust,
                // Nothing listens on port 9: the download fails at once.
                refresh_url: Some("https://127.0.0.1:9/".into()),
                ..MdsSettings::default()
            };
        })
    };
    assert_eq!(
        register(&srv, &mut device, "ann")["attestation"]["trust"],
        "not trusted"
    );
    relying_party::mds::MetadataCache::in_data_dir(&data)
        .install(
            blob(&pki, &root, &["FIDO_CERTIFIED_L1"]).as_bytes(),
            &[],
            &pki.trust(),
            relying_party::x509::UnixTime::now(),
        )
        .unwrap();
    let status = srv.metadata.reload().unwrap();
    assert!(
        matches!(status, relying_party::mds::MdsStatus::Loaded { no: 42, .. }),
        "{status:?}"
    );
    assert_eq!(
        register(&srv, &mut device, "bob")["attestation"]["trust"],
        "trusted"
    );
    let (_, status) = srv.get(&browser(), "/api/mds");
    assert_eq!(status["state"], "loaded");
    drop(srv);

    // Restarted with the unreachable refresh: up at once, the cache kept.
    let srv = {
        let trust = Some(pki.trust());
        support::server_at(data.clone(), move |c| {
            c.mds = MdsSettings {
                trust,
                refresh_url: Some("https://127.0.0.1:9/".into()),
                ..MdsSettings::default()
            };
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (_, status) = srv.get(&browser(), "/api/mds");
    assert_eq!(
        (status["state"].as_str(), status["no"].as_u64()),
        (Some("loaded"), Some(42))
    );
    assert_eq!(
        register(&srv, &mut device, "carl")["attestation"]["trust"],
        "trusted"
    );
}
