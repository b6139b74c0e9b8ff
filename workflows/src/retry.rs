//! The one place that decides how long to wait before trying again, and the one retry
//! driver: outbound calls and short write retries go through [`RetryPolicy::run`]
//! (an attempt cap, `Retry-After` honoured in both its forms and capped, every failed
//! attempt reported); job retries ask [`RetryPolicy::delay_after`] for their stored
//! attempt count; the relay's and the supervisor's reconnect loops take
//! [`RetryPolicy::backoff`]. It wraps the `backoff` crate (flagged unmaintained by
//! RUSTSEC-2025-0012) so it can be swapped here alone.

use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;
use chrono::{DateTime, Utc};

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// Another attempt may succeed — after `retry_after` when the other side said so
    /// (`Retry-After`), else after the policy's backoff.
    Transient {
        error: E,
        retry_after: Option<Duration>,
    },
    /// No attempt will succeed (refused credentials, a bad request).
    Permanent(E),
}

impl<E> Failure<E> {
    pub fn transient(error: E) -> Self {
        Failure::Transient {
            error,
            retry_after: None,
        }
    }
}

/// Why [`RetryPolicy::run`] stopped: the last failure, whether it was permanent (else
/// the attempts ran out), and how many attempts were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp<E> {
    pub error: E,
    pub permanent: bool,
    pub attempts: u32,
}

/// A `Retry-After` header value: delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, a date in the past meaning now).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate (RFC 2822 reads it), else the obsolete RFC 850 form.
    let at = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT")
                .map(|d| d.and_utc())
        })
        .ok()?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff with full jitter between `initial` and `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
    /// 0.0 = no jitter, 0.5 = ±50 %.
    pub randomization: f64,
    /// The longest a `Retry-After` is waited (a provider asking for a day does not hold
    /// a job for a day: the attempt fails over to the job's own retry).
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(15 * 60),
            multiplier: 2.0,
            randomization: 0.3,
            retry_after_cap: Duration::from_secs(600),
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
            retry_after_cap: Duration::from_secs(5),
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

    /// Runs `op` (given the attempt number, from 1) until it succeeds, fails
    /// permanently, or `max_attempts` attempts failed. Between attempts it waits the
    /// other side's `Retry-After` when given — never longer than `retry_after_cap` —
    /// else the policy's jittered backoff; each failed attempt is logged with `what`,
    /// its number, the wait and the error.
    pub async fn run<T, E, F, Fut>(
        &self,
        what: &str,
        max_attempts: u32,
        mut op: F,
    ) -> Result<T, GaveUp<E>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Failure<E>>>,
        E: Display,
    {
        let attempts = AtomicU32::new(0);
        let cap = self.retry_after_cap;
        let result = backoff::future::retry_notify(
            self.backoff(),
            || {
                let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
                let attempt = op(n);
                async move {
                    match attempt.await {
                        Ok(v) => Ok(v),
                        Err(Failure::Permanent(error)) => {
                            Err(backoff::Error::Permanent((error, true)))
                        }
                        Err(Failure::Transient { error, .. }) if n >= max_attempts => {
                            Err(backoff::Error::Permanent((error, false)))
                        }
                        Err(Failure::Transient { error, retry_after }) => {
                            Err(backoff::Error::Transient {
                                err: (error, false),
                                retry_after: retry_after.map(|d| d.min(cap)),
                            })
                        }
                    }
                }
            },
            |(error, _): (E, bool), wait: Duration| {
                let attempt = attempts.load(Ordering::Relaxed);
                tracing::warn!(what, attempt, ?wait, %error, "attempt failed; retrying");
            },
        )
        .await;
        result.map_err(|(error, permanent)| GaveUp {
            error,
            permanent,
            attempts: attempts.load(Ordering::Relaxed),
        })
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
    fn retry_after_is_read_in_both_forms() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(20),
            multiplier: 2.0,
            randomization: 0.0,
            retry_after_cap: Duration::from_millis(20),
        }
    }

    #[tokio::test]
    async fn the_driver_retries_transient_failures_until_success() {
        let calls = AtomicU32::new(0);
        let r: Result<u32, GaveUp<String>> = quick()
            .run("test", 5, |n| {
                calls.fetch_add(1, Ordering::Relaxed);
                async move {
                    if n < 3 {
                        Err(Failure::transient(format!("try {n}")))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(r, Ok(3));
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn the_driver_stops_at_the_cap_and_at_a_permanent_failure() {
        let r: Result<(), _> = quick()
            .run("test", 4, |n| async move { Err(Failure::transient(n)) })
            .await;
        assert_eq!(
            r,
            Err(GaveUp {
                error: 4,
                permanent: false,
                attempts: 4
            })
        );
        let r: Result<(), _> = quick()
            .run("test", 4, |n| async move { Err(Failure::Permanent(n)) })
            .await;
        assert_eq!(
            r,
            Err(GaveUp {
                error: 1,
                permanent: true,
                attempts: 1
            })
        );
    }

    #[tokio::test]
    async fn retry_after_is_honoured_but_capped() {
        let started = std::time::Instant::now();
        // Asked to wait an hour: the cap (20 ms) wins.
        let r: Result<u32, GaveUp<&str>> = quick()
            .run("test", 3, |n| async move {
                if n == 1 {
                    Err(Failure::Transient {
                        error: "busy",
                        retry_after: Some(Duration::from_secs(3600)),
                    })
                } else {
                    Ok(n)
                }
            })
            .await;
        assert_eq!(r, Ok(2));
        assert!(started.elapsed() < Duration::from_secs(5));
        // Asked to wait 15 ms: honoured rather than the 1 ms backoff.
        let started = std::time::Instant::now();
        let _ = quick()
            .run("test", 2, |n| async move {
                if n == 1 {
                    Err(Failure::Transient {
                        error: "busy",
                        retry_after: Some(Duration::from_millis(15)),
                    })
                } else {
                    Ok(())
                }
            })
            .await;
        assert!(started.elapsed() >= Duration::from_millis(15));
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
