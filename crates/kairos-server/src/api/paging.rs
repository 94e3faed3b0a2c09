//! Airflow's paging beside Kairos's cursor: a page read from a cursor (`after`),
//! with `offset` items skipped first, and, when asked, every item of the list
//! counted (`total_entries`). Skipped items are read to be skipped and a count
//! reads the whole list, so both cost what they cover; docs/api.md says so. An
//! unfiltered list is counted from its keys alone ([`count_keys`]).

use kairos_state::keys::Cf;
use kairos_state::{Store, StoreError};

/// Which part of a list a request asks for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub limit: usize,
    pub offset: usize,
    /// Count every item that passes (for `total_entries`).
    pub count: bool,
}

impl Window {
    /// `limit` (clamped to 1..=1000, `default` when absent) and `offset` of a
    /// request; the list is counted unless the request pages with `after`, as
    /// Airflow's clients never do.
    pub fn of(limit: Option<usize>, offset: Option<usize>, after: bool, default: usize) -> Window {
        Window {
            limit: limit.unwrap_or(default).clamp(1, 1000),
            offset: offset.unwrap_or(0),
            count: !after,
        }
    }
}

/// A page, and the count of the whole list when it was asked for.
pub(super) struct Paged<T> {
    pub items: Vec<T>,
    pub total: Option<usize>,
}

/// Reads `window` of a list: `fetch(cursor, n)` gives at most `n` items after
/// `cursor` in list order, `cursor_of` names an item's place, and only items
/// that `keep` passes count.
pub(super) fn window<T, C>(
    start: Option<C>,
    window: Window,
    mut fetch: impl FnMut(Option<&C>, usize) -> Result<Vec<T>, StoreError>,
    cursor_of: impl Fn(&T) -> C,
    keep: impl Fn(&T) -> bool,
) -> Result<Paged<T>, StoreError> {
    const CHUNK: usize = 1000;
    let mut chunk_size = if window.count {
        CHUNK
    } else {
        window.offset.saturating_add(window.limit).min(CHUNK)
    };
    let mut cursor = start;
    let mut passed = 0usize;
    let mut items = Vec::new();
    loop {
        let chunk = fetch(cursor.as_ref(), chunk_size)?;
        let exhausted = chunk.len() < chunk_size;
        for item in chunk {
            cursor = Some(cursor_of(&item));
            if !keep(&item) {
                continue;
            }
            passed += 1;
            if passed > window.offset && items.len() < window.limit {
                items.push(item);
            }
        }
        if exhausted || (!window.count && items.len() == window.limit) {
            return Ok(Paged {
                items,
                total: window.count.then_some(passed),
            });
        }
        chunk_size = CHUNK;
    }
}

/// How many records column family `cf` holds under `prefix`, counted from
/// their keys: nothing is decoded and no other record is looked up, so an
/// unfiltered list is counted several times faster than it is read.
pub(super) fn count_keys(s: &Store, cf: Cf, prefix: &[u8]) -> Result<usize, StoreError> {
    const CHUNK: usize = 4096;
    let mut count = 0;
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let chunk = s.scan_raw(cf, prefix, cursor.as_deref(), CHUNK)?;
        count += chunk.len();
        if chunk.len() < CHUNK {
            return Ok(count);
        }
        cursor = chunk.last().map(|(key, _)| key.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: u32) -> impl FnMut(Option<&u32>, usize) -> Result<Vec<u32>, StoreError> {
        move |after, limit| {
            let from = after.map_or(0, |a| a + 1);
            Ok((from..n).take(limit).collect())
        }
    }

    #[test]
    fn offsets_skip_filters_keep_and_counts_cover_the_whole_list() {
        // A request with `after` is not counted; one without is.
        let w = Window::of(Some(3), Some(2), true, 100);
        let page = window(None, w, list(2500), |i| *i, |_| true).unwrap();
        assert_eq!(page.items, [2, 3, 4]);
        assert_eq!(page.total, None);
        let counted = window(
            None,
            Window::of(Some(3), Some(2), false, 100),
            list(2500),
            |i| *i,
            |_| true,
        )
        .unwrap();
        assert_eq!((counted.items, counted.total), (vec![2, 3, 4], Some(2500)));
        let w = Window::of(Some(3), Some(1), true, 100);
        let page = window(None, w, list(2500), |i| *i, |i| i % 2 == 0).unwrap();
        assert_eq!(page.items, [2, 4, 6]);
        let w = Window::of(Some(2), Some(1000), true, 100);
        let evens = window(
            None,
            Window { count: true, ..w },
            list(2500),
            |i| *i,
            |i| i % 2 == 0,
        )
        .unwrap();
        assert_eq!(evens.items, [2000, 2002]);
        assert_eq!(evens.total, Some(1250));
        let after = window(
            Some(2495),
            Window::of(None, None, true, 100),
            list(2500),
            |i| *i,
            |_| true,
        )
        .unwrap();
        assert_eq!(after.items, [2496, 2497, 2498, 2499]);
        assert_eq!(after.total, None);
    }
}

/// A page of a team's own items with the cluster-wide ones of ids it has none
/// of, in id order, at most `limit` (what a team's caller lists of Variables
/// and connections).
pub(super) fn own_then_shared<T>(
    mut own: Vec<T>,
    shared: Vec<T>,
    id: impl Fn(&T) -> &str,
    limit: usize,
) -> Vec<T> {
    for item in shared {
        if !own.iter().any(|o| id(o) == id(&item)) {
            own.push(item);
        }
    }
    own.sort_by(|a, b| id(a).cmp(id(b)));
    own.truncate(limit);
    own
}
