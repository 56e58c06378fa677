//! Cleanup: sweeps that remove idle sessions (14 days by default), prune
//! empty ones, enforce a session-count and byte budget, and drop expired
//! challenges. A schedule (every 6 hours by default) decides when a sweep is
//! due; an emergency sweep is due as soon as the session count exceeds its
//! budget; a manual trigger runs one at once. The status value reports the
//! last run, its duration and counts, errors and the next run.
//!
//! One idle limit governs everything (the Python platform had 7 days in one
//! place and 14 in another).

use crate::challenge;
use crate::clock::{from_unix_ms, unix_ms};
use crate::session::{RECORD_ITEM, SessionRecord};
use serde::Serialize;
use session_store::{ItemName, Kind, Scope, Storage};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// At most this many error messages are kept per report.
const MAX_ERRORS_KEPT: usize = 20;

/// Cleanup settings.
#[derive(Debug, Clone)]
pub struct CleanupConfig {
    /// Sessions idle longer than this are removed.
    pub idle_limit: Duration,
    /// Time between scheduled sweeps.
    pub interval: Duration,
    /// Unauthenticated sessions holding nothing but their record are pruned
    /// after this much idleness.
    pub empty_idle_limit: Duration,
    /// Session-count budget; exceeding it makes an emergency sweep due.
    pub max_sessions: Option<usize>,
    /// Byte budget over all sessions' items, enforced by every sweep.
    pub max_bytes: Option<u64>,
    /// Expired challenges are kept this long for "expired" (rather than
    /// "unknown") answers, then removed.
    pub challenge_grace: Duration,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        CleanupConfig {
            idle_limit: Duration::from_secs(14 * 24 * 3600),
            interval: Duration::from_secs(6 * 3600),
            empty_idle_limit: Duration::from_secs(24 * 3600),
            max_sessions: None,
            max_bytes: None,
            challenge_grace: Duration::from_secs(3600),
        }
    }
}

/// What started a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepTrigger {
    /// The schedule.
    Scheduled,
    /// A budget was exceeded.
    Emergency,
    /// Someone asked.
    Manual,
}

/// The result of one sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SweepReport {
    /// What started it (`None` only in `Default`).
    pub trigger: Option<SweepTrigger>,
    /// Start, ms since epoch (engine clock).
    pub started_ms: u64,
    /// Wall time it took, in microseconds.
    pub duration_us: u64,
    /// Sessions looked at.
    pub scanned: usize,
    /// Removed for idleness.
    pub removed_idle: usize,
    /// Removed as empty (no record, corrupt record, or nothing but the
    /// record and idle past `empty_idle_limit`).
    pub removed_empty: usize,
    /// Removed to get under a budget.
    pub removed_budget: usize,
    /// Expired challenges removed.
    pub removed_challenges: usize,
    /// Sessions left.
    pub remaining: usize,
    /// Bytes of the sessions left, when a byte budget is configured.
    pub remaining_bytes: Option<u64>,
    /// Errors seen (at most 20 kept).
    pub errors: Vec<String>,
    /// Number of errors seen.
    pub error_count: usize,
}

impl SweepReport {
    /// Sessions removed, all reasons.
    pub fn removed(&self) -> usize {
        self.removed_idle + self.removed_empty + self.removed_budget
    }

    fn error(&mut self, e: impl std::fmt::Display) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS_KEPT {
            self.errors.push(e.to_string());
        }
    }
}

/// The cleanup status for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupStatus {
    /// The last sweep, if any.
    pub last: Option<SweepReport>,
    /// When the next scheduled sweep is due, ms since epoch.
    pub next_run_ms: u64,
    /// A sweep is running now.
    pub running: bool,
    /// Sweeps run.
    pub runs: u64,
    /// Emergency sweeps run.
    pub emergency_runs: u64,
    /// Estimated live sessions (last sweep's count, plus creations since).
    pub session_estimate: usize,
    /// The idle limit in seconds.
    pub idle_limit_secs: u64,
    /// The interval in seconds.
    pub interval_secs: u64,
    /// The session budget.
    pub max_sessions: Option<usize>,
    /// The byte budget.
    pub max_bytes: Option<u64>,
}

/// Scopes a sweep decided to remove, removed in batches (one transaction
/// each on the embedded store, instead of one durable commit per scope).
struct Removals<'a> {
    store: &'a dyn Storage,
    pending: Vec<(Scope, Removal)>,
    /// Budget evictions that failed: those sessions are still there.
    failed_evictions: usize,
    failed_eviction_bytes: u64,
}

#[derive(Clone, Copy)]
enum Removal {
    Idle,
    Empty,
    /// An eviction, with the session's size.
    Budget(u64),
    Challenge,
}

/// Scopes removed per batch.
const REMOVAL_BATCH: usize = 256;

impl<'a> Removals<'a> {
    fn new(store: &'a dyn Storage) -> Self {
        Removals {
            store,
            pending: Vec::new(),
            failed_evictions: 0,
            failed_eviction_bytes: 0,
        }
    }

    fn push(&mut self, report: &mut SweepReport, scope: Scope, why: Removal) {
        self.pending.push((scope, why));
        if self.pending.len() >= REMOVAL_BATCH {
            self.flush(report);
        }
    }

    fn flush(&mut self, report: &mut SweepReport) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let scopes: Vec<Scope> = batch.iter().map(|(s, _)| s.clone()).collect();
        for ((_, why), result) in batch.iter().zip(self.store.remove_scopes(&scopes)) {
            match (result, why) {
                (Ok(_), Removal::Idle) => report.removed_idle += 1,
                (Ok(_), Removal::Empty) => report.removed_empty += 1,
                (Ok(_), Removal::Budget(_)) => report.removed_budget += 1,
                (Ok(_), Removal::Challenge) => report.removed_challenges += 1,
                (Err(e), Removal::Challenge) => report.error(format!("removing a challenge: {e}")),
                (Err(e), Removal::Budget(bytes)) => {
                    self.failed_evictions += 1;
                    self.failed_eviction_bytes += bytes;
                    report.error(format!("evicting a session: {e}"));
                }
                (Err(e), _) => report.error(format!("removing a session: {e}")),
            }
        }
    }
}

struct Survivor {
    scope: Scope,
    last_access_ms: u64,
    authenticated: bool,
    bytes: u64,
}

/// Runs one sweep over `store` as of `now`.
pub fn sweep(
    store: &dyn Storage,
    config: &CleanupConfig,
    now: SystemTime,
    trigger: SweepTrigger,
) -> SweepReport {
    let started = Instant::now();
    let mut report = SweepReport {
        trigger: Some(trigger),
        started_ms: unix_ms(now),
        ..SweepReport::default()
    };
    let record_item = match ItemName::new(RECORD_ITEM) {
        Ok(n) => n,
        Err(e) => {
            report.error(e);
            return report;
        }
    };
    let now_ms = unix_ms(now);
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let owners = match store.owners(&Kind::sessions()) {
        Ok(o) => o,
        Err(e) => {
            report.error(format!("listing sessions: {e}"));
            Vec::new()
        }
    };
    let mut removals = Removals::new(store);
    let mut survivors = Vec::new();
    for owner in owners {
        report.scanned += 1;
        let scope = Scope::new(Kind::sessions(), owner);
        let record = match store.get(&scope, &record_item) {
            Ok(Some(bytes)) => serde_json::from_slice::<SessionRecord>(&bytes).ok(),
            Ok(None) => None,
            Err(e) => {
                report.error(format!("reading a session: {e}"));
                continue;
            }
        };
        let Some(record) = record else {
            // No readable record: nothing can open this session any more.
            removals.push(&mut report, scope, Removal::Empty);
            continue;
        };
        let idle = now_ms.saturating_sub(record.last_access_ms);
        if idle > ms(config.idle_limit) {
            removals.push(&mut report, scope, Removal::Idle);
            continue;
        }
        let mut bytes = 0;
        let needs_listing = config.max_bytes.is_some()
            || (!record.is_authenticated() && idle > ms(config.empty_idle_limit));
        if needs_listing {
            match store.list(&scope) {
                Ok(items) => {
                    if !record.is_authenticated()
                        && idle > ms(config.empty_idle_limit)
                        && items.iter().all(|i| i.name == record_item)
                    {
                        removals.push(&mut report, scope, Removal::Empty);
                        continue;
                    }
                    bytes = items.iter().map(|i| i.size).sum();
                }
                Err(e) => report.error(format!("listing a session: {e}")),
            }
        }
        survivors.push(Survivor {
            scope,
            last_access_ms: record.last_access_ms,
            authenticated: record.is_authenticated(),
            bytes,
        });
    }

    // Budgets: evict unauthenticated sessions first, least recently used
    // first, down to 90 % of the budget so the next request does not
    // trigger another emergency at once.
    let mut total_bytes: u64 = survivors.iter().map(|s| s.bytes).sum();
    let count_target = config.max_sessions.map(|m| m.saturating_mul(9) / 10);
    let bytes_target = config.max_bytes.map(|m| m.saturating_mul(9) / 10);
    let over = |count: usize, bytes: u64| {
        config.max_sessions.is_some_and(|m| count > m)
            || config.max_bytes.is_some_and(|m| bytes > m)
    };
    if over(survivors.len(), total_bytes) {
        survivors.sort_by_key(|s| (s.authenticated, s.last_access_ms));
        let mut keep = Vec::new();
        let mut count = survivors.len();
        for s in survivors {
            let above_count = count_target.is_some_and(|t| count > t);
            let above_bytes = bytes_target.is_some_and(|t| total_bytes > t);
            if above_count || above_bytes {
                count -= 1;
                total_bytes -= s.bytes;
                removals.push(&mut report, s.scope, Removal::Budget(s.bytes));
                continue;
            }
            keep.push(s);
        }
        survivors = keep;
    }
    removals.flush(&mut report);
    // Sessions whose eviction failed are still stored.
    report.remaining = survivors.len() + removals.failed_evictions;
    total_bytes += removals.failed_eviction_bytes;
    report.remaining_bytes = config.max_bytes.map(|_| total_bytes);

    // Challenges past expiry plus grace.
    match store.owners(&Kind::challenges()) {
        Ok(owners) => {
            for owner in owners {
                let scope = Scope::new(Kind::challenges(), owner);
                let remove = match challenge::expiry_of(store, &scope) {
                    Ok(Some(exp)) => {
                        unix_ms(exp).saturating_add(ms(config.challenge_grace)) <= now_ms
                    }
                    Ok(None) => true,
                    Err(e) => {
                        report.error(format!("reading a challenge: {e}"));
                        false
                    }
                };
                if remove {
                    removals.push(&mut report, scope, Removal::Challenge);
                }
            }
            removals.flush(&mut report);
        }
        Err(e) => report.error(format!("listing challenges: {e}")),
    }
    report.duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    report
}

/// The schedule and status of sweeps.
#[derive(Debug)]
pub struct Cleaner {
    config: CleanupConfig,
    state: Mutex<SchedulerState>,
    running: AtomicBool,
    estimate: AtomicUsize,
}

#[derive(Debug)]
struct SchedulerState {
    next_run_ms: u64,
    last: Option<SweepReport>,
    runs: u64,
    emergency_runs: u64,
}

impl Cleaner {
    /// A cleaner whose first scheduled sweep is due at `first_run`.
    pub fn new(config: CleanupConfig, first_run: SystemTime) -> Cleaner {
        Cleaner {
            config,
            state: Mutex::new(SchedulerState {
                next_run_ms: unix_ms(first_run),
                last: None,
                runs: 0,
                emergency_runs: 0,
            }),
            running: AtomicBool::new(false),
            estimate: AtomicUsize::new(0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CleanupConfig {
        &self.config
    }

    /// Which sweep is due at `now`, if any: an emergency when the session
    /// estimate exceeds its budget, else the schedule.
    pub fn due(&self, now: SystemTime) -> Option<SweepTrigger> {
        if self
            .config
            .max_sessions
            .is_some_and(|m| self.estimate.load(Ordering::Relaxed) > m)
        {
            return Some(SweepTrigger::Emergency);
        }
        let next = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next_run_ms;
        (unix_ms(now) >= next).then_some(SweepTrigger::Scheduled)
    }

    /// Runs a sweep now, unless one is already running (`None` then).
    pub fn run(
        &self,
        store: &dyn Storage,
        now: SystemTime,
        trigger: SweepTrigger,
    ) -> Option<SweepReport> {
        if self.running.swap(true, Ordering::AcqRel) {
            return None;
        }
        let report = sweep(store, &self.config, now, trigger);
        self.estimate.store(report.remaining, Ordering::Relaxed);
        {
            let mut s = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            s.runs += 1;
            if trigger == SweepTrigger::Emergency {
                s.emergency_runs += 1;
            }
            // Every completed sweep restarts the interval.
            s.next_run_ms = unix_ms(now + self.config.interval);
            s.last = Some(report.clone());
        }
        self.running.store(false, Ordering::Release);
        Some(report)
    }

    /// Notes a created session (for the emergency budget).
    pub fn session_created(&self) {
        self.estimate.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes a removed session.
    pub fn session_removed(&self) {
        let _ = self
            .estimate
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(1))
            });
    }

    /// The status value.
    pub fn status(&self) -> CleanupStatus {
        let (last, next_run_ms, runs, emergency_runs) = {
            let s = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (s.last.clone(), s.next_run_ms, s.runs, s.emergency_runs)
        };
        CleanupStatus {
            last,
            next_run_ms,
            running: self.running.load(Ordering::Acquire),
            runs,
            emergency_runs,
            session_estimate: self.estimate.load(Ordering::Relaxed),
            idle_limit_secs: self.config.idle_limit.as_secs(),
            interval_secs: self.config.interval.as_secs(),
            max_sessions: self.config.max_sessions,
            max_bytes: self.config.max_bytes,
        }
    }

    /// When the next scheduled sweep is due.
    pub fn next_run(&self) -> SystemTime {
        from_unix_ms(
            self.state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .next_run_ms,
        )
    }
}
