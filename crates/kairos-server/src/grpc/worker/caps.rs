//! What a worker's report may weigh, checked before anything is proposed: a log
//! tail, a reason or an XCom over its limit (`kairos_dag::limits`) is refused with
//! `InvalidArgument` naming the field, its size and the limit. The worker cuts its
//! log tail and reason to these sizes and checks XComs itself; a report over them
//! comes from an old or a forged worker, and proposing it would put the whole log
//! at risk (an entry a follower cannot take is sent again for ever).

use kairos_dag::limits::{
    MAX_OUTLET_EVENT_BYTES, MAX_REPORT_LOG_TAIL_BYTES, MAX_REPORT_OUTLET_EVENTS,
    MAX_REPORT_REASON_BYTES, MAX_REPORT_XCOMS, MAX_REPORT_XCOMS_BYTES, MAX_TASKS_PER_DAG,
    MAX_XCOM_VALUE_BYTES,
};
use kairos_proto::v1::{ReportFinishedRequest, XComValue};
use tonic::Status;

fn too_large(what: &str, bytes: usize, max: usize, instead: &str) -> Status {
    Status::invalid_argument(format!(
        "{what} is {bytes} bytes; the most a worker may report is {max} bytes \
         (see docs/limits.md). {instead}"
    ))
}

/// One XCom: its key and its value's JSON.
pub(super) fn check_xcom(xcom: &XComValue) -> Result<(), Status> {
    let bytes = xcom.value_json.len() + xcom.key.len();
    if bytes > MAX_XCOM_VALUE_BYTES {
        return Err(too_large(
            &format!("XCom `{}`", truncated(&xcom.key)),
            bytes,
            MAX_XCOM_VALUE_BYTES,
            "XCom is not a data channel: pass a reference (a path or URL) to the data",
        ));
    }
    Ok(())
}

/// A finished attempt's report.
pub(super) fn check_report(r: &ReportFinishedRequest) -> Result<(), Status> {
    if r.log_tail.len() > MAX_REPORT_LOG_TAIL_BYTES {
        return Err(too_large(
            "the log tail",
            r.log_tail.len(),
            MAX_REPORT_LOG_TAIL_BYTES,
            "Send the end of the log only; the full log stays on the worker",
        ));
    }
    if r.reason.len() > MAX_REPORT_REASON_BYTES {
        return Err(too_large(
            "the reason",
            r.reason.len(),
            MAX_REPORT_REASON_BYTES,
            "Cut the reason; details belong in the task log",
        ));
    }
    if r.xcoms.len() > MAX_REPORT_XCOMS {
        return Err(Status::invalid_argument(format!(
            "the report carries {} XComs; at most {MAX_REPORT_XCOMS} may be reported at once",
            r.xcoms.len()
        )));
    }
    if r.follow.len() > MAX_TASKS_PER_DAG {
        return Err(Status::invalid_argument(format!(
            "the report follows {} tasks; a DAG has at most {MAX_TASKS_PER_DAG}",
            r.follow.len()
        )));
    }
    if r.outlet_events.len() > MAX_REPORT_OUTLET_EVENTS {
        return Err(Status::invalid_argument(format!(
            "the report carries {} asset events; at most {MAX_REPORT_OUTLET_EVENTS} may be reported at once",
            r.outlet_events.len()
        )));
    }
    for e in &r.outlet_events {
        let bytes = e.uri.len() + e.alias.len() + e.extra_json.len();
        if bytes > MAX_OUTLET_EVENT_BYTES {
            return Err(too_large(
                &format!("asset event `{}`", truncated(&e.uri)),
                bytes,
                MAX_OUTLET_EVENT_BYTES,
                "Keep an event's extra small: a reference to the data, not the data",
            ));
        }
    }
    let mut total = 0usize;
    for xcom in &r.xcoms {
        check_xcom(xcom)?;
        total = total.saturating_add(xcom.value_json.len() + xcom.key.len());
    }
    if total > MAX_REPORT_XCOMS_BYTES {
        return Err(too_large(
            "the report's XComs together",
            total,
            MAX_REPORT_XCOMS_BYTES,
            "XCom is not a data channel: pass references (paths or URLs) to the data",
        ));
    }
    Ok(())
}

/// A key as it appears in an error: at most 100 characters of it.
fn truncated(key: &str) -> String {
    if key.chars().count() <= 100 {
        key.to_string()
    } else {
        format!("{}...", key.chars().take(100).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_fields_are_refused_with_their_name_and_the_limit() {
        let mut r = ReportFinishedRequest {
            log_tail: "x".repeat(MAX_REPORT_LOG_TAIL_BYTES + 1),
            ..Default::default()
        };
        let err = check_report(&r).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(err.message().contains("log tail"), "{}", err.message());
        r.log_tail = "ok".into();
        assert!(check_report(&r).is_ok());
        r.reason = "y".repeat(MAX_REPORT_REASON_BYTES + 1);
        assert!(check_report(&r).unwrap_err().message().contains("reason"));
        r.reason.clear();
        r.xcoms = vec![XComValue {
            key: "return_value".into(),
            value_json: format!("\"{}\"", "z".repeat(MAX_XCOM_VALUE_BYTES)),
        }];
        let err = check_report(&r).unwrap_err();
        assert!(err.message().contains("return_value"), "{}", err.message());
        r.xcoms = (0..8)
            .map(|i| XComValue {
                key: format!("k{i}"),
                value_json: format!("\"{}\"", "z".repeat(MAX_XCOM_VALUE_BYTES - 10)),
            })
            .collect();
        assert!(check_report(&r).unwrap_err().message().contains("together"));
    }
}
