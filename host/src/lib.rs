//! wasock-host: WebAssembly components get Berkeley/Windows-Sockets
//! networking, and every address they use passes a capability check first.
//!
//! See the crate's README for the command-line tool; this page is for
//! embedders.

pub mod cli;
pub mod net;
pub mod policy;
pub mod runtime;
