//! Bundles: pushing one (which contents the cluster lacks, those contents, then
//! the version), and reading bundles and their versions.

use std::collections::BTreeMap;

use kairos_api::{
    Bundle, BundleList, BundlePush, BundlePushResponse, BundleVersion, BundleVersionDetail,
    BundleVersionList, FilesStored, FilesUpload, MissingFiles, MissingFilesRequest,
};
use reqwest::Method;

use crate::error::Error;
use crate::paging::Paged;
use crate::path::encode;
use crate::transport::{Client, Read};

impl Paged for BundleList {
    type Item = Bundle;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.bundles, self.next)
    }
}

impl Paged for BundleVersionList {
    type Item = BundleVersion;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.versions, self.next)
    }
}

impl Client {
    /// Which of these content hashes the cluster has no content for.
    pub async fn missing_files(&self, hashes: Vec<String>) -> Result<Vec<String>, Error> {
        let answer: MissingFiles = self
            .request(
                Method::POST,
                "/files/missing",
                Some(&MissingFilesRequest { hashes }),
            )
            .await?;
        Ok(answer.missing)
    }

    /// Stores contents by hash; answers how many were new.
    pub async fn upload_files(&self, files: BTreeMap<String, String>) -> Result<usize, Error> {
        let answer: FilesStored = self
            .request(Method::POST, "/files", Some(&FilesUpload { files }))
            .await?;
        Ok(answer.new)
    }

    /// Makes a version of bundle `name` from files the cluster has.
    pub async fn push_bundle(
        &self,
        name: &str,
        push: &BundlePush,
    ) -> Result<BundlePushResponse, Error> {
        self.request(
            Method::POST,
            &format!("/bundles/{}/versions", encode(name)),
            Some(push),
        )
        .await
    }

    pub async fn bundles(&self, read: Read) -> Result<Vec<Bundle>, Error> {
        self.all::<BundleList>("/bundles", read).await
    }

    pub async fn bundle(&self, name: &str) -> Result<Bundle, Error> {
        self.get(&format!("/bundles/{}", encode(name))).await
    }

    /// A bundle's versions, oldest first.
    pub async fn bundle_versions(
        &self,
        name: &str,
        read: Read,
    ) -> Result<Vec<BundleVersion>, Error> {
        self.all::<BundleVersionList>(&format!("/bundles/{}/versions", encode(name)), read)
            .await
    }

    /// One version with its files.
    pub async fn bundle_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<BundleVersionDetail, Error> {
        self.get(&format!("/bundles/{}/versions/{version}", encode(name)))
            .await
    }
}
