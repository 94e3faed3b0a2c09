//! `kairos pools ...` and `kairos variables ...` over the REST API.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::api_client::{urlencode, with_api};
use crate::cli::{Output, PoolsArgs, PoolsCommand, VariablesArgs, VariablesCommand};
use crate::table;

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pool_rows(pools: &[Value]) -> String {
    let rows: Vec<Vec<String>> = pools
        .iter()
        .map(|p| {
            vec![
                text(&p["name"]),
                text(&p["slots"]),
                text(&p["include_deferred"]),
                text(&p["description"]),
            ]
        })
        .collect();
    table::render(&["POOL", "SLOTS", "INCLUDE DEFERRED", "DESCRIPTION"], &rows)
}

pub fn pools(args: &PoolsArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        let answer = match &args.command {
            PoolsCommand::List => {
                let list = api.json(reqwest::Method::GET, "/pools", None).await?;
                list["pools"].clone()
            }
            PoolsCommand::Get { name } => {
                let path = format!("/pools/{}", urlencode(name));
                api.json(reqwest::Method::GET, &path, None).await?
            }
            PoolsCommand::Set {
                name,
                slots,
                description,
                include_deferred,
            } => {
                let path = format!("/pools/{}", urlencode(name));
                let body = json!({"slots": slots, "description": description, "include_deferred": include_deferred});
                api.json(reqwest::Method::PUT, &path, Some(body)).await?
            }
            PoolsCommand::Delete { name } => {
                let path = format!("/pools/{}", urlencode(name));
                api.json(reqwest::Method::DELETE, &path, None).await?;
                if output == Output::Text {
                    println!("pool {name} deleted");
                }
                return Ok(());
            }
        };
        match output {
            Output::Json => println!("{answer}"),
            Output::Text => match answer.as_array() {
                Some(list) => print!("{}", pool_rows(list)),
                None => print!("{}", pool_rows(std::slice::from_ref(&answer))),
            },
        }
        Ok(())
    })
}

pub fn variables(args: &VariablesArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        match &args.command {
            VariablesCommand::List => {
                let all = api.all_pages("/variables", "variables").await?;
                match output {
                    Output::Json => println!("{}", Value::Array(all)),
                    Output::Text => {
                        // Values are secrets as often as not: keys only, as Airflow lists them.
                        let rows: Vec<Vec<String>> = all
                            .iter()
                            .map(|v| vec![text(&v["key"]), text(&v["description"])])
                            .collect();
                        print!("{}", table::render(&["KEY", "DESCRIPTION"], &rows));
                    }
                }
            }
            VariablesCommand::Get { key } => {
                let path = format!("/variables/{}", urlencode(key));
                let answer = api.json(reqwest::Method::GET, &path, None).await?;
                match output {
                    Output::Json => println!("{answer}"),
                    Output::Text => println!("{}", text(&answer["value"])),
                }
            }
            VariablesCommand::Set {
                key,
                value,
                description,
            } => {
                let path = format!("/variables/{}", urlencode(key));
                let body = json!({"value": value, "description": description});
                api.json(reqwest::Method::PUT, &path, Some(body)).await?;
                if output == Output::Text {
                    println!("variable {key} set");
                }
            }
            VariablesCommand::Delete { key } => {
                let path = format!("/variables/{}", urlencode(key));
                api.json(reqwest::Method::DELETE, &path, None).await?;
                if output == Output::Text {
                    println!("variable {key} deleted");
                }
            }
        }
        Ok(())
    })
}
