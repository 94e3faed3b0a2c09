//! `kairos-chaos`: a Jepsen-style fault suite. It starts real `kairos server`s
//! and `kairos worker`s on 127.0.0.1, pushes a workload, triggers runs without
//! pause, and kills, pauses and partitions the processes on a schedule drawn from
//! a seed; then it heals everything, lets the runs finish and checks, from the
//! workers' own attempt logs and the cluster's answers, that nothing acknowledged
//! was lost, no task ran two attempts at once, and every server ended the same.
//!
//! `--smoke` runs for about 45 s (CI); `--soak --duration 30m --seed S` for longer.

mod api;
mod check;
mod drive;
mod faults;
mod history;
mod inject;
mod leader;
mod procs;
mod proxy;
mod run;
mod settle;
mod shared;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "kairos-chaos",
    about = "Kill, pause and partition a real Kairos cluster under load, then check nothing was lost"
)]
struct Args {
    /// About 50 s of faults, every kind at least once (what CI runs).
    #[arg(long, conflicts_with = "soak")]
    smoke: bool,
    /// A long run (use --duration).
    #[arg(long)]
    soak: bool,
    /// How long faults are injected: `90s`, `10m`, `1h` (default 50s, or 30m with --soak).
    #[arg(long)]
    duration: Option<String>,
    /// The fault schedule's seed (default: from the clock; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// Servers: 3 or 5.
    #[arg(long, default_value_t = 3)]
    servers: u64,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Runs triggered per second.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// The `kairos` binary (default: the one next to this program).
    #[arg(long)]
    kairos: Option<PathBuf>,
    /// Where data dirs, logs and attempt logs go (default: a new temporary folder,
    /// kept when a property is violated).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run every server and worker with mutual TLS (certificates made under
    /// --dir), to compare with the plain-text run.
    #[arg(long)]
    tls: bool,
    /// No faults: the load alone for --duration, to count the elections a
    /// healthy cluster holds (reported at the end as the Raft term's growth).
    #[arg(long, conflicts_with = "smoke")]
    no_faults: bool,
    /// Run the servers with the product's Raft timings (50 ms heartbeats,
    /// 100-200 ms election timeouts) instead of the suite's slower ones.
    #[arg(long)]
    product_timings: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("--duration {text:?}: write e.g. 90s, 10m or 1h"))?;
    match unit {
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("--duration {text:?}: the unit is s, m or h")),
    }
}

fn kairos_binary(given: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return Ok(path);
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let sibling = me.with_file_name("kairos");
    if sibling.exists() {
        Ok(sibling)
    } else {
        Err(format!(
            "no kairos binary next to {}: build it (cargo build -p kairos) or give --kairos PATH",
            me.display()
        ))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match real_main(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn real_main(args: Args) -> Result<bool, String> {
    if !matches!(args.servers, 3 | 5) {
        return Err("--servers must be 3 or 5".into());
    }
    if args.workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    let smoke = !args.soak;
    let duration = match &args.duration {
        Some(text) => parse_duration(text)?,
        None if smoke => Duration::from_secs(50),
        None => Duration::from_secs(30 * 60),
    };
    let seed = args
        .seed
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros() as u64);
    let binary = kairos_binary(args.kairos)?;
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("kairos-chaos-{seed}")),
    };
    // Old attempt logs would be read as this run's: start from nothing.
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!(
            "{} is not empty (an earlier run?): remove it or give another --dir",
            dir.display()
        ));
    }
    let plan = if args.no_faults {
        Vec::new()
    } else {
        faults::plan(
            seed,
            duration.as_millis() as u64,
            smoke,
            procs::ELECTION_MS.1,
        )
    };
    println!(
        "kairos-chaos: seed {seed}, {} servers, {} workers, {} s of faults ({} planned), data in {}",
        args.servers,
        args.workers,
        duration.as_secs(),
        plan.len(),
        dir.display()
    );
    let settings = run::Settings {
        binary,
        dir: dir.clone(),
        servers: args.servers,
        workers: args.workers,
        seed,
        duration,
        trigger_rate: args.rate,
        settle: Duration::from_secs(180),
        tls: args.tls,
        product_timings: args.product_timings,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut outcome = run::run(&settings, &plan).await?;
        let report = check::check(&outcome).await;
        outcome.procs.shutdown();
        check::print(&report, seed);
        if let (Some(first), Some(last)) = outcome.terms {
            let hours = duration.as_secs_f64() / 3600.0;
            println!(
                "elections: the Raft term went from {first} to {last} ({} in {:.0} min of load, \
                 {:.1} per hour{})",
                last - first,
                duration.as_secs_f64() / 60.0,
                (last - first) as f64 / hours,
                if plan.is_empty() {
                    ", no faults"
                } else {
                    ", faults included"
                }
            );
        }
        if let Some(p) = report.properties.iter().find(|p| !p.violations.is_empty()) {
            println!("\nFIRST VIOLATED PROPERTY: {}", p.name);
            for v in p.violations.iter().take(10) {
                println!("  {v}");
            }
            println!("faults, as applied:");
            for f in &outcome.history.faults {
                println!("  {} {}..{} {}", f.kind, f.start_ms, f.end_ms, f.target);
            }
            println!(
                "re-run with: kairos-chaos --seed {seed} (data kept in {})",
                dir.display()
            );
            return Ok(false);
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(report.violations() == 0)
    })
}
