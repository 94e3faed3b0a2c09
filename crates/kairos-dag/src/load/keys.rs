//! The keys the loader knows, in one place: what it reads, and what it accepts from
//! Airflow files but ignores (with the reason it tells the user).

use crate::callback::CallbackKind;

/// `BaseOperator` settings a task may set itself or inherit from `default_args`.
pub const TASK_SETTINGS: &[&str] = &[
    "owner",
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "queue",
    "pool",
    "pool_slots",
    "priority_weight",
    "weight_rule",
    "depends_on_past",
    "wait_for_downstream",
    "trigger_rule",
    "params",
    "do_xcom_push",
    "max_active_tis_per_dag",
    "max_active_tis_per_dagrun",
    "doc_md",
    "task_display_name",
    "environment",
];

/// Keys of a task that are about the DAG's structure, not the operator.
pub const TASK_STRUCTURE: &[&str] = &[
    "task_id",
    "operator",
    "dependencies",
    "task_group_name",
    "partial",
    "expand",
];

/// Each callback kind's keys: the value (`module.fn`, `{callback: ...}` or a
/// list), and dag-factory's `_name` + `_file` pair.
pub const CALLBACK_KEYS: &[(CallbackKind, &str, &str, &str)] = &[
    (
        CallbackKind::Execute,
        "on_execute_callback",
        "on_execute_callback_name",
        "on_execute_callback_file",
    ),
    (
        CallbackKind::Success,
        "on_success_callback",
        "on_success_callback_name",
        "on_success_callback_file",
    ),
    (
        CallbackKind::Failure,
        "on_failure_callback",
        "on_failure_callback_name",
        "on_failure_callback_file",
    ),
    (
        CallbackKind::Retry,
        "on_retry_callback",
        "on_retry_callback_name",
        "on_retry_callback_file",
    ),
    (
        CallbackKind::Skipped,
        "on_skipped_callback",
        "on_skipped_callback_name",
        "on_skipped_callback_file",
    ),
];

/// Task keys Airflow knows that Kairos accepts without effect, and why.
pub const IGNORED_TASK_KEYS: &[(&str, &str)] = &[
    ("email", "Kairos sends no email"),
    ("email_on_failure", "Kairos sends no email"),
    ("email_on_retry", "Kairos sends no email"),
    ("sla", "SLAs were removed in Airflow 3"),
    ("sla_secs", "SLAs were removed in Airflow 3"),
    ("executor_config", "it configures an Airflow executor"),
    ("executor", "it selects an Airflow executor"),
    ("run_as_user", "tasks run as the worker's user"),
    ("resources", "it configures an Airflow executor"),
    (
        "map_index_template",
        "mapped instances are named by their index",
    ),
    (
        "wait_for_past_depends_before_skipping",
        "it is not supported yet",
    ),
    (
        "ignore_first_depends_on_past",
        "the first run never waits on a past run",
    ),
    ("doc", "only doc_md is kept"),
    ("doc_json", "only doc_md is kept"),
    ("doc_yaml", "only doc_md is kept"),
    ("doc_rst", "only doc_md is kept"),
    (
        "start_date",
        "a task runs in every run of its DAG; set dates on the DAG",
    ),
    (
        "end_date",
        "a task runs in every run of its DAG; set dates on the DAG",
    ),
];

/// DAG keys Airflow or dag-factory know that Kairos accepts without effect, and why.
pub const IGNORED_DAG_KEYS: &[(&str, &str)] = &[
    ("default_view", "it configures Airflow's web UI"),
    ("orientation", "it configures Airflow's web UI"),
    ("access_control", "Kairos has its own roles"),
    (
        "on_execute_callback",
        "Airflow's DAG has no on_execute_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_execute_callback_name",
        "Airflow's DAG has no on_execute_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_execute_callback_file",
        "Airflow's DAG has no on_execute_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_retry_callback",
        "Airflow's DAG has no on_retry_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_retry_callback_name",
        "Airflow's DAG has no on_retry_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_retry_callback_file",
        "Airflow's DAG has no on_retry_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_skipped_callback",
        "Airflow's DAG has no on_skipped_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_skipped_callback_name",
        "Airflow's DAG has no on_skipped_callback; set it in `default_args` to give it to every task",
    ),
    (
        "on_skipped_callback_file",
        "Airflow's DAG has no on_skipped_callback; set it in `default_args` to give it to every task",
    ),
    ("sla_miss_callback", "SLAs were removed in Airflow 3"),
    ("user_defined_macros", "templates cannot import Python code"),
    (
        "user_defined_filters",
        "templates cannot import Python code",
    ),
    (
        "template_searchpath",
        "script files are looked up next to the DAG file",
    ),
    (
        "jinja_environment_kwargs",
        "templates use Kairos' own settings",
    ),
    ("owner_links", "it configures Airflow's web UI"),
    ("fail_stop", "it is not supported yet"),
    ("fail_fast", "it is not supported yet"),
    ("max_consecutive_failed_dag_runs", "it is not supported yet"),
    (
        "doc_md_python_callable_file",
        "Kairos does not call Python to build docs",
    ),
    (
        "doc_md_python_callable_name",
        "Kairos does not call Python to build docs",
    ),
    (
        "doc_md_python_arguments",
        "Kairos does not call Python to build docs",
    ),
    ("vars", "dag-factory ignores it too"),
];

/// Keys that belong to the DAG, for a clear error when written in `default_args`.
pub const DAG_ONLY_KEYS: &[&str] = &[
    "schedule",
    "schedule_interval",
    "timetable",
    "catchup",
    "max_active_runs",
    "max_active_tasks",
    "concurrency",
    "dagrun_timeout",
    "dagrun_timeout_sec",
    "tags",
    "description",
    "is_paused_upon_creation",
    "render_template_as_native_obj",
    "dag_display_name",
];

pub fn ignored_reason(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, why)| *why)
}
