//! A provider stacked on the tests' hermetic native one ([`Hermetic`])
//! that counts the receives the runtime makes, and how many found
//! nothing: what a test asserts about the calls behind a guest's reads, as
//! `strace -c` would show them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use wasock_host::net::native::NativeProvider;
use wasock_host::net::{
    BoxFuture, Calls, ConnectState, ErrorCode, Family, NetSocket, OptionName, Provider, Readiness,
    RecvBuf, RecvFlags, RecvMeta, SendFlags, Shutdown, SockOption, SocketType,
};

use crate::common::Hermetic;

/// Receives on every socket of one [`Counting`] provider (accepted ones
/// included).
#[derive(Default)]
pub struct Counts {
    receives: AtomicUsize,
    would_block: AtomicUsize,
}

impl Counts {
    /// Receives made, and how many of them answered `would-block`.
    pub fn receives(&self) -> (usize, usize) {
        (
            self.receives.load(Ordering::Relaxed),
            self.would_block.load(Ordering::Relaxed),
        )
    }

    fn count<T>(&self, r: &Result<T, ErrorCode>) {
        self.receives.fetch_add(1, Ordering::Relaxed);
        if matches!(r, Err(ErrorCode::WouldBlock)) {
            self.would_block.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// [`Hermetic`], counting receives into `counts`.
pub struct Counting {
    pub counts: Arc<Counts>,
}

/// What [`Counting`] stacks on.
const BELOW: Hermetic = Hermetic(NativeProvider);

impl Provider for Counting {
    fn open(&self, family: Family, ty: SocketType) -> Result<Box<dyn NetSocket>, ErrorCode> {
        Ok(Box::new(Counted {
            inner: BELOW.open(family, ty)?,
            counts: self.counts.clone(),
        }))
    }

    fn resolve(&self, name: &str) -> BoxFuture<Result<Vec<IpAddr>, ErrorCode>> {
        BELOW.resolve(name)
    }
}

struct Counted {
    inner: Box<dyn NetSocket>,
    counts: Arc<Counts>,
}

impl NetSocket for Counted {
    fn family(&self) -> Family {
        self.inner.family()
    }
    fn socket_type(&self) -> SocketType {
        self.inner.socket_type()
    }
    fn bind(&mut self, addr: SocketAddr) -> Result<(), ErrorCode> {
        self.inner.bind(addr)
    }
    fn listen(&mut self, backlog: u32) -> Result<(), ErrorCode> {
        self.inner.listen(backlog)
    }
    fn try_accept(&mut self) -> Result<(Box<dyn NetSocket>, SocketAddr), ErrorCode> {
        let (inner, peer) = self.inner.try_accept()?;
        let counts = self.counts.clone();
        Ok((Box::new(Counted { inner, counts }), peer))
    }
    fn start_connect(&mut self, addr: SocketAddr) -> Result<ConnectState, ErrorCode> {
        self.inner.start_connect(addr)
    }
    fn connect_state(&mut self) -> Result<ConnectState, ErrorCode> {
        self.inner.connect_state()
    }
    fn disconnect(&mut self) -> Result<(), ErrorCode> {
        self.inner.disconnect()
    }
    fn try_send(&mut self, data: &[u8], flags: SendFlags) -> Result<usize, ErrorCode> {
        self.inner.try_send(data, flags)
    }
    fn try_recv(&mut self, buf: &mut RecvBuf<'_>, flags: RecvFlags) -> Result<(), ErrorCode> {
        let r = self.inner.try_recv(buf, flags);
        self.counts.count(&r);
        r
    }
    fn try_send_to(
        &mut self,
        data: &[u8],
        addr: SocketAddr,
        flags: SendFlags,
    ) -> Result<usize, ErrorCode> {
        self.inner.try_send_to(data, addr, flags)
    }
    fn try_recv_from(
        &mut self,
        buf: &mut RecvBuf<'_>,
        flags: RecvFlags,
    ) -> Result<RecvMeta, ErrorCode> {
        let r = self.inner.try_recv_from(buf, flags);
        self.counts.count(&r);
        r
    }
    fn shutdown(&mut self, how: Shutdown) -> Result<(), ErrorCode> {
        self.inner.shutdown(how)
    }
    fn local_addr(&self) -> Result<SocketAddr, ErrorCode> {
        self.inner.local_addr()
    }
    fn peer_addr(&self) -> Result<SocketAddr, ErrorCode> {
        self.inner.peer_addr()
    }
    fn bytes_available(&self) -> Result<usize, ErrorCode> {
        self.inner.bytes_available()
    }
    fn set_option(&mut self, option: SockOption) -> Result<(), ErrorCode> {
        self.inner.set_option(option)
    }
    fn get_option(&self, name: OptionName) -> Result<SockOption, ErrorCode> {
        self.inner.get_option(name)
    }
    fn join_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        self.inner.join_multicast(group, interface)
    }
    fn leave_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        self.inner.leave_multicast(group, interface)
    }
    fn take_error(&mut self) -> Result<Option<ErrorCode>, ErrorCode> {
        self.inner.take_error()
    }
    fn readiness(&self) -> Readiness {
        self.inner.readiness()
    }
    fn poll_ready(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<Readiness> {
        self.inner.poll_ready(cx, interest)
    }
    fn poll_wait(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<()> {
        self.inner.poll_wait(cx, interest)
    }
    fn prepare_wait(&mut self, interest: Readiness) -> Result<(), ErrorCode> {
        self.inner.prepare_wait(interest)
    }
    fn set_calls(&mut self, calls: Calls) {
        self.inner.set_calls(calls)
    }
}
