//! The checker: reads the history, the workers' attempt logs and the cluster's
//! final state, and says which properties hold.

use std::collections::BTreeMap;

use kairos_client::Read;
use kairos_client::api::TaskInstance;
use kairos_worker::attempt_log::{AttemptEvent, AttemptLog};

use crate::run::Outcome;
use crate::workload;

/// One property and what was found.
pub struct Property {
    pub name: &'static str,
    pub checked: usize,
    pub violations: Vec<String>,
}

pub struct Report {
    pub properties: Vec<Property>,
    pub runs: usize,
    pub task_instances: usize,
    pub attempts: usize,
    pub faults: BTreeMap<&'static str, usize>,
    /// Leader kill → first attempt started afterwards, in ms.
    pub failovers_ms: Vec<i64>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn violations(&self) -> usize {
        self.properties.iter().map(|p| p.violations.len()).sum()
    }
}

fn prop(name: &'static str) -> Property {
    Property {
        name,
        checked: 0,
        violations: Vec::new(),
    }
}

pub async fn check(outcome: &Outcome) -> Report {
    let history = &outcome.history;
    // Every read from node 0 on, linearizable.
    let api = &outcome.api.starting_at(0);
    let mut properties = Vec::new();
    let mut logs: Vec<(String, Vec<AttemptEvent>)> = Vec::new();
    let mut unreadable = Vec::new();
    for w in &outcome.procs.workers {
        match AttemptLog::read(&w.attempt_log) {
            Ok(log) => logs.push((w.id.clone(), log)),
            Err(e) => unreadable.push(format!("{}: {e}", w.attempt_log.display())),
        }
    }
    let events: Vec<AttemptEvent> = logs.iter().flat_map(|(_, l)| l.clone()).collect();

    // 1. Every acknowledged run ended, as the workload predicts.
    let mut runs_prop = prop("every acknowledged run finished as predicted");
    let predicted: BTreeMap<String, &'static str> = workload::dags()
        .iter()
        .map(|d| (d.dag_id.to_string(), d.predicted))
        .collect();
    let mut final_runs: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut task_instances: Vec<TaskInstance> = Vec::new();
    let mut wrong: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for dag in workload::dags() {
        match api.dag_runs(dag.dag_id, Read::Consistent).await {
            Ok(runs) => {
                for run in runs {
                    final_runs.insert((dag.dag_id.to_string(), run.dag_run_id), run.state);
                }
            }
            Err(e) => runs_prop
                .violations
                .push(format!("cannot list the runs of {}: {e}", dag.dag_id)),
        }
    }
    for t in history.triggered.iter().filter(|t| t.acknowledged) {
        runs_prop.checked += 1;
        let want = predicted.get(&t.dag_id).copied().unwrap_or("success");
        match final_runs.get(&(t.dag_id.clone(), t.run_id.clone())) {
            None => runs_prop.violations.push(format!(
                "{}/{} was acknowledged at {} but is gone",
                t.dag_id, t.run_id, t.at_ms
            )),
            Some(state) if state != want => {
                wrong.push((t.dag_id.clone(), t.run_id.clone()));
                runs_prop.violations.push(format!(
                    "{}/{} ended {state}, the workload predicts {want}",
                    t.dag_id, t.run_id
                ))
            }
            Some(_) => {}
        }
    }
    for ((dag, run), _) in final_runs.iter().filter(|(k, _)| k.0 != "chaos_versions") {
        match api.task_instances(dag, run, Read::Consistent).await {
            Ok(tis) => task_instances.extend(tis),
            Err(e) => runs_prop.violations.push(format!(
                "cannot list the task instances of {dag}/{run}: {e}"
            )),
        }
    }
    // What each wrongly ended run's tasks were doing, so that a violation can be
    // diagnosed from the report alone.
    for (dag, run) in &wrong {
        for ti in task_instances
            .iter()
            .filter(|ti| &ti.dag_id == dag && &ti.dag_run_id == run)
        {
            let why = if matches!(ti.state.as_str(), "success" | "failed" | "skipped") {
                String::new()
            } else {
                match api.explain(dag, run, &ti.task_id).await {
                    Ok(e) => format!(" ({})", e.reasons.join("; ")),
                    Err(e) => format!(" (explain failed: {e})"),
                }
            };
            notes.push(format!(
                "{dag}/{run} task {} is {} at try {} on {:?}, next retry {:?}{why}",
                ti.task_id, ti.state, ti.try_number, ti.hostname, ti.next_retry_at
            ));
        }
    }
    properties.push(runs_prop);

    // 2. No task instance ran two attempts at once (the workers' own logs).
    let mut overlap = prop("no task instance ran two attempts at once (workers' logs)");
    let mut by_ti: BTreeMap<(String, String, String, i32), Vec<(i64, i64, String)>> =
        BTreeMap::new();
    let mut attempts = 0usize;
    for (worker, log) in &logs {
        // In log order: a start opens a span, the next end of the same attempt
        // closes it. A span left open ran until the worker's next start (which
        // kills leftover process groups), or to the end of everything.
        let starts = history
            .worker_starts
            .get(worker)
            .cloned()
            .unwrap_or_default();
        // Keyed by task instance and attempt: the log holds a token's 8-digit tag,
        // which two instances may share.
        let key = |e: &AttemptEvent| {
            format!(
                "{}/{}/{}/{}/{}",
                e.dag_id, e.run_id, e.task_id, e.map_index, e.attempt
            )
        };
        let mut open: BTreeMap<String, (i64, AttemptEvent)> = BTreeMap::new();
        let mut close = |start: i64, end: i64, e: &AttemptEvent| {
            by_ti
                .entry((
                    e.dag_id.clone(),
                    e.run_id.clone(),
                    e.task_id.clone(),
                    e.map_index,
                ))
                .or_default()
                .push((start, end, format!("{} on {}", e.attempt, e.worker)));
        };
        for e in log {
            match e.event.as_str() {
                "start" => {
                    attempts += 1;
                    if let Some((start, prev)) = open.remove(&key(e)) {
                        let restart = starts.iter().copied().find(|s| *s >= start);
                        close(start, restart.unwrap_or(e.at_ms), &prev);
                    }
                    open.insert(key(e), (e.at_ms, e.clone()));
                }
                _ => {
                    if let Some((start, prev)) = open.remove(&key(e)) {
                        close(start, e.at_ms, &prev);
                    }
                }
            }
        }
        for (_, (start, e)) in open {
            let restart = starts.iter().copied().find(|s| *s >= start);
            close(start, restart.unwrap_or(i64::MAX), &e);
        }
    }
    for (ti, mut spans) in by_ti {
        overlap.checked += 1;
        spans.sort();
        // Any overlap shows between neighbours once sorted by start.
        for pair in spans.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b.0 < a.1 {
                overlap.violations.push(format!(
                    "{}/{}/{}[{}]: attempt {} ran {}..{} and attempt {} started at {}",
                    ti.0, ti.1, ti.2, ti.3, a.2, a.0, a.1, b.2, b.0
                ));
            }
        }
    }
    overlap.violations.extend(
        unreadable
            .into_iter()
            .map(|u| format!("unreadable attempt log {u}")),
    );
    properties.push(overlap);

    // 3. Successes the runner saw are still successes; XComs are what tasks made.
    let mut kept = prop("every success seen is still a success");
    for ((dag, run), at) in &history.seen_success {
        kept.checked += 1;
        match final_runs.get(&(dag.clone(), run.clone())) {
            Some(s) if s == "success" => {}
            other => kept
                .violations
                .push(format!("{dag}/{run} was a success at {at}, now {other:?}")),
        }
    }
    properties.push(kept);
    let mut xcoms = prop("every XCom is the value its task produced");
    for ti in &task_instances {
        if ti.state != "success" {
            continue;
        }
        let (dag, run, task) = (
            ti.dag_id.as_str(),
            ti.dag_run_id.as_str(),
            ti.task_id.as_str(),
        );
        let Some(want) = workload::expected_xcom(dag, run, task) else {
            continue;
        };
        xcoms.checked += 1;
        match api.xcom_entries(dag, run, task, Read::Consistent).await {
            Ok(entries) => {
                let value = entries
                    .into_iter()
                    .find(|x| x.key == "return_value")
                    .map(|x| x.value);
                if value.as_ref().and_then(|v| v.as_str()) != Some(want.as_str()) {
                    xcoms.violations.push(format!(
                        "{dag}/{run}/{task}: return_value {value:?}, the task printed {want:?}"
                    ));
                }
            }
            other => xcoms
                .violations
                .push(format!("{dag}/{run}/{task}: cannot read XComs: {other:?}")),
        }
    }
    properties.push(xcoms);

    // 4. Every server's state digest is the same once the faults stopped.
    let mut digests = prop("all servers' state digests are equal");
    let client =
        kairos_server::ClusterClient::new(vec![]).with_tls(outcome.procs.client_tls.clone());
    let mut seen_digests: Vec<(u64, String)> = Vec::new();
    // Applying may trail a little: ask until the applied indexes agree.
    for _ in 0..60 {
        seen_digests.clear();
        let mut applied = Vec::new();
        for s in &outcome.procs.servers {
            if let Ok(status) = client.status(&s.grpc).await {
                applied.push(status.last_applied);
            }
            if let Ok(d) = client
                .query_node(&s.grpc, &kairos_state::Query::Digest, false)
                .await
            {
                seen_digests.push((s.id, d.to_string()));
            }
        }
        let same_applied = applied.len() == outcome.procs.servers.len()
            && applied.windows(2).all(|w| w[0] == w[1]);
        let same_digest = seen_digests.windows(2).all(|w| w[0].1 == w[1].1);
        // Equal digests at equal applied indexes; an entry applied between the two
        // reads (a new leader's blank entry) only means asking again.
        if same_applied && same_digest && seen_digests.len() == outcome.procs.servers.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    digests.checked = seen_digests.len();
    if seen_digests.len() != outcome.procs.servers.len() {
        digests.violations.push(format!(
            "only {} servers answered with a digest",
            seen_digests.len()
        ));
    }
    if let Some((_, first)) = seen_digests.first() {
        for (id, d) in &seen_digests {
            if d != first {
                digests
                    .violations
                    .push(format!("server {id}'s digest {d} differs from {first}"));
            }
        }
    }
    properties.push(digests);

    // 5. No acknowledged DAG version was lost; numbers have no gaps or repeats.
    let mut versions = prop("acknowledged DAG versions kept, numbered without gaps");
    match api.versions("chaos_versions", Read::Consistent).await {
        Ok(list) => {
            let numbers: Vec<u32> = list.iter().map(|v| v.version).collect();
            let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
            if numbers != expected {
                versions.violations.push(format!(
                    "versions are {numbers:?}, not 1..={}",
                    numbers.len()
                ));
            }
            let mut owner: BTreeMap<u32, u64> = BTreeMap::new();
            for pushed in history.versions.iter().filter(|p| p.created) {
                versions.checked += 1;
                if let Some(other) = owner.insert(pushed.version, pushed.revision) {
                    versions.violations.push(format!(
                        "version {} was acknowledged for revisions {other} and {}",
                        pushed.version, pushed.revision
                    ));
                }
                let file = api
                    .version_file(
                        "chaos_versions",
                        pushed.version,
                        "chaos_versions.yml",
                        Read::Local,
                    )
                    .await;
                match file {
                    Ok(file)
                        if file
                            .content
                            .contains(&format!("# revision {}\n", pushed.revision)) => {}
                    other => versions.violations.push(format!(
                        "version {} (revision {}) does not hold its file: {other:?}",
                        pushed.version, pushed.revision
                    )),
                }
            }
        }
        Err(e) => versions.violations.push(e.to_string()),
    }
    properties.push(versions);

    // Failover: each leader kill to the next attempt any worker started.
    let mut starts: Vec<i64> = events
        .iter()
        .filter(|e| e.event == "start")
        .map(|e| e.at_ms)
        .collect();
    starts.sort_unstable();
    let mut failovers_ms = Vec::new();
    let mut faults: BTreeMap<&'static str, usize> = BTreeMap::new();
    for f in &history.faults {
        *faults.entry(f.kind).or_default() += 1;
        if f.leader.is_some() {
            if let Some(next) = starts.iter().find(|s| **s >= f.start_ms) {
                failovers_ms.push(next - f.start_ms);
            }
        }
    }
    failovers_ms.sort_unstable();
    // A property that checked nothing proves nothing.
    for p in &mut properties {
        if p.checked == 0 {
            p.violations
                .push("nothing was checked: the run was too short or the data is missing".into());
        }
    }
    Report {
        properties,
        runs: final_runs.len(),
        task_instances: task_instances.len(),
        attempts,
        faults,
        failovers_ms,
        notes: history.notes.iter().cloned().chain(notes).collect(),
    }
}

/// The report as a table for people.
pub fn print(report: &Report, seed: u64) {
    println!("\n{:<60} {:>8} {:>11}", "PROPERTY", "CHECKED", "VIOLATIONS");
    for p in &report.properties {
        println!("{:<60} {:>8} {:>11}", p.name, p.checked, p.violations.len());
    }
    println!(
        "\nruns {}, task instances {}, attempts started {}",
        report.runs, report.task_instances, report.attempts
    );
    let faults: Vec<String> = report
        .faults
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    println!("faults: {}", faults.join(", "));
    let f = &report.failovers_ms;
    if f.is_empty() {
        println!("leader kill -> next dispatch: no leader kill");
    } else {
        let pct = |q: f64| f[((f.len() - 1) as f64 * q).round() as usize];
        println!(
            "leader kill -> next task started: median {} ms, p99 {} ms, max {} ms ({} kills)",
            pct(0.5),
            pct(0.99),
            f[f.len() - 1],
            f.len()
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    println!("seed: {seed}");
}
