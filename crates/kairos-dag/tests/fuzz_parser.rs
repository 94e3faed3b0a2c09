//! Property tests: no input makes the DAG parser panic.
//!
//! Arbitrary bytes, arbitrary text, and generated files that look like DAG files
//! (random mixes of real keys, plausible and implausible values, YAML features)
//! all go through the whole loader; it must return diagnostics, never panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kairos_dag::date::DateSpec;
use kairos_dag::duration::Duration;
use kairos_dag::load::{LoadOptions, load_bytes};
use kairos_dag::timetable::CronExpr;
use proptest::prelude::*;

fn load(bytes: &[u8]) {
    let mut disk: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    disk.insert(PathBuf::from("/f/cb.py"), b"def f(): pass\n".to_vec());
    disk.insert(PathBuf::from("/f/run.sh"), b"echo hi\n".to_vec());
    let file = load_bytes(
        "f.yml",
        Path::new("/f/f.yml"),
        bytes,
        &disk,
        &LoadOptions::default(),
    );
    // Whatever came back must be coherent: valid DAGs only when no error names them.
    for v in &file.dags {
        assert!(
            !file
                .diagnostics
                .iter()
                .any(|d| d.is_error() && d.dag_id.as_deref() == Some(v.dag.dag_id.as_str()))
        );
        let _ = v.content_hash();
    }
}

/// Pieces of DAG files: keys that exist, values of every shape.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("yes".to_string()),
        Just("'@daily'".to_string()),
        Just("0 3 * * 1-5".to_string()),
        Just("61 * * * *".to_string()),
        Just("2024-01-01".to_string()),
        Just("2 days".to_string()),
        Just("{days: 1}".to_string()),
        Just("{__type__: datetime.timedelta, hours: 2}".to_string()),
        Just("{__join__: [a, 1]}".to_string()),
        Just("[a, b, c]".to_string()),
        Just("&anchor {x: 1}".to_string()),
        Just("*anchor".to_string()),
        Just("{<<: {x: 1}, y: 2}".to_string()),
        Just("bash".to_string()),
        Just("airflow.operators.python.PythonOperator".to_string()),
        Just("$CONFIG_ROOT_DIR/cb.py".to_string()),
        Just("run.sh".to_string()),
        Just("t0.output".to_string()),
        Just("Europe/Paris".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just(".inf".to_string()),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|i| i.to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "schedule",
        "schedule_interval",
        "start_date",
        "end_date",
        "timezone",
        "catchup",
        "tags",
        "params",
        "max_active_runs",
        "concurrency",
        "dagrun_timeout",
        "default_args",
        "retries",
        "retry_delay",
        "pool",
        "pool_slots",
        "trigger_rule",
        "operator",
        "bash_command",
        "python_callable_name",
        "python_callable_file",
        "dependencies",
        "task_group_name",
        "parent_group_name",
        "expand",
        "partial",
        "op_args",
        "op_kwargs",
        "env",
        "mode",
        "poke_interval",
        "delta",
        "target_time",
        "weight_rule",
        "priority_weight",
        "bogus_key",
    ])
    .prop_map(str::to_string)
}

fn task() -> impl Strategy<Value = String> {
    prop::collection::vec((key(), value()), 0..6).prop_map(|pairs| {
        let mut out = String::from("      operator: bash\n      bash_command: echo\n");
        for (k, v) in pairs {
            out.push_str(&format!("      {k}: {v}\n"));
        }
        out
    })
}

fn dag_file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((key(), value()), 0..6),
        prop::collection::vec(task(), 0..5),
        prop::collection::vec((0usize..5, 0usize..5), 0..6),
        any::<bool>(),
    )
        .prop_map(|(dag_keys, tasks, deps, groups)| {
            let mut out = String::from("default:\n  default_args: {retries: 1}\nd:\n");
            for (k, v) in dag_keys {
                out.push_str(&format!("  {k}: {v}\n"));
            }
            if groups {
                out.push_str("  task_groups:\n    g0: {}\n    g1: {parent_group_name: g0, dependencies: [t0]}\n");
            }
            out.push_str("  tasks:\n");
            for (i, body) in tasks.iter().enumerate() {
                out.push_str(&format!("    t{i}:\n{body}"));
                let ups: Vec<String> = deps.iter().filter(|(d, _)| *d == i).map(|(_, u)| format!("t{u}")).collect();
                if !ups.is_empty() {
                    out.push_str(&format!("      dependencies: [{}]\n", ups.join(", ")));
                }
                if groups && i % 2 == 1 {
                    out.push_str("      task_group_name: g1\n");
                }
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        load(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        load(text.as_bytes());
    }

    #[test]
    fn yamlish_text_never_panics(text in "[a-z:\\-\\[\\]{}&*!|>'\" \n#,@%.0-9<]{0,300}") {
        load(text.as_bytes());
    }

    /// Number-like scalars with any character mixed in (the review found `1.0eé`).
    #[test]
    fn number_like_scalars_never_panic(scalar in "[-+]?[0-9._]{0,4}[eExob:]?[-+]?\\PC{0,3}") {
        load(format!("d:\n  description: {scalar}\n  tasks: {{t: {{operator: empty, retries: {scalar}}}}}\n").as_bytes());
    }

    #[test]
    fn generated_dag_files_never_panic(text in dag_file()) {
        load(text.as_bytes());
    }

    #[test]
    fn schedule_and_time_parsers_never_panic(text in "[ -~]{0,40}") {
        let _ = CronExpr::parse(&text);
        let _ = Duration::parse(&text);
        let _ = DateSpec::parse(&text, chrono_tz::Tz::UTC);
        let _ = kairos_dag::load::schedule_from_str(&text);
    }

    #[test]
    fn cron_like_strings_never_panic(fields in prop::collection::vec("[0-9*/,LW#?+-]{1,6}|MON|jan|SUN-SAT", 1..7)) {
        let text = fields.join(" ");
        if let Ok(c) = CronExpr::parse(&text) {
            let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
            let _ = c.next_after(t, chrono_tz::Tz::UTC);
            let _ = c.prev_before(t, chrono_tz::Europe::Paris);
        }
    }
}
