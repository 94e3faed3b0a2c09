//! Task instances a poll is dispatching right now, so that two polls never propose
//! the same one. A claim is released when its proposal is answered, whatever the
//! answer; a poisoned lock is recovered, never left holding claims for ever.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use kairos_state::TaskInstanceKey;

#[derive(Debug, Default)]
pub struct Claims {
    held: Mutex<HashSet<TaskInstanceKey>>,
}

impl Claims {
    fn lock(&self) -> MutexGuard<'_, HashSet<TaskInstanceKey>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claims up to `room` of `candidates` that nobody holds; returns them.
    pub fn take(
        &self,
        candidates: impl IntoIterator<Item = TaskInstanceKey>,
        room: usize,
    ) -> Vec<TaskInstanceKey> {
        let mut held = self.lock();
        let mut taken = Vec::new();
        for ti in candidates {
            if taken.len() >= room {
                break;
            }
            if held.insert(ti.clone()) {
                taken.push(ti);
            }
        }
        taken
    }

    pub fn release(&self, claimed: &[TaskInstanceKey]) {
        let mut held = self.lock();
        for ti in claimed {
            held.remove(ti);
        }
    }
}
