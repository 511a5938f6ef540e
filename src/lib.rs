//! gatelog: for every request API Gateway refused, which phase refused it and why.
//!
//! Data flows one way through the stages, each a module with a narrow typed interface:
//!
//! ```text
//! input ──► records ──► join ──► classify ──► sink
//! (files, containers,   (what a message says)  (per request)  (decision table)  (Parquet, reports)
//!  gzip, framing)
//! ```
//!
//! Only [`pipeline`] knows every stage.
#![deny(missing_docs)]

pub mod apiconfig;
pub mod classify;
pub mod cli;
pub mod explain;
pub mod generate;
mod idindex;
pub mod input;
mod intern;
pub mod interrupt;
pub mod invstore;
pub mod join;
pub mod memlimit;
pub mod model;
pub mod pipeline;
pub mod records;
pub mod redact;
pub mod report;
pub mod sink;
pub mod spill;
pub mod summary;
pub mod time;
