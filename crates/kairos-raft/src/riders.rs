//! Riders: commands that travel only on an entry something else proposes,
//! never in one of their own, placed after that entry's other commands. A
//! waiting poll's take rides so: the entry that queues a task then also
//! starts it on the waiting worker. A rider stays parked until the proposer's
//! next entry takes it, or until its owner withdraws it (or drops its
//! ticket).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kairos_state::Command;
use tokio::sync::oneshot;

use crate::proposer::{Committed, Proposal, ProposeError};

/// The riders waiting for an entry.
#[derive(Default)]
pub(crate) struct Riders {
    parked: Mutex<Vec<(u64, Proposal)>>,
    next_id: AtomicU64,
}

impl Riders {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Proposal)>> {
        match self.parked.lock() {
            Ok(parked) => parked,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Parks `commands` (`bytes` of JSON) for the next entry.
    pub(crate) fn park(self: &Arc<Self>, commands: Vec<Command>, bytes: usize) -> Ride {
        let (reply, answer) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push((
            id,
            Proposal {
                commands,
                bytes,
                reply,
            },
        ));
        Ride {
            ticket: Ticket {
                id,
                riders: self.clone(),
            },
            answer: Answer(answer),
        }
    }

    /// The parked riders that fit in `commands` more commands and `bytes`
    /// more bytes, oldest first; the others stay parked.
    pub(crate) fn board(&self, mut commands: usize, mut bytes: usize) -> Vec<Proposal> {
        let mut parked = self.lock();
        if parked.is_empty() {
            return Vec::new();
        }
        let mut boarding = Vec::new();
        let mut staying = Vec::new();
        for (id, rider) in parked.drain(..) {
            if rider.commands.len() <= commands && rider.bytes <= bytes {
                commands -= rider.commands.len();
                bytes -= rider.bytes;
                boarding.push(rider);
            } else {
                staying.push((id, rider));
            }
        }
        *parked = staying;
        boarding
    }

    fn withdraw(&self, id: u64) -> bool {
        let mut parked = self.lock();
        let before = parked.len();
        parked.retain(|(parked_id, _)| *parked_id != id);
        parked.len() < before
    }
}

/// A parked rider: the ticket that can take it back, and its answer.
pub struct Ride {
    pub ticket: Ticket,
    pub answer: Answer,
}

/// Takes a parked rider back; dropped, it takes it back too.
pub struct Ticket {
    id: u64,
    riders: Arc<Riders>,
}

impl Ticket {
    /// `true`: withdrawn, it will never be applied (its [`Answer`] ends with
    /// an error); `false`: an entry carries it (its answer will say what it
    /// did) or its answer already came.
    pub fn withdraw(&self) -> bool {
        self.riders.withdraw(self.id)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.withdraw();
    }
}

/// The answer of the entry that carried a rider (its own commands' results).
pub struct Answer(oneshot::Receiver<Result<Committed, ProposeError>>);

impl Answer {
    pub async fn get(self) -> Result<Committed, ProposeError> {
        self.0
            .await
            .map_err(|_| ProposeError::Unknown("the rider was withdrawn or dropped".into()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riders_board_oldest_first_within_the_room_and_a_withdrawn_one_never_boards() {
        let riders = Arc::new(Riders::default());
        let first = riders.park(vec![Command::Tick], 10);
        let second = riders.park(vec![Command::Tick, Command::Tick], 10);
        let third = riders.park(vec![Command::Tick], 10);
        assert!(second.ticket.withdraw(), "parked: withdrawn");
        assert!(!second.ticket.withdraw(), "only once");
        // Room for one command: the first boards, the third stays.
        let boarded = riders.board(1, 100);
        assert_eq!(boarded.len(), 1);
        assert!(!first.ticket.withdraw(), "boarded: no longer withdrawable");
        assert_eq!(riders.board(10, 5).len(), 0, "too many bytes: stays");
        drop(third.ticket);
        assert_eq!(riders.board(10, 100).len(), 0, "dropped: withdrawn");
    }

    #[tokio::test]
    async fn a_withdrawn_riders_answer_says_so_and_a_boarded_ones_comes_from_its_entry() {
        let riders = Arc::new(Riders::default());
        let ride = riders.park(vec![Command::Tick], 10);
        assert!(ride.ticket.withdraw());
        assert!(ride.answer.get().await.is_err());
        let ride = riders.park(vec![Command::Tick], 10);
        let boarded = riders.board(10, 100).pop().expect("boarded");
        let _ = boarded.reply.send(Ok(Committed {
            results: vec![],
            log_index: 7,
        }));
        assert_eq!(ride.answer.get().await.expect("answered").log_index, 7);
    }
}
