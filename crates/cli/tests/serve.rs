//! `accrue serve` end to end: the real binary on a free loopback port, driven by a real HTTP
//! client — every endpoint, auth failures on every route, the body limit, a deadline passing
//! while /healthz answers, a hostile script, concurrency, kill -9, SIGHUP and shutdown.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const FINANCE: &str = "e2e-finance-token";
const HR: &str = "e2e-hr-token";
const EXEC: &str = "e2e-exec-token";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `accrue serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

impl Server {
    /// Starts the binary on 127.0.0.1:0 and reads the bound address from its standard error.
    fn start(plans: &Path, db: &Path, config: Option<&Path>) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_accrue"));
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--plans"])
            .arg(plans)
            .arg("--db")
            .arg(db)
            .env("ACCRUE_TOKEN_FINANCE", FINANCE)
            .env("ACCRUE_TOKEN_HR", HR)
            .env("ACCRUE_TOKEN_EXEC", EXEC)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command.spawn().expect("accrue serve starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("accrue serve: listening on ") {
                    let _ = found.send(addr.to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let base = match address.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not say where it listens: {:?}", log.lock().unwrap());
            }
        };
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        Server { child, base, log, client }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits (bounded) until the log has a line containing `needle`.
    async fn wait_for_log(&self, needle: &str) {
        for _ in 0..200 {
            if self.log_text().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no `{needle}` in the log:\n{}", self.log_text());
    }

    async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        self.send("GET", path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, String) {
        self.send("POST", path, Some(token), Some(body.to_string())).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[track_caller]
fn error_code(answer: &(u16, String), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(json(&answer.1)["error"]["code"], code, "{}", answer.1);
}

/// Copies the sample plans and scripts to a folder of their own (for edits and reloads).
fn copy_samples(to: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() { copy(&path, &target) } else { std::fs::copy(&path, &target).map(drop).unwrap() }
        }
    }
    copy(&repo().join("plans/msp-fy2027"), &to.join("plans/msp-fy2027"));
    copy(&repo().join("scripts"), &to.join("scripts"));
    to.join("plans")
}

fn simulate_body() -> Value {
    json!({"plan": "msp-fy2027", "top": 3, "changes": [
        {"set": {"name": "ae_base_rate", "value": "0.06"}},
        {"scale": {"selector": "ae", "measure": "bookings", "factor": "1.1"}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_over_a_socket_and_refuses_the_wrong_callers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&repo().join("plans"), &dir.path().join("accrue.db"), None);
    let (status, text) = server.get("/healthz", None).await;
    assert_eq!((status, json(&text)["status"].clone()), (200, json!("ok")));
    let (status, text) = server.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(json(&text)["openapi"].as_str().unwrap().starts_with("3.1"));
    let (status, text) = server.get("/v1/plans", Some(EXEC)).await;
    assert_eq!(status, 200);
    assert_eq!(json(&text)["plans"].as_array().unwrap().len(), 3, "{text}");
    let (status, text) = server.get("/v1/plans/msp-fy2027", Some(HR)).await;
    assert_eq!((status, json(&text)["params"]["ae_base_rate"].clone()), (200, json!("0.05")));
    let (status, text) = server.get("/v1/plans/msp-fy2027/curve?role=ae&steps=4", Some(EXEC)).await;
    assert_eq!((status, json(&text)["points"].as_array().unwrap().len()), (200, 5));
    let (status, text) = server.get("/v1/plans/msp-fy2027/explain?role=ae", Some(EXEC)).await;
    assert!(status == 200 && text.starts_with("# "), "{status} {text}");
    let (status, text) = server.post("/v1/plans/validate", FINANCE, json!({"plan": "saas-startup"})).await;
    assert_eq!((status, json(&text)["ok"].clone()), (200, json!(true)), "{text}");
    let (status, text) = server.post("/v1/simulate", HR, simulate_body()).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["changes"][0]["to"], "0.06");
    let (status, text) = server.post("/v1/montecarlo", HR, json!({"plan": "msp-fy2027", "draws": 20, "seed": 7})).await;
    assert_eq!((status, json(&text)["draws"].clone()), (200, json!(20)), "{text}");
    let grid = json!({"plan": "hardware-reseller", "revenue": "1:1.2:0.1", "margin": ["0"]});
    let (status, text) = server.post("/v1/alignment", EXEC, grid).await;
    assert_eq!((status, json(&text)["verdict"].clone()), (200, json!("misaligned")), "{text}");
    let save = json!({"name": "AE at 6 %", "plan": "msp-fy2027", "changes": [{"set": {"name": "ae_base_rate", "value": "0.06"}}]});
    let (status, text) = server.post("/v1/scenarios", HR, save).await;
    assert_eq!(status, 201, "{text}");
    let id = json(&text)["id"].as_i64().unwrap();
    let (status, text) = server.get("/v1/scenarios", Some(FINANCE)).await;
    assert_eq!((status, json(&text).as_array().unwrap().len()), (200, 1));
    let (status, _) = server.get(&format!("/v1/scenarios/{id}"), Some(FINANCE)).await;
    assert_eq!(status, 200);
    let (status, text) = server.send("POST", &format!("/v1/scenarios/{id}/run"), Some(HR), None).await;
    assert_eq!((status, json(&text)["plan_changed"].clone()), (200, json!(false)), "{text}");
    let (status, text) = server.send("POST", "/v1/admin/reload", Some(FINANCE), None).await;
    assert_eq!((status, json(&text)["loaded"].as_array().unwrap().len()), (200, 3), "{text}");

    // Auth on every route: no token, an unknown token, the wrong role.
    let routes: [(&str, &str, &[&str]); 15] = [
        ("GET", "/v1/plans", &[]),
        ("GET", "/v1/plans/msp-fy2027", &[]),
        ("GET", "/v1/plans/msp-fy2027/curve?role=ae", &[]),
        ("GET", "/v1/plans/msp-fy2027/explain?role=ae", &[]),
        ("POST", "/v1/plans/validate", &[HR, EXEC]),
        ("POST", "/v1/admin/reload", &[HR, EXEC]),
        ("POST", "/v1/simulate", &[EXEC]),
        ("POST", "/v1/montecarlo", &[EXEC]),
        ("POST", "/v1/alignment", &[HR]),
        ("POST", "/v1/scenarios", &[EXEC]),
        ("GET", "/v1/scenarios", &[EXEC]),
        ("GET", "/v1/scenarios/1", &[EXEC]),
        ("POST", "/v1/scenarios/1/run", &[EXEC]),
        ("GET", "/healthz", &[]),
        ("GET", "/openapi.json", &[]),
    ];
    for (method, path, wrong_roles) in routes {
        if path == "/healthz" || path == "/openapi.json" {
            assert_eq!(server.send(method, path, None, None).await.0, 200, "{path} needs no token");
            continue;
        }
        let body = Some("{}".to_string());
        error_code(&server.send(method, path, None, body.clone()).await, 401, "unauthorized");
        error_code(&server.send(method, path, Some("wrong"), body.clone()).await, 401, "unauthorized");
        for token in wrong_roles {
            error_code(&server.send(method, path, Some(token), body.clone()).await, 403, "forbidden");
        }
    }
    // Request logs: method, route, status, role; never a token.
    let log = server.log_text();
    assert!(log.contains("route=/v1/simulate") && log.contains("status=200") && log.contains("role=hr"), "{log}");
    for token in [FINANCE, HR, EXEC, "wrong"] {
        assert!(!log.contains(token), "a token in the log");
    }
    assert!(!log.contains("45800.00"), "payout data in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&repo().join("plans"), &dir.path().join("accrue.db"), None);
    let big = json!({"plan": "msp-fy2027", "changes": [{"overlay_yaml": "#".repeat(11 << 20)}]}).to_string();
    // Several times over one pooled client: the client reads the 413 (not a reset connection,
    // the body is drained before the answer) and does not reuse the half-read connection.
    for _ in 0..3 {
        let response = server
            .client
            .post(format!("{}/v1/simulate", server.base))
            .header("authorization", format!("Bearer {HR}"))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .expect("the 413 is read, not a broken connection");
        assert_eq!(response.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
        let status = response.status().as_u16();
        error_code(&(status, response.text().await.unwrap()), 413, "payload_too_large");
        assert_eq!(server.get("/healthz", None).await.0, 200);
    }
}

/// A plan whose only component is a script that never ends (stopped by the sandbox's
/// operation limit at every call), with `payees` payees.
fn hostile(payees: usize) -> Value {
    let plan = "plan: hostile\nname: Hostile\ncurrency: USD\nyear: 2027\nperiods: quarter\nroles:\n  ae:\n    title: AE\n    motion: hunter\n    quota: { source: roster }\n    components:\n      - id: spin\n        type: script\n        file: scripts/spin.rhai\n";
    let mut roster = String::from("id,name,role,quota\n");
    for i in 0..payees {
        roster.push_str(&format!("p{i},Payee {i},ae,100000\n"));
    }
    json!({"plan_yaml": plan, "scripts": {"scripts/spin.rhai": "fn payout(ctx) { let x = 0; loop { x += 1; } }"},
           "data_inline": {"roster.csv": roster, "deals.csv": "id,owner,close_date,kind,amount,gross_margin\n"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_is_503_while_healthz_answers_fast() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"deadline_ms": 300}"#).unwrap();
    let server = Arc::new(Server::start(&repo().join("plans"), &dir.path().join("accrue.db"), Some(&config)));
    let slow = tokio::spawn({
        let server = server.clone();
        async move { server.post("/v1/simulate", HR, hostile(12)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let (status, _) = server.get("/healthz", None).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "/healthz took {took:?} while the engine was busy");
    let answer = slow.await.unwrap();
    error_code(&answer, 503, "deadline_exceeded");
    assert!(json(&answer.1)["error"]["message"].as_str().unwrap().contains("300 ms"));
}

/// An alignment whose one script burns 200,000 operations a call (under the operation
/// limit), over 200 payees: many minutes of engine work for the default grid.
fn hostile_alignment() -> Value {
    let plan = "plan: slow\nname: Slow\ncurrency: USD\nyear: 2027\nperiods: quarter\ncompany: {revenue: 1000000, gross_profit: 500000, net_profit: 100000}\nroles:\n  ae:\n    title: AE\n    motion: hunter\n    quota: { source: roster }\n    components:\n      - id: busy\n        type: script\n        file: scripts/busy.rhai\n";
    let mut roster = String::from("id,name,role,quota\n");
    for i in 0..200 {
        roster.push_str(&format!("p{i},Payee {i},ae,100000\n"));
    }
    json!({"plan_yaml": plan,
           "scripts": {"scripts/busy.rhai": "fn payout(ctx) { let x = 0; for i in 0..200000 { x += 1; } 0 }"},
           "data_inline": {"roster.csv": roster, "deals.csv": "id,owner,close_date,kind,amount,gross_margin\n"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alignment_past_its_deadline_frees_its_slot_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    // One expensive run at a time: while the hostile one holds the slot, others get 429.
    std::fs::write(&config, r#"{"deadline_ms": 1000, "max_concurrent_analyses": 1}"#).unwrap();
    let server = Arc::new(Server::start(&repo().join("plans"), &dir.path().join("accrue.db"), Some(&config)));
    let hostile = tokio::spawn({
        let server = server.clone();
        async move { server.post("/v1/alignment", EXEC, hostile_alignment()).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cheap = json!({"plan": "msp-fy2027", "draws": 10, "seed": 1});
    error_code(&server.post("/v1/montecarlo", HR, cheap.clone()).await, 429, "too_many_requests");
    let answer = hostile.await.unwrap();
    error_code(&answer, 503, "deadline_exceeded");
    // The engine stopped at the deadline and gave its slot back: the next expensive request
    // is admitted within moments (unstopped, the alignment would hold it for minutes).
    let stopped = Instant::now();
    let (status, text) = loop {
        let (status, text) = server.post("/v1/montecarlo", HR, cheap.clone()).await;
        if status != 429 || stopped.elapsed() > Duration::from_secs(3) {
            break (status, text);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 200, "after {:?}: {text}", stopped.elapsed());
    assert_eq!(json(&text)["draws"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_script_fails_its_payee_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(&repo().join("plans"), &dir.path().join("accrue.db"), None));
    let hostile = tokio::spawn({
        let server = server.clone();
        async move { server.post("/v1/simulate", FINANCE, hostile(1)).await }
    });
    // Others keep being answered meanwhile.
    let (status, _) = server.post("/v1/simulate", HR, simulate_body()).await;
    assert_eq!(status, 200);
    let (status, text) = hostile.await.unwrap();
    assert_eq!(status, 200, "{text}");
    let errors = json(&text)["errors"].as_array().unwrap().clone();
    assert!(!errors.is_empty() && errors.iter().all(|e| e["payee"] == "p0"), "{errors:?}");
    assert!(errors[0]["message"].as_str().unwrap().contains("spin"), "{errors:?}");
    assert_eq!(server.get("/healthz", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_simulations_equal_sequential_ones_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(&repo().join("plans"), &dir.path().join("accrue.db"), None));
    let bodies: Vec<Value> = (0..8)
        .map(|i| {
            let plan = ["msp-fy2027", "saas-startup"][i % 2];
            json!({"plan": plan, "top": 5,
                   "changes": [{"scale": {"selector": "company", "measure": "revenue", "factor": format!("1.{i}")}}]})
        })
        .collect();
    let mut sequential = Vec::new();
    for body in &bodies {
        sequential.push(server.post("/v1/simulate", HR, body.clone()).await);
    }
    let tasks: Vec<_> = bodies
        .iter()
        .map(|body| {
            let (server, body) = (server.clone(), body.clone());
            tokio::spawn(async move { server.post("/v1/simulate", HR, body).await })
        })
        .collect();
    for (task, expected) in tasks.into_iter().zip(&sequential) {
        let answer = task.await.unwrap();
        assert_eq!(answer.0, 200, "{}", answer.1);
        assert_eq!(&answer, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_scenario_survives_kill_9_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("accrue.db");
    let mut server = Server::start(&repo().join("plans"), &db, None);
    let save =
        json!({"name": "kept", "plan": "msp-fy2027", "changes": [{"set": {"name": "ae_base_rate", "value": "0.07"}}]});
    let (status, saved) = server.post("/v1/scenarios", FINANCE, save).await;
    assert_eq!(status, 201, "{saved}");
    // SIGKILL: no chance to flush anything after the 201.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = Server::start(&repo().join("plans"), &db, None);
    let id = json(&saved)["id"].as_i64().unwrap();
    let (status, text) = server.get(&format!("/v1/scenarios/{id}"), Some(HR)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text), json(&saved));
    let (status, text) = server.send("POST", &format!("/v1/scenarios/{id}/run"), Some(HR), None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["result"]["changes"][0]["to"], "0.07");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_broken_edit_keeps_the_old_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plans = copy_samples(dir.path());
    let server = Server::start(&plans, &dir.path().join("accrue.db"), None);
    let (_, before) = server.get("/v1/plans/msp-fy2027", Some(FINANCE)).await;
    let file = plans.join("msp-fy2027/plan.yaml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, good.replace("ae_base_rate: 0.05", "ae_base_rate: [0.05")).unwrap();
    server.signal("HUP");
    server.wait_for_log("plans reloaded").await;
    assert!(server.log_text().contains("the old version keeps serving"), "{}", server.log_text());
    let (status, after) = server.get("/v1/plans/msp-fy2027", Some(FINANCE)).await;
    assert_eq!((status, json(&after)), (200, json(&before)));
    let (status, _) = server.post("/v1/simulate", HR, simulate_body()).await;
    assert_eq!(status, 200);
    // A good edit is served after the next SIGHUP.
    std::fs::write(&file, good.replace("ae_base_rate: 0.05", "ae_base_rate: 0.055")).unwrap();
    server.signal("HUP");
    for _ in 0..200 {
        let (_, text) = server.get("/v1/plans/msp-fy2027", Some(FINANCE)).await;
        if json(&text)["params"]["ae_base_rate"] == "0.055" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the good edit was not served after SIGHUP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(&repo().join("plans"), &dir.path().join("accrue.db"), None));
    let in_flight = tokio::spawn({
        let server = server.clone();
        async move { server.post("/v1/montecarlo", HR, json!({"plan": "msp-fy2027", "draws": 150, "seed": 3})).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");
    let (status, text) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["draws"], 150);
    let mut server = Arc::into_inner(server).expect("the only handle");
    let mut exit = None;
    for _ in 0..200 {
        if let Some(status) = server.child.try_wait().unwrap() {
            exit = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let exit = exit.expect("the server exits after SIGTERM");
    assert!(exit.success(), "{exit:?}");
    assert!(server.log_text().contains("shut down"));
}
