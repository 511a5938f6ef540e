#![no_main]
//! See `gatelog_fuzz::execution`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatelog_fuzz::execution(data));
