#![no_main]
//! See `gatelog_fuzz::format_compile`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatelog_fuzz::format_compile(data));
