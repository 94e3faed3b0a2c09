//! The pure DAG model of Kairos: no network, no storage, no clock.
//!
//! It reads DAG files in astronomer's dag-factory YAML format, validates them with
//! errors that point at a line and column, and gives the meaning Airflow gives them:
//! schedules and data intervals, task-instance states and their legal transitions,
//! trigger rules, run states, retry times, template rendering, and the content hash
//! that identifies a DAG version. Everything else in Kairos (the replicated state
//! machine, the scheduler, workers, the API) builds on this crate; it depends on
//! none of them, and can be used alone, e.g. as a linter for DAG files.
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::path::{Path, PathBuf};
//! use chrono::{TimeZone, Utc};
//! use kairos_dag::load::{load_bytes, LoadOptions};
//!
//! let yaml = "
//! etl:
//!   schedule: '@daily'
//!   start_date: 2024-01-01
//!   catchup: true
//!   tasks:
//!     extract: {operator: bash, bash_command: 'echo {{ ds }}'}
//!     load: {operator: bash, bash_command: 'echo load', dependencies: [extract]}
//! ";
//! let no_other_files: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
//! let file = load_bytes("etl.yml", Path::new("dags/etl.yml"), yaml.as_bytes(),
//!                       &no_other_files, &LoadOptions::default());
//! assert!(file.diagnostics.is_empty());
//! let version = &file.dags[0];
//! assert_eq!(version.dag.task("load").unwrap().upstream, ["extract"]);
//!
//! // The runs a fresh DAG gets by 2024-01-03: one per day that has ended.
//! let now = Utc.with_ymd_and_hms(2024, 1, 3, 0, 0, 0).unwrap();
//! let dag = &version.dag;
//! let due: Vec<_> = dag.schedule.upcoming(dag.timezone, &dag.restriction(now), now, 10)
//!     .into_iter().filter(|run| run.run_after <= now).collect();
//! assert_eq!(due.len(), 2);
//! assert_eq!(due[0].logical_date(), Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
//! ```

pub mod asset;
pub mod bundle;
pub mod bundle_content;
pub mod callback;
pub mod date;
pub mod diag;
pub mod diff;
pub mod duration;
pub mod graph;
pub mod identity;
pub mod lifecycle;
pub mod limits;
pub mod load;
pub mod model;
pub mod operator;
pub mod retry;
pub mod secret_names;
pub mod suggest;
pub mod template;
pub mod timetable;
pub mod trigger_rule;
pub mod version;
pub mod yaml;
