//! What a worker reports is held to `kairos_dag::limits` before it is sent: the
//! reason and the log tail are cut (the cut is marked), and an attempt whose XComs
//! are too large fails with a line in its log that says which and why. The server
//! refuses a report over these limits anyway; cutting here keeps the attempt's
//! outcome instead of having it replaced by a refusal.

use std::path::Path;

use kairos_dag::limits::{
    MAX_REPORT_LOG_TAIL_BYTES, MAX_REPORT_REASON_BYTES, MAX_REPORT_XCOMS, MAX_REPORT_XCOMS_BYTES,
    MAX_XCOM_VALUE_BYTES,
};

use crate::logs;
use crate::operators::Report;

/// `report` within the limits; a refused XCom is noted in the log at `log`.
pub(super) fn bounded(report: Report, log: &Path) -> Report {
    let report = match xcom_problem(&report) {
        Some(problem) => {
            logs::note(log, &format!("kairos: {problem}"));
            Report::failed(problem)
        }
        None => report,
    };
    Report {
        reason: report.reason.map(|r| cut_end(r, MAX_REPORT_REASON_BYTES)),
        ..report
    }
}

/// Why the report's XComs cannot be sent, if they cannot.
fn xcom_problem(report: &Report) -> Option<String> {
    if report.xcoms.len() > MAX_REPORT_XCOMS {
        return Some(format!(
            "the task pushed {} XComs; at most {MAX_REPORT_XCOMS} may be reported (see \
             docs/limits.md)",
            report.xcoms.len()
        ));
    }
    let mut total = 0usize;
    for (key, value) in &report.xcoms {
        let bytes = key.len() + serde_json::to_string(value).map_or(usize::MAX, |j| j.len());
        if bytes > MAX_XCOM_VALUE_BYTES {
            return Some(format!(
                "XCom `{}` is {bytes} bytes of JSON; an XCom may be at most \
                 {MAX_XCOM_VALUE_BYTES} bytes (see docs/limits.md). XCom is not a data \
                 channel: push a reference (a path or URL) to the data instead",
                key.chars().take(100).collect::<String>()
            ));
        }
        total = total.saturating_add(bytes);
    }
    (total > MAX_REPORT_XCOMS_BYTES).then(|| {
        format!(
            "the task's XComs are {total} bytes of JSON together; at most \
             {MAX_REPORT_XCOMS_BYTES} may be reported (see docs/limits.md). Push references \
             (paths or URLs) to the data instead"
        )
    })
}

/// The first `max` bytes of `text` (at a character boundary), the cut marked.
fn cut_end(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let marker = format!(" [... cut by kairos: {} bytes in all]", text.len());
    let mut end = max.saturating_sub(marker.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &text[..end])
}

/// The last bytes of a log tail within [`MAX_REPORT_LOG_TAIL_BYTES`], the cut marked.
pub(super) fn cut_tail(tail: String) -> String {
    if tail.len() <= MAX_REPORT_LOG_TAIL_BYTES {
        return tail;
    }
    let marker = "[kairos: the log tail was cut; the full log stays on the worker]\n";
    let mut start = tail.len() - (MAX_REPORT_LOG_TAIL_BYTES - marker.len());
    while !tail.is_char_boundary(start) {
        start += 1;
    }
    format!("{marker}{}", &tail[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_oversized_xcom_fails_the_attempt_with_a_line_in_its_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("attempt.log");
        let big = json!("x".repeat(MAX_XCOM_VALUE_BYTES));
        let report = Report {
            xcoms: vec![("return_value".into(), big)],
            ..Report::success()
        };
        let sent = bounded(report, &log);
        assert_eq!(sent.state, "failed");
        assert!(sent.xcoms.is_empty());
        let reason = sent.reason.unwrap_or_default();
        assert!(
            reason.contains("return_value") && reason.contains("at most"),
            "{reason}"
        );
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(text.contains("XCom `return_value`"), "{text}");
    }

    #[test]
    fn reasons_and_tails_are_cut_within_the_limits_and_the_cut_is_marked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = Report::failed("é".repeat(MAX_REPORT_REASON_BYTES));
        let reason = bounded(report, &dir.path().join("l"))
            .reason
            .unwrap_or_default();
        assert!(
            reason.len() <= MAX_REPORT_REASON_BYTES && reason.contains("cut"),
            "{}",
            reason.len()
        );
        let tail = cut_tail(format!("{}END", "ü".repeat(MAX_REPORT_LOG_TAIL_BYTES)));
        assert!(tail.len() <= MAX_REPORT_LOG_TAIL_BYTES);
        assert!(tail.starts_with("[kairos: the log tail was cut") && tail.ends_with("END"));
        assert_eq!(cut_tail("short".into()), "short");
    }
}
