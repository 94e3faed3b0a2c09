//! Lists come a page at a time (`?limit=&after=`, `after` being the previous
//! page's `next`); these follow them to the end.

use kairos_api::Page;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::query::query;
use crate::transport::{Client, Read, with_query};

/// A page of a list: its items and the `after` of the next page, if any.
pub trait Paged: DeserializeOwned {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

impl Paged for kairos_api::DagList {
    type Item = kairos_api::Dag;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.dags, self.next)
    }
}

impl Paged for kairos_api::DagRunList {
    type Item = kairos_api::DagRun;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.dag_runs, self.next)
    }
}

impl Paged for kairos_api::TaskInstanceList {
    type Item = kairos_api::TaskInstance;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.task_instances, self.next)
    }
}

impl Paged for kairos_api::VersionList {
    type Item = kairos_api::Version;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.versions, self.next)
    }
}

impl Paged for kairos_api::ConnectionList {
    type Item = kairos_api::Connection;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.connections, self.next)
    }
}

impl Paged for kairos_api::VariableList {
    type Item = kairos_api::Variable;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>) {
        (self.variables, self.next)
    }
}

impl Client {
    /// Every item of the paged list at `path`, 1,000 a page, read as `read` says.
    pub async fn all<P: Paged>(&self, path: &str, read: Read) -> Result<Vec<P::Item>, Error> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = Page {
                limit: Some(1000),
                after: after.take(),
                consistent: read == Read::Consistent,
                offset: None,
            };
            let page_path = with_query(path, &[&query(&page)?]);
            let (items, next) = self.get::<P>(&page_path).await?.into_parts();
            out.extend(items);
            match next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }
}
