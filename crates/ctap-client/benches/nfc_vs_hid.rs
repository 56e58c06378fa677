//! Registrations and authentications per algorithm over NFC (PC/SC) next
//! to USB HID (CTAPHID), in one run: response sizes, messages on the wire
//! (64-byte reports or APDUs) and the median time of a ceremony on the
//! client (`webauthn::register` / `webauthn::authenticate`, the same code
//! for both transports).
//!
//! The HID key is the virtual key on loopback UDP (one datagram per
//! report); the NFC keys are the same virtual key as contactless cards on
//! vsmartcard's vpcd reader pair of a PC/SC service, one reader taking
//! extended APDUs and one limited to short APDUs. `scripts/bench-nfc` starts
//! a private pcscd and runs this with `PCSCLITE_CSOCK_NAME` (its socket) and
//! `KEYBENCH_VPCD_PORT` (its first reader's port) set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use ctap_client::recorder::EventKind;
use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{Device, Recorder, TrafficEvent};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::base64url::Base64UrlBytes;
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement,
    UserEntity as JsonUser, UserVerificationRequirement,
};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use virtual_authenticator::nfc::{AppletOptions, serve_vpcd};
use virtual_authenticator::{Authenticator, Config, SharedAuthenticator};

const ROUNDS: usize = 15;

fn creation(alg: CoseAlgorithm) -> CreationOptionsJson {
    CreationOptionsJson {
        rp: RelyingPartyEntity {
            id: Some("example.org".into()),
            name: "Example".into(),
        },
        user: JsonUser {
            id: Base64UrlBytes(b"user-alice".to_vec()),
            name: "alice".into(),
            display_name: "Alice".into(),
        },
        challenge: Base64UrlBytes(vec![7; 32]),
        pub_key_cred_params: vec![CredentialParameters::public_key(alg)],
        timeout: Some(30_000),
        exclude_credentials: vec![],
        authenticator_selection: Some(AuthenticatorSelection {
            resident_key: Some(ResidentKeyRequirement::Discouraged),
            user_verification: Some(UserVerificationRequirement::Discouraged),
            ..AuthenticatorSelection::default()
        }),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: None,
    }
}

fn request(id: Vec<u8>) -> RequestOptionsJson {
    RequestOptionsJson {
        challenge: Base64UrlBytes(vec![9; 32]),
        timeout: Some(30_000),
        rp_id: Some("example.org".into()),
        allow_credentials: vec![CredentialDescriptor {
            kind: CredentialType::PublicKey,
            id: Base64UrlBytes(id),
            transports: None,
        }],
        user_verification: Some(UserVerificationRequirement::Discouraged),
        hints: vec![],
        extensions: None,
    }
}

/// What one ceremony moved.
#[derive(Default)]
struct Wire {
    response_bytes: usize,
    messages: usize,
    bytes: usize,
}

fn wire(events: &Receiver<TrafficEvent>) -> Wire {
    let mut w = Wire::default();
    for e in events.try_iter() {
        match e.kind {
            EventKind::Frame { .. } => {
                w.messages += 1;
                w.bytes += 64;
            }
            EventKind::Apdu { length, .. } => {
                w.messages += 1;
                w.bytes += length;
            }
            EventKind::Response {
                length, command, ..
            } if command != "authenticatorGetInfo" => {
                w.response_bytes = length;
            }
            _ => {}
        }
    }
    w
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Row {
    transport: &'static str,
    alg: &'static str,
    reg: Wire,
    auth: Wire,
    reg_time: Duration,
    auth_time: Duration,
}

fn measure(
    transport: &'static str,
    alg: CoseAlgorithm,
    name: &'static str,
    open: &dyn Fn(Recorder) -> Device,
) -> Row {
    let recorder = Recorder::new(1 << 16);
    let events = recorder.subscribe();
    let mut device = open(recorder);
    let _ = wire(&events);
    let options = creation(alg);
    let mut ctx = ClientContext::new("https://example.org");
    let registered = webauthn::register(&mut device, &options, &mut ctx).unwrap();
    let reg = wire(&events);
    let req = request(registered.raw_id.0.clone());
    webauthn::authenticate(&mut device, &req, &mut ctx).unwrap();
    let auth = wire(&events);
    let mut reg_times = Vec::new();
    let mut auth_times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = webauthn::register(&mut device, &options, &mut ctx).unwrap();
        reg_times.push(t.elapsed());
        let req = request(r.raw_id.0.clone());
        let t = Instant::now();
        webauthn::authenticate(&mut device, &req, &mut ctx).unwrap();
        auth_times.push(t.elapsed());
        let _ = wire(&events);
    }
    Row {
        transport,
        alg: name,
        reg,
        auth,
        reg_time: median(reg_times),
        auth_time: median(auth_times),
    }
}

fn main() {
    let (Ok(port), Ok(_socket)) = (
        std::env::var("KEYBENCH_VPCD_PORT"),
        std::env::var("PCSCLITE_CSOCK_NAME"),
    ) else {
        eprintln!("run through scripts/bench-nfc (it starts a private pcscd with vpcd readers)");
        std::process::exit(2);
    };
    let port: u16 = port.parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    // HID: the virtual key on loopback UDP.
    let udp = ctaphid::UdpReports::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let key = Authenticator::new(Config::default()).unwrap();
    let s = stop.clone();
    std::thread::spawn(move || {
        ctaphid::serve::serve(
            udp,
            ctaphid::DeviceIdentity {
                version: (0, 1, 0),
                capabilities: 0x0d,
            },
            key,
            s,
        )
    });
    // NFC: two cards, on an extended-APDU reader and a short-APDU reader.
    for (slot, short_only) in [(0u16, false), (1, true)] {
        let key = SharedAuthenticator::new(Authenticator::new(Config::default()).unwrap());
        let s = stop.clone();
        let options = AppletOptions {
            short_only,
            ..AppletOptions::default()
        };
        std::thread::spawn(move || {
            serve_vpcd(([127, 0, 0, 1], port + slot).into(), key, options, s)
        });
    }
    let readers = wait_for_cards();

    let algs = [
        (CoseAlgorithm::ES256, "ES256"),
        (CoseAlgorithm::EDDSA, "EdDSA"),
        (CoseAlgorithm::ML_DSA_44, "ML-DSA-44"),
        (CoseAlgorithm::ML_DSA_65, "ML-DSA-65"),
        (CoseAlgorithm::ML_DSA_87, "ML-DSA-87"),
    ];
    let mut rows = Vec::new();
    for (alg, name) in algs {
        rows.push(measure("USB HID (UDP)", alg, name, &|r| {
            Device::open(ctaphid::UdpReports::connect(udp_addr).unwrap(), r).unwrap()
        }));
        for (reader, label) in [
            (&readers.0, "NFC extended APDUs"),
            (&readers.1, "NFC short APDUs"),
        ] {
            rows.push(measure(label, alg, name, &|r| {
                let card = ctap_client::pcsc::PcscCard::connect(reader).unwrap();
                let link = ctap_client::nfc::NfcLink::select(card, r.clone()).unwrap();
                Device::open_link(Box::new(link), r).unwrap()
            }));
        }
    }
    println!(
        "| Algorithm | Transport | makeCredential response | messages (bytes on the wire) | getAssertion response | messages (bytes) | register, median | authenticate, median | register / HID |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let hid = rows
            .iter()
            .find(|r| r.alg == row.alg && r.transport.starts_with("USB"))
            .unwrap();
        println!(
            "| {} | {} | {} B | {} ({} B) | {} B | {} ({} B) | {:.2} ms | {:.2} ms | {:.2} |",
            row.alg,
            row.transport,
            row.reg.response_bytes,
            row.reg.messages,
            row.reg.bytes,
            row.auth.response_bytes,
            row.auth.messages,
            row.auth.bytes,
            row.reg_time.as_secs_f64() * 1e3,
            row.auth_time.as_secs_f64() * 1e3,
            row.reg_time.as_secs_f64() / hid.reg_time.as_secs_f64(),
        );
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// The full names of the two readers once pcscd sees both cards (at most 20 s).
fn wait_for_cards() -> (String, String) {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let readers = ctap_client::pcsc::list_readers().unwrap_or_default();
        let fido: Vec<String> = readers
            .iter()
            .filter(|r| r.fido.is_some())
            .map(|r| r.reader.clone())
            .collect();
        if let [a, b] = fido.as_slice() {
            return (a.clone(), b.clone());
        }
        assert!(
            Instant::now() < end,
            "the cards did not appear: {readers:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
