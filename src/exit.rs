//! Exit codes, in one place (SPEC §5).

/// No gate failed.
pub const OK: i32 = 0;
/// A gate failed: skew was found.
pub const SKEW: i32 = 1;
/// Usage, registry or input error.
pub const USAGE: i32 = 2;
/// A source was unavailable, or too many reads failed.
pub const UNAVAILABLE: i32 = 3;
/// Nothing to compare.
pub const NOTHING_TO_COMPARE: i32 = 4;
