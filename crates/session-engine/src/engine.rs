//! The engine the server holds: one value joining the key, the storage, the
//! cookie policy, challenges, CSRF checks, cleanup and the event log. Each
//! method is one request-level operation and records its security events.

use crate::challenge::{
    self, Binding, ChallengeRejection, CheckedChallenge, Consumed, IssuedChallenge,
};
use crate::cleanup::{Cleaner, CleanupConfig, CleanupStatus, SweepReport, SweepTrigger};
use crate::clock::{Clock, unix_ms};
use crate::csrf::{self, CsrfRejection, OriginAllowList, OriginVerdict};
use crate::events::{EventKind, EventLog, Severity};
use crate::headers::{HeaderConfig, security_headers};
use crate::id::SessionId;
use crate::policy::{
    CookieLifetime, CookiePolicy, PolicyConfig, RequestContext, effective_scheme, find_cookie,
};
use crate::seal::{self, OpenedWith};
use crate::secret::{KeyManager, KeyStatus, SecretKey, SecretKeyConfig, SecretKeyError};
use crate::session::{self, Session, SessionError, SessionItems, Touched};
use http::{HeaderMap, Method};
use session_store::{
    BackendState, BackendStatus, BatchOutcome, BatchRefusal, BatchWrite, Storage, StoreError,
};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Cookie policy settings.
    pub policy: PolicyConfig,
    /// Cleanup settings.
    pub cleanup: CleanupConfig,
    /// Challenge TTL (default 5 minutes).
    pub challenge_ttl: Duration,
    /// Last-access updates are written at most this often per session.
    pub touch_coalesce: Duration,
    /// Origins allowed to make state-changing requests.
    pub allowed_origins: OriginAllowList,
    /// Security header settings.
    pub headers: HeaderConfig,
    /// Capacity of the event ring.
    pub event_capacity: usize,
    /// How long a rotated-out secret key keeps opening cookies (default one
    /// day); overrides [`SecretKeyConfig::retire_after`].
    pub previous_key_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            policy: PolicyConfig::default(),
            cleanup: CleanupConfig::default(),
            challenge_ttl: challenge::DEFAULT_TTL,
            touch_coalesce: Duration::from_secs(60),
            allowed_origins: OriginAllowList::default(),
            headers: HeaderConfig::default(),
            event_capacity: crate::events::DEFAULT_RING_CAPACITY,
            previous_key_grace: crate::secret::DEFAULT_PREVIOUS_KEY_GRACE,
        }
    }
}

/// Why an engine operation failed (as opposed to refusing a request).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Session storage failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
    /// The secret key could not be resolved or rotated.
    #[error(transparent)]
    Key(#[from] SecretKeyError),
}

/// Why [`SessionEngine::sign_in`] made none of its writes.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The challenge was consumed meanwhile (a replay racing this one).
    #[error(transparent)]
    Challenge(ChallengeRejection),
    /// One of the application's writes was refused (its index among them,
    /// and why); the challenge is consumed.
    #[error("write {index} of the sign-in was refused: {why:?}")]
    Refused {
        /// Index into the application's writes.
        index: usize,
        /// Why.
        why: BatchRefusal,
    },
    /// Storage or the session failed (a session removed meanwhile is
    /// [`StoreError::ScopeGone`]).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// How a sign-in changes the session record.
fn signed_in(
    user: &str,
    privileges: Vec<String>,
    now: std::time::SystemTime,
) -> impl FnOnce(&mut session::SessionRecord) {
    move |r| {
        r.user = Some(user.to_owned());
        r.privileges = privileges;
        r.authenticated_ms = Some(unix_ms(now));
    }
}

/// A session opened for a request.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The session.
    pub session: Session,
    /// A `Set-Cookie` value to send, when the cookie must change (new
    /// session, rotated id, re-sealed under a new key).
    pub set_cookie: Option<String>,
    /// The policy applied.
    pub policy: CookiePolicy,
    /// The session was created by this request.
    pub created: bool,
}

/// What kind of state change a request makes (for the CSRF check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    /// A WebAuthn ceremony step: origin check only; the bound challenge
    /// protects the rest.
    Ceremony,
    /// Anything else: origin check and the session's CSRF token.
    Other,
}

/// The session security engine.
#[derive(Debug)]
pub struct SessionEngine {
    config: EngineConfig,
    store: Arc<dyn Storage>,
    keys: KeyManager,
    clock: Arc<dyn Clock>,
    events: Arc<EventLog>,
    cleaner: Cleaner,
    storage_state: Mutex<BackendState>,
}

impl SessionEngine {
    /// An engine whose key is resolved per `secret` (an explicit key first,
    /// then the keyring).
    pub fn new(
        config: EngineConfig,
        store: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        secret: &SecretKeyConfig,
    ) -> Result<SessionEngine, EngineError> {
        let events = Arc::new(EventLog::new(config.event_capacity));
        let secret = SecretKeyConfig {
            retire_after: config.previous_key_grace,
            ..secret.clone()
        };
        let keys = KeyManager::resolve(&secret, clock.clone(), &events)?;
        Ok(Self::assemble(config, store, clock, keys, events))
    }

    /// An engine over a given key kept in memory (tests, benchmarks).
    pub fn with_key(
        config: EngineConfig,
        store: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        key: SecretKey,
    ) -> SessionEngine {
        let events = Arc::new(EventLog::new(config.event_capacity));
        let keys = KeyManager::in_memory_with_grace(key, clock.clone(), config.previous_key_grace);
        Self::assemble(config, store, clock, keys, events)
    }

    fn assemble(
        config: EngineConfig,
        store: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        keys: KeyManager,
        events: Arc<EventLog>,
    ) -> SessionEngine {
        let cleaner = Cleaner::new(config.cleanup.clone(), clock.now());
        let storage_state = Mutex::new(store.status().state);
        SessionEngine {
            config,
            store,
            keys,
            clock,
            events,
            cleaner,
            storage_state,
        }
    }

    /// The event log.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn event(
        &self,
        kind: EventKind,
        severity: Severity,
        session: Option<String>,
        reason: Option<&'static str>,
        detail: impl Into<String>,
    ) {
        self.events
            .record(self.clock.now(), kind, severity, session, reason, detail);
    }

    // ---- cookies -------------------------------------------------------

    /// The cookie policy for a request and a lifetime (for display, too).
    pub fn cookie_policy(
        &self,
        ctx: &RequestContext<'_>,
        lifetime: CookieLifetime,
    ) -> CookiePolicy {
        CookiePolicy::for_request(&self.config.policy, ctx, lifetime)
    }

    fn lifetime_of(session: &Session) -> CookieLifetime {
        if session.record.is_authenticated() {
            CookieLifetime::Authenticated
        } else {
            CookieLifetime::Metadata
        }
    }

    fn issue_cookie(&self, ctx: &RequestContext<'_>, session: &Session) -> (CookiePolicy, String) {
        let policy = self.cookie_policy(ctx, Self::lifetime_of(session));
        let sealed = seal::seal(&self.keys, &policy.name, &session.id);
        let header = policy.set_cookie(&sealed);
        (policy, header)
    }

    /// Opens the request's existing session, if its cookie is valid and the
    /// session exists and is not idle past the limit. Never creates one and
    /// never adopts an id the client chose: the id comes only out of a seal.
    pub fn open(&self, ctx: &RequestContext<'_>) -> Result<Option<Opened>, EngineError> {
        let probe = self.cookie_policy(ctx, CookieLifetime::Metadata);
        let Some(value) = find_cookie(ctx.headers, &probe.name) else {
            return Ok(None);
        };
        let (id, with) = match seal::open(&self.keys, &probe.name, &value) {
            Ok(v) => v,
            Err(e) => {
                self.event(
                    EventKind::CookieRejected,
                    Severity::Warning,
                    None,
                    Some(e.code()),
                    format!("session cookie refused: {e}"),
                );
                return Ok(None);
            }
        };
        let Some(mut session) = session::load(&*self.store, &id)? else {
            self.event(
                EventKind::CookieRejected,
                Severity::Warning,
                Some(id.redacted()),
                Some("unknown_session"),
                "session cookie names no stored session",
            );
            return Ok(None);
        };
        let now = self.clock.now();
        let idle_ms = unix_ms(now).saturating_sub(session.record.last_access_ms);
        if u128::from(idle_ms) > self.config.cleanup.idle_limit.as_millis() {
            session::destroy(&*self.store, &id)?;
            self.cleaner.session_removed();
            self.event(
                EventKind::SessionDestroyed,
                Severity::Info,
                Some(id.redacted()),
                Some("idle_expired"),
                "session idle past the limit; removed",
            );
            return Ok(None);
        }
        // An authenticated session past its lifetime loses its privileges,
        // which is a privilege change: the id rotates.
        if let Some(at) = session.record.authenticated_ms {
            let age = unix_ms(now).saturating_sub(at);
            if u128::from(age) > self.config.policy.authenticated_max_age.as_millis() {
                let rotated = session::rotate(&*self.store, &session, now, |r| {
                    r.user = None;
                    r.privileges.clear();
                    r.authenticated_ms = None;
                })?;
                self.event(
                    EventKind::SessionRotated,
                    Severity::Info,
                    Some(rotated.id.redacted()),
                    Some("auth_expired"),
                    format!(
                        "authentication expired; {} -> {}",
                        id.redacted(),
                        rotated.id.redacted()
                    ),
                );
                let (policy, header) = self.issue_cookie(ctx, &rotated);
                return Ok(Some(Opened {
                    session: rotated,
                    set_cookie: Some(header),
                    policy,
                    created: false,
                }));
            }
        }
        if session::touch(&*self.store, &mut session, now, self.config.touch_coalesce)?
            == Touched::Gone
        {
            // Logged out or rotated by a concurrent request.
            self.event(
                EventKind::CookieRejected,
                Severity::Warning,
                Some(id.redacted()),
                Some("unknown_session"),
                "session removed while the request was opening it",
            );
            return Ok(None);
        }
        let (policy, set_cookie) = if with == OpenedWith::Previous {
            let (p, h) = self.issue_cookie(ctx, &session);
            (p, Some(h))
        } else {
            (self.cookie_policy(ctx, Self::lifetime_of(&session)), None)
        };
        Ok(Some(Opened {
            session,
            set_cookie,
            policy,
            created: false,
        }))
    }

    /// Opens the request's session, or creates a new one (with a new id).
    pub fn open_or_create(&self, ctx: &RequestContext<'_>) -> Result<Opened, EngineError> {
        if let Some(opened) = self.open(ctx)? {
            return Ok(opened);
        }
        self.create(ctx)
    }

    /// Creates a new session (with a new id) for a request that has none
    /// ([`SessionEngine::open`] found none): callers that limit who may
    /// create sessions open first, decide, then create.
    pub fn create(&self, ctx: &RequestContext<'_>) -> Result<Opened, EngineError> {
        let session = session::create(&*self.store, self.clock.now())?;
        self.cleaner.session_created();
        self.event(
            EventKind::SessionCreated,
            Severity::Info,
            Some(session.id.redacted()),
            None,
            "new session",
        );
        let (policy, header) = self.issue_cookie(ctx, &session);
        Ok(Opened {
            session,
            set_cookie: Some(header),
            policy,
            created: true,
        })
    }

    /// The session authenticated as `user`: the id rotates (fixation
    /// defence), the CSRF token is renewed.
    pub fn authenticate(
        &self,
        ctx: &RequestContext<'_>,
        session: &Session,
        user: &str,
        privileges: Vec<String>,
    ) -> Result<Opened, EngineError> {
        let now = self.clock.now();
        let rotated =
            session::rotate(&*self.store, session, now, signed_in(user, privileges, now))?;
        Ok(self.rotated_by_authentication(ctx, session, rotated))
    }

    /// A ceremony completed: consumes its `challenge` and authenticates the
    /// session as `user` (as [`SessionEngine::authenticate`]), together with
    /// the application's own writes `with` (a credential's counter), in one
    /// [`Storage::commit_batch`]: one durable commit instead of one per
    /// write. The consumption comes first, so on every backend it decides.
    /// When another write is refused the challenge is still consumed (it
    /// was presented once) and the refusal is returned.
    pub fn sign_in(
        &self,
        ctx: &RequestContext<'_>,
        challenge: CheckedChallenge,
        session: &Session,
        user: &str,
        privileges: Vec<String>,
        with: &[BatchWrite<'_>],
    ) -> Result<(Consumed, Opened), SignInError> {
        let now = self.clock.now();
        let (rotated, record) = session::rotation(session, now, signed_in(user, privileges, now))
            .map_err(EngineError::from)?;
        let (from, to, record_item) = (
            session.id.scope(),
            rotated.id.scope(),
            session::record_item(),
        );
        let mut writes = Vec::with_capacity(with.len() + 2);
        writes.push(challenge.consumption());
        writes.extend_from_slice(with);
        writes.push(BatchWrite::MoveScope {
            from: &from,
            to: &to,
            item: &record_item,
            value: &record,
        });
        let outcome = self.store.commit_batch(&writes);
        drop(writes);
        let refused = match outcome {
            Ok(BatchOutcome::Committed) => None,
            Ok(BatchOutcome::Refused { index, why }) => Some((index, why)),
            Err(e) => {
                let rejection = ChallengeRejection::Storage(e.to_string());
                self.challenge_event(&session.id, &Err(rejection));
                return Err(SignInError::Engine(EngineError::Storage(e)));
            }
        };
        match refused {
            None => {
                let consumed = challenge.into_consumed();
                self.challenge_event(&session.id, &Ok(consumed.clone()));
                Ok((
                    consumed,
                    self.rotated_by_authentication(ctx, session, rotated),
                ))
            }
            Some((0, _)) => {
                let rejection = ChallengeRejection::Reused;
                self.challenge_event(&session.id, &Err(rejection.clone()));
                Err(SignInError::Challenge(rejection))
            }
            Some((index, why)) => {
                // Consumed anyway (a backend that writes in steps has
                // already done it: then this answers Reused, which is fine).
                let _ = self.consume_checked(challenge, &session.id);
                // The consumption is write 0, then `with`, then the move.
                if index > with.len() {
                    Err(SignInError::Engine(EngineError::Storage(
                        StoreError::ScopeGone,
                    )))
                } else {
                    Err(SignInError::Refused {
                        index: index - 1,
                        why,
                    })
                }
            }
        }
    }

    /// The event and cookie of an id rotated by a sign-in.
    fn rotated_by_authentication(
        &self,
        ctx: &RequestContext<'_>,
        session: &Session,
        rotated: Session,
    ) -> Opened {
        self.event(
            EventKind::SessionRotated,
            Severity::Info,
            Some(rotated.id.redacted()),
            Some("authenticated"),
            format!(
                "authenticated; {} -> {}",
                session.id.redacted(),
                rotated.id.redacted()
            ),
        );
        let (policy, header) = self.issue_cookie(ctx, &rotated);
        Opened {
            session: rotated,
            set_cookie: Some(header),
            policy,
            created: false,
        }
    }

    /// The session's privileges changed: the id rotates.
    pub fn change_privileges(
        &self,
        ctx: &RequestContext<'_>,
        session: &Session,
        privileges: Vec<String>,
    ) -> Result<Opened, EngineError> {
        let rotated = session::rotate(&*self.store, session, self.clock.now(), |r| {
            r.privileges = privileges
        })?;
        self.event(
            EventKind::SessionRotated,
            Severity::Info,
            Some(rotated.id.redacted()),
            Some("privilege_change"),
            format!(
                "privileges changed; {} -> {}",
                session.id.redacted(),
                rotated.id.redacted()
            ),
        );
        let (policy, header) = self.issue_cookie(ctx, &rotated);
        Ok(Opened {
            session: rotated,
            set_cookie: Some(header),
            policy,
            created: false,
        })
    }

    /// Ends a session: its items are removed; returns the `Set-Cookie`
    /// value that clears the cookie.
    pub fn logout(
        &self,
        ctx: &RequestContext<'_>,
        session: &Session,
    ) -> Result<String, EngineError> {
        session::destroy(&*self.store, &session.id)?;
        self.cleaner.session_removed();
        self.event(
            EventKind::SessionDestroyed,
            Severity::Info,
            Some(session.id.redacted()),
            Some("logout"),
            "session ended",
        );
        Ok(self
            .cookie_policy(ctx, Self::lifetime_of(session))
            .clear_cookie())
    }

    /// The application's items of a session.
    pub fn items<'a>(&'a self, session: &Session) -> SessionItems<'a> {
        SessionItems::new(&*self.store, session.id.clone())
    }

    // ---- challenges ----------------------------------------------------

    /// Issues a challenge bound to `binding`, valid for the configured TTL.
    pub fn issue_challenge(&self, binding: &Binding) -> Result<IssuedChallenge, EngineError> {
        self.issue_challenge_with(binding, None)
    }

    /// Issues a challenge and stores the application's `context` with it;
    /// a successful [`SessionEngine::consume_challenge`] returns it.
    pub fn issue_challenge_with(
        &self,
        binding: &Binding,
        context: Option<&str>,
    ) -> Result<IssuedChallenge, EngineError> {
        let issued = challenge::issue(
            &*self.store,
            binding,
            self.clock.now(),
            self.config.challenge_ttl,
            context,
        )?;
        self.event(
            EventKind::ChallengeIssued,
            Severity::Info,
            Some(binding.session.redacted()),
            None,
            format!(
                "{:?} challenge issued for rp {}",
                binding.ceremony, binding.rp_id
            ),
        );
        Ok(issued)
    }

    /// Consumes a presented challenge; every refusal is a security event.
    pub fn consume_challenge(
        &self,
        presented: &[u8],
        expected: &Binding,
    ) -> Result<Consumed, ChallengeRejection> {
        let consumed = challenge::consume(&*self.store, presented, expected, self.clock.now());
        self.challenge_event(&expected.session, &consumed);
        consumed
    }

    /// Checks a presented challenge against its binding without consuming
    /// it (see [`challenge::check`]); a refusal is a security event. The
    /// caller then consumes it: with [`SessionEngine::sign_in`], or alone
    /// with [`SessionEngine::consume_checked`].
    pub fn check_challenge(
        &self,
        presented: &[u8],
        expected: &Binding,
    ) -> Result<CheckedChallenge, ChallengeRejection> {
        let checked = challenge::check(&*self.store, presented, expected, self.clock.now());
        if let Err(e) = &checked {
            self.challenge_event(&expected.session, &Err(e.clone()));
        }
        checked
    }

    /// Consumes a checked challenge on its own write.
    pub fn consume_checked(
        &self,
        checked: CheckedChallenge,
        session: &SessionId,
    ) -> Result<Consumed, ChallengeRejection> {
        let consumed = challenge::consume_checked(&*self.store, checked);
        self.challenge_event(session, &consumed);
        consumed
    }

    /// The security event of a challenge's consumption or refusal.
    fn challenge_event(&self, session: &SessionId, result: &Result<Consumed, ChallengeRejection>) {
        match result {
            Ok(c) => self.event(
                EventKind::ChallengeConsumed,
                Severity::Info,
                Some(session.redacted()),
                None,
                format!("{:?} challenge consumed", c.ceremony),
            ),
            Err(e) => self.event(
                EventKind::ChallengeRejected,
                Severity::Warning,
                Some(session.redacted()),
                Some(e.code()),
                format!("challenge refused: {e}"),
            ),
        }
    }

    // ---- CSRF and headers ----------------------------------------------

    /// Checks a request for CSRF: origin (then referer) against the
    /// allow-list for unsafe methods, plus the session's token for
    /// non-ceremony state changes.
    pub fn check_csrf(
        &self,
        method: &Method,
        headers: &HeaderMap,
        session: Option<&Session>,
        change: StateChange,
    ) -> Result<OriginVerdict, CsrfRejection> {
        let redacted = session.map(|s| s.id.redacted());
        let result =
            csrf::check_origin(method, headers, &self.config.allowed_origins).and_then(|verdict| {
                if verdict == OriginVerdict::SafeMethod || change == StateChange::Ceremony {
                    return Ok(verdict);
                }
                let token = session
                    .map(|s| s.record.csrf_token.as_str())
                    .ok_or(CsrfRejection::MissingToken)?;
                csrf::check_token(headers, token).map(|()| verdict)
            });
        if let Err(e) = &result {
            self.event(
                EventKind::CsrfRejected,
                Severity::Warning,
                redacted,
                Some(e.code()),
                format!("{method} refused: {e}"),
            );
        }
        result
    }

    /// The security headers for a response to this request.
    pub fn security_headers(&self, ctx: &RequestContext<'_>) -> HeaderMap {
        let (scheme, _) = effective_scheme(ctx, &self.config.policy.trusted_proxies);
        security_headers(scheme, &self.config.headers)
    }

    // ---- key -----------------------------------------------------------

    /// The secret key's status.
    pub fn key_status(&self) -> KeyStatus {
        self.keys.status()
    }

    /// Rotates the secret key.
    pub fn rotate_key(&self) -> Result<KeyStatus, EngineError> {
        Ok(self.keys.rotate(&self.events)?)
    }

    /// Drops the previous secret key durably: cookies sealed under it stop
    /// opening now instead of at the end of the grace period.
    pub fn revoke_previous_key(&self) -> Result<KeyStatus, EngineError> {
        Ok(self.keys.revoke_previous(&self.events)?)
    }

    // ---- storage and cleanup -------------------------------------------

    /// The storage status; a change into or out of the local fallback is
    /// recorded as an event when first seen.
    pub fn storage_status(&self) -> BackendStatus {
        let status = self.store.status();
        {
            let mut last = self
                .storage_state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let was_fallback = matches!(*last, BackendState::FallbackLocal { .. });
            let is_fallback = matches!(status.state, BackendState::FallbackLocal { .. });
            if was_fallback != is_fallback {
                let (sev, detail) = match &status.state {
                    BackendState::FallbackLocal { reason, .. } => (
                        Severity::Warning,
                        format!("storage fell back to local: {reason}"),
                    ),
                    _ => (
                        Severity::Info,
                        format!("storage back on {}", status.backend),
                    ),
                };
                self.event(
                    EventKind::StorageFallback,
                    sev,
                    None,
                    Some(status.backend),
                    detail,
                );
            }
            *last = status.state.clone();
        }
        status
    }

    /// The cleanup status.
    pub fn cleanup_status(&self) -> CleanupStatus {
        self.cleaner.status()
    }

    fn run_sweep(&self, trigger: SweepTrigger) -> Option<SweepReport> {
        let report = self.cleaner.run(&*self.store, self.clock.now(), trigger)?;
        let kind = if trigger == SweepTrigger::Emergency {
            EventKind::EmergencySweep
        } else {
            EventKind::CleanupRun
        };
        let severity = if report.error_count > 0 || trigger == SweepTrigger::Emergency {
            Severity::Warning
        } else {
            Severity::Info
        };
        self.event(kind, severity, None, None, format!(
            "{trigger:?} sweep: scanned {}, removed {} idle, {} empty, {} over budget, {} challenges; {} errors",
            report.scanned, report.removed_idle, report.removed_empty, report.removed_budget, report.removed_challenges, report.error_count
        ));
        let _ = self.storage_status();
        Some(report)
    }

    /// Runs a sweep now (the manual trigger); `None` if one is running.
    pub fn sweep_now(&self) -> Option<SweepReport> {
        self.run_sweep(SweepTrigger::Manual)
    }

    /// Runs the sweep that is due, if any (emergency first).
    pub fn run_due_cleanup(&self) -> Option<SweepReport> {
        let trigger = self.cleaner.due(self.clock.now())?;
        self.run_sweep(trigger)
    }

    /// Starts a background thread that checks every `tick` whether a sweep
    /// is due. Stops when the handle is dropped.
    pub fn spawn_cleanup(self: &Arc<Self>, tick: Duration) -> CleanupHandle {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (engine, stop2) = (Arc::clone(self), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("session-cleanup".to_owned())
            .spawn(move || {
                let (lock, cv) = &*stop2;
                loop {
                    let Ok(guard) = lock.lock() else { return };
                    let Ok((guard, _)) = cv.wait_timeout_while(guard, tick, |stopped| !*stopped)
                    else {
                        return;
                    };
                    if *guard {
                        return;
                    }
                    drop(guard);
                    let _ = engine.run_due_cleanup();
                }
            })
            .ok();
        CleanupHandle { stop, thread }
    }
}

/// Stops the background cleanup thread when dropped.
#[derive(Debug)]
pub struct CleanupHandle {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl CleanupHandle {
    /// True if the thread started.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for CleanupHandle {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        {
            let mut stopped = lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *stopped = true;
        }
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
