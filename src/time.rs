//! Time as the core sees it: passed in by the caller, never read from a clock.

/// A point in time, in whole seconds since the Unix epoch.
///
/// The core never reads a clock: drivers pass `now` into every call that
/// needs it, so tests can run with a fixed or simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The time `secs` seconds after the Unix epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// This time plus `secs` seconds, saturating instead of overflowing.
    pub const fn plus_secs(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_add(secs))
    }
}
