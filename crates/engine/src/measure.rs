//! Measure names and what they refer to: deal-derived amounts, declared `measures.csv`
//! measures, or company measures (SPEC §3, §5).

use std::fmt;

use serde::Deserialize;

/// How a `measures.csv` measure aggregates over a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    Sum,
    Mean,
    Last,
    Min,
    Max,
}

impl Aggregate {
    /// Whether values of this measure are levels (not scaled to a window) rather than amounts.
    pub fn is_level(self) -> bool {
        !matches!(self, Aggregate::Sum)
    }
}

/// The kind of a deal in `deals.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DealKind {
    New = 0,
    Expansion = 1,
    Renewal = 2,
    Contraction = 3,
    Churn = 4,
}

impl DealKind {
    pub const ALL: [DealKind; 5] =
        [DealKind::New, DealKind::Expansion, DealKind::Renewal, DealKind::Contraction, DealKind::Churn];

    pub fn parse(text: &str) -> Option<DealKind> {
        Some(match text {
            "new" => DealKind::New,
            "expansion" => DealKind::Expansion,
            "renewal" => DealKind::Renewal,
            "contraction" => DealKind::Contraction,
            "churn" => DealKind::Churn,
            _ => return None,
        })
    }

    /// The payee measure that sums the cash collected on deals of this kind (`payments.csv`),
    /// for the kinds that bring cash in.
    pub fn collected_name(self) -> Option<&'static str> {
        match self {
            DealKind::New => Some("collected"),
            DealKind::Expansion => Some("collected_expansion"),
            DealKind::Renewal => Some("collected_renewals"),
            DealKind::Contraction | DealKind::Churn => None,
        }
    }

    /// Whether a deal of this kind takes payments: contraction and churn record revenue lost.
    pub fn takes_payments(self) -> bool {
        self.collected_name().is_some()
    }

    /// The payee measure that sums deals of this kind.
    pub fn measure_name(self) -> &'static str {
        match self {
            DealKind::New => "bookings",
            DealKind::Expansion => "expansion",
            DealKind::Renewal => "renewals",
            DealKind::Contraction => "contraction",
            DealKind::Churn => "churn",
        }
    }
}

/// The deal-derived payee measures, in the order SPEC §5 lists them, then the cash collected
/// on deals (`payments.csv`).
pub const DERIVED_MEASURES: [&str; 10] = [
    "bookings",
    "expansion",
    "renewals",
    "contraction",
    "churn",
    "gross_margin",
    "gross_margin_pct",
    "collected",
    "collected_expansion",
    "collected_renewals",
];

/// The deal kinds that take payments, in the order of [`DealKind`]: a kind's place in a
/// collected-cash array is `kind as usize`.
pub const COLLECTED_KINDS: usize = 3;

/// What a measure name in a plan refers to, resolved once at plan load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeasureRef {
    /// The summed amounts of one deal kind.
    Deals(DealKind),
    /// Gross margin dollars of new deals.
    GrossMargin,
    /// Gross margin / bookings over the window (a ratio of sums).
    GrossMarginPct,
    /// The cash collected (`payments.csv`) on deals of one kind that brings cash in (new,
    /// expansion, renewal), in the periods of the payment dates.
    Collected(DealKind),
    /// A `measures.csv` measure, by its index in the plan's `measures:` block.
    Declared { index: usize, name: String, aggregate: Aggregate },
    /// A company measure (`company.net_profit`), by the name after `company.`.
    Company(String),
}

impl MeasureRef {
    /// Resolves a name against the derived measures and the plan's declarations.
    pub fn resolve(name: &str, declared: &indexmap::IndexMap<String, Aggregate>) -> Option<MeasureRef> {
        if let Some(company) = name.strip_prefix("company.") {
            return (!company.is_empty()).then(|| MeasureRef::Company(company.to_string()));
        }
        for kind in DealKind::ALL {
            if kind.measure_name() == name {
                return Some(MeasureRef::Deals(kind));
            }
            if kind.collected_name() == Some(name) {
                return Some(MeasureRef::Collected(kind));
            }
        }
        match name {
            "gross_margin" => Some(MeasureRef::GrossMargin),
            "gross_margin_pct" => Some(MeasureRef::GrossMarginPct),
            _ => declared.get_full(name).map(|(index, key, aggregate)| MeasureRef::Declared {
                index,
                name: key.clone(),
                aggregate: *aggregate,
            }),
        }
    }

    /// Whether the measure is a ratio or level that is not scaled to a window (SPEC §3).
    pub fn is_level(&self) -> bool {
        match self {
            MeasureRef::GrossMarginPct => true,
            MeasureRef::Declared { aggregate, .. } => aggregate.is_level(),
            MeasureRef::Company(name) => name.ends_with("_pct"),
            _ => false,
        }
    }

    /// Whether the measure reads the deals' `gross_margin` column.
    pub fn reads_margin(&self) -> bool {
        matches!(self, MeasureRef::GrossMargin | MeasureRef::GrossMarginPct)
    }

    /// Whether the measure comes from deals (and so rolls up). Collected cash does too, but a
    /// cancellation does not remove it: a refund is a negative payment.
    pub fn is_deal_derived(&self) -> bool {
        matches!(
            self,
            MeasureRef::Deals(_) | MeasureRef::GrossMargin | MeasureRef::GrossMarginPct | MeasureRef::Collected(_)
        )
    }
}

impl fmt::Display for MeasureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeasureRef::Deals(kind) => f.write_str(kind.measure_name()),
            MeasureRef::GrossMargin => f.write_str("gross_margin"),
            MeasureRef::GrossMarginPct => f.write_str("gross_margin_pct"),
            MeasureRef::Collected(kind) => f.write_str(kind.collected_name().unwrap_or("collected")),
            MeasureRef::Declared { name, .. } => f.write_str(name),
            MeasureRef::Company(name) => write!(f, "company.{name}"),
        }
    }
}
