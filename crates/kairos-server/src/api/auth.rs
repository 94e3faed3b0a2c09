//! API tokens and roles, as Airflow splits them: viewers read, operators also
//! trigger, clear, mark and pause, admins also manage pools, variables and the
//! cluster. Tokens come from the servers' `api_token_file`, one `ROLE TOKEN`
//! (cluster-wide) or `TEAM:ROLE TOKEN` (within one team) per line; without the
//! file the API is open (as `kairos dev` runs on 127.0.0.1). What a token may
//! reach is its [`Scope`].

use std::path::Path;

use axum::http::{HeaderMap, StatusCode, header};

use super::problem::Problem;
use super::scope::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub(super) fn parse(text: &str) -> Option<Role> {
        match text.to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "operator" | "op" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
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
    tokens: Vec<(String, Scope)>,
}

impl ApiTokens {
    pub fn open() -> ApiTokens {
        ApiTokens::default()
    }

    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Reads `ROLE TOKEN` and `TEAM:ROLE TOKEN` lines (`#` comments, blank
    /// lines skipped); a mistake names its line.
    pub fn from_file(path: &Path) -> Result<ApiTokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        ApiTokens::parse(&text).map_err(|e| format!("{}{e}", path.display()))
    }

    /// The lines of a token file; errors start with `:LINE: ` (the caller puts
    /// the file's name before it).
    pub fn parse(text: &str) -> Result<ApiTokens, String> {
        let mut tokens: Vec<(String, Scope)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = n + 1;
            let usage = "write `ROLE TOKEN` (cluster-wide) or `TEAM:ROLE TOKEN` (one team), \
                         ROLE one of viewer, operator, admin";
            let Some((scope, token)) = line.split_once(char::is_whitespace) else {
                return Err(format!(":{at}: no token after {line:?}: {usage}"));
            };
            let token = token.trim();
            if token.contains(char::is_whitespace) {
                return Err(format!(
                    ":{at}: the token holds a space; {usage} (a token is one word)"
                ));
            }
            let scope = Scope::parse(scope).map_err(|e| format!(":{at}: {e}; {usage}"))?;
            if let Some(earlier) = tokens.iter().position(|(t, _)| t == token) {
                return Err(format!(
                    ":{at}: this token is already given on an earlier line (entry {}); \
                     every token must be different, or a request could not tell its scope",
                    earlier + 1
                ));
            }
            tokens.push((token.to_string(), scope));
        }
        if tokens.is_empty() {
            return Err(" holds no token".into());
        }
        Ok(ApiTokens { tokens })
    }

    /// The scope of the request's token: cluster admin when the API is open;
    /// 401 without a token or with one the servers do not know. The token comes
    /// as `Authorization: Bearer <token>`, or, for Airflow's clients, as HTTP
    /// basic authentication whose password is the token (the user name is not
    /// read).
    pub fn scope_of(&self, headers: &HeaderMap) -> Result<Scope, Problem> {
        if self.is_open() {
            return Ok(Scope::cluster(Role::Admin));
        }
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let presented = match authorization.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
                Some(rest.trim().to_string())
            }
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => {
                Some(basic_password(rest.trim())?)
            }
            // The web UI's session: the token in an HttpOnly cookie.
            _ => session_token(headers),
        };
        let Some(presented) = presented else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "this API needs a token: send `Authorization: Bearer <token>` (the CLI reads \
                 KAIROS_TOKEN), or basic authentication with the token as the password",
            ));
        };
        let presented = presented.as_str();
        // Digests of equal length, compared in full against every token: the time
        // taken tells nothing about a token's length, prefix or position.
        let digest = |t: &str| ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
        let presented = digest(presented);
        let mut found = None;
        for (token, scope) in &self.tokens {
            let known = digest(token);
            let differs = known
                .as_ref()
                .iter()
                .zip(presented.as_ref())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y));
            if differs == 0 {
                found = Some(scope);
            }
        }
        found.cloned().ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "the token is not one the servers know",
            )
        })
    }
}

/// The cookie that holds a web UI session's token (hex, so any token's bytes
/// fit a cookie value).
pub const SESSION_COOKIE: &str = "kairos_session";

/// The token of the request's UI session cookie, when it has one and no
/// `Authorization` header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    if headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| unhex(value))
}

/// `token` as the session cookie's value.
pub fn session_value(token: &str) -> String {
    token.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    if text.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The password of a basic `Authorization` header's credentials.
fn basic_password(credentials: &str) -> Result<String, Problem> {
    use base64::Engine;
    let refused = || {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "basic authentication must be base64 of `USER:TOKEN`, the password being an API token",
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .map_err(|_| refused())?;
    let text = String::from_utf8(bytes).map_err(|_| refused())?;
    let (_, password) = text.split_once(':').ok_or_else(refused)?;
    Ok(password.to_string())
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
    fn tokens_carry_their_scope_and_missing_or_wrong_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(
            &file,
            "viewer v1\noperator o1 # the on-call\nadmin a1\n\nsales:operator s1\nops:admin x1\n",
        )
        .unwrap();
        let tokens = ApiTokens::from_file(&file).unwrap();
        assert_eq!(
            tokens.scope_of(&bearer("v1")).unwrap(),
            Scope::cluster(Role::Viewer)
        );
        assert_eq!(
            tokens.scope_of(&bearer("a1")).unwrap(),
            Scope::cluster(Role::Admin)
        );
        assert_eq!(
            tokens.scope_of(&bearer("s1")).unwrap(),
            Scope::team("sales", Role::Operator)
        );
        assert_eq!(
            tokens.scope_of(&bearer("x1")).unwrap(),
            Scope::team("ops", Role::Admin)
        );
        assert_eq!(tokens.scope_of(&HeaderMap::new()).unwrap_err().status, 401);
        // Basic authentication with the token as the password (base64 of
        // `airflow:s1` and of `airflow:nope`).
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            "Basic YWlyZmxvdzpzMQ==".parse().unwrap(),
        );
        assert_eq!(
            tokens.scope_of(&basic).unwrap(),
            Scope::team("sales", Role::Operator)
        );
        basic.insert(
            header::AUTHORIZATION,
            "Basic YWlyZmxvdzpub3Bl".parse().unwrap(),
        );
        assert_eq!(tokens.scope_of(&basic).unwrap_err().status, 401);
        basic.insert(header::AUTHORIZATION, "Basic !!".parse().unwrap());
        assert_eq!(tokens.scope_of(&basic).unwrap_err().status, 401);
        assert_eq!(tokens.scope_of(&bearer("x")).unwrap_err().status, 401);
        assert_eq!(
            ApiTokens::open().scope_of(&HeaderMap::new()).unwrap(),
            Scope::cluster(Role::Admin)
        );
    }

    #[test]
    fn token_file_mistakes_name_their_line() {
        let cases = [
            ("reader r1\n", ":1:", "not a role"),
            (
                "admin a1\n# a comment\nsales:boss s1\n",
                ":3:",
                "not a role",
            ),
            ("admin a1\n\n:viewer s1\n", ":3:", "not a team name"),
            ("admin a1\nsal/es:viewer s1\n", ":2:", "not a team name"),
            ("admin\n", ":1:", "no token"),
            ("admin a1\nviewer a1\n", ":2:", "already given"),
            ("admin a1 b1\n", ":1:", "holds a space"),
        ];
        for (text, line, why) in cases {
            let error = ApiTokens::parse(text).unwrap_err();
            assert!(error.starts_with(line), "{text:?}: {error}");
            assert!(error.contains(why), "{text:?}: {error}");
        }
        assert!(
            ApiTokens::parse("# nothing\n")
                .unwrap_err()
                .contains("no token")
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "admin a1\nsales:root s1\n").unwrap();
        let error = ApiTokens::from_file(&file).unwrap_err();
        assert!(
            error.starts_with(&format!("{}:2: ", file.display())),
            "{error}"
        );
    }
}
