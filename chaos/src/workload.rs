//! The DAGs the suite runs, and what each run must end as. Every task's last
//! line of output (its `return_value` XCom) is a value the checker can predict
//! from the run and task ids alone.

use std::collections::BTreeMap;

/// One DAG file to push: its name, YAML, the files it references, and the state
/// every run of it must end in. Every task may retry (3 times, after 1 s): a task
/// whose worker is killed fails that try, as in Airflow, and the run must still
/// end as predicted.
pub struct DagFile {
    pub dag_id: &'static str,
    pub file_name: &'static str,
    pub yaml: String,
    pub files: BTreeMap<String, String>,
    pub predicted: &'static str,
}

/// What a task prints last: `<run_id>/<task_id>`.
pub fn echo(extra: &str) -> String {
    format!("{extra}echo {{{{ run_id }}}}/{{{{ ti.task_id }}}}")
}

/// The `return_value` every successful task of the workload produces.
pub fn expected_xcom(dag_id: &str, run_id: &str, task_id: &str) -> Option<String> {
    match (dag_id, task_id) {
        // The consumer prints what it pulled, with a suffix.
        ("chaos_xcom", "consume") => Some(format!("{run_id}/produce+consumed")),
        // Branch choosers print nothing of their own (a Python return value).
        ("chaos_branch", "choose") => None,
        _ => Some(format!("{run_id}/{task_id}")),
    }
}

const BRANCH_PY: &str = "\
def choose(**context):
    # Even runs go left, odd runs right: the run id ends with its number.
    n = int(context[\"run_id\"].rsplit(\"-\", 1)[-1])
    return \"left\" if n % 2 == 0 else \"right\"
";

pub fn dags() -> Vec<DagFile> {
    let bash = |cmd: String| format!("{{operator: bash, bash_command: {:?}}}", cmd);
    let mut out = Vec::new();
    // A chain of six.
    let mut chain = String::from(
        "chaos_chain:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: 64\n  default_args: {retries: 3, retry_delay: 1}\n  tasks:\n",
    );
    for i in 0..6 {
        let deps = if i == 0 {
            String::new()
        } else {
            format!(", dependencies: [c{}]", i - 1)
        };
        chain.push_str(&format!(
            "    c{i}: {{operator: bash, bash_command: {:?}{deps}}}\n",
            echo("")
        ));
    }
    out.push(DagFile {
        dag_id: "chaos_chain",
        file_name: "chaos_chain.yml",
        yaml: chain,
        files: BTreeMap::new(),
        predicted: "success",
    });
    // Fan-out of eight, fan-in.
    let mut fan = String::from(
        "chaos_fan:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: 64\n  default_args: {retries: 3, retry_delay: 1}\n  tasks:\n",
    );
    fan.push_str(&format!("    start: {}\n", bash(echo(""))));
    for i in 0..8 {
        fan.push_str(&format!(
            "    p{i}: {{operator: bash, bash_command: {:?}, dependencies: [start]}}\n",
            echo("")
        ));
    }
    let ps: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    fan.push_str(&format!(
        "    join: {{operator: bash, bash_command: {:?}, dependencies: [{}]}}\n",
        echo(""),
        ps.join(", ")
    ));
    out.push(DagFile {
        dag_id: "chaos_fan",
        file_name: "chaos_fan.yml",
        yaml: fan,
        files: BTreeMap::new(),
        predicted: "success",
    });
    // A branch: one side runs, the other is skipped, the join runs.
    let branch = format!(
        "chaos_branch:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: 64\n  default_args: {{retries: 3, retry_delay: 1}}\n  tasks:\n\
         \x20   choose:\n      operator: airflow.providers.standard.operators.python.BranchPythonOperator\n\
         \x20     python_callable_name: choose\n      python_callable_file: $CONFIG_ROOT_DIR/lib/chaos_branch.py\n\
         \x20   left: {{operator: bash, bash_command: {l:?}, dependencies: [choose]}}\n\
         \x20   right: {{operator: bash, bash_command: {r:?}, dependencies: [choose]}}\n\
         \x20   join: {{operator: bash, bash_command: {j:?}, dependencies: [left, right], trigger_rule: none_failed_min_one_success}}\n",
        l = echo(""),
        r = echo(""),
        j = echo(""),
    );
    out.push(DagFile {
        dag_id: "chaos_branch",
        file_name: "chaos_branch.yml",
        yaml: branch,
        files: [("lib/chaos_branch.py".to_string(), BRANCH_PY.to_string())].into(),
        predicted: "success",
    });
    // Fails on its first try, succeeds on the second.
    let retry = format!(
        "chaos_retry:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: 64\n  default_args: {{retries: 3, retry_delay: 1}}\n  tasks:\n\
         \x20   flaky: {{operator: bash, bash_command: {f:?}, retries: 2, retry_delay: 1}}\n\
         \x20   after: {{operator: bash, bash_command: {a:?}, dependencies: [flaky]}}\n",
        f = echo("if [ {{ ti.try_number }} -lt 2 ]; then echo first try fails; exit 1; fi; "),
        a = echo(""),
    );
    out.push(DagFile {
        dag_id: "chaos_retry",
        file_name: "chaos_retry.yml",
        yaml: retry,
        files: BTreeMap::new(),
        predicted: "success",
    });
    // An XCom handed from one task to the next.
    let xcom = format!(
        "chaos_xcom:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: 64\n  default_args: {{retries: 3, retry_delay: 1}}\n  tasks:\n\
         \x20   produce: {{operator: bash, bash_command: {p:?}}}\n\
         \x20   consume: {{operator: bash, bash_command: {c:?}, dependencies: [produce]}}\n",
        p = echo(""),
        c = "echo \"{{ ti.xcom_pull(task_ids='produce') }}+consumed\"".to_string(),
    );
    out.push(DagFile {
        dag_id: "chaos_xcom",
        file_name: "chaos_xcom.yml",
        yaml: xcom,
        files: BTreeMap::new(),
        predicted: "success",
    });
    // Tasks that take a while, so that kills land while they run.
    let sleepy = format!(
        "chaos_sleep:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: 64\n  default_args: {{retries: 3, retry_delay: 1}}\n  tasks:\n\
         \x20   nap: {{operator: bash, bash_command: {n:?}, retries: 3, retry_delay: 1}}\n\
         \x20   wake: {{operator: bash, bash_command: {w:?}, dependencies: [nap], retries: 3, retry_delay: 1}}\n",
        n = echo("sleep 2; "),
        w = echo("sleep 1; "),
    );
    out.push(DagFile {
        dag_id: "chaos_sleep",
        file_name: "chaos_sleep.yml",
        yaml: sleepy,
        files: BTreeMap::new(),
        predicted: "success",
    });
    // Always fails: its runs must end failed, whatever the faults.
    let doomed = format!(
        "chaos_doomed:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: 64\n  default_args: {{retries: 3, retry_delay: 1}}\n  tasks:\n\
         \x20   boom: {{operator: bash, bash_command: {b:?}}}\n\
         \x20   never: {{operator: bash, bash_command: {n:?}, dependencies: [boom]}}\n",
        b = "echo doomed; exit 7".to_string(),
        n = echo(""),
    );
    out.push(DagFile {
        dag_id: "chaos_doomed",
        file_name: "chaos_doomed.yml",
        yaml: doomed,
        files: BTreeMap::new(),
        predicted: "failed",
    });
    out
}

/// A DAG whose file changes while the suite runs: every push makes a version.
pub fn versioned(n: u64) -> DagFile {
    DagFile {
        dag_id: "chaos_versions",
        file_name: "chaos_versions.yml",
        yaml: format!(
            "# revision {n}\nchaos_versions:\n  schedule: null\n  tasks:\n    only: {{operator: bash, bash_command: \"echo revision {n}\"}}\n"
        ),
        files: BTreeMap::new(),
        predicted: "success",
    }
}
