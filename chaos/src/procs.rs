//! The processes under test: `kairos server`s reaching each other through the link
//! proxies, and `kairos worker`s keeping attempt logs. Each is started, killed
//! (`SIGKILL`), paused (`SIGSTOP`/`SIGCONT`) and restarted from its own data dir.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::proxy::{self, Link, Links};

/// Raft timings for the suite: a 2-core machine carries every process at once.
pub const HEARTBEAT_MS: u64 = 100;
pub const ELECTION_MS: (u64, u64) = (600, 1200);
/// Workers' leases: a silent worker's attempts are retried after this. Long enough
/// that a failover (about 2.5 s with these timings) does not make workers fence
/// themselves (after 8 - 1 - 0.8 - 0.25 = 5.95 s without a confirmed leader).
pub const LEASE_MS: u64 = 8000;

pub struct Proc {
    pub child: Option<Child>,
    pub paused: bool,
    pub log: PathBuf,
}

impl Proc {
    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }

    pub fn signal(&mut self, signal: Signal) {
        if let Some(child) = &self.child {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
        match signal {
            Signal::SIGSTOP => self.paused = true,
            Signal::SIGCONT => self.paused = false,
            _ => {}
        }
    }

    /// Reaps a process that exited on its own (a server whose Raft stopped).
    pub fn reap(&mut self) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            _ => None,
        }
    }
}

pub struct Server {
    pub id: u64,
    pub grpc: String,
    pub http: String,
    pub data_dir: PathBuf,
    pub proc: Proc,
}

pub struct Worker {
    pub id: String,
    pub data_dir: PathBuf,
    pub attempt_log: PathBuf,
    pub proc: Proc,
}

pub struct Procs {
    pub binary: PathBuf,
    pub dir: PathBuf,
    pub servers: Vec<Server>,
    pub workers: Vec<Worker>,
    pub links: Links,
    /// Why the servers' data dirs are not small tmpfs mounts (then there are no
    /// disk faults), or `None` when they are.
    pub no_disks: Option<String>,
    /// The cluster's certificates with `--tls` (else every process is `--insecure`).
    pub certs: Option<kairos_testkit::certs::TestCerts>,
    /// The client certificate the runner's own clients present.
    pub client_tls: Option<kairos_tls::Tls>,
    /// Servers run with the product's Raft timings (`--product-timings`), not
    /// the suite's slower ones.
    pub product_timings: bool,
}

/// Each server's data dir is a tmpfs this big, so that filling it is quick.
const DISK_MB: u64 = 256;

/// Mounts a small tmpfs on `dir` (needs root, or CAP_SYS_ADMIN).
fn mount_tmpfs(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={DISK_MB}m"), "tmpfs"])
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn unmount(dir: &Path) {
    let _ = Command::new("umount").arg(dir).output();
}

/// Fills the filesystem of `dir` until a write fails; returns the file made.
pub fn fill_disk(dir: &Path) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let path = dir.join("chaos-fill");
    let mut file = std::fs::File::create(&path)?;
    let chunk = vec![0u8; 1 << 20];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    Ok(path)
}

impl Procs {
    /// Lays out `n` servers and `m` workers under `dir` and starts the link proxies.
    pub async fn new(
        binary: &Path,
        dir: &Path,
        n: u64,
        m: usize,
        tls: bool,
    ) -> std::io::Result<Procs> {
        let certs = if tls {
            Some(kairos_testkit::certs::TestCerts::new(&dir.join("certs"))?)
        } else {
            None
        };
        let client_tls = match &certs {
            Some(certs) => Some(certs.client("chaos")?),
            None => None,
        };
        let mut servers = Vec::new();
        for id in 1..=n {
            let data_dir = dir.join(format!("server-{id}"));
            servers.push(Server {
                id,
                grpc: kairos_testkit::free_addr()?,
                http: kairos_testkit::free_addr()?,
                proc: Proc {
                    child: None,
                    paused: false,
                    log: dir.join(format!("server-{id}.log")),
                },
                data_dir,
            });
        }
        let mut links = Links::default();
        for from in &servers {
            for to in &servers {
                if from.id == to.id {
                    continue;
                }
                let link = Arc::new(Link::default());
                let addr = proxy::start(to.grpc.clone(), link.clone()).await?;
                links.by_pair.insert((from.id, to.id), (addr, link));
            }
        }
        let workers = (1..=m)
            .map(|i| Worker {
                id: format!("chaos-w{i}"),
                data_dir: dir.join(format!("worker-{i}")),
                attempt_log: dir.join(format!("worker-{i}.attempts.jsonl")),
                proc: Proc {
                    child: None,
                    paused: false,
                    log: dir.join(format!("worker-{i}.log")),
                },
            })
            .collect();
        let mut no_disks = None;
        for s in &servers {
            if let Err(e) = mount_tmpfs(&s.data_dir) {
                no_disks = Some(format!(
                    "disk faults skipped: cannot mount a tmpfs on {} ({e}); run as root to have them",
                    s.data_dir.display()
                ));
                break;
            }
        }
        if no_disks.is_some() {
            for s in &servers {
                unmount(&s.data_dir);
            }
        }
        Ok(Procs {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            servers,
            workers,
            links,
            no_disks,
            certs,
            client_tls,
            product_timings: false,
        })
    }

    pub fn grpc_addrs(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.grpc.clone()).collect()
    }

    pub fn http_addrs(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.http.clone()).collect()
    }

    fn log_file(path: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    }

    pub fn start_server(&mut self, id: u64) -> std::io::Result<()> {
        let peers: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("{}={}", s.id, s.grpc))
            .collect();
        let routes: Vec<String> = self
            .servers
            .iter()
            .filter(|s| s.id != id)
            .filter_map(|s| self.links.addr(id, s.id).map(|a| format!("{}={a}", s.id)))
            .collect();
        let tls_flags = match &self.certs {
            Some(certs) => kairos_testkit::certs::flags(&certs.server(id)?),
            None => vec!["--insecure".to_string()],
        };
        let Some(server) = self.servers.iter_mut().find(|s| s.id == id) else {
            return Ok(());
        };
        let log = Self::log_file(&server.proc.log)?;
        let timings = if self.product_timings {
            vec![]
        } else {
            vec![
                "--heartbeat-ms".to_string(),
                HEARTBEAT_MS.to_string(),
                "--election-timeout-ms".to_string(),
                format!("{}-{}", ELECTION_MS.0, ELECTION_MS.1),
            ]
        };
        let child = Command::new(&self.binary)
            .arg("server")
            .args(tls_flags)
            .args(["--node-id", &id.to_string()])
            .arg("--data-dir")
            .arg(&server.data_dir)
            .args(["--grpc-addr", &server.grpc, "--http-addr", &server.http])
            .args(["--peers", &peers.join(",")])
            .args(["--peer-routes", &routes.join(",")])
            .args(timings)
            .args(["--worker-lease-ms", &LEASE_MS.to_string()])
            .args(["--worker-heartbeat-ms", "500"])
            .args(["--snapshot-every", "2000"])
            .arg("--config")
            .arg(self.dir.join("no-kairos.toml"))
            .env("KAIROS_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        server.proc.child = Some(child);
        server.proc.paused = false;
        Ok(())
    }

    pub fn start_worker(&mut self, i: usize) -> std::io::Result<()> {
        let servers = self.grpc_addrs().join(",");
        let tls_flags = match (&self.certs, self.workers.get(i)) {
            (Some(certs), Some(worker)) => kairos_testkit::certs::flags(&certs.worker(&worker.id)?),
            _ => vec!["--insecure".to_string()],
        };
        let Some(worker) = self.workers.get_mut(i) else {
            return Ok(());
        };
        let log = Self::log_file(&worker.proc.log)?;
        let child = Command::new(&self.binary)
            .arg("worker")
            .args(tls_flags)
            .args(["--servers", &servers, "--worker-id", &worker.id])
            .args(["--slots", "4", "--kill-grace-secs", "1"])
            .args(["--http-addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&worker.data_dir)
            .arg("--attempt-log")
            .arg(&worker.attempt_log)
            .arg("--config")
            .arg(self.dir.join("no-kairos.toml"))
            .env("KAIROS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        worker.proc.child = Some(child);
        worker.proc.paused = false;
        Ok(())
    }

    /// Starts again every worker that is not running; returns the ids of those
    /// started.
    pub fn restart_dead_workers(&mut self) -> Vec<String> {
        let mut started = Vec::new();
        for i in 0..self.workers.len() {
            self.workers[i].proc.reap();
            if !self.workers[i].proc.is_up() && self.start_worker(i).is_ok() {
                started.push(self.workers[i].id.clone());
            }
        }
        started
    }

    pub fn server_mut(&mut self, id: u64) -> Option<&mut Server> {
        self.servers.iter_mut().find(|s| s.id == id)
    }

    /// Stops everything (at the end, or when the runner fails).
    pub fn stop_all(&mut self) {
        for s in &mut self.servers {
            s.proc.signal(Signal::SIGCONT);
            s.proc.kill9();
        }
        for w in &mut self.workers {
            w.proc.kill9();
        }
    }
}

impl Procs {
    /// Stops everything and unmounts the servers' tmpfs data dirs (their data is
    /// gone then; logs and attempt logs live outside them and stay).
    pub fn shutdown(&mut self) {
        self.stop_all();
        if self.no_disks.is_none() {
            for s in &self.servers {
                unmount(&s.data_dir);
            }
            self.no_disks = Some("unmounted".into());
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.shutdown();
    }
}
