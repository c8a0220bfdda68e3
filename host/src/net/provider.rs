//! The provider contract: what every network implementation offers.
//!
//! The contract is non-blocking and readiness based, like the sockets API
//! underneath it: every `try_*` operation either completes now or returns
//! [`ErrorCode::WouldBlock`], and [`NetSocket::poll_ready`] tells when to try
//! again. Blocking, timeouts, policy checks and the socket table belong to
//! the runtime above, so every provider is checked and behaves the same
//! way.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::ErrorCode;
use super::recv_buf::RecvBuf;
use super::types::{
    Calls, ConnectState, Family, OptionName, Readiness, RecvFlags, RecvMeta, SendFlags, Shutdown,
    SockOption, SocketType,
};

/// A boxed future, as returned by the few provider operations that are
/// asynchronous by nature (name lookup).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A source of sockets and name lookups.
pub trait Provider: Send + Sync + 'static {
    /// Open a new, unbound socket.
    fn open(
        &self,
        family: Family,
        socket_type: SocketType,
    ) -> Result<Box<dyn NetSocket>, ErrorCode>;

    /// Resolve a host name (never an IP literal: the runtime answers those)
    /// to its addresses, in the resolver's order.
    fn resolve(&self, name: &str) -> BoxFuture<Result<Vec<IpAddr>, ErrorCode>>;
}

/// One socket of a provider. Operations never block.
pub trait NetSocket: Send + Sync + 'static {
    /// The socket's family.
    fn family(&self) -> Family;

    /// The socket's type.
    fn socket_type(&self) -> SocketType;

    /// Bind to a local address.
    fn bind(&mut self, addr: SocketAddr) -> Result<(), ErrorCode>;

    /// Start listening (stream sockets), binding implicitly if unbound.
    fn listen(&mut self, backlog: u32) -> Result<(), ErrorCode>;

    /// Take a pending connection, if there is one.
    fn try_accept(&mut self) -> Result<(Box<dyn NetSocket>, SocketAddr), ErrorCode>;

    /// Start connecting: a stream socket starts the handshake, a datagram
    /// socket sets its default peer.
    fn start_connect(&mut self, addr: SocketAddr) -> Result<ConnectState, ErrorCode>;

    /// After a stream connect started, how it stands: connected, still in
    /// progress, or the error it failed with.
    fn connect_state(&mut self) -> Result<ConnectState, ErrorCode>;

    /// Dissolve a datagram socket's default peer.
    fn disconnect(&mut self) -> Result<(), ErrorCode>;

    /// Send on a connected socket; returns the bytes taken.
    fn try_send(&mut self, data: &[u8], flags: SendFlags) -> Result<usize, ErrorCode>;

    /// Receive on a connected socket into `buf`. On a stream socket, nothing
    /// received (with `buf` not full) is the end of the stream; a datagram
    /// longer than `buf` is truncated. What arrived is what `buf` counts as
    /// filled: a provider cannot claim bytes it did not write.
    fn try_recv(&mut self, buf: &mut RecvBuf<'_>, flags: RecvFlags) -> Result<(), ErrorCode>;

    /// [`NetSocket::try_recv`] into memory that is already initialised (a
    /// guest's read buffer): how many bytes it received, at the start of
    /// `buf`. The default receives into a vector and copies; a provider
    /// whose system writes straight into `buf` overrides it to save the
    /// copy. A count past `buf`'s length is taken as its length.
    fn try_recv_into(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, ErrorCode> {
        let mut got = Vec::new();
        self.try_recv(&mut RecvBuf::new(&mut got, buf.len()), flags)?;
        let n = got.len().min(buf.len());
        buf[..n].copy_from_slice(&got[..n]);
        Ok(n)
    }

    /// Send one datagram to `addr`.
    fn try_send_to(
        &mut self,
        data: &[u8],
        addr: SocketAddr,
        flags: SendFlags,
    ) -> Result<usize, ErrorCode>;

    /// Receive one datagram into `buf`, and its sender.
    fn try_recv_from(
        &mut self,
        buf: &mut RecvBuf<'_>,
        flags: RecvFlags,
    ) -> Result<RecvMeta, ErrorCode>;

    /// Shut down one or both directions.
    fn shutdown(&mut self, how: Shutdown) -> Result<(), ErrorCode>;

    /// The bound local address.
    fn local_addr(&self) -> Result<SocketAddr, ErrorCode>;

    /// The connected peer's address.
    fn peer_addr(&self) -> Result<SocketAddr, ErrorCode>;

    /// Bytes a receive would return now (stream), or the size of the next
    /// datagram (datagram).
    fn bytes_available(&self) -> Result<usize, ErrorCode>;

    /// Set an option. The runtime has already checked that it applies to
    /// the socket's type and that its value is in range.
    fn set_option(&mut self, option: SockOption) -> Result<(), ErrorCode>;

    /// Read an option back.
    fn get_option(&self, name: OptionName) -> Result<SockOption, ErrorCode>;

    /// Join a multicast group on an interface (0: any).
    fn join_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode>;

    /// Leave a multicast group.
    fn leave_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode>;

    /// Take and clear the pending error.
    fn take_error(&mut self) -> Result<Option<ErrorCode>, ErrorCode>;

    /// The readiness conditions that hold now. Truthful: a condition is
    /// reported only if the matching operation would not block.
    fn readiness(&self) -> Readiness;

    /// Wait until one of [`Readiness::wakes_on`] of `interest` holds (what
    /// was asked for, an error (a datagram socket's report of an earlier
    /// datagram's failure too), and a hang-up for a receive, for no
    /// particular interest or when asked for), returning
    /// [`NetSocket::readiness`] at that moment. Registers `cx`'s waker when
    /// it returns `Pending`.
    ///
    /// Several tasks may wait on one socket at once, in the same direction
    /// or in both, and through either wait: each is woken (a wake-up may be
    /// spurious, never missing). Neither a wait nor
    /// [`NetSocket::prepare_wait`] may take another task's wake-up. (The
    /// runtime keeps the waits on one socket few: a blocking call, a
    /// `poll`, the poll sets, one WASI stream or queue of calls per
    /// direction.)
    fn poll_ready(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<Readiness>;

    /// Wait until an operation of `interest` may succeed: cheaper than
    /// [`NetSocket::poll_ready`], and allowed to wake spuriously, since the
    /// caller retries the operation. Used by blocking calls.
    fn poll_wait(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<()> {
        self.poll_ready(cx, interest).map(|_| ())
    }

    /// Get ready to wait for `interest` with [`NetSocket::poll_wait`] or
    /// [`NetSocket::poll_ready`] (for example, start watching for
    /// writability). Called before every wait.
    fn prepare_wait(&mut self, _interest: Readiness) -> Result<(), ErrorCode> {
        Ok(())
    }

    /// Tell the provider how the runtime follows up a `WouldBlock` from the
    /// calls that come (see [`Calls`]): with [`Calls::Waiting`] or
    /// [`Calls::Look`] the runtime retries every `WouldBlock` after
    /// [`NetSocket::poll_wait`], so a provider may answer `WouldBlock` from
    /// cached readiness without a system call; with [`Calls::Real`] (a
    /// non-blocking guest's socket) every `try_*` must really try, so that
    /// what `poll` reported holds. Sockets start in [`Calls::Waiting`].
    fn set_calls(&mut self, _calls: Calls) {}

    /// Block the calling thread until an operation of `interest` may
    /// succeed, for at most `timeout`: `true` if it may now (a wrong `true`
    /// costs the caller one more try), `false` if the time passed, a signal
    /// interrupted the wait, or the provider cannot wait this way (the
    /// default; the runtime then waits through [`NetSocket::poll_wait`]).
    ///
    /// After `true`, the runtime makes its next try with [`Calls::Real`]:
    /// the reactor has not seen what this wait saw. The runtime asks this
    /// only of a blocking call of a guest that has its
    /// thread to itself (`WasockCtxBuilder::wait_in_place`), so that the
    /// wake-up comes straight from the kernel, as a native program's
    /// blocking call gets it, rather than through the reactor.
    fn wait_in_place(&self, _interest: Readiness, _timeout: Duration) -> bool {
        false
    }
}
