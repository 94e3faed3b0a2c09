//! `kairos dev` as tests start it: one process on two free loopback ports, its
//! output in a log file under the test's folder, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::free_addr;

pub struct DevProcess {
    child: Child,
    log: PathBuf,
    /// The API's `HOST:PORT`.
    pub http: String,
}

impl DevProcess {
    /// Starts `binary dev --dags DAGS` with its data and log under `dir`.
    pub fn start(binary: &Path, dags: &Path, dir: &Path) -> DevProcess {
        let http = free_addr().expect("a port");
        let grpc = free_addr().expect("a port");
        let log = dir.join("dev.log");
        let file = std::fs::File::create(&log).expect("the dev log");
        let child = Command::new(binary)
            .args(["dev", "--http-addr", &http, "--grpc-addr", &grpc])
            .arg("--dags")
            .arg(dags)
            .arg("--data-dir")
            .arg(dir.join(".kairos"))
            .env_remove("CONFIG_ROOT_DIR")
            .stdout(file.try_clone().expect("the dev log"))
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("kairos dev starts");
        DevProcess { child, log, http }
    }

    /// Everything the process printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `text`; panics with the log after `within`.
    pub fn wait_for(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "kairos dev never printed {text:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
