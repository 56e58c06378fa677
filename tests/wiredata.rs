//! Real authenticators' CTAPHID traffic, captured by libfido2
//! (tests/data/libfido2/wiredata_fido2.h): `ctaphid` reassembles it and
//! `fido-wire` decodes it, and re-encoding loses nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctaphid::{Command, KeepaliveStatus, Message, Packet, Progress, Reassembler, Report};
use fido_wire::cbor::{self, Value};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{
    GetAssertionResponse, GetInfo, MakeCredentialResponse, StatusCode, parse_response,
};
use std::collections::BTreeMap;

fn captures() -> BTreeMap<String, Vec<u8>> {
    let text = include_str!("data/libfido2/wiredata_fido2.h");
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#define WIREDATA_") {
            if let Some((name, bytes)) = current.take() {
                out.insert(name, bytes);
            }
            let name = rest.split_whitespace().next().unwrap().to_string();
            if rest.trim_end().ends_with('\\') {
                current = Some((name, Vec::new()));
            }
        } else if let Some((_, bytes)) = current.as_mut() {
            for token in line.split(',') {
                let token = token.trim().trim_end_matches('\\').trim();
                if let Some(hex) = token.strip_prefix("0x") {
                    bytes.push(u8::from_str_radix(hex, 16).unwrap());
                }
            }
            if !line.trim_end().ends_with('\\') {
                let (name, bytes) = current.take().unwrap();
                out.insert(name, bytes);
            }
        }
    }
    out
}

/// Reassembles every message in a capture, skipping KEEPALIVEs (returned apart).
fn messages(name: &str) -> (Vec<Message>, Vec<KeepaliveStatus>) {
    let bytes = &captures()[name];
    assert_eq!(bytes.len() % 64, 0, "{name} is whole reports");
    let mut msgs = Vec::new();
    let mut keepalives = Vec::new();
    let mut r = Reassembler::new();
    let mut channel = None;
    let mut seq = 0u8;
    for chunk in bytes.chunks(64) {
        let mut report: Report = chunk.try_into().unwrap();
        // libfido2 feeds these captures with FIDO_FUZZ defined, where rx_frame
        // overwrites every frame's channel id and continuation sequence number
        // (src/io.c, rx_preamble and rx_fido2), so the captured values there
        // are arbitrary. Do the same before reassembling.
        let cid =
            *channel.get_or_insert_with(|| u32::from_be_bytes(report[..4].try_into().unwrap()));
        report[..4].copy_from_slice(&cid.to_be_bytes());
        if report[4] & 0x80 == 0 {
            report[4] = seq;
            seq += 1;
        } else {
            seq = 0;
        }
        let packet = Packet::parse(&report);
        if let Packet::Init {
            cmd: Command::KEEPALIVE,
            data,
            ..
        } = packet
        {
            keepalives.push(KeepaliveStatus::from_byte(data[0]));
            continue;
        }
        if let Progress::Complete(m) = r.push(packet).unwrap() {
            msgs.push(m);
        }
    }
    assert!(!r.is_receiving(), "{name} ends on a message boundary");
    (msgs, keepalives)
}

fn cbor_body(name: &str) -> (StatusCode, Option<Value>) {
    let (msgs, _) = messages(name);
    assert_eq!(msgs.len(), 1, "{name}");
    assert_eq!(msgs[0].cmd, Command::CBOR, "{name}");
    parse_response(&msgs[0].payload).unwrap()
}

#[test]
fn init_response() {
    let (msgs, _) = messages("CTAP_INIT");
    let m = &msgs[0];
    assert_eq!((m.cid, m.cmd), (0xffff_ffff, Command::INIT));
    assert_eq!(m.payload.len(), 17);
    assert_eq!(
        &m.payload[8..12],
        &[0x00, 0x22, 0x00, 0x02],
        "allocated channel"
    );
    assert_eq!(m.payload[12], 2, "CTAPHID protocol version");
}

#[test]
fn keepalive_up_needed() {
    let (msgs, keepalives) = messages("CTAP_KEEPALIVE");
    assert!(msgs.is_empty());
    assert_eq!(keepalives, [KeepaliveStatus::UpNeeded]);
}

#[test]
fn get_info_decodes_fully_and_loses_nothing() {
    let (status, body) = cbor_body("CTAP_CBOR_INFO");
    assert_eq!(status, StatusCode::OK);
    let body = body.unwrap();
    let info = GetInfo::from_value(&body).unwrap();
    assert!(
        info.versions.iter().any(|v| v == "FIDO_2_1"),
        "{:?}",
        info.versions
    );
    assert!(
        info.extensions.iter().any(|e| e == "credProtect"),
        "{:?}",
        info.extensions
    );
    assert!(
        info.algorithms
            .iter()
            .any(|a| a.alg == CoseAlgorithm::ES256)
    );
    assert!(info.option("rk").is_some());
    assert!(!info.pin_uv_auth_protocols.is_empty());
    assert!(info.max_msg_size.unwrap() >= 1024);
    assert!(
        info.other.is_empty(),
        "every member is known: {:?}",
        info.other
    );
    // Re-encoding gives back every member with the same value.
    assert_eq!(
        cbor::to_canonical_vec(&info.to_value()),
        cbor::to_canonical_vec(&body)
    );
}

#[test]
fn make_credential_response_becomes_an_attestation_object() {
    let (status, body) = cbor_body("CTAP_CBOR_CRED");
    assert_eq!(status, StatusCode::OK);
    let body = body.unwrap();
    let resp = MakeCredentialResponse::from_value(&body).unwrap();
    assert_eq!(
        cbor::to_canonical_vec(&resp.to_value()),
        cbor::to_canonical_vec(&body)
    );
    let att = resp.to_attestation_object().unwrap();
    assert_eq!(att.fmt, resp.fmt);
    let acd = att.auth_data.attested_credential.as_ref().unwrap();
    assert!(acd.public_key.alg.is_some());
    assert!(att.auth_data.flags.user_present());
    assert_eq!(att.auth_data.to_bytes(), resp.auth_data);
}

#[test]
fn get_assertion_response_decodes() {
    let (status, body) = cbor_body("CTAP_CBOR_ASSERT");
    assert_eq!(status, StatusCode::OK);
    let body = body.unwrap();
    let resp = GetAssertionResponse::from_value(&body).unwrap();
    assert!(!resp.signature.is_empty());
    let ad = resp.parsed_auth_data().unwrap();
    assert_eq!(ad.to_bytes(), resp.auth_data);
    assert_eq!(
        cbor::to_canonical_vec(&resp.to_value()),
        cbor::to_canonical_vec(&body)
    );
}

#[test]
fn every_cbor_capture_reassembles_and_parses() {
    let all = captures();
    // CTAP_CBOR_BIO_ENROLL holds 8 reports and 56 more bytes in the source:
    // not a whole report sequence, so it is left out here.
    let whole = all
        .iter()
        .filter(|(n, b)| n.starts_with("CTAP_CBOR_") && b.len() % 64 == 0);
    assert_eq!(whole.clone().count(), 13);
    for (name, _) in whole {
        let (msgs, _) = messages(name);
        assert!(!msgs.is_empty(), "{name}");
        for m in msgs {
            let (status, _) = parse_response(&m.payload).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(status, StatusCode::OK, "{name}");
        }
    }
}
