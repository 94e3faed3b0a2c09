//! How Raft entries and messages are written: a format byte, then the body.
//! Format 1 is MessagePack with field names (`rmp-serde`), about a third the
//! size of JSON for the entries a busy cluster writes; format 2 is format 1
//! compressed with LZ4 (`lz4_flex`), used for bodies large enough to gain from
//! it (an entry of many commands repeats its DAG ids, worker ids and field
//! names). Older nodes wrote JSON, whose first byte is `{`: it is still read,
//! so a log written before stays readable. A byte this build does not know is
//! refused with a message naming it: a node never guesses at what a newer one
//! wrote, so a mixed-version cluster refuses an entry rather than applying it
//! differently.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a node writes (it reads every format it knows, whatever this says).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Formats 1 and 2: MessagePack, compressed when large.
    #[default]
    Binary,
    /// JSON, as Kairos wrote before format 1: for a rolling upgrade from such a
    /// version (its nodes read only JSON) until every node runs this one.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text {
            "binary" => Ok(Format::Binary),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "`{other}` is not a Raft format: binary (the default) or json (while nodes of an older version remain)"
            )),
        }
    }
}

/// The largest body a compressed message may claim (a peer's claim is checked
/// before anything is allocated for it).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// MessagePack, field names kept (so `serde`'s defaults and optional fields
/// work as they do in JSON).
const MSGPACK: u8 = 1;
/// [`MSGPACK`] compressed with LZ4 (the uncompressed size first).
const MSGPACK_LZ4: u8 = 2;
/// Bodies at least this large are compressed.
const COMPRESS_FROM: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("cannot encode: {0}")]
    Encode(String),
    #[error("cannot decode: {0}")]
    Decode(String),
    #[error(
        "written in format {0}, which this Kairos does not know (a newer version wrote it): upgrade this node"
    )]
    Unknown(u8),
}

/// `value` in `format`.
pub fn encode<T: Serialize>(value: &T, format: Format) -> Result<Vec<u8>, CodecError> {
    if format == Format::Json {
        return serde_json::to_vec(value).map_err(|e| CodecError::Encode(e.to_string()));
    }
    let body = rmp_serde::to_vec_named(value).map_err(|e| CodecError::Encode(e.to_string()))?;
    if body.len() < COMPRESS_FROM {
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(MSGPACK);
        out.extend_from_slice(&body);
        return Ok(out);
    }
    let compressed = lz4_flex::compress_prepend_size(&body);
    let mut out = Vec::with_capacity(compressed.len() + 1);
    out.push(MSGPACK_LZ4);
    out.extend_from_slice(&compressed);
    Ok(out)
}

/// The format `bytes` were written in, when this build knows it.
pub fn format_of(bytes: &[u8]) -> Option<Format> {
    match bytes.first() {
        Some(&MSGPACK) | Some(&MSGPACK_LZ4) => Some(Format::Binary),
        Some(b'{') | Some(b'[') | Some(b'"') | Some(b'n') => Some(Format::Json),
        _ => None,
    }
}

/// Reads `bytes` in whichever known format they were written.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let decode_err = |e: &dyn std::fmt::Display| CodecError::Decode(e.to_string());
    match bytes.first() {
        Some(b'{') | Some(b'[') | Some(b'"') | Some(b'n') => {
            serde_json::from_slice(bytes).map_err(|e| decode_err(&e))
        }
        Some(&MSGPACK) => rmp_serde::from_slice(&bytes[1..]).map_err(|e| decode_err(&e)),
        Some(&MSGPACK_LZ4) => {
            let compressed = &bytes[1..];
            let claimed = compressed
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| CodecError::Decode("a compressed body without its size".into()))?;
            if claimed > MAX_BODY {
                return Err(CodecError::Decode(format!(
                    "a compressed body claims {claimed} bytes, more than {MAX_BODY}"
                )));
            }
            let body =
                lz4_flex::decompress_size_prepended(compressed).map_err(|e| decode_err(&e))?;
            rmp_serde::from_slice(&body).map_err(|e| decode_err(&e))
        }
        Some(other) => Err(CodecError::Unknown(*other)),
        None => Err(CodecError::Decode("empty".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_state::{Batch, Command, TaskInstanceKey};

    /// A busy entry: 100 task instances each dispatched and reported.
    fn busy_batch() -> Batch {
        let mut commands = Vec::new();
        for i in 0..100 {
            let ti = TaskInstanceKey {
                dag_id: "bench_wide_protocol".into(),
                run_id: format!("run_{}", i / 50),
                task_id: format!("t{:03}", i % 50),
                map_index: -1,
            };
            commands.push(Command::Dispatch {
                ti: ti.clone(),
                worker: "worker-1".into(),
                log_url: Some("https://10.0.0.7:8793".into()),
                token: Some(format!("{i:032x}")),
            });
            commands.push(Command::FinishAttempt {
                ti,
                attempt: format!("{i:032x}"),
                actor: kairos_dag::lifecycle::Actor::Worker,
                state: kairos_dag::lifecycle::TaskInstanceState::Success,
                reason: None,
                xcoms: vec![("return_value".into(), serde_json::json!({"rows": i}))],
                log_tail: Some("done\n".into()),
                follow: None,
                reschedule_at: None,
                no_retry: false,
                outlet_events: vec![],
            });
        }
        Batch {
            stamp: chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            commands,
        }
    }

    #[test]
    fn every_format_reads_back_the_same_batch_and_binary_is_smaller() {
        let batch = busy_batch();
        let json = encode(&batch, Format::Json).unwrap();
        let binary = encode(&batch, Format::Binary).unwrap();
        assert_eq!(format_of(&json), Some(Format::Json));
        assert_eq!(binary[0], MSGPACK_LZ4, "a large body is compressed");
        assert_eq!(decode::<Batch>(&json).unwrap(), batch);
        assert_eq!(decode::<Batch>(&binary).unwrap(), batch);
        // A small one is not.
        let small = Batch {
            stamp: batch.stamp,
            commands: vec![Command::Tick],
        };
        let encoded = encode(&small, Format::Binary).unwrap();
        assert_eq!(encoded[0], MSGPACK);
        assert_eq!(decode::<Batch>(&encoded).unwrap(), small);
        assert!(
            binary.len() * 4 < json.len(),
            "binary {} bytes, JSON {} bytes",
            binary.len(),
            json.len()
        );
    }

    #[test]
    fn an_unknown_format_or_a_bad_body_is_refused_not_guessed() {
        let err = decode::<Batch>(&[9, 1, 2, 3]).unwrap_err();
        assert!(err.to_string().contains("format 9"), "{err}");
        assert!(err.to_string().contains("upgrade this node"), "{err}");
        let mut claim = vec![MSGPACK_LZ4];
        claim.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            decode::<Batch>(&claim)
                .unwrap_err()
                .to_string()
                .contains("claims")
        );
        assert!(decode::<Batch>(&[MSGPACK, 0xc1]).is_err());
        assert!(decode::<Batch>(&[]).is_err());
    }
}
