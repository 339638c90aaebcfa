//! Stable, machine-readable error codes: every [`Diagnostic`](crate::Diagnostic) and every
//! run error carries one (`plan.unknown_key`, `data.bad_number`, `script.limit.operations`),
//! so that the CLI's JSON and the HTTP API expose something a program can match while the
//! message stays free to improve. This file is the one list of codes: a code is never
//! renamed or reused once released; new ones are added.

use std::fmt;

/// Defines [`Code`] from one table: the variant, its text and its documentation.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $text:literal,)+) => {
        /// A stable, machine-readable error code; [`Code::as_str`] is its wire form.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// Every code, in the order of the table.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code as the JSON and the API write it: lowercase words joined by `_`,
            /// sections by `.`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }

            /// What the code means, for documentation and `--help` text.
            pub fn description(self) -> &'static str {
                match self {
                    $(Code::$variant => concat!($($doc),+).trim(),)+
                }
            }
        }
    };
}

codes! {
    /// The plan file cannot be read (missing, unreadable).
    PlanRead = "plan.read",
    /// The plan is not valid YAML, or uses YAML the engine refuses (tags, aliases, duplicate keys).
    PlanYaml = "plan.yaml",
    /// A key the plan format does not know (a typo, or a key of another component type).
    PlanUnknownKey = "plan.unknown_key",
    /// A number in the plan that is not an exact decimal as SPEC §3 writes them, or is out of range.
    PlanBadNumber = "plan.bad_number",
    /// An id (plan, role, component, measure, parameter) that is malformed or used twice.
    PlanBadId = "plan.bad_id",
    /// A `$parameter` or a parameter override that the plan does not define.
    PlanUnknownParameter = "plan.unknown_parameter",
    /// A measure name that is neither derived from deals, declared, nor a company measure.
    PlanUnknownMeasure = "plan.unknown_measure",
    /// A component `type:` that is neither built in nor a plugin.
    PlanUnknownComponentType = "plan.unknown_component_type",
    /// Any other problem with the plan's values (a negative rate, unordered tiers, a zero target).
    PlanInvalid = "plan.invalid",
    /// A warning: a role pays both new-logo and retention business without `hybrid: true`.
    LintHybridRole = "lint.hybrid_role",
    /// A warning: an executive or leader role has less than half its TI tied to company profit.
    LintProfitShare = "lint.profit_share",
    /// A warning: the effective quotas do not cover the budgeted revenue.
    LintCoverage = "lint.coverage",
    /// A warning: a rate above 1 (100 %) or a multiple of target above 10, most likely a
    /// percent written as a whole number (`rate: 5` for 5 %).
    LintPercentAsWhole = "lint.percent_as_whole",
    /// A warning: a company value (in `company:` or company.csv) that nothing reads and whose
    /// name is a near miss of one that is read (`budget_revnue`), or a `company.NAME` the plan
    /// reads that neither gives.
    LintCompanyName = "lint.company_name",
    /// A data file cannot be read, or a required one is missing.
    DataRead = "data.read",
    /// A CSV file that does not parse, or lacks a required column.
    DataBadFile = "data.bad_file",
    /// A header column that a file with fixed columns does not have (a misspelt optional
    /// column would otherwise be read as absent).
    DataUnknownColumn = "data.unknown_column",
    /// A cell that is not an exact decimal, or is out of range.
    DataBadNumber = "data.bad_number",
    /// A cell that is not an ISO date (YYYY-MM-DD), or dates in the wrong order.
    DataBadDate = "data.bad_date",
    /// A row naming a payee that is not in the roster.
    DataUnknownPayee = "data.unknown_payee",
    /// A row naming a deal that is not in deals.csv (a payment).
    DataUnknownDeal = "data.unknown_deal",
    /// A payee whose role the plan does not define.
    DataUnknownRole = "data.unknown_role",
    /// A measures.csv measure that the plan does not declare.
    DataUnknownMeasure = "data.unknown_measure",
    /// A period label that is not a period of the plan year.
    DataUnknownPeriod = "data.unknown_period",
    /// An id used twice where it must be unique (payee, deal).
    DataDuplicateId = "data.duplicate_id",
    /// Any other problem with the data's values (splits not summing to 1, a bad deal kind).
    DataInvalid = "data.invalid",
    /// A warning about the data (a payee not employed in the plan year, deals outside it).
    DataWarning = "data.warning",
    /// A script file that is missing or unreadable.
    ScriptRead = "script.read",
    /// A script that does not compile.
    ScriptSyntax = "script.syntax",
    /// A script that lacks a function the engine calls (`fn payout(ctx)`).
    ScriptMissingFunction = "script.missing_function",
    /// A script that ran past its operation limit (an endless loop?).
    ScriptLimitOperations = "script.limit.operations",
    /// A script that nested calls past its limit (endless recursion?).
    ScriptLimitCallDepth = "script.limit.call_depth",
    /// A script call that ran past its wall-clock budget.
    ScriptLimitTime = "script.limit.time",
    /// A string, array or map in a script that grew past its sandbox limit.
    ScriptLimitSize = "script.limit.size",
    /// A script that failed while it ran (an error it threw, a type mismatch, a bad helper call).
    ScriptRuntime = "script.runtime",
    /// A script whose result is not what the engine asked for (`payout` returns an amount or
    /// `#{amount, explain}`; `validate` a list of strings).
    ScriptBadReturn = "script.bad_return",
    /// A script's `fn validate(params)` rejected the component's parameters.
    ScriptValidate = "script.validate",
    /// Arithmetic that overflowed or divided by zero while evaluating a payee.
    EvalArithmetic = "eval.arithmetic",
    /// A company measure with no value for a period a component needs.
    EvalMissingCompany = "eval.missing_company",
    /// Any other reason a component could not be evaluated for a payee.
    EvalInvalid = "eval.invalid",
    /// A bug in Accrue while evaluating a payee (a panic caught at the payee).
    EvalInternal = "eval.internal",
    /// The run was cancelled by its caller (a server request past its deadline, its client
    /// gone): its results are incomplete and are not shown as a run.
    RunCancelled = "run.cancelled",
    /// The run went past its time limit (`--time-limit`, a server's per-request deadline):
    /// the payees not yet evaluated have no results.
    RunTimeLimit = "run.time_limit",
    /// A plan test case (`tests/*.yaml`) that is malformed.
    TestInvalid = "test.invalid",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn every_code_is_dotted_snake_case_documented_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for &code in Code::ALL {
            let text = code.as_str();
            let sections: Vec<&str> = text.split('.').collect();
            assert!(sections.len() >= 2, "`{text}` has a section and a name");
            for section in sections {
                let snake = !section.is_empty()
                    && section.starts_with(|c: char| c.is_ascii_lowercase())
                    && !section.ends_with('_')
                    && !section.contains("__")
                    && section.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                assert!(snake, "`{text}`: `{section}` is not snake_case");
            }
            assert!(code.description().len() > 10, "`{text}` is not documented");
            assert!(seen.insert(text), "`{text}` is listed twice");
        }
    }
}
