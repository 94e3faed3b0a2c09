//! `kairos assets list|events|create-event`: Airflow 3's assets (datasets in
//! REST API v1), over the REST API. An event created here counts as a
//! producer's: the DAGs scheduled on the asset run when their condition is met.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::api::{AssetEvent, AssetEventQuery, CreateAssetEvent};

use super::connect::{Remote, with_api};
use super::output::{Output, print_json};
use crate::table;

#[derive(Args, Debug)]
pub struct AssetsArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: AssetsCommand,
}

#[derive(Subcommand, Debug)]
pub enum AssetsCommand {
    /// Every asset a DAG names, with the DAGs scheduled on it and the tasks that
    /// update it.
    List,
    /// Asset events, newest first.
    Events {
        /// Only this asset's.
        #[arg(long)]
        uri: Option<String>,
        /// Only those a task of this DAG made.
        #[arg(long)]
        source_dag: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Record an event of an asset by hand (Airflow's `POST /assets/events`).
    CreateEvent {
        uri: String,
        /// The event's `extra`, a JSON object.
        #[arg(long)]
        extra: Option<String>,
    },
}

fn event_rows(events: &[AssetEvent]) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let source = match (&e.source_dag_id, &e.source_task_id) {
                (Some(d), Some(t)) => format!("{d}.{t}"),
                _ => "api".to_string(),
            };
            let runs: Vec<String> = e
                .created_dagruns
                .iter()
                .map(|r| format!("{}/{}", r.dag_id, r.run_id))
                .collect();
            vec![
                e.timestamp.to_rfc3339(),
                e.dataset_uri.clone(),
                source,
                runs.join(", "),
            ]
        })
        .collect();
    table::render(&["TIME", "ASSET", "SOURCE", "RUNS"], &rows)
}

pub fn assets(args: &AssetsArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        match &args.command {
            AssetsCommand::List => {
                let assets = api.assets().await?;
                if output == Output::Json {
                    return Ok(print_json(&assets)?);
                }
                let rows: Vec<Vec<String>> = assets
                    .iter()
                    .map(|a| {
                        let names = |v: Vec<String>| v.join(", ");
                        vec![
                            a.uri.clone(),
                            table::optional(a.name.as_deref()),
                            names(a.consuming_dags.iter().map(|d| d.dag_id.clone()).collect()),
                            names(
                                a.producing_tasks
                                    .iter()
                                    .map(|t| format!("{}.{}", t.dag_id, t.task_id))
                                    .collect(),
                            ),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table::render(&["ASSET", "NAME", "SCHEDULES", "UPDATED BY"], &rows)
                );
            }
            AssetsCommand::Events {
                uri,
                source_dag,
                limit,
            } => {
                let events = api
                    .asset_events(&AssetEventQuery {
                        dataset_uri: uri.clone(),
                        source_dag_id: source_dag.clone(),
                        limit: Some(*limit),
                        ..AssetEventQuery::default()
                    })
                    .await?;
                match output {
                    Output::Json => print_json(&events)?,
                    Output::Text => print!("{}", event_rows(&events)),
                }
            }
            AssetsCommand::CreateEvent { uri, extra } => {
                let extra = match extra {
                    Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                        format!(
                            "--extra is not JSON: {e} (write an object, e.g. '{{\"rows\": 7}}')"
                        )
                    })?),
                    None => None,
                };
                let event = api
                    .create_asset_event(&CreateAssetEvent {
                        dataset_uri: uri.clone(),
                        extra,
                    })
                    .await?;
                match output {
                    Output::Json => print_json(&event)?,
                    Output::Text => print!("{}", event_rows(std::slice::from_ref(&event))),
                }
            }
        }
        Ok(())
    })
}
