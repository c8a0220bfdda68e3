//! `p3_probe COMMAND...`: the same probe as `std_probe`, written for WASI
//! 0.3 (`wasi:sockets@0.3` through the `wasip3` crate), so that the policy
//! tests run through all three interfaces. Prints `COMMAND ARG: ok
//! [DETAIL]` or `COMMAND ARG: error CODE` (the WIT name of the code).
//!
//! Commands: `tcp-listen ADDR`, `tcp-accept` (on the last listener),
//! `tcp-connect HOST:PORT`, `udp-new v4|v6` (an unbound socket),
//! `udp-bind ADDR`, `udp-send ADDR` (from the last UDP socket), `udp-recv`
//! (on it; `timed-out` after 2 s), `resolve HOST:PORT`.
#![cfg_attr(target_arch = "wasm32", no_main)]

#[cfg(target_arch = "wasm32")]
mod probe {
    use std::future::Future;
    use std::net::SocketAddr;
    use std::pin::pin;
    use std::task::Poll;

    use wasip3::clocks::monotonic_clock::wait_for;
    use wasip3::sockets::ip_name_lookup::resolve_addresses;
    use wasip3::sockets::types::{IpAddressFamily, TcpSocket, UdpSocket};
    use wasip3::wit_bindgen::StreamReader;
    use wasock_guests::p3::{code, family_of, from_wasi, std_ip, to_wasi};

    struct Probe;
    wasip3::cli::command::export!(Probe);

    /// `HOST:PORT` as addresses: an address literal as it is, a name
    /// through `resolve-addresses`.
    async fn resolve(arg: &str) -> Result<Vec<SocketAddr>, String> {
        if let Ok(a) = arg.parse::<SocketAddr>() {
            return Ok(vec![a]);
        }
        let (host, port) = arg.rsplit_once(':').ok_or("no port")?;
        let port: u16 = port.parse().map_err(|_| "bad port")?;
        let ips = resolve_addresses(host.to_string()).await.map_err(code)?;
        Ok(ips
            .into_iter()
            .map(|a| SocketAddr::new(std_ip(a), port))
            .collect())
    }

    /// `fut`, or `None` after `nanos`.
    async fn within<F: Future>(nanos: u64, fut: F) -> Option<F::Output> {
        let mut fut = pin!(fut);
        let mut timer = pin!(wait_for(nanos));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    #[derive(Default)]
    struct State {
        listener: Option<(TcpSocket, StreamReader<TcpSocket>)>,
        udp: Option<UdpSocket>,
        /// Sockets kept open until the end, as a process would.
        kept: Vec<TcpSocket>,
    }

    impl State {
        async fn run(&mut self, cmd: &str, arg: &str) -> Result<String, String> {
            match cmd {
                "tcp-listen" => {
                    let addr: SocketAddr = arg.parse().map_err(|_| "bad address")?;
                    let s = TcpSocket::create(family_of(&addr)).map_err(code)?;
                    s.bind(to_wasi(addr)).map_err(code)?;
                    let incoming = s.listen().map_err(code)?;
                    let local = from_wasi(s.get_local_address().map_err(code)?);
                    self.listener = Some((s, incoming));
                    Ok(local.to_string())
                }
                "tcp-accept" => {
                    let (_, incoming) = self.listener.as_mut().ok_or("no listener")?;
                    let conn = incoming.next().await.ok_or("the listener's stream ended")?;
                    let peer = from_wasi(conn.get_remote_address().map_err(code)?);
                    self.kept.push(conn);
                    Ok(peer.to_string())
                }
                "tcp-connect" => {
                    let mut last = String::from("no address");
                    for addr in resolve(arg).await? {
                        let s = TcpSocket::create(family_of(&addr)).map_err(code)?;
                        match s.connect(to_wasi(addr)).await {
                            Ok(()) => {
                                let peer = from_wasi(s.get_remote_address().map_err(code)?);
                                self.kept.push(s);
                                return Ok(peer.to_string());
                            }
                            Err(e) => last = code(e),
                        }
                    }
                    Err(last)
                }
                "udp-new" => {
                    let f = if arg == "v6" {
                        IpAddressFamily::Ipv6
                    } else {
                        IpAddressFamily::Ipv4
                    };
                    self.udp = Some(UdpSocket::create(f).map_err(code)?);
                    Ok(String::new())
                }
                "udp-bind" => {
                    let addr: SocketAddr = arg.parse().map_err(|_| "bad address")?;
                    let s = UdpSocket::create(family_of(&addr)).map_err(code)?;
                    s.bind(to_wasi(addr)).map_err(code)?;
                    let local = from_wasi(s.get_local_address().map_err(code)?);
                    self.udp = Some(s);
                    Ok(local.to_string())
                }
                "udp-send" => {
                    let s = self.udp.as_ref().ok_or("no socket")?;
                    let to: SocketAddr = arg.parse().map_err(|_| "bad address")?;
                    s.send(b"ping".to_vec(), Some(to_wasi(to)))
                        .await
                        .map_err(code)?;
                    Ok(String::new())
                }
                "udp-recv" => {
                    let s = self.udp.as_ref().ok_or("no socket")?;
                    match within(2_000_000_000, s.receive()).await {
                        None => Err("timed-out".into()),
                        Some(Err(e)) => Err(code(e)),
                        Some(Ok((data, from))) => Ok(format!(
                            "{} {}",
                            from_wasi(from),
                            String::from_utf8_lossy(&data)
                        )),
                    }
                }
                "resolve" => {
                    let addrs = resolve(arg).await?;
                    Ok(addrs
                        .iter()
                        .map(|a| a.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(","))
                }
                other => Err(format!("unknown command {other}")),
            }
        }
    }

    impl wasip3::exports::cli::run::Guest for Probe {
        async fn run() -> Result<(), ()> {
            let args: Vec<String> = wasip3::cli::environment::get_arguments()
                .into_iter()
                .skip(1)
                .collect();
            let mut state = State::default();
            let mut i = 0;
            while i < args.len() {
                let cmd = args[i].as_str();
                let takes_arg = !matches!(cmd, "tcp-accept" | "udp-recv");
                let arg = if takes_arg {
                    args.get(i + 1).cloned().unwrap_or_default()
                } else {
                    String::new()
                };
                let label = if takes_arg {
                    format!("{cmd} {arg}")
                } else {
                    cmd.to_string()
                };
                match state.run(cmd, &arg).await {
                    Ok(d) if d.is_empty() => println!("{label}: ok"),
                    Ok(d) => println!("{label}: ok {d}"),
                    Err(e) => println!("{label}: error {e}"),
                }
                i += if takes_arg { 2 } else { 1 };
            }
            Ok(())
        }
    }
}

/// Built natively, there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
