//! Loader tests over in-memory files: what valid files mean, and that every problem
//! is reported once, at its line and column, with its DAG and task.
//!
//! One file per area: `dags` (a DAG's own keys), `defaults` (the `default:` block and
//! `default_args`), `tasks` (operators, arguments, shipped files), `mapped` (mapped
//! tasks), `groups` (task groups), `deps` (ids and dependencies), `environments` (which
//! execution environment a task needs), `taskflow` (TaskFlow tasks, templates
//! checked at load time); `support` loads.

mod assets;
mod callbacks;
mod dags;
mod defaults;
mod deps;
mod environments;
mod groups;
mod mapped;
mod support;
mod taskflow;
mod tasks;
