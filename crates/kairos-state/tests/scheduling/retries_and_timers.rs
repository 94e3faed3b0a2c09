//! What the clock does: retries after their delay, time sensors on the
//! server, and a deleted run's timers kept away from its successor.

use chrono::{DateTime, Duration, Utc};
use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::Command;

use crate::common::*;
use crate::support::*;

#[test]
fn a_failed_attempt_is_retried_after_its_delay_by_a_tick() {
    let mut store = TempStore::new();
    let yaml = CHAIN.replace(
        "etl:\n",
        "etl:\n  is_paused_upon_creation: false\n  default_args: {retries: 1, retry_delay: 60}\n",
    );
    store.apply_at(day(1), vec![put(&yaml), manual("etl", "r1")]);
    let attempt = dispatch(&mut store, key("etl", "r1", "extract"));
    store.apply_at(
        day(1),
        vec![report(
            key("etl", "r1", "extract"),
            &attempt,
            S::Failed,
            None,
        )],
    );
    assert_eq!(state(&store, "etl", "r1", "extract"), S::UpForRetry);
    let due = store.store.next_timer().unwrap().expect("a retry timer");
    assert_eq!(due, day(1) + Duration::seconds(60));
    store.apply_at(day(1) + Duration::seconds(30), vec![Command::Tick]);
    assert_eq!(
        state(&store, "etl", "r1", "extract"),
        S::UpForRetry,
        "not before its time"
    );
    store.apply_at(due, vec![Command::Tick]);
    assert_eq!(state(&store, "etl", "r1", "extract"), S::Queued);
    let second = dispatch(&mut store, key("etl", "r1", "extract"));
    assert!(second.starts_with("2-"), "{second}");
    store.apply_at(
        due,
        vec![report(
            key("etl", "r1", "extract"),
            &second,
            S::Failed,
            None,
        )],
    );
    assert_eq!(
        state(&store, "etl", "r1", "extract"),
        S::Failed,
        "no tries left"
    );
    assert_eq!(state(&store, "etl", "r1", "transform"), S::UpstreamFailed);
    assert_eq!(state(&store, "etl", "r1", "load"), S::UpstreamFailed);
    assert_eq!(
        store.store.run("etl", "r1").unwrap().unwrap().state,
        DagRunState::Failed
    );
    // Both tries are kept, each with its token, its end and when it ended.
    let tries = store.store.tries(&key("etl", "r1", "extract")).unwrap();
    let summary: Vec<(u32, Option<&str>, S, DateTime<Utc>)> = tries
        .iter()
        .map(|t| (t.try_number, t.attempt.as_deref(), t.state, t.end_date))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, Some(attempt.as_str()), S::UpForRetry, day(1)),
            (2, Some(second.as_str()), S::Failed, due),
        ]
    );
    assert!(
        store
            .store
            .tries(&key("etl", "r1", "transform"))
            .unwrap()
            .is_empty(),
        "a task that never ran has no tries"
    );
}

#[test]
fn time_sensors_wait_on_the_server_without_a_worker() {
    let mut store = TempStore::new();
    let yaml = "
waits:
  is_paused_upon_creation: false
  tasks:
    wait: {operator: airflow.sensors.time_delta.TimeDeltaSensor, delta: 3600}
    after: {operator: bash, bash_command: 'true', dependencies: [wait]}
";
    store.apply_at(day(1), vec![put(yaml), manual("waits", "r1")]);
    assert_eq!(state(&store, "waits", "r1", "wait"), S::Deferred);
    assert!(queued(&store, "waits", "r1").is_empty());
    let due = store.store.next_timer().unwrap().expect("a sensor timer");
    assert_eq!(due, day(1) + Duration::hours(1));
    store.apply_at(due, vec![Command::Tick]);
    assert_eq!(state(&store, "waits", "r1", "wait"), S::Success);
    assert_eq!(state(&store, "waits", "r1", "after"), S::Queued);
}

#[test]
fn a_deleted_run_s_timers_do_not_fire_on_a_new_run_with_its_id() {
    let mut store = TempStore::new();
    let t = t0();
    let yaml = "
timed:
  is_paused_upon_creation: false
  dagrun_timeout: 3600
  tasks:
    a: {operator: bash, bash_command: 'true'}
";
    store.apply_at(t, vec![put(yaml), manual("timed", "again")]);
    assert_eq!(run_state(&store, "timed", "again"), DagRunState::Running);
    store.apply_at(
        t + Duration::minutes(10),
        vec![Command::DeleteDagRun {
            dag_id: "timed".into(),
            run_id: "again".into(),
        }],
    );
    store.apply_at(t + Duration::minutes(30), vec![manual("timed", "again")]);
    // The first run's timeout was due at t + 60 min; the new run's is at t + 90.
    store.apply_at(t + Duration::minutes(61), vec![Command::Tick]);
    assert_eq!(run_state(&store, "timed", "again"), DagRunState::Running);
    store.apply_at(t + Duration::minutes(91), vec![Command::Tick]);
    assert_eq!(run_state(&store, "timed", "again"), DagRunState::Failed);
}

/// A DateTimeSensor's `target_time` is rendered inside apply, on every node and
/// again on every replay: a template that could build gigabytes (a version that
/// did not go through the loader, which refuses it) fails the instance with the
/// reason instead of being rendered.
#[test]
fn a_server_template_that_could_build_without_bound_fails_instead_of_rendering() {
    use kairos_dag::model::TaskOperator;
    use kairos_dag::operator::Operator;
    let yaml = "
bomb:
  is_paused_upon_creation: false
  tasks:
    wait: {operator: date_time_sensor, target_time: '{{ data_interval_end }}'}
";
    // Small first (rendering it would give `xx`, not a refusal), then the bomb:
    // with the check in place neither is compiled or rendered.
    let small = "{{ 'x' * 2 }}".to_string();
    let bomb = format!("{{{{ {} }}}}", vec!["('x' * 100000000)"; 40].join(" ~ "));
    for (n, template) in [small, bomb].into_iter().enumerate() {
        let mut store = TempStore::new();
        let (mut content, files) = version_of(yaml);
        match &mut content.dag.tasks[0].operator {
            TaskOperator::Plain {
                operator: Operator::DateTimeSensor(s),
            } => s.target_time = template,
            other => panic!("not a DateTimeSensor: {other:?}"),
        }
        let run = format!("r{n}");
        store.apply_at(
            day(1),
            vec![
                Command::PutDagVersion { content, files },
                manual("bomb", &run),
            ],
        );
        let ti = store
            .store
            .task_instance(&key("bomb", &run, "wait"))
            .unwrap()
            .expect("the sensor's instance");
        assert_eq!(ti.state, S::Failed, "{ti:?}");
        let reason = ti.reason.unwrap_or_default();
        assert!(
            reason.contains("`*`") && reason.contains("not accepted"),
            "{reason}"
        );
    }
}

/// A sensor in `reschedule` mode: its first poke's start is kept across
/// reschedules (its timeout counts from there), reschedules are not tries (a
/// failure after three of them is still retried), and a failure reported as
/// not to be retried (a sensor's timeout) fails for good.
#[test]
fn reschedules_keep_the_first_poke_and_are_not_tries() {
    let mut store = TempStore::new();
    let yaml = CHAIN.replace(
        "etl:\n",
        "etl:\n  is_paused_upon_creation: false\n  default_args: {retries: 1, retry_delay: 0}\n",
    );
    store.apply_at(day(1), vec![put(&yaml), manual("etl", "r1")]);
    let ti = key("etl", "r1", "extract");
    let mut at = day(1);
    for _ in 0..3 {
        let attempt = dispatch(&mut store, ti.clone());
        let mut poke = report(ti.clone(), &attempt, S::UpForReschedule, None);
        if let Command::FinishAttempt { reschedule_at, .. } = &mut poke {
            *reschedule_at = Some(at + Duration::seconds(5));
        }
        store.apply_at(at, vec![poke]);
        assert_eq!(state(&store, "etl", "r1", "extract"), S::UpForReschedule);
        at += Duration::seconds(5);
        store.apply_at(at, vec![Command::Tick]);
        assert_eq!(state(&store, "etl", "r1", "extract"), S::Queued);
    }
    let record = store.store.task_instance(&ti).unwrap().expect("ti");
    assert_eq!(record.first_poke_at, Some(day(1)), "the first poke's start");
    assert_eq!(record.reschedules, 3);
    // A failure now (try 4 counting pokes) still has its one retry.
    let attempt = dispatch(&mut store, ti.clone());
    store.apply_at(at, vec![report(ti.clone(), &attempt, S::Failed, None)]);
    // retry_delay 0: retried at once, queued again.
    assert_eq!(state(&store, "etl", "r1", "extract"), S::Queued);
    let attempt = dispatch(&mut store, ti.clone());
    let record = store.store.task_instance(&ti).unwrap().expect("ti");
    assert_eq!(record.first_poke_at, Some(day(1)), "kept across retries");
    // A timeout: failed for good even though a retry would remain after a clear.
    store.apply_at(at, vec![Command::Tick]);
    let mut timeout = report(ti.clone(), &attempt, S::Failed, None);
    if let Command::FinishAttempt { no_retry, .. } = &mut timeout {
        *no_retry = true;
    }
    store.apply_at(at, vec![timeout]);
    assert_eq!(state(&store, "etl", "r1", "extract"), S::Failed);
}

/// `no_retry` fails an attempt for good while tries remain.
#[test]
fn a_failure_not_to_retry_fails_for_good() {
    let mut store = TempStore::new();
    let yaml = CHAIN.replace(
        "etl:\n",
        "etl:\n  is_paused_upon_creation: false\n  default_args: {retries: 3, retry_delay: 0}\n",
    );
    store.apply_at(day(1), vec![put(&yaml), manual("etl", "r1")]);
    let ti = key("etl", "r1", "extract");
    let attempt = dispatch(&mut store, ti.clone());
    let mut fail = report(ti.clone(), &attempt, S::Failed, None);
    if let Command::FinishAttempt { no_retry, .. } = &mut fail {
        *no_retry = true;
    }
    store.apply_at(day(1), vec![fail]);
    assert_eq!(state(&store, "etl", "r1", "extract"), S::Failed);
}
