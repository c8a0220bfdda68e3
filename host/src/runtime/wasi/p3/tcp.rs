//! `wasi:sockets/types@0.3` `tcp-socket`: WASI 0.3's TCP state machine
//! (an async `connect`, `listen` returning a stream of sockets, `send` and
//! `receive` as byte streams) over the socket layer's stream operations,
//! which keep the policy, limits and counts.

use std::iter;

use wasmtime::component::{Access, Accessor, FutureReader, Resource, StreamReader};

use super::error::{P3Error, P3Result, to_wasi};
use super::tcp_streams::{Listener, Outcome, Receiver, Sender};
use super::{WasiSockets, addrs, pending_call};
use crate::net::{ErrorCode, Family, OptionName, Readiness, SockOption, SocketType};
use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::{
    Duration, ErrorCode as Code, HostTcpSocket, HostTcpSocketWithStore, IpAddressFamily,
    IpSocketAddress,
};
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::socket::{State, stream};
use crate::runtime::wasi::addr;
use crate::runtime::wasi::error::{connect_failure, create_failure};
use crate::runtime::wasi::options;
use crate::runtime::wasi::shared::{Inner, Shared};

/// The listen queue length a socket asks for unless the guest sets one.
const DEFAULT_BACKLOG: u32 = 128;

/// Where a WASI 0.3 TCP socket is beyond the socket layer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// A `connect` is under way.
    Connecting,
    /// A connect failed: only dropping the socket is left.
    Closed,
}

/// The `tcp-socket` resource.
pub struct TcpSocket {
    shared: Shared,
    family: Family,
    phase: Phase,
    backlog: u32,
    /// `send` was called: it may be called once.
    sending: bool,
    /// `receive` was called: it may be called once.
    receiving: bool,
}

impl TcpSocket {
    fn new(shared: Shared, family: Family) -> TcpSocket {
        TcpSocket {
            shared,
            family,
            phase: Phase::Idle,
            backlog: DEFAULT_BACKLOG,
            sending: false,
            receiving: false,
        }
    }

    /// A socket accepted by a listener: connected.
    pub(crate) fn connected(shared: Shared, family: Family) -> TcpSocket {
        TcpSocket::new(shared, family)
    }

    /// The socket layer's state, once no connect is under way and none
    /// failed (`invalid-state` otherwise).
    fn settled_state(&self) -> P3Result<State> {
        if self.phase != Phase::Idle {
            return Err(Code::InvalidState.into());
        }
        Ok(self.shared.lock()?.sock.state)
    }
}

impl WasockCtxView<'_> {
    fn tcp3(&mut self, this: &Resource<TcpSocket>) -> P3Result<&mut TcpSocket> {
        Ok(self.table.get_mut(this)?)
    }
}

impl HostTcpSocket for WasockCtxView<'_> {
    fn create(&mut self, address_family: IpAddressFamily) -> P3Result<Resource<TcpSocket>> {
        let family = addrs::family_to_net(address_family);
        let shared = Shared::open(self.ctx, family, SocketType::Stream).map_err(create_failure)?;
        Ok(self.table.push(TcpSocket::new(shared, family))?)
    }

    fn bind(&mut self, this: Resource<TcpSocket>, local_address: IpSocketAddress) -> P3Result<()> {
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        let addr = addr::local(socket.family, addrs::addr_to_std(local_address))?;
        if socket.phase != Phase::Idle {
            return Err(Code::InvalidState.into());
        }
        let mut inner = socket.shared.lock()?;
        if inner.sock.state != State::Unbound {
            return Err(Code::InvalidState.into());
        }
        // As the WIT asks: a port of a recently closed socket (in
        // TIME_WAIT) can be bound again at once.
        if addr.port() != 0 {
            let _ = inner.sock.net.set_option(SockOption::ReuseAddress(true));
        }
        Ok(inner.sock.bind(ctx, addr)?)
    }

    fn get_local_address(&mut self, this: Resource<TcpSocket>) -> P3Result<IpSocketAddress> {
        let socket = self.tcp3(&this)?;
        // A socket whose connect failed is closed: it has no address.
        if socket.phase == Phase::Closed {
            return Err(Code::InvalidState.into());
        }
        let inner = socket.shared.lock()?;
        if inner.sock.state == State::Unbound {
            return Err(Code::InvalidState.into());
        }
        Ok(addrs::addr_from_std(inner.sock.net.local_addr()?))
    }

    fn get_remote_address(&mut self, this: Resource<TcpSocket>) -> P3Result<IpSocketAddress> {
        let socket = self.tcp3(&this)?;
        if socket.settled_state()? != State::Connected {
            return Err(Code::InvalidState.into());
        }
        let inner = socket.shared.lock()?;
        Ok(addrs::addr_from_std(inner.sock.net.peer_addr()?))
    }

    fn get_is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        let socket = self.table.get(&this)?;
        Ok(matches!(socket.settled_state(), Ok(State::Listening)))
    }

    fn get_address_family(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> wasmtime::Result<IpAddressFamily> {
        Ok(addrs::family_from_net(self.table.get(&this)?.family))
    }

    fn set_listen_backlog_size(&mut self, this: Resource<TcpSocket>, value: u64) -> P3Result<()> {
        if value == 0 {
            return Err(Code::InvalidArgument.into());
        }
        let socket = self.tcp3(&this)?;
        let backlog = u32::try_from(value)
            .unwrap_or(u32::MAX)
            .min(i32::MAX as u32);
        if socket.phase != Phase::Idle {
            return Err(Code::InvalidState.into());
        }
        let mut inner = socket.shared.lock()?;
        match inner.sock.state {
            State::Connecting | State::Connected => return Err(Code::InvalidState.into()),
            // Linux takes a new backlog from a second `listen`.
            State::Listening => inner
                .sock
                .net
                .listen(backlog)
                .map_err(|_| P3Error::from(Code::NotSupported))?,
            _ => {}
        }
        drop(inner);
        socket.backlog = backlog;
        Ok(())
    }

    fn get_keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> P3Result<bool> {
        options::keep_alive(&self.tcp3(&this)?.shared)
    }

    fn set_keep_alive_enabled(&mut self, this: Resource<TcpSocket>, value: bool) -> P3Result<()> {
        options::set_keep_alive(&self.tcp3(&this)?.shared, value)
    }

    fn get_keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> P3Result<Duration> {
        options::keep_alive_idle(&self.tcp3(&this)?.shared)
    }

    fn set_keep_alive_idle_time(
        &mut self,
        this: Resource<TcpSocket>,
        value: Duration,
    ) -> P3Result<()> {
        options::set_keep_alive_idle(&self.tcp3(&this)?.shared, value)
    }

    fn get_keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> P3Result<Duration> {
        options::keep_alive_interval(&self.tcp3(&this)?.shared)
    }

    fn set_keep_alive_interval(
        &mut self,
        this: Resource<TcpSocket>,
        value: Duration,
    ) -> P3Result<()> {
        options::set_keep_alive_interval(&self.tcp3(&this)?.shared, value)
    }

    fn get_keep_alive_count(&mut self, this: Resource<TcpSocket>) -> P3Result<u32> {
        options::keep_alive_count(&self.tcp3(&this)?.shared)
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> P3Result<()> {
        options::set_keep_alive_count(&self.tcp3(&this)?.shared, value)
    }

    fn get_hop_limit(&mut self, this: Resource<TcpSocket>) -> P3Result<u8> {
        options::hop_limit(&self.tcp3(&this)?.shared)
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> P3Result<()> {
        options::set_hop_limit(&self.tcp3(&this)?.shared, value)
    }

    fn get_receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> P3Result<u64> {
        options::buffer_size(&self.tcp3(&this)?.shared, OptionName::ReceiveBufferSize)
    }

    fn set_receive_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> P3Result<()> {
        options::set_buffer_size(
            &self.tcp3(&this)?.shared,
            OptionName::ReceiveBufferSize,
            value,
        )
    }

    fn get_send_buffer_size(&mut self, this: Resource<TcpSocket>) -> P3Result<u64> {
        options::buffer_size(&self.tcp3(&this)?.shared, OptionName::SendBufferSize)
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> P3Result<()> {
        options::set_buffer_size(&self.tcp3(&this)?.shared, OptionName::SendBufferSize, value)
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        // Streams handed out keep the socket open until they end; its
        // shares of the instance's budgets go back with the last of them.
        self.table.delete(this)?;
        Ok(())
    }
}

/// A future that has already resolved to `result`, for a stream call that
/// failed before it started.
fn resolved<T: 'static>(
    store: &mut Access<'_, T, WasiSockets>,
    result: Result<(), ErrorCode>,
) -> wasmtime::Result<FutureReader<Result<(), Code>>> {
    FutureReader::new(store, async move {
        wasmtime::error::Ok(result.map_err(to_wasi))
    })
}

/// A future resolved by a stream's end (see `tcp_streams::Outcome`).
fn outcome<T: 'static>(
    store: &mut Access<'_, T, WasiSockets>,
    rx: tokio::sync::oneshot::Receiver<Result<(), ErrorCode>>,
) -> wasmtime::Result<FutureReader<Result<(), Code>>> {
    FutureReader::new(store, async move {
        // A stream dropped without saying how it ended ended cleanly.
        wasmtime::error::Ok(rx.await.unwrap_or(Ok(())).map_err(to_wasi))
    })
}

impl<T: Send + 'static> HostTcpSocketWithStore<T> for WasiSockets {
    async fn connect(
        store: &Accessor<T, Self>,
        this: Resource<TcpSocket>,
        remote_address: IpSocketAddress,
    ) -> P3Result<()> {
        // Start the connection, with the store.
        let started = store.with(|mut access| -> P3Result<Option<_>> {
            let view = access.get();
            let ctx = &*view.ctx;
            let socket = view.table.get_mut(&this)?;
            let addr = addr::remote(socket.family, addrs::addr_to_std(remote_address))?;
            if socket.phase != Phase::Idle {
                return Err(Code::InvalidState.into());
            }
            let mut inner = socket.shared.lock()?;
            if matches!(
                inner.sock.state,
                State::Listening | State::Connected | State::Connecting
            ) {
                return Err(Code::InvalidState.into());
            }
            // Taken before the attempt, so that a refusal leaves nothing
            // under way.
            let waiting = pending_call(ctx)?;
            match stream::start_connect(ctx, &mut inner.sock, addr) {
                Ok(crate::net::ConnectState::Connected) => Ok(None),
                Ok(crate::net::ConnectState::InProgress) => {
                    drop(inner);
                    socket.phase = Phase::Connecting;
                    Ok(Some((socket.shared.clone(), waiting)))
                }
                // Refused by the policy: no attempt was made.
                Err(ErrorCode::AccessDenied) => Err(ErrorCode::AccessDenied.into()),
                Err(e) => {
                    drop(inner);
                    socket.phase = Phase::Closed;
                    Err(connect_failure(e).into())
                }
            }
        })?;
        let Some((shared, _waiting)) = started else {
            return Ok(());
        };
        // Wait for the handshake without the store: the guest's other
        // tasks run meanwhile. A socket that cannot wait says why.
        let waited = shared
            .wait_until(Readiness::WRITABLE, |inner: &mut Inner, _| {
                stream::refresh_connect(&mut inner.sock);
                inner.sock.state != State::Connecting
            })
            .await;
        store.with(|mut access| -> P3Result<()> {
            let view = access.get();
            let socket = view.table.get_mut(&this)?;
            let failed = {
                let mut inner = socket.shared.lock()?;
                match (inner.sock.state, waited) {
                    (State::Connected, _) => None,
                    (_, Err(e)) => Some(e),
                    _ => Some(
                        inner
                            .sock
                            .pending_error
                            .take()
                            .unwrap_or(ErrorCode::ConnectionRefused),
                    ),
                }
            };
            match failed {
                None => {
                    socket.phase = Phase::Idle;
                    Ok(())
                }
                Some(e) => {
                    socket.phase = Phase::Closed;
                    Err(e.into())
                }
            }
        })
    }

    fn listen(
        mut store: Access<'_, T, Self>,
        this: Resource<TcpSocket>,
    ) -> P3Result<StreamReader<Resource<TcpSocket>>> {
        let getter = store.getter();
        let view = store.get();
        let ctx = &*view.ctx;
        let socket = view.table.get_mut(&this)?;
        if socket.phase != Phase::Idle {
            return Err(Code::InvalidState.into());
        }
        {
            let mut inner = socket.shared.lock()?;
            match inner.sock.state {
                State::Listening | State::Connecting | State::Connected => {
                    return Err(Code::InvalidState.into());
                }
                State::Unbound | State::Bound | State::ImplicitlyBound => {}
            }
            // As the WIT asks of `bind`: the port is free again at once
            // after the listener and its connections close. A port-0 bind
            // did not set it; connections inherit it from the listener.
            let _ = inner.sock.net.set_option(SockOption::ReuseAddress(true));
            // An unbound socket is bound implicitly (a `tcp-bind` check of
            // the unspecified address, port 0).
            stream::listen(ctx, &mut inner.sock, socket.backlog)?;
        }
        let shared = socket.shared.clone();
        Ok(StreamReader::new(
            &mut store,
            Listener::new(shared, getter),
        )?)
    }

    fn send(
        mut store: Access<'_, T, Self>,
        this: Resource<TcpSocket>,
        mut data: StreamReader<u8>,
    ) -> wasmtime::Result<FutureReader<Result<(), Code>>> {
        let view = store.get();
        let socket = view.table.get_mut(&this)?;
        let state = socket.settled_state();
        if socket.sending || !matches!(state, Ok(State::Connected)) {
            data.close(&mut store)?;
            return resolved(&mut store, Err(ErrorCode::NotConnected));
        }
        socket.sending = true;
        let shared = socket.shared.clone();
        let (tx, rx) = Outcome::new();
        data.pipe(&mut store, Sender::new(shared, tx))?;
        outcome(&mut store, rx)
    }

    fn receive(
        mut store: Access<'_, T, Self>,
        this: Resource<TcpSocket>,
    ) -> wasmtime::Result<(StreamReader<u8>, FutureReader<Result<(), Code>>)> {
        let view = store.get();
        let max_recv = view.ctx.limits.max_recv;
        let socket = view.table.get_mut(&this)?;
        let state = socket.settled_state();
        if socket.receiving || !matches!(state, Ok(State::Connected)) {
            let empty = StreamReader::new(&mut store, iter::empty())?;
            return Ok((empty, resolved(&mut store, Err(ErrorCode::NotConnected))?));
        }
        socket.receiving = true;
        let shared = socket.shared.clone();
        let (tx, rx) = Outcome::new();
        let reader = StreamReader::new(&mut store, Receiver::new(shared, tx, max_recv))?;
        Ok((reader, outcome(&mut store, rx)?))
    }
}

impl crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::Host for WasockCtxView<'_> {
    fn convert_error_code(&mut self, err: P3Error) -> wasmtime::Result<Code> {
        err.into_result()
    }
}
