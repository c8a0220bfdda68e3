//! Helpers for the standard wasi:sockets conformance programs (`wasi_tcp`,
//! `wasi_udp`, `wasi_std`): the family under test, address conversions,
//! bounded waits on pollables, and the report format the host test parses.
//!
//! A program runs named cases one after another and prints one line per
//! case, `CASE: ok` or `CASE: FAIL WHAT`, then `done N cases`, and exits 1
//! if any case failed. A case never panics (a panic would end the guest
//! and hide the cases after it): every step returns `Result<_, String>`.

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use wasip2::clocks::monotonic_clock::subscribe_duration;
use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::StreamError;
use wasip2::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

/// How long any single wait in these programs may take before the case
/// fails: generous for loopback, short enough to end a broken run.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// The outcome of one step of a case.
pub type Step<T = ()> = Result<T, String>;

/// The address family under test, from the first argument (`v4`/`ipv4` or
/// `v6`/`ipv6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fam {
    /// Whether this is IPv6.
    pub v6: bool,
}

impl Fam {
    /// The family named by the first argument; a message and exit 2 if it
    /// names none.
    pub fn from_args() -> Fam {
        match std::env::args().nth(1).as_deref() {
            Some("v4" | "ipv4") => Fam { v6: false },
            Some("v6" | "ipv6") => Fam { v6: true },
            other => {
                println!("arguments: FAIL expected v4 or v6, got {other:?}");
                std::process::exit(2);
            }
        }
    }

    /// The wasi family.
    pub fn family(&self) -> IpAddressFamily {
        if self.v6 {
            IpAddressFamily::Ipv6
        } else {
            IpAddressFamily::Ipv4
        }
    }

    /// The other wasi family.
    pub fn other_family(&self) -> IpAddressFamily {
        if self.v6 {
            IpAddressFamily::Ipv4
        } else {
            IpAddressFamily::Ipv6
        }
    }

    /// The loopback address with `port`.
    pub fn loopback(&self, port: u16) -> SocketAddr {
        if self.v6 {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        }
    }

    /// The loopback address of the other family with `port`.
    pub fn other_loopback(&self, port: u16) -> SocketAddr {
        Fam { v6: !self.v6 }.loopback(port)
    }

    /// The unspecified address (`0.0.0.0` or `::`) with `port`.
    pub fn unspecified(&self, port: u16) -> SocketAddr {
        if self.v6 {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
        }
    }

    /// A multicast address of this family with `port` (not unicast).
    pub fn multicast(&self, port: u16) -> SocketAddr {
        if self.v6 {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)), port)
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), port)
        }
    }

    /// A unicast address of this family that no host here has (the
    /// documentation ranges): not bindable.
    pub fn non_local(&self, port: u16) -> SocketAddr {
        if self.v6 {
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x99)),
                port,
            )
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 99)), port)
        }
    }
}

/// `::ffff:127.0.0.1` with `port`: the IPv4-mapped IPv6 spelling of the IPv4
/// loopback address, which wasi:sockets rejects wherever it is given.
pub fn ipv4_mapped_loopback(port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(
        Ipv4Addr::LOCALHOST.to_ipv6_mapped(),
        port,
        0,
        0,
    ))
}

/// std's address as wasi's.
pub fn wasi_addr(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (a0, a1, a2, a3),
            })
        }
        SocketAddr::V6(a) => {
            let s = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// wasi's address as std's.
pub fn std_addr(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (a0, a1, a2, a3) = a.address;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a0, a1, a2, a3)), a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

/// Wait until `p` is ready or `timeout` passes: whether it became ready.
pub fn ready_within(p: &Pollable, timeout: Duration) -> bool {
    let timer = subscribe_duration(timeout.as_nanos().try_into().unwrap_or(u64::MAX));
    let ready = poll(&[p, &timer]);
    ready.contains(&0)
}

/// Whether `p` is ready right now (a poll with a zero timeout).
pub fn ready_now(p: &Pollable) -> bool {
    ready_within(p, Duration::ZERO)
}

/// Wait until `p` is ready, or fail `what` after [`PATIENCE`].
pub fn wait(what: &str, p: &Pollable) -> Step {
    if ready_within(p, PATIENCE) {
        Ok(())
    } else {
        Err(format!("{what}: not ready within {PATIENCE:?}"))
    }
}

/// An error as the report shows it.
pub trait Describe {
    /// A short description: the error code's name where there is one.
    fn describe(&self) -> String;
}

impl Describe for ErrorCode {
    fn describe(&self) -> String {
        self.name().to_string()
    }
}

impl Describe for StreamError {
    fn describe(&self) -> String {
        match self {
            StreamError::Closed => "closed".to_string(),
            StreamError::LastOperationFailed(e) => {
                format!("last-operation-failed ({})", e.to_debug_string())
            }
        }
    }
}

impl Describe for std::io::Error {
    fn describe(&self) -> String {
        format!("{:?}: {self}", self.kind())
    }
}

/// The value of `r`, or a failure that names `what` and the error.
pub fn want_ok<T, E: Describe>(what: &str, r: Result<T, E>) -> Step<T> {
    r.map_err(|e| format!("{what}: expected success, got {}", e.describe()))
}

/// `r` must be the error `expected`.
pub fn want_err<T: Debug>(what: &str, r: Result<T, ErrorCode>, expected: ErrorCode) -> Step {
    match r {
        Err(e) if e == expected => Ok(()),
        Err(e) => Err(format!(
            "{what}: expected {}, got {}",
            expected.name(),
            e.name()
        )),
        Ok(v) => Err(format!(
            "{what}: expected {}, got success {v:?}",
            expected.name()
        )),
    }
}

/// `got` must equal `expected`.
pub fn want_eq<T: Debug + PartialEq>(what: &str, got: T, expected: T) -> Step {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {got:?}"))
    }
}

/// `cond` must hold.
pub fn want(what: &str, cond: bool) -> Step {
    if cond {
        Ok(())
    } else {
        Err(format!("{what}: does not hold"))
    }
}

/// Runs cases and reports them.
#[derive(Debug, Default)]
pub struct Cases {
    run: usize,
    failed: usize,
}

impl Cases {
    /// No cases run yet.
    pub fn new() -> Cases {
        Cases::default()
    }

    /// Run the case `name` and print its line.
    pub fn case(&mut self, name: &str, f: impl FnOnce() -> Step) {
        self.run += 1;
        match f() {
            Ok(()) => println!("{name}: ok"),
            Err(what) => {
                self.failed += 1;
                println!("{name}: FAIL {what}");
            }
        }
    }

    /// Print `done N cases` and exit: 0 if every case passed, 1 otherwise.
    pub fn finish(self) -> ! {
        println!("done {} cases", self.run);
        std::process::exit(if self.failed == 0 { 0 } else { 1 })
    }
}
