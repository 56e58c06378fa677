//! No secret reaches the traffic recorder: every CTAP command that can carry
//! one is driven through the virtual key, the reports on the wire are tapped
//! below the recorder, every secret member found in them (by CTAP 2.1's
//! message layouts, written out here independently of the client's own
//! redaction) is looked for in every recorded event, in the live feed and in
//! the record file, in hex and base64. Two keys sharing one recorder do PIN
//! exchanges at once, and the record file is owner-only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{Device, Recorder};
use ctaphid::transport::PipeEnd;
use ctaphid::{
    Command, Packet, Progress, Reassembler, Report, ReportTransport, TransportError, pipe,
};
use fido_wire::cbor::{self, DecodeOptions, Value};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{MinPinLengthParams, Permissions, UserEntity};
use fido_wire::webauthn::AuthenticatorData;
use fido_wire::webauthn::base64url::Base64UrlBytes;
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement,
    UserEntity as JsonUser, UserVerificationRequirement,
};
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use virtual_authenticator::{Authenticator, Config, SharedAuthenticator};

const ORIGIN: &str = "https://example.org";

/// Every report, both ways, as it passed below the recorder.
type Wire = Arc<Mutex<Vec<(bool, Report)>>>;

/// A transport that keeps a copy of every report (true: host to key).
struct Tap {
    inner: PipeEnd,
    wire: Wire,
}

impl ReportTransport for Tap {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        self.wire.lock().unwrap().push((true, *report));
        self.inner.send(report)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        let r = self.inner.recv(timeout)?;
        if let Some(r) = &r {
            self.wire.lock().unwrap().push((false, *r));
        }
        Ok(r)
    }
}

struct Key {
    device: Device,
    wire: Wire,
    _stop: Arc<AtomicBool>,
}

fn key(recorder: &Recorder) -> Key {
    let (host, end) = pipe();
    let authenticator = SharedAuthenticator::new(Authenticator::new(Config::default()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    std::thread::spawn(move || ctaphid::serve::serve(end, identity, authenticator, s));
    let wire = Wire::default();
    let tap = Tap {
        inner: host,
        wire: wire.clone(),
    };
    Key {
        device: Device::open(tap, recorder.clone()).unwrap(),
        wire,
        _stop: stop,
    }
}

/// Every byte string inside `v`.
fn byte_strings(v: &Value, out: &mut Vec<Vec<u8>>) {
    match v {
        Value::Bytes(b) => out.push(b.clone()),
        Value::Array(items) => items.iter().for_each(|i| byte_strings(i, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| byte_strings(v, out)),
        Value::Tag(_, inner) => byte_strings(inner, out),
        _ => {}
    }
}

fn members(map: &Value, keys: &[i64], out: &mut Vec<Vec<u8>>) {
    for k in keys {
        if let Some(v) = map.get_int(*k) {
            byte_strings(v, out);
        }
    }
}

fn extension_secrets(extensions: Option<&Value>, out: &mut Vec<Vec<u8>>) {
    let Some(Value::Map(entries)) = extensions else {
        return;
    };
    for (k, v) in entries {
        if matches!(
            k.as_text(),
            Some("hmac-secret" | "hmac-secret-mc" | "credBlob" | "largeBlobKey")
        ) {
            byte_strings(v, out);
        }
    }
}

fn auth_data_secrets(response: &Value, out: &mut Vec<Vec<u8>>) {
    if let Some(bytes) = response.get_int(2).and_then(Value::as_bytes) {
        let ad = AuthenticatorData::parse(bytes).unwrap();
        extension_secrets(ad.extensions.as_ref(), out);
    }
}

/// The secret members of every CTAP2 exchange on the wire, per CTAP 2.1.
fn wire_secrets(wire: &Wire) -> Vec<Vec<u8>> {
    let reports = wire.lock().unwrap().clone();
    let (mut out_r, mut in_r) = (Reassembler::new(), Reassembler::new());
    let mut secrets = Vec::new();
    let mut last_cmd = 0u8;
    for (to_key, report) in &reports {
        let r = if *to_key { &mut out_r } else { &mut in_r };
        let Ok(Progress::Complete(msg)) = r.push(Packet::parse(report)) else {
            continue;
        };
        if msg.cmd != Command::CBOR {
            continue;
        }
        let Some((&first, rest)) = msg.payload.split_first() else {
            continue;
        };
        let body = (!rest.is_empty())
            .then(|| cbor::from_slice(rest, &DecodeOptions::CTAP_ANY_ORDER).unwrap());
        let Some(body) = body else {
            if *to_key {
                last_cmd = first;
            }
            continue;
        };
        if *to_key {
            last_cmd = first;
            match first {
                0x01 => {
                    members(&body, &[8], &mut secrets);
                    extension_secrets(body.get_int(6), &mut secrets);
                }
                0x02 => {
                    members(&body, &[6], &mut secrets);
                    extension_secrets(body.get_int(4), &mut secrets);
                }
                0x06 => members(&body, &[3, 4, 5, 6], &mut secrets),
                0x0a | 0x41 | 0x0d => members(&body, &[4], &mut secrets),
                _ => {}
            }
        } else {
            match last_cmd {
                0x01 => {
                    members(&body, &[5], &mut secrets);
                    auth_data_secrets(&body, &mut secrets);
                    extension_secrets(body.get_int(6), &mut secrets);
                }
                0x02 | 0x08 => {
                    members(&body, &[7], &mut secrets);
                    auth_data_secrets(&body, &mut secrets);
                    extension_secrets(body.get_int(8), &mut secrets);
                }
                0x06 => members(&body, &[1, 2], &mut secrets),
                0x0a | 0x41 => members(&body, &[11], &mut secrets),
                _ => {}
            }
        }
    }
    secrets
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails naming the first secret found in `text`: any 8-byte run of a secret
/// in hex (so a secret split across two frames is still caught), or the
/// whole secret in base64 or base64url.
fn assert_no_secret(text: &str, secrets: &[Vec<u8>], what: &str) {
    use base64::Engine as _;
    let lower = text.to_ascii_lowercase();
    let mut runs: HashSet<&str> = HashSet::new();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_hexdigit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                i += 1;
            }
            let run = &lower[start..i];
            for offset in (0..run.len().saturating_sub(15)).step_by(2) {
                runs.insert(&run[offset..offset + 16]);
            }
        } else {
            i += 1;
        }
    }
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        for window in secret.windows(8) {
            assert!(
                !runs.contains(hex(window).as_str()),
                "{what}: a secret of {} bytes appears in hex ({})",
                secret.len(),
                hex(secret)
            );
        }
        for form in [
            base64::engine::general_purpose::STANDARD.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        ] {
            assert!(
                !text.contains(&form),
                "{what}: a secret appears in base64 ({form})"
            );
        }
    }
}

fn creation(rk: bool, uv: UserVerificationRequirement, extensions: &str) -> CreationOptionsJson {
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
        pub_key_cred_params: vec![CredentialParameters::public_key(CoseAlgorithm::ES256)],
        timeout: Some(30_000),
        exclude_credentials: vec![],
        authenticator_selection: Some(AuthenticatorSelection {
            resident_key: Some(if rk {
                ResidentKeyRequirement::Required
            } else {
                ResidentKeyRequirement::Discouraged
            }),
            user_verification: Some(uv),
            ..AuthenticatorSelection::default()
        }),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: Some(serde_json::from_str(extensions).unwrap()),
    }
}

fn request(
    allow: &[Vec<u8>],
    uv: UserVerificationRequirement,
    extensions: &str,
) -> RequestOptionsJson {
    RequestOptionsJson {
        challenge: Base64UrlBytes(vec![9; 32]),
        timeout: Some(30_000),
        rp_id: Some("example.org".into()),
        allow_credentials: allow
            .iter()
            .map(|id| CredentialDescriptor {
                kind: CredentialType::PublicKey,
                id: Base64UrlBytes(id.clone()),
                transports: None,
            })
            .collect(),
        user_verification: Some(uv),
        hints: vec![],
        extensions: Some(serde_json::from_str(extensions).unwrap()),
    }
}

// No 8-byte run in common with public protocol text (getInfo lists
// "hmac-secret-mc", whose "-secret-" the frames show in hex).
const PIN: &str = "Zq93-hidden-pin";
const NEW_PIN: &str = "Wk58-other-pin";
/// credBlob as base64url (16 bytes: "credblob-secret!").
const CRED_BLOB: &str = "Y3JlZGJsb2Itc2VjcmV0IQ";

/// The plaintext secrets the test itself chose or was handed.
fn plain_secrets(extra: &[serde_json::Value]) -> Vec<Vec<u8>> {
    let mut out = vec![
        PIN.as_bytes().to_vec(),
        NEW_PIN.as_bytes().to_vec(),
        fido_wire::webauthn::base64url::decode(CRED_BLOB).unwrap(),
    ];
    for v in extra {
        collect_json_bytes(v, &mut out);
    }
    out
}

/// Every base64url string in client extension results (prf and hmac outputs).
fn collect_json_bytes(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match v {
        serde_json::Value::String(s) => {
            if let Ok(b) = fido_wire::webauthn::base64url::decode(s)
                && b.len() >= 16
            {
                out.push(b);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_json_bytes(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| collect_json_bytes(v, out)),
        _ => {}
    }
}

fn recorded(recorder: &Recorder) -> String {
    recorder
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_secret_of_any_command_reaches_events_the_live_feed_or_the_record_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("traffic.jsonl");
    let recorder = Recorder::new(1 << 20);
    recorder.write_to(&file).unwrap();
    let live = recorder.subscribe();
    let mut k = key(&recorder);
    let d = &mut k.device;
    let mut outputs = Vec::new();
    let exts = r#"{"credBlob": "Y3JlZGJsb2Itc2VjcmV0IQ", "largeBlob": {"support": "preferred"},
                   "prf": {}, "hmacCreateSecret": true}"#;
    let get_exts = r#"{"getCredBlob": true, "largeBlob": {"read": true},
        "prf": {"eval": {"first": "Zmlyc3Qtc2FsdC1mb3ItcHJm", "second": "c2Vjb25kLXNhbHQtZm9yLXByZg"}}}"#;

    // Without a PIN: largeBlobKey and credBlob come back in makeCredential
    // and getAssertion without any pinUvAuthParam.
    let reg = webauthn::register(
        d,
        &creation(true, UserVerificationRequirement::Discouraged, exts),
        &mut ClientContext::new(ORIGIN),
    )
    .unwrap();
    outputs.push(serde_json::Value::Object(
        reg.client_extension_results.clone(),
    ));
    let auth = webauthn::authenticate(
        d,
        &request(
            std::slice::from_ref(&reg.raw_id.0),
            UserVerificationRequirement::Discouraged,
            get_exts,
        ),
        &mut ClientContext::new(ORIGIN),
    )
    .unwrap();
    outputs.push(serde_json::Value::Object(auth.client_extension_results));

    // clientPIN: every subcommand.
    d.set_pin(PIN).unwrap();
    d.pin_retries().unwrap();
    d.change_pin(PIN, NEW_PIN).unwrap();
    let pin_ctx = || ClientContext {
        pin: Some(NEW_PIN),
        ..ClientContext::new(ORIGIN)
    };

    // With the PIN: a second discoverable credential, then a discoverable
    // login (getNextAssertion) with hmac-secret salts, credBlob, largeBlobKey.
    let mut second = creation(true, UserVerificationRequirement::Required, exts);
    second.user.id = Base64UrlBytes(b"user-bob".to_vec());
    let reg2 = webauthn::register(d, &second, &mut pin_ctx()).unwrap();
    outputs.push(serde_json::Value::Object(reg2.client_extension_results));
    let auth = webauthn::authenticate(
        d,
        &request(&[], UserVerificationRequirement::Required, get_exts),
        &mut pin_ctx(),
    )
    .unwrap();
    outputs.push(serde_json::Value::Object(auth.client_extension_results));
    // The second account, with its own credBlob, largeBlobKey and outputs.
    d.get_next_assertion().unwrap();
    let hmac = format!(
        r#"{{"hmacGetSecret": {{"salt1": "{}", "salt2": "{}"}}}}"#,
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE",
        "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI"
    );
    for uv in [
        UserVerificationRequirement::Required,
        UserVerificationRequirement::Discouraged,
    ] {
        let pin = (uv == UserVerificationRequirement::Required).then_some(NEW_PIN);
        let a = webauthn::authenticate(
            d,
            &request(std::slice::from_ref(&reg.raw_id.0), uv, &hmac),
            &mut ClientContext {
                pin,
                ..ClientContext::new(ORIGIN)
            },
        )
        .unwrap();
        outputs.push(serde_json::Value::Object(a.client_extension_results));
    }
    outputs.push(serde_json::from_str(&hmac).unwrap());
    outputs.push(serde_json::from_str(get_exts).unwrap());

    // credentialManagement: metadata, enumerations (largeBlobKey in each
    // credential), update, delete.
    let cm = d
        .pin_token(
            NEW_PIN,
            Permissions(Permissions::CREDENTIAL_MANAGEMENT),
            None,
        )
        .unwrap();
    d.credentials_metadata(&cm).unwrap();
    let rps = d.relying_parties(&cm).unwrap();
    let (rp, hash) = rps.first().unwrap();
    let creds = d.credentials(&cm, rp, hash).unwrap();
    assert_eq!(creds.len(), 2);
    assert!(creds.iter().all(|c| c.has_large_blob_key));
    let first = creds.first().unwrap();
    d.update_user(
        &cm,
        &first.id,
        UserEntity {
            name: Some("renamed".into()),
            ..first.user.clone()
        },
    )
    .unwrap();
    d.delete_credential(&cm, &first.id).unwrap();

    // authenticatorConfig with a token.
    let acfg = d
        .pin_token(
            NEW_PIN,
            Permissions(Permissions::AUTHENTICATOR_CONFIG),
            None,
        )
        .unwrap();
    d.set_min_pin_length(
        Some(&acfg),
        MinPinLengthParams {
            new_min_pin_length: Some(6),
            rp_ids: None,
            force_change_pin: None,
        },
    )
    .unwrap();
    d.toggle_always_uv(Some(&acfg)).unwrap();

    let mut secrets = wire_secrets(&k.wire);
    assert!(
        secrets.len() > 40,
        "the tap found only {} secrets",
        secrets.len()
    );
    secrets.extend(plain_secrets(&outputs));
    drop(k);

    let events = recorded(&recorder);
    for command in [
        "authenticatorClientPIN",
        "authenticatorMakeCredential",
        "authenticatorGetAssertion",
        "authenticatorGetNextAssertion",
        "authenticatorCredentialManagement",
        "authenticatorConfig",
    ] {
        assert!(events.contains(command), "{command} was not recorded");
    }
    assert!(events.contains("<redacted"), "no marker in {events}");
    assert!(!events.contains(PIN) && !events.contains(NEW_PIN));
    assert_no_secret(&events, &secrets, "events");
    let feed: Vec<String> = live
        .try_iter()
        .map(|e| serde_json::to_string(&e).unwrap())
        .collect();
    assert_no_secret(&feed.join("\n"), &secrets, "live feed");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.lines().count() > 100);
    assert_no_secret(&written, &secrets, "record file");
}

#[test]
fn two_keys_pin_exchanges_at_once_on_one_recorder_leak_nothing() {
    let recorder = Recorder::new(1 << 20);
    let mut a = key(&recorder);
    let mut b = key(&recorder);
    a.device.set_pin(PIN).unwrap();
    b.device.set_pin(NEW_PIN).unwrap();
    let run = |k: &mut Key, pin: &'static str| {
        for _ in 0..25 {
            k.device
                .pin_token(pin, Permissions(Permissions::CREDENTIAL_MANAGEMENT), None)
                .unwrap();
            // A plain exchange between secret ones, as the other key's are.
            k.device.pin_retries().unwrap();
        }
    };
    std::thread::scope(|s| {
        s.spawn(|| run(&mut a, PIN));
        s.spawn(|| run(&mut b, NEW_PIN));
    });
    let mut secrets = wire_secrets(&a.wire);
    secrets.extend(wire_secrets(&b.wire));
    secrets.extend(plain_secrets(&[]));
    assert!(secrets.len() > 200);
    assert_no_secret(&recorded(&recorder), &secrets, "events");
}

#[cfg(unix)]
#[test]
fn record_files_are_owner_only_and_symlinks_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.jsonl");
    Recorder::default().write_to(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // An existing file readable by others is narrowed.
    let old = dir.path().join("old.jsonl");
    std::fs::write(&old, "").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    Recorder::default().write_to(&old).unwrap();
    let mode = std::fs::metadata(&old).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // A symlink planted at the path is not followed.
    let target = dir.path().join("elsewhere");
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(Recorder::default().write_to(&link).is_err());
    assert!(!target.exists());
}
