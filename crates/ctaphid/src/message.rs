//! Whole CTAPHID messages: cut into reports, and put back together with
//! every check CTAP 2.1 §11.2.4 asks for (channel, sequence, length).
//!
//! This is the one framing implementation: the client sends with
//! [`Message::to_reports`] and reassembles with [`Reassembler`]; the virtual
//! authenticator does exactly the same.

use crate::packet::{
    CONT_DATA_LEN, Command, INIT_DATA_LEN, MAX_MESSAGE_LEN, MAX_SEQ, Packet, Report, cont_report,
    init_report,
};

/// A complete CTAPHID message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Channel id.
    pub cid: u32,
    /// Command.
    pub cmd: Command,
    /// Payload, at most [`MAX_MESSAGE_LEN`] bytes.
    pub payload: Vec<u8>,
}

/// Why a message cannot be framed or reassembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The payload does not fit one CTAPHID message.
    #[error("message of {len} bytes exceeds the CTAPHID maximum of {max}")]
    TooLong {
        /// Payload length.
        len: usize,
        /// The maximum (7,609).
        max: usize,
    },
    /// A continuation packet arrived where an initialization packet was expected.
    #[error(
        "continuation packet (seq {seq}) on channel {cid:08x} without an initialization packet"
    )]
    UnexpectedContinuation {
        /// Channel.
        cid: u32,
        /// Its sequence number.
        seq: u8,
    },
    /// An initialization packet arrived in the middle of a message.
    #[error("initialization packet ({cmd:?}) on channel {cid:08x} in the middle of a message")]
    UnexpectedInit {
        /// Channel.
        cid: u32,
        /// Its command.
        cmd: Command,
    },
    /// A continuation packet out of sequence.
    #[error("continuation packet out of sequence: expected {expected}, got {got}")]
    BadSequence {
        /// The sequence number expected.
        expected: u8,
        /// The one received.
        got: u8,
    },
    /// A packet on another channel than the message's.
    #[error("packet on channel {got:08x} while reassembling a message on {expected:08x}")]
    WrongChannel {
        /// The message's channel.
        expected: u32,
        /// The packet's channel.
        got: u32,
    },
}

impl Message {
    /// A message.
    pub fn new(cid: u32, cmd: Command, payload: Vec<u8>) -> Message {
        Message { cid, cmd, payload }
    }

    /// Cuts the message into reports: one initialization packet and as many
    /// continuation packets as needed, unused bytes zero.
    pub fn to_reports(&self) -> Result<Vec<Report>, FramingError> {
        let len = self.payload.len();
        let total = u16::try_from(len)
            .ok()
            .filter(|_| len <= MAX_MESSAGE_LEN)
            .ok_or(FramingError::TooLong {
                len,
                max: MAX_MESSAGE_LEN,
            })?;
        let (first, rest) = self.payload.split_at(len.min(INIT_DATA_LEN));
        let mut reports = Vec::with_capacity(1 + rest.len().div_ceil(CONT_DATA_LEN));
        reports.push(init_report(self.cid, self.cmd, total, first));
        for (seq, chunk) in rest.chunks(CONT_DATA_LEN).enumerate() {
            // At most 128 chunks, by the length check above.
            reports.push(cont_report(self.cid, seq as u8, chunk));
        }
        Ok(reports)
    }
}

/// What feeding one packet to a [`Reassembler`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More continuation packets are needed.
    NeedMore,
    /// The message is complete.
    Complete(Message),
}

/// Reassembles one message from its packets; its memory is bounded by the
/// declared length, itself bounded by [`MAX_MESSAGE_LEN`].
#[derive(Debug, Default)]
pub struct Reassembler {
    state: State,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    Receiving {
        cid: u32,
        cmd: Command,
        total: usize,
        payload: Vec<u8>,
        next_seq: u8,
    },
}

impl Reassembler {
    /// A reassembler waiting for an initialization packet.
    pub fn new() -> Self {
        Reassembler::default()
    }

    /// Whether a message is partly received.
    pub fn is_receiving(&self) -> bool {
        matches!(self.state, State::Receiving { .. })
    }

    /// The channel of the message being received, if any.
    pub fn channel(&self) -> Option<u32> {
        match self.state {
            State::Receiving { cid, .. } => Some(cid),
            State::Idle => None,
        }
    }

    /// Drops any partly received message.
    pub fn reset(&mut self) {
        self.state = State::Idle;
    }

    /// Feeds one packet. On any error the reassembler is back to idle.
    pub fn push(&mut self, packet: Packet<'_>) -> Result<Progress, FramingError> {
        let result = self.push_inner(packet);
        if result.is_err() {
            self.state = State::Idle;
        }
        result
    }

    fn push_inner(&mut self, packet: Packet<'_>) -> Result<Progress, FramingError> {
        match (&mut self.state, packet) {
            (
                State::Idle,
                Packet::Init {
                    cid,
                    cmd,
                    len,
                    data,
                },
            ) => {
                let total = usize::from(len);
                if total > MAX_MESSAGE_LEN {
                    return Err(FramingError::TooLong {
                        len: total,
                        max: MAX_MESSAGE_LEN,
                    });
                }
                let mut payload = Vec::with_capacity(total);
                payload.extend_from_slice(data.get(..total.min(INIT_DATA_LEN)).unwrap_or(data));
                if payload.len() == total {
                    return Ok(Progress::Complete(Message { cid, cmd, payload }));
                }
                self.state = State::Receiving {
                    cid,
                    cmd,
                    total,
                    payload,
                    next_seq: 0,
                };
                Ok(Progress::NeedMore)
            }
            (State::Idle, Packet::Cont { cid, seq, .. }) => {
                Err(FramingError::UnexpectedContinuation { cid, seq })
            }
            (State::Receiving { cid: expected, .. }, Packet::Init { cid, .. })
                if cid != *expected =>
            {
                Err(FramingError::WrongChannel {
                    expected: *expected,
                    got: cid,
                })
            }
            (State::Receiving { .. }, Packet::Init { cid, cmd, .. }) => {
                Err(FramingError::UnexpectedInit { cid, cmd })
            }
            (State::Receiving { cid: expected, .. }, Packet::Cont { cid, .. })
                if cid != *expected =>
            {
                Err(FramingError::WrongChannel {
                    expected: *expected,
                    got: cid,
                })
            }
            (
                State::Receiving {
                    next_seq,
                    total,
                    payload,
                    ..
                },
                Packet::Cont { seq, data, .. },
            ) => {
                if seq != *next_seq || seq > MAX_SEQ {
                    return Err(FramingError::BadSequence {
                        expected: *next_seq,
                        got: seq,
                    });
                }
                let want = (*total - payload.len()).min(CONT_DATA_LEN);
                payload.extend_from_slice(data.get(..want).unwrap_or(data));
                *next_seq = next_seq.wrapping_add(1);
                if payload.len() < *total {
                    return Ok(Progress::NeedMore);
                }
                let State::Receiving {
                    cid, cmd, payload, ..
                } = std::mem::take(&mut self.state)
                else {
                    return Ok(Progress::NeedMore);
                };
                Ok(Progress::Complete(Message { cid, cmd, payload }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reassemble(reports: &[Report]) -> Result<Message, FramingError> {
        let mut r = Reassembler::new();
        for report in reports {
            if let Progress::Complete(m) = r.push(Packet::parse(report))? {
                return Ok(m);
            }
        }
        panic!("incomplete")
    }

    #[test]
    fn every_length_round_trips() {
        for len in [
            0,
            1,
            56,
            57,
            58,
            57 + 59,
            57 + 59 + 1,
            1000,
            MAX_MESSAGE_LEN,
        ] {
            let m = Message::new(
                0xcafe_f00d,
                Command::CBOR,
                (0..len).map(|i| i as u8).collect(),
            );
            let reports = m.to_reports().unwrap();
            assert_eq!(reports.len(), 1 + len.saturating_sub(57).div_ceil(59));
            assert_eq!(reassemble(&reports).unwrap(), m, "len {len}");
        }
        assert_eq!(
            Message::new(1, Command::CBOR, vec![0; MAX_MESSAGE_LEN])
                .to_reports()
                .unwrap()
                .len(),
            129
        );
    }

    #[test]
    fn oversized_is_refused_both_ways() {
        let m = Message::new(1, Command::CBOR, vec![0; MAX_MESSAGE_LEN + 1]);
        assert_eq!(
            m.to_reports(),
            Err(FramingError::TooLong {
                len: 7610,
                max: 7609
            })
        );
        let r = init_report(1, Command::CBOR, 7610, &[]);
        assert_eq!(
            Reassembler::new().push(Packet::parse(&r)),
            Err(FramingError::TooLong {
                len: 7610,
                max: 7609
            })
        );
    }

    #[test]
    fn sequence_channel_and_order_are_checked() {
        let m = Message::new(5, Command::CBOR, vec![7; 200]);
        let reports = m.to_reports().unwrap();
        let mut r = Reassembler::new();
        r.push(Packet::parse(&reports[0])).unwrap();
        assert_eq!(
            r.push(Packet::parse(&reports[2])),
            Err(FramingError::BadSequence {
                expected: 0,
                got: 1
            })
        );
        assert!(!r.is_receiving());
        r.push(Packet::parse(&reports[0])).unwrap();
        let other = cont_report(6, 0, &[]);
        assert_eq!(
            r.push(Packet::parse(&other)),
            Err(FramingError::WrongChannel {
                expected: 5,
                got: 6
            })
        );
        assert_eq!(
            Reassembler::new().push(Packet::parse(&reports[1])),
            Err(FramingError::UnexpectedContinuation { cid: 5, seq: 0 })
        );
        let mut r = Reassembler::new();
        r.push(Packet::parse(&reports[0])).unwrap();
        assert!(matches!(
            r.push(Packet::parse(&reports[0])),
            Err(FramingError::UnexpectedInit { cid: 5, .. })
        ));
    }
}
