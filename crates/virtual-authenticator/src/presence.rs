//! User presence: how the virtual user answers "touch your key" — and, on
//! a key with the fingerprint sensor, "touch with finger N" (an enrolment
//! sample or a match: approve is a good sample or a match, deny a poor
//! sample or no match).
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
    /// What the fingerprint sensor wants, when it is a finger it asks for.
    pub fingerprint: Option<FingerprintRequest>,
}

/// What the virtual fingerprint sensor asks the user to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintRequest {
    /// One enrolment sample of finger `finger` (numbered from 1 in the
    /// order fingers are enrolled); `remaining` samples are still needed,
    /// this one included.
    Sample {
        /// Which finger is being enrolled.
        finger: usize,
        /// Samples still needed, this one included.
        remaining: u64,
    },
    /// A match against the enrolled fingers (user verification).
    Match {
        /// How many fingers are enrolled.
        enrolled: usize,
    },
}

impl FingerprintRequest {
    /// What to tell the person: "Touch with finger 2 (3 samples to go)".
    pub fn instruction(&self) -> String {
        match self {
            FingerprintRequest::Sample { finger, remaining } => format!(
                "Touch with finger {finger} ({remaining} sample{} to go)",
                if *remaining == 1 { "" } else { "s" }
            ),
            FingerprintRequest::Match { enrolled: 1 } => "Touch with finger 1".to_owned(),
            FingerprintRequest::Match { enrolled } => {
                format!("Touch with an enrolled finger (1 to {enrolled})")
            }
        }
    }
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
