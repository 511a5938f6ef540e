//! Record parsers: what one log message says. Pure functions of bytes (plus small per-worker
//! caches); no files, no joins.

pub mod access;
/// Lambda authorizer logs → invocations.
pub mod authorizer;
pub mod execution;
pub mod format;
pub mod vars;
