//! What-if analysis (SPEC §12), on top of evaluation: scenarios, `simulate`, `explain`.
//! Nothing below this module imports it; no terminal or HTTP code: the CLI and the server
//! call these functions alike.

mod align;
mod explain;
mod montecarlo;
mod scenario;
mod simulate;

use rust_decimal::{Decimal, RoundingStrategy};

pub use align::{
    AlignOptions, Alignment, Cell as GridCell, Coverage, Finding, MAX_MARGIN_STEPS, MAX_REVENUE_STEPS, align,
    parse_list, parse_range,
};
pub use explain::{ComponentText, ExplainError, ExplainOptions, Explanation, WorkedRow, WorkedTable, explain};
pub use montecarlo::{AttainmentShare, Bin, Distribution, MAX_DRAWS, MonteCarlo, MonteCarloOptions, montecarlo};
pub use scenario::{Change, FactsRef, MAX_FACTOR, PlanInput, Scenario, ScenarioError, Selector, Variant, apply};
pub use simulate::{
    Baseline, ChangeReport, CostOfSales, PayeeDelta, RunFailure, SimulateOptions, Simulation, Sums, simulate,
};

/// An exact amount with the minor units it is written in: [`money`]'s text when displayed or
/// serialized (a JSON string), so a result of thousands of amounts formats none of them until
/// it is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// The exact amount, not rounded.
    pub value: Decimal,
    pub minor_units: u32,
}

impl Money {
    pub fn new(value: Decimal, minor_units: u32) -> Money {
        Money { value, minor_units }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rounded = crate::number::round_money(self.value, self.minor_units);
        rounded.rescale(self.minor_units);
        std::fmt::Display::fmt(&rounded, f)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Money as §12 writes it: rounded to the currency's minor unit (midpoint away from zero),
/// exactly that many places, never `-0.00`.
pub(crate) fn money(value: Decimal, minor_units: u32) -> String {
    let mut rounded = crate::number::round_money(value, minor_units);
    rounded.rescale(minor_units);
    rounded.to_string()
}

/// A ratio as §12 writes it: 6 places, midpoint away from zero.
pub(crate) fn ratio(value: Decimal) -> String {
    let mut rounded = value.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero);
    if rounded.is_zero() {
        rounded = Decimal::ZERO;
    }
    rounded.rescale(6);
    rounded.to_string()
}
