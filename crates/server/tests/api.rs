//! Handler tests through `app().oneshot(..)`: the auth matrix on every route, the OpenAPI
//! document, simulate against the engine, the 4xx of bad input, saved scenarios and reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accrue_engine::{Baseline, Change, DataSet, FileSystem, PlanInput, Scenario, ScriptLimits, SimulateOptions};
use accrue_server::{AppState, Catalog, Limits, ROUTES, Role, Store, Tokens, app};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

const FINANCE: &str = "finance-token";
const HR: &str = "hr-token";
const EXEC: &str = "exec-token";

fn plans_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans")
}

fn state_with(root: &Path, limits: Limits) -> AppState {
    let mut tokens = Tokens::default();
    tokens.add_token(Role::Finance, FINANCE);
    tokens.add_token(Role::Hr, HR);
    tokens.add_token(Role::Exec, EXEC);
    let catalog = Catalog::load(root, ScriptLimits::default());
    AppState::new(tokens, root.to_path_buf(), catalog, Store::in_memory().unwrap(), limits).unwrap()
}

fn state() -> AppState {
    state_with(&plans_root(), Limits::default())
}

struct Answer {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    #[track_caller]
    fn error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{}", self.text);
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body["error"]["details"].is_array());
        body
    }
}

async fn call(state: &AppState, method: &str, uri: &str, token: Option<&str>, body: Option<String>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer { status, content_type, text: String::from_utf8(bytes.to_vec()).unwrap() }
}

async fn post(state: &AppState, uri: &str, token: &str, body: Value) -> Answer {
    call(state, "POST", uri, Some(token), Some(body.to_string())).await
}

/// Method, URI, body, and who may call it (None: no token needed).
type RouteCall = (&'static str, &'static str, Option<Value>, Option<&'static [&'static str]>);

/// A concrete request per route.
fn route_calls() -> Vec<RouteCall> {
    let simulate = json!({"plan": "msp-fy2027", "changes": [{"set": {"name": "ae_base_rate", "value": "0.06"}}]});
    vec![
        ("GET", "/healthz", None, None),
        ("GET", "/openapi.json", None, None),
        ("GET", "/v1/plans", None, Some(&[FINANCE, HR, EXEC][..])),
        ("GET", "/v1/plans/msp-fy2027", None, Some(&[FINANCE, HR, EXEC][..])),
        ("POST", "/v1/plans/validate", Some(json!({"plan": "msp-fy2027"})), Some(&[FINANCE][..])),
        ("POST", "/v1/simulate", Some(simulate.clone()), Some(&[HR, FINANCE][..])),
        (
            "POST",
            "/v1/montecarlo",
            Some(json!({"plan": "msp-fy2027", "draws": 20, "seed": 7})),
            Some(&[HR, FINANCE][..]),
        ),
        (
            "POST",
            "/v1/alignment",
            Some(json!({"plan": "msp-fy2027", "revenue": "0.9:1.1:0.1", "margin": ["0"]})),
            Some(&[EXEC, FINANCE][..]),
        ),
        ("GET", "/v1/plans/msp-fy2027/curve?role=ae&steps=4", None, Some(&[FINANCE, HR, EXEC][..])),
        ("GET", "/v1/plans/msp-fy2027/explain?role=ae", None, Some(&[FINANCE, HR, EXEC][..])),
        ("POST", "/v1/scenarios", Some(json!({"name": "x", "plan": "msp-fy2027"})), Some(&[HR, FINANCE][..])),
        ("GET", "/v1/scenarios", None, Some(&[HR, FINANCE][..])),
        ("GET", "/v1/scenarios/1", None, Some(&[HR, FINANCE][..])),
        ("POST", "/v1/scenarios/1/run", None, Some(&[HR, FINANCE][..])),
        ("POST", "/v1/admin/reload", None, Some(&[FINANCE][..])),
    ]
}

#[tokio::test]
async fn every_route_answers_its_roles_and_refuses_the_others() {
    let state = state();
    let calls = route_calls();
    assert_eq!(calls.len(), ROUTES.len(), "a route without a case here");
    for (method, uri, body, allowed) in calls {
        let body = body.map(|b| b.to_string());
        let Some(allowed) = allowed else {
            let answer = call(&state, method, uri, None, body).await;
            assert_eq!(answer.status, StatusCode::OK, "{method} {uri}: {}", answer.text);
            continue;
        };
        call(&state, method, uri, None, body.clone()).await.error(401, "unauthorized");
        call(&state, method, uri, Some("not-a-token"), body.clone()).await.error(401, "unauthorized");
        for token in [FINANCE, HR, EXEC] {
            let answer = call(&state, method, uri, Some(token), body.clone()).await;
            if allowed.contains(&token) {
                assert!(answer.status.is_success(), "{method} {uri} as {token}: {} {}", answer.status, answer.text);
            } else {
                answer.error(403, "forbidden");
            }
        }
    }
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_covers_every_route_and_error_code() {
    let answer = call(&state(), "GET", "/openapi.json", None, None).await;
    assert_eq!(answer.content_type, "application/json");
    let doc = answer.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        let operation = &paths.get(*path).unwrap_or_else(|| panic!("{path} not documented"))[*method];
        assert!(operation.is_object(), "{method} {path} not documented");
        assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
        if *method == "post" && operation.get("requestBody").is_some() {
            let example = &operation["requestBody"]["content"]["application/json"]["example"];
            assert!(example.is_object(), "{method} {path} has no example body");
        }
    }
    assert_eq!(paths.len(), ROUTES.iter().map(|(_, p)| p).collect::<std::collections::BTreeSet<_>>().len());
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let expected: Vec<&str> = accrue_server::ERROR_CODES.iter().map(|(_, name)| *name).collect();
    assert_eq!(codes, expected);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[tokio::test]
async fn simulate_answers_what_the_engine_computes() {
    let answer = post(
        &state(),
        "/v1/simulate",
        HR,
        json!({"plan": "msp-fy2027", "data": "msp-fy2027", "top": 3,
               "changes": [{"set": {"name": "ae_base_rate", "value": "0.06"}},
                           {"scale": {"selector": "ae", "measure": "bookings", "factor": 1}}]}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let dir = plans_root().join("msp-fy2027");
    let input = PlanInput::read(Arc::new(FileSystem), &dir.join("plan.yaml"), ScriptLimits::default()).unwrap();
    let data = DataSet::load(&dir.join("data")).unwrap();
    let baseline = Baseline::new(&input, &data).unwrap();
    let scenario = Scenario::new(vec![
        Change::parse_set("ae_base_rate=0.06").unwrap(),
        Change::parse_scale("ae.bookings=1").unwrap(),
    ]);
    let expected =
        accrue_engine::simulate(&input, &data, &baseline, &scenario, &SimulateOptions { top: 3, ..Default::default() })
            .unwrap();
    assert_eq!(answer.text, serde_json::to_string(&expected).unwrap());
}

fn served_input(id: &str) -> (PlanInput, DataSet) {
    let dir = plans_root().join(id);
    let input = PlanInput::read(Arc::new(FileSystem), &dir.join("plan.yaml"), ScriptLimits::default()).unwrap();
    (input, DataSet::load(&dir.join("data")).unwrap())
}

#[tokio::test]
async fn montecarlo_answers_what_the_engine_computes_and_bounds_its_draws() {
    let state = state();
    let body = json!({"plan": "msp-fy2027", "draws": 40, "seed": 7, "spread": {"ae": "0.3", "company": "0.2"},
                      "correlation": "0.4", "budget": 1500000,
                      "changes": [{"set": {"name": "ae_base_rate", "value": "0.06"}}]});
    let answer = post(&state, "/v1/montecarlo", FINANCE, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let (input, data) = served_input("msp-fy2027");
    let mut options = accrue_engine::MonteCarloOptions { draws: 40, seed: 7, ..Default::default() };
    options.spreads.insert("ae".into(), "0.3".parse().unwrap());
    options.company_spread = Some("0.2".parse().unwrap());
    options.correlation = Some("0.4".parse().unwrap());
    options.budget = Some(1_500_000.into());
    let scenario = Scenario::new(vec![Change::parse_set("ae_base_rate=0.06").unwrap()]);
    let expected = accrue_engine::montecarlo(&input, &data, &scenario, &options, &|_| true).unwrap();
    assert_eq!(answer.text, serde_json::to_string(&expected).unwrap());
    let too_many = json!({"plan": "msp-fy2027", "draws": 100001});
    check_error(&post(&state, "/v1/montecarlo", FINANCE, too_many).await, 422, "limit_exceeded", "100000");
    let float = json!({"plan": "msp-fy2027", "draws": 10, "correlation": 0.5});
    post(&state, "/v1/montecarlo", FINANCE, float).await.error(422, "float_not_allowed");
}

#[tokio::test]
async fn alignment_answers_what_the_engine_computes_and_bounds_its_grid() {
    let state = state();
    let body = json!({"plan": "hardware-reseller", "revenue": "1:1.5:0.1", "margin": ["-0.10", "0"]});
    let answer = post(&state, "/v1/alignment", EXEC, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json()["verdict"], "misaligned");
    let (input, data) = served_input("hardware-reseller");
    let options = accrue_engine::AlignOptions {
        revenue: accrue_engine::parse_range("1:1.5:0.1").unwrap(),
        margin: accrue_engine::parse_list("-0.10,0").unwrap(),
        follow: None,
        ..Default::default()
    };
    let expected = accrue_engine::align(&input, &data, &Scenario::new(Vec::new()), &options).unwrap();
    assert_eq!(answer.text, serde_json::to_string(&expected).unwrap());
    let wide = json!({"plan": "hardware-reseller", "revenue": "0:10:0.01"});
    check_error(&post(&state, "/v1/alignment", EXEC, wide).await, 422, "limit_exceeded", "101");
    let margins: Vec<String> = (0..22).map(|i| format!("0.0{}", i % 10)).collect();
    let wide = json!({"plan": "hardware-reseller", "margin": margins});
    check_error(&post(&state, "/v1/alignment", EXEC, wide).await, 422, "limit_exceeded", "21");
    let bad = json!({"plan": "hardware-reseller", "revenue": "1:0.5:0.1"});
    post(&state, "/v1/alignment", EXEC, bad).await.error(422, "invalid_change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expensive_runs_beyond_the_pool_get_429() {
    let state = state_with(&plans_root(), Limits { analyses: 1, ..Limits::default() });
    let slow = json!({"plan": "msp-fy2027", "draws": 300, "seed": 1});
    let first = tokio::spawn({
        let state = state.clone();
        async move { post(&state, "/v1/montecarlo", HR, slow).await.status }
    });
    // Give the first run time to take the only permit, then ask again.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut refused = false;
    for _ in 0..200 {
        let answer = post(&state, "/v1/montecarlo", HR, json!({"plan": "msp-fy2027", "draws": 1})).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            answer.error(429, "too_many_requests");
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(refused, "a second run while the first holds the only permit must get 429");
    assert_eq!(first.await.unwrap(), StatusCode::OK);
}

const INLINE_PLAN: &str = "plan: inline-demo
name: Inline demo
currency: USD
year: 2027
periods: quarter
params:
  rate: 0.05
roles:
  ae:
    title: AE
    motion: hunter
    quota: { source: roster }
    components:
      - id: commission
        type: tiered
        measure: bookings
        basis: rate
        mode: marginal
        tiers:
          - { from: 0, rate: $rate }
";

fn inline_data() -> Value {
    json!({
        "roster.csv": "id,name,role,quota\na1,Ann,ae,400000\na2,Bo,ae,400000\n",
        "deals.csv": "id,owner,close_date,kind,amount,gross_margin\nd1,a1,2027-02-01,new,100000,40000\nd2,a2,2027-05-01,new,50000,20000\n"
    })
}

#[tokio::test]
async fn inline_plans_and_data_run_in_memory() {
    let state = state();
    let answer = post(
        &state,
        "/v1/simulate",
        FINANCE,
        json!({"plan_yaml": INLINE_PLAN, "data_inline": inline_data(),
               "changes": [{"set": {"name": "rate", "value": "0.06"}}]}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["baseline"]["total"], "7500.00");
    assert_eq!(body["scenario"]["total"], "9000.00");
    // A served plan on inline data.
    let answer =
        post(&state, "/v1/simulate", FINANCE, json!({"plan": "msp-fy2027", "data_inline": inline_data()})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json()["baseline"]["payees"], Value::Null);
    assert_eq!(answer.json()["payees"][0]["payee"], "a1");
    // Inline data that does not parse: located in its file.
    let bad = json!({"plan": "msp-fy2027", "data_inline": {"roster.csv": "id,name\n", "deals.csv": "id\n"}});
    let body = post(&state, "/v1/simulate", FINANCE, bad).await.error(422, "invalid_data");
    assert!(body["error"]["details"][0]["file"].as_str().unwrap().starts_with("data_inline/"), "{body}");
}

#[tokio::test]
async fn a_hostile_inline_script_fails_its_payees_not_the_server() {
    let plan = format!("{INLINE_PLAN}      - id: spin\n        type: script\n        file: scripts/spin.rhai\n");
    let answer = post(
        &state(),
        "/v1/simulate",
        HR,
        json!({"plan_yaml": plan, "scripts": {"scripts/spin.rhai": "fn payout(ctx) { loop { } }"},
               "data_inline": inline_data()}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let errors = answer.json()["errors"].as_array().unwrap().clone();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e["component"] == "spin" || e["message"].as_str().unwrap().contains("spin")),
        "{errors:?}"
    );
}

#[track_caller]
fn check_error(answer: &Answer, status: u16, code: &str, needle: &str) {
    let body = answer.error(status, code);
    let text = body.to_string();
    assert!(text.contains(needle), "`{needle}` not in {text}");
}

#[tokio::test]
async fn bad_input_gets_a_precise_4xx() {
    let state = state();
    let simulate = |body: &str| call(&state, "POST", "/v1/simulate", Some(HR), Some(body.to_string()));
    check_error(&simulate("{\"plan\": ").await, 400, "malformed_json", "line 1 column");
    check_error(&simulate("{\"plan\": 7}").await, 422, "invalid_request", "invalid type");
    check_error(&simulate("{\"plam\": \"msp-fy2027\"}").await, 422, "invalid_request", "unknown field `plam`");
    check_error(&simulate("{}").await, 422, "invalid_request", "names no plan");
    check_error(&simulate("{\"plan\": \"nope\"}").await, 404, "unknown_plan", "msp-fy2027");
    check_error(&simulate("{\"plan\": \"msp-fy2027\", \"data\": \"nope\"}").await, 404, "unknown_data", "nope");
    let float = "{\"plan\": \"msp-fy2027\", \"changes\": [{\"set\": {\"name\": \"ae_base_rate\", \"value\": 0.06}}]}";
    check_error(&simulate(float).await, 422, "float_not_allowed", "as strings");
    let unknown = "{\"plan\": \"msp-fy2027\", \"changes\": [{\"set\": {\"name\": \"ae_rate\", \"value\": \"0.06\"}}]}";
    check_error(&simulate(unknown).await, 422, "invalid_change", "did you mean `ae_base_rate`");
    let scale = "{\"plan\": \"msp-fy2027\", \"changes\": [{\"scale\": {\"selector\": \"ae\", \"measure\": \"bookings\", \"factor\": \"-1\"}}]}";
    check_error(&simulate(scale).await, 422, "invalid_change", "negative");
    // A broken inline plan: located at its line and column.
    let broken = json!({"plan_yaml": INLINE_PLAN.replace("periods: quarter", "periods: fortnight"), "data_inline": inline_data()});
    let answer = post(&state, "/v1/simulate", HR, broken).await;
    let body = answer.error(422, "invalid_plan");
    let detail = &body["error"]["details"][0];
    assert_eq!(detail["line"], 5, "{body}");
    assert!(detail["col"].as_u64().is_some(), "{body}");
    // An overlay with an unknown key: located inside the overlay's string.
    let overlay =
        json!({"plan": "msp-fy2027", "changes": [{"overlay_yaml": "params:\n  ae_base_rate: 0.06\nbogus: 1\n"}]});
    let body = post(&state, "/v1/simulate", HR, overlay).await.error(422, "invalid_change");
    assert_eq!(body["error"]["details"][0]["file"], "overlay_yaml[0]", "{body}");
    assert_eq!(body["error"]["details"][0]["line"], 3, "{body}");
    // Curve and explain: an unknown role, too many points.
    let curve = call(&state, "GET", "/v1/plans/msp-fy2027/curve?role=cfo", Some(EXEC), None).await;
    check_error(&curve, 422, "unknown_role", "roles: ae");
    let curve = call(&state, "GET", "/v1/plans/msp-fy2027/curve?role=ae&steps=100000", Some(EXEC), None).await;
    check_error(&curve, 422, "limit_exceeded", "steps");
    check_error(&call(&state, "GET", "/v1/nothing", Some(EXEC), None).await, 404, "not_found", "/v1/nothing");
    check_error(&call(&state, "DELETE", "/v1/plans", Some(EXEC), None).await, 405, "method_not_allowed", "method");
}

#[tokio::test]
async fn an_overlay_cannot_read_files_outside_the_project() {
    let overlay = "roles:\n  ae:\n    components:\n      - id: peek\n        type: script\n        file: /etc/passwd\n";
    let body = json!({"plan": "msp-fy2027", "changes": [{"overlay_yaml": overlay}]});
    let answer = post(&state(), "/v1/simulate", HR, body).await;
    assert!(answer.status.is_client_error(), "{}", answer.text);
    assert!(!answer.text.contains("root:"), "{}", answer.text);
    assert!(answer.text.contains("/etc/passwd"), "{}", answer.text);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let state = state_with(&plans_root(), Limits { body_bytes: 1024, ..Limits::default() });
    let body = json!({"plan": "msp-fy2027", "changes": [{"overlay_yaml": "#".repeat(4096)}]});
    post(&state, "/v1/simulate", HR, body).await.error(413, "payload_too_large");
}

#[tokio::test]
async fn validate_reports_diagnostics_with_line_and_column() {
    let state = state();
    let ok =
        post(&state, "/v1/plans/validate", FINANCE, json!({"plan_yaml": INLINE_PLAN, "data_inline": inline_data()}))
            .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json()["ok"], true, "{}", ok.text);
    let broken = INLINE_PLAN.replace("mode: marginal", "mode: sideways");
    let answer = post(&state, "/v1/plans/validate", FINANCE, json!({"plan_yaml": broken})).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["ok"], false);
    let error = body["diagnostics"].as_array().unwrap().iter().find(|d| d["severity"] == "error").unwrap().clone();
    assert_eq!(error["file"], "plan_yaml/plan.yaml");
    assert_eq!(error["line"], 18, "{body}");
}

#[tokio::test]
async fn plan_detail_curve_and_explain() {
    let state = state();
    let detail = call(&state, "GET", "/v1/plans/msp-fy2027", Some(EXEC), None).await.json();
    assert_eq!(detail["params"]["ae_base_rate"], "0.05");
    assert_eq!(detail["periods"][0], "2027-Q1");
    let ae = detail["roles"].as_array().unwrap().iter().find(|r| r["id"] == "ae").unwrap().clone();
    assert!(ae["components"].as_array().unwrap().iter().any(|c| c["id"] == "new_business" && c["type"] == "tiered"));
    let curve = call(&state, "GET", "/v1/plans/msp-fy2027/curve?role=ae&steps=4", Some(EXEC), None).await.json();
    assert_eq!(curve["points"].as_array().unwrap().len(), 5);
    assert_eq!(curve["points"][2]["attainment"], "1");
    let markdown = call(&state, "GET", "/v1/plans/msp-fy2027/explain?role=ae", Some(EXEC), None).await;
    assert!(markdown.content_type.starts_with("text/markdown"));
    assert!(markdown.text.starts_with("# "));
    let request = Request::builder()
        .uri("/v1/plans/msp-fy2027/explain?role=ae")
        .header(header::AUTHORIZATION, format!("Bearer {EXEC}"))
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn scenarios_are_saved_listed_and_run_again_and_calls_audited() {
    let state = state();
    let saved = post(
        &state,
        "/v1/scenarios",
        HR,
        json!({"name": "AE rate 6 %", "plan": "msp-fy2027", "changes": [{"set": {"name": "ae_base_rate", "value": "0.06"}}]}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
    let saved = saved.json();
    assert_eq!(saved["saved_by"], "hr");
    assert_eq!(saved["data"], "msp-fy2027");
    assert_eq!(saved["changes"][0]["set"]["value"], "0.06");
    let id = saved["id"].as_i64().unwrap();
    let list = call(&state, "GET", "/v1/scenarios", Some(FINANCE), None).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let one = call(&state, "GET", &format!("/v1/scenarios/{id}"), Some(FINANCE), None).await.json();
    assert_eq!(one, saved);
    let run = call(&state, "POST", &format!("/v1/scenarios/{id}/run"), Some(FINANCE), None).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    let run = run.json();
    assert_eq!(run["plan_changed"], false);
    assert_eq!(run["data_changed"], false);
    assert_eq!(run["result"]["delta"]["total"], "45800.00");
    assert_eq!(run["result"]["scenario_hash"], saved["scenario_hash"]);
    call(&state, "GET", "/v1/scenarios/99", Some(FINANCE), None).await.error(404, "unknown_scenario");
    // A scenario whose changes do not fit is not saved.
    let bad = json!({"name": "bad", "plan": "msp-fy2027", "changes": [{"set": {"name": "nope", "value": "1"}}]});
    post(&state, "/v1/scenarios", HR, bad).await.error(422, "invalid_change");
    // Runs are audited, not saves or reads.
    assert_eq!(state.store().audit_count().unwrap(), 1);
    post(&state, "/v1/simulate", HR, json!({"plan": "nope"})).await.error(404, "unknown_plan");
    assert_eq!(state.store().audit_count().unwrap(), 2);
}

#[tokio::test]
async fn a_reload_keeps_the_old_version_of_a_plan_whose_new_one_fails() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("inline-demo");
    std::fs::create_dir_all(folder.join("data")).unwrap();
    std::fs::write(folder.join("plan.yaml"), INLINE_PLAN).unwrap();
    for (name, text) in inline_data().as_object().unwrap() {
        std::fs::write(folder.join("data").join(name), text.as_str().unwrap()).unwrap();
    }
    let state = state_with(root.path(), Limits::default());
    let before = call(&state, "GET", "/v1/plans/inline-demo", Some(FINANCE), None).await.json();
    std::fs::write(folder.join("plan.yaml"), INLINE_PLAN.replace("rate: 0.05", "rate: [")).unwrap();
    let report = post(&state, "/v1/admin/reload", FINANCE, json!({})).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    let report = report.json();
    assert_eq!(report["kept"][0]["message"], "the plan does not parse", "{report}");
    assert!(report["kept"][0]["diagnostics"][0]["line"].is_number(), "{report}");
    let after = call(&state, "GET", "/v1/plans/inline-demo", Some(FINANCE), None).await.json();
    assert_eq!(before, after);
    // A good edit is served at once.
    std::fs::write(folder.join("plan.yaml"), INLINE_PLAN.replace("rate: 0.05", "rate: 0.07")).unwrap();
    let report = post(&state, "/v1/admin/reload", FINANCE, json!({})).await.json();
    assert_eq!(report["loaded"][0], "inline-demo", "{report}");
    let after = call(&state, "GET", "/v1/plans/inline-demo", Some(FINANCE), None).await.json();
    assert_eq!(after["params"]["rate"], "0.07");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_other_schemes_are_refused() {
    let state = state();
    let ask = |value: String| {
        let request = Request::builder().uri("/v1/plans").header(header::AUTHORIZATION, value).body(Body::empty());
        app(state.clone()).oneshot(request.unwrap())
    };
    assert_eq!(ask(format!("bearer {HR}")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(ask(format!("Basic {HR}")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ask(HR.to_string()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}
