//! How a snapshot chunk travels between nodes: openraft's
//! `InstallSnapshotRequest` with its data written as one byte string.
//! Serialized as it is, the data is a sequence of numbers (one MessagePack
//! integer per byte, as JSON wrote an array of them): encoding, compressing
//! and decoding 3 MiB that way took tens of milliseconds per chunk, and a new
//! node's catch-up at a million task instances was mostly that. The fields
//! keep their names and order, and the receiver reads the data either way, so
//! a chunk from a node that still sends numbers is read as before.

use openraft::raft::InstallSnapshotRequest;
use openraft::{SnapshotMeta, Vote};
use serde::{Deserialize, Serialize};

use crate::types::{KairosNode, NodeId, TypeConfig};

/// A chunk as it is sent: borrowed from openraft's request, nothing copied.
#[derive(Serialize)]
pub struct ChunkOut<'a> {
    pub vote: &'a Vote<NodeId>,
    pub meta: &'a SnapshotMeta<NodeId, KairosNode>,
    pub offset: u64,
    #[serde(with = "serde_bytes")]
    pub data: &'a [u8],
    pub done: bool,
}

impl<'a> ChunkOut<'a> {
    pub fn of(request: &'a InstallSnapshotRequest<TypeConfig>) -> ChunkOut<'a> {
        ChunkOut {
            vote: &request.vote,
            meta: &request.meta,
            offset: request.offset,
            data: &request.data,
            done: request.done,
        }
    }
}

/// A chunk as it is received: the data as a byte string or, from an older
/// sender, as a sequence of numbers.
#[derive(Deserialize)]
pub struct ChunkIn {
    pub vote: Vote<NodeId>,
    pub meta: SnapshotMeta<NodeId, KairosNode>,
    pub offset: u64,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    pub done: bool,
}

impl From<ChunkIn> for InstallSnapshotRequest<TypeConfig> {
    fn from(chunk: ChunkIn) -> InstallSnapshotRequest<TypeConfig> {
        InstallSnapshotRequest {
            vote: chunk.vote,
            meta: chunk.meta,
            offset: chunk.offset,
            data: chunk.data,
            done: chunk.done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{self, Format};

    fn request() -> InstallSnapshotRequest<TypeConfig> {
        InstallSnapshotRequest {
            vote: Vote::new_committed(3, 1),
            meta: SnapshotMeta {
                last_log_id: None,
                last_membership: Default::default(),
                snapshot_id: "3-1-42".into(),
            },
            offset: 1 << 20,
            data: (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect(),
            done: false,
        }
    }

    #[test]
    fn a_chunk_travels_as_a_byte_string_and_arrives_whole() {
        let sent = request();
        for format in [Format::Binary, Format::Json] {
            let bytes = codec::encode(&ChunkOut::of(&sent), format).unwrap();
            let back: InstallSnapshotRequest<TypeConfig> =
                codec::decode::<ChunkIn>(&bytes).unwrap().into();
            assert_eq!(back, sent, "{format:?}");
        }
        // Uncompressed MessagePack of the data as numbers would take about
        // 1.5 bytes per byte (half of them are >= 128); as a byte string, one.
        let raw = rmp_serde::to_vec_named(&ChunkOut::of(&sent)).unwrap();
        assert!(raw.len() < sent.data.len() + 200, "{} bytes", raw.len());
    }

    #[test]
    fn a_chunk_from_a_node_that_sends_numbers_is_read_as_before() {
        let sent = request();
        for format in [Format::Binary, Format::Json] {
            let bytes = codec::encode(&sent, format).unwrap();
            let back: InstallSnapshotRequest<TypeConfig> =
                codec::decode::<ChunkIn>(&bytes).unwrap().into();
            assert_eq!(back, sent, "{format:?}");
        }
    }
}
