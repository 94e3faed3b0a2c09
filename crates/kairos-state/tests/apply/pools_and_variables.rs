//! Pools and variables: set, listed, read and deleted, and what is refused.

use kairos_state::records::PoolRecord;
use kairos_state::{Command, RejectionKind};

use crate::common::*;

#[test]
fn pools_can_be_set_and_deleted_but_not_the_default() {
    let mut store = TempStore::new();
    assert_eq!(store.store.pools().unwrap(), [PoolRecord::default_pool()]);
    let pool = PoolRecord {
        name: "db".into(),
        slots: 4,
        description: None,
        include_deferred: false,
        team: None,
    };
    store.apply(vec![Command::SetPool { pool: pool.clone() }]);
    assert_eq!(store.store.pools().unwrap().len(), 2);
    let del_default = store.apply(vec![Command::DeletePool {
        name: "default_pool".into(),
    }]);
    assert_eq!(
        del_default[0].clone().unwrap_err().kind,
        RejectionKind::Invalid
    );
    store.apply(vec![Command::DeletePool { name: "db".into() }]);
    assert_eq!(store.store.pools().unwrap(), [PoolRecord::default_pool()]);
}

#[test]
fn variables_are_set_listed_read_and_deleted() {
    let mut store = TempStore::new();
    let var = |key: &str, value: &str| kairos_state::records::VariableRecord {
        key: key.into(),
        value: value.into(),
        description: None,
        encrypted: false,
        team: None,
    };
    let results = store.apply(vec![
        Command::SetVariable {
            variable: var("region", "eu-west-1"),
        },
        Command::SetVariable {
            variable: var("bucket", "raw"),
        },
        Command::SetVariable {
            variable: var("", "x"),
        },
    ]);
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(results[2].clone().unwrap_err().kind, RejectionKind::Invalid);
    let listed: Vec<String> = store
        .store
        .variables(None, None)
        .unwrap()
        .into_iter()
        .map(|v| v.key)
        .collect();
    assert_eq!(listed, ["bucket", "region"]);
    assert_eq!(
        store.store.variable("region").unwrap().map(|v| v.value),
        Some("eu-west-1".to_string())
    );
    store.apply(vec![Command::DeleteVariable {
        key: "region".into(),
        team: None,
    }]);
    assert_eq!(store.store.variable("region").unwrap(), None);
    let missing = store.apply(vec![Command::DeleteVariable {
        key: "region".into(),
        team: None,
    }]);
    assert_eq!(
        missing[0].clone().unwrap_err().kind,
        RejectionKind::NotFound
    );
}

#[test]
fn a_teams_variables_live_apart_and_shadow_cluster_wide_ones_for_its_tasks() {
    let mut store = TempStore::new();
    let var = |team: Option<&str>, key: &str, value: &str| kairos_state::records::VariableRecord {
        key: key.into(),
        value: value.into(),
        description: None,
        encrypted: false,
        team: team.map(str::to_string),
    };
    let results = store.apply(vec![
        Command::SetVariable {
            variable: var(None, "region", "global"),
        },
        Command::SetVariable {
            variable: var(Some("sales"), "region", "sales-eu"),
        },
        Command::SetVariable {
            variable: var(Some("sales"), "bucket", "sales-raw"),
        },
        Command::SetVariable {
            variable: var(Some("ops"), "region", "ops-us"),
        },
        Command::SetVariable {
            variable: var(Some("bad\0team"), "x", "y"),
        },
    ]);
    assert!(results[..4].iter().all(Result::is_ok), "{results:?}");
    assert_eq!(results[4].clone().unwrap_err().kind, RejectionKind::Invalid);
    let value = |store: &TempStore, team: Option<&str>, key: &str| {
        store
            .store
            .variable_for(team, key)
            .unwrap()
            .map(|v| v.value)
    };
    assert_eq!(
        value(&store, Some("sales"), "region").as_deref(),
        Some("sales-eu")
    );
    assert_eq!(
        value(&store, Some("ops"), "region").as_deref(),
        Some("ops-us")
    );
    assert_eq!(
        value(&store, Some("hr"), "region").as_deref(),
        Some("global")
    );
    assert_eq!(value(&store, None, "region").as_deref(), Some("global"));
    assert_eq!(
        value(&store, None, "bucket"),
        None,
        "a team's Variable is not global"
    );
    assert_eq!(
        value(&store, Some("ops"), "bucket"),
        None,
        "nor another team's"
    );
    let keys = |store: &TempStore, team: &str| -> Vec<String> {
        store
            .store
            .team_variables(team, None, None)
            .unwrap()
            .into_iter()
            .map(|v| v.key)
            .collect()
    };
    assert_eq!(keys(&store, "sales"), ["bucket", "region"]);
    assert_eq!(keys(&store, "ops"), ["region"]);
    let global: Vec<String> = store
        .store
        .variables(None, None)
        .unwrap()
        .into_iter()
        .map(|v| v.key)
        .collect();
    assert_eq!(global, ["region"]);
    let gone = store.apply(vec![
        Command::DeleteVariable {
            key: "region".into(),
            team: Some("sales".into()),
        },
        Command::DeleteVariable {
            key: "bucket".into(),
            team: Some("ops".into()),
        },
    ]);
    assert!(gone[0].is_ok());
    assert_eq!(gone[1].clone().unwrap_err().kind, RejectionKind::NotFound);
    assert_eq!(
        value(&store, Some("sales"), "region").as_deref(),
        Some("global")
    );
    assert_eq!(
        value(&store, Some("ops"), "region").as_deref(),
        Some("ops-us")
    );
}
