//! The compiler: a [`PlanSource`] and a [`Registry`] make a [`Plan`] — the plan model with
//! each role's components built by their types — checked and linted, every problem reported.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;

use super::Registry;
use crate::calendar::Calendar;
use crate::component::{BuildContext, Component};
use crate::diagnostic::{Diagnostic, Diagnostics, Span, did_you_mean, fill_codes};
use crate::error::Code;
use crate::measure::Aggregate;
use crate::plan::{ModelParts, PlanModel, PlanSource, RoleRules, check_id, role_rules};
use crate::script::ScriptLimits;
use crate::source::Sources;
use crate::spanned::Spanned;
use crate::spec::RoleSpec;
use crate::statement::Name;
use crate::yaml::Node;

/// A compiled, validated plan: the [`PlanModel`] and each role's components.
///
/// It dereferences to its model, so `plan.calendar`, `plan.id` or `plan.company` read as
/// before the split; `plan.roles` are the compiled roles (the model's rules plus components),
/// which dereference to their [`RoleRules`] in turn (`role.quota`, `role.target_incentive`).
#[derive(Debug, Clone)]
pub struct Plan {
    model: PlanModel,
    pub roles: IndexMap<String, Role>,
}

impl Deref for Plan {
    type Target = PlanModel;
    fn deref(&self) -> &PlanModel {
        &self.model
    }
}

impl Plan {
    /// The model, to change what a scenario changes after compiling (the company's annual
    /// values under a `scale`).
    pub(crate) fn model_mut(&mut self) -> &mut PlanModel {
        &mut self.model
    }

    /// Reads and compiles a plan with the built-in components, the plugins found for it and
    /// no overrides.
    pub fn load(path: &Path) -> Result<Plan, Diagnostics> {
        let registry = Registry::for_plan(path, ScriptLimits::default());
        PlanSource::read(path)?.compile(&registry, &IndexMap::new())
    }

    /// The plan without its components: what data indexing and quota schedules read.
    pub fn model(&self) -> &PlanModel {
        &self.model
    }

    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.get(id)
    }
}

/// A compiled role: its [`RoleRules`] and its components, in plan order.
#[derive(Debug, Clone)]
pub struct Role {
    rules: RoleRules,
    pub components: Vec<Arc<dyn Component>>,
    /// The components' ids, shared by every statement line.
    pub component_ids: Vec<Name>,
}

impl Deref for Role {
    type Target = RoleRules;
    fn deref(&self) -> &RoleRules {
        &self.rules
    }
}

impl Role {
    pub fn rules(&self) -> &RoleRules {
        &self.rules
    }
}

impl PlanSource {
    /// Validates and compiles, with `overrides` replacing parameters by name.
    pub fn compile(&self, registry: &Registry, overrides: &IndexMap<String, Decimal>) -> Result<Plan, Diagnostics> {
        let mut diagnostics = self.parse_diagnostics.clone();
        let plan = self.compile_inner(registry, overrides, &mut diagnostics);
        // Problems found without a more precise code are problems with the plan's values.
        fill_codes(&mut diagnostics, Code::PlanInvalid);
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(Diagnostics(diagnostics));
        }
        let mut plan = plan.ok_or_else(|| Diagnostics(diagnostics.clone()))?;
        plan.model.warnings = diagnostics;
        Ok(plan)
    }

    fn compile_inner(
        &self,
        registry: &Registry,
        overrides: &IndexMap<String, Decimal>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Plan> {
        diagnostics.extend(registry.problems().iter().cloned());
        let ModelParts { mut model, spec, captured } = self.model(overrides, diagnostics)?;
        let file = &self.file;
        let mut roles = IndexMap::new();
        let mut files = Vec::new();
        let mut reads = MeasureReads::default();
        for (role_id, role_spec) in &spec.roles {
            check_id(role_id, "role", file, diagnostics);
            let rules = role_rules(role_id, role_spec, &model.measures, &model.calendar, file, diagnostics);
            let components = build_components(
                role_id,
                role_spec,
                &rules,
                RoleInputs {
                    sources: &*self.sources,
                    file,
                    dir: self.path.parent().unwrap_or(Path::new(".")),
                    params: &model.params,
                    measures: &model.measures,
                    company: &model.company,
                    calendar: &model.calendar,
                    captured: &captured,
                    registry,
                },
                &mut files,
                &mut reads,
                diagnostics,
            );
            let blend_scores = || rules.quota.blend.iter().flat_map(|b| &b.scores);
            reads.margin |= blend_scores().any(|s| s.measure.reads_margin());
            let cash_score = blend_scores().any(|s| matches!(s.measure, crate::measure::MeasureRef::Collected(_)));
            if cash_score && !reads.collected_roles.contains(&role_id.value) {
                reads.collected_roles.push(role_id.value.clone());
            }
            model.roles.insert(role_id.value.clone(), rules.clone());
            let component_ids = components.iter().map(|c| Name::from(c.id())).collect();
            roles.insert(role_id.value.clone(), Role { rules, components, component_ids });
        }
        if spec.roles.is_empty() {
            diagnostics.push(Diagnostic::error("the plan has no roles").at(file, spec.plan.span));
        }
        model.hash = self.hash(overrides, files);
        model.reads_margin = reads.margin;
        model.collected_roles = reads.collected_roles;
        model.needs_deal_list = roles.values().flat_map(|r| &r.components).any(|c| c.needs_credits());
        model.company_reads = super::lint::company_reads(&spec, &captured);
        model.quota_roles = roles
            .iter()
            .filter(|(_, r)| r.components.iter().any(|c| c.reads_quota()))
            .map(|(id, _)| id.clone())
            .collect();
        model.pool_roles = roles
            .iter()
            .filter(|(_, r)| r.components.iter().any(|c| c.team_pool().is_some()))
            .map(|(id, _)| id.clone())
            .collect();
        check_team_pools(&spec, &captured, &roles, file, diagnostics);
        let plan = Plan { model, roles };
        // Lint is for a plan that compiles: a misspelt key is reported once, as itself.
        if !diagnostics.iter().any(Diagnostic::is_error) {
            super::lint::lint_plan(&plan, &spec, file, diagnostics);
            super::lint::lint_scales(&plan.params, &captured, file, diagnostics);
            super::lint::lint_company_keys(&spec, &plan.company_reads, file, diagnostics);
        }
        Some(plan)
    }
}

/// Team pools shared across roles: members of one roster team in different roles share the
/// pool of the same id, so each role must define it alike (else the members' shares would
/// not add up to one pool). An error at the later role's component id names the first key
/// that differs.
fn check_team_pools(
    spec: &crate::spec::PlanSpec,
    captured: &[Node],
    roles: &IndexMap<String, Role>,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut first: IndexMap<&str, (&str, &str)> = IndexMap::new();
    for (role_id, role) in roles {
        for (component, id) in role.components.iter().zip(&role.component_ids) {
            let Some(definition) = component.team_pool() else { continue };
            let Some(&(other_role, other)) = first.get(&**id) else {
                first.insert(id, (role_id, definition));
                continue;
            };
            if other == definition {
                continue;
            }
            let differs = definition
                .split("; ")
                .zip(other.split("; "))
                .find(|(here, there)| here != there)
                .and_then(|(here, there)| {
                    let (key, here) = here.split_once(' ')?;
                    let there = there.split_once(' ')?.1;
                    Some(format!("its `{key}` is {here} here and {there} in role `{other_role}`"))
                })
                .unwrap_or_default();
            let span = spec
                .roles
                .iter()
                .find(|(r, _)| r.value == *role_id)
                .into_iter()
                .flat_map(|(_, r)| &r.components)
                .filter_map(|c| captured.get(c.index)?.get("id"))
                .find(|node| node.as_str() == Some(&**id))
                .map(|node| node.span)
                .unwrap_or_default();
            diagnostics.push(
                Diagnostic::error(format!(
                    "pool `{id}` in role `{role_id}` is defined differently from pool `{id}` in role `{other_role}`: \
                     {differs}"
                ))
                .at(file, span)
                .with_help(
                    "members of one roster team in both roles share one pool, so its measure, rate, amount, \
                     threshold, split, attainment_cap, cap, window and clawback_days must be the same in every role; \
                     give a different pool another id",
                ),
            );
        }
    }
}

/// What the plan's components read that the data must provide.
#[derive(Default)]
struct MeasureReads {
    /// Gross margin (then `deals.csv` needs the column).
    margin: bool,
    /// The roles that read cash collected (then the data should have `payments.csv`).
    collected_roles: Vec<String>,
}

struct RoleInputs<'a> {
    sources: &'a dyn Sources,
    file: &'a Arc<str>,
    dir: &'a Path,
    params: &'a IndexMap<String, Decimal>,
    measures: &'a IndexMap<String, Aggregate>,
    company: &'a IndexMap<String, Decimal>,
    calendar: &'a Calendar,
    captured: &'a [Node],
    registry: &'a Registry,
}

/// Builds a role's components with their types, adding the files (scripts) they read, with
/// their SHA-256, to `files` for the plan hash.
fn build_components(
    role_id: &Spanned<String>,
    spec: &RoleSpec,
    rules: &RoleRules,
    inputs: RoleInputs<'_>,
    files: &mut Vec<(String, String)>,
    reads: &mut MeasureReads,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Arc<dyn Component>> {
    let file = inputs.file;
    let mut cx = BuildContext {
        sources: inputs.sources,
        file: file.clone(),
        plan_dir: inputs.dir,
        params: inputs.params,
        declared: inputs.measures,
        company: inputs.company,
        calendar: inputs.calendar,
        role_id,
        role_ti: rules.target_incentive,
        quota_rules: &rules.quota,
        component_type: String::new(),
        files: Vec::new(),
        reads_margin: false,
        reads_collected: false,
        diagnostics: Vec::new(),
    };
    let mut components: Vec<Arc<dyn Component>> = Vec::new();
    let mut ids: IndexMap<String, Span> = IndexMap::new();
    for captured in &spec.components {
        let node = &inputs.captured[captured.index];
        let Some(type_node) = node.get("type") else {
            cx.error(node.span, "a component needs a `type:` (for example `type: tiered`)");
            continue;
        };
        let Some(type_name) = type_node.as_str() else {
            cx.error(type_node.span, "`type` is a name such as `tiered`");
            continue;
        };
        if let Some(id_node) = node.get("id").filter(|n| n.as_str().is_some()) {
            let id = id_node.as_str().unwrap_or_default().to_string();
            if let Some(first) = ids.get(&id) {
                cx.error_with(
                    Code::PlanBadId,
                    id_node.span,
                    format!(
                        "component id `{id}` is used twice in role `{}` (first at line {})",
                        role_id.value, first.line
                    ),
                );
            }
            let spanned = Spanned { value: id.clone(), span: id_node.span };
            check_id(&spanned, "component", file, &mut cx.diagnostics);
            ids.insert(id, id_node.span);
        }
        let Some(component_type) = inputs.registry.get(type_name).cloned() else {
            let mut diag = Diagnostic::error(format!("unknown component type `{type_name}`"))
                .at(file, type_node.span)
                .with_code(Code::PlanUnknownComponentType);
            diag = match did_you_mean(type_name, inputs.registry.names()) {
                Some(best) => diag.with_help(format!("did you mean `{best}`?")),
                None => {
                    diag.with_help(format!("known types: {}", inputs.registry.names().collect::<Vec<_>>().join(", ")))
                }
            };
            cx.report(diag);
            continue;
        };
        cx.component_type = type_name.to_string();
        if let Some(component) = component_type.build(node, &mut cx) {
            components.push(component);
        }
    }
    let component_ids: Vec<String> = ids.keys().cloned().collect();
    components.extend(crate::component::build_conditions(&spec.conditions, &component_ids, &mut cx));
    diagnostics.append(&mut cx.diagnostics);
    reads.margin |= cx.reads_margin;
    if cx.reads_collected {
        reads.collected_roles.push(role_id.value.clone());
    }
    files.append(&mut cx.files);
    components
}
