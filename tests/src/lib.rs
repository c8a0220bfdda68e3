//! Where the guest programs of wasock's tests are, built for
//! `wasm32-wasip2` by this crate's build script.
//!
//! The programs themselves live in `tests/programs/src/bin/` (one small
//! program per behaviour) and `examples/`.

include!(concat!(env!("OUT_DIR"), "/programs.rs"));
