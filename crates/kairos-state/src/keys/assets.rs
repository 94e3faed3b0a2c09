//! Keys of the assets family: an asset by URI, its events in the order they
//! happened, the DAGs scheduled on it, and the events each such DAG has not run
//! for yet.

use super::bytes::{join, prefix};

/// An event's id: the log entry that recorded it and its place there, so that
/// ids sort in the order events happened and are the same on every node.
pub fn event_id(index: u64, position: usize, n: usize) -> String {
    format!("{index:020}.{position:05}.{n:03}")
}

pub fn asset(uri: &str) -> Vec<u8> {
    join(&[b"a", uri.as_bytes()])
}

pub fn assets_prefix() -> Vec<u8> {
    prefix(&[b"a"])
}

pub fn event(uri: &str, id: &str) -> Vec<u8> {
    join(&[b"e", uri.as_bytes(), id.as_bytes()])
}

pub fn events_prefix(uri: &str) -> Vec<u8> {
    prefix(&[b"e", uri.as_bytes()])
}

pub fn consumer(uri: &str, dag_id: &str) -> Vec<u8> {
    join(&[b"c", uri.as_bytes(), dag_id.as_bytes()])
}

pub fn consumers_prefix(uri: &str) -> Vec<u8> {
    prefix(&[b"c", uri.as_bytes()])
}

pub fn queued(dag_id: &str, uri: &str) -> Vec<u8> {
    join(&[b"q", dag_id.as_bytes(), uri.as_bytes()])
}

pub fn queued_prefix(dag_id: &str) -> Vec<u8> {
    prefix(&[b"q", dag_id.as_bytes()])
}
