//! Pools, priority weights and the counters behind every limit, and `explain`
//! naming the limit that holds a task back.

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::Command;

use crate::common::*;
use crate::support::*;

#[test]
fn pools_never_exceed_their_slots() {
    let mut store = TempStore::new();
    store.apply(vec![Command::set_pool("small", 3), put(&wide(10, &[]))]);
    store.apply(vec![manual("wide", "r1")]);
    let mut finished = 0;
    loop {
        let q = queued(&store, "wide", "r1");
        let running = store
            .store
            .task_instances("wide", "r1")
            .unwrap()
            .into_iter()
            .filter(|t| t.state == S::Running)
            .count();
        assert!(
            q.len() + running <= 3,
            "{} queued + {running} running in a 3-slot pool",
            q.len()
        );
        let Some(next) = q.first() else { break };
        run_to(&mut store, key("wide", "r1", next), S::Success);
        finished += 1;
    }
    assert_eq!(finished, 10);
    assert_eq!(
        store.store.run("wide", "r1").unwrap().unwrap().state,
        DagRunState::Success
    );
}

#[test]
fn higher_priority_weight_is_queued_first() {
    let mut store = TempStore::new();
    store.apply(vec![
        Command::set_pool("small", 1),
        put(&wide(4, &[1, 5, 3, 9])),
    ]);
    store.apply(vec![manual("wide", "r1")]);
    let mut order = Vec::new();
    while let Some(next) = queued(&store, "wide", "r1").first().cloned() {
        order.push(next.clone());
        run_to(&mut store, key("wide", "r1", &next), S::Success);
    }
    assert_eq!(order, ["t03", "t01", "t02", "t00"]);
}

#[test]
fn explain_names_what_holds_a_task_back() {
    let mut store = TempStore::new();
    store.apply(vec![Command::set_pool("small", 1), put(&wide(2, &[2, 1]))]);
    store.apply(vec![manual("wide", "r1")]);
    let e = store.store.explain(&key("wide", "r1", "t01")).unwrap();
    assert_eq!(e.state, Some(S::Scheduled));
    assert!(
        e.reasons[0].contains("pool `small` has 1 of 1 slots in use"),
        "{e:?}"
    );
    let e = store.store.explain(&key("wide", "r1", "t00")).unwrap();
    assert!(e.reasons[0].contains("queued in queue `default`"), "{e:?}");
    store.apply(vec![Command::SetPaused {
        dag_id: "wide".into(),
        is_paused: true,
    }]);
    let e = store.store.explain(&key("wide", "r1", "t01")).unwrap();
    assert!(e.reasons.iter().any(|r| r.contains("is paused")), "{e:?}");
}

#[test]
fn counters_equal_what_the_task_instances_say_after_every_kind_of_move() {
    let mut store = TempStore::new();
    let yaml = wide(6, &[]).replace(
        "  default_args: {pool: small}",
        "  default_args: {pool: small, retries: 1, retry_delay: 0}",
    );
    store.apply(vec![Command::set_pool("small", 4), put(&yaml)]);
    store.apply(vec![manual("wide", "r1"), manual("wide", "r2")]);
    let runs = ["r1", "r2"];
    assert_counters_match(&store, "wide", &runs);
    let mut step = 0;
    while let Some((run, task)) = runs
        .iter()
        .find_map(|r| queued(&store, "wide", r).first().map(|t| (*r, t.clone())))
    {
        let ti = key("wide", run, &task);
        let attempt = dispatch(&mut store, ti.clone());
        assert_counters_match(&store, "wide", &runs);
        // Fail every third attempt (retried at once), clear every fifth, else succeed.
        let command = match step % 5 {
            0 => Command::ClearTaskInstances {
                dag_id: "wide".into(),
                run_id: run.into(),
                task_ids: vec![task.clone()],
            },
            _ if step % 3 == 0 => report(ti.clone(), &attempt, S::Failed, None),
            _ => report(ti.clone(), &attempt, S::Success, None),
        };
        store.apply(vec![command]);
        if step % 5 == 0 {
            // The cleared attempt reports; it runs again.
            store.apply(vec![report(ti, &attempt, S::Success, None)]);
        }
        assert_counters_match(&store, "wide", &runs);
        step += 1;
        assert!(step < 200, "the runs do not finish");
    }
    for run in runs {
        assert!(
            store
                .store
                .run("wide", run)
                .unwrap()
                .unwrap()
                .state
                .is_finished()
        );
    }
    assert_counters_match(&store, "wide", &runs);
}

#[test]
fn a_teams_pool_serves_only_that_teams_dags() {
    use kairos_dag::load::{LoadOptions, load_bytes};
    let put_for = |team: Option<&str>, dag_id: &str| {
        let yaml = format!(
            "{dag_id}:\n  is_paused_upon_creation: false\n  tasks:\n    t: {{operator: bash, bash_command: 'true', pool: sales_pool}}\n"
        );
        let loaded = load_bytes(
            "dags/test.yml",
            std::path::Path::new("dags/test.yml"),
            yaml.as_bytes(),
            &std::collections::BTreeMap::new(),
            &LoadOptions {
                team: team.map(str::to_string),
                ..LoadOptions::default()
            },
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        Command::PutDagVersion {
            content: loaded.dags.into_iter().next().unwrap(),
            files: loaded.contents,
        }
    };
    let mut pool = match Command::set_pool("sales_pool", 4) {
        Command::SetPool { pool } => pool,
        _ => unreachable!(),
    };
    pool.team = Some("sales".into());
    let mut store = TempStore::new();
    {
        let store = &mut store;
        store.apply(vec![
            Command::SetPool { pool: pool.clone() },
            put_for(Some("sales"), "mine"),
            put_for(Some("ops"), "theirs"),
            put_for(None, "nobodys"),
        ]);
        store.apply(vec![
            manual("mine", "r"),
            manual("theirs", "r"),
            manual("nobodys", "r"),
        ]);
        assert_eq!(queued(store, "mine", "r"), ["t"]);
        for dag in ["theirs", "nobodys"] {
            assert!(
                queued(store, dag, "r").is_empty(),
                "{dag} took a slot of sales' pool"
            );
            let why = format!("{:?}", store.store.explain(&key(dag, "r", "t")).unwrap());
            assert!(why.contains("belongs to team `sales`"), "{why}");
        }
    }
}
