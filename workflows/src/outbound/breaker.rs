//! A circuit breaker per provider: closed → open after `threshold` consecutive failures
//! → after `cool_down`, half-open: one probe call is let through while every other call
//! fails fast → closed when the probe succeeds, open again when it fails.
//!
//! Written here rather than taken from a crate: the state must be readable (health and
//! metrics report it), the half-open state must admit exactly one probe, and 429s must
//! neither count as failures nor close the breaker. The crates looked at (`failsafe`)
//! hide the state and let every call through while half-open.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub threshold: u32,
    /// How long it stays open before a probe is let through.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    /// The metric's value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Open => "open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

/// Leave to make one call. Report how it went with [`Breaker::record`]; a permit
/// dropped unreported (the call was cancelled) frees a half-open probe slot.
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    reported: bool,
}

/// How a call went, as the breaker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Neither (a 429: the provider is up but throttling).
    Neutral,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// A permit for one call, or `None` when the call must fail fast.
    pub fn admit(&self) -> Option<Permit<'_>> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() < until => return None,
            State::Open { .. } | State::HalfOpen { probing: false } => {
                *state = State::HalfOpen { probing: true };
                true
            }
            State::HalfOpen { probing: true } => return None,
        };
        Some(Permit {
            breaker: self,
            probe,
            reported: false,
        })
    }

    fn settle(&self, probe: bool, outcome: Option<Outcome>) {
        let mut state = self.lock();
        let open = || State::Open {
            until: Instant::now() + self.settings.cool_down,
        };
        *state = match (&*state, outcome) {
            // A probe decides; an unreported or neutral probe leaves the slot free.
            (State::HalfOpen { .. }, Some(Outcome::Success)) if probe => {
                State::Closed { failures: 0 }
            }
            (State::HalfOpen { .. }, Some(Outcome::Failure)) if probe => open(),
            (State::HalfOpen { .. }, _) if probe => State::HalfOpen { probing: false },
            (State::Closed { .. }, Some(Outcome::Success)) => State::Closed { failures: 0 },
            (State::Closed { failures }, Some(Outcome::Failure)) => {
                let failures = failures + 1;
                if failures >= self.settings.threshold {
                    open()
                } else {
                    State::Closed { failures }
                }
            }
            (State::Closed { failures }, _) => State::Closed {
                failures: *failures,
            },
            (State::Open { until }, _) => State::Open { until: *until },
            (State::HalfOpen { probing }, _) => State::HalfOpen { probing: *probing },
        };
    }
}

impl Permit<'_> {
    pub fn record(mut self, outcome: Outcome) {
        self.reported = true;
        self.breaker.settle(self.probe, Some(outcome));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.reported {
            self.breaker.settle(self.probe, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, cool_down_ms: u64) -> Breaker {
        Breaker::new(BreakerSettings {
            threshold,
            cool_down: Duration::from_millis(cool_down_ms),
        })
    }

    fn fail(b: &Breaker) {
        b.admit().expect("admitted").record(Outcome::Failure);
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let b = breaker(3, 60_000);
        fail(&b);
        fail(&b);
        b.admit().expect("admitted").record(Outcome::Success);
        fail(&b);
        fail(&b);
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.admit().is_none(), "open: calls fail fast");
    }

    #[test]
    fn throttling_neither_opens_nor_resets() {
        let b = breaker(2, 60_000);
        fail(&b);
        for _ in 0..10 {
            b.admit().expect("admitted").record(Outcome::Neutral);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn half_open_admits_one_probe_whose_outcome_decides() {
        let b = breaker(1, 20);
        fail(&b);
        assert!(b.admit().is_none());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.admit().expect("the probe");
        assert!(b.admit().is_none(), "one probe at a time");
        probe.record(Outcome::Failure);
        assert_eq!(b.state(), BreakerState::Open, "a failed probe reopens");
        std::thread::sleep(Duration::from_millis(30));
        b.admit().expect("a new probe").record(Outcome::Success);
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.admit().is_some());
    }

    #[test]
    fn a_cancelled_probe_frees_the_slot() {
        let b = breaker(1, 1);
        fail(&b);
        std::thread::sleep(Duration::from_millis(5));
        drop(b.admit().expect("probe"));
        assert!(b.admit().is_some(), "the next call may probe");
    }
}
