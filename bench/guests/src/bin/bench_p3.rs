//! The benchmark workloads over WASI 0.3's sockets (`wasi:sockets@0.3`
//! through the `wasip3` crate): async calls and streams instead of blocking
//! reads and writes, the same logic and the same report as the other
//! guests (B3 in the bench; E under stock `wasmtime run`).
//!
//! Usage: `WORKLOAD ADDR ROUNDS SIZE` with WORKLOAD `tcp-rtt`, `tcp-bulk`,
//! `tcp-stream` (ROUNDS is the total in bytes) or `udp-rtt`.
#![cfg_attr(target_arch = "wasm32", no_main)]

#[cfg(target_arch = "wasm32")]
mod bench {
    use std::net::SocketAddr;
    use std::time::Instant;

    use wasip3::sockets::types::{
        IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, TcpSocket,
        UdpSocket,
    };
    use wasip3::wit_bindgen::{StreamReader, StreamResult, StreamWriter};
    use wasip3::wit_stream;
    use wasock_bench_workloads::report;

    struct Bench;
    wasip3::cli::command::export!(Bench);

    fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
        match addr {
            SocketAddr::V4(a) => {
                let [w, x, y, z] = a.ip().octets();
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port: a.port(),
                    address: (w, x, y, z),
                })
            }
            SocketAddr::V6(a) => {
                let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port: a.port(),
                    flow_info: 0,
                    address: (s0, s1, s2, s3, s4, s5, s6, s7),
                    scope_id: 0,
                })
            }
        }
    }

    fn family(addr: &SocketAddr) -> IpAddressFamily {
        if addr.is_ipv4() {
            IpAddressFamily::Ipv4
        } else {
            IpAddressFamily::Ipv6
        }
    }

    /// A connection's two streams.
    struct Conn {
        _socket: TcpSocket,
        tx: StreamWriter<u8>,
        rx: StreamReader<u8>,
    }

    async fn connect(addr: SocketAddr) -> Result<Conn, String> {
        let s = TcpSocket::create(family(&addr)).map_err(|e| format!("{e:?}"))?;
        s.connect(to_wasi(addr))
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        let (tx, out) = wit_stream::new();
        // The send's future resolves when the stream ends; not awaited.
        drop(s.send(out));
        let (rx, _done) = s.receive();
        Ok(Conn { _socket: s, tx, rx })
    }

    impl Conn {
        /// Write all of `data`; the same vector comes back, emptied, for
        /// the next write (a stream write hands its buffer over and back).
        async fn write_all(&mut self, data: Vec<u8>) -> Result<Vec<u8>, String> {
            let left = self.tx.write_all(data).await;
            if left.is_empty() {
                Ok(left)
            } else {
                Err("the connection took only part of a write".into())
            }
        }

        /// Read exactly `buf.capacity()` bytes into `buf` (emptied first).
        async fn read_exact(&mut self, mut buf: Vec<u8>) -> Result<Vec<u8>, String> {
            let want = buf.capacity();
            buf.clear();
            while buf.len() < want {
                let (status, b) = self.rx.read(buf).await;
                buf = b;
                if let StreamResult::Dropped = status
                    && buf.len() < want
                {
                    return Err("the connection ended early".into());
                }
            }
            Ok(buf)
        }
    }

    /// Nanoseconds per round trip of `size`-byte messages to an echo.
    async fn round_trips(addr: SocketAddr, rounds: u32, size: usize) -> Result<f64, String> {
        let mut c = connect(addr).await?;
        let mut msg = Vec::with_capacity(size);
        let mut back = Vec::with_capacity(size);
        let start = Instant::now();
        for _ in 0..rounds {
            msg.resize(size, 0x5a);
            msg = c.write_all(msg).await?;
            back = c.read_exact(back).await?;
        }
        Ok(start.elapsed().as_nanos() as f64 / f64::from(rounds.max(1)))
    }

    /// Bytes per second of `total` bytes in `chunk`-byte writes to a sink,
    /// after an 8-byte length; the sink acknowledges the end with a byte.
    async fn stream(addr: SocketAddr, total: usize, chunk: usize) -> Result<f64, String> {
        let mut c = connect(addr).await?;
        let mut buf = Vec::with_capacity(chunk);
        let start = Instant::now();
        c.write_all((total as u64).to_le_bytes().to_vec()).await?;
        let mut sent = 0;
        while sent < total {
            let n = chunk.min(total - sent);
            buf.resize(n, 0xa5);
            buf = c.write_all(buf).await?;
            sent += n;
        }
        c.read_exact(Vec::with_capacity(1)).await?;
        Ok(total as f64 / start.elapsed().as_secs_f64())
    }

    /// Nanoseconds per round trip of `size`-byte datagrams to an echo.
    async fn udp_round_trips(addr: SocketAddr, rounds: u32, size: usize) -> Result<f64, String> {
        let u = UdpSocket::create(family(&addr)).map_err(|e| format!("{e:?}"))?;
        let local: SocketAddr = if addr.is_ipv4() {
            "127.0.0.1:0".parse().unwrap()
        } else {
            "[::1]:0".parse().unwrap()
        };
        u.bind(to_wasi(local)).map_err(|e| format!("bind: {e:?}"))?;
        u.connect(to_wasi(addr))
            .map_err(|e| format!("connect: {e:?}"))?;
        let msg = vec![0x3c; size];
        let start = Instant::now();
        for _ in 0..rounds {
            u.send(msg.clone(), None)
                .await
                .map_err(|e| format!("send: {e:?}"))?;
            let (back, _) = u.receive().await.map_err(|e| format!("receive: {e:?}"))?;
            if back.len() != size {
                return Err(format!("echo of {size} bytes came back as {}", back.len()));
            }
        }
        Ok(start.elapsed().as_nanos() as f64 / f64::from(rounds.max(1)))
    }

    impl wasip3::exports::cli::run::Guest for Bench {
        async fn run() -> Result<(), ()> {
            let a = wasip3::cli::environment::get_arguments();
            let get = |i: usize| a.get(i).cloned().unwrap_or_default();
            let (workload, rounds, size) = (get(1), get(3), get(4));
            let rounds: u32 = rounds.parse().unwrap_or(0);
            let size: usize = size.parse().unwrap_or(0);
            let addr: SocketAddr = match get(2).parse() {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("bench_p3: bad address {:?}: {e}", get(2));
                    return Err(());
                }
            };
            let value = match workload.as_str() {
                "tcp-rtt" => round_trips(addr, rounds, size).await,
                "tcp-bulk" => round_trips(addr, rounds, size)
                    .await
                    .map(|ns| 2.0 * size as f64 / (ns / 1e9)),
                "tcp-stream" => stream(addr, rounds as usize, size).await,
                "udp-rtt" => udp_round_trips(addr, rounds, size).await,
                other => Err(format!("unknown workload {other}")),
            };
            match value {
                Ok(v) => {
                    report(v);
                    Ok(())
                }
                Err(e) => {
                    eprintln!("bench_p3 {workload}: {e}");
                    Err(())
                }
            }
        }
    }
}

/// Built natively, there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
