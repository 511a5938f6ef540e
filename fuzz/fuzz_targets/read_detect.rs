#![no_main]
//! `read_stream` over arbitrary bytes, gzip and container detected from the content.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatelog_fuzz::frame(data, None));
