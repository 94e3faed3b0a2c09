//! What templates may ask of the cluster: XComs (`ti.xcom_pull`) and Variables
//! (`var.value.NAME`, `var.json.NAME`). The model only defines the questions; the
//! worker answers them over gRPC, `kairos dags test` from its own run.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, ObjectRepr, Value, from_args};
use minijinja::{Error, ErrorKind, State};

/// Answers `ti.xcom_pull`.
pub trait XComSource: Send + Sync {
    /// The XCom `key` pushed by `task_id` in the current run, if any.
    fn pull(&self, task_id: &str, key: &str) -> Result<Option<serde_json::Value>, String>;
}

/// Answers `var.value.NAME`.
pub trait VariableSource: Send + Sync {
    fn get(&self, name: &str) -> Result<Option<String>, String>;
}

/// Neither XComs nor Variables: for rendering outside a run (validation, previews).
pub struct NoSources;

impl XComSource for NoSources {
    fn pull(&self, task_id: &str, _key: &str) -> Result<Option<serde_json::Value>, String> {
        Err(format!(
            "no XComs are available here (xcom_pull of `{task_id}`)"
        ))
    }
}

impl VariableSource for NoSources {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        Err(format!("no Variables are available here (`{name}`)"))
    }
}

fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The `ti` / `task_instance` object of the context.
pub struct TaskInstanceObject {
    pub dag_id: String,
    pub task_id: String,
    pub run_id: String,
    pub try_number: u32,
    pub map_index: i64,
    pub xcom: Arc<dyn XComSource>,
}

impl fmt::Debug for TaskInstanceObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<TaskInstance: {}.{} {} [try {}]>",
            self.dag_id, self.task_id, self.run_id, self.try_number
        )
    }
}

impl Object for TaskInstanceObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "dag_id" => Value::from(self.dag_id.clone()),
            "task_id" => Value::from(self.task_id.clone()),
            "run_id" => Value::from(self.run_id.clone()),
            "try_number" => Value::from(self.try_number),
            "map_index" => Value::from(self.map_index),
            _ => return None,
        })
    }

    /// `xcom_pull(task_ids=..., key='return_value', default=None)`: one task id gives
    /// its value, a list of ids gives a list, as in Airflow.
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        if method != "xcom_pull" {
            return Err(Error::from(ErrorKind::UnknownMethod));
        }
        let (positional, kwargs): (&[Value], Kwargs) = from_args(args)?;
        if positional.len() > 1 {
            return Err(fail(
                "xcom_pull takes task_ids as its only positional argument",
            ));
        }
        let task_ids: Value = match positional.first() {
            Some(v) => v.clone(),
            None => kwargs
                .get::<Option<Value>>("task_ids")?
                .ok_or_else(|| fail("xcom_pull needs task_ids"))?,
        };
        let key: String = kwargs
            .get::<Option<String>>("key")?
            .unwrap_or_else(|| "return_value".into());
        let default: Option<Value> = kwargs.get("default")?;
        for ignored in ["dag_id", "include_prior_dates", "map_indexes", "run_id"] {
            let _: Option<Value> = kwargs.get(ignored)?;
        }
        kwargs.assert_all_used()?;
        let pull_one = |task_id: &str| -> Result<Value, Error> {
            match self.xcom.pull(task_id, &key).map_err(fail)? {
                Some(v) => Ok(Value::from(minijinja::value::Serde(&v))),
                None => Ok(default.clone().unwrap_or(Value::from(()))),
            }
        };
        if let Some(one) = task_ids.as_str() {
            return pull_one(one);
        }
        let ids = task_ids
            .try_iter()
            .map_err(|_| fail("task_ids must be a task id or a list of them"))?;
        let mut out = Vec::new();
        for id in ids {
            let id = id
                .as_str()
                .ok_or_else(|| fail("task_ids must be text"))?
                .to_string();
            out.push(pull_one(&id)?);
        }
        Ok(Value::from(out))
    }
}

/// `var.value` (text) and `var.json` (parsed JSON).
pub struct VariableAccessor {
    pub json: bool,
    pub source: Arc<dyn VariableSource>,
}

impl fmt::Debug for VariableAccessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.json { "var.json" } else { "var.value" })
    }
}

impl VariableAccessor {
    fn lookup(&self, name: &str) -> Result<Option<Value>, Error> {
        let Some(text) = self.source.get(name).map_err(fail)? else {
            return Ok(None);
        };
        if !self.json {
            return Ok(Some(Value::from(text)));
        }
        let parsed: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| fail(format!("Variable `{name}` is not JSON: {e}")))?;
        Ok(Some(Value::from(minijinja::value::Serde(&parsed))))
    }
}

impl Object for VariableAccessor {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    /// `var.value.NAME`: a missing Variable is an error, as in Airflow (a lookup
    /// cannot fail here, so it yields undefined, which strict rendering refuses).
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.lookup(key.as_str()?).ok().flatten()
    }

    /// `var.value.get('NAME', 'default')`.
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        if method != "get" {
            return Err(Error::from(ErrorKind::UnknownMethod));
        }
        let (name, default): (&str, Option<Value>) = from_args(args)?;
        match self.lookup(name)? {
            Some(v) => Ok(v),
            None => default.ok_or_else(|| fail(format!("Variable `{name}` does not exist"))),
        }
    }
}
