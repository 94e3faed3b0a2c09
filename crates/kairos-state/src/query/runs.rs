//! Reads about runs: one, a page in run-id order or in date order, the run at a
//! logical date.

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::DagRunState;

use super::wire::{RunOrder, page};
use crate::keys::{self, Cf, index};
use crate::records::DagRunRecord;
use crate::store::{Store, StoreError, decode};

impl Store {
    /// A DAG's runs in the order asked for, after the run `after` (its id).
    pub fn runs_ordered(
        &self,
        dag_id: &str,
        state: Option<DagRunState>,
        after: Option<&str>,
        limit: Option<usize>,
        order: RunOrder,
    ) -> Result<Vec<DagRunRecord>, StoreError> {
        match order {
            RunOrder::RunId => self.runs(dag_id, state, after, limit),
            RunOrder::OldestFirst => self.runs_by_date(dag_id, state, after, limit, false),
            RunOrder::NewestFirst => self.runs_by_date(dag_id, state, after, limit, true),
        }
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
                let run_id: String = decode(Cf::Index, &value)?;
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

    /// The run of `dag_id` whose logical date is `at`, if any.
    pub fn run_at(
        &self,
        dag_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<DagRunRecord>, StoreError> {
        let prefix = index::runs_by_date_at(dag_id, at);
        for (_, run_id) in self.scan::<String>(Cf::Index, &prefix, None, 64)? {
            if let Some(run) = self.run(dag_id, &run_id)? {
                if run.logical_date == Some(at) {
                    return Ok(Some(run));
                }
            }
        }
        Ok(None)
    }
}
