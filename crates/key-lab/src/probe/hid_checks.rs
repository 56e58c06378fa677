//! CTAPHID checks (CTAP 2.1 §11.2): channel allocation, PING at the
//! edges of packet sizes, busy channels, sequence and length errors, wrong
//! channels, stray packets, CANCEL while waiting for a touch, KEEPALIVE
//! cadence, and WINK and LOCK when the key has them. Each check works on a
//! channel of its own, so the client's channel stays in sync.

use super::ProbeEvent;
use super::lab::{CANCEL_RP_ID, Lab, Step, Verdict, fail, meta, verdict};
use super::raw::{self, ANSWER_WAIT, RawError};
use super::result::Category;
use ctaphid::client::capability;
use ctaphid::{BROADCAST_CID, Command, HidErrorCode, KeepaliveStatus, Message, ReportTransport};
use fido_wire::ctap2::{StatusCode, command};
use std::time::{Duration, Instant};

/// How long the CANCEL check lets the key wait for a touch before
/// cancelling (long enough to see a few KEEPALIVEs).
const WAIT_BEFORE_CANCEL: Duration = Duration::from_millis(350);
/// How long the key may take to ask for a touch at all.
const UP_NEEDED_WAIT: Duration = Duration::from_secs(3);
/// A gap between KEEPALIVEs longer than this fails: hosts give up around
/// half a second (the spec asks for one every 100 ms; scheduling on the
/// host side adds jitter, so 100 ms itself is not the line).
const KEEPALIVE_GAP_LIMIT: Duration = Duration::from_millis(500);

/// The key's CTAPHID reports; a key on another transport (an NFC card)
/// has no CTAPHID framing to check.
fn transport<'b>(lab: &'b mut Lab<'_>) -> Step<&'b mut dyn ReportTransport> {
    lab.device
        .hid_reports()
        .ok_or_else(|| Verdict::Skip("not a CTAPHID key (NFC): no CTAPHID framing to check".into()))
}

fn raw_fail(e: &RawError) -> Verdict {
    fail("a CTAPHID exchange", e.to_string())
}

/// A fresh channel for one check.
fn channel(lab: &mut Lab<'_>) -> Step<u32> {
    let nonce = lab.nonce()?;
    raw::allocate(transport(lab)?, nonce).map_err(|e| raw_fail(&e))
}

/// Runs the CTAPHID checks.
pub fn run(lab: &mut Lab<'_>) {
    lab.check(
        meta(
            "ctaphid.init.broadcast",
            "INIT on the broadcast channel echoes the nonce and allocates distinct channels",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.9.1.3",
        ),
        init_broadcast,
    );
    lab.check(
        meta(
            "ctaphid.init.allocated",
            "INIT on an allocated channel keeps that channel",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.9.1.3",
        ),
        init_allocated,
    );
    for len in [0usize, 57, ctaphid::MAX_MESSAGE_LEN] {
        lab.check(
            meta(
                format!("ctaphid.ping.{len}"),
                format!("PING echoes {len} bytes"),
                Category::Ctaphid,
                "CTAP 2.1 §11.2.9.1.4",
            ),
            move |lab| ping(lab, len),
        );
    }
    lab.check(
        meta(
            "ctaphid.channel_busy",
            "a second channel is answered ERR_CHANNEL_BUSY while a message is half sent",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.5.1",
        ),
        channel_busy,
    );
    lab.check(
        meta(
            "ctaphid.bad_sequence",
            "a continuation packet out of sequence is answered ERR_INVALID_SEQ",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.4, §11.2.9.1.6",
        ),
        bad_sequence,
    );
    lab.check(
        meta(
            "ctaphid.wrong_channel",
            "a request on a channel never allocated is answered ERR_INVALID_CHANNEL",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.3, §11.2.9.1.6",
        ),
        wrong_channel,
    );
    lab.check(
        meta(
            "ctaphid.oversize_length",
            "a declared length over 7,609 bytes is answered ERR_INVALID_LEN",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.4, §11.2.9.1.6",
        ),
        oversize_length,
    );
    lab.check(
        meta(
            "ctaphid.stray_continuation",
            "a continuation packet without an initialization packet is ignored",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.4",
        ),
        stray_continuation,
    );
    let mut keepalives = None;
    lab.check(
        meta(
            "ctaphid.cancel",
            "CANCEL while the key waits for a touch ends the request with CTAP2_ERR_KEEPALIVE_CANCEL",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.9.1.5",
        ),
        |lab| cancel(lab, &mut keepalives),
    );
    lab.check(
        meta(
            "ctaphid.keepalive",
            "KEEPALIVE with status UPNEEDED keeps coming while the key waits for a touch",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.9.1.7",
        ),
        |_| Ok(keepalive_cadence(keepalives)),
    );
    lab.check(
        meta(
            "ctaphid.wink",
            "WINK is answered when the WINK capability is advertised",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.9.2.1",
        ),
        wink,
    );
    lab.check(
        meta(
            "ctaphid.lock",
            "LOCK takes and releases the lock",
            Category::Ctaphid,
            "CTAP 2.1 §11.2.9.2.2",
        ),
        lock,
    );
    if let Ok(t) = transport(lab) {
        raw::drain(t, ANSWER_WAIT);
    }
}

fn init_broadcast(lab: &mut Lab<'_>) -> Step<Verdict> {
    let (n1, n2) = (lab.nonce()?, lab.nonce()?);
    let t = transport(lab)?;
    let Some(a) = raw::init(t, BROADCAST_CID, n1).map_err(|e| raw_fail(&e))? else {
        return Ok(fail("an INIT answer with the nonce", "no answer"));
    };
    if !a.nonce_echoed {
        return Ok(fail("the nonce echoed", "another nonce"));
    }
    if a.cid == 0 || a.cid == BROADCAST_CID {
        return Ok(fail(
            "a channel other than 0 and ffffffff",
            format!("{:08x}", a.cid),
        ));
    }
    if a.protocol_version != 2 {
        return Ok(fail(
            "CTAPHID protocol version 2",
            format!("version {}", a.protocol_version),
        ));
    }
    let Some(b) = raw::init(t, BROADCAST_CID, n2).map_err(|e| raw_fail(&e))? else {
        return Ok(fail("an answer to a second INIT", "no answer"));
    };
    Ok(verdict(
        b.cid != a.cid,
        "two INITs allocate two channels",
        format!("both got {:08x}", a.cid),
    ))
}

fn init_allocated(lab: &mut Lab<'_>) -> Step<Verdict> {
    let cid = channel(lab)?;
    let nonce = lab.nonce()?;
    let Some(again) = raw::init(transport(lab)?, cid, nonce).map_err(|e| raw_fail(&e))? else {
        return Ok(fail("an INIT answer on the channel", "no answer"));
    };
    if !again.nonce_echoed {
        return Ok(fail("the nonce echoed", "another nonce"));
    }
    Ok(verdict(
        again.cid == cid,
        format!("channel {cid:08x} kept"),
        format!("channel {:08x}", again.cid),
    ))
}

fn ping(lab: &mut Lab<'_>, len: usize) -> Step<Verdict> {
    let data = lab.random(len)?;
    let cid = channel(lab)?;
    let t = transport(lab)?;
    raw::send_message(t, &Message::new(cid, Command::PING, data.clone()))
        .map_err(|e| raw_fail(&e))?;
    let answer = raw::read_answer(t, cid, ANSWER_WAIT).map_err(|e| raw_fail(&e));
    raw::drain(t, ANSWER_WAIT);
    let answer = answer?;
    Ok(match &answer {
        Some(m) if m.cmd == Command::PING && m.payload == data => Verdict::Pass,
        Some(m) if m.cmd == Command::PING => fail(
            format!("the {len} bytes echoed"),
            format!("{} other bytes", m.payload.len()),
        ),
        None => fail(
            format!("the {len} bytes echoed"),
            format!("no complete answer within {} s", ANSWER_WAIT.as_secs_f32()),
        ),
        other => fail(
            format!("the {len} bytes echoed"),
            raw::describe(other.as_ref()),
        ),
    })
}

fn channel_busy(lab: &mut Lab<'_>) -> Step<Verdict> {
    let data = lab.random(100)?;
    let a = channel(lab)?;
    let b = channel(lab)?;
    let t = transport(lab)?;
    let (first, rest) = data.split_at(ctaphid::packet::INIT_DATA_LEN);
    let step = |t: &mut dyn ReportTransport| -> Result<_, RawError> {
        raw::send_reports(t, &[raw::init_packet(a, Command::PING, 100, first)])?;
        raw::send_message(t, &Message::new(b, Command::PING, vec![1]))?;
        let on_b = raw::read_answer(t, b, ANSWER_WAIT)?;
        raw::send_reports(t, &[raw::cont_packet(a, 0, rest)])?;
        let on_a = raw::read_answer(t, a, ANSWER_WAIT)?;
        Ok((on_b, on_a))
    };
    let result = step(t);
    raw::drain(t, ANSWER_WAIT);
    let (on_b, on_a) = result.map_err(|e| raw_fail(&e))?;
    if !raw::is_error(on_b.as_ref(), HidErrorCode::CHANNEL_BUSY) {
        return Ok(fail(
            "ERROR ERR_CHANNEL_BUSY on the second channel",
            raw::describe(on_b.as_ref()),
        ));
    }
    Ok(verdict(
        on_a.as_ref()
            .is_some_and(|m| m.cmd == Command::PING && m.payload == data),
        "the first channel's PING completed and echoed",
        raw::describe(on_a.as_ref()),
    ))
}

fn bad_sequence(lab: &mut Lab<'_>) -> Step<Verdict> {
    let data = lab.random(200)?;
    let cid = channel(lab)?;
    let t = transport(lab)?;
    let (first, rest) = data.split_at(ctaphid::packet::INIT_DATA_LEN);
    let step = |t: &mut dyn ReportTransport| -> Result<_, RawError> {
        raw::send_reports(
            t,
            &[
                raw::init_packet(cid, Command::PING, 200, first),
                raw::cont_packet(cid, 1, rest),
            ],
        )?;
        raw::read_answer(t, cid, ANSWER_WAIT)
    };
    let answer = step(t);
    raw::drain(t, ANSWER_WAIT);
    let answer = answer.map_err(|e| raw_fail(&e))?;
    Ok(verdict(
        raw::is_error(answer.as_ref(), HidErrorCode::INVALID_SEQ),
        "ERROR ERR_INVALID_SEQ",
        raw::describe(answer.as_ref()),
    ))
}

fn wrong_channel(lab: &mut Lab<'_>) -> Step<Verdict> {
    let cid = channel(lab)?;
    // Far from anything allocated so far (keys count up or pick at random).
    let stranger = cid ^ 0x5a5a_0000;
    let t = transport(lab)?;
    let step = |t: &mut dyn ReportTransport| -> Result<_, RawError> {
        raw::send_message(t, &Message::new(stranger, Command::PING, vec![1, 2, 3]))?;
        raw::read_answer(t, stranger, ANSWER_WAIT)
    };
    let answer = step(t);
    raw::drain(t, ANSWER_WAIT);
    let answer = answer.map_err(|e| raw_fail(&e))?;
    Ok(verdict(
        raw::is_error(answer.as_ref(), HidErrorCode::INVALID_CHANNEL),
        "ERROR ERR_INVALID_CHANNEL",
        raw::describe(answer.as_ref()),
    ))
}

fn oversize_length(lab: &mut Lab<'_>) -> Step<Verdict> {
    let cid = channel(lab)?;
    let t = transport(lab)?;
    let too_long = u16::try_from(ctaphid::MAX_MESSAGE_LEN + 1).unwrap_or(u16::MAX);
    let step = |t: &mut dyn ReportTransport| -> Result<_, RawError> {
        raw::send_reports(
            t,
            &[raw::init_packet(cid, Command::PING, too_long, &[0; 57])],
        )?;
        raw::read_answer(t, cid, ANSWER_WAIT)
    };
    let answer = step(t);
    raw::drain(t, ANSWER_WAIT);
    let answer = answer.map_err(|e| raw_fail(&e))?;
    Ok(verdict(
        raw::is_error(answer.as_ref(), HidErrorCode::INVALID_LEN),
        "ERROR ERR_INVALID_LEN",
        raw::describe(answer.as_ref()),
    ))
}

fn stray_continuation(lab: &mut Lab<'_>) -> Step<Verdict> {
    let cid = channel(lab)?;
    let t = transport(lab)?;
    let step = |t: &mut dyn ReportTransport| -> Result<_, RawError> {
        raw::send_reports(t, &[raw::cont_packet(cid, 0, &[0xab; 59])])?;
        let stray_answer = raw::read_answer(t, cid, Duration::from_millis(300))?;
        raw::send_message(t, &Message::new(cid, Command::PING, vec![7, 7, 7]))?;
        let ping = raw::read_answer(t, cid, ANSWER_WAIT)?;
        Ok((stray_answer, ping))
    };
    let result = step(t);
    raw::drain(t, ANSWER_WAIT);
    let (stray_answer, ping) = result.map_err(|e| raw_fail(&e))?;
    if stray_answer.is_some() {
        return Ok(fail(
            "no answer to the stray packet",
            raw::describe(stray_answer.as_ref()),
        ));
    }
    Ok(verdict(
        ping.as_ref()
            .is_some_and(|m| m.cmd == Command::PING && m.payload == [7, 7, 7]),
        "the next PING echoed",
        raw::describe(ping.as_ref()),
    ))
}

/// What the CANCEL check saw of the KEEPALIVEs while the key waited.
pub struct KeepaliveTrace {
    /// When each UPNEEDED KEEPALIVE came, from the request.
    pub up_needed_at: Vec<Duration>,
}

fn cancel(lab: &mut Lab<'_>, trace: &mut Option<KeepaliveTrace>) -> Step<Verdict> {
    let user = lab.random(16)?;
    let req = lab.make_credential_request(CANCEL_RP_ID, &user, false)?;
    let request = fido_wire::ctap2::encode_request(command::MAKE_CREDENTIAL, Some(&req.to_value()));
    let cid = channel(lab)?;
    lab.notify(ProbeEvent::DoNotTouch);
    let t = transport(lab)?;
    let result = cancel_exchange(t, cid, request);
    raw::drain(t, ANSWER_WAIT);
    let outcome = result.map_err(|e| raw_fail(&e))?;
    *trace = Some(KeepaliveTrace {
        up_needed_at: outcome.up_needed_at,
    });
    let status = |m: &Option<Message>| {
        m.as_ref()
            .and_then(|m| m.payload.first().copied())
            .map(StatusCode)
    };
    if !outcome.cancel_sent {
        return Ok(match status(&outcome.answer) {
            Some(s) => Verdict::Skip(format!(
                "the key answered {s} without waiting for a touch, so there was nothing to cancel"
            )),
            None => fail(
                "KEEPALIVE UPNEEDED, then CTAP2_ERR_KEEPALIVE_CANCEL after CANCEL",
                "no UPNEEDED and no answer within 3 s",
            ),
        });
    }
    Ok(match (&outcome.answer, status(&outcome.answer)) {
        (Some(m), Some(s)) if m.cmd == Command::CBOR => verdict(
            s == StatusCode::KEEPALIVE_CANCEL,
            StatusCode::KEEPALIVE_CANCEL.to_string(),
            format!("{s} after CANCEL"),
        ),
        (answer, _) => fail(
            StatusCode::KEEPALIVE_CANCEL.to_string(),
            format!("{} after CANCEL", raw::describe(answer.as_ref())),
        ),
    })
}

struct CancelOutcome {
    cancel_sent: bool,
    answer: Option<Message>,
    up_needed_at: Vec<Duration>,
}

/// Sends the request, waits for UPNEEDED, lets the key wait a little, sends
/// CANCEL and reads the answer.
fn cancel_exchange(
    t: &mut dyn ReportTransport,
    cid: u32,
    request: Vec<u8>,
) -> Result<CancelOutcome, RawError> {
    let started = Instant::now();
    raw::send_message(t, &Message::new(cid, Command::CBOR, request))?;
    let mut up_needed_at = Vec::new();
    let mut cancel_at: Option<Instant> = None;
    let mut deadline = started + UP_NEEDED_WAIT;
    let mut cancel_sent = false;
    loop {
        let now = Instant::now();
        if let Some(at) = cancel_at
            && !cancel_sent
            && now >= at
        {
            raw::send_message(t, &Message::new(cid, Command::CANCEL, Vec::new()))?;
            cancel_sent = true;
            deadline = now + ANSWER_WAIT;
        }
        if now >= deadline {
            return Ok(CancelOutcome {
                cancel_sent,
                answer: None,
                up_needed_at,
            });
        }
        let wait = cancel_at
            .filter(|_| !cancel_sent)
            .map_or(deadline, |at| at.min(deadline))
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        let Some(msg) = raw::read_message(t, cid, wait)? else {
            continue;
        };
        if msg.cmd == Command::KEEPALIVE {
            let status = KeepaliveStatus::from_byte(msg.payload.first().copied().unwrap_or(0));
            if status == KeepaliveStatus::UpNeeded {
                up_needed_at.push(started.elapsed());
                if cancel_at.is_none() {
                    cancel_at = Some(Instant::now() + WAIT_BEFORE_CANCEL);
                    deadline = Instant::now() + WAIT_BEFORE_CANCEL + ANSWER_WAIT;
                }
            }
            continue;
        }
        return Ok(CancelOutcome {
            cancel_sent,
            answer: Some(msg),
            up_needed_at,
        });
    }
}

fn keepalive_cadence(trace: Option<KeepaliveTrace>) -> Verdict {
    let Some(trace) = trace else {
        return Verdict::Skip("the CANCEL check did not run".into());
    };
    if trace.up_needed_at.len() < 2 {
        return Verdict::Skip(
            "the key did not wait for a touch long enough to show a cadence".into(),
        );
    }
    let largest = trace
        .up_needed_at
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some(b.saturating_sub(*a)),
            _ => None,
        })
        .max()
        .unwrap_or_default();
    let note = format!(
        "{} KEEPALIVEs, largest gap {} ms",
        trace.up_needed_at.len(),
        largest.as_millis()
    );
    if largest > KEEPALIVE_GAP_LIMIT {
        fail(
            format!(
                "a KEEPALIVE every 100 ms (failing above {} ms)",
                KEEPALIVE_GAP_LIMIT.as_millis()
            ),
            note,
        )
    } else {
        Verdict::PassNote(note)
    }
}

fn wink(lab: &mut Lab<'_>) -> Step<Verdict> {
    let capabilities = match lab.device.link_info() {
        ctap_client::LinkInfo::Hid { capabilities, .. } => capabilities,
        ctap_client::LinkInfo::Nfc { .. } => 0,
    };
    if capabilities & capability::WINK == 0 {
        return Ok(Verdict::Skip(
            "the WINK capability is not advertised".into(),
        ));
    }
    let cid = channel(lab)?;
    let t = transport(lab)?;
    let answer = raw::send_message(t, &Message::new(cid, Command::WINK, Vec::new()))
        .and_then(|()| raw::read_answer(t, cid, ANSWER_WAIT));
    raw::drain(t, ANSWER_WAIT);
    let answer = answer.map_err(|e| raw_fail(&e))?;
    Ok(verdict(
        answer.as_ref().is_some_and(|m| m.cmd == Command::WINK),
        "a WINK answer",
        raw::describe(answer.as_ref()),
    ))
}

fn lock(lab: &mut Lab<'_>) -> Step<Verdict> {
    let cid = channel(lab)?;
    let t = transport(lab)?;
    let step = |t: &mut dyn ReportTransport| -> Result<_, RawError> {
        raw::send_message(t, &Message::new(cid, Command::LOCK, vec![1]))?;
        let take = raw::read_answer(t, cid, ANSWER_WAIT)?;
        raw::send_message(t, &Message::new(cid, Command::LOCK, vec![0]))?;
        let release = raw::read_answer(t, cid, ANSWER_WAIT)?;
        Ok((take, release))
    };
    let result = step(t);
    raw::drain(t, ANSWER_WAIT);
    let (take, release) = result.map_err(|e| raw_fail(&e))?;
    if raw::is_error(take.as_ref(), HidErrorCode::INVALID_CMD) {
        return Ok(Verdict::Skip(
            "LOCK is optional and this key does not offer it".into(),
        ));
    }
    let locked = |m: &Option<Message>| m.as_ref().is_some_and(|m| m.cmd == Command::LOCK);
    if !locked(&take) {
        return Ok(fail("a LOCK answer", raw::describe(take.as_ref())));
    }
    Ok(verdict(
        locked(&release),
        "a LOCK answer to the release",
        raw::describe(release.as_ref()),
    ))
}
