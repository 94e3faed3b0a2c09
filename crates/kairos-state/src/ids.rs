//! Which ids the state machine accepts: checked once, where a record is created,
//! so that keys can rely on them (no NUL, the key separator) and URLs too.

use crate::command::{Rejection, RejectionKind};

/// The longest id Kairos accepts (Airflow's `ID_LEN`).
pub const ID_MAX: usize = 250;

/// Checks an id: not empty, not dots alone, no NUL, at most 250 characters.
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), Rejection> {
    if id.is_empty() {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} is empty; give it a name"),
        ));
    }
    if id.chars().all(|c| c == '.') {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} {id:?} is only dots, which URLs read as path steps; add a letter"),
        ));
    }
    if id.contains('\0') {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} {id:?} contains a NUL character; remove it"),
        ));
    }
    if id.chars().count() > ID_MAX {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} {id:?} is longer than {ID_MAX} characters; shorten it"),
        ));
    }
    Ok(())
}
