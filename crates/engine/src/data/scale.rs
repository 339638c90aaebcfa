//! Scale factors applied when a data set is indexed (SPEC §12 `scale`): deal amounts and
//! margins by owner and deal kind, declared measures by payee, company measures by name.
//!
//! Factors multiply exactly, before splits and roll-ups, so credits, roll-ups and team
//! attainment follow. Several factors on the same thing compose by multiplication.

use indexmap::IndexMap;
use rust_decimal::Decimal;

use crate::measure::DealKind;

/// What one owner's deals are multiplied by, per deal kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerFactors {
    pub amount: [Decimal; 5],
    pub margin: [Decimal; 5],
}

impl OwnerFactors {
    pub const ONE: OwnerFactors = OwnerFactors { amount: [Decimal::ONE; 5], margin: [Decimal::ONE; 5] };
}

/// Scale factors for one indexing of a data set. The default scales nothing.
#[derive(Debug, Clone, Default)]
pub struct Scales {
    /// `[payee]` factors of the deals the payee owns; empty when no deal is scaled.
    owners: Vec<OwnerFactors>,
    /// `(payee, measure, factor)` on declared measure rows.
    declared: Vec<(usize, String, Decimal)>,
    /// Factors on company measures (`company.csv` rows; the plan's annual values are the
    /// scenario's to scale).
    company: IndexMap<String, Decimal>,
    /// Per-period company values that replace `company.csv`'s (the alignment grid's net
    /// profit of a cell).
    company_values: IndexMap<String, Vec<Decimal>>,
    /// Margin shift Δm of every deal: margin' = max(0, margin' + amount' × Δm).
    margin_shift: Option<Decimal>,
}

impl Scales {
    pub fn new() -> Scales {
        Scales::default()
    }

    /// Whether these scales change nothing.
    pub fn is_identity(&self) -> bool {
        self.owners.iter().all(|f| *f == OwnerFactors::ONE)
            && self.declared.iter().all(|(_, _, f)| *f == Decimal::ONE)
            && self.company.values().all(|f| *f == Decimal::ONE)
            && self.company_values.is_empty()
            && self.margin_shift.is_none_or(|m| m.is_zero())
    }

    fn owner(&mut self, payee: usize, payees: usize) -> &mut OwnerFactors {
        if self.owners.len() < payees {
            self.owners.resize(payees, OwnerFactors::ONE);
        }
        &mut self.owners[payee]
    }

    /// Multiplies the amount and margin of every deal of `kind` owned by `payee` (one of
    /// `payees` in the roster).
    pub fn deals(&mut self, payee: usize, payees: usize, kind: DealKind, factor: Decimal) {
        let owner = self.owner(payee, payees);
        owner.amount[kind as usize] = times(owner.amount[kind as usize], factor);
        owner.margin[kind as usize] = times(owner.margin[kind as usize], factor);
    }

    /// Multiplies the gross margin of every deal owned by `payee`.
    pub fn margins(&mut self, payee: usize, payees: usize, factor: Decimal) {
        let owner = self.owner(payee, payees);
        for m in &mut owner.margin {
            *m = times(*m, factor);
        }
    }

    /// Multiplies a payee's rows of a declared measure.
    pub fn declared(&mut self, payee: usize, measure: &str, factor: Decimal) {
        self.declared.push((payee, measure.to_string(), factor));
    }

    /// Multiplies every `company.csv` row of a company measure.
    pub fn company(&mut self, measure: &str, factor: Decimal) {
        let slot = self.company.entry(measure.to_string()).or_insert(Decimal::ONE);
        *slot = times(*slot, factor);
    }

    /// Replaces a company measure's per-period values.
    pub fn set_company(&mut self, measure: &str, values: Vec<Decimal>) {
        self.company_values.insert(measure.to_string(), values);
    }

    /// Shifts every deal's margin by `shift` × its (scaled) amount, floored at 0.
    pub fn shift_margins(&mut self, shift: Decimal) {
        self.margin_shift = Some(shift);
    }

    pub(crate) fn owner_factors(&self, payee: u32) -> Option<&OwnerFactors> {
        self.owners.get(payee as usize)
    }

    pub(crate) fn declared_factors(&self) -> &[(usize, String, Decimal)] {
        &self.declared
    }

    pub(crate) fn company_factor(&self, measure: &str) -> Option<Decimal> {
        self.company.get(measure).copied()
    }

    pub(crate) fn company_values(&self) -> &IndexMap<String, Vec<Decimal>> {
        &self.company_values
    }

    pub(crate) fn margin_shift(&self) -> Option<Decimal> {
        self.margin_shift
    }
}

/// A product of factors; one too large to hold saturates, and indexing then reports the
/// overflow as an error rather than a wrong amount.
fn times(a: Decimal, b: Decimal) -> Decimal {
    a.checked_mul(b).unwrap_or(Decimal::MAX)
}
