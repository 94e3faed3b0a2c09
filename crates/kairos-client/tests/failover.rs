//! The client against canned HTTP answers on 127.0.0.1: nodes tried in turn,
//! pages followed, problems turned into errors. (The CLI's tests and the chaos
//! suite run it against real servers.)

use std::sync::{Arc, Mutex};

use kairos_client::{Client, Error, Failover, Read};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A node that answers every request with `answer(request line)`: a status and a
/// JSON body. Returns its address and the request lines it saw.
async fn node(
    answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request).to_string();
            let line = text.lines().next().unwrap_or("").to_string();
            log.lock().expect("log").push(line.clone());
            let (status, body) = answer(&line);
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (addr, seen)
}

/// An address nothing listens on.
fn nowhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

fn dag(id: &str) -> String {
    format!(
        r#"{{"dag_id":"{id}","bundle":"default","team":null,"tags":[],"is_paused":false,"latest_version":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}"#
    )
}

#[tokio::test]
async fn an_unreachable_node_is_skipped_and_pages_are_followed() {
    let (addr, seen) = node(|line| {
        if line.contains("after=a") {
            (200, format!(r#"{{"dags":[{}],"next":null}}"#, dag("b")))
        } else {
            (200, format!(r#"{{"dags":[{}],"next":"a"}}"#, dag("a")))
        }
    })
    .await;
    let client = Client::new(&format!("{},{addr}", nowhere())).expect("client");
    let dags = client.dags().await.expect("dags");
    let ids: Vec<&str> = dags.iter().map(|d| d.dag_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(
        seen,
        [
            "GET /api/v1/dags?limit=1000 HTTP/1.1",
            "GET /api/v1/dags?limit=1000&after=a HTTP/1.1"
        ]
    );
}

#[tokio::test]
async fn a_problem_is_an_error_with_its_status_and_detail() {
    let (addr, _) = node(|_| {
        (
            404,
            r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"no DAG `x`"}"#
                .to_string(),
        )
    })
    .await;
    let client = Client::new(&addr).expect("client");
    let err = client.dag("x", Read::Consistent).await.expect_err("404");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.to_string(), "no DAG `x` (404)");
}

#[tokio::test]
async fn a_503_is_final_unless_failover_says_otherwise() {
    let (busy, _) = node(|_| (503, r#"{"detail":"no leader yet"}"#.to_string())).await;
    let (ok, _) = node(|_| (200, dag("d"))).await;
    let servers = format!("{busy},{ok}");
    let plain = Client::new(&servers).expect("client");
    let err = plain.dag("d", Read::Local).await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    let patient = Client::builder(&servers)
        .failover(Failover {
            on_unavailable: true,
            ..Failover::default()
        })
        .build()
        .expect("client");
    assert_eq!(
        patient.dag("d", Read::Local).await.expect("dag").dag_id,
        "d"
    );
}

#[tokio::test]
async fn no_node_answering_says_so() {
    let client = Client::new(&format!("{},{}", nowhere(), nowhere())).expect("client");
    let err = client.dags().await.expect_err("nobody");
    assert!(matches!(err, Error::Unreachable(_)), "{err:?}");
    assert!(err.to_string().starts_with("no server answered: "), "{err}");
    assert!(matches!(Client::new(" , "), Err(Error::NoServers)));
}
