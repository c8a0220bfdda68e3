//! A provider component's socket, as the provider contract's
//! [`NetSocket`]: every operation is a call of the component's export, run
//! on the provider's thread.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use wasmtime::component::ResourceAny;

use super::driver::{Answer, Calls, Instance};
use crate::net::{
    self, ConnectState, ErrorCode, Family, NetSocket, OptionName, Readiness, RecvBuf, RecvFlags,
    RecvMeta, SendFlags, Shutdown, SockOption, SocketType, recv_into_initialised,
};
use crate::runtime::convert::{
    Setting, addr_from_std, addr_to_std, error_to_net, ip_from_std, option_from_net,
    option_name_from_net, recv_flags_from_net, send_flags_from_net, setting, shutdown_from_net,
};

/// Numbers the bridged sockets, for the thread's watches.
static IDS: AtomicU64 = AtomicU64::new(1);

/// What a send took, by the component's count: never more than was given
/// (the runtime slices the rest by it).
fn taken(sent: u64, given: usize) -> usize {
    usize::try_from(sent).map_or(given, |n| n.min(given))
}

/// One socket of a provider component.
pub(super) struct BridgedSocket {
    calls: Calls,
    /// The bridge's number for it.
    id: u64,
    /// The component's socket.
    socket: ResourceAny,
    family: Family,
    socket_type: SocketType,
    /// A connect was started and has not been seen to end.
    connecting: bool,
    /// How its calls may answer `would-block` (see
    /// [`NetSocket::set_calls`]).
    answers: net::Calls,
}

/// Call the socket method `$method` of the component's export on
/// `$socket`, with the arguments after it, on the provider's thread.
macro_rules! socket_call {
    ($instance:ident, $socket:expr, $method:ident $(, $arg:expr)*) => {{
        let called = $instance
            .exports
            .wasock_sockets_socket()
            .socket()
            .$method(&mut $instance.store, $socket $(, $arg)*)
            .await;
        $instance.answer(called)
    }};
}

impl BridgedSocket {
    /// `would-block` without a call to the provider, when the calls may
    /// answer from what is known ([`net::Calls::Waiting`] or
    /// [`net::Calls::Look`]) and a task already waits for `interest`: the
    /// socket was not ready at the thread's last look, and that task is
    /// woken when it is (as the native provider answers from the
    /// reactor's cached readiness).
    fn known_blocked(&self, interest: Readiness) -> Result<(), ErrorCode> {
        if self.answers != net::Calls::Real && self.calls.is_watched(self.id, interest) {
            return Err(ErrorCode::WouldBlock);
        }
        Ok(())
    }

    /// The component's `socket`, made non-blocking: the runtime above
    /// waits, with the thread's watches.
    pub(super) async fn adopt(
        instance: &mut Instance,
        socket: ResourceAny,
    ) -> Result<ResourceAny, ErrorCode> {
        let made = socket_call!(instance, socket, call_set_nonblocking, true);
        if let Err(e) = made {
            let _ = socket.resource_drop_async(&mut instance.store).await;
            return Err(e);
        }
        Ok(socket)
    }

    pub(super) fn new(
        calls: Calls,
        socket: ResourceAny,
        family: Family,
        socket_type: SocketType,
    ) -> BridgedSocket {
        BridgedSocket {
            calls,
            id: IDS.fetch_add(1, Ordering::Relaxed),
            socket,
            family,
            socket_type,
            connecting: false,
            answers: net::Calls::Waiting,
        }
    }

    /// Run `f` with the component's socket on the provider's thread.
    fn on<R: Send + 'static>(
        &self,
        f: impl for<'a> FnOnce(&'a mut Instance, ResourceAny) -> Answer<'a, R> + Send + 'static,
    ) -> Result<R, ErrorCode> {
        let socket = self.socket;
        self.calls.call(move |instance| f(instance, socket))
    }

    /// The outcome of the connect under way, from the component's
    /// `take-error` and `remote-address`.
    fn connect_outcome(&mut self) -> Result<ConnectState, ErrorCode> {
        // Only a connect under way has an outcome in the pending error.
        let connecting = self.connecting;
        let found = self.on(move |i, s| {
            Box::pin(async move {
                if connecting && let Some(e) = socket_call!(i, s, call_take_error)? {
                    return Ok(Err(error_to_net(e)));
                }
                Ok(socket_call!(i, s, call_remote_address))
            })
        })?;
        match found {
            Ok(_) => {
                self.connecting = false;
                Ok(ConnectState::Connected)
            }
            Err(ErrorCode::NotConnected) if self.connecting => Ok(ConnectState::InProgress),
            Err(e) => {
                self.connecting = false;
                Err(e)
            }
        }
    }
}

impl Drop for BridgedSocket {
    fn drop(&mut self) {
        let (id, socket) = (self.id, self.socket);
        self.calls.send(Box::new(move |i: &mut Instance| {
            Box::pin(async move {
                i.forget(id);
                if let Err(trap) = socket.resource_drop_async(&mut i.store).await {
                    let _ = i.settle::<()>(Err(trap));
                }
            }) as super::driver::CallFuture<'_>
        }));
    }
}

impl NetSocket for BridgedSocket {
    fn family(&self) -> Family {
        self.family
    }

    fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    fn bind(&mut self, addr: SocketAddr) -> Result<(), ErrorCode> {
        let addr = addr_from_std(addr);
        self.on(move |i, s| Box::pin(async move { socket_call!(i, s, call_bind, addr) }))
    }

    fn listen(&mut self, backlog: u32) -> Result<(), ErrorCode> {
        self.on(move |i, s| Box::pin(async move { socket_call!(i, s, call_listen, backlog) }))
    }

    fn set_calls(&mut self, calls: net::Calls) {
        self.answers = calls;
    }

    fn try_accept(&mut self) -> Result<(Box<dyn NetSocket>, SocketAddr), ErrorCode> {
        self.known_blocked(Readiness::READABLE)?;
        let (socket, peer) = self.on(|i, s| {
            Box::pin(async move {
                let (accepted, peer) = socket_call!(i, s, call_accept)?;
                Ok((BridgedSocket::adopt(i, accepted).await?, peer))
            })
        })?;
        let accepted =
            BridgedSocket::new(self.calls.clone(), socket, self.family, SocketType::Stream);
        Ok((Box::new(accepted), addr_to_std(peer)))
    }

    fn start_connect(&mut self, addr: SocketAddr) -> Result<ConnectState, ErrorCode> {
        let to = addr_from_std(addr);
        match self.on(move |i, s| Box::pin(async move { socket_call!(i, s, call_connect, to) })) {
            Ok(()) => Ok(ConnectState::Connected),
            Err(ErrorCode::InProgress | ErrorCode::WouldBlock)
                if self.socket_type == SocketType::Stream =>
            {
                self.connecting = true;
                Ok(ConnectState::InProgress)
            }
            Err(e) => Err(e),
        }
    }

    fn connect_state(&mut self) -> Result<ConnectState, ErrorCode> {
        self.connect_outcome()
    }

    fn disconnect(&mut self) -> Result<(), ErrorCode> {
        self.on(|i, s| Box::pin(async move { socket_call!(i, s, call_disconnect) }))
    }

    fn try_send(&mut self, data: &[u8], flags: SendFlags) -> Result<usize, ErrorCode> {
        self.known_blocked(Readiness::WRITABLE)?;
        let len = data.len();
        let (data, flags) = (data.to_vec(), send_flags_from_net(flags));
        let sent = self
            .on(move |i, s| Box::pin(async move { socket_call!(i, s, call_send, &data, flags) }))?;
        Ok(taken(sent, len))
    }

    fn try_recv(&mut self, buf: &mut RecvBuf<'_>, flags: RecvFlags) -> Result<(), ErrorCode> {
        self.known_blocked(Readiness::READABLE)?;
        let (max, flags) = (buf.remaining() as u64, recv_flags_from_net(flags));
        let data = self
            .on(move |i, s| Box::pin(async move { socket_call!(i, s, call_recv, max, flags) }))?;
        buf.put(&data);
        Ok(())
    }

    fn try_recv_into(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, ErrorCode> {
        // SAFETY: `try_recv` above fills the buffer only with `put`.
        unsafe { recv_into_initialised(buf, |room| self.try_recv(room, flags)) }
    }

    fn try_send_to(
        &mut self,
        data: &[u8],
        addr: SocketAddr,
        flags: SendFlags,
    ) -> Result<usize, ErrorCode> {
        self.known_blocked(Readiness::WRITABLE)?;
        let len = data.len();
        let (data, to, flags) = (
            data.to_vec(),
            addr_from_std(addr),
            send_flags_from_net(flags),
        );
        let sent = self.on(move |i, s| {
            Box::pin(async move { socket_call!(i, s, call_send_to, &data, to, flags) })
        })?;
        Ok(taken(sent, len))
    }

    fn try_recv_from(
        &mut self,
        buf: &mut RecvBuf<'_>,
        flags: RecvFlags,
    ) -> Result<RecvMeta, ErrorCode> {
        self.known_blocked(Readiness::READABLE)?;
        let (max, flags) = (buf.remaining() as u64, recv_flags_from_net(flags));
        let datagram = self.on(move |i, s| {
            Box::pin(async move { socket_call!(i, s, call_recv_from, max, flags) })
        })?;
        let put = buf.put(&datagram.data);
        Ok(RecvMeta {
            from: addr_to_std(datagram.remote_address),
            truncated: datagram.truncated || put < datagram.data.len(),
        })
    }

    fn shutdown(&mut self, how: Shutdown) -> Result<(), ErrorCode> {
        let how = shutdown_from_net(how);
        self.on(move |i, s| Box::pin(async move { socket_call!(i, s, call_shutdown, how) }))
    }

    fn local_addr(&self) -> Result<SocketAddr, ErrorCode> {
        let addr =
            self.on(|i, s| Box::pin(async move { socket_call!(i, s, call_local_address) }))?;
        Ok(addr_to_std(addr))
    }

    fn peer_addr(&self) -> Result<SocketAddr, ErrorCode> {
        let addr =
            self.on(|i, s| Box::pin(async move { socket_call!(i, s, call_remote_address) }))?;
        Ok(addr_to_std(addr))
    }

    fn bytes_available(&self) -> Result<usize, ErrorCode> {
        let n =
            self.on(|i, s| Box::pin(async move { socket_call!(i, s, call_bytes_available) }))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn set_option(&mut self, option: SockOption) -> Result<(), ErrorCode> {
        let option = option_from_net(option);
        self.on(move |i, s| Box::pin(async move { socket_call!(i, s, call_set_option, option) }))
    }

    fn get_option(&self, name: OptionName) -> Result<SockOption, ErrorCode> {
        let (wanted, name) = (name, option_name_from_net(name));
        let value = self
            .on(move |i, s| Box::pin(async move { socket_call!(i, s, call_get_option, name) }))?;
        match setting(value) {
            Ok(Setting::Net(option)) if option.name() == wanted => Ok(option),
            // A value out of range or of another option: the provider
            // answered what it was not asked.
            _ => Err(ErrorCode::Unknown),
        }
    }

    fn join_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        let group = ip_from_std(group);
        self.on(move |i, s| {
            Box::pin(async move { socket_call!(i, s, call_join_multicast_group, group, interface) })
        })
    }

    fn leave_multicast(&mut self, group: IpAddr, interface: u32) -> Result<(), ErrorCode> {
        let group = ip_from_std(group);
        self.on(move |i, s| {
            Box::pin(
                async move { socket_call!(i, s, call_leave_multicast_group, group, interface) },
            )
        })
    }

    fn take_error(&mut self) -> Result<Option<ErrorCode>, ErrorCode> {
        let taken = self.on(|i, s| Box::pin(async move { socket_call!(i, s, call_take_error) }))?;
        Ok(taken.map(error_to_net))
    }

    fn readiness(&self) -> Readiness {
        self.on(|i, s| Box::pin(async move { i.look(s).await }))
            .unwrap_or(Readiness::ERROR)
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Readiness) -> Poll<Readiness> {
        if self.calls.wait_on(self.id, interest, cx.waker()) {
            return Poll::Pending;
        }
        let (id, waker) = (self.id, cx.waker().clone());
        let looked = self.on(move |i, s| {
            Box::pin(async move {
                let now = i.look(s).await?;
                if now.intersects(interest.wakes_on()) {
                    return Ok(Some(now));
                }
                i.watch(id, s, interest, waker);
                Ok(None)
            })
        });
        match looked {
            Ok(Some(now)) => Poll::Ready(now),
            Ok(None) => Poll::Pending,
            // The provider cannot say (or is gone): the waiting call tries,
            // and meets the error.
            Err(_) => Poll::Ready(Readiness::ERROR),
        }
    }
}
