//! "Did you mean ...?" for misspelt keys, ids and names.

/// The closest candidate to `wrong`, if one is close enough to be a likely typo.
pub fn closest<'a, I>(wrong: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let wrong_lower = wrong.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&wrong_lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(distance, c)| {
            // Allow about a third of the longer word to differ, at least one edit.
            let limit = (wrong.len().max(c.len()) / 3).max(1);
            *distance <= limit
        })
        // Ties go to the shorter, then the alphabetically first name, so that the same
        // input always gets the same suggestion, whatever order candidates come in.
        .min_by_key(|(distance, c)| (*distance, c.len(), *c))
        .map(|(_, c)| c)
}

/// `did you mean `x`?` or `None`.
pub fn did_you_mean<'a, I>(wrong: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(wrong, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_but_not_strangers() {
        let keys = ["retries", "retry_delay", "queue", "pool", "trigger_rule"];
        assert_eq!(closest("retires", keys), Some("retries"));
        assert_eq!(closest("trigger_rul", keys), Some("trigger_rule"));
        assert_eq!(closest("Queue", keys), Some("queue"));
        assert_eq!(closest("banana", keys), None);
        assert_eq!(closest("x", keys), None);
    }
}
