//! A key-value server speaking the Redis protocol (RESP2), enough of it for
//! `redis-cli` and `redis-benchmark`: strings with expiry (`GET`, `SET`
//! with `EX`/`PX`/`NX`/`XX`/`GET`/`KEEPTTL`, `MGET`, `MSET`, `INCR` and
//! friends, `DEL`, `EXISTS`, `EXPIRE`, `TTL`, `PERSIST`, `FLUSHALL`),
//! pipelining, inline commands, and the connection and server commands
//! clients send (`PING`, `ECHO`, `SELECT 0`, `CONFIG GET`, `COMMAND`,
//! `CLIENT`, `INFO`, `HELLO 2`, `QUIT`).
//!
//! Usage: `kv [ADDR] [--maxmemory SIZE]` (default `127.0.0.1:0` and
//! 64mb). The first line on stdout is `listening on ADDR`; it serves until
//! killed.
//!
//! A task per connection on the SDK's async runtime. Each reads what has
//! arrived, runs every complete command in it and sends all their replies
//! with one `send`, then waits for more; every idle turn is one `poll` for
//! all connections.
//!
//! Bounds, so that no client can take the server down for the others:
//! a bulk argument is at most 64 MiB and a command at most 65 MiB (a longer
//! claim is answered `-ERR Protocol error: invalid bulk length` and the
//! connection closed: nothing is allocated for what is merely claimed, a
//! request buffer grows only with bytes that arrived); what connections
//! hold beyond 32 KiB each (request buffers, parse state, replies) shares
//! 80 MiB, and a connection that would take more is answered with an error
//! and closed; replies are sent once 64 KiB are waiting, before the next
//! command is read, with stored values of 16 KiB or more sent from the
//! store without a copy; and the keyspace refuses writes past
//! `--maxmemory` with Redis's `-OOM` error. All of this stays within
//! wasock's default 256 MiB of guest memory.

mod admin;
mod commands;
mod expire;
mod inline;
mod reply;
mod resp;
mod store;

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use commands::{FLUSH_AT, Server, Session, execute};
use reply::{BIG_VALUE, Out};
use resp::{MAX_BULK, Parser, Step};
use wasock::rt::{
    self,
    net::{TcpListener, TcpStream},
};

/// Each connection's request buffer to begin with (and to go back to).
const INITIAL_BUF: usize = 16 << 10;
/// Most bytes one command may take: one maximal bulk argument and 1 MiB
/// for the rest.
const MAX_COMMAND: usize = MAX_BULK + (1 << 20);
/// What a connection may hold (request buffer, parse state, replies)
/// without counting against [`MAX_BUFFERED`].
const BASE_FOOTPRINT: usize = 32 << 10;
/// Most bytes all connections together may hold beyond
/// [`BASE_FOOTPRINT`] each; a connection that would take more is answered
/// [`TOO_MUCH`] and closed.
const MAX_BUFFERED: usize = 80 << 20;
/// The reply when [`MAX_BUFFERED`] is reached.
const TOO_MUCH: &str = "ERR too many large requests in progress; try again later";
/// The keyspace's budget unless `--maxmemory` says otherwise.
const DEFAULT_MAXMEMORY: usize = 64 << 20;

/// A size as Redis's configuration reads it: bytes, or with `k`/`m`/`g`
/// (powers of 1000) or `kb`/`mb`/`gb` (powers of 1024).
fn parse_size(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    let (digits, unit) = [
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|&(suffix, unit)| lower.strip_suffix(suffix).map(|d| (d.to_string(), unit)))
    .unwrap_or((lower.clone(), 1));
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

fn usage(msg: &str) -> ! {
    eprintln!("kv: {msg}\nusage: kv [ADDR] [--maxmemory SIZE]");
    std::process::exit(2);
}

fn main() {
    let mut addr = None;
    let mut maxmemory = DEFAULT_MAXMEMORY;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--maxmemory" {
            let v = args
                .next()
                .unwrap_or_else(|| usage("--maxmemory needs a size"));
            maxmemory = parse_size(&v).unwrap_or_else(|| usage(&format!("bad size {v:?}")));
        } else if addr.is_none() && !a.starts_with('-') {
            addr = Some(a);
        } else {
            usage(&format!("unexpected argument {a:?}"));
        }
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:0".to_string());
    let result: io::Result<()> = rt::block_on(async {
        let listener = match TcpListener::bind(addr.as_str()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("kv: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        let local = listener.local_addr()?;
        println!("listening on {local}");
        io::stdout().flush()?;
        let server = Rc::new(Server::new(local, maxmemory));
        rt::spawn(expire_keys(server.clone()));
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                // Out of sockets (the instance's limit): the others go on.
                Err(e) => {
                    eprintln!("kv: accept failed: {e}");
                    rt::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            server.connections.set(server.connections.get() + 1);
            let id = server.next_id.get() + 1;
            server.next_id.set(id);
            let mut conn = Conn::new(server.clone(), id, peer);
            rt::spawn(async move {
                let _ = conn.run(&stream).await;
            });
        }
    });
    if let Err(e) = result {
        eprintln!("kv: {e}");
        std::process::exit(1);
    }
}

/// Take expired keys out of the keyspace ten times a second, at most a
/// thousand at a time (the rest expire when touched, or next time).
async fn expire_keys(server: Rc<Server>) {
    let mut tick = rt::interval(Duration::from_millis(100));
    // After a stall, one sweep, not one per tick missed.
    tick.set_missed_tick_behavior(rt::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        server.db.borrow_mut().sweep(1000);
    }
}

/// One connection: its request buffer, parser, and the replies waiting.
struct Conn {
    server: Rc<Server>,
    session: Session,
    /// Requests; `buf[start..filled]` is what is not processed yet (the
    /// start of an incomplete command). Its length is its capacity, all
    /// of it initialised so that a receive can land in it.
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    /// What this connection counts against the shared [`MAX_BUFFERED`].
    counted: usize,
    parser: Parser,
    out: Out,
}

impl Conn {
    fn new(server: Rc<Server>, id: u64, peer: SocketAddr) -> Conn {
        server.clients.set(server.clients.get() + 1);
        Conn {
            server,
            session: Session {
                id,
                name: None,
                peer,
                quit: false,
            },
            buf: vec![0; INITIAL_BUF],
            start: 0,
            filled: 0,
            counted: 0,
            parser: Parser::default(),
            out: Out::default(),
        }
    }

    /// Serve until the client goes, says `QUIT`, or breaks the protocol.
    async fn run(&mut self, stream: &TcpStream) -> io::Result<()> {
        // Whether to wait for readability before receiving: after a
        // receive that did not fill the buffer, the next would most likely
        // find nothing, and the wait is shared with every other connection.
        let mut wait_first = false;
        // What the incomplete command needs before parsing it again helps.
        let mut need = 0;
        loop {
            if let Err(msg) = self.make_room(need) {
                self.out.error(msg);
                self.flush(stream).await?;
                return self.linger(stream).await;
            }
            if wait_first {
                stream.readable().await?;
            }
            let n = stream.read(&mut self.buf[self.filled..]).await?;
            if n == 0 {
                return Ok(());
            }
            self.filled += n;
            wait_first = self.filled < self.buf.len();
            if self.filled - self.start < need {
                continue;
            }
            loop {
                let pending = &self.buf[self.start..self.filled];
                match self.parser.parse(pending) {
                    Ok(Step::More { need: n }) => {
                        need = n;
                        break;
                    }
                    Ok(Step::Done(len)) => {
                        let args = self.parser.args(&pending[..len]);
                        if !args.is_empty() {
                            execute(&self.server, &mut self.session, args, &mut self.out);
                        }
                        self.parser.reset();
                        self.start += len;
                        if let Err(msg) = self.recount() {
                            self.out = Out::default();
                            self.out.error(msg);
                            self.flush(stream).await?;
                            return self.linger(stream).await;
                        }
                        if self.session.quit {
                            self.flush(stream).await?;
                            return self.linger(stream).await;
                        }
                        if self.out.pending() >= FLUSH_AT {
                            self.flush(stream).await?;
                        }
                    }
                    Err(e) => {
                        self.out.error(&format!("ERR Protocol error: {}", e.0));
                        self.flush(stream).await?;
                        return self.linger(stream).await;
                    }
                }
            }
            // Every reply to what arrived, in one send.
            self.flush(stream).await?;
        }
    }

    /// Close after an error or `QUIT` without losing the reply: closing with
    /// unread bytes would reset the connection, and a reset can overtake
    /// the reply. So end the sending side, then read and drop what the
    /// client still sends, for at most a second and 1 MiB.
    async fn linger(&mut self, stream: &TcpStream) -> io::Result<()> {
        stream.shutdown().await?;
        let drain = async {
            let mut left = 1usize << 20;
            while left > 0 {
                let room = self.buf.len().min(left);
                match stream.read(&mut self.buf[..room]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left -= n,
                }
            }
        };
        let _ = rt::timeout(Duration::from_secs(1), drain).await;
        Ok(())
    }

    /// Make room in the buffer for the next receive: move the incomplete
    /// command to the front, or grow the buffer (by 16 KiB, or up to the
    /// incomplete command's known size `need`, but to at most twice what
    /// it holds: memory follows the bytes that arrived, never a claim);
    /// give memory back when it is empty.
    fn make_room(&mut self, need: usize) -> Result<(), &'static str> {
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
            if self.buf.len() > INITIAL_BUF {
                self.resize(INITIAL_BUF);
                let _ = self.recount();
            }
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled < self.buf.len() {
            return Ok(());
        }
        let len = self.buf.len();
        if len >= MAX_COMMAND {
            return Err("ERR Protocol error: request too big");
        }
        // `need` is exact while a bulk's body is awaited, and just "more"
        // (one past what is there) otherwise.
        let target = need.min(2 * len).max(len + INITIAL_BUF).min(MAX_COMMAND);
        let others = self.server.buffered.get() - self.counted;
        if others + self.footprint(target - len) > MAX_BUFFERED {
            return Err(TOO_MUCH);
        }
        self.resize(target);
        self.recount()
    }

    fn resize(&mut self, len: usize) {
        if len > self.buf.len() {
            self.buf.reserve_exact(len - self.buf.len());
            self.buf.resize(len, 0);
        } else {
            self.buf = vec![0; len];
        }
    }

    /// What this connection holds beyond [`BASE_FOOTPRINT`], were its
    /// request buffer `extra` bytes longer.
    fn footprint(&self, extra: usize) -> usize {
        (self.buf.len() + extra + self.parser.heap_bytes() + self.out.heap_bytes())
            .saturating_sub(BASE_FOOTPRINT)
    }

    /// Count what this connection holds now against [`MAX_BUFFERED`]; an
    /// error if all together hold more.
    fn recount(&mut self) -> Result<(), &'static str> {
        let now = self.footprint(0);
        let server = &self.server;
        let others = server.buffered.get() - self.counted;
        server.buffered.set(others + now);
        self.counted = now;
        if others + now > MAX_BUFFERED {
            Err(TOO_MUCH)
        } else {
            Ok(())
        }
    }

    /// Send every reply waiting, in order: in one send unless values are
    /// held by reference, in which case those go straight from the store
    /// and the pieces between them are gathered.
    async fn flush(&mut self, stream: &TcpStream) -> io::Result<()> {
        if self.out.refs.is_empty() {
            if !self.out.buf.is_empty() {
                stream.write_all(&self.out.buf).await?;
            }
        } else {
            // Small pieces are gathered here, big ones sent as they are.
            let mut staged = Vec::new();
            let refs = std::mem::take(&mut self.out.refs);
            let mut at = 0;
            for (offset, value) in &refs {
                stage(&mut staged, stream, &self.out.buf[at..*offset]).await?;
                stage(&mut staged, stream, value).await?;
                at = *offset;
            }
            stage(&mut staged, stream, &self.out.buf[at..]).await?;
            if !staged.is_empty() {
                stream.write_all(&staged).await?;
            }
        }
        self.out.clear();
        if self.out.buf.capacity() > FLUSH_AT {
            self.out = Out::default();
            let _ = self.recount();
        }
        Ok(())
    }
}

/// Send `bytes` after what `staged` holds: gathered there if small, sent
/// as they are (after it) if not.
async fn stage(staged: &mut Vec<u8>, stream: &TcpStream, bytes: &[u8]) -> io::Result<()> {
    if bytes.len() >= BIG_VALUE {
        if !staged.is_empty() {
            stream.write_all(staged).await?;
            staged.clear();
        }
        return stream.write_all(bytes).await;
    }
    staged.extend_from_slice(bytes);
    if staged.len() >= FLUSH_AT {
        stream.write_all(staged).await?;
        staged.clear();
    }
    Ok(())
}

impl Drop for Conn {
    fn drop(&mut self) {
        let server = &self.server;
        server.clients.set(server.clients.get() - 1);
        server.buffered.set(server.buffered.get() - self.counted);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("64mb"), Some(64 << 20));
        assert_eq!(parse_size("1K"), Some(1000));
        assert_eq!(parse_size("x"), None);
    }
}
