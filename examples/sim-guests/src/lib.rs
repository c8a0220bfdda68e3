//! Helpers shared by the simulation guests: argument parsing that exits
//! with a usage line, and a checksum.

use std::net::SocketAddr;
use std::str::FromStr;

use wasock::net::{AddressFamily, UdpSocket};

/// Argument `n` (1-based) parsed as `T`, or exit 2 with `usage`.
pub fn arg<T: FromStr>(n: usize, usage: &str) -> T {
    match std::env::args().nth(n).and_then(|a| a.parse().ok()) {
        Some(v) => v,
        None => {
            eprintln!("usage: {usage}");
            std::process::exit(2);
        }
    }
}

/// Argument `n` parsed as `T`, or `default` if there is none.
pub fn arg_or<T: FromStr>(n: usize, default: T, usage: &str) -> T {
    match std::env::args().nth(n) {
        None => default,
        Some(_) => arg(n, usage),
    }
}

/// What a guest's `main` returns on failure: the error in words (Rust
/// prints a `main`'s error with `Debug`, which for an `io::Error` from
/// wasock is `Custom { kind: .., error: Error { code: .. } }`).
pub struct Failed(std::io::Error);

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Failed {
        Failed(e)
    }
}

impl std::fmt::Debug for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

/// FNV-1a over bytes, continued from `h` (start with [`FNV_START`]).
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// FNV-1a's starting value.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The `i`th byte of the stream the sender sends (a pattern no shift or
/// repeat of which looks the same).
pub fn pattern_byte(i: u64) -> u8 {
    let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8 ^ (i as u8)
}

/// A datagram socket of `target`'s family, not yet bound: its first send
/// binds it, which the `udp-send` grant covers (no `udp-bind` needed).
pub fn unbound_udp(target: SocketAddr) -> std::io::Result<UdpSocket> {
    UdpSocket::unbound(if target.is_ipv4() {
        AddressFamily::Ipv4
    } else {
        AddressFamily::Ipv6
    })
}
