//! Problems found in DAG files, with everything a person needs to fix them.
//!
//! Every problem names the file, the line and column, the DAG and task it belongs
//! to, what is wrong and (when there is one) how to fix it. Loading collects all
//! problems of a file instead of stopping at the first, so one `kairos dags
//! validate` run shows everything.

use std::fmt;

use serde::Serialize;

use crate::yaml::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The DAG cannot be used until this is fixed.
    Error,
    /// Accepted, but probably not what the author meant (an ignored Airflow option).
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub pos: Option<Pos>,
    pub dag_id: Option<String>,
    pub task_id: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem of a whole file or folder (no line, DAG or task).
    pub fn file_level(severity: Severity, file: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            file: file.to_string(),
            pos: None,
            dag_id: None,
            task_id: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `dags/etl.yml:12:5: error: dag `etl`, task `load`: unknown dependency `extrat`
    ///     hint: did you mean `extract`?`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(pos) = self.pos {
            write!(f, ":{}:{}", pos.line, pos.col)?;
        }
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {level}: ")?;
        match (&self.dag_id, &self.task_id) {
            (Some(d), Some(t)) => write!(f, "dag `{d}`, task `{t}`: ")?,
            (Some(d), None) => write!(f, "dag `{d}`: ")?,
            _ => {}
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
        }
        Ok(())
    }
}
