//! The building blocks of keys: parts joined by NUL, and numbers and times that sort
//! as bytes the way they sort as values.

use chrono::{DateTime, Utc};

const SEP: u8 = 0;

/// Appends `parts` separated by NUL.
pub(crate) fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(SEP);
        }
        key.extend_from_slice(part);
    }
    key
}

/// `parts` joined, and one more separator: the prefix of everything below them.
pub(crate) fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = join(parts);
    key.push(SEP);
    key
}

/// A map index that sorts numerically as bytes: -1 (not mapped) first, then 0, 1, ...
pub(crate) fn map_index_bytes(map_index: i32) -> [u8; 4] {
    ((map_index as u32) ^ 0x8000_0000).to_be_bytes()
}

/// Microseconds since the epoch, sign bit flipped, so that times sort as bytes.
pub fn time_bytes(at: DateTime<Utc>) -> [u8; 8] {
    ((at.timestamp_micros() as u64) ^ (1 << 63)).to_be_bytes()
}

/// The time at the start of `bytes` (written by [`time_bytes`]).
pub fn time_from_bytes(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let raw: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    DateTime::from_timestamp_micros((u64::from_be_bytes(raw) ^ (1 << 63)) as i64)
}

/// Higher weights sort first.
pub(crate) fn inverted_priority(weight: i32) -> [u8; 4] {
    ((i64::from(i32::MAX) - i64::from(weight)) as u32).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_as_bytes_and_read_back() {
        let times = [
            DateTime::from_timestamp_micros(-5_000_000).unwrap(),
            DateTime::UNIX_EPOCH,
            DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap(),
        ];
        let bytes: Vec<[u8; 8]> = times.iter().map(|t| time_bytes(*t)).collect();
        let mut sorted = bytes.clone();
        sorted.sort();
        assert_eq!(bytes, sorted);
        for (t, b) in times.iter().zip(&bytes) {
            assert_eq!(time_from_bytes(b), Some(*t));
        }
    }

    #[test]
    fn higher_priorities_sort_first() {
        assert!(inverted_priority(10) < inverted_priority(1));
        assert!(inverted_priority(1) < inverted_priority(-3));
    }
}
