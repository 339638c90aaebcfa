//! From a request to the engine: served or inline plans and data (inline ones through the
//! engine's in-memory sources, never a temporary folder), the wire's changes as engine
//! changes, and engine work run off the async runtime under the request's deadline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use accrue_engine::{
    Baseline, Change, DATA_FILES, DataSet, Deadline, Memory, PlanInput, Scenario, ScenarioError, ScriptLimits, Selector,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::catalog::{Catalog, ServedPlan};
use crate::error::{ApiError, ErrorCode};
use crate::wire::{ChangeBody, Target, diagnostics};

/// Where inline plans live in their in-memory sources; diagnostics name this file.
const INLINE_PLAN: &str = "plan_yaml";
/// Where inline data lives.
const INLINE_DATA: &str = "data_inline";

/// The plan of a request: served (parsed at load) or inline (parsed for this request).
#[derive(Debug)]
pub enum PlanRef {
    Served(Arc<ServedPlan>),
    Inline { yaml: String, scripts: Vec<(String, String)> },
}

/// The data of a request.
#[derive(Debug)]
pub enum DataRef {
    Served(Arc<ServedPlan>),
    Inline(Vec<(String, String)>),
}

/// A request's plan and data, looked up (cheap, on the runtime) before any engine work.
#[derive(Debug)]
pub struct Lookup {
    pub plan: PlanRef,
    pub data: DataRef,
}

impl Lookup {
    /// Finds the served plan and data a request names; 404 for unknown ones, 422 when a
    /// request names neither or both.
    pub fn new(catalog: &Catalog, target: &Target) -> Result<Lookup, ApiError> {
        let plan = match (&target.plan, &target.plan_yaml) {
            (Some(_), Some(_)) => {
                return Err(ApiError::new(ErrorCode::InvalidRequest, "give either `plan` or `plan_yaml`, not both"));
            }
            (None, None) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "the request names no plan: give `plan` (a served plan's id) or `plan_yaml` (inline)",
                ));
            }
            (Some(id), None) => PlanRef::Served(served(catalog, id, ErrorCode::UnknownPlan)?),
            (None, Some(yaml)) => PlanRef::Inline {
                yaml: yaml.clone(),
                scripts: target.scripts.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            },
        };
        let data = match (&target.data, &target.data_inline) {
            (Some(_), Some(_)) => {
                return Err(ApiError::new(ErrorCode::InvalidRequest, "give either `data` or `data_inline`, not both"));
            }
            (Some(id), None) => DataRef::Served(served(catalog, id, ErrorCode::UnknownData)?),
            (None, Some(files)) => {
                for name in files.keys() {
                    if !DATA_FILES.contains(&name.as_str()) {
                        return Err(ApiError::new(
                            ErrorCode::InvalidData,
                            format!("`data_inline` has no file `{name}` (files: {})", DATA_FILES.join(", ")),
                        ));
                    }
                }
                DataRef::Inline(files.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            // A served plan's own data by default.
            (None, None) => match &plan {
                PlanRef::Served(plan) => DataRef::Served(plan.clone()),
                PlanRef::Inline { .. } => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        "an inline plan needs `data` (a served data set) or `data_inline`",
                    ));
                }
            },
        };
        Ok(Lookup { plan, data })
    }

    /// Parses what is inline and builds the baseline (reused when the plan and data are a
    /// served plan's own). Blocking work.
    pub fn load(self, limits: ScriptLimits) -> Result<Loaded, ApiError> {
        let input = match &self.plan {
            PlanRef::Served(plan) => plan.input.clone(),
            PlanRef::Inline { yaml, scripts } => Arc::new(inline_plan(yaml, scripts, limits)?),
        };
        let data = match &self.data {
            DataRef::Served(plan) => plan.data.clone(),
            DataRef::Inline(files) => Arc::new(inline_data(files)?),
        };
        let baseline = match (&self.plan, &self.data) {
            (PlanRef::Served(plan), DataRef::Served(owner)) if Arc::ptr_eq(plan, owner) => plan.baseline.clone(),
            _ => Arc::new(Baseline::new(&input, &data).map_err(scenario_error)?),
        };
        Ok(Loaded { input, data, baseline })
    }
}

/// A request's plan, data and baseline, ready for the engine.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub input: Arc<PlanInput>,
    pub data: Arc<DataSet>,
    pub baseline: Arc<Baseline>,
}

pub fn served(catalog: &Catalog, id: &str, code: ErrorCode) -> Result<Arc<ServedPlan>, ApiError> {
    catalog.plans.get(id).cloned().ok_or_else(|| {
        let what = if code == ErrorCode::UnknownData { "data set" } else { "plan" };
        let known: Vec<&str> = catalog.plans.keys().map(String::as_str).collect();
        ApiError::new(code, format!("no served {what} `{id}` (served: {})", known.join(", ")))
    })
}

/// An inline plan and its scripts in memory: `plan_yaml/plan.yaml`, scripts relative to it.
pub fn inline_plan(yaml: &str, scripts: &[(String, String)], limits: ScriptLimits) -> Result<PlanInput, ApiError> {
    let dir = Path::new(INLINE_PLAN);
    let mut memory = Memory::new();
    memory.insert(dir.join("plan.yaml"), yaml);
    for (path, text) in scripts {
        if Path::new(path).is_absolute() {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("script path `{path}` must be relative to the plan"),
            ));
        }
        memory.insert(dir.join(path), text.as_str());
    }
    PlanInput::read(Arc::new(memory), &dir.join("plan.yaml"), limits).map_err(|d| {
        ApiError::new(ErrorCode::InvalidPlan, "the inline plan is not valid").with_details(diagnostics(&d.0))
    })
}

/// Inline CSV texts as a data set named `data_inline/NAME`.
pub fn inline_data(files: &[(String, String)]) -> Result<DataSet, ApiError> {
    DataSet::from_texts(Path::new(INLINE_DATA), files.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|d| {
        ApiError::new(ErrorCode::InvalidData, "the inline data is not valid").with_details(diagnostics(&d.0))
    })
}

/// A scenario error as an answer: a malformed change is `invalid_change`; a changed plan that
/// does not compile `invalid_plan` (located); data that does not fit `invalid_data`; a run
/// stopped at the request's deadline `deadline_exceeded`.
pub fn scenario_error(err: ScenarioError) -> ApiError {
    let details = diagnostics(err.diagnostics());
    let code = match &err {
        ScenarioError::Usage { .. } | ScenarioError::Invalid { .. } => ErrorCode::InvalidChange,
        ScenarioError::Plan { .. } => ErrorCode::InvalidPlan,
        ScenarioError::Data { .. } => ErrorCode::InvalidData,
        ScenarioError::Cancelled | ScenarioError::TimeLimit { .. } => ErrorCode::DeadlineExceeded,
        // A variant added to the engine later: a 500 names it for a fix, not a wrong 4xx.
        _ => return ApiError::internal(format!("unmapped scenario error: {err}")),
    };
    ApiError::new(code, err.to_string()).with_details(details)
}

/// The wire's changes as the engine's scenario; overlays and plan B are read against the
/// plan's own sources and folder.
pub fn scenario(changes: &[ChangeBody], input: &PlanInput) -> Result<Scenario, ApiError> {
    let dir: PathBuf = input.source.path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut out = Vec::with_capacity(changes.len());
    for (i, change) in changes.iter().enumerate() {
        let change = match change {
            ChangeBody::Set(set) => {
                let value = set.value.decimal(&format!("changes[{i}].set.value"))?;
                if set.name.trim().is_empty() {
                    return Err(ApiError::new(
                        ErrorCode::InvalidChange,
                        format!("changes[{i}].set names no parameter"),
                    ));
                }
                Change::Set { name: set.name.trim().to_string(), value }
            }
            ChangeBody::Scale(scale) => {
                let factor = scale.factor.decimal(&format!("changes[{i}].scale.factor"))?;
                Change::scale(selector(&scale.selector, i)?, scale.measure.trim(), factor).map_err(scenario_error)?
            }
            ChangeBody::OverlayYaml(text) => {
                Change::Overlay { file: format!("overlay_yaml[{i}]"), dir: dir.clone(), text: Arc::from(text.as_str()) }
            }
            ChangeBody::PlanBYaml(text) => Change::PlanB {
                file: format!("plan_b_yaml[{i}]"),
                path: dir.join("plan_b.yaml"),
                text: Arc::from(text.as_str()),
                sources: input.source.sources.clone(),
            },
        };
        out.push(change);
    }
    Ok(Scenario::new(out))
}

fn selector(text: &str, i: usize) -> Result<Selector, ApiError> {
    // The engine's own parsing, so the API and the command line read selectors alike.
    Selector::parse(text.trim())
        .map_err(|err| ApiError::new(ErrorCode::InvalidChange, format!("changes[{i}].scale.selector: {err}")))
}

/// Runs CPU-bound engine work on a blocking thread, holding a permit of `pool` (waited for
/// within the deadline), and answers 503 `deadline_exceeded` when the deadline passes.
///
/// The work gets the request's [`Deadline`] to hand to the engine: it passes at the
/// request's deadline, and is cancelled when the request's future is dropped (the answer
/// went out, the client left), so the engine stops within a payee's time, a script call
/// included, and the permit is free again.
pub async fn run_blocking<T: Send + 'static>(
    pool: Arc<Semaphore>,
    deadline: Duration,
    work: impl FnOnce(&Deadline) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let until = Instant::now() + deadline;
    let engine_deadline = Deadline::after(deadline);
    let permit = match tokio::time::timeout_at(until, pool.acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(closed)) => return Err(ApiError::internal(closed)),
        Err(_) => return Err(past_deadline(deadline)),
    };
    finish(permit, until, deadline, engine_deadline, work).await
}

/// Like [`run_blocking`], but answers 429 at once when the pool is full (Monte Carlo and
/// alignment: a queue of them would only time out).
pub async fn run_expensive<T: Send + 'static>(
    pool: Arc<Semaphore>,
    deadline: Duration,
    work: impl FnOnce(&Deadline) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let until = Instant::now() + deadline;
    let engine_deadline = Deadline::after(deadline);
    let Ok(permit) = pool.try_acquire_owned() else {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            "too many Monte Carlo and alignment runs at once: retry in a moment",
        ));
    };
    finish(permit, until, deadline, engine_deadline, work).await
}

/// Cancels the engine's deadline when dropped: when the request's future ends, whichever way.
struct CancelOnDrop(Deadline);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

async fn finish<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    until: Instant,
    deadline: Duration,
    engine_deadline: Deadline,
    work: impl FnOnce(&Deadline) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _cancel = CancelOnDrop(engine_deadline.clone());
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work(&engine_deadline)
    });
    match tokio::time::timeout_at(until, task).await {
        // The engine saw the deadline first: the same answer as the timer's.
        Ok(Ok(Err(err))) if err.code == ErrorCode::DeadlineExceeded => Err(past_deadline(deadline)),
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(ApiError::internal(format!("engine task failed: {join}"))),
        Err(_) => Err(past_deadline(deadline)),
    }
}

fn past_deadline(deadline: Duration) -> ApiError {
    ApiError::new(
        ErrorCode::DeadlineExceeded,
        format!("the request did not finish within its deadline of {} ms", deadline.as_millis()),
    )
}
