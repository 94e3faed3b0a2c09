//! The attempt's task API: a Unix socket in the attempt's staging folder that
//! its Python code asks while it runs (`Variable.get` / `Variable.set`,
//! `BaseHook.get_connection`, `ti.xcom_pull` of any task of the run), answered
//! by asking the cluster under the attempt's own credentials (its reference and
//! token: a finished or superseded attempt is refused by the servers). One JSON
//! request per connection, one JSON answer; the socket is removed when the
//! process ends. Values read are added to the attempt's secrets first, so
//! they are masked in its log before the task can print them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kairos_proto::v1::{
    AttemptRef, GetConnectionRequest, GetVariableRequest, PullXComRequest, SetVariableRequest,
    TaskInstanceId,
};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::Ctx;
use crate::conn::Conn;
use crate::mask::Secrets;

/// How long one question may wait for the cluster.
const PATIENCE: Duration = Duration::from_secs(20);

/// The largest request read (a Variable's value is the largest part).
const MAX_REQUEST: u64 = 4 * 1024 * 1024;

/// The longest socket path bound in place (`sun_path` holds 108 bytes); a
/// longer one is bound in a private folder of the system's temporary folder.
const MAX_SOCKET_PATH: usize = 100;

/// The socket being served; dropping it stops serving and removes it.
pub struct TaskApi {
    path: PathBuf,
    /// The private folder made for a socket whose path would be too long.
    own_dir: Option<PathBuf>,
    serving: tokio::task::JoinHandle<()>,
}

impl TaskApi {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TaskApi {
    fn drop(&mut self) {
        self.serving.abort();
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.own_dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// What every answer needs to know of the attempt.
#[derive(Clone)]
struct Asker {
    conn: Arc<Conn>,
    by: AttemptRef,
    run_id: String,
    secrets: Arc<Secrets>,
}

/// Starts serving the attempt's socket (`task-api.sock` in its staging folder).
pub fn serve(ctx: &Ctx<'_>) -> Result<TaskApi, String> {
    let in_place = ctx.stage.join("task-api.sock");
    let (path, own_dir) = if in_place.as_os_str().len() <= MAX_SOCKET_PATH {
        (in_place, None)
    } else {
        // mkdtemp: a fresh folder of a random name, 0700.
        let dir = nix::unistd::mkdtemp(&std::env::temp_dir().join("kairos-task-api-XXXXXX"))
            .map_err(|e| format!("cannot make a folder for the task API: {e}"))?;
        if let Some(user) = &ctx.run_as {
            std::os::unix::fs::chown(&dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(|e| format!("cannot give {} to the task's user: {e}", dir.display()))?;
        }
        (dir.join("s"), Some(dir))
    };
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot clear {}: {e}", path.display())),
    }
    let listener = UnixListener::bind(&path)
        .map_err(|e| format!("cannot open the task API at {}: {e}", path.display()))?;
    // Only the task's user may ask: the socket is its own, 0600.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    if let Some(user) = &ctx.run_as {
        std::os::unix::fs::chown(&path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
            .map_err(|e| format!("cannot give {} to the task's user: {e}", path.display()))?;
    }
    let asker = Asker {
        conn: ctx.conn.clone(),
        by: ctx.by(),
        run_id: ctx.attempt.ti.run_id.clone(),
        secrets: ctx.secrets.clone(),
    };
    let serving = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let asker = asker.clone();
            tokio::spawn(async move { answer(stream, &asker).await });
        }
    });
    Ok(TaskApi {
        path,
        own_dir,
        serving,
    })
}

async fn answer(mut stream: UnixStream, asker: &Asker) {
    let mut text = String::new();
    let read = (&mut stream)
        .take(MAX_REQUEST)
        .read_to_string(&mut text)
        .await;
    let reply = match read {
        Err(e) => json!({"error": format!("cannot read the request: {e}")}),
        Ok(_) => match serde_json::from_str::<Json>(&text) {
            Ok(request) => asker
                .ask(&request)
                .await
                .unwrap_or_else(|e| json!({"error": e})),
            Err(e) => json!({"error": format!("the request is not JSON: {e}")}),
        },
    };
    let _ = stream.write_all(reply.to_string().as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Sends `$request` with the worker service's `$method` to whichever node
/// answers; the reply, or the error after `$what`.
macro_rules! ask {
    ($conn:expr, $method:ident, $request:expr, $what:expr) => {{
        let request = $request;
        $conn
            .call(PATIENCE, |mut c| {
                let request = request.clone();
                async move { c.$method(request).await }
            })
            .await
            .map_err(|e| format!("{}: {e}", $what))
    }};
}

fn text<'j>(request: &'j Json, key: &str) -> Result<&'j str, String> {
    request[key]
        .as_str()
        .ok_or_else(|| format!("the request has no `{key}`"))
}

impl Asker {
    async fn ask(&self, request: &Json) -> Result<Json, String> {
        let by = Some(self.by.clone());
        match text(request, "op")? {
            "variable.get" => {
                let key = text(request, "key")?.to_string();
                let request = GetVariableRequest {
                    key: key.clone(),
                    by,
                };
                let reply = ask!(
                    self.conn,
                    get_variable,
                    request,
                    format!("Variable.get({key:?})")
                )?;
                if reply.found {
                    self.secrets.add_variable(&key, &reply.value);
                }
                Ok(json!({"found": reply.found, "value": reply.value}))
            }
            "variable.set" => {
                let key = text(request, "key")?.to_string();
                let request = SetVariableRequest {
                    key: key.clone(),
                    value: text(request, "value")?.to_string(),
                    description: request["description"].as_str().unwrap_or("").to_string(),
                    by,
                };
                let reply = ask!(
                    self.conn,
                    set_variable,
                    request,
                    format!("Variable.set({key:?})")
                )?;
                if !reply.accepted {
                    return Err(format!("Variable.set({key:?}) refused: {}", reply.message));
                }
                Ok(json!({"done": true}))
            }
            "connection.get" => {
                let conn_id = text(request, "conn_id")?.to_string();
                let request = GetConnectionRequest {
                    conn_id: conn_id.clone(),
                    by,
                };
                let reply = ask!(
                    self.conn,
                    get_connection,
                    request,
                    format!("get_connection({conn_id:?})")
                )?;
                if !reply.found {
                    return Ok(json!({"found": false}));
                }
                let connection: Json = serde_json::from_str(&reply.connection_json)
                    .map_err(|e| format!("connection `{conn_id}` is not JSON: {e}"))?;
                if let Some(password) = connection["password"].as_str() {
                    self.secrets.add(password, true);
                }
                // `extra` is JSON text: the values under secret-looking keys.
                if let Some(extra) = connection["extra"].as_str() {
                    if let Ok(extra) = serde_json::from_str::<Json>(extra) {
                        self.secrets.add_named_in(&extra);
                    }
                }
                Ok(json!({"found": true, "connection": connection}))
            }
            "xcom.pull" => {
                let task_id = text(request, "task_id")?.to_string();
                let key = request["key"]
                    .as_str()
                    .unwrap_or("return_value")
                    .to_string();
                let request = PullXComRequest {
                    ti: Some(TaskInstanceId {
                        dag_id: text(request, "dag_id")?.to_string(),
                        run_id: self.run_id.clone(),
                        task_id: task_id.clone(),
                        map_index: request["map_index"].as_i64().unwrap_or(-1) as i32,
                    }),
                    key: key.clone(),
                    by,
                };
                let reply = ask!(
                    self.conn,
                    pull_x_com,
                    request,
                    format!("xcom_pull(task_ids={task_id:?}, key={key:?})")
                )?;
                if !reply.found {
                    return Ok(json!({"found": false}));
                }
                let value: Json = serde_json::from_str(&reply.value_json)
                    .map_err(|e| format!("XCom `{key}` of `{task_id}` is not JSON: {e}"))?;
                Ok(json!({"found": true, "value": value}))
            }
            other => Err(format!("the task API has no `{other}`")),
        }
    }
}
