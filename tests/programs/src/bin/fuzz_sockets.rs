//! `fuzz_sockets SEED STEPS`: a bounded random sequence of socket calls
//! with random arguments. Every call must return (a result or an error
//! code); the program checks what the interface promises about what it
//! holds, and prints `ok fuzzed STEPS calls`. Waits are bounded by short
//! timeouts, and the host's policy allows only loopback, so nothing leaves
//! the machine whatever the addresses drawn.

use wasock::raw::wasock::sockets::name_lookup::resolve_addresses;
use wasock::raw::wasock::sockets::poll::{PollEntry, poll};
use wasock::raw::wasock::sockets::types::{
    AddressFamily, IpAddress, Ipv4SocketAddress, Ipv6SocketAddress, OptionName, RecvFlags,
    SendFlags, ShutdownHow, SocketAddress, SocketOption, SocketType,
};
use wasock::{ErrorCode, Socket};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

struct Held {
    sock: Socket,
    family: AddressFamily,
    ty: SocketType,
}

const MAX_HELD: usize = 12;
const SHORT: u64 = 5_000_000;

fn port(r: &mut Rng, ports: &[u16]) -> u16 {
    match r.below(4) {
        0 => 0,
        1 => r.below(65536) as u16,
        _ => ports
            .get(r.below(ports.len() as u64) as usize)
            .copied()
            .unwrap_or(0),
    }
}

fn addr(r: &mut Rng, ports: &[u16]) -> SocketAddress {
    let p = port(r, ports);
    match r.below(6) {
        0 => SocketAddress::Ipv4(Ipv4SocketAddress {
            port: p,
            address: (127, 0, 0, 1),
        }),
        1 => SocketAddress::Ipv4(Ipv4SocketAddress {
            port: p,
            address: (0, 0, 0, 0),
        }),
        2 => SocketAddress::Ipv4(Ipv4SocketAddress {
            port: p,
            address: (
                r.next() as u8,
                r.next() as u8,
                r.next() as u8,
                r.next() as u8,
            ),
        }),
        3 => SocketAddress::Ipv6(Ipv6SocketAddress {
            port: p,
            flow_info: 0,
            address: (0, 0, 0, 0, 0, 0, 0, 1),
            scope_id: 0,
        }),
        4 => SocketAddress::Ipv6(Ipv6SocketAddress {
            port: p,
            flow_info: r.next() as u32,
            address: (0, 0, 0, 0, 0, 0xffff, 0x7f00, 1),
            scope_id: r.below(3) as u32,
        }),
        _ => SocketAddress::Ipv6(Ipv6SocketAddress {
            port: p,
            flow_info: 0,
            address: (
                r.next() as u16,
                r.next() as u16,
                0,
                0,
                0,
                0,
                0,
                r.next() as u16,
            ),
            scope_id: r.next() as u32,
        }),
    }
}

fn option(r: &mut Rng) -> SocketOption {
    let d = match r.below(4) {
        0 => 0,
        1 => r.next(),
        _ => r.below(100_000_000_000),
    };
    let small = r.below(300) as u8;
    match r.below(16) {
        0 => SocketOption::ReuseAddress(r.bool()),
        1 => SocketOption::KeepAlive(r.bool()),
        2 => SocketOption::KeepAliveIdle(d),
        3 => SocketOption::KeepAliveInterval(d),
        4 => SocketOption::KeepAliveCount(r.next() as u32 % 300),
        5 => SocketOption::NoDelay(r.bool()),
        6 => SocketOption::Linger(if r.bool() {
            Some(d % 3_000_000_000)
        } else {
            None
        }),
        7 => SocketOption::ReceiveBufferSize(r.below(1 << 22)),
        8 => SocketOption::SendBufferSize(r.next()),
        // Timeouts stay short and set: the fuzzer must never block for ever.
        9 => SocketOption::ReceiveTimeout(Some(1 + r.below(SHORT))),
        10 => SocketOption::SendTimeout(Some(1 + r.below(SHORT))),
        11 => SocketOption::UnicastHopLimit(small),
        12 => SocketOption::Ipv6Only(r.bool()),
        13 => SocketOption::Broadcast(r.bool()),
        14 => SocketOption::MulticastHopLimit(small),
        _ => SocketOption::MulticastLoop(r.bool()),
    }
}

const NAMES: [OptionName; 17] = [
    OptionName::ReuseAddress,
    OptionName::KeepAlive,
    OptionName::KeepAliveIdle,
    OptionName::KeepAliveInterval,
    OptionName::KeepAliveCount,
    OptionName::NoDelay,
    OptionName::Linger,
    OptionName::ReceiveBufferSize,
    OptionName::SendBufferSize,
    OptionName::ReceiveTimeout,
    OptionName::SendTimeout,
    OptionName::UnicastHopLimit,
    OptionName::Ipv6Only,
    OptionName::Broadcast,
    OptionName::MulticastHopLimit,
    OptionName::MulticastLoop,
    OptionName::MulticastInterface,
];

fn open(r: &mut Rng) -> Result<Held, ErrorCode> {
    let family = if r.bool() {
        AddressFamily::Ipv4
    } else {
        AddressFamily::Ipv6
    };
    let ty = if r.bool() {
        SocketType::Stream
    } else {
        SocketType::Datagram
    };
    let sock = Socket::open(family, ty)?;
    sock.set_option(SocketOption::ReceiveTimeout(Some(SHORT)))?;
    sock.set_option(SocketOption::SendTimeout(Some(SHORT)))?;
    Ok(Held { sock, family, ty })
}

fn main() {
    let seed: u64 = wasock_guests::arg(1).parse().expect("SEED");
    let steps: u64 = wasock_guests::arg(2).parse().expect("STEPS");
    let mut r = Rng(seed.wrapping_mul(0x9e3779b97f4a7c15) | 1);
    let mut held: Vec<Held> = Vec::new();
    let mut ports: Vec<u16> = Vec::new();
    let mut outcomes = [0u64; 2];
    for _ in 0..steps {
        if held.is_empty() || (held.len() < MAX_HELD && r.below(8) == 0) {
            if let Ok(h) = open(&mut r) {
                held.push(h);
            }
            continue;
        }
        let i = r.below(held.len() as u64) as usize;
        let s = &held[i].sock;
        let result: Result<(), ErrorCode> = match r.below(22) {
            0 => s.bind(addr(&mut r, &ports)),
            1 => s.listen(r.next() as u32),
            2 => s.accept().map(|(a, _)| drop(a)),
            3 => s.connect(addr(&mut r, &ports)),
            4 => s.disconnect(),
            5 => s
                .send(&vec![7u8; r.below(70_000) as usize], SendFlags::empty())
                .map(drop),
            6 => s
                .recv(r.next(), RecvFlags::from_bits_retain(r.next() as u8 & 3))
                .map(drop),
            7 => s
                .send_to(
                    &vec![1u8; r.below(70_000) as usize],
                    addr(&mut r, &ports),
                    SendFlags::empty(),
                )
                .map(drop),
            8 => s
                .recv_from(r.next(), RecvFlags::from_bits_retain(r.next() as u8 & 3))
                .map(drop),
            9 => s.shutdown(
                [ShutdownHow::Receive, ShutdownHow::Send, ShutdownHow::Both][r.below(3) as usize],
            ),
            10 => s.local_address().map(|a| {
                let p = match a {
                    SocketAddress::Ipv4(a) => a.port,
                    SocketAddress::Ipv6(a) => a.port,
                };
                if ports.len() < 32 {
                    ports.push(p);
                }
            }),
            11 => s.remote_address().map(drop),
            12 => s.set_nonblocking(r.bool()),
            13 => s.bytes_available().map(drop),
            14 => s.set_option(option(&mut r)),
            15 => s
                .get_option(NAMES[r.below(NAMES.len() as u64) as usize])
                .map(drop),
            16 => {
                let group = if r.bool() {
                    IpAddress::Ipv4((224 + r.below(32) as u8, 0, 0, r.next() as u8))
                } else {
                    IpAddress::Ipv6((0xff02, 0, 0, 0, 0, 0, 0, r.next() as u16))
                };
                if r.bool() {
                    s.join_multicast_group(group, r.below(3) as u32)
                } else {
                    s.leave_multicast_group(group, r.below(3) as u32)
                }
            }
            17 => s.take_error().map(drop),
            18 => {
                let n = r.below(held.len() as u64 + 1) as usize;
                let entries: Vec<PollEntry<'_>> = held
                    .iter()
                    .take(n)
                    .map(|h| PollEntry {
                        socket: &h.sock,
                        interest: wasock::Readiness::from_bits_retain(r.next() as u8 & 15),
                    })
                    .collect();
                let timeout = if entries.is_empty() || r.bool() {
                    Some(r.below(SHORT))
                } else {
                    Some(0)
                };
                poll(&entries, timeout)
                    .map(|out| assert_eq!(out.len(), entries.len(), "one result per entry"))
            }
            19 => {
                let names = [
                    "localhost",
                    "",
                    "2130706433",
                    "a..b",
                    "no-such.invalid",
                    "[::1]",
                    "127.0.0.1",
                    "x.test",
                ];
                resolve_addresses(names[r.below(names.len() as u64) as usize], None).map(drop)
            }
            20 => {
                held.swap_remove(i);
                Ok(())
            }
            _ => s.listen(0).and_then(|_| s.accept().map(drop)),
        };
        outcomes[result.is_ok() as usize] += 1;
        // What a socket is never changes.
        for h in &held {
            assert_eq!(h.sock.address_family(), h.family);
            assert_eq!(h.sock.socket_type(), h.ty);
        }
    }
    drop(held);
    println!(
        "ok fuzzed {steps} calls ({} succeeded, {} failed with a code)",
        outcomes[1], outcomes[0]
    );
}
