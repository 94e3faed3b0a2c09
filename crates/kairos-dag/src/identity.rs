//! The one name of a task instance, used by every crate: the state machine keys
//! its records with it, the worker protocol carries it (conversions beside the
//! protocol's own message, in `kairos-proto`), and the worker spools results under it.

use serde::{Deserialize, Serialize};

/// Names one task instance: a task of a run, and its map index (-1 when the task
/// is not mapped).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskInstanceKey {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    #[serde(default = "not_mapped")]
    pub map_index: i32,
}

fn not_mapped() -> i32 {
    -1
}

impl TaskInstanceKey {
    pub fn new(
        dag_id: impl Into<String>,
        run_id: impl Into<String>,
        task_id: impl Into<String>,
        map_index: i32,
    ) -> TaskInstanceKey {
        TaskInstanceKey {
            dag_id: dag_id.into(),
            run_id: run_id.into(),
            task_id: task_id.into(),
            map_index,
        }
    }

    /// Where try `try_number`'s log lives under a logs folder:
    /// `<dag>/<run>/<task>/[map_<i>/]<try>.log`, each id one path component
    /// (`/` cannot split it, `..` cannot climb). Workers keep their logs so, and
    /// servers the logs workers upload.
    pub fn log_path(&self, dir: &std::path::Path, try_number: u32) -> std::path::PathBuf {
        let mut path = dir
            .join(component(&self.dag_id))
            .join(component(&self.run_id))
            .join(component(&self.task_id));
        if self.map_index >= 0 {
            path = path.join(format!("map_{}", self.map_index));
        }
        path.join(format!("{try_number}.log"))
    }
}

/// One path component from an id.
fn component(id: &str) -> String {
    let escaped = id.replace('%', "%25").replace('/', "%2F");
    if escaped == "." || escaped == ".." || escaped.is_empty() {
        format!("%{escaped}")
    } else {
        escaped
    }
}

/// The id a path component of [`TaskInstanceKey::log_path`] was made from;
/// `None` for a name no id makes (another file in a log directory).
pub fn id_of_component(name: &str) -> Option<String> {
    let name = match name.strip_prefix('%') {
        Some(rest @ ("" | "." | "..")) => return Some(rest.to_string()),
        _ => name,
    };
    let mut id = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('%') {
        id.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3)?;
        id.push(match escape {
            "%25" => '%',
            "%2F" => '/',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    id.push_str(rest);
    Some(id)
}

/// A short, safe name for an attempt token in logs, messages and records others
/// can read: the first 8 hex digits of its SHA-256. It tells attempts apart
/// without giving the token (the attempt's credential) away.
pub fn token_tag(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `dag/run/task`, and `[i]` after a mapped instance: how messages name it.
impl std::fmt::Display for TaskInstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.dag_id, self.run_id, self.task_id)?;
        if self.map_index >= 0 {
            write!(f, "[{}]", self.map_index)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_path_component_reads_back_as_its_id() {
        for id in [
            "plain", "a/b", "50%", "%2F", "%25/%", "", ".", "..", "%", "%.", "x/../y",
        ] {
            let made = component(id);
            assert!(!made.contains('/'), "{id:?} -> {made:?}");
            assert_eq!(id_of_component(&made).as_deref(), Some(id), "{made:?}");
        }
        // Names no id makes.
        assert_eq!(id_of_component("a%2"), None);
        assert_eq!(id_of_component("a%41b"), None);
    }

    #[test]
    fn names_read_as_paths_with_the_map_index_last() {
        assert_eq!(TaskInstanceKey::new("d", "r", "t", -1).to_string(), "d/r/t");
        assert_eq!(
            TaskInstanceKey::new("d", "r", "t", 3).to_string(),
            "d/r/t[3]"
        );
    }

    #[test]
    fn a_token_tag_is_short_stable_and_not_the_token() {
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(token_tag(token), token_tag(token));
        assert_eq!(token_tag(token).len(), 8);
        assert!(!token.contains(&token_tag(token)));
        assert_ne!(
            token_tag(token),
            token_tag("0123456789abcdef0123456789abcdee")
        );
    }

    #[test]
    fn an_unmapped_instance_may_leave_out_its_map_index() {
        let key: TaskInstanceKey =
            serde_json::from_str(r#"{"dag_id":"d","run_id":"r","task_id":"t"}"#).unwrap();
        assert_eq!(key.map_index, -1);
    }
}
