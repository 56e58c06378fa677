//! User presence: how the virtual user answers "touch your key".
//!
//! A policy approves, denies, answers after a delay, or asks someone (a UI,
//! a terminal) through [`PresencePrompt`]. While it waits the key reports
//! UP_NEEDED in its KEEPALIVEs, and a CTAPHID CANCEL ends the wait.

use ctaphid::KeepaliveStatus;
use ctaphid::serve::RequestContext;
use fido_wire::ctap2::StatusCode;
use std::fmt;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long an unanswered prompt waits before USER_ACTION_TIMEOUT.
pub const PROMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the key is asking presence for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceRequest {
    /// The CTAP operation ("makeCredential", "getAssertion", "reset", ...).
    pub operation: &'static str,
    /// The relying party, when the operation has one.
    pub rp_id: Option<String>,
}

/// The answer to a prompt: `true` is a touch, `false` a refusal. Dropping it
/// unanswered counts as a refusal.
#[derive(Debug)]
pub struct PresenceResponder(mpsc::Sender<bool>);

impl PresenceResponder {
    /// Answers the prompt.
    pub fn answer(self, touched: bool) {
        // The key may have stopped waiting (cancel, timeout); nothing to do then.
        let _ = self.0.send(touched);
    }
}

/// Someone who can be asked to touch the key.
pub trait PresencePrompt: Send + Sync {
    /// Shows the request; the answer comes later through `responder`.
    fn ask(&self, request: PresenceRequest, responder: PresenceResponder);
}

/// A channel is a prompt: each request arrives with its responder.
impl PresencePrompt for mpsc::Sender<(PresenceRequest, PresenceResponder)> {
    fn ask(&self, request: PresenceRequest, responder: PresenceResponder) {
        // A closed channel drops the responder, which is a refusal.
        let _ = self.send((request, responder));
    }
}

/// How the virtual user answers a request for presence.
#[derive(Clone)]
pub enum PresencePolicy {
    /// Touch at once.
    Approve,
    /// Never touch: presence is refused (OPERATION_DENIED).
    Deny,
    /// Touch after this long, reporting UP_NEEDED meanwhile; CANCEL ends the wait.
    Delay(Duration),
    /// Ask a person through a prompt; no answer within [`PROMPT_TIMEOUT`] is
    /// USER_ACTION_TIMEOUT.
    Ask(Arc<dyn PresencePrompt>),
}

impl fmt::Debug for PresencePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresencePolicy::Approve => write!(f, "Approve"),
            PresencePolicy::Deny => write!(f, "Deny"),
            PresencePolicy::Delay(d) => write!(f, "Delay({d:?})"),
            PresencePolicy::Ask(_) => write!(f, "Ask"),
        }
    }
}

impl PresencePolicy {
    /// Waits for the virtual user's touch. `honour_cancel` is false only
    /// for the deliberate fault that ignores CANCEL: the wait then ends as
    /// if touched.
    pub(crate) fn collect(
        &self,
        request: PresenceRequest,
        ctx: &RequestContext,
        honour_cancel: bool,
    ) -> Result<(), StatusCode> {
        let (until, answer) = match self {
            PresencePolicy::Approve => return Ok(()),
            PresencePolicy::Deny => return Err(StatusCode::OPERATION_DENIED),
            PresencePolicy::Delay(wait) => (Instant::now() + *wait, None),
            PresencePolicy::Ask(prompt) => {
                let (tx, rx) = mpsc::channel();
                prompt.ask(request, PresenceResponder(tx));
                (Instant::now() + PROMPT_TIMEOUT, Some(rx))
            }
        };
        ctx.set_status(KeepaliveStatus::UpNeeded);
        let result = loop {
            if ctx.is_cancelled() {
                break if honour_cancel {
                    Err(StatusCode::KEEPALIVE_CANCEL)
                } else {
                    Ok(())
                };
            }
            let now = Instant::now();
            if now >= until {
                break match answer {
                    None => Ok(()),
                    Some(_) => Err(StatusCode::USER_ACTION_TIMEOUT),
                };
            }
            let tick = (until - now).min(Duration::from_millis(5));
            match &answer {
                None => std::thread::sleep(tick),
                Some(rx) => match rx.recv_timeout(tick) {
                    Ok(true) => break Ok(()),
                    Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                        break Err(StatusCode::OPERATION_DENIED);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                },
            }
        };
        ctx.set_status(KeepaliveStatus::Processing);
        result
    }
}
