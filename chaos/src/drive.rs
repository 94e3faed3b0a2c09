//! The load while the faults run, each loop until told to stop: runs triggered
//! at a steady rate (and triggers that got no answer sent again), new versions
//! of the versioned DAG pushed, and the runs seen to succeed noted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use kairos_client::api::TriggerRun;
use kairos_client::{Client as Api, Read};

use crate::api;
use crate::history::{History, PushedVersion, Triggered, now_ms};
use crate::shared::lock;
use crate::workload;

/// Triggers runs of random DAGs at `rate` per second until stopped. A trigger
/// that got no answer is sent again (a 409 then says it was there).
pub async fn trigger_loop(
    api: Arc<Api>,
    history: Arc<Mutex<History>>,
    stop: Arc<AtomicBool>,
    seed: u64,
    rate: f64,
) {
    let dags: Vec<String> = workload::dags()
        .iter()
        .map(|d| d.dag_id.to_string())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let pause = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let mut n = 0u64;
    let mut retry: Vec<(String, String, u32)> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let (dag, run_id, tries) = match retry.pop() {
            Some(again) => again,
            None => {
                n += 1;
                // Run n's DAG depends on the seed and n only, not on timing.
                let mut pick =
                    ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let dag = dags[pick.random_range(0..dags.len())].clone();
                (dag, format!("chaos-{n}"), 0)
            }
        };
        let run = TriggerRun {
            dag_run_id: Some(run_id.clone()),
            ..TriggerRun::default()
        };
        let first = rng.random_range(0..16usize);
        let answer = api.starting_at(first).trigger(&dag, &run).await;
        // A 409: the run exists, so an earlier unanswered trigger was applied.
        let acknowledged = match &answer {
            Ok(_) => true,
            Err(e) => e.status() == Some(409),
        };
        if !acknowledged && tries < 5 {
            retry.push((dag.clone(), run_id.clone(), tries + 1));
        }
        if acknowledged || tries >= 5 {
            lock(&history).triggered.push(Triggered {
                dag_id: dag,
                run_id,
                acknowledged,
                at_ms: now_ms(),
            });
        }
        tokio::time::sleep(pause).await;
    }
    // Whatever is still waiting for an answer is recorded as unacknowledged.
    for (dag, run_id, _) in retry {
        lock(&history).triggered.push(Triggered {
            dag_id: dag,
            run_id,
            acknowledged: false,
            at_ms: now_ms(),
        });
    }
}

/// Pushes a new revision of the versioned DAG every few seconds.
pub async fn version_loop(api: Arc<Api>, history: Arc<Mutex<History>>, stop: Arc<AtomicBool>) {
    let mut revision = 0u64;
    while !stop.load(Ordering::SeqCst) {
        revision += 1;
        let dag = workload::versioned(revision);
        if let Ok(answer) = api::push(&api, revision as usize, &dag).await {
            if let Some(pushed) = answer.dags.first() {
                lock(&history).versions.push(PushedVersion {
                    revision,
                    version: pushed.version,
                    created: pushed.created,
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(2_500)).await;
    }
}

/// Notes, every two seconds while the faults run, which runs the cluster says
/// succeeded: each must still be a success at the end.
pub async fn observe_loop(api: Arc<Api>, history: Arc<Mutex<History>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        for dag in workload::dags() {
            let Ok(runs) = api
                .starting_at(0)
                .dag_runs(dag.dag_id, Read::Consistent)
                .await
            else {
                continue;
            };
            let mut h = lock(&history);
            for run in runs.into_iter().filter(|r| r.state == "success") {
                let key = (dag.dag_id.to_string(), run.dag_run_id);
                h.seen_success.entry(key).or_insert_with(now_ms);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
