#![no_main]
//! See `gatelog_fuzz::access`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatelog_fuzz::access(data));
