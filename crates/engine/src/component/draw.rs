//! `draw`: a guaranteed minimum per period against the statement's other earnings
//! (SPEC §4), non-recoverable or recoverable with a running balance.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{
    BuildContext, Component, ComponentType, Core, DescribeContext, Description, Driver, Outcome, Stage, TypeInfo, dec,
};
use super::{EvalContext, EvalError};
use crate::number::format_money_grouped;
use crate::spanned::Num;
use crate::spec::WindowKind;
use crate::yaml::Node;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct DrawSpec {
    /// The minimum per period (not prorated).
    amount: Num,
    /// Recover advances from later earnings above the draw (within the plan year).
    #[schemars(extend("default" = false))]
    #[serde(default)]
    recoverable: bool,
}

pub struct DrawType;

impl ComponentType for DrawType {
    fn name(&self) -> &str {
        "draw"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "draw".into(),
            summary: "Guaranteed minimum per period against the statement's other earnings".into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<DrawSpec>(generator, &self.info(), false)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<DrawSpec>(node, false)?;
        if parsed.spec.amount.value < Decimal::ZERO {
            cx.error(parsed.spec.amount.span, "a draw amount cannot be negative");
            return None;
        }
        Some(Arc::new(Draw {
            core: Core::new(parsed.core.id.value, "draw", WindowKind::Period, true)
                .with_name(parsed.core.name.map(|n| n.value)),
            amount: parsed.spec.amount.value,
            recoverable: parsed.spec.recoverable,
        }))
    }
}

#[derive(Debug)]
struct Draw {
    core: Core,
    amount: Decimal,
    recoverable: bool,
}

impl Draw {
    /// One period of the recoverable draw: `(line, balance after)` from the balance before
    /// and the period's earnings E.
    fn step(&self, balance: Decimal, earnings: Decimal) -> (Decimal, Decimal) {
        let line = (self.amount.max(earnings - balance)) - earnings;
        // A top-up advances money (the balance grows); a negative line recovers it.
        (line, balance + line)
    }
}

impl Component for Draw {
    fn core(&self) -> &Core {
        &self.core
    }

    fn stage(&self) -> Stage {
        Stage::Guarantee
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let period = cx.period_word();
        let mut out = vec![format!(
            "A guaranteed minimum (a draw) of {} each {period}: when the rest of your pay for the {period} is \
             below it, the difference is added.",
            cx.money(self.amount)
        )];
        out.push(if self.recoverable {
            format!(
                "It is recoverable: what was added is an advance, taken back from later {period}s in which you \
                 earn more than the minimum. Whatever is still owed at the end of the plan year is not carried over."
            )
        } else {
            "It is not recoverable: what was added is never taken back.".to_string()
        });
        Description { sentences: out, driver: Driver::None }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let earnings = cx.earnings();
        let mut trace = cx.trace();
        trace.put("draw", || dec(self.amount));
        trace.put("earnings", || dec(earnings));
        if !self.recoverable {
            let value = (self.amount - earnings).max(Decimal::ZERO);
            let explain = if value.is_zero() {
                format!("earnings {} meet the draw {}", money(earnings), money(self.amount))
            } else {
                format!("top-up to the draw {}: earnings {}", money(self.amount), money(earnings))
            };
            return Ok(Outcome { value, attainment: None, explain, trace, sublines: Vec::new() });
        }
        let mut balance = Decimal::ZERO;
        for &past in cx.earnings_history() {
            balance = self.step(balance, past).1;
        }
        let (value, after) = self.step(balance, earnings);
        trace.put("balance_before", || dec(balance));
        trace.put("balance_after", || dec(after));
        let explain = if value > Decimal::ZERO {
            format!(
                "recoverable top-up to the draw {}: earnings {}; balance {} → {}",
                money(self.amount),
                money(earnings),
                money(balance),
                money(after)
            )
        } else if value < Decimal::ZERO {
            format!("recovers {} of the {} balance from earnings {}", money(-value), money(balance), money(earnings))
        } else {
            format!("earnings {} meet the draw {}; balance {}", money(earnings), money(self.amount), money(after))
        };
        let payee = cx.payee();
        let leaves_now = payee.end_date.and_then(|end| cx.plan().calendar.index_of(end)) == Some(cx.period());
        if leaves_now && after > Decimal::ZERO {
            cx.warn(format!(
                "leaves on {} with {} of recoverable draw `{}` outstanding",
                payee.end_date.map(|d| d.to_string()).unwrap_or_default(),
                money(after),
                self.core.id
            ));
        }
        Ok(Outcome { value, attainment: None, explain, trace, sublines: Vec::new() })
    }
}

fn money(value: Decimal) -> String {
    format_money_grouped(value, 2)
}
