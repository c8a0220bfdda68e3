//! `wasi_tcp FAMILY [MODE]`: standard `wasi:sockets/tcp@0.2` through the raw
//! bindings, checked against the interface's documentation (each function's
//! doc and its "Typical errors"). FAMILY is `v4` or `v6`.
//!
//! Without MODE the program is self-contained (its peers are sockets it
//! creates itself, on loopback) and checks: the state machine (unbound,
//! bound, listening, connect-in-progress, connected, closed) with the
//! `invalid-state`, `not-in-progress` and `concurrency-conflict` cases;
//! bind (port 0 read back, twice, after a failed bind, in use, not
//! bindable, wrong family, multicast, IPv4-mapped); listen (unbound, twice,
//! backlog); non-blocking connect with subscribe + poll (refused, wrong
//! family, unspecified, port 0, multicast, IPv4-mapped, twice, after a
//! failure, the addresses of an existing connection); accept (would-block, socket and streams, addresses, inherited
//! options, one pollable reused); every option getter and setter (0 is
//! `invalid-argument`); the input and output streams (check-write, write,
//! flush, subscribe, read of nothing, read(0), 1 MiB each way at once);
//! shutdown (each direction, idempotent, unconnected) and the peer's close.
//!
//! Modes:
//! - `peer ADDR`: talk to a real peer at ADDR, an echo server the host
//!   test runs: connect, echo, end of stream.
//! - `trap-write-over-permit`, `trap-write-unchecked`: write more bytes
//!   than `check-write` permitted, or without calling it; the interface
//!   says the call traps, so the program must not get past it.
//!
//! Prints `CASE: ok` or `CASE: FAIL WHAT` per case and `done N cases`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, Network};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;
use wasock_guests::wasi_check::*;

/// The network handle and the family under test.
struct Ctx {
    net: Network,
    f: Fam,
}

/// A connected socket with its streams. The streams come first so that
/// they are dropped before the socket they belong to.
struct Conn {
    input: InputStream,
    output: OutputStream,
    sock: TcpSocket,
}

/// A listener, a client connected to it, and the accepted server side.
struct Pair {
    client: Conn,
    server: Conn,
    listener: TcpSocket,
    addr: SocketAddr,
}

/// Retry `f` while it says `would-block`, waiting on `s`'s pollable in
/// between, for at most [`PATIENCE`]: `timeout` if it never finishes.
fn finish<T>(
    s: &TcpSocket,
    f: impl Fn(&TcpSocket) -> Result<T, ErrorCode>,
) -> Result<T, ErrorCode> {
    let deadline = Instant::now() + PATIENCE;
    let p = s.subscribe();
    loop {
        match f(s) {
            Err(ErrorCode::WouldBlock) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !ready_within(&p, left) {
                    return Err(ErrorCode::Timeout);
                }
            }
            other => return other,
        }
    }
}

impl Ctx {
    fn socket(&self) -> Step<TcpSocket> {
        want_ok("create-tcp-socket", create_tcp_socket(self.f.family()))
    }

    fn bind(&self, s: &TcpSocket, addr: SocketAddr) -> Result<(), ErrorCode> {
        s.start_bind(&self.net, wasi_addr(addr))?;
        finish(s, TcpSocket::finish_bind)
    }

    fn listen(&self, s: &TcpSocket) -> Result<(), ErrorCode> {
        s.start_listen()?;
        finish(s, TcpSocket::finish_listen)
    }

    fn connect(
        &self,
        s: &TcpSocket,
        addr: SocketAddr,
    ) -> Result<(InputStream, OutputStream), ErrorCode> {
        s.start_connect(&self.net, wasi_addr(addr))?;
        finish(s, TcpSocket::finish_connect)
    }

    /// A socket bound to loopback port 0, and the port it got.
    fn bound(&self) -> Step<(TcpSocket, SocketAddr)> {
        let s = self.socket()?;
        want_ok("bind", self.bind(&s, self.f.loopback(0)))?;
        let a = std_addr(want_ok("local-address", s.local_address())?);
        Ok((s, a))
    }

    /// A socket listening on loopback, and its address.
    fn listener(&self) -> Step<(TcpSocket, SocketAddr)> {
        let (s, a) = self.bound()?;
        want_ok("listen", self.listen(&s))?;
        Ok((s, a))
    }

    /// Accept one connection on `l`, waiting for it.
    fn accept(&self, l: &TcpSocket) -> Step<Conn> {
        let (sock, input, output) = want_ok("accept", finish(l, TcpSocket::accept))?;
        Ok(Conn {
            input,
            output,
            sock,
        })
    }

    /// Connect `c` to `addr` while `l` accepts it, both driven by one poll
    /// loop (so that no provider need complete a handshake on its own).
    fn connect_and_accept(
        &self,
        c: TcpSocket,
        l: &TcpSocket,
        addr: SocketAddr,
    ) -> Step<(Conn, Conn)> {
        want_ok("start-connect", c.start_connect(&self.net, wasi_addr(addr)))?;
        let deadline = Instant::now() + PATIENCE;
        let (cp, lp) = (c.subscribe(), l.subscribe());
        let mut client = None;
        let mut server = None;
        while client.is_none() || server.is_none() {
            if client.is_none() {
                match c.finish_connect() {
                    Ok(streams) => client = Some(streams),
                    Err(ErrorCode::WouldBlock) => {}
                    Err(e) => return Err(format!("finish-connect: {}", e.name())),
                }
            }
            if server.is_none() {
                match l.accept() {
                    Ok(conn) => server = Some(conn),
                    Err(ErrorCode::WouldBlock) => {}
                    Err(e) => return Err(format!("accept: {}", e.name())),
                }
            }
            if Instant::now() > deadline {
                return Err(format!("connect and accept: not done within {PATIENCE:?}"));
            }
            let mut ps = Vec::new();
            if client.is_none() {
                ps.push(&cp);
            }
            if server.is_none() {
                ps.push(&lp);
            }
            if !ps.is_empty() {
                let timer = wasip2::clocks::monotonic_clock::subscribe_duration(50_000_000);
                ps.push(&timer);
                wasip2::io::poll::poll(&ps);
            }
        }
        drop((cp, lp));
        let (ci, co) = client.unwrap();
        let (ss, si, so) = server.unwrap();
        Ok((
            Conn {
                input: ci,
                output: co,
                sock: c,
            },
            Conn {
                input: si,
                output: so,
                sock: ss,
            },
        ))
    }

    /// A listener, a connected client and the accepted server side.
    fn pair(&self) -> Step<Pair> {
        let (listener, addr) = self.listener()?;
        let c = self.socket()?;
        let (client, server) = self.connect_and_accept(c, &listener, addr)?;
        Ok(Pair {
            client,
            server,
            listener,
            addr,
        })
    }

    /// A port on loopback where nothing listens (bound by a socket that
    /// stays open and never listens, so that nothing else takes it).
    fn refusing_port(&self) -> Step<(TcpSocket, SocketAddr)> {
        self.bound()
    }
}

/// Write all of `data` with check-write/write, then flush and wait for the
/// flush to complete, within [`PATIENCE`].
fn write_all(out: &OutputStream, data: &[u8]) -> Step {
    let deadline = Instant::now() + PATIENCE;
    let p = out.subscribe();
    let mut at = 0;
    while at < data.len() {
        let n = want_ok("check-write", out.check_write())? as usize;
        if n == 0 {
            if Instant::now() > deadline || !ready_within(&p, PATIENCE) {
                return Err("write: no permit within the time".into());
            }
            continue;
        }
        let end = data.len().min(at + n);
        want_ok("write", out.write(&data[at..end]))?;
        at = end;
    }
    flush(out)
}

/// Flush and wait until check-write reports a permit again (the flush
/// is complete).
fn flush(out: &OutputStream) -> Step {
    want_ok("flush", out.flush())?;
    let p = out.subscribe();
    for _ in 0..1000 {
        if want_ok("check-write after flush", out.check_write())? > 0 {
            return Ok(());
        }
        wait("flush", &p)?;
    }
    Err("flush: did not complete".into())
}

/// Read exactly `n` bytes, waiting up to [`PATIENCE`] in all.
fn read_exact(input: &InputStream, n: usize) -> Step<Vec<u8>> {
    let deadline = Instant::now() + PATIENCE;
    let p = input.subscribe();
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match input.read((n - got.len()) as u64) {
            Ok(b) if b.is_empty() => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !ready_within(&p, left) {
                    return Err(format!(
                        "read: {} of {n} bytes within {PATIENCE:?}",
                        got.len()
                    ));
                }
            }
            Ok(b) => got.extend_from_slice(&b),
            Err(e) => return Err(format!("read: {e:?} after {} of {n} bytes", got.len())),
        }
    }
    Ok(got)
}

/// Read until the stream reports `closed` (end of stream): the bytes read.
fn read_to_end(input: &InputStream) -> Step<Vec<u8>> {
    let deadline = Instant::now() + PATIENCE;
    let p = input.subscribe();
    let mut got = Vec::new();
    loop {
        match input.read(65536) {
            Ok(b) if b.is_empty() => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !ready_within(&p, left) {
                    return Err(format!("no end of stream within {PATIENCE:?}"));
                }
            }
            Ok(b) => got.extend_from_slice(&b),
            Err(StreamError::Closed) => return Ok(got),
            Err(e) => return Err(format!("read: {e:?} instead of the end of stream")),
        }
    }
}

/// The stream error must be `closed`.
fn want_closed<T: std::fmt::Debug>(what: &str, r: Result<T, StreamError>) -> Step {
    match r {
        Err(StreamError::Closed) => Ok(()),
        other => Err(format!("{what}: expected closed, got {other:?}")),
    }
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
        Some("trap-write-over-permit") => trap_write(&ctx, true),
        Some("trap-write-unchecked") => trap_write(&ctx, false),
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
        let s = ctx.socket()?;
        want_eq("address-family", s.address_family(), f.family())?;
        let o = want_ok("create other family", create_tcp_socket(f.other_family()))?;
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
    cases.case("unbound-is-listening-false", || {
        want_eq("is-listening", ctx.socket()?.is_listening(), false)
    });
    cases.case("finish-without-start-not-in-progress", || {
        let s = ctx.socket()?;
        want_err("finish-bind", s.finish_bind(), ErrorCode::NotInProgress)?;
        want_err(
            "finish-connect",
            s.finish_connect(),
            ErrorCode::NotInProgress,
        )?;
        want_err("finish-listen", s.finish_listen(), ErrorCode::NotInProgress)
    });
    cases.case("listen-unbound-invalid-state", || {
        want_err(
            "start-listen",
            ctx.socket()?.start_listen(),
            ErrorCode::InvalidState,
        )
    });
    cases.case("accept-unbound-invalid-state", || {
        want_err("accept", ctx.socket()?.accept(), ErrorCode::InvalidState)
    });
    cases.case("shutdown-unconnected-invalid-state", || {
        let s = ctx.socket()?;
        want_err(
            "shutdown unbound",
            s.shutdown(ShutdownType::Both),
            ErrorCode::InvalidState,
        )?;
        let (l, _) = ctx.listener()?;
        want_err(
            "shutdown listener",
            l.shutdown(ShutdownType::Both),
            ErrorCode::InvalidState,
        )
    });

    // --- bind ---
    cases.case("bind-port-0-read-back", || {
        let s = ctx.socket()?;
        want_ok(
            "start-bind",
            s.start_bind(&ctx.net, wasi_addr(f.loopback(0))),
        )?;
        want_ok("finish-bind", finish(&s, TcpSocket::finish_bind))?;
        let a = std_addr(want_ok("local-address", s.local_address())?);
        want_eq("bound ip", a.ip(), f.loopback(0).ip())?;
        want("a port was assigned", a.port() != 0)?;
        want_eq("is-listening", s.is_listening(), false)?;
        want_err(
            "remote-address",
            s.remote_address(),
            ErrorCode::InvalidState,
        )
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
        want_ok("finish-bind", finish(&s, TcpSocket::finish_bind))?;
        want_ok("local-address", s.local_address()).map(drop)
    });
    cases.case("bind-wrong-family-invalid-argument", || {
        want_err(
            "start-bind",
            ctx.socket()?
                .start_bind(&ctx.net, wasi_addr(f.other_loopback(0))),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("bind-multicast-invalid-argument", || {
        want_err(
            "start-bind",
            ctx.socket()?
                .start_bind(&ctx.net, wasi_addr(f.multicast(0))),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("bind-ipv4-mapped-invalid-argument", || {
        want_err(
            "start-bind",
            ctx.socket()?
                .start_bind(&ctx.net, wasi_addr(ipv4_mapped_loopback(0))),
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
        let (_l, addr) = ctx.listener()?;
        let s = ctx.socket()?;
        let r = s
            .start_bind(&ctx.net, wasi_addr(addr))
            .and_then(|()| finish(&s, TcpSocket::finish_bind));
        want_err("bind the listener's address", r, ErrorCode::AddressInUse)?;
        want_ok("then bind port 0", ctx.bind(&s, f.loopback(0)))
    });
    cases.case("bind-again-after-time-wait", || {
        // A listener bound to port 0, whose connection the server side
        // closes first: TIME_WAIT holds that port. The WIT's `bind` asks
        // that it can be bound again at once.
        let Pair {
            client,
            server,
            listener,
            addr,
        } = ctx.pair()?;
        drop(server);
        let rest = read_to_end(&client.input)?;
        if !rest.is_empty() {
            return Err(format!("{} bytes from a closed peer", rest.len()));
        }
        drop(client);
        drop(listener);
        let s = ctx.socket()?;
        want_ok("bind the port again", ctx.bind(&s, addr))?;
        want_ok("listen again", ctx.listen(&s))
    });
    cases.case("bind-non-local-address-not-bindable", || {
        let s = ctx.socket()?;
        let r = s
            .start_bind(&ctx.net, wasi_addr(f.non_local(0)))
            .and_then(|()| finish(&s, TcpSocket::finish_bind));
        want_err("bind", r, ErrorCode::AddressNotBindable)
    });

    // --- listen ---
    cases.case("listen-and-is-listening", || {
        let (s, a) = ctx.bound()?;
        want_ok("start-listen", s.start_listen())?;
        want_ok("finish-listen", finish(&s, TcpSocket::finish_listen))?;
        want_eq("is-listening", s.is_listening(), true)?;
        want_eq(
            "local-address",
            std_addr(want_ok("local-address", s.local_address())?),
            a,
        )?;
        want_err(
            "remote-address",
            s.remote_address(),
            ErrorCode::InvalidState,
        )?;
        want_err(
            "finish-listen again",
            s.finish_listen(),
            ErrorCode::NotInProgress,
        )
    });
    cases.case("listen-twice-invalid-state", || {
        let (s, _) = ctx.listener()?;
        want_err("start-listen", s.start_listen(), ErrorCode::InvalidState)
    });
    cases.case("listen-concurrent-concurrency-conflict", || {
        let (s, _) = ctx.bound()?;
        want_ok("start-listen", s.start_listen())?;
        want_err(
            "second start-listen",
            s.start_listen(),
            ErrorCode::ConcurrencyConflict,
        )?;
        want_ok("finish-listen", finish(&s, TcpSocket::finish_listen))
    });
    cases.case("bind-listener-invalid-state", || {
        let (s, _) = ctx.listener()?;
        want_err(
            "start-bind",
            s.start_bind(&ctx.net, wasi_addr(f.loopback(0))),
            ErrorCode::InvalidState,
        )
    });
    cases.case("connect-listener-invalid-state", || {
        let (s, a) = ctx.listener()?;
        want_err(
            "start-connect",
            s.start_connect(&ctx.net, wasi_addr(a)),
            ErrorCode::InvalidState,
        )
    });
    cases.case("accept-nothing-pending-would-block", || {
        let (l, _) = ctx.listener()?;
        want_err("accept", l.accept(), ErrorCode::WouldBlock)?;
        let p = l.subscribe();
        want(
            "listener pollable not ready without a connection",
            !ready_now(&p),
        )
    });
    cases.case("listen-backlog-size", || {
        let (s, _) = ctx.bound()?;
        want_err(
            "set 0",
            s.set_listen_backlog_size(0),
            ErrorCode::InvalidArgument,
        )?;
        want_ok("set 10 before listen", s.set_listen_backlog_size(10))?;
        want_ok("listen", ctx.listen(&s))?;
        match s.set_listen_backlog_size(20) {
            Ok(()) | Err(ErrorCode::NotSupported) => {}
            Err(e) => return Err(format!("set 20 on listener: {}", e.name())),
        }
        want_err(
            "set 0 on listener",
            s.set_listen_backlog_size(0),
            ErrorCode::InvalidArgument,
        )?;
        let p = ctx.pair()?;
        want_err(
            "set on connected",
            p.client.sock.set_listen_backlog_size(10),
            ErrorCode::InvalidState,
        )
    });

    // --- connect ---
    cases.case("connect-nonblocking-subscribe-poll", || {
        let (l, addr) = ctx.listener()?;
        let c = ctx.socket()?;
        want_ok("start-connect", c.start_connect(&ctx.net, wasi_addr(addr)))?;
        let p = c.subscribe();
        let mut streams = None;
        for _ in 0..1000 {
            match c.finish_connect() {
                Ok(s) => {
                    streams = Some(s);
                    break;
                }
                Err(ErrorCode::WouldBlock) => wait("connect pollable", &p)?,
                Err(e) => return Err(format!("finish-connect: {}", e.name())),
            }
        }
        let Some((input, output)) = streams else {
            return Err("finish-connect: still would-block".into());
        };
        drop(p);
        let local = std_addr(want_ok("local-address", c.local_address())?);
        want_eq("local ip", local.ip(), addr.ip())?;
        want("local port assigned", local.port() != 0)?;
        want_eq(
            "remote-address",
            std_addr(want_ok("remote-address", c.remote_address())?),
            addr,
        )?;
        want_eq("is-listening", c.is_listening(), false)?;
        want_err(
            "finish-connect again",
            c.finish_connect(),
            ErrorCode::NotInProgress,
        )?;
        let server = ctx.accept(&l)?;
        want_eq(
            "accepted remote-address",
            std_addr(want_ok(
                "accepted remote-address",
                server.sock.remote_address(),
            )?),
            local,
        )?;
        want_eq(
            "accepted local-address",
            std_addr(want_ok(
                "accepted local-address",
                server.sock.local_address(),
            )?),
            addr,
        )?;
        want_eq("accepted family", server.sock.address_family(), f.family())?;
        want_eq("accepted is-listening", server.sock.is_listening(), false)?;
        drop((input, output));
        Ok(())
    });
    cases.case("connect-concurrent-concurrency-conflict", || {
        let (l, addr) = ctx.listener()?;
        let c = ctx.socket()?;
        want_ok("start-connect", c.start_connect(&ctx.net, wasi_addr(addr)))?;
        want_err(
            "second start-connect",
            c.start_connect(&ctx.net, wasi_addr(addr)),
            ErrorCode::ConcurrencyConflict,
        )?;
        let streams = want_ok("finish-connect", finish(&c, TcpSocket::finish_connect))?;
        let _server = ctx.accept(&l)?;
        drop(streams);
        Ok(())
    });
    // "bound" includes connect-in-progress; only the closed state may
    // answer invalid-state to every method.
    cases.case("connect-in-progress-local-address", || {
        let (l, addr) = ctx.listener()?;
        let (c, local) = ctx.bound()?;
        want_ok("start-connect", c.start_connect(&ctx.net, wasi_addr(addr)))?;
        want_eq(
            "local-address while connecting",
            std_addr(want_ok(
                "local-address while connecting",
                c.local_address(),
            )?),
            local,
        )?;
        want_err(
            "remote-address while connecting",
            c.remote_address(),
            ErrorCode::InvalidState,
        )?;
        want_eq("is-listening while connecting", c.is_listening(), false)?;
        let streams = want_ok("finish-connect", finish(&c, TcpSocket::finish_connect))?;
        let _server = ctx.accept(&l)?;
        drop(streams);
        Ok(())
    });
    cases.case("connect-in-progress-options", || {
        let (l, addr) = ctx.listener()?;
        let c = ctx.socket()?;
        want_ok("start-connect", c.start_connect(&ctx.net, wasi_addr(addr)))?;
        want_ok(
            "keep-alive-enabled while connecting",
            c.keep_alive_enabled(),
        )?;
        want_ok(
            "set-keep-alive-enabled while connecting",
            c.set_keep_alive_enabled(true),
        )?;
        want_ok("set-hop-limit while connecting", c.set_hop_limit(77))?;
        want_ok(
            "receive-buffer-size while connecting",
            c.receive_buffer_size(),
        )?;
        let streams = want_ok("finish-connect", finish(&c, TcpSocket::finish_connect))?;
        want_eq(
            "keep-alive kept",
            want_ok("keep-alive-enabled", c.keep_alive_enabled())?,
            true,
        )?;
        want_eq("hop-limit kept", want_ok("hop-limit", c.hop_limit())?, 77)?;
        let _server = ctx.accept(&l)?;
        drop(streams);
        Ok(())
    });
    cases.case("connect-bound-keeps-local-address", || {
        let (l, addr) = ctx.listener()?;
        let (c, local) = ctx.bound()?;
        let (client, server) = ctx.connect_and_accept(c, &l, addr)?;
        want_eq(
            "local-address",
            std_addr(want_ok("local-address", client.sock.local_address())?),
            local,
        )?;
        want_eq(
            "peer sees it",
            std_addr(want_ok(
                "accepted remote-address",
                server.sock.remote_address(),
            )?),
            local,
        )
    });
    cases.case("connected-state-errors", || {
        let p = ctx.pair()?;
        let c = &p.client.sock;
        want_err(
            "start-connect",
            c.start_connect(&ctx.net, wasi_addr(p.addr)),
            ErrorCode::InvalidState,
        )?;
        want_err("start-listen", c.start_listen(), ErrorCode::InvalidState)?;
        want_err(
            "start-bind",
            c.start_bind(&ctx.net, wasi_addr(f.loopback(0))),
            ErrorCode::InvalidState,
        )?;
        want_err("accept", c.accept(), ErrorCode::InvalidState)?;
        want_err(
            "accepted start-connect",
            p.server.sock.start_connect(&ctx.net, wasi_addr(p.addr)),
            ErrorCode::InvalidState,
        )?;
        want_err(
            "accepted start-listen",
            p.server.sock.start_listen(),
            ErrorCode::InvalidState,
        )
    });
    cases.case("connect-refused", || {
        let (_idle, addr) = ctx.refusing_port()?;
        let c = ctx.socket()?;
        want_err(
            "connect",
            ctx.connect(&c, addr),
            ErrorCode::ConnectionRefused,
        )
    });
    cases.case("connect-same-addresses-address-in-use", || {
        // A second socket bound to a connected one's address (a port given
        // explicitly, so the bind reuses it) cannot connect to the same
        // peer. WASI calls that `address-in-use` (Linux says
        // EADDRNOTAVAIL); a provider may refuse the bind itself with it.
        let (l, addr) = ctx.listener()?;
        let taken = ctx.bound()?.1;
        let c = ctx.socket()?;
        want_ok("bind", ctx.bind(&c, taken))?;
        let _pair = ctx.connect_and_accept(c, &l, addr)?;
        let d = ctx.socket()?;
        match ctx.bind(&d, taken) {
            Err(e) => want_err("bind", Err::<(), _>(e), ErrorCode::AddressInUse),
            Ok(()) => want_err(
                "connect",
                ctx.connect(&d, addr).map(drop),
                ErrorCode::AddressInUse,
            ),
        }
    });
    cases.case("connect-after-failure-invalid-state", || {
        // After a failed attempt the socket is closed: no second connect.
        let (_idle, idle_addr) = ctx.refusing_port()?;
        let (_l, addr) = ctx.listener()?;
        let c = ctx.socket()?;
        want_err(
            "connect",
            ctx.connect(&c, idle_addr),
            ErrorCode::ConnectionRefused,
        )?;
        want_err(
            "finish-connect again",
            c.finish_connect(),
            ErrorCode::NotInProgress,
        )?;
        want_err(
            "start-connect again",
            c.start_connect(&ctx.net, wasi_addr(addr)),
            ErrorCode::InvalidState,
        )?;
        want_err("start-listen", c.start_listen(), ErrorCode::InvalidState)?;
        want_err(
            "remote-address",
            c.remote_address(),
            ErrorCode::InvalidState,
        )
    });
    cases.case("connect-wrong-family-invalid-argument", || {
        let (_l, addr) = ctx.listener()?;
        want_err(
            "start-connect",
            ctx.socket()?
                .start_connect(&ctx.net, wasi_addr(f.other_loopback(addr.port()))),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("connect-unspecified-invalid-argument", || {
        let (_l, addr) = ctx.listener()?;
        want_err(
            "start-connect",
            ctx.socket()?
                .start_connect(&ctx.net, wasi_addr(f.unspecified(addr.port()))),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("connect-port-0-invalid-argument", || {
        want_err(
            "start-connect",
            ctx.socket()?
                .start_connect(&ctx.net, wasi_addr(f.loopback(0))),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("connect-multicast-invalid-argument", || {
        want_err(
            "start-connect",
            ctx.socket()?
                .start_connect(&ctx.net, wasi_addr(f.multicast(80))),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("connect-ipv4-mapped-invalid-argument", || {
        let (_l, addr) = ctx.listener()?;
        want_err(
            "start-connect",
            ctx.socket()?
                .start_connect(&ctx.net, wasi_addr(ipv4_mapped_loopback(addr.port()))),
            ErrorCode::InvalidArgument,
        )
    });

    // --- accept ---
    cases.case("start-connect-initiates-connection", || {
        // start-connect is the connect system call: the attempt is under
        // way without the client calling finish-connect or polling.
        let (l, addr) = ctx.listener()?;
        let c = ctx.socket()?;
        want_ok("start-connect", c.start_connect(&ctx.net, wasi_addr(addr)))?;
        let server = ctx.accept(&l)?;
        let streams = want_ok("finish-connect", finish(&c, TcpSocket::finish_connect))?;
        drop((streams, server));
        Ok(())
    });
    cases.case("accept-two-with-one-pollable", || {
        // One pollable per socket serves every operation for its lifetime.
        let (l, addr) = ctx.listener()?;
        let lp = l.subscribe();
        let mut conns = Vec::new();
        for i in 0..2 {
            let c = ctx.socket()?;
            want_ok("start-connect", c.start_connect(&ctx.net, wasi_addr(addr)))?;
            let cp = c.subscribe();
            let (mut accepted, mut connected) = (None, None);
            for _ in 0..1000 {
                if connected.is_none() {
                    match c.finish_connect() {
                        Ok(s) => connected = Some(s),
                        Err(ErrorCode::WouldBlock) => {}
                        Err(e) => return Err(format!("finish-connect {i}: {}", e.name())),
                    }
                }
                if accepted.is_none() {
                    match l.accept() {
                        Ok(a) => accepted = Some(a),
                        Err(ErrorCode::WouldBlock) => {}
                        Err(e) => return Err(format!("accept {i}: {}", e.name())),
                    }
                }
                if accepted.is_some() && connected.is_some() {
                    break;
                }
                let timer =
                    wasip2::clocks::monotonic_clock::subscribe_duration(PATIENCE.as_nanos() as u64);
                let ready = wasip2::io::poll::poll(&[&lp, &cp, &timer]);
                if ready == [2] {
                    return Err(format!("connection {i}: nothing ready within {PATIENCE:?}"));
                }
            }
            drop(cp);
            let (Some((s, si, so)), Some(streams)) = (accepted, connected) else {
                return Err(format!("connection {i}: not established"));
            };
            conns.push((si, so, s, streams, c));
        }
        drop(lp);
        drop(conns);
        Ok(())
    });
    cases.case("accept-inherits-options", || {
        let (l, addr) = ctx.bound()?;
        want_ok("set-keep-alive-enabled", l.set_keep_alive_enabled(true))?;
        want_ok(
            "set-keep-alive-idle-time",
            l.set_keep_alive_idle_time(30_000_000_000),
        )?;
        want_ok(
            "set-keep-alive-interval",
            l.set_keep_alive_interval(7_000_000_000),
        )?;
        want_ok("set-keep-alive-count", l.set_keep_alive_count(4))?;
        want_ok("set-hop-limit", l.set_hop_limit(42))?;
        want_ok(
            "set-receive-buffer-size",
            l.set_receive_buffer_size(96 * 1024),
        )?;
        want_ok("set-send-buffer-size", l.set_send_buffer_size(96 * 1024))?;
        want_ok("listen", ctx.listen(&l))?;
        let (_client, server) = ctx.connect_and_accept(ctx.socket()?, &l, addr)?;
        let s = &server.sock;
        want_eq("family", s.address_family(), f.family())?;
        want_eq(
            "keep-alive-enabled",
            want_ok("get", s.keep_alive_enabled())?,
            true,
        )?;
        want_eq(
            "keep-alive-idle-time",
            want_ok("get", s.keep_alive_idle_time())?,
            want_ok("listener's", l.keep_alive_idle_time())?,
        )?;
        want_eq(
            "keep-alive-interval",
            want_ok("get", s.keep_alive_interval())?,
            want_ok("listener's", l.keep_alive_interval())?,
        )?;
        want_eq(
            "keep-alive-count",
            want_ok("get", s.keep_alive_count())?,
            want_ok("listener's", l.keep_alive_count())?,
        )?;
        want_eq("hop-limit", want_ok("get", s.hop_limit())?, 42)?;
        want_eq(
            "receive-buffer-size",
            want_ok("get", s.receive_buffer_size())?,
            want_ok("listener's", l.receive_buffer_size())?,
        )?;
        want_eq(
            "send-buffer-size",
            want_ok("get", s.send_buffer_size())?,
            want_ok("listener's", l.send_buffer_size())?,
        )
    });

    // --- options ---
    cases.case("options-get-set", || {
        let s = ctx.socket()?;
        want_ok("keep-alive-enabled", s.keep_alive_enabled())?;
        want_ok(
            "set-keep-alive-enabled true",
            s.set_keep_alive_enabled(true),
        )?;
        want_eq(
            "keep-alive-enabled",
            want_ok("get", s.keep_alive_enabled())?,
            true,
        )?;
        want_ok(
            "set-keep-alive-enabled false",
            s.set_keep_alive_enabled(false),
        )?;
        want_eq(
            "keep-alive-enabled",
            want_ok("get", s.keep_alive_enabled())?,
            false,
        )?;

        want_ok(
            "set-keep-alive-idle-time",
            s.set_keep_alive_idle_time(20_000_000_000),
        )?;
        want_eq(
            "keep-alive-idle-time",
            want_ok("get", s.keep_alive_idle_time())?,
            20_000_000_000,
        )?;
        want_ok(
            "set-keep-alive-interval",
            s.set_keep_alive_interval(5_000_000_000),
        )?;
        want_eq(
            "keep-alive-interval",
            want_ok("get", s.keep_alive_interval())?,
            5_000_000_000,
        )?;
        want_ok("set-keep-alive-count", s.set_keep_alive_count(6))?;
        want_eq("keep-alive-count", want_ok("get", s.keep_alive_count())?, 6)?;
        // Settable while keep-alive is off; small values may be rounded up
        // but never to 0.
        want_ok(
            "set-keep-alive-idle-time 1ns",
            s.set_keep_alive_idle_time(1),
        )?;
        want(
            "keep-alive-idle-time > 0",
            want_ok("get", s.keep_alive_idle_time())? > 0,
        )?;

        want_ok("set-hop-limit", s.set_hop_limit(33))?;
        want_eq("hop-limit", want_ok("get", s.hop_limit())?, 33)?;
        want_ok("set-hop-limit 255", s.set_hop_limit(255))?;
        want_eq("hop-limit 255", want_ok("get", s.hop_limit())?, 255)?;

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
        // Any non-zero value is accepted (clamped or rounded).
        want_ok("set-receive-buffer-size 1", s.set_receive_buffer_size(1))?;
        want_ok(
            "set-send-buffer-size u64::MAX",
            s.set_send_buffer_size(u64::MAX),
        )?;
        want_ok(
            "set-keep-alive-count u32::MAX",
            s.set_keep_alive_count(u32::MAX),
        )?;
        want_ok(
            "set-keep-alive-idle-time u64::MAX",
            s.set_keep_alive_idle_time(u64::MAX),
        )?;
        want_ok(
            "set-keep-alive-interval u64::MAX",
            s.set_keep_alive_interval(u64::MAX),
        )
    });
    cases.case("options-zero-invalid-argument", || {
        let s = ctx.socket()?;
        want_err(
            "set-keep-alive-idle-time 0",
            s.set_keep_alive_idle_time(0),
            ErrorCode::InvalidArgument,
        )?;
        want_err(
            "set-keep-alive-interval 0",
            s.set_keep_alive_interval(0),
            ErrorCode::InvalidArgument,
        )?;
        want_err(
            "set-keep-alive-count 0",
            s.set_keep_alive_count(0),
            ErrorCode::InvalidArgument,
        )?;
        want_err(
            "set-hop-limit 0",
            s.set_hop_limit(0),
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
        )?;
        want_err(
            "set-listen-backlog-size 0",
            s.set_listen_backlog_size(0),
            ErrorCode::InvalidArgument,
        )
    });
    cases.case("options-on-connected-and-listening", || {
        let p = ctx.pair()?;
        for (name, s) in [
            ("client", &p.client.sock),
            ("server", &p.server.sock),
            ("listener", &p.listener),
        ] {
            want_ok(&format!("{name} set-hop-limit"), s.set_hop_limit(50))?;
            want_eq(
                &format!("{name} hop-limit"),
                want_ok("get", s.hop_limit())?,
                50,
            )?;
            want_ok(
                &format!("{name} set-keep-alive-enabled"),
                s.set_keep_alive_enabled(true),
            )?;
            want_eq(
                &format!("{name} keep-alive"),
                want_ok("get", s.keep_alive_enabled())?,
                true,
            )?;
            want_ok(
                &format!("{name} set-receive-buffer-size"),
                s.set_receive_buffer_size(32 * 1024),
            )?;
            want_ok(
                &format!("{name} set-send-buffer-size"),
                s.set_send_buffer_size(32 * 1024),
            )?;
            want_err(
                &format!("{name} set-hop-limit 0"),
                s.set_hop_limit(0),
                ErrorCode::InvalidArgument,
            )?;
        }
        Ok(())
    });

    // --- streams ---
    cases.case("stream-round-trip", || {
        let p = ctx.pair()?;
        want("output writable", {
            let w = p.client.output.subscribe();
            ready_within(&w, PATIENCE)
        })?;
        write_all(&p.client.output, b"hello")?;
        want_eq(
            "server reads",
            read_exact(&p.server.input, 5)?,
            b"hello".to_vec(),
        )?;
        write_all(&p.server.output, b"world!")?;
        want_eq(
            "client reads",
            read_exact(&p.client.input, 6)?,
            b"world!".to_vec(),
        )
    });
    cases.case("stream-read-nothing-and-zero", || {
        let p = ctx.pair()?;
        want_eq(
            "read(0)",
            want_ok("read(0)", p.client.input.read(0))?,
            Vec::new(),
        )?;
        want_eq(
            "read with nothing sent",
            want_ok("read(100)", p.client.input.read(100))?,
            Vec::new(),
        )?;
        let r = p.client.input.subscribe();
        want("input pollable not ready without data", !ready_now(&r))?;
        write_all(&p.server.output, b"x")?;
        want("input pollable ready with data", ready_within(&r, PATIENCE))?;
        want_eq(
            "read",
            want_ok("read", p.client.input.read(100))?,
            b"x".to_vec(),
        )
    });
    // What a wait finds is kept for the reads after it, in order, however
    // small they are, and the end of the stream comes after the bytes.
    cases.case("stream-ready-then-small-reads-then-end", || {
        let p = ctx.pair()?;
        write_all(&p.server.output, b"abcdefghij")?;
        flush(&p.server.output)?;
        let Pair { client, server, .. } = p;
        drop(server);
        let r = client.input.subscribe();
        want("input ready with data", ready_within(&r, PATIENCE))?;
        want("still ready before any read", ready_now(&r))?;
        want_eq(
            "read(0) after ready",
            want_ok("read(0)", client.input.read(0))?,
            Vec::new(),
        )?;
        let mut got = Vec::new();
        while got.len() < 10 {
            let piece = want_ok("read(3)", client.input.read(3))?;
            if piece.len() > 3 {
                return Err(format!("read(3) returned {} bytes", piece.len()));
            }
            if piece.is_empty() && !ready_within(&r, PATIENCE) {
                return Err(format!("only {got:?} arrived within {PATIENCE:?}"));
            }
            got.extend_from_slice(&piece);
        }
        want_eq("bytes in order", got, b"abcdefghij".to_vec())?;
        want("ready at the end of the stream", ready_within(&r, PATIENCE))?;
        want_closed("read at the end", client.input.read(3))?;
        drop(r);
        Ok(())
    });
    cases.case("stream-blocking-write-and-flush", || {
        let p = ctx.pair()?;
        let data = wasock_guests::pattern(4096);
        want_ok(
            "blocking-write-and-flush",
            p.client.output.blocking_write_and_flush(&data),
        )?;
        want_eq(
            "server reads",
            read_exact(&p.server.input, data.len())?,
            data,
        )
    });
    cases.case("stream-small-writes-into-a-full-socket", || {
        // Fill the connection without reading, each permit spent in many
        // small writes, then read it all: every byte arrives, in order,
        // though the socket took only part of some writes.
        let p = ctx.pair()?;
        let data = wasock_guests::pattern(8 << 20);
        let mut at = 0;
        while at < data.len() {
            let permit = want_ok("check-write", p.client.output.check_write())? as usize;
            if permit == 0 {
                break;
            }
            let end = data.len().min(at + permit);
            for chunk in data[at..end].chunks(1000) {
                want_ok("write", p.client.output.write(chunk))?;
            }
            at = end;
        }
        want("the socket filled up before 8 MiB", at < data.len())?;
        let mut got = Vec::with_capacity(at);
        let readable = p.server.input.subscribe();
        let writable = p.client.output.subscribe();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < at {
            if Instant::now() > deadline {
                return Err(format!("read {} of {at} bytes", got.len()));
            }
            let b = want_ok("read", p.server.input.read(64 * 1024))?;
            if b.is_empty() {
                // What the client holds goes out as the socket drains.
                let tick = wasip2::clocks::monotonic_clock::subscribe_duration(100_000_000);
                wasip2::io::poll::poll(&[&readable, &writable, &tick]);
                let _ = p.client.output.check_write();
            }
            got.extend_from_slice(&b);
        }
        want("every byte, in order", got == data[..at])
    });
    cases.case("stream-write-sent-without-more-calls", || {
        // Fill the connection until a write leaves bytes the socket had no
        // room for (the next check-write says 0), then make no more calls
        // on the client's stream and read on the server: every byte
        // written arrives, as after a POSIX send (a client that sends its
        // request and then waits for the reply).
        let p = ctx.pair()?;
        let data = wasock_guests::pattern(8 << 20);
        let mut at = 0;
        loop {
            let permit = want_ok("check-write", p.client.output.check_write())? as usize;
            if permit == 0 {
                break;
            }
            if at == data.len() {
                return Err("8 MiB went without filling the socket".into());
            }
            let end = data.len().min(at + permit);
            want_ok("write", p.client.output.write(&data[at..end]))?;
            at = end;
        }
        let got = read_exact(&p.server.input, at)?;
        want("every byte written, in order", got == data[..at])
    });
    cases.case(
        "shutdown-send-after-bytes-the-socket-had-no-room-for",
        || {
            // A shutdown of the sending side while written bytes still wait
            // for room: they go first, then the end of the stream (the WIT:
            // data still in the send buffer is flushed).
            let p = ctx.pair()?;
            let data = wasock_guests::pattern(8 << 20);
            let mut at = 0;
            while want_ok("check-write", p.client.output.check_write())? > 0 {
                let end = data.len().min(at + 65536);
                want_ok("write", p.client.output.write(&data[at..end]))?;
                at = end;
                if at == data.len() {
                    return Err("8 MiB went without filling the socket".into());
                }
            }
            want_ok("shutdown send", p.client.sock.shutdown(ShutdownType::Send))?;
            want_closed("write after shutdown", p.client.output.check_write())?;
            let got = read_to_end(&p.server.input)?;
            want_eq("bytes before the end of stream", got.len(), at)?;
            want("every byte written, in order", got == data[..at])
        },
    );
    cases.case("stream-1mib-both-ways", || {
        let p = ctx.pair()?;
        let data = wasock_guests::pattern(1 << 20);
        transfer_both_ways(&p, &data)
    });

    // --- shutdown ---
    cases.case("shutdown-send", || {
        let p = ctx.pair()?;
        write_all(&p.client.output, b"last")?;
        want_ok("shutdown send", p.client.sock.shutdown(ShutdownType::Send))?;
        want_closed("check-write after shutdown", p.client.output.check_write())?;
        want_eq(
            "peer reads then end of stream",
            read_to_end(&p.server.input)?,
            b"last".to_vec(),
        )?;
        // The other direction still works.
        write_all(&p.server.output, b"reply")?;
        want_eq(
            "reply after shutdown",
            read_exact(&p.client.input, 5)?,
            b"reply".to_vec(),
        )?;
        want_ok(
            "shutdown send again",
            p.client.sock.shutdown(ShutdownType::Send),
        )
    });
    cases.case("shutdown-receive", || {
        let p = ctx.pair()?;
        want_ok(
            "shutdown receive",
            p.server.sock.shutdown(ShutdownType::Receive),
        )?;
        want_closed("read after shutdown receive", p.server.input.read(10))?;
        write_all(&p.server.output, b"still sending")?;
        want_eq(
            "peer reads",
            read_exact(&p.client.input, 13)?,
            b"still sending".to_vec(),
        )?;
        want_ok(
            "shutdown receive again",
            p.server.sock.shutdown(ShutdownType::Receive),
        )
    });
    cases.case("shutdown-both", || {
        let p = ctx.pair()?;
        want_ok("shutdown both", p.client.sock.shutdown(ShutdownType::Both))?;
        want_closed("read", p.client.input.read(10))?;
        want_closed("check-write", p.client.output.check_write())?;
        want_eq(
            "peer sees end of stream",
            read_to_end(&p.server.input)?,
            Vec::new(),
        )?;
        want_ok(
            "shutdown both again",
            p.client.sock.shutdown(ShutdownType::Both),
        )?;
        want_ok(
            "shutdown send after both",
            p.client.sock.shutdown(ShutdownType::Send),
        )
    });
    cases.case("peer-close-end-of-stream", || {
        let p = ctx.pair()?;
        write_all(&p.server.output, b"bye")?;
        let Pair { client, server, .. } = p;
        drop(server);
        want_eq(
            "read to the end",
            read_to_end(&client.input)?,
            b"bye".to_vec(),
        )
    });

    cases.finish()
}

/// Send `data` from the client to the server and from the server to the
/// client at the same time (so that neither side's buffers can fill up and
/// stall a one-way loop), and check both arrive whole and in order.
fn transfer_both_ways(p: &Pair, data: &[u8]) -> Step {
    let deadline = Instant::now() + Duration::from_secs(20);
    let ends = [(&p.client, &p.server), (&p.server, &p.client)];
    let mut sent = [0usize; 2];
    let mut got: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let writable = [p.client.output.subscribe(), p.server.output.subscribe()];
    let readable = [p.server.input.subscribe(), p.client.input.subscribe()];
    while got.iter().any(|g| g.len() < data.len()) {
        if Instant::now() > deadline {
            return Err(format!(
                "transfer: {:?} of {} bytes",
                got.map(|g| g.len()),
                data.len()
            ));
        }
        let mut progress = false;
        for (i, (from, to)) in ends.iter().enumerate() {
            if sent[i] < data.len() {
                let n = want_ok("check-write", from.output.check_write())? as usize;
                if n > 0 {
                    let end = data.len().min(sent[i] + n);
                    want_ok("write", from.output.write(&data[sent[i]..end]))?;
                    sent[i] = end;
                    if end == data.len() {
                        want_ok("flush", from.output.flush())?;
                    }
                    progress = true;
                }
            }
            let b = want_ok("read", to.input.read(65536))?;
            if !b.is_empty() {
                got[i].extend_from_slice(&b);
                progress = true;
            }
        }
        if !progress {
            // Wait for what can still make progress: the senders that have
            // more to send, the receivers that expect more.
            let timer = wasip2::clocks::monotonic_clock::subscribe_duration(100_000_000);
            let mut all = vec![&timer];
            for i in 0..2 {
                if sent[i] < data.len() {
                    all.push(&writable[i]);
                }
                if got[i].len() < data.len() {
                    all.push(&readable[i]);
                }
            }
            wasip2::io::poll::poll(&all);
        }
    }
    want("client to server intact", got[0] == data)?;
    want("server to client intact", got[1] == data)
}

/// The cases against a real peer: an echo server at `addr`.
fn with_peer(ctx: &Ctx, addr: SocketAddr) {
    let mut cases = Cases::new();
    let mut conn = None;
    cases.case("peer-connect", || {
        let s = ctx.socket()?;
        let (input, output) = want_ok("connect", ctx.connect(&s, addr))?;
        want_eq(
            "remote-address",
            std_addr(want_ok("remote-address", s.remote_address())?),
            addr,
        )?;
        conn = Some(Conn {
            input,
            output,
            sock: s,
        });
        Ok(())
    });
    let msg = b"ping from wasi_tcp\n";
    cases.case("peer-echo", || {
        let c = conn.as_ref().ok_or("no connection")?;
        write_all(&c.output, msg)?;
        want_eq("echo", read_exact(&c.input, msg.len())?, msg.to_vec())
    });
    cases.case("peer-end-of-stream", || {
        let c = conn.as_ref().ok_or("no connection")?;
        want_ok("shutdown send", c.sock.shutdown(ShutdownType::Send))?;
        want_eq(
            "peer closes after our end",
            read_to_end(&c.input)?,
            Vec::new(),
        )
    });
    drop(conn);
    cases.finish()
}

/// Write past the permit (or without one): must trap.
fn trap_write(ctx: &Ctx, over_permit: bool) {
    let p = match ctx.pair() {
        Ok(p) => p,
        Err(e) => {
            println!("setup: FAIL {e}");
            std::process::exit(1);
        }
    };
    let out = &p.client.output;
    let len = if over_permit {
        let w = out.subscribe();
        let mut permit = 0;
        for _ in 0..100 {
            permit = out.check_write().unwrap_or(0);
            if permit > 0 {
                break;
            }
            ready_within(&w, PATIENCE);
        }
        if permit == 0 || permit > (64 << 20) {
            println!("setup: FAIL permit {permit} cannot be exceeded here");
            std::process::exit(1);
        }
        permit as usize + 1
    } else {
        1
    };
    println!("about to trap: writing {len} bytes");
    let r = out.write(&vec![7u8; len]);
    println!("write past the permit: FAIL did not trap ({r:?})");
    std::process::exit(1);
}
