//! End-to-end tests: the `gatelog` binary on the shared sample incident (every container it
//! reads) and on bad input, with the Parquet read back by the parquet crate's own reader.

mod util;

mod analyze;
mod api_config;
mod athena;
mod bad_input;
mod golden;
mod http_api;
mod memory;
mod properties;
mod robustness;
mod sample_data;
