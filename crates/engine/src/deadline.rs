//! [`Deadline`]: when a run must stop — a flag another thread raises (a server whose request
//! passed its deadline or whose client left) and an optional time limit (`--time-limit`). The
//! evaluation loop checks it between payees, the analyses between draws and cells, and the
//! script host every 256 operations of a script call, so that a run stops within a payee's
//! time, and a long script call too. A run that stops fails with a [`Stop`] as its error
//! (`run.cancelled`, `run.time_limit`): never a panic, never a partial result passed off as
//! whole.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::Code;

/// When a run must stop. The default never stops; clones share the cancellation flag.
#[derive(Debug, Clone, Default)]
pub struct Deadline {
    flag: Option<Arc<AtomicBool>>,
    /// The time limit and the instant it ends.
    limit: Option<(Duration, Instant)>,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Its caller cancelled it.
    Cancelled,
    /// It ran past its time limit.
    TimeLimit(Duration),
}

impl Deadline {
    /// A deadline that never passes (the default).
    pub fn none() -> Deadline {
        Deadline::default()
    }

    /// A deadline that passes only when [`Deadline::cancel`] is called (on any clone).
    pub fn cancellable() -> Deadline {
        Deadline { flag: Some(Arc::new(AtomicBool::new(false))), limit: None }
    }

    /// A deadline `limit` from now, which [`Deadline::cancel`] can also bring forward.
    pub fn after(limit: Duration) -> Deadline {
        let ends = Instant::now().checked_add(limit);
        Deadline { limit: ends.map(|at| (limit, at)), ..Deadline::cancellable() }
    }

    /// Whether this deadline can ever pass.
    pub fn is_none(&self) -> bool {
        self.flag.is_none() && self.limit.is_none()
    }

    /// The time limit, if any.
    pub fn limit(&self) -> Option<Duration> {
        self.limit.map(|(limit, _)| limit)
    }

    /// Stops every run that carries this deadline (or a clone of it).
    pub fn cancel(&self) {
        if let Some(flag) = &self.flag {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// `Err` once the deadline has passed or the run was cancelled.
    pub fn check(&self) -> Result<(), Stop> {
        if self.flag.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(Stop::Cancelled);
        }
        match self.limit {
            Some((limit, at)) if Instant::now() >= at => Err(Stop::TimeLimit(limit)),
            _ => Ok(()),
        }
    }

    /// Runs `f` with this deadline as the current thread's, so that the script calls `f`
    /// makes stop when it passes (see [`current`]). Nothing to do for a deadline that never
    /// passes.
    pub fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.is_none() {
            return f();
        }
        let outer = CURRENT.with(|current| current.replace(Some(self.clone())));
        // Restored even if `f` panics (a payee's panic is caught above this).
        struct Restore(Option<Deadline>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let outer = self.0.take();
                CURRENT.with(|current| *current.borrow_mut() = outer);
            }
        }
        let _restore = Restore(outer);
        f()
    }
}

thread_local! {
    /// The deadline of the run evaluating on this thread ([`Deadline::enter`]).
    static CURRENT: RefCell<Option<Deadline>> = const { RefCell::new(None) };
}

/// Whether the deadline of the run evaluating on this thread has passed: the script host asks
/// from its progress callback, so a long script call stops too.
pub(crate) fn current() -> Result<(), Stop> {
    CURRENT.with(|current| current.try_borrow().ok().and_then(|d| d.as_ref().map(Deadline::check)).unwrap_or(Ok(())))
}

impl Stop {
    /// The stable code of the stop.
    pub fn code(self) -> Code {
        match self {
            Stop::Cancelled => Code::RunCancelled,
            Stop::TimeLimit(_) => Code::RunTimeLimit,
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Cancelled => f.write_str("the run was cancelled"),
            Stop::TimeLimit(limit) => write!(f, "the run went past its time limit of {}", format_duration(*limit)),
        }
    }
}

impl std::error::Error for Stop {}

/// A duration as a person writes it: `300 ms`, `45 s`, `10 min`, `2 h`, `90 s`.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 || ms % 1000 != 0 {
        return format!("{ms} ms");
    }
    let s = duration.as_secs();
    if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Reads a duration as `format_duration` writes it, or with the units stuck to the number:
/// `500ms`, `30s`, `10m`, `10min`, `2h`; a bare number is seconds. `None` for anything else.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = |factor: u64| number.checked_mul(factor).map(Duration::from_secs);
    match unit.trim() {
        "ms" => Some(Duration::from_millis(number)),
        "" | "s" | "sec" => seconds(1),
        "m" | "min" => seconds(60),
        "h" => seconds(3600),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_passes_when_cancelled_or_past_its_limit_and_never_by_default() {
        assert_eq!(Deadline::none().check(), Ok(()));
        Deadline::none().cancel();
        let cancellable = Deadline::cancellable();
        let clone = cancellable.clone();
        assert_eq!(cancellable.check(), Ok(()));
        clone.cancel();
        assert_eq!(cancellable.check(), Err(Stop::Cancelled));
        let late = Deadline::after(Duration::ZERO);
        assert_eq!(late.check(), Err(Stop::TimeLimit(Duration::ZERO)));
        assert_eq!(Deadline::after(Duration::from_secs(3600)).check(), Ok(()));
        // A limit too far to represent never passes.
        assert_eq!(Deadline::after(Duration::MAX).check(), Ok(()));
    }

    #[test]
    fn the_current_deadline_is_the_entered_one_and_is_restored() {
        assert_eq!(current(), Ok(()));
        let late = Deadline::after(Duration::ZERO);
        late.enter(|| {
            assert_eq!(current(), Err(Stop::TimeLimit(Duration::ZERO)));
            Deadline::cancellable().enter(|| assert_eq!(current(), Ok(())));
            assert!(current().is_err());
        });
        assert_eq!(current(), Ok(()));
    }

    #[test]
    fn durations_read_and_write_as_people_write_them() {
        for (text, expected) in [("500ms", 500), ("30s", 30_000), ("30", 30_000), ("10m", 600_000), ("2 h", 7_200_000)]
        {
            assert_eq!(parse_duration(text), Some(Duration::from_millis(expected)), "{text}");
        }
        for bad in ["", "ten", "5d", "-1s", "1.5s", "99999999999999999999h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(Duration::from_millis(300)), "300 ms");
        assert_eq!(format_duration(Duration::from_secs(45)), "45 s");
        assert_eq!(format_duration(Duration::from_secs(600)), "10 min");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2 h");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500 ms");
    }
}
