//! Runs a device: reads reports from a transport, drives [`DeviceFraming`],
//! hands complete requests to a [`RequestHandler`] on a worker thread, and
//! sends KEEPALIVE every 100 ms while the handler works (PROCESSING, or
//! UP_NEEDED while it waits for a touch). CANCEL reaches the handler through
//! [`RequestContext::is_cancelled`].

use crate::device::{DeviceAction, DeviceFraming, DeviceIdentity};
use crate::message::Message;
use crate::packet::KeepaliveStatus;
use crate::transport::{ReportTransport, TransportError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Interval between KEEPALIVE reports while a request is processed.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_millis(100);

/// What a handler sees of its request's surroundings.
#[derive(Debug, Clone)]
pub struct RequestContext {
    status: Arc<AtomicU8>,
    cancelled: Arc<AtomicBool>,
}

impl RequestContext {
    fn new() -> Self {
        RequestContext {
            status: Arc::new(AtomicU8::new(KeepaliveStatus::Processing.to_byte())),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Sets what the next KEEPALIVE reports.
    pub fn set_status(&self, status: KeepaliveStatus) {
        self.status.store(status.to_byte(), Ordering::SeqCst);
    }

    /// Whether the host sent CANCEL for this request.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// A context for calling a handler directly (in-process use, other
    /// transports, tests).
    pub fn detached() -> Self {
        Self::new()
    }

    /// What the handler last reported (for transports that poll for it,
    /// as NFC's NFCCTAP_GETRESPONSE does).
    pub fn status(&self) -> KeepaliveStatus {
        KeepaliveStatus::from_byte(self.status.load(Ordering::SeqCst))
    }

    /// Cancels the request (for transports with their own cancel message).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

/// Answers complete CTAPHID requests (CBOR, MSG, WINK).
pub trait RequestHandler: Send + 'static {
    /// Returns the answer's payload; it is sent with the request's command.
    fn handle(&mut self, request: &Message, ctx: &RequestContext) -> Vec<u8>;
}

/// Serves `handler` on `transport` until `stop` is set or the transport
/// disconnects.
pub fn serve<T: ReportTransport, H: RequestHandler>(
    mut transport: T,
    identity: DeviceIdentity,
    mut handler: H,
    stop: Arc<AtomicBool>,
) -> Result<(), TransportError> {
    let (work_tx, work_rx) = mpsc::channel::<(Message, RequestContext)>();
    let (done_tx, done_rx) = mpsc::channel::<Message>();
    let worker = std::thread::spawn(move || {
        for (request, ctx) in work_rx {
            let payload = handler.handle(&request, &ctx);
            if done_tx
                .send(Message::new(request.cid, request.cmd, payload))
                .is_err()
            {
                break;
            }
        }
    });

    let mut framing = DeviceFraming::new(identity);
    let mut current: Option<(u32, RequestContext, Instant)> = None;
    let result = loop {
        if stop.load(Ordering::SeqCst) {
            break Ok(());
        }
        let mut actions = Vec::new();
        // While the handler works, wait on its answer first so a fast answer
        // goes out at once, then look briefly at the transport (CANCEL, other
        // channels). While idle, wait on the transport.
        let transport_wait = if current.is_some() {
            if let Ok(answer) = done_rx.recv_timeout(Duration::from_millis(2)) {
                current = None;
                // An answer too long to frame is refused cleanly, never sent oversized.
                if let Ok(reports) = framing.respond(answer) {
                    actions.push(DeviceAction::Send(reports));
                }
                Duration::ZERO
            } else {
                Duration::from_millis(1)
            }
        } else {
            Duration::from_millis(10)
        };
        let now = Instant::now();
        actions.extend(match transport.recv(transport_wait) {
            Ok(Some(report)) => framing.on_report(&report, now),
            Ok(None) => framing.on_tick(now),
            Err(e) => break Err(e),
        });
        let mut send_failed = None;
        for action in actions {
            match action {
                DeviceAction::Send(reports) => {
                    for r in reports {
                        if let Err(e) = transport.send(&r) {
                            send_failed = Some(e);
                        }
                    }
                }
                DeviceAction::Request(msg) => {
                    let ctx = RequestContext::new();
                    current = Some((msg.cid, ctx.clone(), Instant::now()));
                    if work_tx.send((msg, ctx)).is_err() {
                        send_failed = Some(TransportError::Disconnected);
                    }
                }
                DeviceAction::Cancel { cid } => {
                    if let Some((busy, ctx, _)) = &current
                        && *busy == cid
                    {
                        ctx.cancelled.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
        if let Some(e) = send_failed {
            break Err(e);
        }
        if let Some((cid, ctx, last)) = current.as_mut()
            && last.elapsed() >= KEEPALIVE_INTERVAL
        {
            let status = KeepaliveStatus::from_byte(ctx.status.load(Ordering::SeqCst));
            if let Err(e) = transport.send(&framing.keepalive(*cid, status)) {
                break Err(e);
            }
            *last = Instant::now();
        }
    };
    drop(work_tx);
    // The worker ends when its queue closes; a handler stuck in a long wait is
    // left to finish on its own rather than blocking shutdown.
    if worker.is_finished() {
        let _ = worker.join();
    }
    result
}
