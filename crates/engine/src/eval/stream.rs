//! [`StreamedRun`]: a run that evaluates while it serializes, statement by statement, in the
//! SPEC §8 JSON shape, so that output of any size never sits in memory at once.

use std::cell::{Cell, RefCell};

use serde::{Serialize, Serializer};

use super::{RunOptions, RunSummary, run_chunked};
use crate::data::Facts;
use crate::registry::Plan;

/// A run that evaluates while it serializes: the SPEC §8 JSON shape, written statement by
/// statement, so that a run of any size never holds all its statements in memory.
/// Serialize it once (with `serde_json::to_writer_pretty`, say); then [`StreamedRun::summary`]
/// tells how it went.
pub struct StreamedRun<'a> {
    plan: &'a Plan,
    facts: &'a Facts,
    options: RunOptions,
    period: Option<usize>,
    summary: RefCell<Option<RunSummary>>,
    statements: Cell<usize>,
}

impl<'a> StreamedRun<'a> {
    pub fn new(plan: &'a Plan, facts: &'a Facts, options: RunOptions, period: Option<usize>) -> Self {
        StreamedRun { plan, facts, options, period, summary: RefCell::new(None), statements: Cell::new(0) }
    }

    /// Totals, warnings and errors, once serialized.
    pub fn summary(&self) -> Option<RunSummary> {
        self.summary.borrow().clone()
    }

    /// How many statements were written.
    pub fn statement_count(&self) -> usize {
        self.statements.get()
    }
}

struct StatementSeq<'r, 'a>(&'r StreamedRun<'a>);

impl Serialize for StatementSeq<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let run = self.0;
        let mut seq = serializer.serialize_seq(None)?;
        let mut failure = None;
        let mut count = 0;
        let summary = run_chunked(run.plan, run.facts, &run.options, run.period, |chunk| {
            for statement in chunk {
                if failure.is_none() {
                    if let Err(err) = seq.serialize_element(&statement) {
                        failure = Some(err);
                    }
                    count += 1;
                }
            }
        });
        run.statements.set(count);
        *run.summary.borrow_mut() = Some(summary);
        if let Some(err) = failure {
            return Err(err);
        }
        seq.end()
    }
}

impl Serialize for StreamedRun<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeStruct};
        let periods: Vec<&str> = match self.period {
            Some(k) => vec![self.plan.calendar.period(k).label.as_str()],
            None => self.plan.calendar.labels().collect(),
        };
        let mut out = serializer.serialize_struct("RunResult", 9)?;
        out.serialize_field("plan", &self.plan.id)?;
        out.serialize_field("plan_hash", &self.plan.hash)?;
        out.serialize_field("data_hash", &self.facts.hash)?;
        out.serialize_field("currency", &self.plan.currency)?;
        out.serialize_field("periods", &periods)?;
        out.serialize_field("statements", &StatementSeq(self))?;
        let summary = self.summary.borrow().clone().ok_or_else(|| S::Error::custom("the run did not complete"))?;
        out.serialize_field("totals", &summary.totals)?;
        out.serialize_field("warnings", &summary.warnings)?;
        out.serialize_field("errors", &summary.errors)?;
        out.end()
    }
}
