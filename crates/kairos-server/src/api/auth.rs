//! API tokens and roles, as Airflow splits them: viewers read, operators also
//! trigger, clear, mark and pause, admins also manage pools, variables and the
//! cluster. Tokens come from the servers' `api_token_file`, one `ROLE TOKEN` per
//! line; without the file the API is open (as `kairos dev` runs on 127.0.0.1).

use std::path::Path;

use axum::http::{HeaderMap, StatusCode, header};

use super::problem::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    fn parse(text: &str) -> Option<Role> {
        match text.to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "operator" | "op" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// The tokens the API accepts; empty means open.
#[derive(Debug, Clone, Default)]
pub struct ApiTokens {
    tokens: Vec<(String, Role)>,
}

impl ApiTokens {
    pub fn open() -> ApiTokens {
        ApiTokens::default()
    }

    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Reads `ROLE TOKEN` lines (`#` comments, blank lines skipped).
    pub fn from_file(path: &Path) -> Result<ApiTokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut tokens = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = || {
                format!(
                    "{}:{}: write `ROLE TOKEN`, ROLE one of viewer, operator, admin",
                    path.display(),
                    n + 1
                )
            };
            let (role, token) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
            let role = Role::parse(role).ok_or_else(bad)?;
            tokens.push((token.trim().to_string(), role));
        }
        if tokens.is_empty() {
            return Err(format!("{} holds no token", path.display()));
        }
        Ok(ApiTokens { tokens })
    }

    /// Lets the request through when its bearer token has at least `needed`.
    pub fn authorize(&self, headers: &HeaderMap, needed: Role) -> Result<(), Problem> {
        if self.is_open() {
            return Ok(());
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(presented) = presented else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "this API needs a token: send `Authorization: Bearer <token>` (the CLI reads KAIROS_TOKEN)",
            ));
        };
        // Digests of equal length, compared in full against every token: the time
        // taken tells nothing about a token's length, prefix or position.
        let digest = |t: &str| ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
        let presented = digest(presented);
        let mut found = None;
        for (token, role) in &self.tokens {
            let known = digest(token);
            let differs = known
                .as_ref()
                .iter()
                .zip(presented.as_ref())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y));
            if differs == 0 {
                found = Some(*role);
            }
        }
        let role = found.ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "the token is not one the servers know",
            )
        })?;
        if role < needed {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this needs the {} role; the token has {}",
                    needed.name(),
                    role.name()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn roles_nest_and_missing_or_wrong_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "viewer v1\noperator o1 # the on-call\nadmin a1\n").unwrap();
        let tokens = ApiTokens::from_file(&file).unwrap();
        assert!(tokens.authorize(&bearer("v1"), Role::Viewer).is_ok());
        assert_eq!(
            tokens
                .authorize(&bearer("v1"), Role::Operator)
                .unwrap_err()
                .status,
            403
        );
        assert!(tokens.authorize(&bearer("a1"), Role::Operator).is_ok());
        assert_eq!(
            tokens
                .authorize(&HeaderMap::new(), Role::Viewer)
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            tokens
                .authorize(&bearer("x"), Role::Viewer)
                .unwrap_err()
                .status,
            401
        );
        std::fs::write(&file, "reader r1\n").unwrap();
        assert!(ApiTokens::from_file(&file).unwrap_err().contains(":1:"));
        assert!(
            ApiTokens::open()
                .authorize(&HeaderMap::new(), Role::Admin)
                .is_ok()
        );
    }
}

/// Refuses a request without a valid token (401) before its body is read, so that
/// an anonymous caller learns nothing from how a body is parsed. Roles are checked
/// by each handler (403). `/health` stays open, for probes.
pub async fn require_token(
    axum::extract::State(tokens): axum::extract::State<std::sync::Arc<ApiTokens>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // The nested API router sees paths without `/api/v1`.
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    match tokens.authorize(request.headers(), Role::Viewer) {
        Ok(()) => next.run(request).await,
        Err(problem) => problem.into_response(),
    }
}
