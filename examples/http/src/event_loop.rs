//! A `poll` loop that drives each connection's future (`conn::serve`)
//! directly: one `wasock::poll::poll` call per turn over the listener and
//! every connection, then each connection whose socket is ready (or whose
//! deadline passed) is polled once.
//!
//! It does what `wasock::rt` does for this server with less bookkeeping:
//! a connection's future records in its [`Slot`] what it waits for and
//! until when, the loop reads the clock once per turn, and nothing else is
//! shared, so a request costs its receive, its send and a share of the
//! turn's `poll`.

use std::cell::Cell;
use std::future::Future;
use std::io::{self, Read as _, Write as _};
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasock::Readiness;
use wasock::net::{TcpListener, TcpStream};
use wasock::poll::{PollFd, poll};

use crate::conn;
use crate::http1;

thread_local! {
    /// The time at the start of this turn (read once per turn).
    static NOW: Cell<Instant> = Cell::new(Instant::now());
}

/// What a connection's future waits for, and what the loop found.
struct Slot {
    /// What to wait for (empty: nothing, the future is not waiting).
    wants: Cell<Readiness>,
    /// Until when (with `wants`).
    deadline: Cell<Option<Instant>>,
    /// What held at the last turn.
    ready: Cell<Readiness>,
    /// The deadline passed with nothing ready.
    expired: Cell<bool>,
    /// Poll again next turn whatever the socket says (a yield).
    again: Cell<bool>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            wants: Cell::new(Readiness::empty()),
            deadline: Cell::new(None),
            ready: Cell::new(Readiness::empty()),
            expired: Cell::new(false),
            again: Cell::new(false),
        }
    }

    /// Wait for `wants` until `within` from this turn's start.
    fn wait(&self, wants: Readiness, within: Duration) {
        self.wants.set(wants);
        if self.deadline.get().is_none() {
            self.deadline.set(Some(NOW.with(Cell::get) + within));
        }
    }

    /// Done waiting: what was asked is cleared.
    fn clear(&self) {
        self.wants.set(Readiness::empty());
        self.deadline.set(None);
        self.ready.set(Readiness::empty());
        self.expired.set(false);
    }

    /// Whether the last turn found `wants` (or an error or hang-up, which a
    /// retry reports).
    fn fired(&self, wants: Readiness) -> bool {
        self.ready
            .get()
            .intersects(wants | Readiness::ERROR | Readiness::HANG_UP)
    }
}

/// A connection's I/O: non-blocking sockets, waits recorded in its slot.
struct Polled {
    stream: Rc<TcpStream>,
    slot: Rc<Slot>,
    /// The last read left nothing behind: wait for readiness before
    /// reading again, rather than making a read that would block.
    drained: bool,
}

impl conn::Io for Polled {
    async fn read(&mut self, buf: &mut [u8], within: Duration) -> io::Result<usize> {
        std::future::poll_fn(|_| {
            if !self.drained || self.slot.fired(Readiness::READABLE) {
                match (&*self.stream).read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    r => {
                        self.slot.clear();
                        self.drained = r.as_ref().is_ok_and(|&n| n < buf.len());
                        return Poll::Ready(r);
                    }
                }
            }
            if self.slot.expired.get() {
                self.slot.clear();
                return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
            }
            self.slot.wait(Readiness::READABLE, within);
            Poll::Pending
        })
        .await
    }

    async fn write_all(&mut self, mut buf: &[u8], within: Duration) -> io::Result<()> {
        std::future::poll_fn(|_| {
            while !buf.is_empty() {
                match (&*self.stream).write(buf) {
                    Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Ok(n) => {
                        buf = &buf[n..];
                        // Progress: a fresh deadline for the rest.
                        self.slot.clear();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if self.slot.expired.get() {
                            self.slot.clear();
                            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
                        }
                        self.slot.wait(Readiness::WRITABLE, within);
                        return Poll::Pending;
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            self.slot.clear();
            Poll::Ready(Ok(()))
        })
        .await
    }

    async fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    async fn yield_now(&mut self) {
        let mut yielded = false;
        std::future::poll_fn(|_| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                self.slot.again.set(true);
                Poll::Pending
            }
        })
        .await
    }
}

/// One connection being served.
struct Conn {
    stream: Rc<TcpStream>,
    slot: Rc<Slot>,
    future: Pin<Box<dyn Future<Output = ()>>>,
}

impl Conn {
    /// Poll the future once; whether it is done.
    fn step(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        self.future.as_mut().poll(&mut cx).is_ready()
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Serve connections from `listener` for ever.
pub fn run(listener: &TcpListener, config: conn::Config) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut conns: Vec<Conn> = Vec::new();
    let mut revents: Vec<Readiness> = Vec::new();
    // When the `Date` header is next brought up to date.
    let mut date_due = Instant::now();
    // When accepting may be tried again after it failed (out of sockets).
    let mut accept_after: Option<Instant> = None;
    let mut failing = 0u32;
    loop {
        let now = NOW.with(Cell::get);
        if now >= date_due {
            http1::set_date(unix_now());
            date_due = now + Duration::from_secs(1);
        }
        // How long this turn may wait: until the nearest deadline.
        let mut until = date_due;
        if let Some(t) = accept_after {
            until = until.min(t);
        }
        for c in &conns {
            if c.slot.again.get() {
                until = now;
            } else if let Some(d) = c.slot.deadline.get() {
                until = until.min(d);
            }
        }
        let listen = if accept_after.is_some() {
            Readiness::empty()
        } else {
            Readiness::READABLE
        };
        {
            let mut fds = Vec::with_capacity(conns.len() + 1);
            fds.push(PollFd::new(listener, listen));
            fds.extend(
                conns
                    .iter()
                    .map(|c| PollFd::new(&*c.stream, c.slot.wants.get())),
            );
            poll(&mut fds, Some(until.saturating_duration_since(now)))?;
            revents.clear();
            revents.extend(fds.iter().map(PollFd::revents));
        }
        let now = Instant::now();
        NOW.with(|n| n.set(now));

        // Newest last: a connection removed is replaced by the last one,
        // which this pass (going backwards) has already seen.
        for i in (0..conns.len()).rev() {
            let slot = &conns[i].slot;
            let ready = revents[i + 1];
            let wants = slot.wants.get();
            let fired = ready.intersects(wants | Readiness::ERROR | Readiness::HANG_UP);
            let expired = slot.deadline.get().is_some_and(|d| now >= d);
            if !(fired || expired || slot.again.get()) {
                continue;
            }
            slot.ready.set(ready);
            slot.expired.set(expired && !fired);
            slot.again.set(false);
            if conns[i].step() {
                conns.swap_remove(i);
            }
        }

        if accept_after.is_some_and(|t| now >= t) {
            accept_after = None;
        }
        if accept_after.is_none() && revents[0].contains(Readiness::READABLE) {
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        failing = 0;
                        let _ = stream.set_nodelay(true);
                        if stream.set_nonblocking(true).is_err() {
                            continue;
                        }
                        let stream = Rc::new(stream);
                        let slot = Rc::new(Slot::new());
                        let io = Polled {
                            stream: stream.clone(),
                            slot: slot.clone(),
                            drained: false,
                        };
                        let mut c = Conn {
                            stream,
                            slot,
                            future: Box::pin(conn::serve(io, config)),
                        };
                        if !c.step() {
                            conns.push(c);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        // Out of sockets (the instance's limit): the open
                        // connections go on, and close in time.
                        if failing == 0 {
                            eprintln!("http: accept failed: {e} (retrying every 10 ms)");
                        }
                        failing = failing.saturating_add(1);
                        accept_after = Some(now + Duration::from_millis(10));
                        break;
                    }
                }
            }
        }
    }
}
