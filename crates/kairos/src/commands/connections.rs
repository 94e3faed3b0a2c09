//! `kairos connections list|get|add|delete`: Airflow's connections, over the
//! REST API (reading needs the operator role, changing the admin role), with
//! Airflow's CLI forms: `add ID --conn-uri URI`, or `--conn-type` and the
//! fields one by one, or `--conn-json`. Passwords never come back.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::api::ConnectionBody;

use super::connect::{Remote, with_api};
use super::output::{Output, print_json};
use crate::table;

#[derive(Args, Debug)]
pub struct ConnectionsArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// Whose connections: a team's (a team's token always means its own; it
    /// also reads the cluster-wide ones its team has none of).
    #[arg(long, global = true)]
    pub team: Option<String>,
    #[command(subcommand)]
    pub command: ConnectionsCommand,
}

#[derive(Subcommand, Debug)]
pub enum ConnectionsCommand {
    /// Every connection (no passwords).
    List,
    /// One connection (no password).
    Get { conn_id: String },
    /// Create or replace a connection (admin).
    Add(AddArgs),
    /// Delete a connection (admin).
    Delete { conn_id: String },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    pub conn_id: String,
    /// The whole connection as Airflow's URI, e.g.
    /// `postgres://user:pass@db:5432/sales?sslmode=require`.
    #[arg(long, conflicts_with_all = ["conn_json", "conn_type"])]
    pub conn_uri: Option<String>,
    /// The whole connection as Airflow's JSON form (`{"conn_type": ..., "host": ...}`).
    #[arg(long, conflicts_with = "conn_type")]
    pub conn_json: Option<String>,
    #[arg(long)]
    pub conn_type: Option<String>,
    #[arg(long)]
    pub conn_host: Option<String>,
    #[arg(long)]
    pub conn_login: Option<String>,
    #[arg(long)]
    pub conn_password: Option<String>,
    #[arg(long)]
    pub conn_schema: Option<String>,
    #[arg(long)]
    pub conn_port: Option<u16>,
    /// JSON text of an object.
    #[arg(long)]
    pub conn_extra: Option<String>,
    #[arg(long)]
    pub conn_description: Option<String>,
}

/// Airflow's connection URI: `type://login:password@host:port/schema?extra`.
/// A query of one `__extra__` key is the extra's JSON text; any other query
/// becomes the extra's keys.
fn from_uri(uri: &str) -> Result<ConnectionBody, String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("--conn-uri {uri:?}: {e}"))?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let some = |s: String| (!s.is_empty()).then_some(s);
    let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let extra = match query.as_slice() {
        [] => None,
        [(k, v)] if k == "__extra__" => Some(v.clone()),
        pairs => Some(
            serde_json::Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )
            .to_string(),
        ),
    };
    Ok(ConnectionBody {
        connection_id: None,
        conn_type: Some(parsed.scheme().replace('-', "_")),
        description: None,
        host: parsed.host_str().map(decode).and_then(some),
        login: some(decode(parsed.username())),
        password: parsed.password().map(decode),
        schema: some(decode(parsed.path().trim_start_matches('/'))),
        port: parsed.port(),
        extra,
    })
}

fn body_of(args: &AddArgs) -> Result<ConnectionBody, String> {
    let mut body = match (&args.conn_uri, &args.conn_json) {
        (Some(uri), _) => from_uri(uri)?,
        (None, Some(json)) => {
            let mut value: serde_json::Value =
                serde_json::from_str(json).map_err(|e| format!("--conn-json is not JSON: {e}"))?;
            // Airflow's JSON form may give `extra` as an object.
            if let Some(extra) = value.get_mut("extra").filter(|e| e.is_object()) {
                *extra = serde_json::Value::String(extra.to_string());
            }
            serde_json::from_value(value).map_err(|e| format!("--conn-json: {e}"))?
        }
        (None, None) => ConnectionBody {
            conn_type: args.conn_type.clone(),
            ..ConnectionBody::default()
        },
    };
    let set = |field: &mut Option<String>, flag: &Option<String>| {
        if flag.is_some() {
            field.clone_from(flag);
        }
    };
    set(&mut body.host, &args.conn_host);
    set(&mut body.login, &args.conn_login);
    set(&mut body.password, &args.conn_password);
    set(&mut body.schema, &args.conn_schema);
    set(&mut body.extra, &args.conn_extra);
    set(&mut body.description, &args.conn_description);
    if args.conn_port.is_some() {
        body.port = args.conn_port;
    }
    if body.conn_type.is_none() {
        return Err("give --conn-uri, --conn-json or --conn-type".into());
    }
    body.connection_id = Some(args.conn_id.clone());
    Ok(body)
}

pub fn connections(args: &ConnectionsArgs) -> ExitCode {
    let output = args.remote.output;
    let team = args.team.as_deref();
    with_api(&args.remote, |api| async move {
        match &args.command {
            ConnectionsCommand::List => {
                let all = api.connections(team).await?;
                match output {
                    Output::Json => print_json(&all)?,
                    Output::Text => {
                        let rows: Vec<Vec<String>> = all
                            .iter()
                            .map(|c| {
                                vec![
                                    c.connection_id.clone(),
                                    c.conn_type.clone(),
                                    table::optional(c.host.as_deref()),
                                    table::optional(c.team.as_deref()),
                                ]
                            })
                            .collect();
                        print!("{}", table::render(&["ID", "TYPE", "HOST", "TEAM"], &rows));
                    }
                }
            }
            ConnectionsCommand::Get { conn_id } => {
                let connection = api.connection(conn_id, team).await?;
                print_json(&connection)?;
            }
            ConnectionsCommand::Add(add) => {
                let body = body_of(add)?;
                let made = api.add_connection(team, &body).await?;
                match output {
                    Output::Json => print_json(&made)?,
                    Output::Text => println!("connection {} set", made.connection_id),
                }
            }
            ConnectionsCommand::Delete { conn_id } => {
                api.delete_connection(conn_id, team).await?;
                if output == Output::Text {
                    println!("connection {conn_id} deleted");
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn airflow_uris_become_connections() {
        let c = from_uri("postgres://me:p%40ss@db.local:5433/sales?sslmode=require").unwrap();
        assert_eq!(c.conn_type.as_deref(), Some("postgres"));
        assert_eq!(c.login.as_deref(), Some("me"));
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        assert_eq!(c.host.as_deref(), Some("db.local"));
        assert_eq!(c.port, Some(5433));
        assert_eq!(c.schema.as_deref(), Some("sales"));
        assert_eq!(c.extra.as_deref(), Some(r#"{"sslmode":"require"}"#));
        let c = from_uri("google-cloud-platform://?__extra__=%7B%22a%22%3A+1%7D").unwrap();
        assert_eq!(c.conn_type.as_deref(), Some("google_cloud_platform"));
        assert_eq!(c.extra.as_deref(), Some(r#"{"a": 1}"#));
        assert_eq!(c.host, None);
    }
}
