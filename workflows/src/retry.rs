//! The one place that decides how long to wait before trying again: outbound calls,
//! job retries and reconnect loops all ask this module. It wraps the `backoff` crate
//! (flagged unmaintained by RUSTSEC-2025-0012) so it can be swapped here alone.

use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;

/// Exponential backoff with full jitter between `initial` and `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
    /// 0.0 = no jitter, 0.5 = ±50 %.
    pub randomization: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(15 * 60),
            multiplier: 2.0,
            randomization: 0.3,
        }
    }
}

impl RetryPolicy {
    /// A fast policy for reconnect loops (Redis or Postgres unreachable).
    pub fn reconnect() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            multiplier: 2.0,
            randomization: 0.3,
        }
    }

    /// A stateful backoff that yields successive delays, for loops that retry forever.
    pub fn backoff(&self) -> ExponentialBackoff {
        ExponentialBackoff {
            current_interval: self.initial,
            initial_interval: self.initial,
            randomization_factor: self.randomization,
            multiplier: self.multiplier,
            max_interval: self.max,
            max_elapsed_time: None,
            ..ExponentialBackoff::default()
        }
    }

    /// The delay before attempt number `attempt + 1`, after `attempt` failures (≥ 1).
    /// Stateless, so a job's retry delay can be computed from its stored attempt count.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let mut b = self.backoff();
        let mut delay = self.initial;
        for _ in 0..attempt.max(1) {
            delay = b.next_backoff().unwrap_or(self.max);
        }
        delay.min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = RetryPolicy {
            randomization: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay_after(1), Duration::from_secs(2));
        assert_eq!(p.delay_after(2), Duration::from_secs(4));
        assert_eq!(p.delay_after(3), Duration::from_secs(8));
        assert_eq!(p.delay_after(30), Duration::from_secs(15 * 60));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy::default();
        for _ in 0..200 {
            let d = p.delay_after(3).as_secs_f64();
            assert!((8.0 * 0.7 - 1e-9..=8.0 * 1.3 + 1e-9).contains(&d), "{d}");
        }
    }
}
