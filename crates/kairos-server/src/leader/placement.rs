//! Which worker may take a queued task: one that has the task's execution
//! environment (when it names one) and, when the worker is restricted to teams,
//! serves the DAG's team. A poll checks each candidate it read from the queued
//! index here before claiming it; what no worker fits stays queued, and
//! `explain` says why. Kept cheap for the dispatch hot path: a worker's
//! environments and teams are sets built once at registration ([`Fit`]), and a
//! candidate's needs come from a cache (dag → run → [`Needs`], shared by every run
//! of a version), so a hit is two map look-ups by borrowed strings, no allocation.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kairos_dag::model::Dag;
use kairos_state::{Store, StoreError, TaskInstanceKey};

use super::workers::WorkerInfo;

/// How many runs the cache holds before it starts over.
const RUN_CACHE_LIMIT: usize = 65_536;
/// How long a run's entry is trusted: a run deleted and created again under the
/// same id may be pinned to another version.
const RUN_ENTRY_TTL: Duration = Duration::from_secs(30);

/// What a version's tasks need of a worker.
#[derive(Debug, Default)]
pub struct Needs {
    /// The DAG's team (its bundle's).
    pub team: Option<String>,
    /// The DAG's environment, for tasks that name none.
    dag_environment: Option<String>,
    /// Tasks that name their own environment.
    task_environments: HashMap<String, String>,
}

impl Needs {
    pub fn of(dag: &Dag) -> Needs {
        Needs {
            team: dag.team.clone(),
            dag_environment: dag.environment.clone(),
            task_environments: dag
                .tasks
                .iter()
                .filter_map(|t| Some((t.task_id.clone(), t.environment.clone()?)))
                .collect(),
        }
    }

    /// The effective environment of `task_id`: its own, else the DAG's.
    pub fn environment(&self, task_id: &str) -> Option<&str> {
        self.task_environments
            .get(task_id)
            .or(self.dag_environment.as_ref())
            .map(String::as_str)
    }
}

/// What a worker carries and serves, as sets.
#[derive(Debug, Default)]
pub struct Fit {
    environments: HashSet<String>,
    /// Empty: every team.
    teams: HashSet<String>,
}

impl Fit {
    pub fn new(environments: &[String], teams: &[String]) -> Fit {
        Fit {
            environments: environments.iter().cloned().collect(),
            teams: teams.iter().cloned().collect(),
        }
    }

    /// Whether this worker may run `task_id` of a DAG that needs `needs`.
    pub fn takes(&self, needs: &Needs, task_id: &str) -> bool {
        self.serves_team(needs.team.as_deref())
            && needs
                .environment(task_id)
                .is_none_or(|e| self.environments.contains(e))
    }

    pub fn has_environment(&self, name: &str) -> bool {
        self.environments.contains(name)
    }

    /// A worker restricted to teams serves only DAGs of those teams.
    pub fn serves_team(&self, team: Option<&str>) -> bool {
        self.teams.is_empty() || team.is_some_and(|t| self.teams.contains(t))
    }
}

struct RunEntry {
    needs: Arc<Needs>,
    at: Instant,
}

#[derive(Default)]
struct Cache {
    runs: HashMap<String, HashMap<String, RunEntry>>,
    run_count: usize,
    versions: HashMap<(String, u32), Arc<Needs>>,
}

/// The needs of the runs polls have seen.
#[derive(Default)]
pub struct Placements {
    cache: Mutex<Cache>,
}

impl Placements {
    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps the candidates `fit` may take, in order; returns how many it left out.
    /// A candidate whose run or version is gone is kept (the dispatch skips it).
    pub fn keep_fitting(
        &self,
        store: &Store,
        fit: &Fit,
        candidates: &mut Vec<TaskInstanceKey>,
    ) -> Result<usize, StoreError> {
        let before = candidates.len();
        let mut cache = self.lock();
        let mut error = None;
        candidates.retain(|ti| {
            if error.is_some() {
                return true;
            }
            match cache.needs(store, ti) {
                Ok(Some(needs)) => fit.takes(&needs, &ti.task_id),
                Ok(None) => true,
                Err(e) => {
                    error = Some(e);
                    true
                }
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok(before - candidates.len()),
        }
    }
}

impl Cache {
    fn needs(
        &mut self,
        store: &Store,
        ti: &TaskInstanceKey,
    ) -> Result<Option<Arc<Needs>>, StoreError> {
        if let Some(entry) = self.runs.get(&ti.dag_id).and_then(|r| r.get(&ti.run_id)) {
            if entry.at.elapsed() < RUN_ENTRY_TTL {
                return Ok(Some(entry.needs.clone()));
            }
        }
        let Some(run) = store.run(&ti.dag_id, &ti.run_id)? else {
            return Ok(None);
        };
        let key = (ti.dag_id.clone(), run.version);
        let needs = match self.versions.get(&key) {
            Some(needs) => needs.clone(),
            None => {
                let Some(version) = store.version_record(&ti.dag_id, run.version)? else {
                    return Ok(None);
                };
                let needs = Arc::new(Needs::of(&version.content.dag));
                self.versions.insert(key, needs.clone());
                needs
            }
        };
        if self.run_count >= RUN_CACHE_LIMIT {
            *self = Cache::default();
        }
        let runs = self.runs.entry(ti.dag_id.clone()).or_default();
        let entry = RunEntry {
            needs: needs.clone(),
            at: Instant::now(),
        };
        if runs.insert(ti.run_id.clone(), entry).is_none() {
            self.run_count += 1;
        }
        Ok(Some(needs))
    }
}

/// Why no live worker may take a task waiting in `queue` that needs
/// `environment` and belongs to `team`, naming the live workers and what they
/// have; `None` when one may (or when none serves the queue at all: that has its
/// own reason).
pub fn why_no_worker(
    queue: &str,
    environment: Option<&str>,
    team: Option<&str>,
    live: &[(String, WorkerInfo)],
) -> Option<String> {
    let serving: Vec<&(String, WorkerInfo)> = live
        .iter()
        .filter(|(_, w)| w.queues.iter().any(|q| q == queue))
        .collect();
    if serving.is_empty() {
        return None;
    }
    let with_environment: Vec<&(String, WorkerInfo)> = match environment {
        Some(e) => serving
            .iter()
            .copied()
            .filter(|(_, w)| w.fit.has_environment(e))
            .collect(),
        None => serving.clone(),
    };
    if let Some(e) = environment.filter(|_| with_environment.is_empty()) {
        return Some(format!(
            "needs environment `{e}`; no live worker serving queue `{queue}` has it (workers: {}): start one with `kairos worker --environment {e}=PATH`",
            listed(&serving, |w| w.environments.join(", "))
        ));
    }
    if with_environment
        .iter()
        .any(|(_, w)| w.fit.serves_team(team))
    {
        return None;
    }
    let scope = match environment {
        Some(e) => format!("serving queue `{queue}` with environment `{e}`"),
        None => format!("serving queue `{queue}`"),
    };
    let workers = listed(&with_environment, |w| {
        format!("teams: {}", w.teams.join(", "))
    });
    Some(match team {
        Some(t) => format!(
            "team `{t}` is served by no live worker {scope} (workers: {workers}): start one with `kairos worker --teams {t}`, or without --teams"
        ),
        None => format!(
            "its DAG has no team, and every live worker {scope} serves only its own teams (workers: {workers})"
        ),
    })
}

/// `w1 [a, b], w2 [c]`.
fn listed(workers: &[&(String, WorkerInfo)], what: impl Fn(&WorkerInfo) -> String) -> String {
    workers
        .iter()
        .map(|(id, w)| format!("{id} [{}]", what(w)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(team: Option<&str>, env: Option<&str>, own: &[(&str, &str)]) -> Needs {
        Needs {
            team: team.map(str::to_string),
            dag_environment: env.map(str::to_string),
            task_environments: own
                .iter()
                .map(|(t, e)| (t.to_string(), e.to_string()))
                .collect(),
        }
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_worker_takes_what_it_has_the_environment_and_team_for() {
        let any = Fit::new(&strings(&["python3", "py311"]), &[]);
        let sales_only = Fit::new(&strings(&["python3"]), &strings(&["sales"]));
        let needs = dag(Some("sales"), Some("py311"), &[("own", "py312")]);
        assert!(any.takes(&needs, "plain"), "the DAG's py311");
        assert!(!any.takes(&needs, "own"), "py312 it lacks");
        assert!(!sales_only.takes(&needs, "plain"), "py311 it lacks");
        let open = dag(Some("sales"), None, &[]);
        assert!(sales_only.takes(&open, "t"));
        assert!(any.takes(&open, "t"));
        let other_team = dag(Some("ops"), None, &[]);
        assert!(!sales_only.takes(&other_team, "t"));
        let no_team = dag(None, None, &[]);
        assert!(
            !sales_only.takes(&no_team, "t"),
            "a restricted worker serves its teams only"
        );
        assert!(any.takes(&no_team, "t"));
    }

    fn worker(queues: &[&str], envs: &[&str], teams: &[&str]) -> WorkerInfo {
        WorkerInfo {
            queues: strings(queues),
            slots: 1,
            environments: strings(envs),
            environment_details: Arc::from(Vec::new()),
            teams: strings(teams),
            fit: Arc::new(Fit::new(&strings(envs), &strings(teams))),
            labels: Default::default(),
            log_url: String::new(),
            last_seen: Instant::now(),
        }
    }

    #[test]
    fn explanations_name_what_is_missing_and_who_is_there() {
        let live = vec![
            ("w1".to_string(), worker(&["default"], &["python3"], &[])),
            (
                "w2".to_string(),
                worker(&["default"], &["python3", "py311"], &["x"]),
            ),
            ("w3".to_string(), worker(&["other"], &["py312-etl"], &[])),
        ];
        let why = why_no_worker("default", Some("py312-etl"), None, &live).unwrap();
        assert_eq!(
            why,
            "needs environment `py312-etl`; no live worker serving queue `default` has it (workers: w1 [python3], w2 [python3, py311]): start one with `kairos worker --environment py312-etl=PATH`"
        );
        let why = why_no_worker("default", Some("py311"), Some("sales"), &live).unwrap();
        assert!(
            why.starts_with("team `sales` is served by no live worker serving queue `default` with environment `py311` (workers: w2 [teams: x])"),
            "{why}"
        );
        assert_eq!(
            why_no_worker("default", Some("py311"), Some("x"), &live),
            None
        );
        assert_eq!(
            why_no_worker("default", None, Some("sales"), &live),
            None,
            "w1 serves all"
        );
        assert_eq!(why_no_worker("nobody", Some("py311"), None, &live), None);
    }
}
