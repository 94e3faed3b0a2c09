//! Every hard size limit of Kairos in one place, so that the worker, the server,
//! the proposer and the docs (docs/limits.md) agree on them.
//!
//! Each input that ends up in the replicated log, or that a node must hold in
//! memory to read, has a bound here; the code that enforces it refuses with an
//! error that names the limit, the size found and what to do instead. Limits that
//! users tune (`xcom_max_bytes`, `max_active_runs`, ...) are settings, not here;
//! these are the ceilings that keep one input from crashing or stalling a cluster.

/// The largest gRPC message any Kairos server or client sends or accepts (Raft's
/// AppendEntries and snapshot chunks, forwarded proposals, worker calls).
pub const MAX_GRPC_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The most HTTP/2 streams (concurrent calls) one gRPC connection may have open.
pub const MAX_GRPC_CONCURRENT_STREAMS: u32 = 256;

/// The largest proposal, in bytes of its commands' JSON, that is proposed to Raft.
/// One entry, alone in an AppendEntries, must fit well within
/// [`MAX_GRPC_MESSAGE_BYTES`] (a follower refuses anything larger, and the leader
/// would send it again for ever); group commit never joins proposals past
/// [`MAX_BATCH_BYTES`], so only a single proposal can be this large.
pub const MAX_PROPOSAL_BYTES: usize = 8 * 1024 * 1024;

/// The most bytes of commands' JSON group commit puts in one entry, unless one
/// proposal alone is larger (up to [`MAX_PROPOSAL_BYTES`]).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// The longest log tail a worker reports: the worker keeps the end of the log and
/// marks the cut; the server refuses a longer one (the state keeps the last 4 KiB).
pub const MAX_REPORT_LOG_TAIL_BYTES: usize = 16 * 1024;

/// The longest failure (or skip) reason a worker reports; the worker cuts it with
/// a marker, the server refuses a longer one.
pub const MAX_REPORT_REASON_BYTES: usize = 8 * 1024;

/// The most bytes of JSON one XCom value may have on the wire, whatever the
/// replicated `xcom_max_bytes` says (which is 64 KiB by default and is checked in
/// apply); the worker fails the attempt with a clear log line, the server refuses.
pub const MAX_XCOM_VALUE_BYTES: usize = 1024 * 1024;

/// The most bytes of an HttpOperator's response the worker reads: the response is
/// its XCom, so a larger one fails the attempt rather than filling the worker's
/// memory and then being refused.
pub const MAX_HTTP_RESPONSE_BYTES: usize = MAX_XCOM_VALUE_BYTES - 1024;

/// The most bytes of JSON all XComs of one report may have together.
pub const MAX_REPORT_XCOMS_BYTES: usize = 4 * 1024 * 1024;

/// The most XComs one report may carry.
pub const MAX_REPORT_XCOMS: usize = 1024;

/// The most asset events (`outlet_events`) one report may carry.
pub const MAX_REPORT_OUTLET_EVENTS: usize = 256;

/// The most bytes one such event may have (URI, alias and `extra`'s JSON).
pub const MAX_OUTLET_EVENT_BYTES: usize = 64 * 1024;

/// The most bytes YAML aliases may expand to in one file (scalars, keys and
/// 32 bytes per node), so that a file of aliases to one large anchored scalar is
/// refused before it is built; the node count is bounded too.
pub const MAX_YAML_ALIAS_BYTES: usize = 16 * 1024 * 1024;

/// The most nodes YAML aliases may expand to in one file ("billion laughs").
pub const MAX_YAML_ALIAS_NODES: usize = 200_000;

/// The most runs one backfill may create; a longer range is refused (in apply,
/// which counts the range's runs and stops there) and must be split.
pub const MAX_BACKFILL_RUNS: usize = 10_000;

/// The most tasks one DAG may have (Airflow has no limit; DAGs of a few thousand
/// tasks exist, and every run reads them all).
pub const MAX_TASKS_PER_DAG: usize = 10_000;

/// The most files one bundle version may hold (each at most the loader's
/// `MAX_FILE_BYTES`); the version's record lists them all, so it stays well
/// within one proposal.
pub const MAX_BUNDLE_FILES: usize = 10_000;

/// The most bytes of file contents one `PutFiles` command carries: a bundle push
/// sends its new files in as many commands as this takes.
pub const MAX_FILES_PER_PROPOSAL_BYTES: usize = 4 * 1024 * 1024;
