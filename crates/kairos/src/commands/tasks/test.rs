//! `kairos tasks test FILE TASK_ID`: one task run here and now, like `airflow
//! tasks test`: its dependencies are not checked and nothing is recorded
//! anywhere that outlives the command. The DAG file is loaded as `dags push`
//! would load it, the DAG is cut down to that one task (no upstream), and
//! `kairos dags test`'s throwaway one-node cluster of this process runs it;
//! the task's log is printed and the exit code says whether it succeeded.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kairos_dag::load::LoadOptions;
use kairos_dag::model::{MapSource, TaskOperator};
use kairos_dag::version::VersionContent;

use crate::commands::connect::{Failure, fail};
use crate::commands::dags::test::{RunOptions, Throwaway, ThrowawayPush, run_throwaway};

#[derive(Args, Debug)]
pub struct TaskTestArgs {
    /// The DAG file.
    pub file: PathBuf,
    /// The task (with its group prefix: `group.task`).
    pub task_id: String,
    /// The DAG (may be left out when one DAG of the file has the task).
    #[arg(long)]
    pub dag: Option<String>,
    #[command(flatten)]
    pub run: RunOptions,
}

pub fn test(args: &TaskTestArgs) -> ExitCode {
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(e),
    }
}

fn run(args: &TaskTestArgs) -> Result<bool, Failure> {
    let opts = LoadOptions {
        bundle: kairos_dag::model::defaults::BUNDLE.to_string(),
        team: None,
        environment: None,
        root: crate::commands::dags::upload::config_root(),
    };
    let loaded = crate::commands::dags::python_files::load_dag_file(&args.file, &opts);
    if loaded.has_errors() {
        for message in loaded.error_messages() {
            eprintln!("{message}");
        }
        return Err(format!("{} is not valid", args.file.display()).into());
    }
    let content = one_task(&loaded.dags, args)?;
    let dag_id = content.dag.dag_id.clone();
    run_throwaway(Throwaway {
        dag_id,
        push: ThrowawayPush::Version(Box::new(kairos_state::Command::PutDagVersion {
            content,
            files: loaded.contents,
        })),
        options: &args.run,
    })
}

/// The DAG that holds the task, cut down to that task alone.
fn one_task(dags: &[VersionContent], args: &TaskTestArgs) -> Result<VersionContent, String> {
    let task_id = &args.task_id;
    let holders: Vec<&VersionContent> = dags
        .iter()
        .filter(|v| args.dag.as_ref().is_none_or(|d| &v.dag.dag_id == d))
        .filter(|v| v.dag.task(task_id).is_some())
        .collect();
    let version = match holders.as_slice() {
        [one] => *one,
        [] => {
            let ids: Vec<String> = dags
                .iter()
                .filter(|v| args.dag.as_ref().is_none_or(|d| &v.dag.dag_id == d))
                .flat_map(|v| v.dag.tasks.iter().map(|t| t.task_id.clone()))
                .collect();
            return Err(format!(
                "no task `{task_id}` in {}{}; it has: {}",
                args.file.display(),
                args.dag
                    .as_ref()
                    .map(|d| format!(" (DAG `{d}`)"))
                    .unwrap_or_default(),
                ids.join(", ")
            ));
        }
        many => {
            return Err(format!(
                "DAGs {} of {} all have a task `{task_id}`; choose one with --dag",
                many.iter()
                    .map(|v| v.dag.dag_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                args.file.display()
            ));
        }
    };
    let mut content = version.clone();
    let mut task = content
        .dag
        .task(task_id)
        .cloned()
        .ok_or_else(|| format!("no task `{task_id}`"))?;
    if let TaskOperator::Mapped(mapped) = &task.operator {
        if let Some((arg, _)) = mapped
            .expand
            .iter()
            .find(|(_, source)| matches!(source, MapSource::Xcom { .. }))
        {
            return Err(format!(
                "`{task_id}` maps `{arg}` over an upstream task's result, which a task tested \
                 alone does not have; run the whole DAG with `kairos dags test`"
            ));
        }
    }
    task.upstream.clear();
    content.dag.tasks = vec![task];
    Ok(content)
}
