//! One native socket: a non-blocking OS socket (socket2), registered with
//! tokio's reactor once it can report meaningful readiness.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::runtime::RuntimeFlavor;

use super::drain::{Inq, Received, drained_recv};
use super::errno::transfer_error;
use super::sys;
use super::waiters::Direction;
use crate::net::{
    Calls, ConnectState, ErrorCode, Family, NetSocket, OptionName, Readiness, RecvBuf, RecvFlags,
    RecvMeta, SendFlags, Shutdown, SockOption, SocketType, recv_into_initialised,
};

/// The OS socket, before and after registration with the reactor.
///
/// A stream socket is registered only once it listens or connects: epoll
/// reports a fresh TCP socket as hung up, and tokio keeps "closed" states
/// forever, so registering it earlier would make it look ready for ever.
enum Io {
    Plain(Socket),
    Registered(AsyncFd<Socket>),
    /// Only while swapping one state for the other.
    Swapping,
}

/// A socket of the native provider.
pub struct NativeSocket {
    family: Family,
    socket_type: SocketType,
    io: Io,
    /// A stream connect was started and its outcome not yet collected.
    connecting: bool,
    shut_read: bool,
    shut_write: bool,
    /// The multicast interface index set, for reading it back.
    multicast_if: u32,
    /// The `linger` the guest set, for reading it back and for accepted
    /// sockets to inherit; the kernel is given only `some(0)` (see
    /// `options::set`).
    linger: Option<std::time::Duration>,
    /// How the runtime follows up a `would-block` (see
    /// `NetSocket::set_calls`).
    calls: Calls,
    /// The reactor watches for writability too. Datagram sockets and
    /// listeners start without: a UDP socket turns writable again after
    /// every datagram it sends, which would wake the reactor for nothing;
    /// the interest is added the first time a send would block.
    write_registered: bool,
    /// A connected socket not yet registered with the reactor: it is, the
    /// first time the guest waits on it. A connection that is served
    /// without ever blocking (the request already there, the answer fits
    /// the send buffer) then costs no reactor system calls at all.
    register_on_wait: bool,
    /// Whether receives learn how much is left queued (see `drained_recv`).
    inq: Inq,
    /// The reactor's cached read readiness, whatever it holds, is the
    /// truth: it held none after the last receive (that receive emptied the
    /// queue or said `would-block`), so what it holds came from an event
    /// since, and nothing has taken the data. A wait then believes it
    /// without a `poll(2)` of its own. Only ever set on an inline reactor.
    read_fresh: bool,
    /// The reactor runs on the thread that makes this socket's calls (a
    /// current-thread runtime): no event is taken in while a call runs.
    /// On a multi-threaded runtime, an event read before a receive could
    /// reach the cache after it, so the cache is never fresh there.
    inline_reactor: bool,
    /// A wait on this socket asked the kernel whether a "readable" the
    /// reactor held was stale. A non-blocking guest's receives then learn
    /// what they leave (on an inline reactor, where the wait can believe
    /// it), so that the next such wait may believe the reactor instead; a
    /// socket whose waits never ask (a WASI pollable's) does not pay for
    /// learning.
    waits_look: AtomicBool,
    /// `listen` succeeded: a second `listen` (a new backlog) keeps the
    /// registration.
    listening: bool,
    /// The tasks waiting to read (or accept), and to write.
    readers: Direction,
    writers: Direction,
}

impl NativeSocket {
    /// Open a new non-blocking socket.
    pub fn open(family: Family, socket_type: SocketType) -> Result<NativeSocket, ErrorCode> {
        let domain = match family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let (ty, proto) = match socket_type {
            SocketType::Stream => (Type::STREAM, Protocol::TCP),
            SocketType::Datagram => (Type::DGRAM, Protocol::UDP),
        };
        let sock = Socket::new(domain, ty.nonblocking().cloexec(), Some(proto))?;
        if family == Family::Ipv6 {
            // Dual-stack unless the guest asks otherwise, whatever the
            // system default.
            sock.set_only_v6(false)?;
        }
        let mut s = NativeSocket {
            family,
            socket_type,
            io: Io::Plain(sock),
            connecting: false,
            shut_read: false,
            shut_write: false,
            multicast_if: 0,
            linger: None,
            calls: Calls::Waiting,
            write_registered: false,
            register_on_wait: false,
            inq: Inq::Off,
            read_fresh: false,
            inline_reactor: false,
            waits_look: AtomicBool::new(false),
            listening: false,
            readers: Direction::default(),
            writers: Direction::default(),
        };
        if socket_type == SocketType::Datagram {
            // An error report (an ICMP message about an earlier datagram)
            // makes epoll say "error" alone, which wakes no tokio reader:
            // a receive waiting at that moment would wait on. With this
            // option the report also says "priority", which tokio takes
            // for readable (see `register_fresh`).
            sys::set_int(s.sock(), libc::SOL_SOCKET, libc::SO_SELECT_ERR_QUEUE, 1)?;
            s.register(false)?;
        }
        Ok(s)
    }

    /// Wrap a connected stream socket that the host accepted itself (as
    /// `wasock serve` does), to hand it to a guest.
    pub fn from_connected(sock: Socket) -> Result<NativeSocket, ErrorCode> {
        let family = if sock.local_addr()?.is_ipv6() {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        sock.set_nonblocking(true)?;
        Ok(NativeSocket::from_accepted(family, sock))
    }

    /// Wrap a connected, non-blocking stream socket.
    fn from_accepted(family: Family, sock: Socket) -> NativeSocket {
        NativeSocket {
            family,
            socket_type: SocketType::Stream,
            io: Io::Plain(sock),
            connecting: false,
            shut_read: false,
            shut_write: false,
            multicast_if: 0,
            linger: None,
            calls: Calls::Waiting,
            write_registered: false,
            register_on_wait: true,
            inq: Inq::Off,
            read_fresh: false,
            inline_reactor: false,
            waits_look: AtomicBool::new(false),
            listening: false,
            readers: Direction::default(),
            writers: Direction::default(),
        }
    }

    pub(super) fn sock(&self) -> &Socket {
        match &self.io {
            Io::Plain(s) => s,
            Io::Registered(fd) => fd.get_ref(),
            Io::Swapping => unreachable!("socket state observed mid-swap"),
        }
    }

    /// The reactor's registration, once the socket is registered.
    fn registered(&self) -> Option<&AsyncFd<Socket>> {
        match &self.io {
            Io::Registered(fd) => Some(fd),
            _ => None,
        }
    }

    /// Register with the reactor (again, if the interest changes), for
    /// readability and, if `writable`, writability.
    fn register(&mut self, writable: bool) -> Result<(), ErrorCode> {
        if let Io::Registered(_) = self.io
            && (self.write_registered || !writable)
        {
            return Ok(());
        }
        self.register_fresh(writable)
    }

    /// Register anew, dropping whatever readiness the reactor remembered.
    /// Needed when a socket starts a new life (listening, connecting
    /// again): tokio keeps "closed" readiness for ever, so a hang-up left by
    /// a failed connect would otherwise make every later wait return at
    /// once. The tasks waiting on the old registration are woken, to wait
    /// again.
    fn register_fresh(&mut self, writable: bool) -> Result<(), ErrorCode> {
        let sock = match std::mem::replace(&mut self.io, Io::Swapping) {
            Io::Plain(s) => s,
            Io::Registered(fd) => fd.into_inner(),
            Io::Swapping => unreachable!("socket state observed mid-swap"),
        };
        // The old registration is gone, and with it the wakers tokio held
        // (dropped, not woken): whoever waited looks again, at the new one
        // or, if registering fails, at the plain socket.
        self.readers.hand_over();
        self.writers.hand_over();
        let mut interest = if writable {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if self.socket_type == SocketType::Datagram {
            // Error reports, flagged "priority" (see `open`).
            interest |= Interest::PRIORITY;
        }
        // SAFETY: `Socket` owns its descriptor and keeps the same one open
        // until it is dropped, which only happens when the AsyncFd is (or
        // after `into_inner` hands it back).
        self.read_fresh = false;
        match unsafe { AsyncFd::register_with_interest(sock, interest) } {
            Ok(fd) => {
                self.inline_reactor = tokio::runtime::Handle::try_current()
                    .is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread);
                self.io = Io::Registered(fd);
                self.write_registered = writable;
                Ok(())
            }
            Err(e) => {
                let (sock, cause) = e.into_parts();
                self.io = Io::Plain(sock);
                Err(cause.into())
            }
        }
    }

    /// Run a non-blocking operation.
    ///
    /// A blocking guest's receives and accepts go through tokio's `try_io`:
    /// no system call while tokio knows the socket is not ready. Everything
    /// else makes the system call whatever tokio believes (its cache may lag
    /// behind what `poll` reported, or be empty for a fresh registration;
    /// sends usually succeed), still through `try_io` when tokio believes
    /// the socket ready: a `WouldBlock` then clears that belief, and only if
    /// no event arrived since it was read, so that a wait afterwards neither
    /// misses an event nor wakes for a stale one. One system call either
    /// way.
    pub(super) fn op<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&Socket) -> io::Result<R>,
    ) -> Result<R, ErrorCode> {
        match &self.io {
            Io::Registered(fd) if self.calls != Calls::Real && interest == Interest::READABLE => {
                fd.try_io(interest, |s| f(s)).map_err(transfer_error)
            }
            // The reactor does not watch writability yet: just try.
            Io::Registered(fd) if interest == Interest::WRITABLE && !self.write_registered => {
                f(fd.get_ref()).map_err(transfer_error)
            }
            Io::Registered(fd) => {
                let mut tried = false;
                let r = fd.try_io(interest, |s| {
                    tried = true;
                    f(s)
                });
                if tried { r } else { f(fd.get_ref()) }.map_err(transfer_error)
            }
            _ => f(self.sock()).map_err(transfer_error),
        }
    }

    /// After a non-blocking connect failed, Linux leaves the socket in the
    /// "connecting" state, and the next connect fails with `ECONNABORTED`.
    /// A blocking connect resets it instead; so does this (`AF_UNSPEC`), so
    /// that a failed socket may try again as it could after a blocking
    /// connect.
    fn reset_after_failed_connect(&self) {
        let _ = sys::disconnect(self.sock());
    }

    fn check_family(&self, addr: &SocketAddr) -> Result<(), ErrorCode> {
        if Family::of(addr) == self.family {
            Ok(())
        } else {
            Err(ErrorCode::AddressFamilyNotSupported)
        }
    }

    fn send_error(&self, e: ErrorCode) -> ErrorCode {
        // EPIPE means "shut down" only if this side shut down sending;
        // otherwise the peer reset the connection.
        match e {
            ErrorCode::ShutDown if !self.shut_write => ErrorCode::ConnectionReset,
            e => e,
        }
    }
}

/// The context to poll tokio with for a wait: `cx`'s own, or the waker
/// that wakes every waiting task ([`Direction::join`]).
fn on<'a>(shared: Option<&'a Waker>, cx: &'a Context<'_>) -> Context<'a> {
    Context::from_waker(shared.unwrap_or(cx.waker()))
}

fn send_flags(flags: SendFlags) -> i32 {
    let mut f = libc::MSG_NOSIGNAL;
    if flags.dont_route {
        f |= libc::MSG_DONTROUTE;
    }
    f
}

fn recv_flags(flags: RecvFlags) -> i32 {
    if flags.peek { libc::MSG_PEEK } else { 0 }
}

fn to_socket_addr(addr: &SockAddr) -> Result<SocketAddr, ErrorCode> {
    addr.as_socket().ok_or(ErrorCode::AddressFamilyNotSupported)
}

impl NetSocket for NativeSocket {
    fn wait_in_place(&self, interest: Readiness, timeout: std::time::Duration) -> bool {
        let mut events = 0;
        if interest.contains(Readiness::READABLE) {
            events |= libc::POLLIN;
        }
        if interest.contains(Readiness::WRITABLE) {
            events |= libc::POLLOUT;
        }
        sys::poll_for(self.sock().as_raw_fd(), events, timeout)
    }

    fn family(&self) -> Family {
        self.family
    }

    fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    fn bind(&mut self, addr: SocketAddr) -> Result<(), ErrorCode> {
        self.check_family(&addr)?;
        Ok(self.sock().bind(&addr.into())?)
    }

    fn listen(&mut self, backlog: u32) -> Result<(), ErrorCode> {
        if self.socket_type != SocketType::Stream {
            return Err(ErrorCode::NotSupported);
        }
        let backlog = if backlog == 0 {
            libc::SOMAXCONN
        } else {
            i32::try_from(backlog).unwrap_or(i32::MAX)
        };
        self.sock().listen(backlog)?;
        if self.listening {
            return Ok(());
        }
        self.register_fresh(false)?;
        self.listening = true;
        Ok(())
    }

    fn try_accept(&mut self) -> Result<(Box<dyn NetSocket>, SocketAddr), ErrorCode> {
        if self.socket_type != SocketType::Stream {
            return Err(ErrorCode::NotSupported);
        }
        if !matches!(self.io, Io::Registered(_)) {
            return Err(ErrorCode::InvalidArgument);
        }
        // Non-blocking from the start: no fcntl calls after.
        let (sock, peer) = self.op(Interest::READABLE, |s| {
            s.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
        })?;
        let peer = to_socket_addr(&peer)?;
        let mut accepted = NativeSocket::from_accepted(self.family, sock);
        accepted.linger = self.linger;
        Ok((Box::new(accepted), peer))
    }

    fn start_connect(&mut self, addr: SocketAddr) -> Result<ConnectState, ErrorCode> {
        self.check_family(&addr)?;
        let stream = self.socket_type == SocketType::Stream;
        if stream && matches!(self.io, Io::Registered(_)) {
            // A stream socket connecting again after a failure.
            self.register_fresh(true)?;
        }
        match self.sock().connect(&addr.into()) {
            Ok(()) => {
                // A datagram "connect" only sets the peer: keep its
                // registration as it is.
                self.register(stream)?;
                Ok(ConnectState::Connected)
            }
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                self.register(true)?;
                self.connecting = true;
                Ok(ConnectState::InProgress)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn connect_state(&mut self) -> Result<ConnectState, ErrorCode> {
        if self.connecting {
            if let Some(e) = self.sock().take_error()? {
                self.connecting = false;
                self.reset_after_failed_connect();
                return Err(e.into());
            }
            return match self.sock().peer_addr() {
                Ok(_) => {
                    self.connecting = false;
                    Ok(ConnectState::Connected)
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(ConnectState::InProgress),
                Err(e) => {
                    self.connecting = false;
                    self.reset_after_failed_connect();
                    Err(e.into())
                }
            };
        }
        match self.sock().peer_addr() {
            Ok(_) => Ok(ConnectState::Connected),
            Err(e) => Err(e.into()),
        }
    }

    fn disconnect(&mut self) -> Result<(), ErrorCode> {
        if self.socket_type != SocketType::Datagram {
            return Err(ErrorCode::NotSupported);
        }
        // Linux forgets a port the connect chose (an implicit bind) on
        // disconnect; the contract keeps the socket bound, so bind it again
        // where it was. A port bound explicitly stays (only an address the
        // route chose goes back to the wildcard it was bound to).
        let before = self.local_addr().ok();
        sys::disconnect(self.sock())?;
        let after = self.local_addr().ok();
        if let Some(before) = before
            && after.is_none_or(|a| a.port() == 0)
        {
            self.sock().bind(&before.into())?;
        }
        Ok(())
    }

    fn try_send(&mut self, data: &[u8], flags: SendFlags) -> Result<usize, ErrorCode> {
        if self.shut_write {
            return Err(ErrorCode::ShutDown);
        }
        let flags = send_flags(flags);
        self.op(Interest::WRITABLE, |s| s.send_with_flags(data, flags))
            .map_err(|e| self.send_error(e))
    }

    fn try_recv(&mut self, buf: &mut RecvBuf<'_>, flags: RecvFlags) -> Result<(), ErrorCode> {
        if self.shut_read {
            return Err(ErrorCode::ShutDown);
        }
        // Learning that a receive emptied the queue pays if the next
        // receive may answer from the reactor's cache, or the next wait
        // would otherwise ask the kernel; not for a look ahead, whose next
        // calls are real and never wait.
        let learns = match self.calls {
            Calls::Waiting => true,
            Calls::Real => self.inline_reactor && self.waits_look.load(Ordering::Relaxed),
            Calls::Look => false,
        };
        let drain_aware = learns && self.socket_type == SocketType::Stream && !flags.peek;
        let flags = recv_flags(flags);
        // The buffer's room is asked for in the call, so that an answer
        // from the reactor's cache allocates nothing.
        let got = match &self.io {
            // (An accepted connection served without ever waiting is never
            // registered, and never pays for the option.)
            Io::Registered(fd) if drain_aware && self.inq.enable(fd) => {
                drained_recv(self, buf, flags)
            }
            _ => self
                .op(Interest::READABLE, |s| {
                    s.recv_with_flags(buf.unfilled(), flags)
                })
                .map(|n| Received { n, emptied: false }),
        };
        self.read_fresh = self.inline_reactor
            && match &got {
                Ok(r) => r.emptied,
                Err(e) => drain_aware && *e == ErrorCode::WouldBlock,
            };
        let n = got?.n;
        // SAFETY: the kernel wrote the `n` bytes it reported (socket2's
        // `recv_with_flags` and `recvmsg` return the count received into
        // the buffer), and never more than the buffer's length.
        unsafe { buf.assume_filled(n.min(buf.remaining())) };
        Ok(())
    }

    fn try_recv_into(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, ErrorCode> {
        // SAFETY: `try_recv` above writes into the buffer only through the
        // system's receive calls (initialised bytes, as many as they
        // report).
        unsafe { recv_into_initialised(buf, |room| self.try_recv(room, flags)) }
    }

    fn try_send_to(
        &mut self,
        data: &[u8],
        addr: SocketAddr,
        flags: SendFlags,
    ) -> Result<usize, ErrorCode> {
        self.check_family(&addr)?;
        if self.shut_write {
            return Err(ErrorCode::ShutDown);
        }
        let flags = send_flags(flags);
        let to = SockAddr::from(addr);
        self.op(Interest::WRITABLE, |s| {
            s.send_to_with_flags(data, &to, flags)
        })
    }

    fn try_recv_from(
        &mut self,
        buf: &mut RecvBuf<'_>,
        flags: RecvFlags,
    ) -> Result<RecvMeta, ErrorCode> {
        if self.shut_read {
            return Err(ErrorCode::ShutDown);
        }
        // With MSG_TRUNC, Linux returns the datagram's real length.
        let flags = recv_flags(flags) | libc::MSG_TRUNC;
        let cap = buf.remaining();
        let (n, from) = self.op(Interest::READABLE, |s| {
            s.recv_from_with_flags(buf.unfilled(), flags)
        })?;
        // SAFETY: the kernel wrote the datagram's first `min(n, cap)` bytes
        // (with MSG_TRUNC, `n` is its full length, and only `cap` fit).
        unsafe { buf.assume_filled(n.min(cap)) };
        Ok(RecvMeta {
            from: to_socket_addr(&from)?,
            truncated: n > cap,
        })
    }

    fn shutdown(&mut self, how: Shutdown) -> Result<(), ErrorCode> {
        let std_how = match how {
            Shutdown::Receive => std::net::Shutdown::Read,
            Shutdown::Send => std::net::Shutdown::Write,
            Shutdown::Both => std::net::Shutdown::Both,
        };
        self.sock().shutdown(std_how)?;
        if matches!(how, Shutdown::Receive | Shutdown::Both) {
            self.shut_read = true;
        }
        if matches!(how, Shutdown::Send | Shutdown::Both) {
            self.shut_write = true;
        }
        Ok(())
    }

    fn local_addr(&self) -> Result<SocketAddr, ErrorCode> {
        let addr = to_socket_addr(&self.sock().local_addr()?)?;
        // An unbound socket reports the unspecified address and port 0.
        if addr.port() == 0 && addr.ip().is_unspecified() {
            return Err(ErrorCode::InvalidArgument);
        }
        Ok(addr)
    }

    fn peer_addr(&self) -> Result<SocketAddr, ErrorCode> {
        to_socket_addr(&self.sock().peer_addr()?)
    }

    fn bytes_available(&self) -> Result<usize, ErrorCode> {
        Ok(sys::fionread(self.sock().as_raw_fd())?)
    }

    fn set_option(&mut self, option: SockOption) -> Result<(), ErrorCode> {
        super::options::set(self.sock(), self.family, option)?;
        match option {
            SockOption::MulticastInterface(i) => self.multicast_if = i,
            SockOption::Linger(d) => self.linger = d.map(super::options::whole_seconds),
            _ => {}
        }
        Ok(())
    }

    fn get_option(&self, name: OptionName) -> Result<SockOption, ErrorCode> {
        match name {
            OptionName::MulticastInterface => Ok(SockOption::MulticastInterface(self.multicast_if)),
            OptionName::Linger => Ok(SockOption::Linger(self.linger)),
            _ => super::options::get(self.sock(), self.family, name),
        }
    }

    fn join_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        super::options::multicast(self.sock(), group, interface, true)
    }

    fn leave_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        super::options::multicast(self.sock(), group, interface, false)
    }

    fn take_error(&mut self) -> Result<Option<ErrorCode>, ErrorCode> {
        if self.connecting {
            match self.connect_state() {
                Err(e) => return Ok(Some(e)),
                Ok(ConnectState::InProgress) => return Ok(None),
                Ok(ConnectState::Connected) => {}
            }
        }
        // EPIPE pending without this side's shutdown is the peer's reset,
        // as a send says it.
        Ok(self
            .sock()
            .take_error()?
            .map(|e| self.send_error(transfer_error(e))))
    }

    fn readiness(&self) -> Readiness {
        sys::poll_now(self.sock().as_raw_fd())
    }

    fn set_calls(&mut self, calls: Calls) {
        self.calls = calls;
    }

    fn prepare_wait(&mut self, interest: Readiness) -> Result<(), ErrorCode> {
        if self.register_on_wait {
            self.register(true)?;
            self.register_on_wait = false;
        }
        let Some(fd) = self.registered() else {
            return Ok(());
        };
        // tokio never forgets a "closed" readiness. If it holds one that is
        // no longer true (nothing to read, no hang-up, no error), every wait
        // would return at once: start over with a fresh registration. The
        // look leaves the waiting tasks' waker in tokio's slot, as a wait
        // does.
        let reads = !interest.contains(Readiness::WRITABLE)
            || interest.intersects(Readiness::READABLE | Readiness::HANG_UP);
        let read_closed = reads
            && matches!(self.readers.looking(|cx| fd.poll_read_ready(cx)),
                Poll::Ready(Ok(guard)) if guard.ready().is_read_closed());
        let write_closed = interest.contains(Readiness::WRITABLE)
            && matches!(self.writers.looking(|cx| fd.poll_write_ready(cx)),
                Poll::Ready(Ok(guard)) if guard.ready().is_write_closed());
        let closed = read_closed || write_closed;
        let wanted = Readiness::READABLE | Readiness::HANG_UP | Readiness::ERROR;
        if closed && !self.readiness().intersects(wanted) {
            self.register_fresh(self.write_registered)?;
        }
        if interest.contains(Readiness::WRITABLE) {
            self.register(true)?;
        }
        Ok(())
    }

    fn poll_wait(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<()> {
        let Some(fd) = self.registered() else {
            return Poll::Ready(());
        };
        // Readable interest also wakes for errors and hang-ups: tokio reports
        // them as read readiness.
        if interest.contains(Readiness::WRITABLE) {
            let writers = self.writers.join(cx);
            fd.poll_write_ready(&mut on(writers.as_ref(), cx))
                .map(|_| ())
        } else {
            let readers = self.readers.join(cx);
            fd.poll_read_ready(&mut on(readers.as_ref(), cx))
                .map(|_| ())
        }
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<Readiness> {
        let Some(fd) = self.registered() else {
            // Not yet listening or connecting: nothing will change by waiting.
            return Poll::Ready(self.readiness());
        };
        let wanted = interest.wakes_on();
        // tokio reports hang-ups and errors as read readiness.
        let want_read = wanted.intersects(Readiness::READABLE | Readiness::HANG_UP)
            || !interest.contains(Readiness::WRITABLE);
        let want_write = interest.contains(Readiness::WRITABLE);
        let readers = want_read.then(|| self.readers.join(cx)).flatten();
        let writers = want_write.then(|| self.writers.join(cx)).flatten();
        let mut rounds = 0;
        loop {
            // tokio's readiness can be stale (still "ready" after the raw
            // calls took the data) but never misses an event: one not yet
            // seen is on its way and wakes this task. So ask tokio first,
            // registering for the next event, and look at the truth (a
            // poll(2)) only when tokio says ready: a wait that has to wait
            // costs no system call, a wakeup one.
            let mut read = None;
            let mut write = None;
            if want_read {
                match fd.poll_read_ready(&mut on(readers.as_ref(), cx)) {
                    Poll::Ready(Ok(guard)) => read = Some(guard),
                    Poll::Ready(Err(_)) => return Poll::Ready(Readiness::ERROR),
                    Poll::Pending => {}
                }
            }
            if want_write {
                match fd.poll_write_ready(&mut on(writers.as_ref(), cx)) {
                    Poll::Ready(Ok(guard)) => write = Some(guard),
                    Poll::Ready(Err(_)) => return Poll::Ready(Readiness::ERROR),
                    Poll::Pending => {}
                }
            }
            if read.is_none() && write.is_none() {
                return Poll::Pending;
            }
            if let Some(guard) = &read
                && !want_write
                && rounds == 0
                && self.read_fresh
                && guard.ready() == tokio::io::Ready::READABLE
            {
                // Data came after the last receive emptied the queue, and
                // nothing has taken it since.
                return Poll::Ready(Readiness::READABLE);
            }
            if read.is_some() && !self.waits_look.load(Ordering::Relaxed) {
                self.waits_look.store(true, Ordering::Relaxed);
            }
            let now = self.readiness();
            if now.intersects(wanted) {
                return Poll::Ready(now);
            }
            // Stale: clear what tokio holds (the guard's tick makes that
            // safe against an event arriving meanwhile) and ask again.
            for mut guard in read.into_iter().chain(write) {
                guard.clear_ready();
            }
            rounds += 1;
            if rounds > 2 {
                // Readiness tokio cannot clear (see `prepare_wait`): report
                // the truth and let the caller prepare again.
                return Poll::Ready(now);
            }
        }
    }
}
