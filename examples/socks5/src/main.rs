//! A SOCKS5 proxy (RFC 1928) whose every outbound connection passes the
//! host's policy: a destination the policy refuses gets reply 2,
//! "connection not allowed by ruleset", and the host logs its denial.
//!
//! Usage: `socks5 [ADDR]` (default `127.0.0.1:0`). The first line on stdout
//! is `listening on ADDR`; it serves until killed.
//!
//! What it speaks: the "no authentication" method only (any other offer
//! gets 0xFF, "no acceptable methods"); CONNECT only (BIND and UDP
//! ASSOCIATE get reply 7); destinations as IPv4, IPv6 or a domain name,
//! names resolved through the host (its `resolve` and name grants, and
//! `--resolve` pins). Errors become replies: refused by policy 2, network
//! unreachable 3, host unreachable or name not found 4, connection refused
//! 5, timed out 6. After reply 0 (with the outbound socket's address) bytes
//! are relayed both ways until both sides have ended, an end in one
//! direction passed on as a shutdown of writing.
//!
//! Each client is a task on the SDK's async runtime, its two directions
//! relayed concurrently through 16 KiB buffers: a slow reader on one side
//! holds back its sender, never memory. A client that sends garbage, stops
//! half-way through its request or vanishes ends only its own task.

mod proto;

use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use proto::{Dest, NO_ACCEPTABLE, NO_AUTH, Reply, VERSION};
use wasock::rt::{self, net::TcpListener, net::TcpStream};

/// Longest a client may take to greet and send its request.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a destination name's lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one connect attempt may take (per address of a name).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes buffered per direction of a relayed connection.
const RELAY_BUFFER: usize = 16 * 1024;

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    rt::block_on(async {
        let listener = match TcpListener::bind(addr.as_str()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("socks5: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        println!("listening on {}", listener.local_addr()?);
        io::Write::flush(&mut io::stdout())?;
        loop {
            let (client, peer) = match listener.accept().await {
                Ok(c) => c,
                // Out of sockets (the instance's limit): wait a little,
                // letting the other tasks run (and close theirs).
                Err(e) => {
                    eprintln!("socks5: accept failed: {e}");
                    rt::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            rt::spawn(async move {
                if let Err(why) = serve(client).await {
                    eprintln!("socks5: {peer}: {why}");
                }
            });
        }
    })
}

/// One client, from greeting to the end of its relayed connection. The
/// error says why it ended early (the client has had any reply due).
async fn serve(client: TcpStream) -> Result<(), String> {
    let _ = client.set_nodelay(true);
    let dest = match rt::timeout(HANDSHAKE_TIMEOUT, handshake(&client)).await {
        Ok(r) => r?,
        Err(_) => return Err(format!("no request within {HANDSHAKE_TIMEOUT:?}")),
    };
    let target = match connect(&dest).await {
        Ok(t) => t,
        Err((reply, why)) => {
            let _ = client.write_all(&reply.encode(None)).await;
            return Err(format!(
                "{dest}: {why}; replied {} ({})",
                reply as u8,
                reply.describe()
            ));
        }
    };
    let _ = target.set_nodelay(true);
    let bound = target.local_addr().ok();
    client
        .write_all(&Reply::Succeeded.encode(bound))
        .await
        .map_err(|e| format!("{dest}: client gone before the reply: {e}"))?;
    relay(&client, &target)
        .await
        .map_err(|e| format!("{dest}: relay ended: {e}"))
}

/// Read exactly `n` bytes; an early end or error names `what` was cut off.
async fn read_n(client: &TcpStream, n: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    client
        .read_exact(&mut buf)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    Ok(buf)
}

/// Method negotiation and the request: the destination of a CONNECT. Every
/// refusal the protocol has a reply for is sent before the error returns.
async fn handshake(client: &TcpStream) -> Result<Dest, String> {
    let head = read_n(client, 2, "greeting").await?;
    if head[0] != VERSION {
        return Err(format!("not SOCKS5 (version byte {:#04x})", head[0]));
    }
    let methods = read_n(client, usize::from(head[1]), "greeting's methods").await?;
    if !methods.contains(&NO_AUTH) {
        let _ = client.write_all(&[VERSION, NO_ACCEPTABLE]).await;
        return Err(format!(
            "offers no method we accept ({methods:02x?}); replied no acceptable methods"
        ));
    }
    client
        .write_all(&[VERSION, NO_AUTH])
        .await
        .map_err(|e| format!("method reply: {e}"))?;

    let req = read_n(client, 4, "request").await?;
    let (version, command, atyp) = (req[0], req[1], req[3]);
    if version != VERSION {
        return Err(format!("request version {version:#04x}, not SOCKS5"));
    }
    // An unknown address type has no known length: the rest of the request
    // cannot be read, so it is refused at once.
    let first = if atyp == proto::ATYP_NAME {
        read_n(client, 1, "request's name length").await?[0]
    } else {
        0
    };
    let Some(len) = proto::addr_len(atyp, first) else {
        return refuse(
            client,
            Reply::AddressTypeNotSupported,
            format!("address type {atyp}"),
        )
        .await;
    };
    // The name's length byte, already read, is part of the address.
    let mut rest = Vec::with_capacity(len);
    if atyp == proto::ATYP_NAME {
        rest.push(first);
    }
    let more = len - rest.len();
    rest.extend(read_n(client, more, "request's address").await?);
    let dest = match proto::parse_dest(atyp, &rest) {
        Ok(d) => d,
        Err(proto::BadAddr::BadName) => {
            return refuse(
                client,
                Reply::HostUnreachable,
                "an empty or non-UTF-8 name".into(),
            )
            .await;
        }
        Err(proto::BadAddr::UnknownType) => {
            return refuse(
                client,
                Reply::AddressTypeNotSupported,
                format!("address type {atyp}"),
            )
            .await;
        }
    };
    if command != proto::CONNECT {
        let name = match command {
            2 => "BIND",
            3 => "UDP ASSOCIATE",
            _ => "an unknown command",
        };
        return refuse(
            client,
            Reply::CommandNotSupported,
            format!("{name} ({command}) to {dest}"),
        )
        .await;
    }
    Ok(dest)
}

/// Send `reply` (a refusal) and give the error that ends the client.
async fn refuse<T>(client: &TcpStream, reply: Reply, why: String) -> Result<T, String> {
    let _ = client.write_all(&reply.encode(None)).await;
    Err(format!(
        "{why}; replied {} ({})",
        reply as u8,
        reply.describe()
    ))
}

/// Connect to `dest`, resolving a name through the host first and trying
/// its addresses in turn; on failure, the reply for the last error and
/// what it was.
async fn connect(dest: &Dest) -> Result<TcpStream, (Reply, String)> {
    let addrs = match dest {
        Dest::Addr(a) => vec![*a],
        Dest::Name(name, port) => {
            match rt::timeout(
                LOOKUP_TIMEOUT,
                rt::net::lookup_host(&format!("{name}:{port}")),
            )
            .await
            {
                Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                Ok(Ok(_)) => return Err((Reply::HostUnreachable, "no addresses".into())),
                Ok(Err(e)) => {
                    let reply = Reply::for_lookup(wasock::error_code(&e));
                    return Err((reply, format!("lookup failed: {e}")));
                }
                Err(_) => {
                    return Err((
                        Reply::HostUnreachable,
                        format!("lookup took over {LOOKUP_TIMEOUT:?}"),
                    ));
                }
            }
        }
    };
    let mut last = (Reply::GeneralFailure, String::new());
    for addr in addrs {
        match rt::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => {
                last = (
                    Reply::for_connect(wasock::error_code(&e)),
                    format!("connect to {addr}: {e}"),
                );
            }
            Err(_) => {
                last = (
                    Reply::TtlExpired,
                    format!("connect to {addr} took over {CONNECT_TIMEOUT:?}"),
                );
            }
        }
    }
    Err(last)
}

/// Relay both directions at once until each has ended (the end passed on
/// as a shutdown of writing); an error in either ends both.
async fn relay(client: &TcpStream, target: &TcpStream) -> io::Result<()> {
    let mut up = pin!(pump(client, target));
    let mut down = pin!(pump(target, client));
    let (mut up_done, mut down_done) = (false, false);
    poll_fn(|cx| {
        if !up_done && let Poll::Ready(r) = up.as_mut().poll(cx) {
            r?;
            up_done = true;
        }
        if !down_done && let Poll::Ready(r) = down.as_mut().poll(cx) {
            r?;
            down_done = true;
        }
        if up_done && down_done {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Copy `from` to `to` through one bounded buffer until `from` ends, then
/// shut down writing on `to`.
async fn pump(from: &TcpStream, to: &TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; RELAY_BUFFER];
    loop {
        match from.read(&mut buf).await? {
            0 => {
                // The peer may be gone already; its end is then no news.
                let _ = to.shutdown().await;
                return Ok(());
            }
            n => to.write_all(&buf[..n]).await?,
        }
    }
}
