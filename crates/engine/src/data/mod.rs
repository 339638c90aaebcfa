//! Data in two stages: a [`DataSet`] parsed once from files or memory, independent of any
//! plan, and [`Facts`], the data set indexed for one compiled plan and a set of [`Scales`].

mod dataset;
mod facts;
mod quotas;
mod scale;

pub use dataset::{DATA_COLUMNS, DATA_FILES, DataSet, Payee};
pub(crate) use facts::effective_quota;
pub use facts::{Cancellation, Credit, DealTotals, Facts, ReliefEntry};
pub(crate) use quotas::spread_scaled;
pub use scale::{OwnerFactors, Scales};
