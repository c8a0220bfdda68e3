//! Waiting on many sockets at once (`poll` / `WSAPoll`).
//!
//! ```no_run
//! use std::time::Duration;
//! use wasock::Readiness;
//! use wasock::net::{TcpListener, UdpSocket};
//! use wasock::poll::{PollFd, poll};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let udp = UdpSocket::bind("127.0.0.1:0")?;
//! let mut fds = [
//!     PollFd::new(&listener, Readiness::READABLE),
//!     PollFd::new(&udp, Readiness::READABLE),
//! ];
//! let ready = poll(&mut fds, Some(Duration::from_secs(1)))?;
//! if fds[0].is_readable() {
//!     let (stream, peer) = listener.accept()?;
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::time::Duration;

use crate::bindings::wasock::sockets::poll::{PollEntry, poll as wit_poll};
use crate::bindings::wasock::sockets::socket::Socket;
use crate::bindings::wasock::sockets::types::Readiness;
use crate::error::io;
use crate::net::AsSocket;

/// Most entries the host takes in one `poll`, and most sockets in one
/// poll set, by default (`Limits::max_poll_entries` on the host): what the
/// SDK's async runtime and provider components keep to.
pub const MAX_POLL_ENTRIES: usize = 65536;

/// One socket to watch and, after [`poll`], what holds for it (`pollfd`).
pub struct PollFd<'a> {
    socket: &'a Socket,
    interest: Readiness,
    revents: Readiness,
}

impl<'a> PollFd<'a> {
    /// Watch `socket` for `interest` (readable and/or writable). Errors are
    /// always reported, hang-ups unless the interest is only writable.
    pub fn new(socket: &'a impl AsSocket, interest: Readiness) -> PollFd<'a> {
        PollFd {
            socket: socket.as_socket(),
            interest,
            revents: Readiness::empty(),
        }
    }

    /// Change what to watch for.
    pub fn set_interest(&mut self, interest: Readiness) {
        self.interest = interest;
    }

    /// What held at the last [`poll`].
    pub fn revents(&self) -> Readiness {
        self.revents
    }

    /// A receive (or accept) would not block.
    pub fn is_readable(&self) -> bool {
        self.revents.contains(Readiness::READABLE)
    }

    /// A send would not block (or a connect finished).
    pub fn is_writable(&self) -> bool {
        self.revents.contains(Readiness::WRITABLE)
    }

    /// The connection is closed.
    pub fn is_hang_up(&self) -> bool {
        self.revents.contains(Readiness::HANG_UP)
    }

    /// An error is pending (see `take_error`).
    pub fn is_error(&self) -> bool {
        self.revents.contains(Readiness::ERROR)
    }
}

/// Wait until one of `fds` is ready or `timeout` passes (`None`: no limit;
/// zero: just look). Fills each entry's [`PollFd::revents`] and returns how
/// many are ready (0 on timeout).
pub fn poll(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> io::Result<usize> {
    let entries: Vec<PollEntry<'_>> = fds
        .iter()
        .map(|f| PollEntry {
            socket: f.socket,
            interest: f.interest,
        })
        .collect();
    let timeout = timeout.map(|t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX));
    let results = io(wit_poll(&entries, timeout))?;
    let mut ready = 0;
    for (f, r) in fds.iter_mut().zip(results) {
        f.revents = r;
        if !r.is_empty() {
            ready += 1;
        }
    }
    Ok(ready)
}
