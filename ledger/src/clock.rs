//! Time, injected: expiry decisions read a [`Clock`] so tests can fix or move it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// Where the ledger reads the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system time when it was made, moved on by the monotonic clock since: it never steps back
/// or jumps with the wall clock (a time service correcting it), so intervals measured on it
/// (a lease's spend window) are what they say.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    wall: DateTime<Utc>,
    at: std::time::Instant,
}

impl MonotonicClock {
    /// Starts from the system time now.
    pub fn new() -> Self {
        MonotonicClock {
            wall: Utc::now(),
            at: std::time::Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = i64::try_from(self.at.elapsed().as_micros()).unwrap_or(i64::MAX);
        self.wall + Duration::microseconds(elapsed)
    }
}

/// A clock that stands still until moved: for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The system clock moved ahead by however much a test has moved it: for tests that run in real
/// time against real services and then skip a wait (a lease's deadline, a click window) instead
/// of sleeping through it.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    ahead_us: AtomicI64,
}

impl ShiftedClock {
    /// The system clock, not moved yet.
    pub fn new() -> Self {
        ShiftedClock::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = by.num_microseconds().unwrap_or(i64::MAX);
        self.ahead_us.fetch_add(by, Ordering::Relaxed);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::microseconds(self.ahead_us.load(Ordering::Relaxed))
    }
}
