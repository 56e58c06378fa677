//! Security events: each is logged through `tracing` and kept in a bounded
//! in-memory ring the UI reads. Events carry redacted session ids
//! (`sid:` + 8 characters of a hash) and never secrets: no keys, no full
//! ids, no challenges, no CSRF tokens.

use crate::clock::unix_ms;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Mutex, RwLock};
use std::time::SystemTime;

/// Default ring capacity.
pub const DEFAULT_RING_CAPACITY: usize = 1024;

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Normal operation (session created, challenge consumed).
    Info,
    /// Something was refused or degraded (rejected challenge, fallback).
    Warning,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The secret key was resolved (detail: source and fingerprint).
    KeyResolved,
    /// The OS keyring could not be used; a fallback was taken.
    KeyringFallback,
    /// The secret key was rotated.
    KeyRotated,
    /// The previous secret key was revoked: cookies sealed under it no
    /// longer open.
    PreviousKeyRevoked,
    /// A new session was created.
    SessionCreated,
    /// A session id was rotated (authentication, privilege change).
    SessionRotated,
    /// A session was destroyed (logout).
    SessionDestroyed,
    /// A session cookie was refused (bad seal, bad id, unknown session).
    CookieRejected,
    /// A ceremony challenge was issued.
    ChallengeIssued,
    /// A ceremony challenge was consumed.
    ChallengeConsumed,
    /// A ceremony challenge was refused (detail: the reason).
    ChallengeRejected,
    /// A state-changing request failed the origin or CSRF-token check.
    CsrfRejected,
    /// A cleanup sweep ran.
    CleanupRun,
    /// A budget was exceeded and an emergency sweep ran.
    EmergencySweep,
    /// The storage backend fell back to local.
    StorageFallback,
}

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityEvent {
    /// Sequence number, increasing from 1 (the UI polls `since`).
    pub seq: u64,
    /// When, in ms since the Unix epoch (engine clock).
    pub at_ms: u64,
    /// What.
    pub kind: EventKind,
    /// How serious.
    pub severity: Severity,
    /// The redacted session id, if one is involved.
    pub session: Option<String>,
    /// A machine-readable reason code (`expired`, `reused`, ...), if any.
    pub reason: Option<&'static str>,
    /// Human-readable detail, free of secrets.
    pub detail: String,
}

#[derive(Debug)]
struct Ring {
    events: VecDeque<SecurityEvent>,
    next_seq: u64,
}

/// Called with every event as it is recorded.
type Listener = Box<dyn Fn(&SecurityEvent) + Send + Sync>;

/// The bounded event log. Every change the engine makes records an event,
/// so listeners ([`EventLog::subscribe`]) hear of each change as it
/// happens — the server's live dashboard stream among them.
pub struct EventLog {
    capacity: usize,
    ring: Mutex<Ring>,
    listeners: RwLock<Vec<Listener>>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for EventLog {
    fn default() -> Self {
        Self::new(DEFAULT_RING_CAPACITY)
    }
}

impl EventLog {
    /// A log keeping the last `capacity` events (at least 1).
    pub fn new(capacity: usize) -> EventLog {
        let capacity = capacity.max(1);
        EventLog {
            capacity,
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(4096)),
                next_seq: 1,
            }),
            listeners: RwLock::new(Vec::new()),
        }
    }

    /// Calls `listener` with every event recorded from now on, on the
    /// recording thread (so it must be quick: a channel send, say).
    pub fn subscribe(&self, listener: impl Fn(&SecurityEvent) + Send + Sync + 'static) {
        self.listeners
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(listener));
    }

    /// Records an event: traces it and appends it to the ring, dropping the
    /// oldest when full. `session` must already be redacted.
    pub fn record(
        &self,
        at: SystemTime,
        kind: EventKind,
        severity: Severity,
        session: Option<String>,
        reason: Option<&'static str>,
        detail: impl Into<String>,
    ) {
        let detail = detail.into();
        match severity {
            Severity::Info => tracing::info!(
                target: "keybench::security",
                kind = ?kind, session = session.as_deref().unwrap_or("-"),
                reason = reason.unwrap_or("-"), "{detail}"
            ),
            Severity::Warning => tracing::warn!(
                target: "keybench::security",
                kind = ?kind, session = session.as_deref().unwrap_or("-"),
                reason = reason.unwrap_or("-"), "{detail}"
            ),
        }
        let mut ring = self
            .ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.events.len() == self.capacity {
            ring.events.pop_front();
        }
        let event = SecurityEvent {
            seq,
            at_ms: unix_ms(at),
            kind,
            severity,
            session,
            reason,
            detail,
        };
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !listeners.is_empty() {
            ring.events.push_back(event.clone());
            drop(ring);
            for listener in listeners.iter() {
                listener(&event);
            }
        } else {
            ring.events.push_back(event);
        }
    }

    /// Every event kept, oldest first.
    pub fn snapshot(&self) -> Vec<SecurityEvent> {
        self.since(0)
    }

    /// Events with a sequence number greater than `seq`.
    pub fn since(&self, seq: u64) -> Vec<SecurityEvent> {
        let ring = self
            .ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.events
            .iter()
            .filter(|e| e.seq > seq)
            .cloned()
            .collect()
    }

    /// The sequence number of the newest event (0 before the first): a
    /// cheap change check for watchers, which need not copy the ring.
    pub fn last_seq(&self) -> u64 {
        self.ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next_seq
            - 1
    }

    /// The ring's capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_bounded_and_ordered() {
        let log = EventLog::new(3);
        for i in 0..5 {
            log.record(
                SystemTime::UNIX_EPOCH,
                EventKind::SessionCreated,
                Severity::Info,
                None,
                None,
                format!("event {i}"),
            );
        }
        let all = log.snapshot();
        assert_eq!(all.len(), 3);
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(log.since(4).len(), 1);
        assert_eq!(log.last_seq(), 5);
        assert_eq!(EventLog::new(3).last_seq(), 0);
        assert_eq!(all[0].detail, "event 2");
    }

    #[test]
    fn listeners_hear_every_event_as_it_is_recorded() {
        let log = EventLog::new(2);
        let heard = std::sync::Arc::new(Mutex::new(Vec::new()));
        let h = heard.clone();
        log.subscribe(move |e| h.lock().unwrap().push((e.seq, e.kind)));
        for kind in [
            EventKind::SessionCreated,
            EventKind::ChallengeIssued,
            EventKind::CleanupRun,
        ] {
            log.record(
                SystemTime::UNIX_EPOCH,
                kind,
                Severity::Info,
                None,
                None,
                "x",
            );
        }
        assert_eq!(
            *heard.lock().unwrap(),
            vec![
                (1, EventKind::SessionCreated),
                (2, EventKind::ChallengeIssued),
                (3, EventKind::CleanupRun)
            ]
        );
        // The ring is still bounded and holds the same events.
        assert_eq!(log.snapshot().len(), 2);
    }
}
