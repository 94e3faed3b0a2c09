//! Worker authentication: every call of `kairos.v1.Worker` carries
//! `authorization: Bearer <token>` metadata, checked against the tokens the servers
//! were configured with (`worker_token_file`). Checking every call, not only
//! Register, means a worker without a token cannot report, poll or pull XComs
//! either. With no tokens configured the service is open (as in `kairos dev`).

use std::sync::Arc;

use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Status};

/// The metadata key workers put their token in.
pub const AUTHORIZATION: &str = "authorization";

/// Wraps the worker service so that each call is checked against `tokens`.
pub fn guarded<S>(
    service: S,
    tokens: Vec<String>,
) -> InterceptedService<S, impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone> {
    let tokens: Arc<Vec<String>> = Arc::new(tokens);
    InterceptedService::new(service, move |request: Request<()>| {
        check(&tokens, &request)?;
        Ok(request)
    })
}

fn check(tokens: &[String], request: &Request<()>) -> Result<(), Status> {
    if tokens.is_empty() {
        return Ok(());
    }
    let presented = request
        .metadata()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let peer = request
        .remote_addr()
        .map_or_else(|| "an unknown address".to_string(), |a| a.to_string());
    match presented {
        None => {
            tracing::warn!(%peer, "refused a worker call without a token");
            Err(Status::unauthenticated(
                "this cluster requires a worker token: start the worker with --token-file \
                 naming a file that holds one of the servers' worker tokens",
            ))
        }
        Some(token) if tokens.iter().any(|known| same(known, token)) => Ok(()),
        Some(_) => {
            tracing::warn!(%peer, "refused a worker call with an unknown token");
            Err(Status::unauthenticated(
                "the worker token is not one the servers know: check the worker's --token-file \
                 against the servers' worker_token_file",
            ))
        }
    }
}

/// Compares without stopping at the first differing byte, so the time taken does
/// not tell an attacker how much of a token was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(token: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        }
        request
    }

    #[test]
    fn known_tokens_pass_and_others_are_refused_with_a_hint() {
        let tokens = vec!["alpha".to_string(), "beta".to_string()];
        assert!(check(&tokens, &with(Some("beta"))).is_ok());
        let missing = check(&tokens, &with(None)).unwrap_err();
        assert_eq!(missing.code(), tonic::Code::Unauthenticated);
        assert!(missing.message().contains("--token-file"));
        let wrong = check(&tokens, &with(Some("alphx"))).unwrap_err();
        assert!(wrong.message().contains("not one the servers know"));
        assert!(check(&[], &with(None)).is_ok());
    }
}
