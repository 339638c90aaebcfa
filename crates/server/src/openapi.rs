//! The OpenAPI 3.1 document, generated from the handlers' request and response types
//! (utoipa), with the bearer scheme and every error code.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorCode, ErrorDetail};
use crate::handlers;
use crate::wire::{
    AlignmentBody, AlignmentRequest, AttainmentBody, BinBody, CellBody, ChangeBody, ChangeReportBody, ComponentDetail,
    CostOfSalesBody, CoverageBody, CurveBody, CurvePointBody, DiagnosticBody, DistributionBody, FindingBody, Health,
    LoadProblem, MonteCarloBody, MonteCarloRequest, PayeeDeltaBody, PlanDetail, PlanList, PlanSummary, ReloadReport,
    RoleDetail, RunFailureBody, SaveScenarioRequest, SavedScenario, ScaleChange, ScenarioRun, SetChange,
    SimulateRequest, SimulationBody, SkippedComponent, SumsBody, ValidateRequest, ValidateResponse,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Accrue",
        description = "Sales-compensation plans computed exactly and explained (SPEC §9). Amounts, ratios and \
            every number in a request are strings; a JSON integer is accepted where a number is, a JSON float \
            is refused (`float_not_allowed`). Errors are `{\"error\":{\"code\",\"message\",\"details\"}}` with \
            a stable code from `ErrorCode`."
    ),
    paths(
        handlers::healthz,
        handlers::openapi,
        handlers::plans,
        handlers::plan,
        handlers::validate,
        handlers::simulate,
        handlers::montecarlo,
        handlers::alignment,
        handlers::curve,
        handlers::explain,
        handlers::save_scenario,
        handlers::list_scenarios,
        handlers::get_scenario,
        handlers::run_scenario,
        handlers::reload,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, ErrorCode, DiagnosticBody, Health, PlanList, PlanSummary, LoadProblem, PlanDetail,
        RoleDetail, ComponentDetail, ValidateRequest, ValidateResponse, SimulateRequest, ChangeBody, SetChange,
        ScaleChange, SimulationBody, SumsBody, ChangeReportBody, CostOfSalesBody, PayeeDeltaBody, RunFailureBody,
        CurveBody, CurvePointBody, SkippedComponent, SaveScenarioRequest, SavedScenario, ScenarioRun, ReloadReport,
        MonteCarloRequest, MonteCarloBody, DistributionBody, AttainmentBody, BinBody, AlignmentRequest, AlignmentBody,
        CellBody, FindingBody, CoverageBody,
    )),
    modifiers(&Bearer),
    tags(
        (name = "health", description = "Liveness and this document; no token"),
        (name = "plans", description = "Served plans, validation, payout curves and explanations"),
        (name = "analysis", description = "What-if analysis (SPEC §12)"),
        (name = "scenarios", description = "Saved scenarios (hr, finance)"),
        (name = "admin", description = "Operations (finance)"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token of role finance, hr or exec (SPEC §9's matrix: plans, curve and explain any role; \
                         validate and reload finance; simulate, Monte Carlo and scenarios hr or finance; alignment \
                         exec or finance)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON, generated once.
pub fn document_json() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_string())).clone()
}
