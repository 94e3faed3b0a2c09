//! Airflow's `outlet_events` as a task leaves them in
//! `$KAIROS_OUTLET_EVENTS_FILE`: one JSON object per line, `{"uri": ...,
//! "extra": {...}}` for the event of one of its outlet assets, with `"alias":
//! NAME` for an event added through one of its outlet aliases. The Python
//! runner writes them for `outlet_events[...]`; any task may. Each is checked
//! against the task's outlets and the report's limits here, so that a bad one
//! fails the task with its line instead of being dropped on the way.

use std::path::Path;

use kairos_dag::asset::{AssetRef, OutletEvent};
use kairos_dag::limits::{MAX_OUTLET_EVENT_BYTES, MAX_REPORT_OUTLET_EVENTS};

/// The events in `path` (none when the file does not exist).
pub fn read(path: &Path, outlets: &[AssetRef]) -> Result<Vec<OutletEvent>, String> {
    let text = match crate::private_file::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read $KAIROS_OUTLET_EVENTS_FILE: {e}")),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |why: String| format!("line {} of $KAIROS_OUTLET_EVENTS_FILE: {why}", i + 1);
        if line.len() > MAX_OUTLET_EVENT_BYTES {
            return Err(at(format!(
                "{} bytes; an asset event may be at most {MAX_OUTLET_EVENT_BYTES} bytes (see \
                 docs/limits.md)",
                line.len()
            )));
        }
        let event: OutletEvent = serde_json::from_str(line).map_err(|e| {
            at(format!(
                "not {{\"uri\": \"...\", \"alias\": \"...\", \"extra\": {{...}}}} ({e}): {line:.200}"
            ))
        })?;
        if let Some(problem) = event.problem(outlets) {
            return Err(at(problem));
        }
        out.push(event);
        if out.len() > MAX_REPORT_OUTLET_EVENTS {
            return Err(format!(
                "the task added more than {MAX_REPORT_OUTLET_EVENTS} asset events; that is the \
                 most one attempt may report (see docs/limits.md)"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outlets() -> Vec<AssetRef> {
        vec![
            AssetRef::Asset {
                uri: "s3://b/x".into(),
                name: None,
            },
            AssetRef::Alias { name: "dyn".into() },
        ]
    }

    #[test]
    fn events_of_outlets_and_aliases_are_read_and_others_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.jsonl");
        assert_eq!(read(&path, &outlets()), Ok(vec![]));
        std::fs::write(
            &path,
            "{\"uri\": \"s3://b/x\", \"extra\": {\"rows\": 3}}\n\n{\"uri\": \"s3://b/y\", \"alias\": \"dyn\"}\n",
        )
        .expect("write");
        let events = read(&path, &outlets()).expect("valid");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].extra["rows"], 3);
        assert_eq!(events[1].alias.as_deref(), Some("dyn"));
        for (line, why) in [
            ("{\"uri\": \"s3://b/z\"}", "not one of the task's outlets"),
            (
                "{\"uri\": \"s3://b/z\", \"alias\": \"other\"}",
                "alias `other`",
            ),
            ("[1]", "line 1"),
        ] {
            std::fs::write(&path, line).expect("write");
            let err = read(&path, &outlets()).expect_err(line);
            assert!(err.contains(why), "{line}: {err}");
        }
    }
}
