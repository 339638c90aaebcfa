//! The server's load benchmark: simulate latency (p50, p99) and throughput at 1 and 32
//! concurrent connections, on the sample plan and on a generated 10,000-payee plan, against
//! the engine's own simulate time, and the process's RSS as requests pile up (a leak check:
//! after the first 100 requests and after 10,000, all at 32 connections).
//!
//! `cargo run --release -p accrue-server --example load` (loopback only, bounded counts).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accrue_engine::{Baseline, Change, DataSet, FileSystem, PlanInput, Scenario, ScriptLimits, SimulateOptions};
use accrue_server::{AppState, Catalog, Limits, Role, Store, Tokens, app};

/// As in the `accrue` binary that serves in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "bench-token";

/// A number from /proc/self/status (`VmRSS` in KiB, `Threads`).
fn status(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// RSS and threads now, as a table cell.
fn memory() -> String {
    let kib = status("VmRSS");
    format!("{}.{} MB, {} threads", kib / 1024, kib % 1024 * 10 / 1024, status("Threads"))
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The engine's own params-only simulate on a plan folder: the median of `runs`.
fn engine_time(folder: &Path, change: &str, runs: usize) -> Duration {
    let input = PlanInput::read(Arc::new(FileSystem), &folder.join("plan.yaml"), ScriptLimits::default()).unwrap();
    let data = DataSet::load(&folder.join("data")).unwrap();
    let baseline = Baseline::new(&input, &data).unwrap();
    let scenario = Scenario::new(vec![Change::parse_set(change).unwrap()]);
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            accrue_engine::simulate(&input, &data, &baseline, &scenario, &SimulateOptions::default()).unwrap();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

struct Row {
    label: String,
    connections: usize,
    requests: usize,
    p50: Duration,
    p99: Duration,
    per_second: u64,
}

async fn load(client: &reqwest::Client, url: &str, body: &str, connections: usize, requests: usize) -> Row {
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            // `requests` in all: the first `requests % connections` workers send one more.
            let per_worker = requests / connections + usize::from(worker < requests % connections);
            let (client, url, body) = (client.clone(), url.to_string(), body.to_string());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_worker);
                for _ in 0..per_worker {
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .header("authorization", format!("Bearer {TOKEN}"))
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status().as_u16(), 200);
                    response.bytes().await.unwrap();
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    let per_second = (latencies.len() as u128 * 1000 / elapsed.as_millis().max(1)) as u64;
    Row { label: String::new(), connections, requests: latencies.len(), p50: at(50), p99: at(99), per_second }
}

fn ms(d: Duration) -> String {
    format!("{}.{:02}", d.as_millis(), (d.as_micros() % 1000) / 10)
}

#[tokio::main]
async fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let plans: PathBuf = dir.path().join("plans");
    copy(&repo.join("plans/msp-fy2027"), &plans.join("msp-fy2027"));
    copy(&repo.join("scripts"), &dir.path().join("scripts"));
    let workload = accrue_bench::Workload { payees: 10_000, deals_per_payee: 20, seed: 7 };
    workload.write(&plans.join("bench")).unwrap();
    std::fs::remove_file(plans.join("bench/plan-script.yaml")).unwrap();

    let engine_sample = engine_time(&plans.join("msp-fy2027"), "ae_base_rate=0.06", 21);
    let engine_large = engine_time(&plans.join("bench"), "base_rate=0.06", 5);

    let mut tokens = Tokens::default();
    tokens.add_token(Role::Hr, TOKEN);
    let catalog = Catalog::load(&plans, ScriptLimits::default());
    assert_eq!(catalog.plans.len(), 2, "{:?}", catalog.problems);
    let store = Store::open(&dir.path().join("accrue.db")).unwrap();
    let state = AppState::new(tokens, plans.clone(), catalog, store, Limits::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/simulate", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();

    let sample = r#"{"plan":"msp-fy2027","changes":[{"set":{"name":"ae_base_rate","value":"0.06"}}]}"#;
    let large = r#"{"plan":"bench","changes":[{"set":{"name":"base_rate","value":"0.06"}}]}"#;
    // The leak check, first, on a fresh server: 10,000 sample requests all at 32 connections,
    // RSS after the first 100 and then as they pile up. A process's memory rises
    // once with its concurrency (threads, their allocator caches, connections); the target
    // compares like with like, so the growth it measures is growth per request.
    let mut leak = vec![("start".to_string(), memory())];
    let mut done = 0;
    for upto in [100, 1_000, 2_500, 5_000, 10_000] {
        done += load(&client, &url, sample, 32, upto - done).await.requests;
        leak.push((format!("after {done}"), memory()));
    }
    let mut rows = Vec::new();
    for (label, body, connections, requests) in [
        ("sample (msp-fy2027)", sample, 1, 500),
        ("sample (msp-fy2027)", sample, 32, 2_016),
        ("10,000 payees", large, 1, 20),
        ("10,000 payees", large, 32, 64),
    ] {
        let mut row = load(&client, &url, body, connections, requests).await;
        row.label = label.to_string();
        rows.push(row);
    }
    let after_large = memory();

    println!("engine simulate (median): sample {} ms, 10,000 payees {} ms", ms(engine_sample), ms(engine_large));
    println!("| plan | connections | requests | p50 ms | p99 ms | requests/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.label,
            r.connections,
            r.requests,
            ms(r.p50),
            ms(r.p99),
            r.per_second
        );
    }
    println!("leak check, sample simulate at 32 connections:");
    for (when, memory) in &leak {
        println!("  {when}: {memory}");
    }
    println!("after the latency rows (10,000-payee rows last): {after_large}");
}
