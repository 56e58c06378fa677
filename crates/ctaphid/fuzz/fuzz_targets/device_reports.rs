//! Any sequence of host reports: the device framing and the reassembler
//! answer or ignore each one, never panic, and never buffer more than one
//! message.
#![no_main]
use ctaphid::{DeviceAction, DeviceFraming, DeviceIdentity, Packet, Reassembler, Report, MAX_MESSAGE_LEN};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let mut device = DeviceFraming::new(DeviceIdentity { version: (1, 0, 0), capabilities: 0x0d });
    let mut host_side = Reassembler::new();
    let start = Instant::now();
    for (i, chunk) in data.chunks(64).enumerate() {
        let mut report: Report = [0; 64];
        report[..chunk.len()].copy_from_slice(chunk);
        // Time moves on by a byte-chosen step so the inter-packet timeout is exercised.
        let now = start + Duration::from_millis(u64::from(chunk[0] % 8) * 100 * i as u64);
        for action in device.on_report(&report, now) {
            match action {
                DeviceAction::Request(msg) => {
                    assert!(msg.payload.len() <= MAX_MESSAGE_LEN);
                    let reports = device.respond(msg).expect("echo fits");
                    assert!(!reports.is_empty());
                }
                DeviceAction::Send(reports) => assert!(!reports.is_empty()),
                DeviceAction::Cancel { .. } => {}
            }
        }
        if let Ok(ctaphid::Progress::Complete(m)) = host_side.push(Packet::parse(&report)) {
            assert!(m.payload.len() <= MAX_MESSAGE_LEN);
        }
    }
});
