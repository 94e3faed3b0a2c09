//! Who a request acts as: a role, cluster-wide or within one team. The scope is
//! worked out once per request (by [`resolve`], from the API token and the client
//! certificate) and handed to every handler, which checks the role it needs and
//! hides what lies outside the team: another team's DAGs, runs, task instances,
//! logs, XComs, versions, Variables and pools answer 404, as if absent.
//!
//! See docs/teams.md for the model.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use kairos_state::records::DagRecord;

use super::Api;
use super::auth::Role;
use super::problem::Problem;

/// A caller's scope: `team: None` is cluster-wide (a cluster admin is
/// `Scope { team: None, role: Admin }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub team: Option<String>,
    pub role: Role,
}

impl Scope {
    /// Cluster-wide `role`.
    pub fn cluster(role: Role) -> Scope {
        Scope { team: None, role }
    }

    /// `role` within `team`.
    pub fn team(team: &str, role: Role) -> Scope {
        Scope {
            team: Some(team.to_string()),
            role,
        }
    }

    /// Parses `ROLE` (cluster-wide) or `TEAM:ROLE`, as token lines and scoped
    /// client certificates write it.
    pub fn parse(text: &str) -> Result<Scope, String> {
        let (team, role) = match text.split_once(':') {
            Some((team, role)) => (Some(team), role),
            None => (None, text),
        };
        let role = Role::parse(role)
            .ok_or_else(|| format!("{role:?} is not a role: use viewer, operator or admin"))?;
        match team {
            None => Ok(Scope::cluster(role)),
            Some(team) if kairos_dag::load::is_valid_id(team) => Ok(Scope::team(team, role)),
            Some(team) => Err(format!(
                "{team:?} is not a team name: use letters, digits, `_`, `-` and `.`"
            )),
        }
    }

    /// How the scope is written back (`admin`, `sales:operator`).
    pub fn describe(&self) -> String {
        match &self.team {
            None => format!("cluster-wide {}", self.role.name()),
            Some(team) => format!("{} of team `{team}`", self.role.name()),
        }
    }

    /// 403 unless the scope holds at least `needed`.
    pub fn require(&self, needed: Role) -> Result<(), Problem> {
        if self.role < needed {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this needs the {} role; the caller is {}",
                    needed.name(),
                    self.describe()
                ),
            ));
        }
        Ok(())
    }

    /// 403 unless the scope is cluster-wide with at least `needed`: cluster
    /// membership, cluster-wide pools and Variables.
    pub fn require_cluster(&self, needed: Role) -> Result<(), Problem> {
        if let Some(team) = &self.team {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this is a cluster-wide operation and needs a cluster-wide {} token; the \
                     caller is scoped to team `{team}`",
                    needed.name()
                ),
            ));
        }
        self.require(needed)
    }

    /// Whether an object of `team` is within the scope. Cluster-wide scopes see
    /// everything; a team's scope sees its own team's objects only (not those of
    /// no team).
    pub fn sees(&self, team: Option<&str>) -> bool {
        match &self.team {
            None => true,
            Some(mine) => team == Some(mine.as_str()),
        }
    }

    /// The scope both credentials allow: a scoped client certificate caps the
    /// token (or stands alone when the API has no tokens). Two teams that differ
    /// are refused.
    pub fn narrow(self, cap: Option<Scope>) -> Result<Scope, Problem> {
        let Some(cap) = cap else { return Ok(self) };
        let team = match (self.team, cap.team) {
            (None, team) | (team, None) => team,
            (Some(a), Some(b)) if a == b => Some(a),
            (Some(a), Some(b)) => {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "the token is of team `{a}` but the client certificate of team `{b}`; \
                         use a token of team `{b}` with this certificate"
                    ),
                ));
            }
        };
        Ok(Scope {
            team,
            role: self.role.min(cap.role),
        })
    }
}

/// The scope a client certificate's name carries: `TEAM:ROLE:NAME` (as
/// `kairos certs client --team T --role R --name N` issues it) is scoped to the
/// team; any other name is not scoped (as before teams). The name is signed by
/// the cluster's CA, so the scope is as trustworthy as the certificate.
pub fn of_certificate(name: &str) -> Result<Option<Scope>, Problem> {
    let mut parts = name.splitn(3, ':');
    let (Some(team), Some(role), Some(_holder)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    Scope::parse(&format!("{team}:{role}")).map(Some).map_err(|e| {
        Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "the client certificate `{name}` reads as TEAM:ROLE:NAME but {e}; issue it again \
                 with `kairos certs client --team TEAM --role ROLE --name NAME`"
            ),
        )
    })
}

/// The scope [`resolve`] put on the request.
impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Scope>().cloned().ok_or_else(|| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this route has no caller scope (a route added outside the API router)",
            )
        })
    }
}

/// The header the web UI's script sends with every change (CSRF guard).
pub const UI_HEADER: &str = "x-kairos-ui";

/// Middleware: works out the caller's scope from the token and the client
/// certificate, before the body is read (401 without valid credentials), and
/// puts it on the request for the handler. `/health` stays open, for probes.
pub async fn resolve(
    axum::extract::State(tokens): axum::extract::State<std::sync::Arc<super::auth::ApiTokens>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let certificate = request
        .extensions()
        .get::<kairos_tls::Identity>()
        .map(|id| id.name.clone());
    let scope = (|| -> Result<Scope, Problem> {
        // The nested API router sees paths without `/api/v1`.
        if request.uri().path() == "/health" {
            return Ok(Scope::cluster(Role::Viewer));
        }
        // A browser sends its session cookie with any request, also one another
        // site's page makes: a change made with the cookie needs the header
        // only the UI's own script sends (another origin cannot add it without
        // a CORS preflight, which these servers never grant).
        let headers = request.headers();
        if super::auth::session_token(headers).is_some()
            && !request.method().is_safe()
            && !headers.contains_key(UI_HEADER)
        {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "a change made with the web UI's session cookie needs the `{UI_HEADER}` \
                     header the UI sends (a guard against other sites' pages); scripts send \
                     `Authorization: Bearer <token>` instead"
                ),
            ));
        }
        let cap = match &certificate {
            Some(name) => of_certificate(name)?,
            None => None,
        };
        tokens.scope_of(request.headers())?.narrow(cap)
    })();
    match scope {
        Ok(scope) => {
            request.extensions_mut().insert(scope);
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

impl Api {
    /// Whether DAG `dag_id` is within `scope`: cluster-wide scopes pass without a
    /// read; a team's scope reads the DAG and answers 404 for one of another
    /// team (or of none), worded as for a DAG that does not exist.
    pub(super) async fn check_dag(
        &self,
        scope: &Scope,
        dag_id: &str,
        consistent: bool,
    ) -> Result<(), Problem> {
        super::dags::refuse_wildcard(dag_id)?;
        if scope.team.is_none() {
            return Ok(());
        }
        let id = dag_id.to_string();
        let dag: Option<DagRecord> = self.read(consistent, move |s| s.dag(&id)).await?;
        match dag {
            Some(dag) if scope.sees(dag.team.as_deref()) => Ok(()),
            _ => Err(super::dags::no_dag(dag_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_see_and_narrow() {
        let sales_op = Scope::parse("sales:operator").unwrap();
        assert_eq!(sales_op, Scope::team("sales", Role::Operator));
        assert_eq!(Scope::parse("admin").unwrap(), Scope::cluster(Role::Admin));
        assert!(
            Scope::parse("sales:root")
                .unwrap_err()
                .contains("not a role")
        );
        assert!(
            Scope::parse("a b:viewer")
                .unwrap_err()
                .contains("not a team")
        );
        assert!(sales_op.sees(Some("sales")));
        assert!(!sales_op.sees(Some("ops")));
        assert!(
            !sales_op.sees(None),
            "objects of no team are cluster-wide only"
        );
        assert!(Scope::cluster(Role::Viewer).sees(Some("ops")));
        assert_eq!(sales_op.require(Role::Admin).unwrap_err().status, 403);
        assert_eq!(
            Scope::team("sales", Role::Admin)
                .require_cluster(Role::Viewer)
                .unwrap_err()
                .status,
            403
        );
        // A certificate caps a token: the team of either, the lower role.
        let capped = Scope::cluster(Role::Admin)
            .narrow(Some(sales_op.clone()))
            .unwrap();
        assert_eq!(capped, sales_op);
        let capped = Scope::team("sales", Role::Viewer)
            .narrow(Some(Scope::cluster(Role::Admin)))
            .unwrap();
        assert_eq!(capped, Scope::team("sales", Role::Viewer));
        assert_eq!(
            Scope::team("ops", Role::Admin)
                .narrow(Some(sales_op))
                .unwrap_err()
                .status,
            403
        );
    }

    #[test]
    fn certificate_names_carry_a_scope_only_in_the_team_form() {
        assert_eq!(of_certificate("alice").unwrap(), None);
        assert_eq!(of_certificate("ci:deploy").unwrap(), None);
        assert_eq!(
            of_certificate("sales:viewer:alice").unwrap(),
            Some(Scope::team("sales", Role::Viewer))
        );
        assert_eq!(
            of_certificate("sales:viewer:a:b").unwrap(),
            Some(Scope::team("sales", Role::Viewer))
        );
        assert_eq!(of_certificate("sales:boss:alice").unwrap_err().status, 403);
    }
}
