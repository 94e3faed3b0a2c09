//! What the runner's concurrent tasks share: the processes behind an async lock
//! (held across awaits), the history behind a plain one (never held across one).

use std::sync::{Arc, Mutex};

use tokio::sync::Mutex as AsyncMutex;

pub type Shared<T> = Arc<AsyncMutex<T>>;

/// Locks `m`, poisoned or not: a task that panicked leaves the history readable.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
