//! The endpoints of SPEC §9: each parses its request, looks up plans and data, runs the
//! engine off the async runtime under the deadline and converts the result to the wire.

use std::time::Instant;

use accrue_engine::{CurveOptions, ExplainOptions, Facts, Scales, SimulateOptions, payout_curve};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use crate::analysis::{
    Loaded, Lookup, inline_data, inline_plan, run_blocking, run_expensive, scenario, scenario_error, served,
};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use crate::store::{AuditEntry, NewScenario};
use crate::wire::{
    AlignmentBody, AlignmentRequest, CurveBody, CurveQuery, ExplainQuery, Health, MonteCarloBody, MonteCarloRequest,
    PlanDetail, PlanList, PlanSummary, ReloadReport, SaveScenarioRequest, SavedScenario, ScenarioRun, SimulateRequest,
    SimulationBody, Target, ValidateRequest, ValidateResponse, diagnostics,
};

/// A JSON body: 413 over the limit, 400 when it is not JSON, 422 when it has the wrong shape
/// (`float_not_allowed` for a JSON float where an exact number is required).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body is over the server's limit")
            } else {
                ApiError::new(ErrorCode::InvalidRequest, format!("cannot read the request body: {rejection}"))
            }
        })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(json_error)
    }
}

fn json_error(err: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = err.to_string();
    let code = match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => ErrorCode::MalformedJson,
        Category::Data if message.contains(crate::wire::FLOAT_MARKER) => ErrorCode::FloatNotAllowed,
        Category::Data => ErrorCode::InvalidRequest,
    };
    let prefix = if code == ErrorCode::MalformedJson { "the body is not valid JSON" } else { "invalid request" };
    ApiError::new(code, format!("{prefix}: {message}"))
}

fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|err| ApiError::new(ErrorCode::InvalidRequest, err.body_text()))
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health, example = json!({"status": "ok", "plans": 3}))))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok".into(), plans: state.catalog().plans.len() })
}

#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "This document (OpenAPI 3.1)")))]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document_json()).into_response()
}

#[utoipa::path(get, path = "/v1/plans", tag = "plans", security(("bearer" = [])),
    responses((status = 200, body = PlanList), (status = 401, body = ErrorBody)))]
pub async fn plans(State(state): State<AppState>) -> Json<PlanList> {
    let catalog = state.catalog();
    let plans = catalog
        .plans
        .values()
        .map(|served| {
            let plan = &served.baseline.plan;
            PlanSummary {
                id: plan.id.clone(),
                name: plan.name.clone(),
                currency: plan.currency.clone(),
                periods: plan.calendar.labels().map(str::to_string).collect(),
                roles: plan.roles.keys().cloned().collect(),
                plan_hash: plan.hash.clone(),
                data_hash: served.data.hash().to_string(),
            }
        })
        .collect();
    Json(PlanList { plans, problems: catalog.problems.clone() })
}

#[utoipa::path(get, path = "/v1/plans/{id}", tag = "plans", security(("bearer" = [])),
    params(("id" = String, Path, description = "A served plan's id", example = "msp-fy2027")),
    responses((status = 200, body = PlanDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn plan(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<PlanDetail>, ApiError> {
    let catalog = state.catalog();
    let served = unknown_plan(&catalog, &id)?;
    Ok(Json(PlanDetail::from_plan(&served.baseline.plan, served.data.hash())))
}

fn unknown_plan(
    catalog: &crate::catalog::Catalog,
    id: &str,
) -> Result<std::sync::Arc<crate::catalog::ServedPlan>, ApiError> {
    served(catalog, id, ErrorCode::UnknownPlan)
}

#[utoipa::path(post, path = "/v1/plans/validate", tag = "plans", security(("bearer" = [])),
    request_body(content = ValidateRequest, example = json!({
        "plan_yaml": "plan: demo\nname: Demo\ncurrency: USD\nyear: 2027\nperiods: quarter\nroles:\n  ae:\n    title: AE\n    components: []\n"
    })),
    responses((status = 200, body = ValidateResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn validate(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ValidateRequest>,
) -> Result<Json<ValidateResponse>, ApiError> {
    let target = request.target();
    let catalog = state.catalog();
    let named_plan = target.plan.as_ref().map(|id| unknown_plan(&catalog, id)).transpose()?;
    let named_data = target.data.as_ref().map(|id| served(&catalog, id, ErrorCode::UnknownData)).transpose()?;
    let inline_yaml = match (&named_plan, target.plan_yaml.clone()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(ErrorCode::InvalidRequest, "give either `plan` or `plan_yaml`, not both"));
        }
        (None, None) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "give `plan_yaml` (inline) or `plan` (a served plan)",
            ));
        }
        (_, yaml) => yaml,
    };
    let limits = state.script_limits();
    run_blocking(state.simulations(), state.limits().deadline, move |_deadline| {
        let input = match (&named_plan, &inline_yaml) {
            (Some(served), _) => (*served.input).clone(),
            (None, yaml) => {
                let scripts: Vec<(String, String)> = target.scripts.into_iter().collect();
                match inline_plan(yaml.as_deref().unwrap_or_default(), &scripts, limits) {
                    Ok(input) => input,
                    Err(err) => return Ok(Json(invalid(None, err.details))),
                }
            }
        };
        let plan = match input.compile() {
            Ok(plan) => plan,
            Err(d) => return Ok(Json(invalid(None, diagnostics(&d.0)))),
        };
        let mut found = diagnostics(&plan.warnings);
        let data = match (named_data, target.data_inline) {
            (Some(served), _) => Some(served.data.clone()),
            (None, Some(files)) => {
                let files: Vec<(String, String)> = files.into_iter().collect();
                match inline_data(&files) {
                    Ok(data) => Some(std::sync::Arc::new(data)),
                    Err(err) => {
                        found.extend(err.details);
                        return Ok(Json(invalid(Some(&plan), found)));
                    }
                }
            }
            (None, None) => None,
        };
        if let Some(data) = data {
            match Facts::index(&data, &plan, &Scales::new()) {
                Ok(facts) => {
                    let warnings: Vec<_> =
                        facts.warnings.iter().map(|w| accrue_engine::Diagnostic::warning(w.clone())).collect();
                    found.extend(diagnostics(&warnings));
                    found
                        .extend(accrue_engine::coverage(&plan, &facts).as_ref().map(crate::wire::DiagnosticBody::from));
                }
                Err(d) => found.extend(diagnostics(&d.0)),
            }
        }
        let ok = !found.iter().any(|d| d.severity == "error");
        Ok(Json(ValidateResponse {
            ok,
            plan: Some(plan.id.clone()),
            plan_hash: Some(plan.hash.clone()),
            diagnostics: found,
        }))
    })
    .await
}

fn invalid(plan: Option<&accrue_engine::Plan>, found: Vec<crate::wire::DiagnosticBody>) -> ValidateResponse {
    ValidateResponse {
        ok: false,
        plan: plan.map(|p| p.id.clone()),
        plan_hash: plan.map(|p| p.hash.clone()),
        diagnostics: found,
    }
}

/// Simulates on a loaded plan and data: blocking work.
fn simulate_loaded(
    loaded: &Loaded,
    changes: &[crate::wire::ChangeBody],
    top: Option<u64>,
    deadline: &accrue_engine::Deadline,
) -> Result<SimulationBody, ApiError> {
    let scenario = scenario(changes, &loaded.input)?;
    let options = SimulateOptions {
        top: top.map_or(10, |t| usize::try_from(t).unwrap_or(usize::MAX)),
        deadline: deadline.clone(),
    };
    let result = accrue_engine::simulate(&loaded.input, &loaded.data, &loaded.baseline, &scenario, &options)
        .map_err(scenario_error)?;
    Ok(SimulationBody::from(&result))
}

/// Appends an audit row off the runtime; a failure is logged, never shown to the caller.
async fn audit(state: &AppState, entry: AuditEntry) {
    // On the audit writer's own thread (`AuditWriter`), not one blocking thread per request.
    if let Err(err) = state.audit().write(entry).await {
        tracing::error!(error = %err, "cannot write the audit row");
    }
}

fn status_of<T>(result: &Result<T, ApiError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(err) => err.code.status().as_u16(),
    }
}

#[utoipa::path(post, path = "/v1/simulate", tag = "analysis", security(("bearer" = [])),
    request_body(content = SimulateRequest, example = json!({
        "plan": "msp-fy2027", "data": "msp-fy2027",
        "changes": [{"set": {"name": "ae_base_rate", "value": "0.06"}},
                    {"scale": {"selector": "ae", "measure": "bookings", "factor": "1.1"}}],
        "top": 5
    })),
    responses((status = 200, body = SimulationBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn simulate(
    State(state): State<AppState>,
    axum::Extension(Caller(role)): axum::Extension<Caller>,
    ApiJson(request): ApiJson<SimulateRequest>,
) -> Result<Json<SimulationBody>, ApiError> {
    let started = Instant::now();
    let result = simulate_request(&state, &request).await;
    audit(
        &state,
        AuditEntry {
            role: role.to_string(),
            endpoint: "simulate".into(),
            plan_hash: result.as_ref().ok().map(|r| r.plan_hash.clone()),
            scenario_hash: result.as_ref().ok().map(|r| r.scenario_hash.clone()),
            status: status_of(&result),
            duration_ms: started.elapsed().as_millis() as u64,
        },
    )
    .await;
    result.map(Json)
}

async fn simulate_request(state: &AppState, request: &SimulateRequest) -> Result<SimulationBody, ApiError> {
    let lookup = Lookup::new(&state.catalog(), &request.target())?;
    let limits = state.script_limits();
    let changes = request.changes.clone();
    let top = request.top;
    run_blocking(state.simulations(), state.limits().deadline, move |deadline| {
        let loaded = lookup.load(limits)?;
        simulate_loaded(&loaded, &changes, top, deadline)
    })
    .await
}

#[utoipa::path(post, path = "/v1/montecarlo", tag = "analysis", security(("bearer" = [])),
    request_body(content = MonteCarloRequest, example = json!({
        "plan": "msp-fy2027", "draws": 200, "seed": 7,
        "spread": {"ae": "0.3", "company": "0.15"}, "correlation": "0.5"
    })),
    responses((status = 200, body = MonteCarloBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn montecarlo(
    State(state): State<AppState>,
    axum::Extension(Caller(role)): axum::Extension<Caller>,
    ApiJson(request): ApiJson<MonteCarloRequest>,
) -> Result<Json<MonteCarloBody>, ApiError> {
    let started = Instant::now();
    let result = montecarlo_request(&state, request).await;
    audit(
        &state,
        AuditEntry {
            role: role.to_string(),
            endpoint: "montecarlo".into(),
            plan_hash: result.as_ref().ok().map(|r| r.plan_hash.clone()),
            scenario_hash: result.as_ref().ok().map(|r| r.scenario_hash.clone()),
            status: status_of(&result),
            duration_ms: started.elapsed().as_millis() as u64,
        },
    )
    .await;
    result.map(Json)
}

async fn montecarlo_request(state: &AppState, request: MonteCarloRequest) -> Result<MonteCarloBody, ApiError> {
    let draws = request.draws.unwrap_or(1000);
    if draws == 0 || draws > u64::from(accrue_engine::MAX_DRAWS) {
        return Err(ApiError::new(
            ErrorCode::LimitExceeded,
            format!("draws must be 1 to {}, found {draws}", accrue_engine::MAX_DRAWS),
        ));
    }
    let mut options = accrue_engine::MonteCarloOptions {
        draws: u32::try_from(draws).unwrap_or(u32::MAX),
        seed: request.seed.unwrap_or(0),
        ..Default::default()
    };
    for (who, sigma) in &request.spread {
        let sigma = sigma.decimal(&format!("spread.{who}"))?;
        if who == "company" {
            options.company_spread = Some(sigma);
        } else {
            options.spreads.insert(who.clone(), sigma);
        }
    }
    options.correlation = request.correlation.as_ref().map(|c| c.decimal("correlation")).transpose()?;
    options.budget = request.budget.as_ref().map(|b| b.decimal("budget")).transpose()?;
    let lookup = Lookup::new(&state.catalog(), &request.target())?;
    let limits = state.script_limits();
    let changes = request.changes;
    run_expensive(state.analyses(), state.limits().deadline, move |deadline| {
        let loaded = lookup.load(limits)?;
        let scenario = scenario(&changes, &loaded.input)?;
        // The engine checks the deadline between draws, between payees and in script calls.
        options.deadline = deadline.clone();
        let result = accrue_engine::montecarlo(&loaded.input, &loaded.data, &scenario, &options, &|_| true)
            .map_err(scenario_error)?;
        Ok(MonteCarloBody::from(&result))
    })
    .await
}

#[utoipa::path(post, path = "/v1/alignment", tag = "analysis", security(("bearer" = [])),
    request_body(content = AlignmentRequest, example = json!({
        "plan": "hardware-reseller", "revenue": "0.5:1.5:0.1", "margin": ["-0.10", "0", "0.10"]
    })),
    responses((status = 200, body = AlignmentBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn alignment(
    State(state): State<AppState>,
    axum::Extension(Caller(role)): axum::Extension<Caller>,
    ApiJson(request): ApiJson<AlignmentRequest>,
) -> Result<Json<AlignmentBody>, ApiError> {
    let started = Instant::now();
    let result = alignment_request(&state, request).await;
    audit(
        &state,
        AuditEntry {
            role: role.to_string(),
            endpoint: "alignment".into(),
            plan_hash: result.as_ref().ok().map(|r| r.plan_hash.clone()),
            scenario_hash: result.as_ref().ok().map(|r| r.scenario_hash.clone()),
            status: status_of(&result),
            duration_ms: started.elapsed().as_millis() as u64,
        },
    )
    .await;
    result.map(Json)
}

/// How many values `FROM:TO:STEP` makes, when it is well formed (the engine says why not).
fn range_len(text: &str) -> Option<Decimal> {
    let mut parts = text.split(':').map(|p| accrue_engine::parse_decimal(p.trim(), accrue_engine::NumberStyle::Text));
    let (Some(Ok(from)), Some(Ok(to)), Some(Ok(step)), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if step <= Decimal::ZERO || to < from {
        return None;
    }
    ((to - from) / step).floor().checked_add(Decimal::ONE)
}

async fn alignment_request(state: &AppState, request: AlignmentRequest) -> Result<AlignmentBody, ApiError> {
    let mut options = accrue_engine::AlignOptions::default();
    if let Some(text) = &request.revenue {
        let max = accrue_engine::MAX_REVENUE_STEPS;
        if range_len(text).is_some_and(|n| n > Decimal::from(max)) {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("revenue `{text}` makes more than {max} steps"),
            ));
        }
        options.revenue = accrue_engine::parse_range(text).map_err(scenario_error)?;
    }
    if let Some(margin) = &request.margin {
        let max = accrue_engine::MAX_MARGIN_STEPS;
        if margin.len() > max {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("margin has {} values; at most {max}", margin.len()),
            ));
        }
        let list: Vec<String> = margin.iter().map(|m| m.0.trim().to_string()).collect();
        options.margin = accrue_engine::parse_list(&list.join(",")).map_err(scenario_error)?;
    }
    options.follow = request.follow.clone();
    let lookup = Lookup::new(&state.catalog(), &request.target())?;
    let limits = state.script_limits();
    let changes = request.changes;
    // The engine checks the deadline between cells, between payees and in script calls.
    run_expensive(state.analyses(), state.limits().deadline, move |deadline| {
        options.deadline = deadline.clone();
        let loaded = lookup.load(limits)?;
        let scenario = scenario(&changes, &loaded.input)?;
        let result = accrue_engine::align(&loaded.input, &loaded.data, &scenario, &options).map_err(scenario_error)?;
        Ok(AlignmentBody::from(&result))
    })
    .await
}

#[utoipa::path(get, path = "/v1/plans/{id}/curve", tag = "plans", security(("bearer" = [])),
    params(("id" = String, Path, example = "msp-fy2027"), CurveQuery),
    responses((status = 200, body = CurveBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn curve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Json<CurveBody>, ApiError> {
    let q: CurveQuery = query(&uri)?;
    let served = unknown_plan(&state.catalog(), &id)?;
    let number = |what: &str, text: &Option<String>, default: Decimal| -> Result<Decimal, ApiError> {
        match text {
            None => Ok(default),
            Some(t) => crate::wire::Exact(t.clone()).decimal(what),
        }
    };
    let steps = match &q.steps {
        None => 40,
        Some(t) => t
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, format!("steps: `{t}` is not a whole number")))?,
    };
    if steps == 0 || steps > MAX_CURVE_STEPS {
        return Err(ApiError::new(
            ErrorCode::LimitExceeded,
            format!("steps must be 1 to {MAX_CURVE_STEPS}, found {steps}"),
        ));
    }
    let options = CurveOptions {
        from: number("from", &q.from, Decimal::ZERO)?,
        to: number("to", &q.to, Decimal::TWO)?,
        steps,
        quota: number("quota", &q.quota, Decimal::from(1_000_000))?,
        component: q.component.clone(),
        // The even steps the caller asked for, no more.
        breakpoints: false,
    };
    let plan_id = id.clone();
    run_blocking(state.simulations(), state.limits().deadline, move |_deadline| {
        let plan = &served.baseline.plan;
        if plan.role(&q.role).is_none() {
            return Err(unknown_role(plan, &q.role));
        }
        let curve = payout_curve(plan, &q.role, &options).map_err(|m| ApiError::new(ErrorCode::InvalidRequest, m))?;
        Ok(Json(CurveBody::from_curve(&plan_id, plan.minor_units, &curve)))
    })
    .await
}

/// The most points a curve request may ask for.
pub const MAX_CURVE_STEPS: usize = 1000;

fn unknown_role(plan: &accrue_engine::Plan, role: &str) -> ApiError {
    let roles: Vec<&str> = plan.roles.keys().map(String::as_str).collect();
    ApiError::new(ErrorCode::UnknownRole, format!("no role `{role}` in plan {} (roles: {})", plan.id, roles.join(", ")))
}

#[utoipa::path(get, path = "/v1/plans/{id}/explain", tag = "plans", security(("bearer" = [])),
    params(("id" = String, Path, example = "msp-fy2027"), ExplainQuery),
    responses((status = 200, description = "Markdown (text/markdown), or HTML with `Accept: text/html`", content_type = "text/markdown"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn explain(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: ExplainQuery = query(&uri)?;
    let served = unknown_plan(&state.catalog(), &id)?;
    let quota = match &q.quota {
        None => Decimal::from(1_000_000),
        Some(t) => crate::wire::Exact(t.clone()).decimal("quota")?,
    };
    let html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    run_blocking(state.simulations(), state.limits().deadline, move |_deadline| {
        let plan = &served.baseline.plan;
        if plan.role(&q.role).is_none() {
            return Err(unknown_role(plan, &q.role));
        }
        let explanation = accrue_engine::explain(plan, &q.role, &ExplainOptions { quota })
            .map_err(|err| ApiError::new(ErrorCode::InvalidRequest, err.to_string()))?;
        Ok(if html {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], explanation.to_html()).into_response()
        } else {
            ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], explanation.to_markdown()).into_response()
        })
    })
    .await
}

#[utoipa::path(post, path = "/v1/scenarios", tag = "scenarios", security(("bearer" = [])),
    request_body(content = SaveScenarioRequest, example = json!({
        "name": "AE rate 6 %", "plan": "msp-fy2027",
        "changes": [{"set": {"name": "ae_base_rate", "value": "0.06"}}]
    })),
    responses((status = 201, body = SavedScenario), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn save_scenario(
    State(state): State<AppState>,
    axum::Extension(Caller(role)): axum::Extension<Caller>,
    ApiJson(request): ApiJson<SaveScenarioRequest>,
) -> Result<(StatusCode, Json<SavedScenario>), ApiError> {
    if request.name.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "a saved scenario needs a `name`"));
    }
    let data = request.data.clone().unwrap_or_else(|| request.plan.clone());
    let target = Target { plan: Some(request.plan.clone()), data: Some(data.clone()), ..Target::default() };
    let lookup = Lookup::new(&state.catalog(), &target)?;
    let limits = state.script_limits();
    let store = state.store().clone();
    run_blocking(state.simulations(), state.limits().deadline, move |deadline| {
        // Simulated once: the changes are checked against the plan and the hashes recorded.
        let loaded = lookup.load(limits)?;
        let result = simulate_loaded(&loaded, &request.changes, request.top, deadline)?;
        let saved = store
            .save(&NewScenario {
                name: request.name.trim().to_string(),
                plan: request.plan.clone(),
                data,
                plan_hash: result.plan_hash,
                data_hash: result.data_hash,
                scenario_hash: result.scenario_hash,
                changes: request.changes,
                top: request.top,
                saved_by: role.to_string(),
            })
            .map_err(ApiError::internal)?;
        Ok((StatusCode::CREATED, Json(saved)))
    })
    .await
}

#[utoipa::path(get, path = "/v1/scenarios", tag = "scenarios", security(("bearer" = [])),
    responses((status = 200, body = Vec<SavedScenario>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_scenarios(State(state): State<AppState>) -> Result<Json<Vec<SavedScenario>>, ApiError> {
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || store.list())
        .await
        .map_err(ApiError::internal)?
        .map(Json)
        .map_err(ApiError::internal)
}

async fn find_scenario(state: &AppState, id: &str) -> Result<SavedScenario, ApiError> {
    let not_found = || ApiError::new(ErrorCode::UnknownScenario, format!("no saved scenario `{id}`"));
    let number: i64 = id.parse().map_err(|_| not_found())?;
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || store.get(number))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?
        .ok_or_else(not_found)
}

#[utoipa::path(get, path = "/v1/scenarios/{id}", tag = "scenarios", security(("bearer" = [])),
    params(("id" = String, Path, example = "1")),
    responses((status = 200, body = SavedScenario), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_scenario(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SavedScenario>, ApiError> {
    find_scenario(&state, &id).await.map(Json)
}

#[utoipa::path(post, path = "/v1/scenarios/{id}/run", tag = "scenarios", security(("bearer" = [])),
    params(("id" = String, Path, example = "1")),
    responses((status = 200, body = ScenarioRun), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn run_scenario(
    State(state): State<AppState>,
    axum::Extension(Caller(role)): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<ScenarioRun>, ApiError> {
    let started = Instant::now();
    let saved = find_scenario(&state, &id).await?;
    let target = Target { plan: Some(saved.plan.clone()), data: Some(saved.data.clone()), ..Target::default() };
    let lookup = Lookup::new(&state.catalog(), &target)?;
    let limits = state.script_limits();
    let changes = saved.changes.clone();
    let top = saved.top;
    let result = run_blocking(state.simulations(), state.limits().deadline, move |deadline| {
        let loaded = lookup.load(limits)?;
        simulate_loaded(&loaded, &changes, top, deadline)
    })
    .await;
    audit(
        &state,
        AuditEntry {
            role: role.to_string(),
            endpoint: "scenarios/run".into(),
            plan_hash: result.as_ref().ok().map(|r| r.plan_hash.clone()),
            scenario_hash: result.as_ref().ok().map(|r| r.scenario_hash.clone()),
            status: status_of(&result),
            duration_ms: started.elapsed().as_millis() as u64,
        },
    )
    .await;
    let result = result?;
    Ok(Json(ScenarioRun {
        plan_changed: result.plan_hash != saved.plan_hash,
        data_changed: result.data_hash != saved.data_hash,
        scenario: saved,
        result,
    }))
}

#[utoipa::path(post, path = "/v1/admin/reload", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ReloadReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reload(State(state): State<AppState>) -> Result<Json<ReloadReport>, ApiError> {
    state.reload().await.map(Json).map_err(ApiError::internal)
}

/// Unknown routes.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no endpoint {}", uri.path()))
}

/// A known route called with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not take that method")
}
