//! A circuit breaker, pure: after `threshold` failures in a row the dependency is left alone for
//! `cool_down_ms`; then one trial call is let through (half open), and its outcome closes the
//! breaker or opens it again. Times are milliseconds on any monotonic clock the caller keeps.

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed {
        failures: u32,
    },
    Open {
        until_ms: i64,
    },
    /// A trial call is out.
    HalfOpen,
}

/// One dependency's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    state: State,
    threshold: u32,
    cool_down_ms: i64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cool_down_ms: i64) -> Breaker {
        Breaker {
            state: State::Closed { failures: 0 },
            threshold: threshold.max(1),
            cool_down_ms,
        }
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a call may go out at `now_ms` (an open breaker past its cool-down lets one
    /// trial through and becomes half open).
    pub fn allow(&mut self, now_ms: i64) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until_ms } if now_ms >= until_ms => {
                self.state = State::HalfOpen;
                true
            }
            State::Open { .. } | State::HalfOpen => false,
        }
    }

    /// A call succeeded.
    pub fn success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    /// A call failed at `now_ms`.
    pub fn failure(&mut self, now_ms: i64) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => State::Open {
                until_ms: now_ms + self.cool_down_ms,
            },
        };
    }

    /// Whether calls are being refused.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_tries_again_after_the_cool_down() {
        let mut b = Breaker::new(3, 1_000);
        b.failure(0);
        b.failure(1);
        assert!(b.allow(2), "two failures: still closed");
        b.failure(2);
        assert_eq!(b.state(), State::Open { until_ms: 1_002 });
        assert!(!b.allow(500));
        assert!(b.allow(1_002), "one trial after the cool-down");
        assert!(!b.allow(1_003), "and only one");
        b.failure(1_010);
        assert_eq!(b.state(), State::Open { until_ms: 2_010 });
        assert!(b.allow(2_010));
        b.success();
        assert_eq!(b.state(), State::Closed { failures: 0 });
    }

    #[test]
    fn a_success_resets_the_count() {
        let mut b = Breaker::new(2, 100);
        b.failure(0);
        b.success();
        b.failure(1);
        assert!(!b.is_open());
    }
}
