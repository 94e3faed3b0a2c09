//! Reads about the cluster's own records: pools and their use, queue depths,
//! Variables, settings, the applied index and the Raft glue's records.

use super::wire::{QueueDepths, page};
use crate::keys::index::{self, counter};
use crate::keys::{Cf, meta};
use crate::records::{
    Candidate, ConnectionRecord, DEFAULT_POOL, LeaderChange, PoolRecord, Settings, VariableRecord,
};
use crate::store::{Store, StoreError};

impl Store {
    /// The recent leader changes, newest last.
    pub fn leader_changes(&self) -> Result<Vec<LeaderChange>, StoreError> {
        Ok(self
            .get::<Vec<LeaderChange>>(Cf::Meta, meta::LEADER_CHANGES)?
            .unwrap_or_default())
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
        use index::{QUEUED, SCHEDULED};
        let mut depths = QueueDepths::default();
        let scheduled = self.scan::<Candidate>(Cf::Index, SCHEDULED, None, limit)?;
        depths.truncated |= scheduled.len() == limit;
        for (_, c) in scheduled {
            *depths.scheduled_by_pool.entry(c.pool).or_default() += 1;
        }
        let queued = self.scan_raw(Cf::Index, QUEUED, None, limit)?;
        depths.truncated |= queued.len() == limit;
        for (key, _) in queued {
            let name = index::queue_of(&key).unwrap_or_default();
            *depths.queued_by_queue.entry(name).or_default() += 1;
        }
        Ok(depths)
    }

    /// Slots in use in a pool (its queued and running instances' `pool_slots`).
    pub fn pool_used_slots(&self, pool: &str) -> Result<i64, StoreError> {
        Ok(self
            .get::<i64>(Cf::Index, &counter::pool(pool))?
            .unwrap_or(0))
    }

    pub fn variable(&self, key: &str) -> Result<Option<VariableRecord>, StoreError> {
        self.get(Cf::Meta, &meta::variable(key))
    }

    /// Variable `key` of `team` (the cluster-wide one for `None`), with no
    /// fallback: the caller decides whether a team's lookup falls back.
    pub fn variable_of(
        &self,
        team: Option<&str>,
        key: &str,
    ) -> Result<Option<VariableRecord>, StoreError> {
        self.get(Cf::Meta, &meta::variable_of(team, key))
    }

    /// Variable `key` as a task of `team` reads it: the team's own, else the
    /// cluster-wide one.
    pub fn variable_for(
        &self,
        team: Option<&str>,
        key: &str,
    ) -> Result<Option<VariableRecord>, StoreError> {
        if team.is_some() {
            if let Some(own) = self.variable_of(team, key)? {
                return Ok(Some(own));
            }
        }
        self.variable(key)
    }

    /// Team `team`'s Variables in key order, after `after`.
    pub fn team_variables(
        &self,
        team: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<VariableRecord>, StoreError> {
        let after = after.map(|key| meta::variable_of(Some(team), key));
        Ok(self
            .scan::<VariableRecord>(
                Cf::Meta,
                &meta::team_variables(team),
                after.as_deref(),
                page(limit),
            )?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    pub fn variables(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<VariableRecord>, StoreError> {
        let after = after.map(meta::variable);
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

    /// Connection `conn_id` of `team` (the cluster-wide one for `None`), with
    /// no fallback.
    pub fn connection_of(
        &self,
        team: Option<&str>,
        conn_id: &str,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        self.get(Cf::Meta, &meta::connection_of(team, conn_id))
    }

    /// Connection `conn_id` as a task of `team` reads it: the team's own, else
    /// the cluster-wide one.
    pub fn connection_for(
        &self,
        team: Option<&str>,
        conn_id: &str,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        if team.is_some() {
            if let Some(own) = self.connection_of(team, conn_id)? {
                return Ok(Some(own));
            }
        }
        self.connection_of(None, conn_id)
    }

    /// `team`'s connections (the cluster-wide ones for `None`) in id order,
    /// after `after`.
    pub fn connections(
        &self,
        team: Option<&str>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        let after = after.map(|id| meta::connection_of(team, id));
        Ok(self
            .scan::<ConnectionRecord>(
                Cf::Meta,
                &meta::connections_of(team),
                after.as_deref(),
                page(limit),
            )?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    pub fn settings(&self) -> Result<Settings, StoreError> {
        Ok(self.get(Cf::Meta, meta::SETTINGS)?.unwrap_or_default())
    }

    /// The cluster's id, once the first leader named it.
    pub fn cluster_id(&self) -> Result<Option<String>, StoreError> {
        self.get(Cf::Meta, meta::CLUSTER_ID)
    }

    /// The index of the last entry applied (0 before any).
    pub fn applied_index(&self) -> Result<u64, StoreError> {
        Ok(self.get(Cf::Meta, meta::APPLIED_INDEX)?.unwrap_or(0))
    }

    /// One of the Raft glue's opaque meta records.
    pub fn raft_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_raw(Cf::Meta, &meta::raft(name))
    }
}
