//! Where the loader puts the problems it finds, and which DAG and task they belong to.

use crate::diag::{Diagnostic, Severity};
use crate::yaml::Pos;

/// The DAG and task a problem belongs to.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub dag_id: Option<String>,
    pub task_id: Option<String>,
}

impl Scope {
    pub fn dag(dag_id: &str) -> Scope {
        Scope {
            dag_id: Some(dag_id.to_string()),
            task_id: None,
        }
    }

    pub fn task(&self, task_id: &str) -> Scope {
        Scope {
            dag_id: self.dag_id.clone(),
            task_id: Some(task_id.to_string()),
        }
    }
}

/// Collects the problems of one file.
#[derive(Debug)]
pub struct Sink {
    file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Sink {
    pub fn new(file: &str) -> Sink {
        Sink {
            file: file.to_string(),
            diagnostics: Vec::new(),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    fn push(
        &mut self,
        severity: Severity,
        scope: &Scope,
        pos: Option<Pos>,
        message: String,
        hint: Option<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.clone(),
            pos,
            dag_id: scope.dag_id.clone(),
            task_id: scope.task_id.clone(),
            message,
            hint,
        });
    }

    pub fn error(
        &mut self,
        scope: &Scope,
        pos: Pos,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.push(Severity::Error, scope, Some(pos), message.into(), hint);
    }

    pub fn warn(
        &mut self,
        scope: &Scope,
        pos: Pos,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.push(Severity::Warning, scope, Some(pos), message.into(), hint);
    }

    /// A mark to ask later whether errors were found since (see [`Sink::errors_since`]).
    pub fn mark(&self) -> usize {
        self.diagnostics.len()
    }

    /// True if an error was recorded after `mark` was taken.
    pub fn errors_since(&self, mark: usize) -> bool {
        self.diagnostics[mark.min(self.diagnostics.len())..]
            .iter()
            .any(|d| d.is_error())
    }
}
