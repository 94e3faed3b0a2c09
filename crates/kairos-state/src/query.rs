//! Reads served from the local store: everything the API needs.
//!
//! Lists are paged (`after` the last key seen, at most `limit` items), so a query
//! never loads an unbounded list into memory. A [`Query`] is also the wire form of a
//! read, so that any node can answer it for any caller.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::DagRunState;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::keys::{self, Cf, meta};
use crate::records::{
    DEFAULT_POOL, DagRecord, DagRunRecord, PoolRecord, Settings, TaskInstanceRecord,
    VariableRecord, VersionRecord, XComRecord,
};
use crate::store::{Store, StoreError};

/// The most items one page holds.
pub const MAX_PAGE: usize = 1000;
/// The page size when the caller gives none.
pub const DEFAULT_PAGE: usize = 100;

fn page(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// The order of a run list. Airflow's UI and `order_by=-logical_date` list the
/// newest runs first; the date is the logical date, or `run_after` for runs without
/// one, and runs of the same date follow in run-id order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOrder {
    #[default]
    RunId,
    OldestFirst,
    NewestFirst,
}

/// A version without its content: what a version list shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub dag_id: String,
    pub version: u32,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub tasks: usize,
}

/// Task instances waiting, for metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueDepths {
    pub scheduled_by_pool: BTreeMap<String, u64>,
    pub queued_by_queue: BTreeMap<String, u64>,
    pub truncated: bool,
}

/// Which DAGs a listing keeps (Airflow's `GET /dags` filters). Empty admits all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DagFilter {
    /// Only paused (true) or only active (false) DAGs.
    #[serde(default)]
    pub paused: Option<bool>,
    /// DAGs with at least one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// DAGs whose id contains this text (Airflow's `dag_id_pattern`, a substring).
    #[serde(default)]
    pub dag_id_pattern: Option<String>,
    #[serde(default)]
    pub bundle: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
}

impl DagFilter {
    pub fn admits(&self, dag: &DagRecord) -> bool {
        self.paused.is_none_or(|p| dag.is_paused == p)
            && (self.tags.is_empty() || dag.tags.iter().any(|t| self.tags.contains(t)))
            && self
                .dag_id_pattern
                .as_deref()
                .is_none_or(|p| dag.dag_id.contains(p))
            && self.bundle.as_deref().is_none_or(|b| dag.bundle == b)
            && self
                .team
                .as_deref()
                .is_none_or(|t| dag.team.as_deref() == Some(t))
    }
}

/// One read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub enum Query {
    Dags {
        #[serde(default)]
        after: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
        #[serde(default)]
        filter: DagFilter,
    },
    Dag {
        dag_id: String,
    },
    /// A DAG's versions, oldest first, after version `after`; all of them when
    /// `limit` is not given.
    Versions {
        dag_id: String,
        #[serde(default)]
        after: Option<u32>,
        #[serde(default)]
        limit: Option<usize>,
    },
    Version {
        dag_id: String,
        version: u32,
    },
    File {
        hash: String,
    },
    Runs {
        dag_id: String,
        #[serde(default)]
        state: Option<DagRunState>,
        #[serde(default)]
        after: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
        /// Run-id order unless asked otherwise (older nodes know only that one).
        #[serde(default)]
        order: RunOrder,
    },
    Run {
        dag_id: String,
        run_id: String,
    },
    /// A run's task instances in (task id, map index) order, after `after`; all of
    /// them when `limit` is not given.
    TaskInstances {
        dag_id: String,
        run_id: String,
        #[serde(default)]
        after: Option<(String, i32)>,
        #[serde(default)]
        limit: Option<usize>,
    },
    XComs {
        dag_id: String,
        run_id: String,
        #[serde(default)]
        task_id: Option<String>,
    },
    Pools,
    /// One task instance (`null` when there is none).
    TaskInstance {
        ti: crate::command::TaskInstanceKey,
    },
    /// Every ended attempt of a task instance, in try order.
    Tries {
        ti: crate::command::TaskInstanceKey,
    },
    /// One Variable by key (`null` when unset).
    Variable {
        key: String,
    },
    /// Variables in key order, `limit` after `after`.
    Variables {
        #[serde(default)]
        after: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
    },
    Settings,
    /// The state digest (see [`Store::digest`]).
    Digest,
    /// The index of the last applied log entry.
    AppliedIndex,
    /// What holds a task instance back (see `schedule::explain`).
    Explain {
        ti: crate::command::TaskInstanceKey,
    },
}

impl Store {
    pub fn dag(&self, dag_id: &str) -> Result<Option<DagRecord>, StoreError> {
        self.get(Cf::Dags, &keys::dag(dag_id))
    }

    /// DAGs in id order, after `after`, that pass `filter`.
    pub fn dags(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
        filter: &DagFilter,
    ) -> Result<Vec<DagRecord>, StoreError> {
        let limit = page(limit);
        let mut cursor = after.map(keys::dag);
        let mut out = Vec::new();
        // Filtering reads further pages until this one is full.
        loop {
            let chunk = self.scan::<DagRecord>(Cf::Dags, b"", cursor.as_deref(), limit)?;
            let exhausted = chunk.len() < limit;
            for (key, dag) in chunk {
                cursor = Some(key);
                if filter.admits(&dag) {
                    out.push(dag);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
            if exhausted {
                return Ok(out);
            }
        }
    }

    /// Every version of a DAG, oldest first, without content.
    pub fn versions(&self, dag_id: &str) -> Result<Vec<VersionSummary>, StoreError> {
        self.versions_page(dag_id, None, usize::MAX)
    }

    /// At most `limit` versions after version `after`, oldest first, without content.
    pub fn versions_page(
        &self,
        dag_id: &str,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Vec<VersionSummary>, StoreError> {
        let after = after.map(|v| keys::version(dag_id, v));
        Ok(self
            .scan::<VersionRecord>(
                Cf::Versions,
                &keys::dag_prefix(dag_id),
                after.as_deref(),
                limit,
            )?
            .into_iter()
            .map(|(_, v)| VersionSummary {
                dag_id: v.dag_id,
                version: v.version,
                hash: v.hash,
                created_at: v.created_at,
                tasks: v.content.dag.tasks.len(),
            })
            .collect())
    }

    /// A file's text by its `sha256:` hash.
    pub fn file(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_raw(Cf::Files, hash.as_bytes())?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    pub fn run(&self, dag_id: &str, run_id: &str) -> Result<Option<DagRunRecord>, StoreError> {
        self.get(Cf::Runs, &keys::run(dag_id, run_id))
    }

    /// A DAG's runs in run-id order, optionally only those in `state`.
    pub fn runs(
        &self,
        dag_id: &str,
        state: Option<DagRunState>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<DagRunRecord>, StoreError> {
        let limit = page(limit);
        let prefix = keys::dag_prefix(dag_id);
        let mut cursor = after.map(|run_id| keys::run(dag_id, run_id));
        let mut out = Vec::new();
        // Filtering by state reads further pages until this one is full.
        loop {
            let chunk = self.scan::<DagRunRecord>(Cf::Runs, &prefix, cursor.as_deref(), limit)?;
            let exhausted = chunk.len() < limit;
            for (key, run) in chunk {
                cursor = Some(key);
                if state.is_none_or(|s| run.state == s) {
                    out.push(run);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
            if exhausted {
                return Ok(out);
            }
        }
    }

    /// A DAG's runs in date order (oldest or newest first), read through the index
    /// the scheduler keeps by date, after the run `after` (its id) when given.
    pub fn runs_by_date(
        &self,
        dag_id: &str,
        state: Option<DagRunState>,
        after: Option<&str>,
        limit: Option<usize>,
        newest_first: bool,
    ) -> Result<Vec<DagRunRecord>, StoreError> {
        use crate::engine::index;
        let limit = page(limit);
        let prefix = index::runs_by_date_prefix(dag_id);
        // The cursor is the index key of the run named by `after`; a run that is
        // gone ends the listing rather than starting it over.
        let mut cursor = match after {
            None => None,
            Some(run_id) => match self.run(dag_id, run_id)? {
                Some(run) => Some(index::run_by_date(dag_id, run.order_date(), run_id)),
                None => return Ok(Vec::new()),
            },
        };
        let mut out = Vec::new();
        loop {
            let chunk = if newest_first {
                self.scan_raw_back(Cf::Index, &prefix, cursor.as_deref(), limit)?
            } else {
                self.scan_raw(Cf::Index, &prefix, cursor.as_deref(), limit)?
            };
            let exhausted = chunk.len() < limit;
            for (key, value) in chunk {
                cursor = Some(key);
                let Ok(run_id) = serde_json::from_slice::<String>(&value) else {
                    continue;
                };
                let Some(run) = self.run(dag_id, &run_id)? else {
                    continue;
                };
                if state.is_none_or(|s| run.state == s) {
                    out.push(run);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
            if exhausted {
                return Ok(out);
            }
        }
    }

    /// A run's task instances in task-id, then map-index order.
    /// One task instance.
    pub fn task_instance(
        &self,
        ti: &crate::command::TaskInstanceKey,
    ) -> Result<Option<TaskInstanceRecord>, StoreError> {
        self.get(
            Cf::TaskInstances,
            &keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index),
        )
    }

    pub fn task_instances(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        self.task_instances_page(dag_id, run_id, None, usize::MAX)
    }

    /// At most `limit` task instances of a run after (task id, map index) `after`.
    pub fn task_instances_page(
        &self,
        dag_id: &str,
        run_id: &str,
        after: Option<(&str, i32)>,
        limit: usize,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        let after = after.map(|(task, map)| keys::task_instance(dag_id, run_id, task, map));
        Ok(self
            .scan::<TaskInstanceRecord>(
                Cf::TaskInstances,
                &keys::run_prefix(dag_id, run_id),
                after.as_deref(),
                limit,
            )?
            .into_iter()
            .map(|(_, ti)| ti)
            .collect())
    }

    /// A run's XComs, or one task's (every map index).
    pub fn xcoms(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: Option<&str>,
    ) -> Result<Vec<XComRecord>, StoreError> {
        let mut prefix = keys::run_prefix(dag_id, run_id);
        if let Some(task_id) = task_id {
            prefix.extend_from_slice(task_id.as_bytes());
            prefix.push(0);
        }
        Ok(self
            .scan::<XComRecord>(Cf::XComs, &prefix, None, usize::MAX)?
            .into_iter()
            .map(|(_, x)| x)
            .collect())
    }

    /// Every pool, the default pool included even when nobody has set it.
    pub fn pools(&self) -> Result<Vec<PoolRecord>, StoreError> {
        let mut pools: Vec<PoolRecord> = self
            .scan::<PoolRecord>(Cf::Pools, b"", None, usize::MAX)?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if !pools.iter().any(|p| p.name == DEFAULT_POOL) {
            pools.push(PoolRecord::default_pool());
            pools.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(pools)
    }

    /// How many task instances wait for a pool slot (`scheduled`), per pool, and
    /// how many wait for a worker (`queued`), per queue; each index is read up to
    /// `limit` entries (`true` in the answer when it was cut there).
    pub fn queue_depths(&self, limit: usize) -> Result<QueueDepths, StoreError> {
        use crate::engine::index::{Candidate, QUEUED, SCHEDULED};
        let mut depths = QueueDepths::default();
        let scheduled = self.scan::<Candidate>(Cf::Index, SCHEDULED, None, limit)?;
        depths.truncated |= scheduled.len() == limit;
        for (_, c) in scheduled {
            *depths.scheduled_by_pool.entry(c.pool).or_default() += 1;
        }
        let queued = self.scan_raw(Cf::Index, QUEUED, None, limit)?;
        depths.truncated |= queued.len() == limit;
        for (key, _) in queued {
            let name = key[QUEUED.len()..].split(|b| *b == 0).next().unwrap_or(&[]);
            *depths
                .queued_by_queue
                .entry(String::from_utf8_lossy(name).into_owned())
                .or_default() += 1;
        }
        Ok(depths)
    }

    /// Slots in use in a pool (its queued and running instances' `pool_slots`).
    pub fn pool_used_slots(&self, pool: &str) -> Result<i64, StoreError> {
        Ok(self
            .get::<i64>(Cf::Index, &crate::engine::index::counter::pool(pool))?
            .unwrap_or(0))
    }

    /// The run of `dag_id` whose logical date is `at`, if any.
    pub fn run_at(
        &self,
        dag_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<DagRunRecord>, StoreError> {
        let mut prefix = crate::engine::index::runs_by_date_prefix(dag_id);
        prefix.extend_from_slice(&crate::engine::index::time_bytes(at));
        for (_, run_id) in self.scan::<String>(Cf::Index, &prefix, None, 64)? {
            if let Some(run) = self.run(dag_id, &run_id)? {
                if run.logical_date == Some(at) {
                    return Ok(Some(run));
                }
            }
        }
        Ok(None)
    }

    pub fn tries(
        &self,
        ti: &crate::command::TaskInstanceKey,
    ) -> Result<Vec<crate::records::TryRecord>, StoreError> {
        Ok(self
            .scan::<crate::records::TryRecord>(
                Cf::Index,
                &crate::engine::index::tries_prefix(ti),
                None,
                usize::MAX,
            )?
            .into_iter()
            .map(|(_, t)| t)
            .collect())
    }

    pub fn variable(&self, key: &str) -> Result<Option<VariableRecord>, StoreError> {
        self.get(Cf::Meta, &keys::variable(key))
    }

    pub fn variables(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<VariableRecord>, StoreError> {
        let after = after.map(keys::variable);
        Ok(self
            .scan::<VariableRecord>(
                Cf::Meta,
                meta::VARIABLE_PREFIX,
                after.as_deref(),
                page(limit),
            )?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    pub fn settings(&self) -> Result<Settings, StoreError> {
        Ok(self.get(Cf::Meta, meta::SETTINGS)?.unwrap_or_default())
    }

    /// The index of the last entry applied (0 before any).
    pub fn applied_index(&self) -> Result<u64, StoreError> {
        Ok(self.get(Cf::Meta, meta::APPLIED_INDEX)?.unwrap_or(0))
    }

    /// One of the Raft glue's opaque meta records.
    pub fn raft_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut key = meta::RAFT_PREFIX.to_vec();
        key.extend_from_slice(name.as_bytes());
        self.get_raw(Cf::Meta, &key)
    }

    /// Answers a [`Query`] as JSON (`null` when the thing asked for does not exist).
    pub fn query(&self, query: &Query) -> Result<Value, StoreError> {
        let to = |v: &dyn erased::Json| v.json();
        Ok(match query {
            Query::Dags {
                after,
                limit,
                filter,
            } => to(&self.dags(after.as_deref(), *limit, filter)?),
            Query::Dag { dag_id } => to(&self.dag(dag_id)?),
            Query::Versions {
                dag_id,
                after,
                limit,
            } => to(&self.versions_page(
                dag_id,
                *after,
                limit.map_or(usize::MAX, |l| page(Some(l))),
            )?),
            Query::Version { dag_id, version } => {
                to(&self.version_record(dag_id, *version)?.map(|v| (*v).clone()))
            }
            Query::File { hash } => to(&self.file(hash)?),
            Query::Runs {
                dag_id,
                state,
                after,
                limit,
                order: RunOrder::RunId,
            } => to(&self.runs(dag_id, *state, after.as_deref(), *limit)?),
            Query::Runs {
                dag_id,
                state,
                after,
                limit,
                order,
            } => to(&self.runs_by_date(
                dag_id,
                *state,
                after.as_deref(),
                *limit,
                *order == RunOrder::NewestFirst,
            )?),
            Query::Run { dag_id, run_id } => to(&self.run(dag_id, run_id)?),
            Query::TaskInstances {
                dag_id,
                run_id,
                after,
                limit,
            } => to(&self.task_instances_page(
                dag_id,
                run_id,
                after.as_ref().map(|(t, m)| (t.as_str(), *m)),
                limit.map_or(usize::MAX, |l| page(Some(l))),
            )?),
            Query::XComs {
                dag_id,
                run_id,
                task_id,
            } => to(&self.xcoms(dag_id, run_id, task_id.as_deref())?),
            Query::Pools => to(&self.pools()?),
            Query::Tries { ti } => to(&self.tries(ti)?),
            Query::TaskInstance { ti } => to(&self.task_instance(ti)?),
            Query::Variable { key } => to(&self.variable(key)?),
            Query::Variables { after, limit } => to(&self.variables(after.as_deref(), *limit)?),
            Query::Settings => to(&self.settings()?),
            Query::Digest => json!(self.digest()?),
            Query::AppliedIndex => json!(self.applied_index()?),
            Query::Explain { ti } => to(&self.explain(ti)?),
        })
    }
}

/// Lets `query` turn each typed answer into JSON through one small function.
mod erased {
    pub trait Json {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}
