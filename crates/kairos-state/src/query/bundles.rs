//! Reads about bundles: one, a page of them, their versions (with or without
//! their file lists), and which of some files the cluster lacks.

use super::wire::{BundleVersionSummary, page};
use crate::keys::{self, Cf};
use crate::records::{BundleRecord, BundleVersionRecord};
use crate::store::{Store, StoreError};

impl Store {
    pub fn bundle(&self, name: &str) -> Result<Option<BundleRecord>, StoreError> {
        self.get(Cf::Bundles, &keys::bundle(name))
    }

    /// Bundles in name order, after `after`.
    pub fn bundles(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<BundleRecord>, StoreError> {
        let after = after.map(keys::bundle);
        Ok(self
            .scan::<BundleRecord>(Cf::Bundles, b"", after.as_deref(), page(limit))?
            .into_iter()
            .map(|(_, b)| b)
            .collect())
    }

    /// A bundle's versions, oldest first, without their file lists.
    pub fn bundle_versions(
        &self,
        name: &str,
        after: Option<u32>,
        limit: Option<usize>,
    ) -> Result<Vec<BundleVersionSummary>, StoreError> {
        let after = after.map(|v| keys::bundle_version(name, v));
        Ok(self
            .scan::<BundleVersionRecord>(
                Cf::BundleVersions,
                &keys::bundle_prefix(name),
                after.as_deref(),
                page(limit),
            )?
            .into_iter()
            .map(|(_, v)| BundleVersionSummary {
                bundle: v.content.name.clone(),
                version: v.version,
                hash: v.hash,
                created_at: v.created_at,
                files: v.content.files.len(),
                dags: v.dags,
            })
            .collect())
    }

    pub fn bundle_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<BundleVersionRecord>, StoreError> {
        self.get(Cf::BundleVersions, &keys::bundle_version(name, version))
    }

    /// The hashes among `hashes` that the cluster has no content for.
    pub fn missing_files(&self, hashes: &[String]) -> Result<Vec<String>, StoreError> {
        let mut missing = Vec::new();
        for hash in hashes {
            if self.get_raw(Cf::Files, hash.as_bytes())?.is_none() {
                missing.push(hash.clone());
            }
        }
        Ok(missing)
    }
}
