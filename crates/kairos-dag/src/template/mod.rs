//! Jinja templating with Airflow's context, rendered by minijinja.
//!
//! `{{ ds }}`, `{{ params.x }}`, `{{ macros.ds_add(ds, -1) }}`,
//! `{{ dag_run.conf.get('k', 'd') }}`, `{{ logical_date.strftime('%Y') }}` and
//! `{{ ti.xcom_pull(task_ids='a') }}` give what Airflow gives. As in Airflow,
//! an undefined name is an error (`StrictUndefined`), not an empty string.
//!
//! ```
//! use kairos_dag::template::Renderer;
//! let ctx = minijinja::context! { ds => "2024-01-02", params => minijinja::context! { table => "orders" } };
//! let text = Renderer::new().render("load {{ params.table }} for {{ ds }}", &ctx).unwrap();
//! assert_eq!(text, "load orders for 2024-01-02");
//! ```

mod context;
mod datetime;
mod hooks;
mod macros;
mod names;
mod server;
mod used_names;

pub use context::{
    AssetEventFacts, RunFacts, Sources, TaskInstanceFacts, build_context, effective_params,
    events_by_uri,
};
pub use datetime::DateTimeValue;
pub use hooks::{NoSources, VariableSource, XComSource};
pub use macros::{ds_add, ds_format};
pub use names::{CONTEXT_NAMES, REMOVED_IN_AIRFLOW_3, UnknownName, unknown_names};
pub use server::{
    MAX_SERVER_RENDER_BYTES, MAX_SERVER_TEMPLATE_BYTES, check_server_template, render_on_server,
};

use minijinja::{Environment, Error, UndefinedBehavior, Value};
use serde_json::Value as Json;

use datetime::as_datetime;

/// Most instructions one render may run: plenty for real templates, a stop for a
/// template that loops forever.
const FUEL: u64 = 5_000_000;

/// A failed render: what went wrong, and where in the template when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    pub line: Option<usize>,
}

impl From<Error> for TemplateError {
    fn from(e: Error) -> TemplateError {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        TemplateError {
            message,
            line: e.line(),
        }
    }
}

/// Renders templates with Airflow's filters, Python-style methods on strings and
/// dicts (`.get`, `.upper`, `.split`, ...), strict undefined names and a fuel limit.
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl Renderer {
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("ds", |v: Value| -> Result<String, Error> {
            Ok(as_datetime(&v)?.format("%Y-%m-%d").to_string())
        });
        env.add_filter("ds_nodash", |v: Value| -> Result<String, Error> {
            Ok(as_datetime(&v)?.format("%Y%m%d").to_string())
        });
        env.add_filter("ts", |v: Value| -> Result<String, Error> {
            Ok(DateTimeValue(as_datetime(&v)?).isoformat())
        });
        env.add_filter("ts_nodash", |v: Value| -> Result<String, Error> {
            Ok(as_datetime(&v)?.format("%Y%m%dT%H%M%S").to_string())
        });
        env.add_filter("ts_nodash_with_tz", |v: Value| -> Result<String, Error> {
            Ok(DateTimeValue(as_datetime(&v)?)
                .isoformat()
                .replace(['-', ':'], ""))
        });
        env.add_function("ds_add", ds_add);
        env.add_function("ds_format", ds_format);
        Renderer { env }
    }

    /// Renders one template string.
    pub fn render(&self, template: &str, ctx: &Value) -> Result<String, TemplateError> {
        Ok(self.env.render_str(template, ctx)?)
    }

    /// Renders every string inside a JSON value (Airflow renders nested template
    /// fields: lists and dicts of strings in `op_kwargs`, `env`, ...).
    pub fn render_json(&self, value: &Json, ctx: &Value) -> Result<Json, TemplateError> {
        Ok(match value {
            Json::String(s) if s.contains("{{") || s.contains("{%") => {
                Json::String(self.render(s, ctx)?)
            }
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.render_json(v, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v, ctx)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }

    /// `render_template_as_native_obj`: a template that is one `{{ expression }}` gives
    /// the expression's value itself (a list stays a list); anything else renders to
    /// text, read as JSON when it is JSON, as Airflow's native environment reads
    /// Python literals.
    pub fn render_native(&self, template: &str, ctx: &Value) -> Result<Json, TemplateError> {
        let t = template.trim();
        if let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
            if !inner.contains("{{") && !inner.contains("}}") {
                let expr = self.env.compile_expression(inner.trim())?;
                let value = expr.eval(ctx)?;
                return serde_json::to_value(&value).map_err(|e| TemplateError {
                    message: format!("the value cannot be passed as JSON: {e}"),
                    line: None,
                });
            }
        }
        let text = self.render(template, ctx)?;
        Ok(serde_json::from_str(&text).unwrap_or(Json::String(text)))
    }
}

#[cfg(test)]
mod tests;
