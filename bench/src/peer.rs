//! The native peers every workload talks to, in a process of their own (so
//! that the measured process holds only its own end of each connection):
//! `wasock-bench --peer` prints one `NAME ADDR` line per service, then
//! serves until its stdin closes.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Where the peers listen.
#[derive(Debug, Clone, Copy)]
pub struct Peers {
    /// TCP echo (no delay).
    pub tcp_echo: SocketAddr,
    /// TCP sink: reads an 8-byte length, that many bytes, answers one byte.
    pub tcp_sink: SocketAddr,
    /// UDP echo.
    pub udp_echo: SocketAddr,
    /// TCP that accepts and holds connections until they close.
    pub tcp_hold: SocketAddr,
}

/// Where a peer process runs, against the measured thread on CPU 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On CPU 1, the CPU the measured thread does not use.
    OtherCpu,
    /// Wherever the scheduler puts it.
    Free,
    /// On CPU 0 with the measured thread: every exchange is a switch
    /// between the two ends on one CPU, as the scheduler sometimes places
    /// unpinned ones, and a round trip costs what both ends compute.
    SameCpu,
}

impl Placement {
    /// The peer process's argument that asks for this placement.
    fn arg(self) -> Option<&'static str> {
        match self {
            Placement::OtherCpu => None,
            Placement::Free => Some("--unpinned"),
            Placement::SameCpu => Some("--same-cpu"),
        }
    }

    /// The placement the peer process's arguments ask for.
    pub fn from_args(args: &[String]) -> Placement {
        [Placement::Free, Placement::SameCpu]
            .into_iter()
            .find(|p| p.arg().is_some_and(|a| args.iter().any(|x| x == a)))
            .unwrap_or(Placement::OtherCpu)
    }
}

/// The peer process.
pub struct PeerProcess {
    child: Child,
    /// Its addresses.
    pub peers: Peers,
}

impl PeerProcess {
    /// Start `wasock-bench --peer` placed as `placement` says and read its
    /// addresses.
    pub fn start(placement: Placement) -> anyhow::Result<PeerProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--peer")
            .args(placement.arg())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = |name: &str| -> anyhow::Result<SocketAddr> {
            let line = lines
                .next()
                .ok_or_else(|| anyhow::anyhow!("peer ended"))??;
            let addr = line
                .strip_prefix(name)
                .ok_or_else(|| anyhow::anyhow!("unexpected peer line {line}"))?;
            Ok(addr.trim().parse()?)
        };
        let peers = Peers {
            tcp_echo: next("tcp-echo")?,
            tcp_sink: next("tcp-sink")?,
            udp_echo: next("udp-echo")?,
            tcp_hold: next("tcp-hold")?,
        };
        Ok(PeerProcess { child, peers })
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback listener with the deepest backlog the system allows, so that
/// a guest opening thousands of connections in a burst never overflows the
/// accept queue (an overflow drops the SYN, and the connect then waits a
/// whole second for the retransmission).
fn listen() -> std::io::Result<TcpListener> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
    sock.listen(4096)
}

/// The peer process's main: serve on one thread until stdin closes, placed
/// as `placement` says.
pub fn serve(placement: Placement) -> anyhow::Result<()> {
    match placement {
        Placement::OtherCpu => crate::stats::pin_to_cpu(1),
        Placement::SameCpu => crate::stats::pin_to_cpu(0),
        Placement::Free => {}
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let echo = listen()?;
        let sink = listen()?;
        let udp = UdpSocket::bind("127.0.0.1:0").await?;
        let hold = listen()?;
        let mut out = std::io::stdout();
        writeln!(out, "tcp-echo {}", echo.local_addr()?)?;
        writeln!(out, "tcp-sink {}", sink.local_addr()?)?;
        writeln!(out, "udp-echo {}", udp.local_addr()?)?;
        writeln!(out, "tcp-hold {}", hold.local_addr()?)?;
        out.flush()?;
        tokio::spawn(async move {
            while let Ok((s, _)) = echo.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    // A buffer as large as the biggest message, so that the
                    // peer is never what limits the measured side.
                    let mut s = s;
                    let mut buf = vec![0u8; 1 << 18];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        tokio::spawn(async move {
            while let Ok((mut s, _)) = sink.accept().await {
                tokio::spawn(async move {
                    let Ok(total) = s.read_u64_le().await else {
                        return;
                    };
                    let mut left = total as usize;
                    let mut buf = vec![0u8; 1 << 20];
                    while left > 0 {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => left = left.saturating_sub(n),
                        }
                    }
                    let _ = s.write_all(&[1]).await;
                });
            }
        });
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let _ = udp.send_to(&buf[..n], from).await;
            }
        });
        tokio::spawn(async move {
            while let Ok((mut s, _)) = hold.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 64];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 {
                            break;
                        }
                    }
                });
            }
        });
        // Serve until the parent closes our stdin.
        let mut stdin = tokio::io::stdin();
        let mut b = [0u8; 1];
        let _ = stdin.read(&mut b).await;
        anyhow::Ok(())
    })
}
