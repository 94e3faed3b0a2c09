//! Which names are secrets' names: Airflow's sensitive keywords. The worker
//! masks the values under such names in a task's log; the API shows them as
//! `***` (a connection's `extra`). One list, so both agree.

/// Airflow's default sensitive keywords (`core.sensitive_var_conn_names` adds to
/// them there; here the list is fixed). A name containing one is a secret's name.
pub const SENSITIVE_KEYWORDS: [&str; 12] = [
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
];

/// Whether `name` looks like the name of a secret: it contains a sensitive
/// keyword, ignoring case and with `-` read as `_` (so `X-Api-Key` and
/// `DB_PASSWORD` both count).
pub fn is_sensitive_key(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase().replace('-', "_");
    SENSITIVE_KEYWORDS.iter().any(|k| name.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_sensitive_keyword_are_secret_whatever_their_case_or_dashes() {
        for name in [
            "password",
            "DB_PASSWORD",
            "X-Api-Key",
            "github_token",
            "aws_secret_access_key",
            "Authorization",
            "gcp_service_account",
        ] {
            assert!(is_sensitive_key(name), "{name}");
        }
        for name in ["region", "user", "host", "keys", "pass"] {
            assert!(!is_sensitive_key(name), "{name}");
        }
    }
}
