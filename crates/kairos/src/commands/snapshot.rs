//! `kairos snapshot save FILE`: a backup of the state, as one node holds it,
//! over the REST API; `kairos snapshot restore FILE --data-dir DIR`: a new
//! node's data dir from a backup, starting as a cluster of one (etcd's
//! `snapshot save` / `snapshot restore`). See deploy/README.md, "Backups".

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::connect::{Remote, fail, runtime, with_api};

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub command: SnapshotCommand,
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Write the answering node's whole state to FILE (cluster-wide admin): one
    /// consistent view, with a checksum. Any node will do; a follower's may be
    /// a moment behind the leader's.
    Save {
        file: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
    /// Make a new data dir from a snapshot FILE: the node starts as a cluster
    /// of one holding that state (its log continues after it, the cluster id is
    /// the backup's); add the other nodes to it empty. Run before `kairos server`.
    Restore {
        file: PathBuf,
        /// The new node's data dir (absent or empty).
        #[arg(long)]
        data_dir: PathBuf,
        /// The new node's id.
        #[arg(long)]
        node_id: u64,
        /// The gRPC address the node will be reached at (its --advertise-grpc-addr,
        /// else its --grpc-addr).
        #[arg(long)]
        grpc_addr: String,
        /// The HTTP address the node will be reached at.
        #[arg(long, default_value = "")]
        http_addr: String,
    },
}

pub fn run(args: &SnapshotArgs) -> ExitCode {
    match &args.command {
        SnapshotCommand::Save { file, remote } => with_api(remote, |api| async move {
            let mut out = create_new(file)?;
            let saved = save(&api, &mut out, file).await;
            if saved.is_err() {
                let _ = std::fs::remove_file(file);
            }
            println!("saved {} bytes of state to {}", saved?, file.display());
            Ok(())
        }),
        SnapshotCommand::Restore {
            file,
            data_dir,
            node_id,
            grpc_addr,
            http_addr,
        } => restore(file, data_dir, *node_id, grpc_addr, http_addr),
    }
}

/// A new file, never one that exists.
fn create_new(file: &PathBuf) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .map_err(|e| format!("cannot create {}: {e}", file.display()))
}

/// Streams the snapshot into `out`, syncs it, and reads it back whole to check
/// it (a download cut short or damaged is refused, never kept as a backup).
async fn save(
    api: &kairos_client::Client,
    out: &mut std::fs::File,
    file: &PathBuf,
) -> Result<u64, String> {
    use std::io::Write;
    let mut buffered = std::io::BufWriter::new(&mut *out);
    let bytes = api
        .snapshot_to(&mut buffered)
        .await
        .map_err(|e| e.to_string())?;
    buffered
        .flush()
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    drop(buffered);
    out.sync_all()
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let written =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    kairos_state::snapshot::check_snapshot(written, bytes, |_| {})
        .map_err(|e| format!("the snapshot received is not whole ({e}); nothing was saved"))?;
    Ok(bytes)
}

fn restore(file: &PathBuf, data_dir: &PathBuf, id: u64, grpc: &str, http: &str) -> ExitCode {
    if id == 0 {
        return fail("node ids start at 1");
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    let me = kairos_server::KairosNode {
        grpc_addr: grpc.to_string(),
        http_addr: http.to_string(),
    };
    match rt.block_on(kairos_server::restore::restore(data_dir, id, me, file)) {
        Ok(done) => {
            println!(
                "restored node {id} into {} at log index {} (term {}){}: start it with \
                 `kairos server --node-id {id} --data-dir {}` (no --peers needed), then add \
                 the other nodes empty with `kairos cluster add-node`",
                data_dir.display(),
                done.last_log_id.index,
                done.last_log_id.leader_id.term,
                done.cluster_id
                    .map(|c| format!(" of cluster {c}"))
                    .unwrap_or_default(),
                data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{}: {e}", file.display())),
    }
}
