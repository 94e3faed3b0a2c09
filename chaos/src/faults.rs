//! The fault schedule: drawn from the seed before anything runs, so that the same
//! seed gives the same faults in the same order with the same durations.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` of the leader; restarted after `down_ms`.
    KillLeader { down_ms: u64 },
    /// `kill -9` of a follower (the `pick`-th, modulo their number).
    KillFollower { pick: usize, down_ms: u64 },
    /// `kill -9` of a worker, restarted from its data dir (its spool) later.
    KillWorker { pick: usize, down_ms: u64 },
    /// `SIGSTOP` of the leader for longer than the election timeout, then `SIGCONT`.
    PauseLeader { ms: u64 },
    /// Every link between the leader and the other servers cut, then healed.
    IsolateLeader { ms: u64 },
    /// The servers split in two groups (2/3 of five, 1/2 of three), then healed.
    Split { pick: u64, ms: u64 },
    /// A server's data dir (a small tmpfs) filled until writes fail, then freed.
    DiskFull { pick: usize, ms: u64 },
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::KillLeader { .. } => "kill -9 leader",
            Fault::KillFollower { .. } => "kill -9 follower",
            Fault::KillWorker { .. } => "kill -9 worker",
            Fault::PauseLeader { .. } => "SIGSTOP leader",
            Fault::IsolateLeader { .. } => "isolate leader",
            Fault::Split { .. } => "split servers",
            Fault::DiskFull { .. } => "disk full",
        }
    }

    #[cfg(test)]
    pub const KINDS: [&'static str; 7] = [
        "kill -9 leader",
        "kill -9 follower",
        "kill -9 worker",
        "SIGSTOP leader",
        "isolate leader",
        "split servers",
        "disk full",
    ];
}

/// One planned fault: how long to wait before it, and the fault.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    pub gap_ms: u64,
    pub fault: Fault,
}

/// The plan for `duration_ms` of faults. `smoke` walks through every kind in
/// turn (so that a short run still sees each); otherwise kinds are drawn with
/// leader kills the most frequent.
pub fn plan(seed: u64, duration_ms: u64, smoke: bool, election_max_ms: u64) -> Vec<Planned> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut elapsed = 0u64;
    let mut n = 0usize;
    while elapsed < duration_ms {
        let gap_ms = if smoke {
            rng.random_range(2_000..4_000)
        } else {
            rng.random_range(3_000..9_000)
        };
        let kind = if smoke {
            n % 7
        } else {
            match rng.random_range(0..100) {
                0..40 => 0,
                40..50 => 1,
                50..60 => 2,
                60..75 => 3,
                75..84 => 4,
                84..93 => 5,
                _ => 6,
            }
        };
        n += 1;
        let fault = match kind {
            0 => Fault::KillLeader {
                down_ms: rng.random_range(500..4_000),
            },
            1 => Fault::KillFollower {
                pick: rng.random_range(0..16),
                down_ms: rng.random_range(500..4_000),
            },
            2 => Fault::KillWorker {
                pick: rng.random_range(0..16),
                down_ms: rng.random_range(500..5_000),
            },
            3 => Fault::PauseLeader {
                ms: rng.random_range(2 * election_max_ms..3 * election_max_ms),
            },
            4 => Fault::IsolateLeader {
                ms: rng.random_range(2 * election_max_ms..4 * election_max_ms),
            },
            5 => Fault::Split {
                pick: rng.random_range(0..1_000),
                ms: rng.random_range(2 * election_max_ms..4 * election_max_ms),
            },
            _ => Fault::DiskFull {
                pick: rng.random_range(0..16),
                ms: rng.random_range(1_000..4_000),
            },
        };
        let length = match fault {
            Fault::KillLeader { down_ms }
            | Fault::KillFollower { down_ms, .. }
            | Fault::KillWorker { down_ms, .. } => down_ms,
            Fault::PauseLeader { ms }
            | Fault::IsolateLeader { ms }
            | Fault::Split { ms, .. }
            | Fault::DiskFull { ms, .. } => ms,
        };
        elapsed += gap_ms + length;
        out.push(Planned { gap_ms, fault });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_plan_and_smoke_sees_every_kind() {
        let a = plan(7, 60_000, false, 1200);
        let b = plan(7, 60_000, false, 1200);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_ne!(
            format!("{a:?}"),
            format!("{:?}", plan(8, 60_000, false, 1200))
        );
        let smoke = plan(1, 50_000, true, 1200);
        for kind in Fault::KINDS {
            assert!(smoke.iter().any(|p| p.fault.kind() == kind), "{kind}");
        }
    }
}
