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
    }]);
    assert_eq!(store.store.variable("region").unwrap(), None);
    let missing = store.apply(vec![Command::DeleteVariable {
        key: "region".into(),
    }]);
    assert_eq!(
        missing[0].clone().unwrap_err().kind,
        RejectionKind::NotFound
    );
}
