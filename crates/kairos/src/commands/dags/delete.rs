//! `kairos dags delete DAG`: the DAG with its runs, task instances, XComs and
//! versions (Airflow's `dags delete`), after a confirmation unless `--yes`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Args;

use crate::commands::connect::{Remote, with_api};

#[derive(Args, Debug)]
pub struct DeleteArgs {
    pub dag_id: String,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn delete(args: &DeleteArgs) -> ExitCode {
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: deleting `{}` needs a confirmation: run it in a terminal, or pass --yes",
                args.dag_id
            );
            return ExitCode::from(2);
        }
        print!(
            "This deletes DAG `{}` with every run, task instance, XCom and version of it. Proceed? (y/n) ",
            args.dag_id
        );
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Cancelled: nothing was deleted.");
            return ExitCode::SUCCESS;
        }
    }
    let dag_id = args.dag_id.clone();
    with_api(&args.remote, |api| async move {
        api.delete_dag(&dag_id).await?;
        println!("{dag_id} deleted");
        Ok(())
    })
}
