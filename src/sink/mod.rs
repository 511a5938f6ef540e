//! Sinks: the dataset directory (Parquet tables, staging, atomic commit) and its files.

mod arrays;
pub mod column_writer;
pub mod dataset;
pub mod parquet;
pub mod sql;
