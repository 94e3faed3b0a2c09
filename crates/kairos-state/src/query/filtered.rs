//! A page of a filtered list: raw entries are read a chunk at a time from a
//! cursor and kept while they pass, until the page is full or the list ends, so
//! that a filter never makes a page short while more entries exist.

use crate::store::StoreError;

/// Raw `(key, value)` pairs after a cursor.
pub(super) type Chunk = Vec<(Vec<u8>, Vec<u8>)>;

/// At most `limit` items: `read` gives the next raw entries after the cursor (at
/// most `limit` of them), `keep` turns an entry into an item or passes over it.
pub(super) fn filtered_page<T>(
    limit: usize,
    mut cursor: Option<Vec<u8>>,
    mut read: impl FnMut(Option<&[u8]>, usize) -> Result<Chunk, StoreError>,
    mut keep: impl FnMut(&[u8]) -> Result<Option<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    loop {
        let chunk = read(cursor.as_deref(), limit)?;
        let exhausted = chunk.len() < limit;
        for (key, value) in chunk {
            cursor = Some(key);
            if let Some(item) = keep(&value)? {
                out.push(item);
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
        if exhausted {
            return Ok(out);
        }
    }
}
