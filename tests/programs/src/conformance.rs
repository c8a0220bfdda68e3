//! Helpers for the conformance programs (`<suite>_<case>`): each program
//! checks one behaviour of the contract through the raw interface, using
//! only sockets it creates itself, so that it runs against any provider.
//!
//! A program takes the address family as its first argument (`ipv4` or
//! `ipv6`), prints `ok WHAT` for each check that holds, `FAIL WHAT: ...`
//! and exits 1 at the first that does not, and prints `ok done` at the end.

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

pub use wasock::ErrorCode;
pub use wasock::Socket;
pub use wasock::raw::wasock::sockets::poll::{PollChange, PollEntry, PollEvent, PollSet, poll};
pub use wasock::raw::wasock::sockets::types::{
    AddressFamily, OptionName, Readiness, RecvFlags, SendFlags, ShutdownHow, SocketAddress,
    SocketOption, SocketType,
};

/// The family under test and its addresses.
#[derive(Debug, Clone, Copy)]
pub struct Fam {
    /// The family.
    pub family: AddressFamily,
}

/// The family named by the first argument.
pub fn family() -> Fam {
    match std::env::args().nth(1).as_deref() {
        Some("ipv4") => Fam {
            family: AddressFamily::Ipv4,
        },
        Some("ipv6") => Fam {
            family: AddressFamily::Ipv6,
        },
        other => {
            println!("FAIL arguments: expected ipv4 or ipv6, got {other:?}");
            std::process::exit(2);
        }
    }
}

impl Fam {
    /// Whether this is IPv6.
    pub fn v6(&self) -> bool {
        self.family == AddressFamily::Ipv6
    }

    /// The loopback address with `port`.
    pub fn loopback(&self, port: u16) -> SocketAddr {
        if self.v6() {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        }
    }

    /// The unspecified address with `port`.
    pub fn unspecified(&self, port: u16) -> SocketAddr {
        if self.v6() {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
        }
    }

    /// An address of this family that is not local (documentation ranges).
    pub fn non_local(&self, port: u16) -> SocketAddr {
        if self.v6() {
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x99)),
                port,
            )
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 99)), port)
        }
    }

    /// The loopback address of the other family.
    pub fn other_loopback(&self, port: u16) -> SocketAddr {
        if self.v6() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        } else {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)
        }
    }

    /// A new socket of this family.
    pub fn open(&self, ty: SocketType) -> Socket {
        ok("open", Socket::open(self.family, ty))
    }

    /// A new stream socket.
    pub fn stream(&self) -> Socket {
        self.open(SocketType::Stream)
    }

    /// A new datagram socket.
    pub fn datagram(&self) -> Socket {
        self.open(SocketType::Datagram)
    }

    /// A stream socket listening on loopback, and its address.
    pub fn listener(&self) -> (Socket, SocketAddr) {
        let l = self.stream();
        ok("bind listener", l.bind(wit(self.loopback(0))));
        ok("listen", l.listen(16));
        let addr = local(&l);
        (l, addr)
    }

    /// A listener, a client connected to it, and the accepted server side.
    pub fn connected(&self) -> (Socket, Socket, Socket) {
        let (l, addr) = self.listener();
        let c = self.stream();
        ok("connect", c.connect(wit(addr)));
        let (s, _) = ok("accept", l.accept());
        (l, c, s)
    }

    /// A datagram socket bound to loopback, and its address.
    pub fn bound_datagram(&self) -> (Socket, SocketAddr) {
        let s = self.datagram();
        ok("bind datagram", s.bind(wit(self.loopback(0))));
        let a = local(&s);
        (s, a)
    }
}

/// std's address as the interface's.
pub fn wit(addr: SocketAddr) -> SocketAddress {
    wasock::addr::from_std(addr)
}

/// The interface's address as std's.
pub fn std_addr(addr: SocketAddress) -> SocketAddr {
    wasock::addr::to_std(addr)
}

/// A socket's local address (which must exist).
pub fn local(s: &Socket) -> SocketAddr {
    std_addr(ok("local-address", s.local_address()))
}

/// Print `ok WHAT` and return the value, or `FAIL` and exit.
pub fn ok<T>(what: &str, r: Result<T, ErrorCode>) -> T {
    match r {
        Ok(t) => t,
        Err(e) => fail(what, format!("expected success, got {}", e.name())),
    }
}

/// `ok` for the std-shaped types' `io::Result`s.
pub fn must<T>(what: &str, r: std::io::Result<T>) -> T {
    r.unwrap_or_else(|e| fail(what, e.to_string()))
}

/// Expect `r` to fail with `code`.
pub fn expect_err<T: Debug>(what: &str, r: Result<T, ErrorCode>, code: ErrorCode) {
    match r {
        Err(e) if e == code => println!("ok {what}: {}", code.name()),
        Err(e) => fail(what, format!("expected {}, got {}", code.name(), e.name())),
        Ok(v) => fail(
            what,
            format!("expected {}, got success ({v:?})", code.name()),
        ),
    }
}

/// Expect `r` to fail with one of `codes` (where the operating system may
/// legitimately report either).
pub fn expect_one_of<T: Debug>(what: &str, r: Result<T, ErrorCode>, codes: &[ErrorCode]) {
    match r {
        Err(e) if codes.contains(&e) => println!("ok {what}: {}", e.name()),
        other => fail(what, format!("expected one of {codes:?}, got {other:?}")),
    }
}

/// Expect a condition.
pub fn check(what: &str, cond: bool) {
    if cond {
        println!("ok {what}");
    } else {
        fail(what, "does not hold".to_string());
    }
}

/// Expect two values to be equal.
pub fn check_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) {
    if got == want {
        println!("ok {what}");
    } else {
        fail(what, format!("expected {want:?}, got {got:?}"));
    }
}

/// Report a failed check and exit 1.
pub fn fail(what: &str, why: String) -> ! {
    println!("FAIL {what}: {why}");
    std::process::exit(1);
}

/// The last line of every program.
pub fn done() {
    println!("ok done");
}

/// Send all of `data` on a blocking stream socket.
pub fn send_all(s: &Socket, data: &[u8]) {
    let n = ok("send", s.send(data, SendFlags::empty()));
    check_eq("send took everything", n as usize, data.len());
}

/// Receive exactly `n` bytes on a blocking stream socket.
pub fn recv_exact(s: &Socket, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let chunk = ok("recv", s.recv((n - out.len()) as u64, RecvFlags::empty()));
        if chunk.is_empty() {
            fail(
                "recv",
                format!("end of stream after {} of {n} bytes", out.len()),
            );
        }
        out.extend_from_slice(&chunk);
    }
    out
}

/// Poll one socket.
pub fn poll_one(s: &Socket, interest: Readiness, timeout: Option<Duration>) -> Readiness {
    let entries = [PollEntry {
        socket: s,
        interest,
    }];
    let t = timeout.map(|d| d.as_nanos() as u64);
    ok("poll", poll(&entries, t))[0]
}

/// Wait until a socket is readable (bounded, so a broken provider fails
/// instead of hanging).
pub fn wait_readable(s: &Socket) {
    let r = poll_one(s, Readiness::READABLE, Some(Duration::from_secs(10)));
    if !r.contains(Readiness::READABLE) {
        fail("wait readable", format!("not readable after 10 s ({r:?})"));
    }
}

/// A stream socket option's value: bools, durations and sizes as `u64`.
pub fn option_value(o: SocketOption) -> Option<u64> {
    use SocketOption as O;
    Some(match o {
        O::ReuseAddress(b)
        | O::KeepAlive(b)
        | O::NoDelay(b)
        | O::Ipv6Only(b)
        | O::Broadcast(b)
        | O::MulticastLoop(b) => b as u64,
        O::KeepAliveIdle(d) | O::KeepAliveInterval(d) => d,
        O::KeepAliveCount(n) => n as u64,
        O::Linger(d) => d.map(|d| d + 1).unwrap_or(0),
        O::ReceiveBufferSize(n) | O::SendBufferSize(n) => n,
        O::ReceiveTimeout(d) | O::SendTimeout(d) => d.map(|d| d + 1).unwrap_or(0),
        O::UnicastHopLimit(h) | O::MulticastHopLimit(h) => h as u64,
        O::MulticastInterface(i) => i as u64,
    })
}

/// A second, as the interface's durations count it (nanoseconds).
pub const SEC: u64 = 1_000_000_000;

/// The monotonic time now, for checking that waits lasted.
pub fn now() -> std::time::Instant {
    std::time::Instant::now()
}
