//! The injectable clock. Every time-based rule of the engine (challenge TTL,
//! idle limit, cleanup schedule, last-access coalescing, key retirement)
//! reads the time from a [`Clock`], so tests move time by hand.
//!
//! A server runs on a [`SlewedClock`]: wall time that advances with the
//! monotonic clock and follows the system clock only gradually, so a jump
//! of the system clock (an NTP step, a suspended VM, an operator's `date`)
//! neither expires every session at once (forward) nor stops their ageing
//! (backward).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to (tests, benchmarks, simulations).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// A clock at a fixed, realistic instant (2025-01-01T00:00:00Z).
    pub fn at_2025() -> ManualClock {
        Self::new(UNIX_EPOCH + Duration::from_secs(1_735_689_600))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = self
                .now
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *now += by;
        }
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        {
            let mut now = self
                .now
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *now = to;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How fast a [`SlewedClock`] may drift towards its wall clock: 1 ms per
/// second of real time (0.1 %), so a one-hour step is taken up in about
/// six weeks, and NTP's usual corrections (milliseconds) within seconds.
pub const MAX_SLEW: f64 = 0.001;

/// Wall time that cannot jump: it advances with the monotonic clock and
/// moves towards its wall source (the system clock) by at most
/// [`MAX_SLEW`] of the real time elapsed, plus a small allowance for the
/// drift any clock has. It never goes backwards. It starts at the wall
/// source's time.
#[derive(Debug)]
pub struct SlewedClock {
    wall: Arc<dyn Clock>,
    /// The last time given out, and the monotonic instant it was given at.
    state: Mutex<(SystemTime, Instant)>,
}

impl SlewedClock {
    /// Over the system clock.
    pub fn system() -> SlewedClock {
        SlewedClock::over(Arc::new(SystemClock))
    }

    /// Over `wall` (a test's [`ManualClock`]).
    pub fn over(wall: Arc<dyn Clock>) -> SlewedClock {
        let start = wall.now();
        SlewedClock {
            wall,
            state: Mutex::new((start, Instant::now())),
        }
    }
}

impl Clock for SlewedClock {
    fn now(&self) -> SystemTime {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (last, at) = *state;
        let mono = Instant::now();
        let elapsed = mono.saturating_duration_since(at);
        let steady = last + elapsed;
        let wall = self.wall.now();
        // Up to MAX_SLEW of the elapsed time: a rate, so no call rate
        // (a busy server reads the clock thousands of times a second) can
        // turn it into a step.
        let allowance = elapsed.mul_f64(MAX_SLEW);
        let next = match wall.duration_since(steady) {
            // The wall clock is ahead: catch up by at most the allowance.
            Ok(ahead) => steady + ahead.min(allowance),
            // Behind: slow down by at most the allowance, never going
            // back past the last time given out.
            Err(behind) => {
                let back = behind.duration().min(allowance).min(elapsed);
                (steady - back).max(last)
            }
        };
        *state = (next, mono);
        next
    }
}

/// Milliseconds since the Unix epoch (0 before it), the form records store.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The instant `ms` milliseconds after the Unix epoch.
pub fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wall clock stepped a month forward or back moves the slewed clock
    /// by no more than the allowance, however often it is read; the slewed
    /// time never goes backwards and keeps ageing.
    #[test]
    fn steps_of_the_wall_clock_are_not_followed_at_once() {
        let wall = Arc::new(ManualClock::at_2025());
        let clock = SlewedClock::over(wall.clone());
        let start = clock.now();
        wall.advance(Duration::from_secs(30 * 24 * 3600));
        for _ in 0..10_000 {
            clock.now();
        }
        let after_forward = clock.now();
        assert!(
            after_forward.duration_since(start).unwrap() < Duration::from_secs(1),
            "a forward step was followed"
        );
        wall.set(start - Duration::from_secs(30 * 24 * 3600));
        let after_back = clock.now();
        assert!(after_back >= after_forward, "went backwards");
        std::thread::sleep(Duration::from_millis(20));
        let later = clock.now();
        assert!(
            later.duration_since(after_back).unwrap() >= Duration::from_millis(15),
            "the slewed clock stopped ageing after a backward step"
        );
    }
}
