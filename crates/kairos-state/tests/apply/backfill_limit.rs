//! A backfill creates at most `kairos_dag::limits::MAX_BACKFILL_RUNS` runs: a
//! longer range is refused whole, with what to do, and creates nothing.

use chrono::{TimeZone, Utc};
use kairos_state::records::ReprocessBehavior;
use kairos_state::{Command, RejectionKind};

use crate::common::*;

#[test]
fn a_backfill_over_the_run_limit_is_refused_and_creates_nothing() {
    let mut store = TempStore::new();
    let yaml = "
hourly:
  schedule: '@hourly'
  start_date: 2020-01-01
  tasks:
    t: {operator: bash, bash_command: 'true'}
";
    store.apply(vec![put(yaml)]);
    let backfill = |to_year| Command::CreateBackfill {
        dag_id: "hourly".into(),
        from_date: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
        to_date: Utc.with_ymd_and_hms(to_year, 1, 1, 0, 0, 0).unwrap(),
        reprocess_behavior: ReprocessBehavior::None,
        max_active_runs: 1,
        conf: Default::default(),
        triggered_by: "test".into(),
    };
    // Two years of hours: 17,544 runs.
    let results = store.apply(vec![backfill(2022)]);
    let err = results[0].clone().expect_err("too many runs");
    assert_eq!(err.kind, RejectionKind::TooLarge);
    assert!(
        err.message
            .contains(&kairos_dag::limits::MAX_BACKFILL_RUNS.to_string())
            && err.message.contains("split"),
        "{}",
        err.message
    );
    let runs = store
        .store
        .runs("hourly", None, None, Some(10))
        .expect("runs");
    assert!(runs.is_empty(), "{runs:?}");
}
