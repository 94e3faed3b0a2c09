//! One server-sent-events stream per page: `applied` with this node's applied
//! log index each time it moves on (at most four times a second), so a page
//! redraws when the state may have changed, on a follower as on the leader,
//! and not at all while nothing happens.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use super::Ui;
use crate::api::scope::Scope;

/// The least time between two events of one stream.
const MIN_GAP: Duration = Duration::from_millis(250);

pub(super) async fn stream(
    State(ui): State<Arc<Ui>>,
    _scope: Scope,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let applied = ui.node.applied();
    let first = *applied.borrow();
    let events = futures::stream::unfold((applied, Some(first)), |(mut rx, pending)| async move {
        if let Some(index) = pending {
            let event = Event::default().event("applied").data(index.to_string());
            return Some((Ok(event), (rx, None)));
        }
        tokio::time::sleep(MIN_GAP).await;
        rx.changed().await.ok()?;
        let index = *rx.borrow_and_update();
        let event = Event::default().event("applied").data(index.to_string());
        Some((Ok(event), (rx, None)))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
