#![no_main]
//! `read_stream` over arbitrary bytes (gzip detected by content) with the tail container.

use gatelog::input::ContainerKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatelog_fuzz::frame(data, Some(ContainerKind::Tail)));
