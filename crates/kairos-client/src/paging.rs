//! Lists come a page at a time (`?limit=&after=`, `after` being the previous
//! page's `next`); these follow them to the end.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::path::encode;
use crate::transport::{Client, with_query};

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

impl Client {
    /// Every item of a paged list at `path` (which may carry its own query),
    /// 1,000 a page.
    pub async fn all<P: Paged>(&self, path: &str) -> Result<Vec<P::Item>, Error> {
        self.pages(path, |page: P| Ok(page.into_parts())).await
    }

    /// Every item of a list whose wire type is not in `kairos-api` yet: the
    /// `items` array of each page.
    pub(crate) async fn all_values(&self, path: &str, items: &str) -> Result<Vec<Value>, Error> {
        self.pages(path, |mut page: Value| {
            let list = match page[items].take() {
                Value::Array(list) => list,
                Value::Null => Vec::new(),
                other => {
                    return Err(Error::Decode(format!("`{items}` is not a list: {other}")));
                }
            };
            Ok((list, page["next"].as_str().map(str::to_string)))
        })
        .await
    }

    async fn pages<T: DeserializeOwned, I>(
        &self,
        path: &str,
        split: impl Fn(T) -> Result<(Vec<I>, Option<String>), Error>,
    ) -> Result<Vec<I>, Error> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let after_param = after.as_deref().map(|a| format!("after={}", encode(a)));
            let page_path = with_query(path, &["limit=1000", after_param.as_deref().unwrap_or("")]);
            let (items, next) = split(self.get(&page_path).await?)?;
            out.extend(items);
            match next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }
}
