//! Path and query components, percent-encoded.

/// Percent-encodes a path or query component: everything but `A-Z a-z 0-9 - _ . ~`.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/dags/{dag_id}`.
pub(crate) fn dag(dag_id: &str) -> String {
    format!("/dags/{}", encode(dag_id))
}

/// `/dags/{dag_id}/dagRuns/{run_id}`.
pub(crate) fn run(dag_id: &str, run_id: &str) -> String {
    format!("{}/dagRuns/{}", dag(dag_id), encode(run_id))
}

/// `/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}`.
pub(crate) fn task_instance(dag_id: &str, run_id: &str, task_id: &str) -> String {
    format!("{}/taskInstances/{}", run(dag_id, run_id), encode(task_id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_characters_are_encoded() {
        assert_eq!(super::encode("a b/c:d"), "a%20b%2Fc%3Ad");
        assert_eq!(
            super::run("my dag", "manual__2026-01-01T00:00:00+00:00"),
            "/dags/my%20dag/dagRuns/manual__2026-01-01T00%3A00%3A00%2B00%3A00"
        );
    }
}
