//! A WASI 0.3 guest that misuses `wasi:sockets@0.3` on purpose, one way per
//! mode, and says what it saw: each misuse must end in a defined error,
//! backpressure, or a trap of this instance alone.
//!
//! Modes:
//! - `pending N`: N UDP receives at once on one socket; prints how many
//!   were refused at once, then cancels them all and checks that the
//!   socket still receives.
//! - `never-read ADDR`: connects to ADDR, never reads, waits 1 s.
//! - `cancel-everything`: starts a connect, a name lookup and a receive
//!   and cancels each at once; then a normal exchange still works.
//! - `drop-halves`: drops a connection's receive stream and its send
//!   stream's writer at once: the futures say `ok`, the peer sees the end.
//! - `leak`: leaves a listener with its stream, a connection with a send
//!   and a receive in flight, and a UDP receive pending, and returns.
#![cfg_attr(target_arch = "wasm32", no_main)]

#[cfg(target_arch = "wasm32")]
mod abuse {
    use std::future::Future;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::task::Poll;

    use wasip3::clocks::monotonic_clock::wait_for;
    use wasip3::sockets::ip_name_lookup::resolve_addresses;
    use wasip3::sockets::types::{
        IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, TcpSocket, UdpSocket,
    };
    use wasip3::wit_stream;

    struct Abuse;
    wasip3::cli::command::export!(Abuse);

    fn loopback(port: u16) -> IpSocketAddress {
        IpSocketAddress::Ipv4(Ipv4SocketAddress {
            port,
            address: (127, 0, 0, 1),
        })
    }

    fn parse(addr: &str) -> IpSocketAddress {
        match addr.parse::<SocketAddr>().expect("an address") {
            SocketAddr::V4(a) => {
                let [w, x, y, z] = a.ip().octets();
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port: a.port(),
                    address: (w, x, y, z),
                })
            }
            SocketAddr::V6(_) => panic!("IPv4 only"),
        }
    }

    /// Poll `fut` once (which starts the call it makes), and drop it:
    /// the call is cancelled wherever it was.
    async fn start_and_cancel<F: Future>(fut: F) -> bool {
        let mut fut = Box::pin(fut);
        std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
    }

    /// A connected pair through a listener: (listener, client, server).
    async fn pair() -> Result<(TcpSocket, TcpSocket, TcpSocket), String> {
        let l = TcpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        l.bind(loopback(0)).map_err(|e| format!("{e:?}"))?;
        let addr = l.get_local_address().map_err(|e| format!("{e:?}"))?;
        let mut incoming = l.listen().map_err(|e| format!("{e:?}"))?;
        let c = TcpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        let mut connect = Box::pin(c.connect(addr));
        let mut accept = Box::pin(incoming.next());
        let (mut connected, mut accepted) = (None, None);
        std::future::poll_fn(|cx| {
            if connected.is_none()
                && let Poll::Ready(r) = connect.as_mut().poll(cx)
            {
                connected = Some(r);
            }
            if accepted.is_none()
                && let Poll::Ready(r) = accept.as_mut().poll(cx)
            {
                accepted = Some(r);
            }
            if connected.is_some() && accepted.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        drop((connect, accept));
        connected.unwrap().map_err(|e| format!("connect: {e:?}"))?;
        let s = accepted.unwrap().ok_or("no connection")?;
        Ok((l, c, s))
    }

    async fn pending(n: usize) -> Result<String, String> {
        let s = UdpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        s.bind(loopback(0)).map_err(|e| format!("{e:?}"))?;
        let addr = s.get_local_address().map_err(|e| format!("{e:?}"))?;
        let mut calls: Vec<Option<Pin<Box<_>>>> =
            (0..n).map(|_| Some(Box::pin(s.receive()))).collect();
        // Start every call and keep them going for 200 ms: those refused
        // end with the limit's error; the rest wait (nothing is sent).
        let mut timer = Box::pin(wait_for(200_000_000));
        let mut refused = 0;
        let mut other = None;
        std::future::poll_fn(|cx| {
            for slot in calls.iter_mut() {
                if let Some(c) = slot
                    && let Poll::Ready(r) = c.as_mut().poll(cx)
                {
                    match r {
                        Err(e) if format!("{e:?}").contains("pending-call-limit") => refused += 1,
                        r => other = Some(format!("a receive ended: {r:?}")),
                    }
                    *slot = None;
                }
            }
            timer.as_mut().poll(cx)
        })
        .await;
        if let Some(other) = other {
            return Err(other);
        }
        // Cancel them all; the socket still receives.
        drop(calls);
        let tx = UdpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        tx.send(b"after".to_vec(), Some(addr))
            .await
            .map_err(|e| format!("send: {e:?}"))?;
        let (data, _) = s.receive().await.map_err(|e| format!("receive: {e:?}"))?;
        if data != b"after" {
            return Err("the datagram after the cancels differs".into());
        }
        Ok(format!("refused={refused}"))
    }

    async fn never_read(addr: &str) -> Result<String, String> {
        let s = TcpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        s.connect(parse(addr))
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        wait_for(1_000_000_000).await;
        Ok(String::new())
    }

    async fn cancel_everything() -> Result<String, String> {
        let (l, _c, _s) = pair().await?;
        let addr = l.get_local_address().map_err(|e| format!("{e:?}"))?;
        let c = TcpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        start_and_cancel(c.connect(addr)).await;
        start_and_cancel(resolve_addresses("localhost".into())).await;
        let u = UdpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        u.bind(loopback(0)).map_err(|e| format!("{e:?}"))?;
        start_and_cancel(u.receive()).await;
        let (mut rx, _done) = _s.receive();
        start_and_cancel(rx.read(Vec::with_capacity(16))).await;
        // The instance goes on: a fresh exchange works.
        let (_l2, c2, s2) = pair().await?;
        let (mut tx, out) = wit_stream::new();
        let sent = c2.send(out);
        let left = tx.write_all(b"still here".to_vec()).await;
        drop(tx);
        if !left.is_empty() {
            return Err("the send took nothing".into());
        }
        sent.await.map_err(|e| format!("send: {e:?}"))?;
        let (rx2, done) = s2.receive();
        let got = rx2.collect().await;
        done.await.map_err(|e| format!("receive: {e:?}"))?;
        if got != b"still here" {
            return Err("the exchange after the cancels differs".into());
        }
        Ok(String::new())
    }

    async fn drop_halves() -> Result<String, String> {
        let (_l, c, s) = pair().await?;
        let (rx, done) = s.receive();
        drop(rx);
        done.await
            .map_err(|e| format!("receive after dropping its stream: {e:?}"))?;
        let (tx, out) = wit_stream::new::<u8>();
        let sent = c.send(out);
        drop(tx);
        sent.await
            .map_err(|e| format!("send after dropping its writer: {e:?}"))?;
        // The server's peer ended: but its receive was already taken, so
        // it sees that through a second socket's receive instead.
        let (_l2, c2, s2) = pair().await?;
        let (tx2, out2) = wit_stream::new::<u8>();
        let sent2 = c2.send(out2);
        drop(tx2);
        sent2.await.map_err(|e| format!("send: {e:?}"))?;
        let (rx2, done2) = s2.receive();
        let got = rx2.collect().await;
        done2.await.map_err(|e| format!("receive: {e:?}"))?;
        if !got.is_empty() {
            return Err("bytes from a stream that wrote none".into());
        }
        Ok(String::new())
    }

    async fn leak() -> Result<String, String> {
        let (l, c, s) = pair().await?;
        let incoming = l.listen();
        let (mut tx, out) = wit_stream::new();
        let _sent = c.send(out);
        wasip3::spawn_local(async move {
            let _ = tx.write_all(vec![1u8; 1 << 20]).await;
            let _keep = (l, incoming);
            wait_for(u64::MAX).await;
        });
        let (mut rx, _done) = s.receive();
        wasip3::spawn_local(async move {
            let _ = rx.read(Vec::with_capacity(16)).await;
            wait_for(u64::MAX).await;
        });
        let u = UdpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
        u.bind(loopback(0)).map_err(|e| format!("{e:?}"))?;
        wasip3::spawn_local(async move {
            let _ = u.receive().await;
        });
        // Let the tasks start their calls.
        wait_for(1_000_000).await;
        Ok(String::new())
    }

    impl wasip3::exports::cli::run::Guest for Abuse {
        async fn run() -> Result<(), ()> {
            let args = wasip3::cli::environment::get_arguments();
            let mode = args.get(1).map(String::as_str).unwrap_or("");
            let arg = args.get(2).cloned().unwrap_or_default();
            let r = match mode {
                "pending" => pending(arg.parse().unwrap_or(100)).await,
                "never-read" => never_read(&arg).await,
                "cancel-everything" => cancel_everything().await,
                "drop-halves" => drop_halves().await,
                "leak" => leak().await,
                other => Err(format!("unknown mode {other:?}")),
            };
            match r {
                Ok(d) => {
                    println!("{mode}: ok {d}");
                    Ok(())
                }
                Err(e) => {
                    println!("{mode}: FAIL {e}");
                    Err(())
                }
            }
        }
    }
}

/// Built natively, there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
