//! The inspection API's answers (docs/API.md, "Inspection"): what the
//! session engine reports, as the dashboard shows it — camelCase members,
//! RFC 3339 times, flat cookie rows, the key's source named for people.
//! The UI reads these as they are; nothing converts them again.

use serde::Serialize;
use session_engine::session::SessionView;
use session_engine::{CleanupStatus, SweepReport};
use session_engine::{KeySource, KeyStatus, SecurityEvent};

use relying_party::date::rfc3339_millis as rfc3339;

/// One session.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Redacted id (`sid:` + 8 characters).
    pub id: String,
    /// The tag alone.
    pub tag: String,
    /// Created.
    pub created: String,
    /// Last access.
    pub last_access: String,
    /// When idleness removes it.
    pub expires: String,
    /// The signed-in user.
    pub user: Option<String>,
    /// Signed in.
    pub authenticated: bool,
    /// Items it holds.
    pub items: usize,
    /// Bytes it holds.
    pub bytes: u64,
    /// The session of the request asking.
    pub current: bool,
}

impl Session {
    /// The view of `s`; `current` when it is the asking request's.
    pub fn of(s: &SessionView, current: bool) -> Session {
        Session {
            id: s.id.clone(),
            tag: s.tag.clone(),
            created: rfc3339(s.created_ms),
            last_access: rfc3339(s.last_access_ms),
            expires: rfc3339(s.expires_ms),
            user: s.user.clone(),
            authenticated: s.authenticated,
            items: s.items,
            bytes: s.bytes,
            current,
        }
    }
}

/// One bound challenge.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// The first 8 characters of its handle.
    pub id: String,
    /// "registration" or "authentication".
    pub ceremony: session_engine::Ceremony,
    /// The user it is bound to.
    pub user: Option<String>,
    /// The RP ID it is bound to.
    pub rp_id: String,
    /// The origin it is bound to.
    pub origin: String,
    /// The bound session's tag.
    pub session: String,
    /// Issued.
    pub created: String,
    /// Expires.
    pub expires: String,
    /// Consumed, when it was.
    pub consumed: Option<String>,
    /// "issued", "consumed" or "expired".
    pub state: &'static str,
}

impl From<session_engine::challenge::ChallengeView> for Challenge {
    fn from(c: session_engine::challenge::ChallengeView) -> Self {
        Challenge {
            id: c.handle,
            ceremony: c.ceremony,
            user: c.user,
            rp_id: c.rp_id,
            origin: c.origin,
            session: c.session,
            created: rfc3339(c.issued_ms),
            expires: rfc3339(c.expires_ms),
            consumed: c.consumed_ms.map(rfc3339),
            state: c.state,
        }
    }
}

/// One row of the cookie table.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CookieRow {
    /// "http", "https", "proxy (trusted)" or "proxy (untrusted)".
    pub context: &'static str,
    /// "normal" or "critical".
    pub endpoint: &'static str,
    /// "metadata" (before sign-in) or "authenticated".
    pub lifetime: session_engine::CookieLifetime,
    /// The cookie's name.
    pub name: String,
    /// HttpOnly.
    pub http_only: bool,
    /// Secure.
    pub secure: bool,
    /// SameSite.
    pub same_site: session_engine::policy::SameSite,
    /// Max-Age in seconds.
    pub max_age: u64,
    /// Path.
    pub path: &'static str,
    /// A `__Host-` name.
    pub host_prefix: bool,
    /// Why Secure is what it is.
    pub basis: session_engine::SecureBasis,
    /// The Set-Cookie line, the value replaced by `<sealed>`.
    pub header: String,
}

/// The cookie table.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cookies {
    /// Each context × endpoint × lifetime.
    pub rows: Vec<CookieRow>,
    /// The context of the request asking.
    pub current: Option<&'static str>,
    /// A trusted proxy is configured (its rows are shown).
    pub trusted_proxy_configured: bool,
}

/// Cleanup's status, with its last sweep's figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cleanup {
    /// When the last sweep started.
    pub last_run: Option<String>,
    /// What started it.
    pub trigger: Option<session_engine::SweepTrigger>,
    /// How long it took, ms.
    pub duration_ms: Option<f64>,
    /// Sessions it looked at.
    pub scanned: usize,
    /// Sessions it removed (idle, empty, over a budget).
    pub removed: usize,
    /// Expired challenges it removed.
    pub removed_challenges: usize,
    /// Sessions left after it.
    pub remaining: usize,
    /// What went wrong in it (at most 20 kept).
    pub errors: Vec<String>,
    /// When the next scheduled sweep is due.
    pub next_run: String,
    /// A sweep is running.
    pub running: bool,
    /// Sweeps so far.
    pub runs: u64,
    /// Of which emergency sweeps (a budget exceeded).
    pub emergency_runs: u64,
    /// Sessions, as estimated between sweeps.
    pub session_estimate: usize,
    /// Idle sessions are removed after this many days.
    pub idle_limit_days: f64,
    /// Hours between scheduled sweeps.
    pub interval_hours: f64,
    /// Session-count budget.
    pub max_sessions: Option<usize>,
    /// Byte budget.
    pub max_bytes: Option<u64>,
}

impl From<&CleanupStatus> for Cleanup {
    fn from(c: &CleanupStatus) -> Self {
        let round2 = |v: f64| (v * 100.0).round() / 100.0;
        let last: Option<&SweepReport> = c.last.as_ref();
        Cleanup {
            last_run: last.map(|r| rfc3339(r.started_ms)),
            trigger: last.and_then(|r| r.trigger),
            duration_ms: last.map(|r| (r.duration_us as f64 / 100.0).round() / 10.0),
            scanned: last.map_or(0, |r| r.scanned),
            removed: last.map_or(0, SweepReport::removed),
            removed_challenges: last.map_or(0, |r| r.removed_challenges),
            remaining: last.map_or(0, |r| r.remaining),
            errors: last.map(|r| r.errors.clone()).unwrap_or_default(),
            next_run: rfc3339(c.next_run_ms),
            running: c.running,
            runs: c.runs,
            emergency_runs: c.emergency_runs,
            session_estimate: c.session_estimate,
            idle_limit_days: round2(c.idle_limit_secs as f64 / 86_400.0),
            interval_hours: round2(c.interval_secs as f64 / 3_600.0),
            max_sessions: c.max_sessions,
            max_bytes: c.max_bytes,
        }
    }
}

/// The previous key, while it still opens cookies.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousKey {
    /// Its fingerprint.
    pub fingerprint: String,
    /// When it stops opening cookies.
    pub valid_until: Option<String>,
}

/// The session secret key's status.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    /// "OS keyring", "environment", "key file" or "generated".
    pub source: &'static str,
    /// The keyring service or the key file's path.
    pub source_detail: Option<String>,
    /// Generated at this start.
    pub generated: bool,
    /// The key's fingerprint (never the key).
    pub fingerprint: String,
    /// The previous key, while it still opens cookies.
    pub previous: Option<PreviousKey>,
    /// What the user should know (a fallback, a shadowed key file).
    pub warnings: Vec<String>,
}

impl From<&KeyStatus> for Key {
    fn from(k: &KeyStatus) -> Self {
        let (source, source_detail) = match &k.source {
            KeySource::Keyring { service } => ("OS keyring", Some(service.clone())),
            KeySource::Environment => ("environment", None),
            KeySource::File { path } => ("key file", Some(path.display().to_string())),
            _ => ("generated", None),
        };
        Key {
            source,
            source_detail,
            generated: k.generated,
            fingerprint: k.fingerprint.clone(),
            previous: k.previous_fingerprint.as_ref().map(|f| PreviousKey {
                fingerprint: f.clone(),
                valid_until: k.previous_valid_until_ms.map(rfc3339),
            }),
            warnings: k.warnings.clone(),
        }
    }
}

/// One security event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Its sequence number.
    pub seq: u64,
    /// When.
    pub at: String,
    /// What happened.
    pub kind: session_engine::EventKind,
    /// "info" or "warning".
    pub severity: session_engine::Severity,
    /// The session (redacted).
    pub session: Option<String>,
    /// A reason code.
    pub reason: Option<&'static str>,
    /// For people.
    pub detail: String,
}

impl From<&SecurityEvent> for Event {
    fn from(e: &SecurityEvent) -> Self {
        Event {
            seq: e.seq,
            at: rfc3339(e.at_ms),
            kind: e.kind,
            severity: e.severity,
            session: e.session.clone(),
            reason: e.reason,
            detail: e.detail.clone(),
        }
    }
}

/// The storage backend's status: primary, or on its local fallback since
/// when and why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// "embedded", "local", "gcs" or "s3".
    pub backend: &'static str,
    /// A directory, or the bucket and prefix.
    pub location: String,
    /// True while the configured backend serves every call.
    pub healthy: bool,
    /// "primary" or "fallback".
    pub state: &'static str,
    /// While on the fallback: since when (RFC 3339).
    pub fallback_since: Option<String>,
    /// While on the fallback: the error that caused it.
    pub fallback: Option<String>,
}

impl From<&session_store::BackendStatus> for Storage {
    fn from(s: &session_store::BackendStatus) -> Self {
        let (state, fallback_since, fallback) = match &s.state {
            session_store::BackendState::Primary => ("primary", None, None),
            session_store::BackendState::FallbackLocal { since, reason } => {
                let ms = since
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                ("fallback", Some(rfc3339(ms)), Some(reason.clone()))
            }
            // A state this build does not know is not the primary serving.
            _ => ("fallback", None, None),
        };
        Storage {
            backend: s.backend,
            location: s.location.clone(),
            healthy: state == "primary",
            state,
            fallback_since,
            fallback,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::rfc3339(1_796_285_209_059),
            "2026-12-03T08:06:49.059Z"
        );
    }
}
