//! The exchange meter: what one CTAP2 exchange cost on the transport, taken
//! from the reports themselves as [`crate::recorder::RecordingTransport`]
//! moves them — reports and bytes each way, and where the time went.
//!
//! An exchange's time splits into four parts that add up to its total:
//! sending the request's reports, the key working (from the request's last
//! report to the answer's first), waiting for a touch (the KEEPALIVE
//! UP_NEEDED periods inside that), and receiving the answer's reports.
//! Each report is stamped when it is handed to the transport or comes out
//! of it.
//! Reports of other channels (hidraw shows every reader every report) are
//! not counted.

use ctaphid::{Command, KeepaliveStatus, Report};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What one exchange cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeMetrics {
    /// The CTAP2 command byte.
    pub command: u8,
    /// The request message's length (command byte and CBOR).
    pub request_bytes: usize,
    /// The response message's length (status byte and CBOR).
    pub response_bytes: usize,
    /// Reports sent (64 bytes each on the wire).
    pub reports_out: u32,
    /// Reports received on the channel, KEEPALIVEs included.
    pub reports_in: u32,
    /// KEEPALIVE reports among them.
    pub keepalives: u32,
    /// First request report handed to the transport to the last.
    pub send: Duration,
    /// Last request report handed to the transport to the first answer
    /// report received, less the touch wait.
    pub key: Duration,
    /// The time the key said UP_NEEDED (waiting for a touch).
    pub touch_wait: Duration,
    /// First answer report to the last.
    pub receive: Duration,
    /// First request report to the last answer report.
    pub total: Duration,
}

impl ExchangeMetrics {
    /// Time on the wire: sending plus receiving.
    pub fn wire(&self) -> Duration {
        self.send + self.receive
    }
}

/// Where a measured exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    /// Not measuring.
    #[default]
    Idle,
    /// Sending the request (or waiting for its first report).
    Measuring,
}

/// Touch state while the key works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touch {
    /// The key has not asked for a touch, or it came.
    Absent,
    /// UP_NEEDED since this instant.
    WaitingSince(Instant),
}

/// Accumulates one exchange's reports. Fed by the recording transport;
/// started and finished by the device around each CTAP2 call.
#[derive(Debug, Clone)]
pub struct ExchangeMeter {
    phase: Phase,
    cid: Option<[u8; 4]>,
    first_out: Option<Instant>,
    last_out: Option<Instant>,
    first_answer: Option<Instant>,
    last_in: Option<Instant>,
    reports_out: u32,
    reports_in: u32,
    keepalives: u32,
    touch: Touch,
    touch_wait: Duration,
}

impl Default for ExchangeMeter {
    fn default() -> Self {
        ExchangeMeter {
            phase: Phase::Idle,
            cid: None,
            first_out: None,
            last_out: None,
            first_answer: None,
            last_in: None,
            reports_out: 0,
            reports_in: 0,
            keepalives: 0,
            touch: Touch::Absent,
            touch_wait: Duration::ZERO,
        }
    }
}

fn cid_of(report: &Report) -> Option<[u8; 4]> {
    report.get(..4).and_then(|c| <[u8; 4]>::try_from(c).ok())
}

impl ExchangeMeter {
    /// Starts measuring a new exchange (forgetting any unfinished one).
    pub fn begin(&mut self) {
        *self = ExchangeMeter {
            phase: Phase::Measuring,
            ..ExchangeMeter::default()
        };
    }

    /// A report handed to the transport at `at`.
    ///
    /// The instant before the transport call is the one that counts: the
    /// key may answer before a send call returns (a pipe or a socket wakes
    /// the key's thread, which can take the CPU from the caller), so
    /// stamping after the call would count the key's work as wire time.
    pub fn sent(&mut self, report: &Report, at: Instant) {
        if self.phase != Phase::Measuring {
            return;
        }
        if self.cid.is_none() {
            self.cid = cid_of(report);
        }
        // A CANCEL or a busy retry after the answer began is not the request.
        if self.first_answer.is_none() {
            self.first_out.get_or_insert(at);
            self.last_out = Some(at);
        }
        self.reports_out += 1;
    }

    /// A report received at `at`.
    pub fn received(&mut self, report: &Report, at: Instant) {
        if self.phase != Phase::Measuring || self.cid.is_none() || cid_of(report) != self.cid {
            return;
        }
        self.reports_in += 1;
        self.last_in = Some(at);
        let b4 = report.get(4).copied().unwrap_or(0);
        if b4 & 0x80 == 0 {
            return; // a continuation of the answer
        }
        if Command(b4 & 0x7f) == Command::KEEPALIVE {
            self.keepalives += 1;
            let status = KeepaliveStatus::from_byte(report.get(7).copied().unwrap_or(0));
            match (status, self.touch) {
                (KeepaliveStatus::UpNeeded, Touch::Absent) => self.touch = Touch::WaitingSince(at),
                (KeepaliveStatus::UpNeeded, Touch::WaitingSince(_)) => {}
                (_, _) => self.end_touch(at),
            }
            return;
        }
        self.end_touch(at);
        self.first_answer.get_or_insert(at);
    }

    fn end_touch(&mut self, at: Instant) {
        if let Touch::WaitingSince(since) = self.touch {
            self.touch_wait += at.saturating_duration_since(since);
            self.touch = Touch::Absent;
        }
    }

    /// Ends the exchange; `None` when no answer was seen.
    pub fn finish(
        &mut self,
        command: u8,
        request_bytes: usize,
        response_bytes: usize,
    ) -> Option<ExchangeMetrics> {
        let done = std::mem::take(self);
        let (first_out, last_out, first_answer, last_in) = (
            done.first_out?,
            done.last_out?,
            done.first_answer?,
            done.last_in?,
        );
        let working = first_answer.saturating_duration_since(last_out);
        Some(ExchangeMetrics {
            command,
            request_bytes,
            response_bytes,
            reports_out: done.reports_out,
            reports_in: done.reports_in,
            keepalives: done.keepalives,
            send: last_out.saturating_duration_since(first_out),
            key: working.saturating_sub(done.touch_wait),
            touch_wait: done.touch_wait,
            receive: last_in.saturating_duration_since(first_answer),
            total: last_in.saturating_duration_since(first_out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(cid: [u8; 4], b4: u8, b7: u8) -> Report {
        let mut r = [0u8; 64];
        r[..4].copy_from_slice(&cid);
        r[4] = b4;
        r[7] = b7;
        r
    }

    const CID: [u8; 4] = [1, 2, 3, 4];
    const OTHER: [u8; 4] = [9, 9, 9, 9];

    #[test]
    fn the_parts_add_up_and_touch_is_apart() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut m = ExchangeMeter::default();
        m.begin();
        m.sent(&report(CID, 0x90, 0), ms(0));
        m.sent(&report(CID, 0x00, 0), ms(2));
        m.received(&report(CID, 0xbb, 1), ms(10)); // PROCESSING
        m.received(&report(CID, 0xbb, 2), ms(20)); // UP_NEEDED
        m.received(&report(OTHER, 0x90, 0), ms(25)); // another channel
        m.received(&report(CID, 0xbb, 2), ms(120));
        m.received(&report(CID, 0x90, 0), ms(220)); // the answer
        m.received(&report(CID, 0x00, 0), ms(223));
        let x = m.finish(1, 100, 70).unwrap();
        assert_eq!(x.reports_out, 2);
        assert_eq!(x.reports_in, 5);
        assert_eq!(x.keepalives, 3);
        assert_eq!(x.send, Duration::from_millis(2));
        assert_eq!(x.touch_wait, Duration::from_millis(200));
        assert_eq!(x.key, Duration::from_millis(18));
        assert_eq!(x.receive, Duration::from_millis(3));
        assert_eq!(x.total, x.send + x.key + x.touch_wait + x.receive);
        assert_eq!(x.wire(), Duration::from_millis(5));
    }

    #[test]
    fn nothing_is_counted_unless_begun_and_no_answer_is_none() {
        let t0 = Instant::now();
        let mut m = ExchangeMeter::default();
        m.sent(&report(CID, 0x90, 0), t0);
        m.received(&report(CID, 0x90, 0), t0);
        assert!(m.finish(1, 1, 1).is_none());
        m.begin();
        m.sent(&report(CID, 0x90, 0), t0);
        m.received(&report(CID, 0xbb, 2), t0);
        assert!(m.finish(1, 1, 1).is_none(), "only a KEEPALIVE came");
    }
}
