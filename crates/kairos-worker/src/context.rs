//! What an attempt knows about itself, decoded from its assignment, and the
//! template context built from it: Airflow's context (kairos-dag's
//! `build_context`), with `ti.xcom_pull` and `var.value` answered by the cluster.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::python_isoformat;
use kairos_dag::model::{Dag, Task};
use kairos_dag::template::{RunFacts, Sources, TaskInstanceFacts, build_context};
use kairos_dag::template::{VariableSource, XComSource};
use kairos_proto::v1::{Assignment, AttemptRef, GetVariableRequest, PullXComRequest};
use serde_json::{Value as Json, json};

use crate::conn::Conn;
use crate::mask::Secrets;
use kairos_dag::identity::TaskInstanceKey;

/// One attempt, decoded.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub ti: TaskInstanceKey,
    pub token: String,
    pub try_number: u32,
    pub dag: Dag,
    pub task: Task,
    pub run: RunFacts,
    /// File key → content hash.
    pub files: BTreeMap<String, String>,
    /// A mapped instance's own arguments.
    pub map_element: Option<BTreeMap<String, Json>>,
    /// A rescheduled sensor's first poke (its timeout counts from there).
    pub first_poke_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the cluster retries a failure of this try.
    pub retried_on_failure: bool,
}

impl Attempt {
    pub fn decode(a: &Assignment) -> Result<Attempt, String> {
        let id =
            a.ti.as_ref()
                .ok_or("the assignment names no task instance")?;
        let dag: Dag = serde_json::from_str(&a.dag_json)
            .map_err(|e| format!("the assignment's DAG does not decode: {e}"))?;
        let task: Task = serde_json::from_str(&a.task_json)
            .map_err(|e| format!("the assignment's task does not decode: {e}"))?;
        let run: RunFacts = serde_json::from_str(&a.run_json)
            .map_err(|e| format!("the assignment's run does not decode: {e}"))?;
        Ok(Attempt {
            ti: TaskInstanceKey::from(id),
            token: a.attempt.clone(),
            try_number: a.try_number,
            dag,
            task,
            run,
            files: a.files.clone().into_iter().collect(),
            retried_on_failure: a.retried_on_failure,
            first_poke_at: (a.first_poke_at_ms > 0)
                .then(|| chrono::DateTime::from_timestamp_millis(a.first_poke_at_ms))
                .flatten(),
            map_element: if a.map_element_json.is_empty() {
                None
            } else {
                Some(
                    serde_json::from_str(&a.map_element_json).map_err(|e| {
                        format!("the assignment's mapped arguments do not decode: {e}")
                    })?,
                )
            },
        })
    }

    /// The attempt, as the reads made for it name it (the cluster serves a read
    /// only for an attempt the worker holds).
    pub fn by(&self, worker_id: &str) -> AttemptRef {
        AttemptRef {
            ti: Some((&self.ti).into()),
            attempt: self.token.clone(),
            worker_id: worker_id.to_string(),
        }
    }

    /// Airflow's template context, with the cluster behind XComs and Variables,
    /// read for this attempt (`by`); every Variable read is added to `secrets`.
    /// Call from a blocking thread: the sources block on gRPC calls.
    pub fn template_context(
        &self,
        conn: Arc<Conn>,
        runtime: tokio::runtime::Handle,
        by: AttemptRef,
        secrets: Arc<Secrets>,
    ) -> minijinja::Value {
        let sources = Sources {
            xcom: Arc::new(ClusterXComs {
                conn: conn.clone(),
                runtime: runtime.clone(),
                dag_id: self.ti.dag_id.clone(),
                run_id: self.ti.run_id.clone(),
                by: by.clone(),
            }),
            variables: Arc::new(ClusterVariables {
                conn,
                runtime,
                by,
                secrets,
            }),
            now: Utc::now(),
        };
        let ti = TaskInstanceFacts {
            try_number: self.try_number,
            map_index: i64::from(self.ti.map_index),
        };
        build_context(&self.dag, &self.task, &self.run, &ti, &sources)
    }

    /// The `return_value` XComs of the task's direct upstream tasks, asked of the
    /// cluster (`PullXCom`, as templates ask): for `ti.xcom_pull` inside Python
    /// code. An upstream task that pushed none is absent. Call from a blocking
    /// thread.
    pub fn upstream_return_values(
        &self,
        conn: Arc<Conn>,
        runtime: tokio::runtime::Handle,
        by: AttemptRef,
    ) -> Result<BTreeMap<String, Json>, String> {
        let source = ClusterXComs {
            conn,
            runtime,
            dag_id: self.ti.dag_id.clone(),
            run_id: self.ti.run_id.clone(),
            by,
        };
        let mut out = BTreeMap::new();
        for task_id in &self.task.upstream {
            if let Some(value) = source.pull(task_id, "return_value")? {
                out.insert(task_id.clone(), value);
            }
        }
        Ok(out)
    }

    /// The plain-JSON part of the context, for Python callables (the runner turns
    /// the dates back into `datetime`s).
    pub fn python_context(&self) -> Json {
        let params = kairos_dag::template::effective_params(&self.dag, &self.task, &self.run.conf);
        let iso = |t: Option<DateTime<Utc>>| t.map(python_isoformat);
        let mut ctx = json!({
            "dag_id": self.ti.dag_id,
            "task_id": self.ti.task_id,
            "run_id": self.run.run_id,
            "try_number": self.try_number,
            "map_index": self.ti.map_index,
            "params": params,
            // The runner turns it into `dag_run.conf` (Airflow's `conf` is its config).
            "run_conf": self.run.conf,
            "run_type": self.run.run_type.as_str(),
            "logical_date": iso(self.run.logical_date),
            "data_interval_start": iso(self.run.data_interval.map(|i| i.start).or(self.run.logical_date)),
            "data_interval_end": iso(self.run.data_interval.map(|i| i.end).or(self.run.logical_date)),
            "run_after": python_isoformat(self.run.run_after),
            // Each asset's URI to its events (Airflow keys them by asset).
            "triggering_asset_events": kairos_dag::template::events_by_uri(&self.run.triggering_asset_events),
        });
        if let (Some(ld), Some(map)) = (self.run.logical_date, ctx.as_object_mut()) {
            let ds = ld.format("%Y-%m-%d").to_string();
            map.insert("ds_nodash".into(), json!(ds.replace('-', "")));
            map.insert("ds".into(), json!(ds));
            map.insert("ts".into(), json!(python_isoformat(ld)));
        }
        ctx
    }

    /// `AIRFLOW_CTX_*` and `KAIROS_*` variables every attempt's process gets.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let logical = self
            .run
            .logical_date
            .map(python_isoformat)
            .unwrap_or_default();
        let mut vars = Vec::new();
        for (suffix, value) in [
            ("DAG_ID", self.ti.dag_id.clone()),
            ("TASK_ID", self.ti.task_id.clone()),
            ("LOGICAL_DATE", logical),
            ("DAG_RUN_ID", self.run.run_id.clone()),
            ("TRY_NUMBER", self.try_number.to_string()),
            ("DAG_OWNER", self.task.owner.clone()),
        ] {
            vars.push((format!("AIRFLOW_CTX_{suffix}"), value.clone()));
            vars.push((format!("KAIROS_{suffix}"), value));
        }
        vars.push(("KAIROS_MAP_INDEX".into(), self.ti.map_index.to_string()));
        // The token is the attempt's credential: a task sees only its tag.
        vars.push((
            "KAIROS_ATTEMPT".into(),
            kairos_dag::identity::token_tag(&self.token),
        ));
        vars
    }
}

/// How long a template waits for the cluster to answer one lookup.
const LOOKUP_PATIENCE: Duration = Duration::from_secs(20);

struct ClusterXComs {
    conn: Arc<Conn>,
    runtime: tokio::runtime::Handle,
    dag_id: String,
    run_id: String,
    by: AttemptRef,
}

impl XComSource for ClusterXComs {
    fn pull(&self, task_id: &str, key: &str) -> Result<Option<Json>, String> {
        let request = PullXComRequest {
            ti: Some(kairos_proto::v1::TaskInstanceId {
                dag_id: self.dag_id.clone(),
                run_id: self.run_id.clone(),
                task_id: task_id.to_string(),
                map_index: -1,
            }),
            key: key.to_string(),
            by: Some(self.by.clone()),
        };
        let reply = self
            .runtime
            .block_on(self.conn.call(LOOKUP_PATIENCE, |mut c| {
                let request = request.clone();
                async move { c.pull_x_com(request).await }
            }))
            .map_err(|e| format!("xcom_pull of `{task_id}`: {e}"))?;
        if !reply.found {
            return Ok(None);
        }
        serde_json::from_str(&reply.value_json)
            .map(Some)
            .map_err(|e| format!("XCom `{key}` of `{task_id}` is not JSON: {e}"))
    }
}

struct ClusterVariables {
    conn: Arc<Conn>,
    runtime: tokio::runtime::Handle,
    by: AttemptRef,
    secrets: Arc<Secrets>,
}

impl VariableSource for ClusterVariables {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        let request = GetVariableRequest {
            key: name.to_string(),
            by: Some(self.by.clone()),
        };
        let reply = self
            .runtime
            .block_on(self.conn.call(LOOKUP_PATIENCE, |mut c| {
                let request = request.clone();
                async move { c.get_variable(request).await }
            }))
            .map_err(|e| format!("variable `{name}`: {e}"))?;
        if reply.found {
            // Masked before any template can put it in a command or a log line.
            self.secrets.add_variable(name, &reply.value);
        }
        Ok(reply.found.then_some(reply.value))
    }
}
