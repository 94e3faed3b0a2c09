//! The `kairos.v1.Worker` gRPC service: each call handed to the file of its job.
//! Every node serves it; only the leader answers calls that change or promise
//! anything, after its scheduler is ready (while the leadership changes, such a
//! call is held until a leader is known: `leader_wait`).

use std::sync::Arc;

use kairos_proto::v1::worker_server::Worker;
use kairos_proto::v1::{
    FetchBundleReply, FetchBundleRequest, FetchFilesReply, FetchFilesRequest, GetConnectionReply,
    GetConnectionRequest, GetVariableReply, GetVariableRequest, HeartbeatReply, HeartbeatRequest,
    PollReply, PollRequest, PullXComReply, PullXComRequest, PushXComRequest, RegisterReply,
    RegisterRequest, ReportBatchReply, ReportBatchRequest, ReportDagCallbackRequest,
    ReportFinishedRequest, ReportReply, ReportStartedRequest, RunStateReply, RunStateRequest,
    SetVariableRequest, TriggerRunReply, TriggerRunRequest, UploadLogsReply, UploadLogsRequest,
};
use tonic::{Request, Response, Status};

use super::assignment::Assignments;
use super::caller::proven_worker;
use super::{
    batch, dag_callbacks, dispatch, leader_wait, leases, reads, register, reports, task_code,
    trigger, upload,
};
use crate::leader::Leader;
use crate::secrets::VariableKey;

pub struct WorkerService {
    leader: Arc<Leader>,
    /// Opens Variables stored sealed, for `var.value` in templates.
    variables_key: Option<VariableKey>,
    assignments: Assignments,
}

impl WorkerService {
    pub fn new(leader: Arc<Leader>, variables_key: Option<VariableKey>) -> WorkerService {
        WorkerService {
            leader,
            variables_key,
            assignments: Assignments::default(),
        }
    }
}

#[tonic::async_trait]
impl Worker for WorkerService {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        register::register(
            &self.leader,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .map(Response::new)
    }

    async fn poll(&self, request: Request<PollRequest>) -> Result<Response<PollReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        dispatch::poll(
            &self.leader,
            &self.assignments,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        leases::heartbeat(
            &self.leader,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn report_started(
        &self,
        request: Request<ReportStartedRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        leases::report_started(
            &self.leader,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn upload_logs(
        &self,
        request: Request<UploadLogsRequest>,
    ) -> Result<Response<UploadLogsReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        upload::upload_logs(
            &self.leader,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn report_finished(
        &self,
        request: Request<ReportFinishedRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        reports::report_finished(
            &self.leader,
            &self.assignments,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn report_batch(
        &self,
        request: Request<ReportBatchRequest>,
    ) -> Result<Response<ReportBatchReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        batch::report_batch(
            &self.leader,
            &self.assignments,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn push_x_com(
        &self,
        request: Request<PushXComRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        reports::push_xcom(
            &self.leader,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn pull_x_com(
        &self,
        request: Request<PullXComRequest>,
    ) -> Result<Response<PullXComReply>, Status> {
        reads::pull_xcom(
            &self.leader.node,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .map(Response::new)
    }

    async fn get_variable(
        &self,
        request: Request<GetVariableRequest>,
    ) -> Result<Response<GetVariableReply>, Status> {
        reads::get_variable(
            &self.leader.node,
            &proven_worker(&request)?,
            self.variables_key.as_ref(),
            request.into_inner(),
        )
        .map(Response::new)
    }

    async fn set_variable(
        &self,
        request: Request<SetVariableRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        task_code::set_variable(
            &self.leader,
            &proven_worker(&request)?,
            self.variables_key.as_ref(),
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn get_connection(
        &self,
        request: Request<GetConnectionRequest>,
    ) -> Result<Response<GetConnectionReply>, Status> {
        task_code::get_connection(
            &self.leader.node,
            &proven_worker(&request)?,
            self.variables_key.as_ref(),
            request.into_inner(),
        )
        .map(Response::new)
    }

    async fn trigger_run(
        &self,
        request: Request<TriggerRunRequest>,
    ) -> Result<Response<TriggerRunReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        trigger::trigger_run(
            &self.leader,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn run_state(
        &self,
        request: Request<RunStateRequest>,
    ) -> Result<Response<RunStateReply>, Status> {
        reads::run_state(
            &self.leader.node,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .map(Response::new)
    }

    async fn fetch_bundle(
        &self,
        request: Request<FetchBundleRequest>,
    ) -> Result<Response<FetchBundleReply>, Status> {
        reads::fetch_bundle(
            &self.leader.node,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .map(Response::new)
    }

    async fn report_dag_callback(
        &self,
        request: Request<ReportDagCallbackRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        leader_wait::wait_for_leader(&self.leader, &request).await;
        dag_callbacks::report(
            &self.leader,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn fetch_files(
        &self,
        request: Request<FetchFilesRequest>,
    ) -> Result<Response<FetchFilesReply>, Status> {
        reads::fetch_files(
            &self.leader.node,
            &proven_worker(&request)?,
            request.into_inner(),
        )
        .map(Response::new)
    }
}
