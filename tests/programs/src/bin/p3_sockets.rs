//! WASI 0.3 sockets (`wasi:sockets@0.3`, through the `wasip3` crate),
//! checked against the interface's documentation: each function's success
//! and its "Typical errors", for TCP and UDP over the family given
//! (`v4` or `v6`), and name lookup. Prints `CASE: ok` or `CASE: FAIL WHAT`
//! per case and `done N cases` last; exits with an error if any failed.
//!
//! With `peer ADDR` it only talks to a TCP echo server at ADDR (a host
//! program): one message there and back.
// The component's entry point is its `wasi:cli/run@0.3` export, not `main`.
#![cfg_attr(target_arch = "wasm32", no_main)]

#[cfg(target_arch = "wasm32")]
mod guest {
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::pin;
    use std::rc::Rc;
    use std::task::Poll;

    use wasip3::clocks::monotonic_clock::wait_for;
    use wasip3::sockets::ip_name_lookup::{self, resolve_addresses};
    use wasip3::sockets::types::{
        ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress,
        Ipv6SocketAddress, TcpSocket, UdpSocket,
    };
    use wasip3::wit_bindgen::{FutureReader, StreamResult, StreamWriter};
    use wasip3::wit_stream;

    struct Suite;
    wasip3::cli::command::export!(Suite);

    /// The cases run so far, and whether all passed.
    struct Tally {
        cases: Cell<usize>,
        failed: Cell<bool>,
    }

    impl Tally {
        fn check(&self, name: &str, outcome: Result<(), String>) {
            self.cases.set(self.cases.get() + 1);
            match outcome {
                Ok(()) => println!("{name}: ok"),
                Err(why) => {
                    self.failed.set(true);
                    println!("{name}: FAIL {why}");
                }
            }
        }
    }

    #[derive(Clone, Copy)]
    struct Family {
        v6: bool,
    }

    impl Family {
        fn wasi(self) -> IpAddressFamily {
            if self.v6 {
                IpAddressFamily::Ipv6
            } else {
                IpAddressFamily::Ipv4
            }
        }

        fn other(self) -> Family {
            Family { v6: !self.v6 }
        }

        /// The loopback address of this family, with `port`.
        fn loopback(self, port: u16) -> IpSocketAddress {
            if self.v6 {
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port,
                    flow_info: 0,
                    address: (0, 0, 0, 0, 0, 0, 0, 1),
                    scope_id: 0,
                })
            } else {
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port,
                    address: (127, 0, 0, 1),
                })
            }
        }

        /// The unspecified address of this family, with `port`.
        fn any(self, port: u16) -> IpSocketAddress {
            if self.v6 {
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port,
                    flow_info: 0,
                    address: (0, 0, 0, 0, 0, 0, 0, 0),
                    scope_id: 0,
                })
            } else {
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port,
                    address: (0, 0, 0, 0),
                })
            }
        }
    }

    fn port(a: &IpSocketAddress) -> u16 {
        match a {
            IpSocketAddress::Ipv4(a) => a.port,
            IpSocketAddress::Ipv6(a) => a.port,
        }
    }

    fn same(a: &IpSocketAddress, b: &IpSocketAddress) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    /// `r` failed with the error `expected` names.
    fn expect_err<T>(r: Result<T, ErrorCode>, expected: &str) -> Result<(), String> {
        match r {
            Ok(_) => Err(format!("succeeded; expected {expected}")),
            Err(e) => {
                let got = format!("{e:?}");
                if same_code(&got, expected) {
                    Ok(())
                } else {
                    Err(format!("got {got}; expected {expected}"))
                }
            }
        }
    }

    /// Whether a code's `Debug` form (`ErrorCode::InvalidState`) names the
    /// WIT case `expected` (`invalid-state`).
    fn same_code(debug: &str, expected: &str) -> bool {
        let name = debug.rsplit("::").next().unwrap_or(debug).to_lowercase();
        name.starts_with(&expected.replace('-', ""))
    }

    fn ok<T>(r: Result<T, ErrorCode>, what: &str) -> Result<T, String> {
        r.map_err(|e| format!("{what}: {e:?}"))
    }

    /// A listener on loopback with an ephemeral port, and its address.
    fn listener(f: Family) -> Result<(TcpSocket, IpSocketAddress), String> {
        let l = ok(TcpSocket::create(f.wasi()), "create")?;
        ok(l.bind(f.loopback(0)), "bind")?;
        let addr = ok(l.get_local_address(), "local address")?;
        Ok((l, addr))
    }

    /// A UDP socket bound on loopback with an ephemeral port, and its
    /// address.
    fn bound_udp(f: Family) -> Result<(UdpSocket, IpSocketAddress), String> {
        let s = ok(UdpSocket::create(f.wasi()), "create")?;
        ok(s.bind(f.loopback(0)), "bind")?;
        let addr = ok(s.get_local_address(), "local address")?;
        Ok((s, addr))
    }

    /// Write all of `data` to a new send stream of `sock`; the stream is
    /// closed (the connection's FIN) afterwards when `close`.
    async fn send_all(sock: &TcpSocket, data: Vec<u8>) -> Result<(), String> {
        let (tx, done) = start_send(sock, data).await?;
        drop(tx);
        ok(done.await, "send's future")
    }

    /// A send on `sock` under way, `data` taken: the stream's writer (for
    /// more) and the send's future.
    async fn start_send(
        sock: &TcpSocket,
        data: Vec<u8>,
    ) -> Result<(StreamWriter<u8>, FutureReader<Result<(), ErrorCode>>), String> {
        let (mut tx, rx) = wit_stream::new();
        let done = sock.send(rx);
        let left = tx.write_all(data).await;
        if !left.is_empty() {
            return Err(format!("{} bytes not taken", left.len()));
        }
        Ok((tx, done))
    }

    /// Everything the peer sends until its end of stream.
    async fn receive_all(sock: &TcpSocket) -> Result<Vec<u8>, String> {
        let (rx, done) = sock.receive();
        let got = rx.collect().await;
        ok(done.await, "receive's future")?;
        Ok(got)
    }

    /// Whether `got` is `data`; if not, how much came and how much of it
    /// was right (`what` says how it came: echoed, piped).
    fn same_bytes(what: &str, got: &[u8], data: &[u8]) -> Result<(), String> {
        if got == data {
            return Ok(());
        }
        let same = got.iter().zip(data).take_while(|(a, b)| a == b).count();
        Err(format!(
            "{what} {} bytes of {}, the first {same} right",
            got.len(),
            data.len()
        ))
    }

    /// `fut`, or an error after 10 s: a wait that never ends fails the case
    /// instead of hanging the program.
    async fn within<F: Future>(fut: F) -> Result<F::Output, String> {
        let mut fut = pin!(fut);
        let mut timer = pin!(wait_for(10_000_000_000));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(v));
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err("still waiting after 10 s".to_string()));
            }
            Poll::Pending
        })
        .await
    }

    /// Run `a` and `b` at once.
    async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
        let (mut a, mut b) = (pin!(a), pin!(b));
        let (mut ra, mut rb) = (None, None);
        std::future::poll_fn(|cx| {
            if ra.is_none()
                && let Poll::Ready(v) = a.as_mut().poll(cx)
            {
                ra = Some(v);
            }
            if rb.is_none()
                && let Poll::Ready(v) = b.as_mut().poll(cx)
            {
                rb = Some(v);
            }
            if ra.is_some() && rb.is_some() {
                Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// A connected pair through a listener: (client, server side).
    async fn pair(f: Family) -> Result<(TcpSocket, TcpSocket, TcpSocket), String> {
        let (l, addr) = listener(f)?;
        let mut incoming = ok(l.listen(), "listen")?;
        let client = ok(TcpSocket::create(f.wasi()), "create")?;
        let (connected, accepted) = join(client.connect(addr), incoming.next()).await;
        ok(connected, "connect")?;
        let server = accepted.ok_or("the listener's stream ended")?;
        drop(incoming);
        Ok((l, client, server))
    }

    impl wasip3::exports::cli::run::Guest for Suite {
        async fn run() -> Result<(), ()> {
            let args = wasip3::cli::environment::get_arguments();
            let f = Family {
                v6: args.iter().any(|a| a == "v6"),
            };
            let t = Rc::new(Tally {
                cases: Cell::new(0),
                failed: Cell::new(false),
            });
            if let Some(i) = args.iter().position(|a| a == "peer") {
                t.check("tcp-real-peer", real_peer(f, &args[i + 1]).await);
            } else {
                tcp_cases(&t, f).await;
                udp_cases(&t, f).await;
                lookup_cases(&t).await;
            }
            println!("done {} cases", t.cases.get());
            if t.failed.get() { Err(()) } else { Ok(()) }
        }
    }

    async fn real_peer(f: Family, addr: &str) -> Result<(), String> {
        let sa: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
        let remote = match sa {
            std::net::SocketAddr::V4(a) => {
                let [w, x, y, z] = a.ip().octets();
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port: a.port(),
                    address: (w, x, y, z),
                })
            }
            std::net::SocketAddr::V6(a) => {
                let s = a.ip().segments();
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port: a.port(),
                    flow_info: 0,
                    address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                    scope_id: 0,
                })
            }
        };
        let s = ok(TcpSocket::create(f.wasi()), "create")?;
        ok(s.connect(remote).await, "connect")?;
        let msg = b"hello, real peer".to_vec();
        let (sent, got) = join(send_all(&s, msg.clone()), receive_all(&s)).await;
        sent?;
        if got? != msg {
            return Err("the echo differs".into());
        }
        Ok(())
    }

    async fn tcp_cases(t: &Tally, f: Family) {
        t.check(
            "tcp-create",
            (|| {
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                if s.get_address_family() != f.wasi() {
                    return Err("wrong family".into());
                }
                if s.get_is_listening() {
                    return Err("listening at birth".into());
                }
                expect_err(s.get_local_address(), "invalid-state")?;
                expect_err(s.get_remote_address(), "invalid-state")
            })(),
        );

        t.check(
            "tcp-bind",
            (|| {
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                expect_err(s.bind(f.other().loopback(0)), "invalid-argument")?;
                ok(s.bind(f.loopback(0)), "bind")?;
                let local = ok(s.get_local_address(), "local address")?;
                if port(&local) == 0 {
                    return Err("no port after bind".into());
                }
                expect_err(s.bind(f.loopback(0)), "invalid-state")
            })(),
        );

        t.check(
            "tcp-bind-in-use",
            (|| {
                let (_l, addr) = listener(f)?;
                let _incoming = ok(_l.listen(), "listen")?;
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                expect_err(s.bind(addr), "address-in-use")
            })(),
        );

        t.check(
            "tcp-bind-after-time-wait",
            async {
                // A listener bound to port 0, whose connection the server
                // side closes first: TIME_WAIT holds that port. The WIT's
                // `bind` asks that it can be bound again at once.
                let (l, client, server) = pair(f).await?;
                let addr = ok(l.get_local_address(), "local address")?;
                drop(server);
                let got = within(receive_all(&client)).await??;
                if !got.is_empty() {
                    return Err(format!("{} bytes from a closed peer", got.len()));
                }
                drop(client);
                drop(l);
                let again = ok(TcpSocket::create(f.wasi()), "create")?;
                ok(again.bind(addr), "bind the port again")?;
                ok(again.listen().map(drop), "listen again")
            }
            .await,
        );

        t.check(
            "tcp-listen",
            (|| {
                let (l, _) = listener(f)?;
                let _incoming = ok(l.listen(), "listen")?;
                if !l.get_is_listening() {
                    return Err("not listening".into());
                }
                expect_err(l.listen().map(drop), "invalid-state")?;
                expect_err(l.set_listen_backlog_size(0), "invalid-argument")?;
                ok(l.set_listen_backlog_size(16), "backlog")
            })(),
        );

        t.check(
            "tcp-listen-implicit-bind-needs-a-grant",
            (|| {
                // `listen` binds an unbound socket to the unspecified address,
                // which only a rule naming it grants: the loopback rules do not.
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                expect_err(s.listen().map(drop), "access-denied")?;
                expect_err(s.get_local_address(), "invalid-state")
            })(),
        );

        t.check(
            "tcp-connect-bad-address",
            async {
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                expect_err(s.connect(f.any(80)).await, "invalid-argument")?;
                expect_err(s.connect(f.loopback(0)).await, "invalid-argument")?;
                expect_err(s.connect(f.other().loopback(80)).await, "invalid-argument")
            }
            .await,
        );

        t.check(
            "tcp-connect-refused",
            async {
                // A port nobody listens on: a bound socket's, never listened.
                let (unused, addr) = listener(f)?;
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                let r = s.connect(addr).await;
                drop(unused);
                expect_err(r, "connection-refused")?;
                // Closed after a failure: no second attempt, no address.
                expect_err(s.get_local_address(), "invalid-state")?;
                expect_err(s.connect(f.loopback(9)).await, "invalid-state")
            }
            .await,
        );

        t.check(
            "tcp-connect-same-addresses-address-in-use",
            async {
                // A second socket bound to a connected one's address (a
                // port given explicitly, so the bind reuses it) cannot
                // connect to the same peer. WASI calls that
                // `address-in-use` (Linux says EADDRNOTAVAIL); a provider
                // may refuse the bind itself with it.
                let (l, addr) = listener(f)?;
                let mut incoming = ok(l.listen(), "listen")?;
                let taken = {
                    let (t, a) = listener(f)?;
                    drop(t);
                    port(&a)
                };
                let c = ok(TcpSocket::create(f.wasi()), "create")?;
                ok(c.bind(f.loopback(taken)), "bind")?;
                let (connected, accepted) = join(c.connect(addr), incoming.next()).await;
                ok(connected, "connect")?;
                let _server = accepted.ok_or("the listener's stream ended")?;
                let d = ok(TcpSocket::create(f.wasi()), "create")?;
                match d.bind(f.loopback(taken)) {
                    Err(e) => expect_err::<()>(Err(e), "address-in-use"),
                    Ok(()) => expect_err(d.connect(addr).await, "address-in-use"),
                }
            }
            .await,
        );

        t.check(
            "tcp-connect-accept",
            async {
                let (l, client, server) = pair(f).await?;
                let c_local = ok(client.get_local_address(), "client local")?;
                let s_remote = ok(server.get_remote_address(), "server remote")?;
                if !same(&c_local, &s_remote) {
                    return Err(format!("{c_local:?} != {s_remote:?}"));
                }
                let l_local = ok(l.get_local_address(), "listener local")?;
                let c_remote = ok(client.get_remote_address(), "client remote")?;
                if !same(&l_local, &c_remote) {
                    return Err(format!("{l_local:?} != {c_remote:?}"));
                }
                if server.get_address_family() != f.wasi() {
                    return Err("accepted socket of the wrong family".into());
                }
                expect_err(client.connect(l_local).await, "invalid-state")?;
                expect_err(l.connect(l_local).await, "invalid-state")
            }
            .await,
        );

        t.check(
            "tcp-send-receive",
            async {
                let (_l, client, server) = pair(f).await?;
                let (sent, got) = join(
                    send_all(&client, b"hello over WASI 0.3".to_vec()),
                    receive_all(&server),
                )
                .await;
                sent?;
                if got? != b"hello over WASI 0.3" {
                    return Err("the bytes differ".into());
                }
                // The other way, after the first direction ended.
                let (sent, got) = join(
                    send_all(&server, b"and back".to_vec()),
                    receive_all(&client),
                )
                .await;
                sent?;
                if got? != b"and back" {
                    return Err("the reply differs".into());
                }
                Ok(())
            }
            .await,
        );

        t.check(
            "tcp-send-receive-once",
            async {
                let (_l, client, _server) = pair(f).await?;
                let (_tx, rx) = wit_stream::new::<u8>();
                let _first = client.send(rx);
                let (_tx2, rx2) = wit_stream::new::<u8>();
                expect_err(client.send(rx2).await, "invalid-state")?;
                let (_rx, _done) = client.receive();
                let (rx, done) = client.receive();
                let rest = rx.collect().await;
                if !rest.is_empty() {
                    return Err("a second receive stream had data".into());
                }
                expect_err(done.await, "invalid-state")
            }
            .await,
        );

        t.check(
            "tcp-send-unconnected",
            async {
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                let (_tx, rx) = wit_stream::new::<u8>();
                expect_err(s.send(rx).await, "invalid-state")?;
                let (rx, done) = s.receive();
                drop(rx);
                expect_err(done.await, "invalid-state")
            }
            .await,
        );

        t.check(
            "tcp-concurrent-send-receive",
            async {
                // An echo task on the server side; the client writes and reads
                // at once, more than the socket buffers hold.
                let (_l, client, server) = pair(f).await?;
                wasip3::spawn_local(async move {
                    let (rx, done) = server.receive();
                    let (mut tx, out) = wit_stream::new();
                    let sent = server.send(out);
                    let mut rx = rx;
                    loop {
                        let (r, buf) = rx.read(Vec::with_capacity(16384)).await;
                        if let StreamResult::Dropped = r {
                            break;
                        }
                        if !tx.write_all(buf).await.is_empty() {
                            break;
                        }
                    }
                    drop(tx);
                    let _ = done.await;
                    let _ = sent.await;
                });
                let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
                let (sent, got) = join(send_all(&client, data.clone()), receive_all(&client)).await;
                sent?;
                same_bytes("echoed", &got?, &data)
            }
            .await,
        );

        t.check(
            "tcp-receive-piped-into-send",
            async {
                // One connection's receive stream handed straight to another
                // connection's send: the host reads and writes the bytes
                // itself, with the guest out of the way. A small message
                // first (the reader's room starts small after it), then
                // 1 MB (many reads, each room grown again), then end of
                // stream.
                let (_l1, source, inlet) = pair(f).await?;
                let (_l2, outlet, sink) = pair(f).await?;
                let (rx, received) = inlet.receive();
                let piped = outlet.send(rx);
                let (mut tx, out) = wit_stream::new();
                let sent = source.send(out);
                let (mut sink_rx, sink_done) = sink.receive();
                let (first, _) = within(join(
                    async {
                        let mut got = Vec::new();
                        while got.len() < 5 {
                            let (r, buf) = sink_rx.read(Vec::with_capacity(64)).await;
                            got.extend(buf);
                            if let StreamResult::Dropped = r {
                                break;
                            }
                        }
                        got
                    },
                    tx.write_all(b"hello".to_vec()),
                ))
                .await?;
                if first != b"hello" {
                    return Err(format!("the small message arrived as {first:?}"));
                }
                let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
                let (left, got) = within(join(
                    async {
                        let left = tx.write_all(data.clone()).await;
                        drop(tx);
                        left
                    },
                    sink_rx.collect(),
                ))
                .await?;
                if !left.is_empty() {
                    return Err(format!("{} bytes not taken", left.len()));
                }
                within(async {
                    ok(sent.await, "the source's send")?;
                    ok(received.await, "the inlet's receive")?;
                    ok(piped.await, "the outlet's send of the piped stream")?;
                    ok(sink_done.await, "the sink's receive")
                })
                .await??;
                same_bytes("piped", &got, &data)
            }
            .await,
        );

        t.check(
            "tcp-cancelled-read",
            async {
                // A read that waits is cancelled; the stream still works.
                let (_l, client, server) = pair(f).await?;
                let (mut rx, _done) = client.receive();
                {
                    let read = rx.read(Vec::with_capacity(64));
                    let timer = wait_for(10_000_000);
                    let mut read = pin!(read);
                    let mut timer = pin!(timer);
                    let first = std::future::poll_fn(|cx| {
                        if let Poll::Ready(r) = read.as_mut().poll(cx) {
                            return Poll::Ready(Some(r));
                        }
                        if timer.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(None);
                        }
                        Poll::Pending
                    })
                    .await;
                    if first.is_some() {
                        return Err("a read with nothing sent completed".into());
                    }
                }
                send_all(&server, b"late".to_vec()).await?;
                let mut got = Vec::new();
                loop {
                    let (r, buf) = rx.read(Vec::with_capacity(64)).await;
                    got.extend(buf);
                    if let StreamResult::Dropped = r {
                        break;
                    }
                }
                if got != b"late" {
                    return Err(format!("read {got:?} after the cancel"));
                }
                Ok(())
            }
            .await,
        );

        t.check(
            "tcp-dropped-receive",
            async {
                // The server stops reading in the middle of a transfer; its
                // future says ok, and the client's send still finishes.
                let (_l, client, server) = pair(f).await?;
                let (mut rx, done) = server.receive();
                let data = vec![7u8; 100_000];
                let (sent, first) = join(send_all(&client, data), async {
                    let (_, buf) = rx.read(Vec::with_capacity(1000)).await;
                    drop(rx);
                    (buf.len(), done.await)
                })
                .await;
                let (n, done) = first;
                if n == 0 {
                    return Err("read nothing before dropping".into());
                }
                ok(done, "receive's future after the drop")?;
                // The peer's send completes or fails with a connection error,
                // never hangs.
                let _ = sent;
                Ok(())
            }
            .await,
        );

        t.check(
            "tcp-reset-seen-by-the-send-first",
            async {
                // The server goes with bytes it never read, so its close
                // resets the connection. The system tells the reset once:
                // here to the client's send. The receive after it must still
                // end with an error (the WIT: `err` "if the socket was closed
                // abnormally"), not as after the peer's graceful end.
                let (_l, client, server) = pair(f).await?;
                let (mut tx, sent) = start_send(&client, b"never read".to_vec()).await?;
                drop(server);
                let mut writes = 0;
                while tx.write_all(b"more".to_vec()).await.is_empty() {
                    writes += 1;
                    if writes == 1000 {
                        return Err("1,000 writes after the reset were taken".into());
                    }
                }
                drop(tx);
                expect_err(sent.await, "connection-reset")?;
                let (rx, done) = client.receive();
                let _ = rx.collect().await;
                expect_err(done.await, "connection-reset")
            }
            .await,
        );

        t.check(
            "tcp-reset-seen-by-the-receive-first",
            async {
                // The other way round: the receive learns of the reset (the
                // send has nothing to send meanwhile), and the send after it,
                // which the system answers with `EPIPE`, reports the reset
                // too. (The server sends nothing: a FIN before the reset
                // would make the receive end as after a graceful end.)
                let (_l, client, server) = pair(f).await?;
                let (rx, done) = client.receive();
                let (mut tx, sent) = start_send(&client, b"never read".to_vec()).await?;
                drop(server);
                let _ = rx.collect().await;
                expect_err(done.await, "connection-reset")
                    .map_err(|e| format!("the receive: {e}"))?;
                let left = tx.write_all(b"more".to_vec()).await;
                drop(tx);
                expect_err(sent.await, "connection-reset")
                    .map_err(|e| format!("the send ({} bytes left): {e}", left.len()))
            }
            .await,
        );

        t.check(
            "tcp-many-connections",
            async {
                // One listener, a task per connection, 20 clients at once.
                let (l, addr) = match listener(f) {
                    Ok(x) => x,
                    Err(e) => return Err(e),
                };
                let mut incoming = ok(l.listen(), "listen")?;
                wasip3::spawn_local(async move {
                    for _ in 0..20 {
                        let Some(conn) = incoming.next().await else {
                            return;
                        };
                        wasip3::spawn_local(async move {
                            if let Ok(data) = receive_all(&conn).await {
                                let _ = send_all(&conn, data).await;
                            }
                        });
                    }
                });
                let served = Rc::new(Cell::new(0usize));
                let mut clients = Vec::new();
                for i in 0..20u8 {
                    let served = served.clone();
                    clients.push(async move {
                        let c = ok(TcpSocket::create(f.wasi()), "create")?;
                        ok(c.connect(addr).await, "connect")?;
                        let msg = vec![i; 1000 + i as usize];
                        let (sent, got) = join(send_all(&c, msg.clone()), receive_all(&c)).await;
                        sent?;
                        if got? == msg {
                            served.set(served.get() + 1);
                        }
                        Ok::<(), String>(())
                    });
                }
                let mut all = Box::pin(futures_all(clients));
                let results = all.as_mut().await;
                for r in results {
                    r?;
                }
                if served.get() != 20 {
                    return Err(format!("{} of 20 echoes right", served.get()));
                }
                Ok(())
            }
            .await,
        );

        t.check(
            "tcp-backlog-change-while-accepting",
            async {
                // A read of the listener's stream waits while another task
                // changes the backlog; the connection still arrives.
                let (l, addr) = listener(f)?;
                let mut incoming = ok(l.listen(), "listen")?;
                let c = ok(TcpSocket::create(f.wasi()), "create")?;
                let (accepted, connected) = within(join(incoming.next(), async {
                    wait_for(5_000_000).await;
                    ok(l.set_listen_backlog_size(64), "backlog")?;
                    ok(c.connect(addr).await, "connect")
                }))
                .await?;
                connected?;
                accepted.ok_or("the listener's stream ended")?;
                Ok(())
            }
            .await,
        );

        t.check(
            "tcp-options",
            (|| {
                let s = ok(TcpSocket::create(f.wasi()), "create")?;
                ok(s.set_keep_alive_enabled(true), "keep-alive on")?;
                if !ok(s.get_keep_alive_enabled(), "keep-alive")? {
                    return Err("keep-alive off after setting it".into());
                }
                expect_err(s.set_keep_alive_idle_time(0), "invalid-argument")?;
                ok(s.set_keep_alive_idle_time(30_000_000_000), "idle time")?;
                if ok(s.get_keep_alive_idle_time(), "idle")? != 30_000_000_000 {
                    return Err("idle time not 30 s".into());
                }
                expect_err(s.set_keep_alive_interval(0), "invalid-argument")?;
                expect_err(s.set_keep_alive_count(0), "invalid-argument")?;
                ok(s.set_keep_alive_count(5), "count")?;
                expect_err(s.set_hop_limit(0), "invalid-argument")?;
                ok(s.set_hop_limit(42), "hop limit")?;
                if ok(s.get_hop_limit(), "hop limit")? != 42 {
                    return Err("hop limit not 42".into());
                }
                expect_err(s.set_receive_buffer_size(0), "invalid-argument")?;
                ok(s.set_receive_buffer_size(65536), "receive buffer")?;
                if ok(s.get_receive_buffer_size(), "receive buffer")? == 0 {
                    return Err("receive buffer 0".into());
                }
                ok(s.set_send_buffer_size(65536), "send buffer")?;
                if ok(s.get_send_buffer_size(), "send buffer")? == 0 {
                    return Err("send buffer 0".into());
                }
                Ok(())
            })(),
        );
    }

    /// Await every future of `all`, at once.
    async fn futures_all<F: Future>(all: Vec<F>) -> Vec<F::Output> {
        let mut all: Vec<_> = all.into_iter().map(|f| Box::pin(f)).collect();
        let mut out: Vec<Option<F::Output>> = all.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, o) in all.iter_mut().zip(out.iter_mut()) {
                if o.is_none() {
                    match f.as_mut().poll(cx) {
                        Poll::Ready(v) => *o = Some(v),
                        Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        out.into_iter().map(Option::unwrap).collect()
    }

    async fn udp_cases(t: &Tally, f: Family) {
        t.check(
            "udp-create-bind",
            async {
                let s = ok(UdpSocket::create(f.wasi()), "create")?;
                if s.get_address_family() != f.wasi() {
                    return Err("wrong family".into());
                }
                expect_err(s.get_local_address(), "invalid-state")?;
                expect_err(s.receive().await, "invalid-state")?;
                expect_err(s.bind(f.other().loopback(0)), "invalid-argument")?;
                ok(s.bind(f.loopback(0)), "bind")?;
                if port(&ok(s.get_local_address(), "local")?) == 0 {
                    return Err("no port".into());
                }
                expect_err(s.bind(f.loopback(0)), "invalid-state")?;
                expect_err(s.get_remote_address(), "invalid-state")?;
                expect_err(s.disconnect(), "invalid-state")
            }
            .await,
        );

        t.check(
            "udp-send-bad-address",
            async {
                let s = ok(UdpSocket::create(f.wasi()), "create")?;
                expect_err(s.send(b"x".to_vec(), None).await, "invalid-argument")?;
                expect_err(
                    s.send(b"x".to_vec(), Some(f.loopback(0))).await,
                    "invalid-argument",
                )?;
                expect_err(
                    s.send(b"x".to_vec(), Some(f.any(9))).await,
                    "invalid-argument",
                )?;
                expect_err(
                    s.send(b"x".to_vec(), Some(f.other().loopback(9))).await,
                    "invalid-argument",
                )
            }
            .await,
        );

        t.check(
            "udp-send-receive",
            async {
                let a = ok(UdpSocket::create(f.wasi()), "create a")?;
                let (b, b_addr) = bound_udp(f)?;
                // `a` is bound implicitly by its first send.
                let (sent, got) = join(a.send(b"ping".to_vec(), Some(b_addr)), b.receive()).await;
                ok(sent, "send")?;
                let (data, from) = ok(got, "receive")?;
                let a_addr = ok(a.get_local_address(), "a local after an implicit bind")?;
                if data != b"ping" || port(&from) != port(&a_addr) {
                    return Err(format!("got {data:?} from {from:?}, sent from {a_addr:?}"));
                }
                // The reply comes back.
                let (sent, got) = join(b.send(b"pong".to_vec(), Some(from)), a.receive()).await;
                ok(sent, "reply")?;
                let (data, _) = ok(got, "receive the reply")?;
                if data != b"pong" {
                    return Err("the reply differs".into());
                }
                Ok(())
            }
            .await,
        );

        t.check(
            "udp-connect",
            async {
                let a = ok(UdpSocket::create(f.wasi()), "create a")?;
                let (b, b_addr) = bound_udp(f)?;
                expect_err(a.connect(f.any(9)), "invalid-argument")?;
                expect_err(a.connect(f.loopback(0)), "invalid-argument")?;
                ok(a.connect(b_addr), "connect")?;
                if !same(&ok(a.get_remote_address(), "remote")?, &b_addr) {
                    return Err("remote address differs".into());
                }
                let (sent, got) = join(a.send(b"to the peer".to_vec(), None), b.receive()).await;
                ok(sent, "send without an address")?;
                ok(got, "receive")?;
                ok(
                    a.send(b"same".to_vec(), Some(b_addr)).await,
                    "send to the same address",
                )?;
                let _ = b.receive().await;
                expect_err(
                    a.send(b"x".to_vec(), Some(f.loopback(9))).await,
                    "invalid-argument",
                )?;
                ok(a.disconnect(), "disconnect")?;
                expect_err(a.disconnect(), "invalid-state")?;
                expect_err(a.send(b"x".to_vec(), None).await, "invalid-argument")
            }
            .await,
        );

        t.check(
            "udp-refusal-ends-a-waiting-receive",
            async {
                // A receive waits on a connected socket when a send draws
                // the report that the peer's port is closed: the receive
                // ends with the refusal, as a receive started after the
                // report would.
                let (gone, gone_addr) = bound_udp(f)?;
                drop(gone);
                let s = ok(UdpSocket::create(f.wasi()), "create")?;
                ok(s.connect(gone_addr), "connect")?;
                let (got, sent) = within(join(s.receive(), async {
                    wait_for(5_000_000).await;
                    ok(s.send(b"anyone?".to_vec(), None).await, "send")
                }))
                .await?;
                sent?;
                expect_err(got, "connection-refused")
            }
            .await,
        );

        t.check(
            "udp-multicast-reaches-the-policy",
            async {
                // A group is a valid destination for UDP (unlike TCP): the
                // policy decides, and the loopback rules do not grant it.
                let s = ok(UdpSocket::create(f.wasi()), "create")?;
                let group = if f.v6 {
                    IpSocketAddress::Ipv6(Ipv6SocketAddress {
                        port: 9,
                        flow_info: 0,
                        address: (0xff0e, 0, 0, 0, 0, 0, 0, 0x1234),
                        scope_id: 0,
                    })
                } else {
                    IpSocketAddress::Ipv4(Ipv4SocketAddress {
                        port: 9,
                        address: (239, 1, 2, 3),
                    })
                };
                expect_err(s.send(b"x".to_vec(), Some(group)).await, "access-denied")?;
                expect_err(s.connect(group), "access-denied")
            }
            .await,
        );

        t.check(
            "udp-too-large",
            async {
                let a = ok(UdpSocket::create(f.wasi()), "create")?;
                expect_err(
                    a.send(vec![0; 70_000], Some(f.loopback(9))).await,
                    "datagram-too-large",
                )
            }
            .await,
        );

        t.check(
            "udp-concurrent-receives",
            async {
                // Two receives wait at once on one socket: each gets one of
                // the two datagrams that come.
                let (s, addr) = bound_udp(f)?;
                let tx = ok(UdpSocket::create(f.wasi()), "create")?;
                let ((a, b), sent) = within(join(join(s.receive(), s.receive()), async {
                    wait_for(5_000_000).await;
                    ok(tx.send(b"one".to_vec(), Some(addr)).await, "send one")?;
                    ok(tx.send(b"two".to_vec(), Some(addr)).await, "send two")
                }))
                .await?;
                sent?;
                let mut got = vec![ok(a, "first receive")?.0, ok(b, "second receive")?.0];
                got.sort();
                if got != [b"one".to_vec(), b"two".to_vec()] {
                    return Err(format!("received {got:?}"));
                }
                Ok(())
            }
            .await,
        );

        t.check(
            "udp-options",
            (|| {
                let s = ok(UdpSocket::create(f.wasi()), "create")?;
                expect_err(s.set_unicast_hop_limit(0), "invalid-argument")?;
                ok(s.set_unicast_hop_limit(9), "hop limit")?;
                if ok(s.get_unicast_hop_limit(), "hop limit")? != 9 {
                    return Err("hop limit not 9".into());
                }
                expect_err(s.set_send_buffer_size(0), "invalid-argument")?;
                ok(s.set_send_buffer_size(65536), "send buffer")?;
                ok(s.set_receive_buffer_size(65536), "receive buffer")?;
                if ok(s.get_receive_buffer_size(), "receive buffer")? == 0 {
                    return Err("receive buffer 0".into());
                }
                Ok(())
            })(),
        );
    }

    fn lookup_err(
        r: Result<Vec<IpAddress>, ip_name_lookup::ErrorCode>,
        expected: &str,
    ) -> Result<(), String> {
        match r {
            Ok(ips) => Err(format!("resolved to {ips:?}; expected {expected}")),
            Err(e) => {
                if same_code(&format!("{e:?}"), expected) {
                    Ok(())
                } else {
                    Err(format!("got {e:?}; expected {expected}"))
                }
            }
        }
    }

    async fn lookup_cases(t: &Tally) {
        t.check(
            "lookup-localhost",
            async {
                let ips = resolve_addresses("localhost".into())
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                let loopback = ips.iter().any(|ip| {
                    matches!(
                        ip,
                        IpAddress::Ipv4((127, _, _, _)) | IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0, 1))
                    )
                });
                if !loopback {
                    return Err(format!("localhost is {ips:?}"));
                }
                Ok(())
            }
            .await,
        );
        t.check(
            "lookup-literal",
            async {
                let ips = resolve_addresses("192.0.2.7".into())
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                if !matches!(ips.as_slice(), [IpAddress::Ipv4((192, 0, 2, 7))]) {
                    return Err(format!("{ips:?}"));
                }
                Ok(())
            }
            .await,
        );
        t.check(
            "lookup-not-granted",
            lookup_err(
                resolve_addresses("not-granted.example".into()).await,
                "accessdenied",
            ),
        );
        t.check(
            "lookup-unresolvable",
            lookup_err(
                resolve_addresses("no-such-host.invalid".into()).await,
                "nameunresolvable",
            ),
        );
        t.check(
            "lookup-invalid",
            lookup_err(
                resolve_addresses("bad name!".into()).await,
                "invalidargument",
            ),
        );
    }
}

/// Built natively (as the workspace's tests and lints build every member),
/// there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
