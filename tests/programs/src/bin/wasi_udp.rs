//! `wasi_udp FAMILY [MODE]`: standard `wasi:sockets/udp@0.2` through the raw
//! bindings, checked against the interface's documentation (each function's
//! doc and its "Typical errors"). FAMILY is `v4` or `v6`.
//!
//! Without MODE the program is self-contained (its peers are sockets it
//! creates itself, on loopback) and checks: the unbound state
//! (`local-address`, `remote-address`, `stream` are `invalid-state`); bind
//! (port 0 read back, twice, concurrently, after a failed bind, in use, not
//! bindable, wrong family, a multicast group left to the policy,
//! `finish-bind` out of order); `stream(none)` and `stream(some)` (remote
//! address, re-association, wrong family, unspecified, port 0, a group left
//! to the policy); receive (`receive(0)` and receive with nothing
//! queued are empty lists, never `would-block`; at most `max-results`;
//! pollable readiness); check-send permits and send (empty list, no
//! address while unconnected, a mismatching address while connected,
//! wrong family, unspecified, port 0, a group left to the policy,
//! `datagram-too-large`); datagram
//! boundaries (including an empty datagram) and the source address of
//! what arrives; a connected stream receives only from its peer; ICMP
//! port unreachable as `connection-refused`; every option getter and
//! setter (0 is `invalid-argument`).
//!
//! Modes:
//! - `peer ADDR`: talk to a real peer at ADDR, an echo server the host
//!   test runs, unconnected and connected.
//! - `trap-send-over-permit`, `trap-send-unchecked`,
//!   `trap-send-permit-reused`: send more datagrams than `check-send`
//!   permitted, without calling it, or twice on one permit; the interface
//!   says `send` traps, so the program must not get past it.
//!
//! Prints `CASE: ok` or `CASE: FAIL WHAT` per case and `done N cases`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, Network};
use wasip2::sockets::udp::{
    IncomingDatagram, IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream, UdpSocket,
};
use wasip2::sockets::udp_create_socket::create_udp_socket;
use wasock_guests::wasi_check::*;

/// The network handle and the family under test.
struct Ctx {
    net: Network,
    f: Fam,
}

/// A bound socket with its streams. The streams come first so that they
/// are dropped before the socket they belong to.
struct Udp {
    incoming: IncomingDatagramStream,
    outgoing: OutgoingDatagramStream,
    sock: UdpSocket,
    addr: SocketAddr,
}

impl Ctx {
    fn socket(&self) -> Step<UdpSocket> {
        want_ok("create-udp-socket", create_udp_socket(self.f.family()))
    }

    fn bind(&self, s: &UdpSocket, addr: SocketAddr) -> Result<(), ErrorCode> {
        s.start_bind(&self.net, wasi_addr(addr))?;
        let p = s.subscribe();
        for _ in 0..100 {
            match s.finish_bind() {
                Err(ErrorCode::WouldBlock) => {
                    if !ready_within(&p, PATIENCE) {
                        return Err(ErrorCode::Timeout);
                    }
                }
                other => return other,
            }
        }
        Err(ErrorCode::Timeout)
    }

    /// A socket bound to loopback port 0, and its address.
    fn bound(&self) -> Step<(UdpSocket, SocketAddr)> {
        let s = self.socket()?;
        want_ok("bind", self.bind(&s, self.f.loopback(0)))?;
        let a = std_addr(want_ok("local-address", s.local_address())?);
        Ok((s, a))
    }

    /// A bound socket (and its address) whose incoming pollable said ready
    /// for `data`, sent by `from`, and whose pair of streams was then
    /// dropped unread.
    fn seen_then_unpaired(&self, from: &Udp, data: &[u8]) -> Step<(UdpSocket, SocketAddr)> {
        let Udp {
            incoming,
            outgoing,
            sock,
            addr,
        } = self.open(None)?;
        send_all(&from.outgoing, &[dgram(data, Some(addr))])?;
        let p = incoming.subscribe();
        wait("incoming pollable", &p)?;
        drop(p);
        drop((incoming, outgoing));
        Ok((sock, addr))
    }

    /// A bound socket with streams, associated with `remote` if given.
    fn open(&self, remote: Option<SocketAddr>) -> Step<Udp> {
        let (sock, addr) = self.bound()?;
        let (incoming, outgoing) = want_ok("stream", sock.stream(remote.map(wasi_addr)))?;
        Ok(Udp {
            incoming,
            outgoing,
            sock,
            addr,
        })
    }
}

/// A datagram of `data` to `to`.
fn dgram(data: &[u8], to: Option<SocketAddr>) -> OutgoingDatagram {
    OutgoingDatagram {
        data: data.to_vec(),
        remote_address: to.map(wasi_addr),
    }
}

/// Wait for a permit of at least one datagram.
fn permit(out: &OutgoingDatagramStream) -> Step<u64> {
    let p = out.subscribe();
    for _ in 0..100 {
        let n = want_ok("check-send", out.check_send())?;
        if n > 0 {
            return Ok(n);
        }
        wait("outgoing pollable", &p)?;
    }
    Err("check-send: no permit".into())
}

/// Send every datagram, each `send` within what `check-send` permitted.
fn send_all(out: &OutgoingDatagramStream, datagrams: &[OutgoingDatagram]) -> Step {
    let deadline = Instant::now() + PATIENCE;
    let mut at = 0;
    while at < datagrams.len() {
        if Instant::now() > deadline {
            return Err(format!("send: {at} of {} sent", datagrams.len()));
        }
        let n = permit(out)? as usize;
        let end = datagrams.len().min(at + n);
        let sent = want_ok("send", out.send(&datagrams[at..end]))? as usize;
        if sent > end - at {
            return Err(format!("send: sent {sent} of {}", end - at));
        }
        at += sent;
    }
    Ok(())
}

/// Send one datagram; the result of `send` as it is.
fn send_one(out: &OutgoingDatagramStream, d: OutgoingDatagram) -> Step<Result<u64, ErrorCode>> {
    permit(out)?;
    Ok(out.send(&[d]))
}

/// Receive `n` datagrams, waiting up to [`PATIENCE`] in all.
fn recv_n(inc: &IncomingDatagramStream, n: usize) -> Step<Vec<IncomingDatagram>> {
    let deadline = Instant::now() + PATIENCE;
    let p = inc.subscribe();
    let mut got = Vec::new();
    while got.len() < n {
        let batch = want_ok("receive", inc.receive((n - got.len()) as u64))?;
        if batch.len() > n - got.len() {
            return Err(format!(
                "receive: {} datagrams for max-results {}",
                batch.len(),
                n - got.len()
            ));
        }
        if batch.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !ready_within(&p, left) {
                return Err(format!(
                    "receive: {} of {n} datagrams within {PATIENCE:?}",
                    got.len()
                ));
            }
        }
        got.extend(batch);
    }
    Ok(got)
}

/// Nothing more arrives within a short while.
fn nothing_more(inc: &IncomingDatagramStream) -> Step {
    let p = inc.subscribe();
    if ready_within(&p, Duration::from_millis(200)) {
        let got = want_ok("receive", inc.receive(10))?;
        if !got.is_empty() {
            return Err(format!(
                "unexpected datagram(s) {:?} from {:?}",
                got.iter()
                    .map(|d| String::from_utf8_lossy(&d.data).into_owned())
                    .collect::<Vec<_>>(),
                got.iter()
                    .map(|d| std_addr(d.remote_address))
                    .collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

fn main() {
    let f = Fam::from_args();
    let ctx = Ctx {
        net: instance_network(),
        f,
    };
    match std::env::args().nth(2).as_deref() {
        None => self_contained(&ctx),
        Some("peer") => {
            let addr = std::env::args().nth(3).and_then(|a| a.parse().ok());
            let Some(addr) = addr else {
                println!("arguments: FAIL peer needs an address");
                std::process::exit(2);
            };
            with_peer(&ctx, addr)
        }
        Some(
            mode @ ("trap-send-over-permit" | "trap-send-unchecked" | "trap-send-permit-reused"),
        ) => trap_send(&ctx, mode),
        Some(other) => {
            println!("arguments: FAIL unknown mode {other}");
            std::process::exit(2);
        }
    }
}

fn self_contained(ctx: &Ctx) {
    let f = ctx.f;
    let mut cases = Cases::new();

    // --- creation and the unbound state ---
    cases.case("create-address-family", || {
        want_eq("address-family", ctx.socket()?.address_family(), f.family())?;
        let o = want_ok("create other family", create_udp_socket(f.other_family()))?;
        want_eq("other address-family", o.address_family(), f.other_family())
    });
    cases.case("unbound-local-address-invalid-state", || {
        want_err(
            "local-address",
            ctx.socket()?.local_address(),
            ErrorCode::InvalidState,
        )
    });
    cases.case("unbound-remote-address-invalid-state", || {
        want_err(
            "remote-address",
            ctx.socket()?.remote_address(),
            ErrorCode::InvalidState,
        )
    });
    cases.case("stream-unbound-invalid-state", || {
        let s = ctx.socket()?;
        want_err(
            "stream(none)",
            s.stream(None).map(drop),
            ErrorCode::InvalidState,
        )?;
        let (_peer, peer_addr) = ctx.bound()?;
        want_err(
            "stream(some)",
            s.stream(Some(wasi_addr(peer_addr))).map(drop),
            ErrorCode::InvalidState,
        )
    });
    cases.case("finish-bind-without-start-not-in-progress", || {
        want_err(
            "finish-bind",
            ctx.socket()?.finish_bind(),
            ErrorCode::NotInProgress,
        )
    });

    // --- bind ---
    cases.case("bind-port-0-read-back", || {
        let s = ctx.socket()?;
        want_ok("bind", ctx.bind(&s, f.loopback(0)))?;
        let a = std_addr(want_ok("local-address", s.local_address())?);
        want_eq("bound ip", a.ip(), f.loopback(0).ip())?;
        want("a port was assigned", a.port() != 0)
    });
    cases.case("finish-bind-twice-not-in-progress", || {
        let (s, _) = ctx.bound()?;
        want_err("finish-bind", s.finish_bind(), ErrorCode::NotInProgress)
    });
    cases.case("bind-twice-invalid-state", || {
        let (s, _) = ctx.bound()?;
        want_err(
            "start-bind",
            s.start_bind(&ctx.net, wasi_addr(f.loopback(0))),
            ErrorCode::InvalidState,
        )
    });
    cases.case("bind-concurrent-concurrency-conflict", || {
        let s = ctx.socket()?;
        want_ok(
            "start-bind",
            s.start_bind(&ctx.net, wasi_addr(f.loopback(0))),
        )?;
        want_err(
            "second start-bind",
            s.start_bind(&ctx.net, wasi_addr(f.loopback(0))),
            ErrorCode::ConcurrencyConflict,
        )?;
        want_ok("finish-bind", s.finish_bind())
    });
    cases.case("bind-wrong-family-invalid-argument", || {
        want_err(
            "start-bind",
            ctx.socket()?
                .start_bind(&ctx.net, wasi_addr(f.other_loopback(0))),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("bind-after-failed-bind", || {
        let s = ctx.socket()?;
        want_err(
            "start-bind wrong family",
            s.start_bind(&ctx.net, wasi_addr(f.other_loopback(0))),
            ErrorCode::InvalidArgument,
        )?;
        want_ok("bind again", ctx.bind(&s, f.loopback(0)))
    });
    cases.case("bind-in-use-address-in-use", || {
        let (_a, addr) = ctx.bound()?;
        let s = ctx.socket()?;
        want_err(
            "bind the same address",
            ctx.bind(&s, addr),
            ErrorCode::AddressInUse,
        )?;
        want_ok("then bind port 0", ctx.bind(&s, f.loopback(0)))
    });
    cases.case("bind-non-local-address-not-bindable", || {
        want_err(
            "bind",
            ctx.bind(&ctx.socket()?, f.non_local(0)),
            ErrorCode::AddressNotBindable,
        )
    });
    cases.case("bind-multicast-reaches-the-policy", || {
        // Binding a group (to receive what is sent to it) is the policy's
        // to grant, and the loopback rules do not.
        want_err(
            "bind",
            ctx.bind(&ctx.socket()?, f.multicast(0)),
            ErrorCode::AccessDenied,
        )
    });
    cases.case("bound-remote-address-invalid-state", || {
        let (s, _) = ctx.bound()?;
        want_err(
            "remote-address",
            s.remote_address(),
            ErrorCode::InvalidState,
        )
    });

    // --- streams, unconnected ---
    cases.case("stream-none", || {
        let u = ctx.open(None)?;
        want_err(
            "remote-address",
            u.sock.remote_address(),
            ErrorCode::InvalidState,
        )?;
        want_eq(
            "local-address kept",
            std_addr(want_ok("local-address", u.sock.local_address())?),
            u.addr,
        )
    });
    cases.case("receive-zero-is-empty", || {
        let a = ctx.open(None)?;
        let b = ctx.open(None)?;
        send_all(&b.outgoing, &[dgram(b"queued", Some(a.addr))])?;
        let p = a.incoming.subscribe();
        wait("incoming pollable", &p)?;
        want_eq(
            "receive(0)",
            want_ok("receive(0)", a.incoming.receive(0))?.len(),
            0,
        )?;
        // The datagram is still there.
        want_eq(
            "then receive(1)",
            recv_n(&a.incoming, 1)?[0].data.clone(),
            b"queued".to_vec(),
        )
    });
    cases.case("receive-nothing-is-empty-not-would-block", || {
        let a = ctx.open(None)?;
        want_eq(
            "receive(10)",
            want_ok("receive(10)", a.incoming.receive(10))?.len(),
            0,
        )?;
        let p = a.incoming.subscribe();
        want("incoming pollable not ready without data", !ready_now(&p))
    });
    cases.case("check-send-permits", || {
        let a = ctx.open(None)?;
        let n = permit(&a.outgoing)?;
        want("permit >= 1", n >= 1)?;
        want_eq(
            "send of an empty list",
            want_ok("send []", a.outgoing.send(&[]))?,
            0,
        )
    });
    cases.case("send-without-address-unconnected-invalid-argument", || {
        let a = ctx.open(None)?;
        want_err(
            "send",
            send_one(&a.outgoing, dgram(b"x", None))?,
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("send-wrong-family-invalid-argument", || {
        let a = ctx.open(None)?;
        let (_b, b_addr) = ctx.bound()?;
        want_err(
            "send",
            send_one(
                &a.outgoing,
                dgram(b"x", Some(f.other_loopback(b_addr.port()))),
            )?,
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("send-unspecified-invalid-argument", || {
        let a = ctx.open(None)?;
        let (_b, b_addr) = ctx.bound()?;
        want_err(
            "send",
            send_one(&a.outgoing, dgram(b"x", Some(f.unspecified(b_addr.port()))))?,
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("send-port-0-invalid-argument", || {
        let a = ctx.open(None)?;
        want_err(
            "send",
            send_one(&a.outgoing, dgram(b"x", Some(f.loopback(0))))?,
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("send-multicast-reaches-the-policy", || {
        // A group is a valid destination for UDP (unlike TCP): the policy
        // decides, and the loopback rules do not grant it.
        let a = ctx.open(None)?;
        want_err(
            "send",
            send_one(&a.outgoing, dgram(b"x", Some(f.multicast(9))))?,
            ErrorCode::AccessDenied,
        )
    });
    cases.case("send-datagram-too-large", || {
        let a = ctx.open(None)?;
        let b = ctx.open(None)?;
        want_err(
            "send 65536 bytes",
            send_one(&a.outgoing, dgram(&vec![1u8; 65536], Some(b.addr)))?,
            ErrorCode::DatagramTooLarge,
        )?;
        // The socket still works.
        send_all(&a.outgoing, &[dgram(b"small", Some(b.addr))])?;
        want_eq(
            "small one arrives",
            recv_n(&b.incoming, 1)?[0].data.clone(),
            b"small".to_vec(),
        )
    });
    cases.case("datagram-boundaries-and-source", || {
        let a = ctx.open(None)?;
        let b = ctx.open(None)?;
        let payloads: Vec<Vec<u8>> = [1usize, 100, 1000, 8000]
            .iter()
            .map(|&n| wasock_guests::pattern(n))
            .collect();
        let out: Vec<_> = payloads.iter().map(|p| dgram(p, Some(b.addr))).collect();
        send_all(&a.outgoing, &out)?;
        let got = recv_n(&b.incoming, payloads.len())?;
        for d in &got {
            want_eq("source address", std_addr(d.remote_address), a.addr)?;
        }
        let mut got: Vec<Vec<u8>> = got.into_iter().map(|d| d.data).collect();
        let mut want_sorted = payloads.clone();
        got.sort();
        want_sorted.sort();
        want("each datagram whole", got == want_sorted)
    });
    cases.case("empty-datagram", || {
        let a = ctx.open(None)?;
        let b = ctx.open(None)?;
        send_all(&a.outgoing, &[dgram(b"", Some(b.addr))])?;
        let got = recv_n(&b.incoming, 1)?;
        want_eq("empty payload", got[0].data.len(), 0)?;
        want_eq("source address", std_addr(got[0].remote_address), a.addr)
    });
    cases.case("receive-at-most-max-results", || {
        let a = ctx.open(None)?;
        let b = ctx.open(None)?;
        let out: Vec<_> = (0..3u8).map(|i| dgram(&[i], Some(b.addr))).collect();
        send_all(&a.outgoing, &out)?;
        let first = recv_n(&b.incoming, 1)?;
        want_eq("one", first.len(), 1)?;
        let rest = recv_n(&b.incoming, 2)?;
        want_eq("two more", rest.len(), 2)?;
        nothing_more(&b.incoming)
    });
    cases.case("incoming-pollable-ready-on-data", || {
        let a = ctx.open(None)?;
        let b = ctx.open(None)?;
        let p = b.incoming.subscribe();
        want("not ready before", !ready_now(&p))?;
        send_all(&a.outgoing, &[dgram(b"wake", Some(b.addr))])?;
        want("ready after", ready_within(&p, PATIENCE))?;
        want_eq(
            "receive",
            recv_n(&b.incoming, 1)?[0].data.clone(),
            b"wake".to_vec(),
        )
    });

    // --- streams, connected ---
    cases.case("stream-connected", || {
        let b = ctx.open(None)?;
        let a = ctx.open(Some(b.addr))?;
        want_eq(
            "remote-address",
            std_addr(want_ok("remote-address", a.sock.remote_address())?),
            b.addr,
        )?;
        send_all(&a.outgoing, &[dgram(b"implicit", None)])?;
        send_all(&a.outgoing, &[dgram(b"explicit", Some(b.addr))])?;
        let got = recv_n(&b.incoming, 2)?;
        let mut data: Vec<_> = got.iter().map(|d| d.data.clone()).collect();
        data.sort();
        want_eq(
            "both arrive",
            data,
            vec![b"explicit".to_vec(), b"implicit".to_vec()],
        )?;
        for d in &got {
            want_eq("source", std_addr(d.remote_address), a.addr)?;
        }
        Ok(())
    });
    cases.case(
        "send-mismatching-address-connected-invalid-argument",
        || {
            let b = ctx.open(None)?;
            let (_c, c_addr) = ctx.bound()?;
            let a = ctx.open(Some(b.addr))?;
            want_err(
                "send to another address",
                send_one(&a.outgoing, dgram(b"x", Some(c_addr)))?,
                ErrorCode::InvalidArgument,
            )
        },
    );
    cases.case("connected-receives-only-from-peer", || {
        let b = ctx.open(None)?;
        let c = ctx.open(None)?;
        let a = ctx.open(Some(b.addr))?;
        send_all(&c.outgoing, &[dgram(b"from c", Some(a.addr))])?;
        send_all(&b.outgoing, &[dgram(b"from b", Some(a.addr))])?;
        let got = recv_n(&a.incoming, 1)?;
        want_eq("data", got[0].data.clone(), b"from b".to_vec())?;
        want_eq("remote-address", std_addr(got[0].remote_address), b.addr)?;
        nothing_more(&a.incoming)
    });
    cases.case("stream-reassociate", || {
        let b = ctx.open(None)?;
        let c = ctx.open(None)?;
        let Udp {
            incoming,
            outgoing,
            sock,
            addr,
        } = ctx.open(Some(b.addr))?;
        // Only the newest streams work; drop the old ones first.
        drop((incoming, outgoing));
        let (incoming, outgoing) = want_ok("stream(none)", sock.stream(None))?;
        want_err(
            "remote-address after stream(none)",
            sock.remote_address(),
            ErrorCode::InvalidState,
        )?;
        send_all(&outgoing, &[dgram(b"to c", Some(c.addr))])?;
        want_eq(
            "c receives",
            recv_n(&c.incoming, 1)?[0].data.clone(),
            b"to c".to_vec(),
        )?;
        drop((incoming, outgoing));
        let (incoming, outgoing) = want_ok("stream(some c)", sock.stream(Some(wasi_addr(c.addr))))?;
        want_eq(
            "remote-address",
            std_addr(want_ok("remote-address", sock.remote_address())?),
            c.addr,
        )?;
        // "The local-address may be updated as well, based on the best
        // network path": the address stays a loopback one.
        want_eq(
            "local ip",
            std_addr(want_ok("local-address", sock.local_address())?).ip(),
            addr.ip(),
        )?;
        send_all(&outgoing, &[dgram(b"again", None)])?;
        want_eq(
            "c receives",
            recv_n(&c.incoming, 1)?[0].data.clone(),
            b"again".to_vec(),
        )?;
        drop((incoming, outgoing));
        Ok(())
    });
    cases.case("ready-datagram-kept-for-new-streams", || {
        // What a pollable saw waiting belongs to the socket: the streams
        // that replace the pair receive it, before what came after it.
        let b = ctx.open(None)?;
        let (sock, addr) = ctx.seen_then_unpaired(&b, b"first")?;
        send_all(&b.outgoing, &[dgram(b"second", Some(addr))])?;
        let (incoming, outgoing) = want_ok("stream(none)", sock.stream(None))?;
        let got = recv_n(&incoming, 2)?;
        want_eq(
            "data, in order",
            got.iter().map(|d| d.data.clone()).collect::<Vec<_>>(),
            vec![b"first".to_vec(), b"second".to_vec()],
        )?;
        drop((incoming, outgoing));
        Ok(())
    });
    cases.case(
        "ready-datagram-from-other-peer-dropped-by-stream-some",
        || {
            // Seen waiting before the pair was associated with b: c's
            // datagram is not b's, and the new pair never returns it.
            let b = ctx.open(None)?;
            let c = ctx.open(None)?;
            let (sock, addr) = ctx.seen_then_unpaired(&c, b"from c")?;
            let (incoming, outgoing) =
                want_ok("stream(some b)", sock.stream(Some(wasi_addr(b.addr))))?;
            send_all(&b.outgoing, &[dgram(b"from b", Some(addr))])?;
            let got = recv_n(&incoming, 1)?;
            want_eq("data", got[0].data.clone(), b"from b".to_vec())?;
            nothing_more(&incoming)?;
            drop((incoming, outgoing));
            Ok(())
        },
    );
    cases.case("stream-wrong-family-invalid-argument", || {
        let (s, _) = ctx.bound()?;
        let (_b, b_addr) = ctx.bound()?;
        want_err(
            "stream",
            s.stream(Some(wasi_addr(f.other_loopback(b_addr.port()))))
                .map(drop),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("stream-unspecified-invalid-argument", || {
        let (s, _) = ctx.bound()?;
        let (_b, b_addr) = ctx.bound()?;
        want_err(
            "stream",
            s.stream(Some(wasi_addr(f.unspecified(b_addr.port()))))
                .map(drop),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("stream-port-0-invalid-argument", || {
        let (s, _) = ctx.bound()?;
        want_err(
            "stream",
            s.stream(Some(wasi_addr(f.loopback(0)))).map(drop),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("stream-multicast-reaches-the-policy", || {
        let (s, _) = ctx.bound()?;
        want_err(
            "stream",
            s.stream(Some(wasi_addr(f.multicast(9)))).map(drop),
            ErrorCode::AccessDenied,
        )
    });
    cases.case("connected-unreachable-connection-refused", || {
        // A port that was bound and is free again.
        let gone_addr = {
            let (_gone, a) = ctx.bound()?;
            a
        };
        let a = ctx.open(Some(gone_addr))?;
        send_all(&a.outgoing, &[dgram(b"anyone?", None)])?;
        let p = a.incoming.subscribe();
        wait("incoming pollable reports the error", &p)?;
        want_err(
            "receive",
            a.incoming.receive(1).map(|v| v.len()),
            ErrorCode::ConnectionRefused,
        )
    });

    // --- options ---
    cases.case("options-get-set", || {
        let s = ctx.socket()?;
        want_ok("unicast-hop-limit", s.unicast_hop_limit())?;
        want_ok("set-unicast-hop-limit", s.set_unicast_hop_limit(17))?;
        want_eq(
            "unicast-hop-limit",
            want_ok("get", s.unicast_hop_limit())?,
            17,
        )?;
        want_ok("set-unicast-hop-limit 255", s.set_unicast_hop_limit(255))?;
        want_eq(
            "unicast-hop-limit 255",
            want_ok("get", s.unicast_hop_limit())?,
            255,
        )?;
        want_ok(
            "set-receive-buffer-size",
            s.set_receive_buffer_size(64 * 1024),
        )?;
        want(
            "receive-buffer-size > 0",
            want_ok("get", s.receive_buffer_size())? > 0,
        )?;
        want_ok("set-send-buffer-size", s.set_send_buffer_size(64 * 1024))?;
        want(
            "send-buffer-size > 0",
            want_ok("get", s.send_buffer_size())? > 0,
        )?;
        want_ok("set-receive-buffer-size 1", s.set_receive_buffer_size(1))?;
        want_ok(
            "set-send-buffer-size u64::MAX",
            s.set_send_buffer_size(u64::MAX),
        )?;
        // And on a bound socket with streams.
        let u = ctx.open(None)?;
        want_ok(
            "bound set-unicast-hop-limit",
            u.sock.set_unicast_hop_limit(9),
        )?;
        want_eq(
            "bound unicast-hop-limit",
            want_ok("get", u.sock.unicast_hop_limit())?,
            9,
        )
    });
    cases.case("options-zero-invalid-argument", || {
        let s = ctx.socket()?;
        want_err(
            "set-unicast-hop-limit 0",
            s.set_unicast_hop_limit(0),
            ErrorCode::InvalidArgument,
        )?;
        want_err(
            "set-receive-buffer-size 0",
            s.set_receive_buffer_size(0),
            ErrorCode::InvalidArgument,
        )?;
        want_err(
            "set-send-buffer-size 0",
            s.set_send_buffer_size(0),
            ErrorCode::InvalidArgument,
        )
    });

    cases.finish()
}

/// The cases against a real peer: an echo server at `addr`.
fn with_peer(ctx: &Ctx, addr: SocketAddr) {
    let mut cases = Cases::new();
    cases.case("peer-echo-unconnected", || {
        let a = ctx.open(None)?;
        let msg = b"ping from wasi_udp";
        send_all(&a.outgoing, &[dgram(msg, Some(addr))])?;
        let got = recv_n(&a.incoming, 1)?;
        want_eq("echo", got[0].data.clone(), msg.to_vec())?;
        want_eq("from the peer", std_addr(got[0].remote_address), addr)
    });
    cases.case("peer-echo-connected", || {
        let a = ctx.open(Some(addr))?;
        let msgs: Vec<_> = (0..3)
            .map(|i| format!("connected {i}").into_bytes())
            .collect();
        let out: Vec<_> = msgs.iter().map(|m| dgram(m, None)).collect();
        send_all(&a.outgoing, &out)?;
        let got = recv_n(&a.incoming, msgs.len())?;
        let mut data: Vec<_> = got.iter().map(|d| d.data.clone()).collect();
        data.sort();
        want_eq("echoes", data, msgs)?;
        for d in &got {
            want_eq("from the peer", std_addr(d.remote_address), addr)?;
        }
        Ok(())
    });
    cases.finish()
}

/// Send without a permit that covers it: must trap.
fn trap_send(ctx: &Ctx, mode: &str) {
    let setup = || -> Step<(Udp, Udp)> { Ok((ctx.open(None)?, ctx.open(None)?)) };
    let (a, b) = match setup() {
        Ok(s) => s,
        Err(e) => {
            println!("setup: FAIL {e}");
            std::process::exit(1);
        }
    };
    let count = match mode {
        "trap-send-over-permit" => match permit(&a.outgoing) {
            Ok(n) if n < 4096 => n as usize + 1,
            other => {
                println!("setup: FAIL permit {other:?} cannot be exceeded here");
                std::process::exit(1);
            }
        },
        "trap-send-permit-reused" => {
            if let Err(e) = send_all(&a.outgoing, &[dgram(b"first", Some(b.addr))]) {
                println!("setup: FAIL {e}");
                std::process::exit(1);
            }
            1
        }
        _ => 1,
    };
    let datagrams: Vec<_> = (0..count).map(|_| dgram(b"x", Some(b.addr))).collect();
    println!("about to trap: sending {count} datagrams");
    let r = a.outgoing.send(&datagrams);
    println!("{mode}: FAIL did not trap ({r:?})");
    std::process::exit(1);
}
