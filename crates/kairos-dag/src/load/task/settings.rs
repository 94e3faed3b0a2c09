//! A task's `BaseOperator` settings (owner, retries, pool, trigger rule, ...): the
//! task's own value first, then the effective `default_args`, then Airflow's default.

use crate::load::default_args::Inherited;
use crate::load::read::{
    MapReader, read_bool, read_duration, read_environment, read_i32, read_json_map, read_text,
    read_u32,
};
use crate::load::sink::{Scope, Sink};
use crate::model::{Task, TaskOperator, WeightRule, defaults};
use crate::operator::Operator;
use crate::trigger_rule::TriggerRule;
use crate::yaml::Node;

/// The `BaseOperator` settings: the task's own value, else the inherited default,
/// else Airflow's default. Returns a task with placeholder id, operator and upstream.
pub(super) fn read_settings(
    r: &mut MapReader<'_>,
    inh: &Inherited<'_>,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<Task> {
    let mark = sink.mark();
    let task_pos = r.pos;
    let mut pick = |key: &'static str| -> Option<(&'static str, Node)> {
        r.take(key)
            .or_else(|| inh.get(key))
            .map(|n| (key, n.clone()))
    };
    let text = |v: Option<(&'static str, Node)>, sink: &mut Sink| {
        v.and_then(|(k, n)| read_text(&n, k, sink, scope))
    };
    let boolean = |v: Option<(&'static str, Node)>, default: bool, sink: &mut Sink| {
        v.and_then(|(k, n)| read_bool(&n, k, sink, scope))
            .unwrap_or(default)
    };
    let duration = |v: Option<(&'static str, Node)>, sink: &mut Sink| {
        v.and_then(|(k, n)| read_duration(&n, k, sink, scope))
    };
    let count = |v: Option<(&'static str, Node)>, sink: &mut Sink| {
        v.and_then(|(k, n)| read_u32(&n, k, sink, scope))
    };

    let owner = text(pick("owner"), sink).unwrap_or_else(|| defaults::OWNER.into());
    let retries = count(pick("retries"), sink).unwrap_or(defaults::RETRIES);
    let retry_delay = duration(pick("retry_delay"), sink).unwrap_or(defaults::RETRY_DELAY);
    let retry_exponential_backoff = boolean(pick("retry_exponential_backoff"), false, sink);
    let max_retry_delay = duration(pick("max_retry_delay"), sink);
    let execution_timeout = duration(pick("execution_timeout"), sink).filter(|d| !d.is_zero());
    let queue = text(pick("queue"), sink).unwrap_or_else(|| defaults::QUEUE.into());
    let pool = text(pick("pool"), sink).unwrap_or_else(|| defaults::POOL.into());
    let pool_slots = count(pick("pool_slots"), sink).unwrap_or(1);
    if pool_slots == 0 {
        sink.error(scope, task_pos, "`pool_slots` must be at least 1", None);
    }
    let priority_weight = pick("priority_weight")
        .and_then(|(k, n)| read_i32(&n, k, sink, scope))
        .unwrap_or(1);
    let weight_rule = match pick("weight_rule") {
        None => WeightRule::Downstream,
        Some((k, n)) => match read_text(&n, k, sink, scope).as_deref() {
            Some("downstream") => WeightRule::Downstream,
            Some("upstream") => WeightRule::Upstream,
            Some("absolute") => WeightRule::Absolute,
            Some(other) => {
                sink.error(
                    scope,
                    n.pos,
                    format!("unknown weight_rule `{other}`"),
                    Some("use downstream, upstream or absolute".into()),
                );
                WeightRule::Downstream
            }
            None => WeightRule::Downstream,
        },
    };
    let depends_on_past = boolean(pick("depends_on_past"), false, sink);
    let wait_for_downstream = boolean(pick("wait_for_downstream"), false, sink);
    let trigger_rule = match pick("trigger_rule") {
        None => TriggerRule::AllSuccess,
        Some((k, n)) => {
            let written = read_text(&n, k, sink, scope).unwrap_or_default();
            match TriggerRule::parse(written.trim()) {
                Some(rule) => rule,
                None => {
                    let names = TriggerRule::ALL.iter().map(|r| r.as_str());
                    let hint = crate::suggest::did_you_mean(&written, names).unwrap_or_else(|| {
                        format!(
                            "use one of {}",
                            TriggerRule::ALL
                                .iter()
                                .map(|r| r.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                    sink.error(
                        scope,
                        n.pos,
                        format!("unknown trigger_rule `{written}`"),
                        Some(hint),
                    );
                    TriggerRule::AllSuccess
                }
            }
        }
    };
    let do_xcom_push = boolean(pick("do_xcom_push"), true, sink);
    let params = pick("params")
        .and_then(|(k, n)| read_json_map(&n, k, sink, scope))
        .unwrap_or_default();
    let max_active_tis_per_dag = count(pick("max_active_tis_per_dag"), sink);
    let max_active_tis_per_dagrun = count(pick("max_active_tis_per_dagrun"), sink);
    let doc_md = text(pick("doc_md"), sink);
    let display_name = text(pick("task_display_name"), sink);
    let environment = pick("environment").and_then(|(k, n)| read_environment(&n, k, sink, scope));
    if sink.errors_since(mark) {
        return None;
    }
    Some(Task {
        task_id: String::new(),
        group_id: None,
        operator: TaskOperator::Plain {
            operator: Operator::Empty,
        },
        upstream: Vec::new(),
        display_name,
        doc_md,
        owner,
        retries,
        retry_delay,
        retry_exponential_backoff,
        max_retry_delay,
        execution_timeout,
        queue,
        pool,
        pool_slots,
        priority_weight,
        weight_rule,
        depends_on_past,
        wait_for_downstream,
        trigger_rule,
        do_xcom_push,
        params,
        max_active_tis_per_dag,
        max_active_tis_per_dagrun,
        environment,
        outlets: Vec::new(),
        inlets: Vec::new(),
        callbacks: Default::default(),
    })
}
