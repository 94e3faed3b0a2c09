//! A connection's secret part (its password and extra) at rest: sealed with
//! the servers' variables key before it is proposed, bound to the connection's
//! team and id, so Raft's log, the state and snapshots hold ciphertext; opened
//! only for the API and for the worker of an attempt of the connection's team.

use kairos_state::records::ConnectionRecord;
use serde::{Deserialize, Serialize};

use crate::secrets::VariableKey;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    #[serde(default)]
    pub password: Option<String>,
    /// JSON text of an object.
    #[serde(default)]
    pub extra: Option<String>,
}

/// What a connection's secret is sealed under: another team's or id's record
/// does not open.
fn sealed_name(team: Option<&str>, conn_id: &str) -> String {
    format!("connection\0{}\0{conn_id}", team.unwrap_or_default())
}

/// The record's `secret` and `encrypted`: sealed when there is a key.
pub fn seal(
    key: Option<&VariableKey>,
    team: Option<&str>,
    conn_id: &str,
    secret: &Secret,
) -> Result<(String, bool), String> {
    let text = serde_json::to_string(secret).map_err(|e| e.to_string())?;
    match key {
        Some(key) => Ok((key.seal(&sealed_name(team, conn_id), &text)?, true)),
        None => Ok((text, false)),
    }
}

/// The record's secret, opened.
pub fn open(key: Option<&VariableKey>, record: &ConnectionRecord) -> Result<Secret, String> {
    let text = if record.encrypted {
        let key = key.ok_or_else(|| {
            format!(
                "connection `{}` is stored encrypted and this server has no variables_key_file",
                record.conn_id
            )
        })?;
        key.open(
            &sealed_name(record.team.as_deref(), &record.conn_id),
            &record.secret,
        )?
    } else {
        record.secret.clone()
    };
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "connection `{}`: its secret is damaged: {e}",
            record.conn_id
        )
    })
}

/// Every field, the password opened: what task code gets.
pub fn full(
    key: Option<&VariableKey>,
    record: &ConnectionRecord,
) -> Result<serde_json::Value, String> {
    let secret = open(key, record)?;
    Ok(serde_json::json!({
        "conn_id": record.conn_id,
        "conn_type": record.conn_type,
        "description": record.description,
        "host": record.host,
        "login": record.login,
        "schema": record.schema,
        "port": record.port,
        "password": secret.password,
        "extra": secret.extra,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(team: Option<&str>, id: &str, secret: String, encrypted: bool) -> ConnectionRecord {
        ConnectionRecord {
            conn_id: id.into(),
            conn_type: "postgres".into(),
            description: None,
            host: Some("db".into()),
            login: None,
            schema: None,
            port: None,
            secret,
            encrypted,
            team: team.map(str::to_string),
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_as_its_own_team_and_id() {
        let key = VariableKey::from_hex(&"ab".repeat(32)).unwrap();
        let secret = Secret {
            password: Some("hunter2".into()),
            extra: Some(r#"{"sslmode": "require"}"#.into()),
        };
        let (sealed, encrypted) = seal(Some(&key), Some("sales"), "db", &secret).unwrap();
        assert!(encrypted && !sealed.contains("hunter2") && !sealed.contains("sslmode"));
        let own = record(Some("sales"), "db", sealed.clone(), true);
        assert_eq!(open(Some(&key), &own).unwrap(), secret);
        assert!(open(Some(&key), &record(Some("ops"), "db", sealed.clone(), true)).is_err());
        assert!(open(Some(&key), &record(None, "db", sealed.clone(), true)).is_err());
        assert!(open(None, &own).unwrap_err().contains("variables_key_file"));
        let (plain, encrypted) = seal(None, None, "db", &secret).unwrap();
        assert!(!encrypted);
        assert_eq!(
            open(None, &record(None, "db", plain, false)).unwrap(),
            secret
        );
    }
}
