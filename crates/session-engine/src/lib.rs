//! Keybench's session security engine. The HTTP server wraps it;
//! it has no HTTP framework dependency, only `http` types.
//!
//! | Concern | Module |
//! |---|---|
//! | Secret key: env → keyring → file → generated; status; rotation, grace, revocation | [`secret`] (file helper [`keyfile`]) |
//! | Session ids (43-char base64url) and their validator | [`id`] |
//! | Sealed cookies (cookie crate private jar) | [`seal`] |
//! | Per-request cookie policy | [`policy`] |
//! | Session records, coalesced touch, id rotation, scoped items | [`session`] |
//! | Cleanup sweeps, schedule, budgets, status | [`cleanup`] |
//! | Challenge binding, single use | [`challenge`] |
//! | CSRF (origin, referer, token) | [`csrf`] |
//! | Security headers | [`headers`] |
//! | Security events (tracing + bounded ring) | [`events`] |
//! | Injectable clock | [`clock`] |
//! | The façade the server holds | [`engine`] |
//!
//! Storage is `session_store::Storage`: a local directory or object storage
//! with a local fallback. Calls block; async servers run them on a blocking
//! pool.

#![forbid(unsafe_code)]

pub mod challenge;
pub mod cleanup;
pub mod clock;
pub mod csrf;
pub mod engine;
pub mod events;
pub mod headers;
pub mod id;
pub mod keyfile;
pub mod policy;
pub mod random;
pub mod seal;
pub mod secret;
pub mod session;

pub use challenge::{
    Binding, Ceremony, ChallengeRejection, CheckedChallenge, Consumed, IssuedChallenge,
};
pub use cleanup::{CleanupConfig, CleanupStatus, SweepReport, SweepTrigger};
pub use clock::{Clock, ManualClock, SlewedClock, SystemClock};
pub use csrf::{CsrfRejection, OriginAllowList, OriginVerdict};
pub use engine::{
    CleanupHandle, EngineConfig, EngineError, Opened, SessionEngine, SignInError, StateChange,
};
pub use events::{EventKind, EventLog, SecurityEvent, Severity};
pub use id::{SessionId, SessionIdError};
pub use policy::{
    CookieLifetime, CookiePolicy, EndpointClass, PolicyConfig, RequestContext, Scheme, SecureBasis,
};
pub use secret::{
    DEFAULT_PREVIOUS_KEY_GRACE, KeyManager, KeySource, KeyStatus, KeyringChoice, KeyringProbe,
    KeyringState, SecretKey, SecretKeyConfig, SecretKeyError, probe_keyring,
};
pub use session::{Session, SessionRecord, Touched};
