//! Sinks: the dataset directory (Parquet tables, staging, atomic commit) and its files.

pub mod column_writer;
pub mod dataset;
pub mod parquet;
pub mod sql;
