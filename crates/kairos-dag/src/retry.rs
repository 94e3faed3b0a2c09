//! When a failed attempt may be retried.
//!
//! Airflow's `TaskInstance.next_retry_datetime`: a fixed `retry_delay`, or with
//! `retry_exponential_backoff` a delay in `[d, 2d)` where `d = retry_delay * 2^(try-1)`,
//! the position in that range taken from a hash of the task instance (so retries of
//! many tasks spread out, but the same attempt always gets the same time). Capped at a
//! day, then at `max_retry_delay`. Airflow hashes with SHA-1; Kairos uses SHA-256 of
//! the same string. The time is computed inside the replicated state machine, so it
//! must be a pure function of its inputs, which the hash makes it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::duration::Duration;

/// Airflow's `MAX_RETRY_DELAY`: no backoff waits longer than a day.
const MAX_RETRY_DELAY_SECS: u64 = 24 * 60 * 60;

/// Which attempt of which task instance failed, and the task's retry settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryInput<'a> {
    pub dag_id: &'a str,
    pub task_id: &'a str,
    /// The run's logical date as text (Airflow hashes its string form); the run id when
    /// the run has none.
    pub logical_date: &'a str,
    /// The try number of the attempt that failed (1 for the first attempt).
    pub try_number: u32,
    pub retry_delay: Duration,
    pub exponential_backoff: bool,
    pub max_retry_delay: Option<Duration>,
}

/// How long to wait after the failed attempt ended.
pub fn retry_delay(input: &RetryInput<'_>) -> Duration {
    if !input.exponential_backoff {
        return input.retry_delay;
    }
    let exponent = input.try_number.saturating_sub(1).min(63);
    let base_secs = input.retry_delay.as_secs_f64() * 2f64.powi(exponent as i32);
    // ceil, at least 1 second, and never past the cap (also keeps the maths in range).
    let min_backoff = (base_secs.ceil() as u64).clamp(1, MAX_RETRY_DELAY_SECS);
    let key = format!(
        "{}#{}#{}#{}",
        input.dag_id, input.task_id, input.logical_date, input.try_number
    );
    let digest = Sha256::digest(key.as_bytes());
    let mut low = [0u8; 8];
    low.copy_from_slice(&digest[digest.len() - 8..]);
    let jitter = u64::from_be_bytes(low) % min_backoff;
    let secs = (min_backoff + jitter).min(MAX_RETRY_DELAY_SECS);
    let delay = Duration::from_secs(secs);
    match input.max_retry_delay {
        Some(cap) if cap < delay => cap,
        _ => delay,
    }
}

/// The earliest time the next attempt may start.
pub fn next_retry_at(failed_at: DateTime<Utc>, input: &RetryInput<'_>) -> DateTime<Utc> {
    failed_at + retry_delay(input).to_chrono()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(try_number: u32, backoff: bool, max: Option<u64>) -> RetryInput<'static> {
        RetryInput {
            dag_id: "etl",
            task_id: "extract",
            logical_date: "2025-01-01T00:00:00+00:00",
            try_number,
            retry_delay: Duration::from_secs(300),
            exponential_backoff: backoff,
            max_retry_delay: max.map(Duration::from_secs),
        }
    }

    #[test]
    fn fixed_delay_without_backoff() {
        for t in 1..5 {
            assert_eq!(
                retry_delay(&input(t, false, None)),
                Duration::from_secs(300)
            );
        }
    }

    #[test]
    fn backoff_doubles_within_its_range() {
        for t in 1..6u32 {
            let d = retry_delay(&input(t, true, None)).as_millis() / 1000;
            let low = 300 * 2u64.pow(t - 1);
            assert!(
                (low..2 * low).contains(&d) || d == MAX_RETRY_DELAY_SECS,
                "try {t}: {d}s not in [{low}, {})",
                2 * low
            );
        }
    }

    #[test]
    fn backoff_is_deterministic_and_spread() {
        assert_eq!(
            retry_delay(&input(2, true, None)),
            retry_delay(&input(2, true, None))
        );
        let other = RetryInput {
            task_id: "load",
            ..input(2, true, None)
        };
        // Different task instances land on different points of the range (almost surely).
        assert_ne!(retry_delay(&input(2, true, None)), retry_delay(&other));
    }

    #[test]
    fn caps_apply() {
        assert_eq!(
            retry_delay(&input(3, true, Some(600))),
            Duration::from_secs(600)
        );
        assert_eq!(
            retry_delay(&input(40, true, None)),
            Duration::from_secs(MAX_RETRY_DELAY_SECS)
        );
        // A zero delay with backoff still waits at least a second, as Airflow does.
        let zero = RetryInput {
            retry_delay: Duration::ZERO,
            ..input(1, true, None)
        };
        assert_eq!(retry_delay(&zero), Duration::from_secs(1));
    }
}
