//! Where a throughput round's CPU went: each process's own time and its reaped
//! children's (a worker's tasks) from `/proc/PID/stat`, and the machine's idle
//! time from `/proc/stat`, read before and after the round. Divided by the task
//! instances the round finished, it says what one task instance costs each part
//! of the stack, and whether the cores were full (the bound is CPU) or idle
//! (the bound is waiting).

use std::collections::BTreeMap;

/// The clock ticks of one process: its own, and those of the children it
/// waited for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ticks {
    pub own: u64,
    pub children: u64,
}

/// One reading: per process, and the machine's busy and idle ticks (all cores).
#[derive(Debug, Clone, Default)]
pub struct Reading {
    processes: BTreeMap<u32, Ticks>,
    busy: u64,
    idle: u64,
}

/// The roles a round's processes play, by pid.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    pub leader: Option<u32>,
    pub followers: Vec<u32>,
    /// The `kairos worker` processes (their children are the tasks).
    pub workers: Vec<u32>,
    /// This bench (its in-process protocol workers, its readings).
    pub bench: u32,
}

impl Roles {
    fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.leader.into_iter().collect();
        pids.extend(&self.followers);
        pids.extend(&self.workers);
        pids.push(self.bench);
        pids
    }
}

/// CPU milliseconds per task instance by role, and the machine's idle share.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Split {
    pub leader_ms: f64,
    pub followers_ms: f64,
    pub workers_ms: f64,
    pub tasks_ms: f64,
    pub bench_ms: f64,
    /// Everything else busy on the machine (the kernel's threads, other
    /// processes), per task instance.
    pub other_ms: f64,
    /// Idle time of all cores over the round, in percent of their time.
    pub idle_percent: f64,
}

/// Reads the roles' processes and the machine now.
pub fn read(roles: &Roles) -> Reading {
    let (busy, idle) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| machine_ticks(&s))
        .unwrap_or_default();
    let processes = roles
        .pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, process_ticks(&stat)?))
        })
        .collect();
    Reading {
        processes,
        busy,
        idle,
    }
}

/// What happened between `before` and `after`, per task instance of `tis`.
pub fn split(roles: &Roles, before: &Reading, after: &Reading, tis: usize) -> Split {
    let ms_per_tick = 1000.0 / clock_ticks_per_second();
    let delta = |pid: u32| {
        let (b, a) = (
            before.processes.get(&pid).copied().unwrap_or_default(),
            after.processes.get(&pid).copied().unwrap_or_default(),
        );
        Ticks {
            own: a.own.saturating_sub(b.own),
            children: a.children.saturating_sub(b.children),
        }
    };
    let per_ti = |ticks: u64| ticks as f64 * ms_per_tick / tis.max(1) as f64;
    let leader = roles.leader.map(delta).unwrap_or_default();
    let followers: u64 = roles.followers.iter().map(|&p| delta(p).own).sum();
    let workers: Vec<Ticks> = roles.workers.iter().map(|&p| delta(p)).collect();
    let bench = delta(roles.bench);
    let own_workers: u64 = workers.iter().map(|t| t.own).sum();
    let tasks: u64 = workers.iter().map(|t| t.children).sum();
    let busy = after.busy.saturating_sub(before.busy);
    let idle = after.idle.saturating_sub(before.idle);
    let accounted = leader.own + followers + own_workers + tasks + bench.own;
    Split {
        leader_ms: per_ti(leader.own),
        followers_ms: per_ti(followers),
        workers_ms: per_ti(own_workers),
        tasks_ms: per_ti(tasks),
        bench_ms: per_ti(bench.own),
        other_ms: per_ti(busy.saturating_sub(accounted)),
        idle_percent: if busy + idle > 0 {
            100.0 * idle as f64 / (busy + idle) as f64
        } else {
            0.0
        },
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant of the system; no memory is handed over.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// utime + stime and cutime + cstime of a `/proc/PID/stat` line. The command
/// name (field 2) can hold spaces and parentheses: fields are counted after
/// its last `)`.
fn process_ticks(stat: &str) -> Option<Ticks> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) is index 11 here.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Ticks {
        own: field(14)? + field(15)?,
        children: field(16)? + field(17)?,
    })
}

/// The busy and idle ticks of all cores from `/proc/stat`'s `cpu` line (idle
/// and iowait count as idle).
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    let busy: u64 = values.iter().take(8).sum::<u64>() - idle;
    Some((busy, idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_process_line_whose_name_has_spaces_and_parentheses() {
        let line = "4242 (tokio (rt) w) S 1 2 3 4 5 6 7 8 9 10 111 222 333 444 20 0 9 0 100 0 0";
        assert_eq!(
            process_ticks(line),
            Some(Ticks {
                own: 333,
                children: 777
            })
        );
    }

    #[test]
    fn reads_the_machine_line_with_iowait_as_idle() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n";
        assert_eq!(machine_ticks(stat), Some((161, 1020)));
    }

    #[test]
    fn splits_a_round_per_task_instance_and_leaves_the_rest_to_other() {
        let roles = Roles {
            leader: Some(1),
            followers: vec![2],
            workers: vec![3],
            bench: 4,
        };
        let ticks = |own, children| Ticks { own, children };
        let before = Reading {
            processes: [
                (1, ticks(0, 0)),
                (2, ticks(0, 0)),
                (3, ticks(0, 0)),
                (4, ticks(0, 0)),
            ]
            .into(),
            busy: 0,
            idle: 0,
        };
        let after = Reading {
            processes: [
                (1, ticks(10, 0)),
                (2, ticks(5, 0)),
                (3, ticks(4, 20)),
                (4, ticks(1, 0)),
            ]
            .into(),
            busy: 50,
            idle: 50,
        };
        let ms = 1000.0 / clock_ticks_per_second();
        let split = split(&roles, &before, &after, 10);
        assert_eq!(split.leader_ms, ms);
        assert_eq!(split.tasks_ms, 2.0 * ms);
        assert_eq!(split.other_ms, 1.0 * ms);
        assert_eq!(split.idle_percent, 50.0);
    }
}
