//! `provider-tap`: a layered socket provider. Composed between an app and
//! the host (`wasock run --provider provider_tap.wasm APP.wasm`), it sees
//! every socket call the app makes and passes it down, and on the way:
//!
//! - counts the bytes each connection sends and receives, and writes them
//!   to stderr when the connection closes
//!   (`tap: closed 127.0.0.1:7 sent=5 received=5`);
//! - logs each connect and accept to stderr
//!   (`tap: connect 127.0.0.1:7 ok`, `tap: accept 127.0.0.1:50712`), and
//!   each connection `wasock serve` hands over (`tap: handed 127.0.0.1:50713`);
//! - enforces a byte quota of its own: `WASOCK_TAP_QUOTA` (bytes sent plus
//!   received over all the app's sockets; unset means no quota). A stream
//!   send or any receive that would go past it moves only what is left (a
//!   datagram received is truncated to it; a datagram sent goes whole or
//!   fails with `access-denied`); once nothing
//!   is left, sends and receives fail with `access-denied` and the tap says
//!   so on stderr once for each socket that meets it, with its counts
//!   (`tap: quota of 40000 bytes (WASOCK_TAP_QUOTA) used up at 127.0.0.1:7
//!   sent=20000 received=20000; ...`). The app sees an error, never a trap.
//!
//! Everything else passes through: the host's policy still decides every
//! address, so the tap can narrow what the app does but never widen it.

use std::cell::Cell;
use std::fmt;

use wasock::provider::{
    Datagram, ErrorCode, Lower, RecvFlags, SendFlags, Socket, SocketAddress, SocketType,
};

thread_local! {
    /// The quota and the bytes left under it, `None` without one. Read
    /// once.
    static QUOTA: Cell<Option<Option<(u64, u64)>>> = const { Cell::new(None) };
}

/// Write one line to stderr in a single write, so that the lines of
/// instances sharing the host's stderr (`wasock serve`) never interleave.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }};
}

/// The name of the environment variable that sets the quota.
const QUOTA_VAR: &str = "WASOCK_TAP_QUOTA";

/// The quota and the bytes left under it, `None` without one.
fn quota() -> Option<(u64, u64)> {
    QUOTA.with(|q| {
        if let Some(v) = q.get() {
            return v;
        }
        let v = std::env::var(QUOTA_VAR).ok().map(|s| {
            let total = s.trim().parse::<u64>().unwrap_or_else(|_| {
                say!("tap: {QUOTA_VAR}={s:?} is not a number of bytes; no bytes allowed");
                0
            });
            (total, total)
        });
        q.set(Some(v));
        v
    })
}

/// Take `n` bytes from the quota.
fn spend(n: u64) {
    if let Some((total, left)) = quota() {
        QUOTA.with(|q| q.set(Some(Some((total, left.saturating_sub(n))))));
    }
}

/// An address as people write it.
struct Addr<'a>(&'a SocketAddress);

impl fmt::Display for Addr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", wasock::addr::to_std(*self.0))
    }
}

/// A socket of the layer below, with its counts.
struct Tapped {
    lower: Lower,
    sent: Cell<u64>,
    received: Cell<u64>,
    peer: Cell<Option<SocketAddress>>,
    /// Whether this socket has said that the quota ran out.
    told: Cell<bool>,
}

impl Tapped {
    /// How many of `want` bytes the quota lets through, or `access-denied`
    /// once it is spent (said once per socket on stderr, with its counts).
    fn allow(&self, want: u64) -> Result<u64, ErrorCode> {
        match quota() {
            None => Ok(want),
            Some((total, 0)) if want > 0 => {
                if !self.told.replace(true) {
                    let peer = self.peer.get().map(|p| Addr(&p).to_string());
                    say!(
                        "tap: quota of {total} bytes ({QUOTA_VAR}) used up at {} sent={} received={}; refusing further traffic",
                        peer.as_deref().unwrap_or("an unconnected socket"),
                        self.sent.get(),
                        self.received.get()
                    );
                }
                Err(ErrorCode::AccessDenied)
            }
            Some((_, left)) => Ok(want.min(left)),
        }
    }

    fn received(&self, n: u64) {
        self.received.set(self.received.get() + n);
        spend(n);
    }
    fn sent(&self, n: u64) {
        self.sent.set(self.sent.get() + n);
        spend(n);
    }
}

impl Drop for Tapped {
    fn drop(&mut self) {
        if let Some(peer) = self.peer.get() {
            say!(
                "tap: closed {} sent={} received={}",
                Addr(&peer),
                self.sent.get(),
                self.received.get()
            );
        }
    }
}

impl Socket for Tapped {
    // Every call passes through; readiness is the layer below's.
    const READY_AS_BELOW: bool = true;

    fn lower(&self) -> Option<&Lower> {
        Some(&self.lower)
    }

    fn wrap(lower: Lower) -> Result<Self, ErrorCode> {
        Ok(Tapped {
            lower,
            sent: Cell::new(0),
            received: Cell::new(0),
            peer: Cell::new(None),
            told: Cell::new(false),
        })
    }

    fn accept(&self) -> Result<(Self, SocketAddress), ErrorCode> {
        let (lower, peer) = self.lower.accept()?;
        say!("tap: accept {}", Addr(&peer));
        let s = Self::wrap(lower)?;
        s.peer.set(Some(peer));
        Ok((s, peer))
    }

    fn take_connection() -> Result<(Self, SocketAddress), ErrorCode> {
        let (lower, peer) = wasock::provider::take_lower_connection()?;
        let s = Self::wrap(lower)?;
        say!("tap: handed {}", Addr(&peer));
        s.peer.set(Some(peer));
        Ok((s, peer))
    }

    fn connect(&self, remote: SocketAddress) -> Result<(), ErrorCode> {
        let r = self.lower.connect(remote);
        // Once per connection: the calls that follow a non-blocking
        // connect under way (`already`, `already-connected`) are not news.
        if self.peer.get().is_none() {
            match &r {
                Ok(()) => say!("tap: connect {} ok", Addr(&remote)),
                Err(e) => say!("tap: connect {} {}", Addr(&remote), e.name()),
            }
        }
        // A non-blocking connect under way is a connection too.
        if matches!(r, Ok(()) | Err(ErrorCode::InProgress)) {
            self.peer.set(Some(remote));
        }
        r
    }

    fn send(&self, data: Vec<u8>, flags: SendFlags) -> Result<u64, ErrorCode> {
        let n = self.allow(data.len() as u64)? as usize;
        // A datagram goes whole or not at all; a stream takes what fits.
        if n < data.len() && self.lower.socket_type() == SocketType::Datagram {
            return Err(ErrorCode::AccessDenied);
        }
        let sent = self.lower.send(&data[..n], flags)?;
        self.sent(sent);
        Ok(sent)
    }

    fn recv(&self, max_len: u64, flags: RecvFlags) -> Result<Vec<u8>, ErrorCode> {
        let n = self.allow(max_len)?;
        let data = self.lower.recv(n, flags)?;
        if !flags.contains(RecvFlags::PEEK) {
            self.received(data.len() as u64);
        }
        Ok(data)
    }

    fn send_to(
        &self,
        data: Vec<u8>,
        remote: SocketAddress,
        flags: SendFlags,
    ) -> Result<u64, ErrorCode> {
        // A datagram goes whole or not at all.
        if self.allow(data.len() as u64)? < data.len() as u64 {
            return Err(ErrorCode::AccessDenied);
        }
        let sent = self.lower.send_to(&data, remote, flags)?;
        self.sent(sent);
        Ok(sent)
    }

    fn recv_from(&self, max_len: u64, flags: RecvFlags) -> Result<Datagram, ErrorCode> {
        // At most what is left: a longer datagram is truncated to it, as
        // for any receive with a shorter length.
        let n = self.allow(max_len)?;
        let d = self.lower.recv_from(n, flags)?;
        if !flags.contains(RecvFlags::PEEK) {
            self.received(d.data.len() as u64);
        }
        Ok(d)
    }
}

wasock::export_provider!(Tapped);
