//! A worker (or anyone who reaches the worker port of a plain-text cluster) attacks
//! another worker's attempt: it guesses a token, uses one it did not get, replays a
//! finished attempt's report, keeps another's lease alive, and reads a Variable for
//! an attempt it does not hold. With mutual TLS the worker id is also the
//! certificate's (see `tls.rs`); these hold even without.

use kairos_proto::v1::{
    AttemptRef, GetVariableRequest, HeartbeatRequest, PullXComRequest, ReportFinishedRequest,
};
use kairos_state::Query;

use crate::support::*;

fn finished(
    worker: &str,
    task: &kairos_proto::v1::Assignment,
    attempt: &str,
    state: &str,
) -> ReportFinishedRequest {
    ReportFinishedRequest {
        worker_id: worker.into(),
        ti: task.ti.clone(),
        attempt: attempt.into(),
        state: state.into(),
        reason: "forged".into(),
        ..Default::default()
    }
}

/// A refusal, whether as a gRPC error or an `accepted: false` answer, with its text.
fn refused(
    answer: Result<tonic::Response<kairos_proto::v1::ReportReply>, tonic::Status>,
) -> String {
    match answer {
        Err(status) => status.message().to_string(),
        Ok(reply) => {
            let reply = reply.into_inner();
            assert!(!reply.accepted, "accepted: {reply:?}");
            reply.message
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cannot_forge_steal_replay_or_read_for_anothers_attempt() {
    let cluster = cluster().await;
    one_task_run(&cluster, "target", "r1").await;
    let mut honest = worker_client(&cluster).await;
    register(&mut honest, "w-honest").await;
    let task = poll_one(&mut honest, "w-honest").await;
    let token = task.attempt.clone();
    // 128 random bits, not a position in the log.
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "a predictable token: {token}"
    );

    let mut thief = worker_client(&cluster).await;
    register(&mut thief, "w-thief").await;
    // A guessed token: refused, and the refusal names neither token.
    let guess = "0123456789abcdef0123456789abcdef";
    let message = refused(
        thief
            .report_finished(finished("w-thief", &task, guess, "success"))
            .await,
    );
    assert!(
        !message.contains(&token) && !message.contains(guess),
        "a refusal echoes a token: {message}"
    );
    // The real token, under another worker's id: refused.
    let message = refused(
        thief
            .report_finished(finished("w-thief", &task, &token, "failed"))
            .await,
    );
    assert!(!message.contains(&token), "{message}");
    // Keeping the honest worker's lease alive, or taking it over: told to stop it.
    let cancel = thief
        .heartbeat(HeartbeatRequest {
            worker_id: "w-thief".into(),
            attempts: vec![token.clone()],
        })
        .await
        .expect("heartbeat")
        .into_inner()
        .cancel;
    assert_eq!(cancel, vec![token.clone()]);
    // Reads for an attempt it does not hold, or for none: refused.
    let by = |worker: &str, attempt: &str| AttemptRef {
        ti: task.ti.clone(),
        attempt: attempt.into(),
        worker_id: worker.into(),
    };
    let read = thief
        .get_variable(GetVariableRequest {
            key: "anything".into(),
            by: Some(by("w-thief", &token)),
        })
        .await
        .expect_err("a Variable for another's attempt");
    assert_eq!(read.code(), tonic::Code::PermissionDenied, "{read:?}");
    let read = thief
        .pull_x_com(PullXComRequest {
            ti: task.ti.clone(),
            key: "return_value".into(),
            by: None,
        })
        .await
        .expect_err("an XCom for no attempt");
    assert_eq!(read.code(), tonic::Code::InvalidArgument, "{read:?}");

    // The honest worker finishes; a replay of the attempt with another outcome is
    // refused, and the instance stays a success.
    let done = honest
        .report_finished(ReportFinishedRequest {
            reason: String::new(),
            ..finished("w-honest", &task, &token, "success")
        })
        .await
        .expect("the honest report")
        .into_inner();
    assert!(done.accepted, "{done:?}");
    // (A report of an attempt already recorded is answered with what was recorded,
    // as a retried report is: it changes nothing.)
    let replay = honest
        .report_finished(finished("w-honest", &task, &token, "failed"))
        .await;
    if let Ok(reply) = &replay {
        let reply = reply.get_ref();
        assert!(
            !reply.accepted || reply.outcome == "success",
            "a replay changed the outcome: {reply:?}"
        );
    }
    let tis = cluster
        .client()
        .query(
            &Query::TaskInstances {
                dag_id: "target".into(),
                run_id: "r1".into(),
                after: None,
                limit: None,
            },
            true,
        )
        .await
        .expect("task instances");
    assert_eq!(tis[0]["state"], "success", "{tis}");
    still_serving(&cluster, "attempt attacks").await;
}
