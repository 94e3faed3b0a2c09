//! `Poll`: hands queued attempts to a worker. Attempts it already holds but never
//! received (a failover, a lost answer) are sent again from the lease table;
//! otherwise the queued index of its queues is read, the instances it may take
//! (its environments and teams, `leader::placement`) claimed, one
//! `Dispatch` per instance proposed (queued -> running with a fresh attempt
//! token) and each granted a lease. A poll with nothing to hand out parks a
//! take on the next entry proposed (`waiting_take`) and waits, up to the
//! worker's deadline.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kairos_proto::v1::{Assignment, PollReply, PollRequest};
use kairos_state::{Command, Outcome, TaskInstanceKey};
use tonic::Status;

use super::assignment::Assignments;
use super::caller::acting_as;
use super::guard::{check_leader, known_worker, propose_error};
use super::waiting_take::{self, Riding, settle};
use crate::leader::Leader;
use crate::leader::placement::Fit;
use crate::node::NodeError;

/// The longest a poll waits for work.
const MAX_POLL_WAIT: Duration = Duration::from_secs(30);

pub(super) async fn poll(
    s: &Arc<Leader>,
    assignments: &Assignments,
    proven: &Option<String>,
    r: PollRequest,
) -> Result<PollReply, Status> {
    check_leader(s)?;
    acting_as(proven, &r.worker_id)?;
    // Lost assignments are sent again from the lease table: only a leader a
    // quorum follows may do that (an isolated one may hold expired leases).
    s.confirm_leadership().await?;
    let worker = known_worker(s, &r.worker_id)?;
    let deadline = Instant::now() + Duration::from_millis(u64::from(r.wait_ms)).min(MAX_POLL_WAIT);
    // Attempts handed to this worker whose reply it never got (a failover, a
    // lost connection) are sent again rather than left to expire.
    // The lease table knows who holds what (re-armed from the state by every new
    // leader), so this costs no read of the store.
    let known: HashSet<&str> = r.known_attempts.iter().map(String::as_str).collect();
    let held: Vec<(String, TaskInstanceKey)> = s
        .with_leases(|l| l.held_by(&r.worker_id))
        .into_iter()
        .filter(|(attempt, _)| !known.contains(attempt.as_str()))
        .collect();
    let lost = build_all(s, assignments, &held)?;
    if !lost.is_empty() {
        return Ok(PollReply {
            tasks: lost,
            dag_callbacks: vec![],
        });
    }
    let mut applied = s.node.applied();
    let free = r.free_slots as usize;
    if free == 0 {
        tokio::time::sleep_until(deadline.into()).await;
        return Ok(PollReply::default());
    }
    // A DAG's own callbacks are looked for once per poll, not on every apply
    // the poll waits through: they wait at most one poll, and the dispatch
    // path reads nothing more while tasks flow.
    let dag_callbacks =
        super::dag_callbacks::take(s, &r.worker_id, &worker.queues, &worker.fit).await?;
    if !dag_callbacks.is_empty() {
        return Ok(PollReply {
            tasks: vec![],
            dag_callbacks,
        });
    }
    // While nothing fits, a take rides the entries proposed here: the one that
    // queues this worker's next task starts it (`waiting_take`).
    let mut riding: Option<Riding> = None;
    loop {
        applied.borrow_and_update();
        let mut picks: Vec<TaskInstanceKey> = Vec::new();
        for queue in &worker.queues {
            picks.extend(fitting(s, &worker.fit, queue, free - picks.len())?);
            if picks.len() >= free {
                break;
            }
        }
        if !picks.is_empty() {
            // An entry proposed before the take was parked queued them. Take
            // the take back first; if an entry already carries it, its answer
            // comes first (it may have started these very instances).
            if let Some(ride) = riding.take()
                && !ride.ticket.withdraw()
            {
                s.claims.release(&picks);
                let tasks = build_all(s, assignments, &settle(s, ride.settled).await?)?;
                if !tasks.is_empty() {
                    return Ok(PollReply {
                        tasks,
                        dag_callbacks: vec![],
                    });
                }
                continue;
            }
            let log_url = (!worker.log_url.is_empty()).then(|| worker.log_url.clone());
            let granted = dispatch(s, &r.worker_id, log_url, picks).await?;
            let tasks = build_all(s, assignments, &granted)?;
            if !tasks.is_empty() {
                return Ok(PollReply {
                    tasks,
                    dag_callbacks: vec![],
                });
            }
            continue;
        }
        let ride = match riding.as_mut() {
            Some(ride) => ride,
            None => riding.insert(waiting_take::park(s, &r.worker_id, &worker, free)?),
        };
        let mut timed_out = false;
        let settled = tokio::select! {
            changed = applied.changed() => {
                if changed.is_err() {
                    return Err(Status::unavailable("the node is stopping"));
                }
                None
            }
            settled = &mut ride.settled => Some(settled),
            _ = tokio::time::sleep_until(deadline.into()) => {
                timed_out = true;
                None
            }
        };
        let granted = match settled {
            Some(settled) => {
                riding = None;
                settled
                    .map_err(|e| Status::internal(format!("a waiting take stopped: {e}")))?
                    .map_err(|e| propose_error(s, e))?
            }
            // The deadline: take the take back, or wait for what its entry did.
            None if timed_out => match riding.take() {
                Some(ride) if !ride.ticket.withdraw() => settle(s, ride.settled).await?,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let tasks = build_all(s, assignments, &granted)?;
        if !tasks.is_empty() || timed_out {
            return Ok(PollReply {
                tasks,
                dag_callbacks: vec![],
            });
        }
        check_leader(s)?;
    }
}

/// How far down a queue a poll looks for tasks this worker may take, when the
/// ones at its head need an environment or a team it does not serve.
const MAX_SCAN: usize = 4096;

/// Claims up to `room` queued instances of `queue` that this worker may take (its
/// environments, its teams), highest priority first. The queue's head is read
/// as before; only when some of it did not fit is more of the queue read, so
/// that tasks nobody here can take do not hide the ones behind them.
pub(super) fn fitting(
    s: &Leader,
    fit: &Fit,
    queue: &str,
    room: usize,
) -> Result<Vec<TaskInstanceKey>, NodeError> {
    let mut limit = room * 2;
    loop {
        let (queued, read, refused) = s.node.read_now(|store| {
            let mut queued = store.queued(queue, limit)?;
            let read = queued.len();
            let refused = s.placements.keep_fitting(store, fit, &mut queued)?;
            Ok((queued, read, refused))
        })?;
        let enough = queued.len() >= room;
        let taken = s.claims.take(queued, room);
        // Everything there was read, nothing was left out for this worker, or
        // enough fit: what was claimed is the answer.
        if read < limit || refused == 0 || enough || limit >= MAX_SCAN {
            return Ok(taken);
        }
        s.claims.release(&taken);
        limit = (limit * 4).min(MAX_SCAN);
    }
}

/// Proposes the dispatch of the claimed instances, releases the claims and grants
/// a lease to every attempt started; returns them.
///
/// This runs in a task of its own: if the worker gives up on its poll (its
/// deadline) while the proposal commits, the claims are still released and the
/// attempts still leased, so the next poll hands them back instead of leaving
/// them running with nobody.
async fn dispatch(
    s: &Arc<Leader>,
    worker: &str,
    log_url: Option<String>,
    picks: Vec<TaskInstanceKey>,
) -> Result<Vec<(String, TaskInstanceKey)>, Status> {
    let mut commands = Vec::with_capacity(picks.len());
    for ti in &picks {
        let token = crate::tokens::attempt_token().map_err(|e| {
            s.claims.release(&picks);
            Status::unavailable(e)
        })?;
        commands.push(Command::Dispatch {
            ti: ti.clone(),
            worker: worker.to_string(),
            log_url: log_url.clone(),
            token: Some(token),
        });
    }
    let (leader, worker) = (s.clone(), worker.to_string());
    tokio::spawn(async move {
        let proposed = leader.node.propose_here(commands).await;
        leader.claims.release(&picks);
        let started = picks
            .iter()
            .zip(proposed?.results)
            .filter_map(|(ti, result)| match result {
                Ok(Outcome::TaskState {
                    attempt: Some(attempt),
                    ..
                }) => Some((ti.clone(), attempt)),
                _ => None,
            });
        Ok::<_, NodeError>(leader.lease_handed(&worker, started))
    })
    .await
    .map_err(|e| Status::internal(format!("a dispatch stopped: {e}")))?
    .map_err(|e| propose_error(s, e))
}

/// The assignments of `attempts`, leaving out those whose task instance is gone.
pub(super) fn build_all(
    s: &Leader,
    assignments: &Assignments,
    attempts: &[(String, TaskInstanceKey)],
) -> Result<Vec<Assignment>, Status> {
    let mut out = Vec::with_capacity(attempts.len());
    for (attempt, ti) in attempts {
        if let Some(assignment) = assignments.build(&s.node, ti, attempt)? {
            out.push(assignment);
        }
    }
    Ok(out)
}
