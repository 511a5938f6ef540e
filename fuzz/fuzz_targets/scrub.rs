#![no_main]
//! See `gatelog_fuzz::scrub`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatelog_fuzz::scrub(data));
