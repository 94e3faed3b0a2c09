//! A sensor in `reschedule` mode times out as Airflow's does: `timeout` counts
//! from its first poke, across reschedules, and the timeout fails it for good
//! (or skips it with `soft_fail`). Before this, each reschedule started a new
//! clock and such a sensor poked forever.

use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};

use crate::support::*;

const SENSOR_DAG: &str = "
waits:
  schedule: null
  is_paused_upon_creation: false
  default_args: {retries: 2, retry_delay: 0}
  tasks:
    never:
      operator: airflow.sensors.bash.BashSensor
      bash_command: 'exit 1'
      mode: reschedule
      poke_interval: 1
      timeout: 6
    never_soft:
      operator: airflow.sensors.bash.BashSensor
      bash_command: 'exit 1'
      mode: reschedule
      poke_interval: 1
      timeout: 6
      soft_fail: true
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescheduled_sensor_times_out_from_its_first_poke() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(dir.path());
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    push(&cluster, dir.path(), "waits.yml", SENSOR_DAG, &[]).await;
    let w1 = Worker::start(&cluster, dir.path(), "w1", TOKEN);
    let started = Instant::now();
    trigger(&cluster, "waits", "r1").await;
    let state = wait_run(&cluster, "waits", "r1", Duration::from_secs(60), || {
        w1.log()
    })
    .await;
    let took = started.elapsed();
    assert_eq!(state, DagRunState::Failed, "the hard sensor failed the run");
    let tis = tis(&cluster, "waits", "r1").await;
    let never = tis.iter().find(|t| t.task_id == "never").expect("never");
    let soft = tis
        .iter()
        .find(|t| t.task_id == "never_soft")
        .expect("soft");
    assert_eq!(never.state, S::Failed, "{never:?}");
    assert_eq!(soft.state, S::Skipped, "{soft:?}");
    for ti in [never, soft] {
        let reason = ti.reason.clone().unwrap_or_default();
        assert!(reason.contains("timed out"), "{reason}");
        // Poked about every second for about six seconds, then ended.
        assert!(ti.reschedules >= 3, "{ti:?}");
        let first = ti.first_poke_at.expect("first poke recorded");
        let end = ti.end_date.expect("ended");
        let span = (end - first).num_milliseconds();
        assert!(
            (4_500..20_000).contains(&span),
            "ended {span} ms after the first poke"
        );
    }
    // A timeout is not retried: the failed sensor's only try is its last poke.
    assert_eq!(
        never.try_number - never.reschedules,
        1,
        "retries are left but a timeout fails for good: {never:?}"
    );
    assert!(took < Duration::from_secs(40), "took {took:?}");
}
