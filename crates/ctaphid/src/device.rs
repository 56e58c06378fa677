//! The device side of CTAPHID, as the virtual authenticator runs it: channel
//! allocation, one transaction at a time (others get ERR_CHANNEL_BUSY),
//! sequence and length errors, the inter-packet timeout, LOCK, PING and
//! CANCEL (CTAP 2.1 §11.2.9). It decides what to send and what to hand to
//! the authenticator; it does no I/O and reads no clock, so tests drive it.

use crate::message::{FramingError, Message, Progress, Reassembler};
use crate::packet::{BROADCAST_CID, Command, HidErrorCode, KeepaliveStatus, Packet, Report};
use std::time::{Duration, Instant};

/// How long a partly received message may wait for its next packet.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_millis(500);

/// What the device reports in its INIT answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// Major, minor, build.
    pub version: (u8, u8, u8),
    /// Capability flags (see [`crate::client::capability`]).
    pub capabilities: u8,
}

/// What the framing asks its owner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceAction {
    /// Send these reports to the host now.
    Send(Vec<Report>),
    /// A complete request (CBOR, MSG or WINK) for the authenticator; answer
    /// it with [`DeviceFraming::respond`], keeping it alive with
    /// [`DeviceFraming::keepalive`] meanwhile.
    Request(Message),
    /// The host cancelled the request in progress on this channel.
    Cancel {
        /// The channel.
        cid: u32,
    },
}

/// The device-side channel state machine.
#[derive(Debug)]
pub struct DeviceFraming {
    identity: DeviceIdentity,
    next_cid: u32,
    rx: Reassembler,
    last_packet: Option<Instant>,
    /// The channel whose request the authenticator is working on.
    processing: Option<u32>,
    lock: Option<(u32, Instant)>,
}

fn error_reports(cid: u32, code: HidErrorCode) -> DeviceAction {
    reply(cid, Command::ERROR, vec![code.0])
}

fn reply(cid: u32, cmd: Command, payload: Vec<u8>) -> DeviceAction {
    // Short internal replies always fit one message.
    DeviceAction::Send(
        Message::new(cid, cmd, payload)
            .to_reports()
            .unwrap_or_default(),
    )
}

impl DeviceFraming {
    /// A device with no channels allocated yet.
    pub fn new(identity: DeviceIdentity) -> Self {
        DeviceFraming {
            identity,
            next_cid: 1,
            rx: Reassembler::new(),
            last_packet: None,
            processing: None,
            lock: None,
        }
    }

    /// Whether the authenticator is working on a request.
    pub fn is_processing(&self) -> bool {
        self.processing.is_some()
    }

    fn locked_by_other(&mut self, cid: u32, now: Instant) -> bool {
        match self.lock {
            Some((_, until)) if now >= until => {
                self.lock = None;
                false
            }
            Some((owner, _)) => owner != cid,
            None => false,
        }
    }

    /// Handles one report from the host.
    pub fn on_report(&mut self, report: &Report, now: Instant) -> Vec<DeviceAction> {
        let mut out = self.on_tick(now);
        let packet = Packet::parse(report);
        let cid = packet.cid();
        if cid == 0 {
            out.push(error_reports(cid, HidErrorCode::INVALID_CHANNEL));
            return out;
        }
        if let Packet::Init { cmd, len, data, .. } = packet {
            if cmd == Command::INIT {
                out.push(self.init(cid, len, data));
                return out;
            }
            if cid == BROADCAST_CID {
                out.push(error_reports(cid, HidErrorCode::INVALID_CHANNEL));
                return out;
            }
            if cid >= self.next_cid {
                out.push(error_reports(cid, HidErrorCode::INVALID_CHANNEL));
                return out;
            }
            if let Some(busy) = self.processing {
                if cid == busy && cmd == Command::CANCEL {
                    out.push(DeviceAction::Cancel { cid });
                } else if cmd != Command::CANCEL {
                    out.push(error_reports(cid, HidErrorCode::CHANNEL_BUSY));
                }
                return out;
            }
            if cmd == Command::CANCEL {
                return out; // nothing to cancel; CANCEL has no answer
            }
            if self.locked_by_other(cid, now)
                || self.rx.channel().is_some_and(|receiving| receiving != cid)
            {
                out.push(error_reports(cid, HidErrorCode::CHANNEL_BUSY));
                return out;
            }
        } else if self.processing.is_some()
            || self.rx.channel().is_some_and(|receiving| receiving != cid)
        {
            return out; // stray continuation packets are ignored
        }

        match self.rx.push(packet) {
            Ok(Progress::NeedMore) => self.last_packet = Some(now),
            Ok(Progress::Complete(msg)) => {
                self.last_packet = None;
                out.push(self.dispatch(msg, now));
            }
            Err(FramingError::UnexpectedContinuation { .. }) => {}
            Err(FramingError::TooLong { .. }) => {
                out.push(error_reports(cid, HidErrorCode::INVALID_LEN));
            }
            Err(_) => out.push(error_reports(cid, HidErrorCode::INVALID_SEQ)),
        }
        out
    }

    /// Checks the inter-packet timeout; call it now and then while idle.
    pub fn on_tick(&mut self, now: Instant) -> Vec<DeviceAction> {
        match (self.rx.channel(), self.last_packet) {
            (Some(cid), Some(last)) if now.saturating_duration_since(last) > MESSAGE_TIMEOUT => {
                self.rx.reset();
                self.last_packet = None;
                vec![error_reports(cid, HidErrorCode::MSG_TIMEOUT)]
            }
            _ => Vec::new(),
        }
    }

    fn init(&mut self, cid: u32, len: u16, data: &[u8]) -> DeviceAction {
        if len != 8 {
            return error_reports(cid, HidErrorCode::INVALID_LEN);
        }
        let new_cid = if cid == BROADCAST_CID {
            let allocated = self.next_cid;
            // Wraps long before reaching the broadcast id in any real session.
            self.next_cid = self.next_cid.wrapping_add(1).max(1);
            allocated
        } else {
            // INIT on an existing channel resynchronises it.
            if self.rx.channel() == Some(cid) {
                self.rx.reset();
            }
            cid
        };
        let (major, minor, build) = self.identity.version;
        let mut payload = data.get(..8).unwrap_or_default().to_vec();
        payload.extend_from_slice(&new_cid.to_be_bytes());
        payload.extend_from_slice(&[2, major, minor, build, self.identity.capabilities]);
        reply(cid, Command::INIT, payload)
    }

    fn dispatch(&mut self, msg: Message, now: Instant) -> DeviceAction {
        match msg.cmd {
            Command::PING => reply(msg.cid, Command::PING, msg.payload),
            Command::LOCK => match msg.payload.as_slice() {
                [seconds @ 0..=10] => {
                    self.lock = (*seconds > 0)
                        .then(|| (msg.cid, now + Duration::from_secs(u64::from(*seconds))));
                    reply(msg.cid, Command::LOCK, Vec::new())
                }
                _ => error_reports(msg.cid, HidErrorCode::INVALID_PAR),
            },
            Command::CBOR | Command::MSG | Command::WINK => {
                self.processing = Some(msg.cid);
                DeviceAction::Request(msg)
            }
            _ => error_reports(msg.cid, HidErrorCode::INVALID_CMD),
        }
    }

    /// A KEEPALIVE report for the request in progress on `cid`.
    pub fn keepalive(&self, cid: u32, status: KeepaliveStatus) -> Report {
        crate::packet::init_report(cid, Command::KEEPALIVE, 1, &[status.to_byte()])
    }

    /// Ends the request in progress with the authenticator's answer.
    pub fn respond(&mut self, answer: Message) -> Result<Vec<Report>, FramingError> {
        if self.processing == Some(answer.cid) {
            self.processing = None;
        }
        answer.to_reports()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{cont_report, init_report};

    fn device() -> DeviceFraming {
        DeviceFraming::new(DeviceIdentity {
            version: (1, 2, 3),
            capabilities: 0x05,
        })
    }

    fn sent(actions: &[DeviceAction]) -> Vec<Message> {
        actions
            .iter()
            .filter_map(|a| match a {
                DeviceAction::Send(reports) => {
                    let mut r = Reassembler::new();
                    reports
                        .iter()
                        .find_map(|rep| match r.push(Packet::parse(rep)) {
                            Ok(Progress::Complete(m)) => Some(m),
                            _ => None,
                        })
                }
                _ => None,
            })
            .collect()
    }

    fn allocate(d: &mut DeviceFraming, now: Instant) -> u32 {
        let init = init_report(BROADCAST_CID, Command::INIT, 8, &[1, 2, 3, 4, 5, 6, 7, 8]);
        let msgs = sent(&d.on_report(&init, now));
        let p = &msgs[0].payload;
        assert_eq!(&p[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&p[12..], &[2, 1, 2, 3, 0x05]);
        u32::from_be_bytes([p[8], p[9], p[10], p[11]])
    }

    #[test]
    fn allocates_distinct_channels() {
        let now = Instant::now();
        let mut d = device();
        let a = allocate(&mut d, now);
        let b = allocate(&mut d, now);
        assert_ne!(a, b);
        assert_ne!(a, BROADCAST_CID);
    }

    #[test]
    fn busy_channel_answers_channel_busy_and_cancel_reaches_the_owner() {
        let now = Instant::now();
        let mut d = device();
        let a = allocate(&mut d, now);
        let b = allocate(&mut d, now);
        let actions = d.on_report(&init_report(a, Command::CBOR, 1, &[4]), now);
        assert!(matches!(&actions[..], [DeviceAction::Request(m)] if m.cid == a));
        let busy = sent(&d.on_report(&init_report(b, Command::CBOR, 1, &[4]), now));
        assert_eq!(busy[0].cmd, Command::ERROR);
        assert_eq!(busy[0].payload, [HidErrorCode::CHANNEL_BUSY.0]);
        assert_eq!(
            d.on_report(&init_report(a, Command::CANCEL, 0, &[]), now),
            [DeviceAction::Cancel { cid: a }]
        );
        d.respond(Message::new(a, Command::CBOR, vec![0x2d]))
            .unwrap();
        assert!(!d.is_processing());
    }

    #[test]
    fn sequence_errors_timeouts_and_bad_channels() {
        let now = Instant::now();
        let mut d = device();
        let a = allocate(&mut d, now);
        d.on_report(&init_report(a, Command::CBOR, 200, &[0; 57]), now);
        let err = sent(&d.on_report(&cont_report(a, 1, &[0; 59]), now));
        assert_eq!(err[0].payload, [HidErrorCode::INVALID_SEQ.0]);

        d.on_report(&init_report(a, Command::CBOR, 200, &[0; 57]), now);
        let later = now + MESSAGE_TIMEOUT + Duration::from_millis(1);
        let err = sent(&d.on_tick(later));
        assert_eq!(err[0].payload, [HidErrorCode::MSG_TIMEOUT.0]);

        let err = sent(&d.on_report(&init_report(0x7777, Command::CBOR, 1, &[4]), now));
        assert_eq!(err[0].payload, [HidErrorCode::INVALID_CHANNEL.0]);
        let err = sent(&d.on_report(&init_report(a, Command(0x22), 0, &[]), now));
        assert_eq!(err[0].payload, [HidErrorCode::INVALID_CMD.0]);
        let err = sent(&d.on_report(&init_report(a, Command::CBOR, 7610, &[]), now));
        assert_eq!(err[0].payload, [HidErrorCode::INVALID_LEN.0]);
    }

    #[test]
    fn lock_keeps_other_channels_out_until_it_expires() {
        let now = Instant::now();
        let mut d = device();
        let a = allocate(&mut d, now);
        let b = allocate(&mut d, now);
        let ok = sent(&d.on_report(&init_report(a, Command::LOCK, 1, &[2]), now));
        assert_eq!(ok[0].cmd, Command::LOCK);
        let busy = sent(&d.on_report(&init_report(b, Command::PING, 1, &[9]), now));
        assert_eq!(busy[0].payload, [HidErrorCode::CHANNEL_BUSY.0]);
        let later = now + Duration::from_secs(3);
        let pong = sent(&d.on_report(&init_report(b, Command::PING, 1, &[9]), later));
        assert_eq!(pong[0].payload, [9]);
    }
}
