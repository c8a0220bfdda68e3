//! Helpers shared by the guest test programs: argument access and one way
//! of reporting outcomes that the host-side tests parse.
//!
//! Every program prints one line per observation: `ok ...` or
//! `error CODE` where CODE is the wasock error-code name (or the io kind
//! for errors without one), and exits 0 if everything went as expected.

use std::io;

/// The `n`th argument (1-based), or a message and exit 2.
pub fn arg(n: usize) -> String {
    match std::env::args().nth(n) {
        Some(a) => a,
        None => {
            eprintln!("missing argument {n}");
            std::process::exit(2);
        }
    }
}

/// The `n`th argument if given.
pub fn opt_arg(n: usize) -> Option<String> {
    std::env::args().nth(n)
}

/// The wasock error-code name of an error (e.g. `access-denied`), or its io
/// kind if it carries none.
pub fn code(e: &io::Error) -> String {
    match wasock::error_code(e) {
        Some(c) => c.name().to_string(),
        None => format!("{:?}", e.kind()),
    }
}

/// Print `ok WHAT` or `error CODE`; on error exit 1.
pub fn report<T>(what: &str, r: io::Result<T>) -> T {
    match r {
        Ok(t) => {
            println!("ok {what}");
            t
        }
        Err(e) => {
            println!("error {}", code(&e));
            std::process::exit(1);
        }
    }
}

/// A deterministic byte pattern of length `n` (for transfers checked byte
/// for byte).
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

pub mod conformance;
pub mod p3;
pub mod wasi_check;
