//! Reads about runs: one, a page in run-id order or in date order, the run at a
//! logical date.

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::DagRunState;

use super::filtered::filtered_page;
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
        let prefix = keys::dag_prefix(dag_id);
        filtered_page(
            page(limit),
            after.map(|run_id| keys::run(dag_id, run_id)),
            |cursor, n| self.scan_raw(Cf::Runs, &prefix, cursor, n),
            |value| {
                let run: DagRunRecord = decode(Cf::Runs, value)?;
                Ok(state.is_none_or(|s| run.state == s).then_some(run))
            },
        )
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
        let prefix = index::runs_by_date_prefix(dag_id);
        // The cursor is the index key of the run named by `after`; a run that is
        // gone ends the listing rather than starting it over.
        let cursor = match after {
            None => None,
            Some(run_id) => match self.run(dag_id, run_id)? {
                Some(run) => Some(index::run_by_date(dag_id, run.order_date(), run_id)),
                None => return Ok(Vec::new()),
            },
        };
        filtered_page(
            page(limit),
            cursor,
            |cursor, n| {
                if newest_first {
                    self.scan_raw_back(Cf::Index, &prefix, cursor, n)
                } else {
                    self.scan_raw(Cf::Index, &prefix, cursor, n)
                }
            },
            |value| {
                let run_id: String = decode(Cf::Index, value)?;
                Ok(self
                    .run(dag_id, &run_id)?
                    .filter(|run| state.is_none_or(|s| run.state == s)))
            },
        )
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

impl Store {
    /// A run's DAG callback record (its DAG's own callbacks for its end), if any.
    pub fn dag_callback(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Option<crate::records::DagCallbackRecord>, StoreError> {
        self.get(Cf::Index, &crate::keys::index::dag_callback(dag_id, run_id))
    }

    /// Up to `limit` DAG callbacks of `queue` no worker has taken, in DAG and run
    /// order.
    pub fn pending_dag_callbacks(
        &self,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<crate::records::DagCallbackRecord>, StoreError> {
        let keys: Vec<(Vec<u8>, ())> = self.scan(
            Cf::Index,
            &crate::keys::index::pending_dag_callbacks(queue),
            None,
            limit,
        )?;
        let prefix_len = crate::keys::index::pending_dag_callbacks(queue).len();
        let mut out = Vec::with_capacity(keys.len());
        for (key, ()) in keys {
            let Some(run_key) = key.get(prefix_len..) else {
                continue;
            };
            let mut full = crate::keys::index::DAG_CALLBACKS.to_vec();
            full.extend_from_slice(run_key);
            if let Some(record) = self.get(Cf::Index, &full)? {
                out.push(record);
            }
        }
        Ok(out)
    }
}
