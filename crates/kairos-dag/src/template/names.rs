//! The names a template may use, checked when a DAG file is loaded: a template
//! that names `execution_date` (gone in Airflow 3) or a misspelt variable fails
//! `dags validate` at its line, with the replacement, instead of failing the task
//! when it runs.

use std::sync::OnceLock;

use super::{Renderer, TemplateError};

/// Every top-level name of the context a task's templates are rendered with
/// (`build_context`; a test keeps the two equal).
pub const CONTEXT_NAMES: &[&str] = &[
    "dag",
    "dag_run",
    "data_interval_end",
    "data_interval_start",
    "ds",
    "ds_nodash",
    "logical_date",
    "macros",
    "params",
    "prev_data_interval_end_success",
    "prev_data_interval_start_success",
    "run_after",
    "run_id",
    "task",
    "task_instance",
    "task_instance_key_str",
    "ti",
    "triggering_asset_events",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "var",
];

/// Airflow 2's template variables that Airflow 3 removed, and what to write instead.
pub const REMOVED_IN_AIRFLOW_3: &[(&str, &str)] = &[
    ("execution_date", "{{ logical_date }}"),
    ("next_execution_date", "{{ data_interval_end }}"),
    ("next_ds", "{{ data_interval_end | ds }}"),
    ("next_ds_nodash", "{{ data_interval_end | ds_nodash }}"),
    (
        "prev_execution_date",
        "{{ data_interval_start }} or {{ prev_data_interval_start_success }}",
    ),
    (
        "prev_ds",
        "{{ data_interval_start | ds }} or {{ prev_data_interval_start_success | ds }}",
    ),
    ("prev_ds_nodash", "{{ data_interval_start | ds_nodash }}"),
    (
        "prev_execution_date_success",
        "{{ prev_data_interval_start_success }}",
    ),
    ("yesterday_ds", "{{ macros.ds_add(ds, -1) }}"),
    (
        "yesterday_ds_nodash",
        "{{ macros.ds_format(macros.ds_add(ds, -1), '%Y-%m-%d', '%Y%m%d') }}",
    ),
    ("tomorrow_ds", "{{ macros.ds_add(ds, 1) }}"),
    (
        "tomorrow_ds_nodash",
        "{{ macros.ds_format(macros.ds_add(ds, 1), '%Y-%m-%d', '%Y%m%d') }}",
    ),
];

/// A name a template uses that rendering will not find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub name: String,
    /// What to write instead: Airflow 3's replacement, or the closest name.
    pub instead: Option<String>,
    /// Whether Airflow 3 removed it (Airflow 2 had it).
    pub removed: bool,
}

impl UnknownName {
    /// The problem, as `dags validate` says it.
    pub fn message(&self) -> String {
        if self.removed {
            format!(
                "template variable `{}` was removed in Airflow 3 and is not in Kairos's context",
                self.name
            )
        } else {
            format!(
                "template variable `{}` is not in the task's template context",
                self.name
            )
        }
    }

    pub fn hint(&self) -> Option<String> {
        match (&self.instead, self.removed) {
            (Some(i), true) => Some(format!("write {i} instead")),
            (Some(i), false) => Some(format!("did you mean `{i}`?")),
            (None, _) => None,
        }
    }
}

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

/// The names `template` uses that neither the context, the template itself
/// (`{% set %}`, loops) nor Jinja's globals define, sorted; an error when the
/// template does not parse.
pub fn unknown_names(template: &str) -> Result<Vec<UnknownName>, TemplateError> {
    let env = &renderer().env;
    // Parsed, never compiled: compiling folds constants, which a file must not
    // be able to make the servers do (`'x' * 100000000`).
    let used = super::used_names::used_names(template).map_err(|message| TemplateError {
        message,
        line: None,
    })?;
    let globals: Vec<&str> = env.globals().map(|(name, _)| name).collect();
    let names: Vec<String> = used
        .into_iter()
        .filter(|n| !CONTEXT_NAMES.contains(&n.as_str()) && !globals.contains(&n.as_str()))
        .collect();
    Ok(names
        .into_iter()
        .map(
            |name| match REMOVED_IN_AIRFLOW_3.iter().find(|(n, _)| *n == name) {
                Some((_, instead)) => UnknownName {
                    name,
                    instead: Some(instead.to_string()),
                    removed: true,
                },
                None => UnknownName {
                    instead: crate::suggest::closest(&name, CONTEXT_NAMES.iter().copied())
                        .map(str::to_string),
                    name,
                    removed: false,
                },
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_and_misspelt_names_are_found_with_what_to_write() {
        let found = unknown_names("{{ execution_date }} {{ ds }} {{ dss }} {{ params.x }}")
            .expect("parses");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].name, "dss");
        assert_eq!(found[0].instead.as_deref(), Some("ds"));
        assert!(!found[0].removed);
        assert_eq!(found[1].name, "execution_date");
        assert!(found[1].removed);
        assert_eq!(
            found[1].hint().as_deref(),
            Some("write {{ logical_date }} instead")
        );
    }

    #[test]
    fn names_the_template_defines_and_jinja_globals_are_known() {
        let ok = "{% set n = 3 %}{% for i in range(n) %}{{ i }}{% endfor %}\
                  {{ macros.ds_add(ds, 1) }}{{ var.value.x }}{{ ti.xcom_pull(task_ids='a') }}\
                  {{ ds_add(ds, 1) }}{{ dag_run.conf.get('k') }}";
        assert_eq!(unknown_names(ok).expect("parses"), vec![]);
    }

    #[test]
    fn constant_expressions_are_not_evaluated() {
        let bomb = vec!["('x' * 100000000)"; 40].join(" ~ ");
        let started = std::time::Instant::now();
        assert_eq!(
            unknown_names(&format!("{{{{ {bomb} }}}}")).expect("parses"),
            vec![]
        );
        // Evaluated, this would allocate 4 GB; parsed, it takes microseconds.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_template_that_does_not_parse_is_an_error() {
        assert!(unknown_names("{{ ds ").is_err());
    }
}
