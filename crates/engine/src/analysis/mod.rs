//! Analyses that sit on top of evaluation (SPEC §12): nothing below this module imports it.

mod explain;

pub use explain::{ComponentText, ExplainError, ExplainOptions, Explanation, WorkedRow, WorkedTable, explain};
