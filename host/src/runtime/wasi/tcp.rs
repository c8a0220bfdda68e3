//! `wasi:sockets/tcp` and `tcp-create-socket`: the TCP socket's WASI state
//! machine (start/finish pairs, the `closed` state) over the socket
//! layer's stream operations, which keep the policy, limits and counts.

use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, Pollable, subscribe};

use super::addr;
use super::error::{WasiError, WasiResult, connect_failure, create_failure};
use super::network::{self as addrs, Network, check_network};
use super::shared::{Inner, Shared, receive_waiting};
use super::tcp_streams::{TcpReader, TcpWriter};
use crate::net::{ErrorCode, Family, OptionName, Readiness, Shutdown, SockOption, SocketType};
use crate::runtime::GuestSocket;
use crate::runtime::bindings::wasi_sockets::wasi::sockets::network::{
    ErrorCode as Code, IpAddressFamily, IpSocketAddress,
};
use crate::runtime::bindings::wasi_sockets::wasi::sockets::{tcp, tcp_create_socket};
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::socket::{State, stream};

use super::options;

/// The listen queue length a socket asks for unless the guest sets one
/// (`set-listen-backlog-size`), as wasi-libc and the Linux default do.
const DEFAULT_BACKLOG: u32 = 128;

/// Where a WASI TCP socket is beyond the socket layer's state: the
/// operations started and not yet finished, and `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    BindStarted,
    ListenStarted,
    ConnectStarted,
    /// A connect failed: only dropping the socket is left.
    Closed,
}

/// The `tcp-socket` resource.
pub struct TcpSocket {
    shared: Shared,
    family: Family,
    phase: Phase,
    backlog: u32,
}

type Streams = (Resource<DynInputStream>, Resource<DynOutputStream>);

impl TcpSocket {
    fn new(shared: Shared, family: Family) -> TcpSocket {
        TcpSocket {
            shared,
            family,
            phase: Phase::Idle,
            backlog: DEFAULT_BACKLOG,
        }
    }

    /// Fail unless no operation is under way: a socket that failed to
    /// connect is `closed` (`invalid-state`), one with an operation started
    /// is busy (`concurrency-conflict`).
    fn idle(&self) -> WasiResult<()> {
        match self.phase {
            Phase::Idle => Ok(()),
            Phase::Closed => Err(Code::InvalidState.into()),
            _ => Err(Code::ConcurrencyConflict.into()),
        }
    }

    /// Finish the operation `started`, or fail with `not-in-progress`
    /// (in the `closed` state too: nothing is in progress there).
    fn finish(&mut self, started: Phase) -> WasiResult<()> {
        if self.phase != started {
            return Err(Code::NotInProgress.into());
        }
        self.phase = Phase::Idle;
        Ok(())
    }

    /// The socket layer's state, once no WASI operation is under way.
    fn settled_state(&self) -> WasiResult<State> {
        if self.phase != Phase::Idle {
            return Err(Code::InvalidState.into());
        }
        Ok(self.shared.lock()?.sock.state)
    }
}

impl tcp_create_socket::Host for WasockCtxView<'_> {
    fn create_tcp_socket(
        &mut self,
        address_family: IpAddressFamily,
    ) -> WasiResult<Resource<TcpSocket>> {
        let family = addrs::family_to_net(address_family);
        let shared = Shared::open(self.ctx, family, SocketType::Stream).map_err(create_failure)?;
        Ok(self.table.push(TcpSocket::new(shared, family))?)
    }
}

impl tcp::Host for WasockCtxView<'_> {}

impl WasockCtxView<'_> {
    /// A connection's input and output streams, owned by `socket`.
    fn connection_streams(
        &mut self,
        socket: &Resource<TcpSocket>,
        shared: &Shared,
    ) -> WasiResult<Streams> {
        let max_read = self.ctx.limits.max_recv;
        let reader: DynInputStream = Box::new(TcpReader::new(shared.clone(), max_read));
        let writer: DynOutputStream = Box::new(TcpWriter::new(shared.clone()));
        let input = self.table.push_child(reader, socket)?;
        let output = self.table.push_child(writer, socket)?;
        Ok((input, output))
    }

    fn tcp(&mut self, this: &Resource<TcpSocket>) -> WasiResult<&mut TcpSocket> {
        Ok(self.table.get_mut(this)?)
    }
}

impl tcp::HostTcpSocket for WasockCtxView<'_> {
    fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> WasiResult<()> {
        check_network(self, &network)?;
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        socket.idle()?;
        let addr = addr::local(socket.family, addrs::addr_to_std(local_address))?;
        {
            let mut inner = socket.shared.lock()?;
            if inner.sock.state != State::Unbound {
                return Err(Code::InvalidState.into());
            }
            // As the WIT asks: a port of a recently closed socket (in
            // TIME_WAIT) can be bound again at once.
            if addr.port() != 0 {
                let _ = inner.sock.net.set_option(SockOption::ReuseAddress(true));
            }
            inner.sock.bind(ctx, addr)?;
        }
        socket.phase = Phase::BindStarted;
        Ok(())
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> WasiResult<()> {
        self.tcp(&this)?.finish(Phase::BindStarted)
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> WasiResult<()> {
        check_network(self, &network)?;
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        socket.idle()?;
        let addr = addr::remote(socket.family, addrs::addr_to_std(remote_address))?;
        let mut inner = socket.shared.lock()?;
        if matches!(inner.sock.state, State::Listening | State::Connected) {
            return Err(Code::InvalidState.into());
        }
        match stream::start_connect(ctx, &mut inner.sock, addr) {
            Ok(_) => {
                drop(inner);
                socket.phase = Phase::ConnectStarted;
                Ok(())
            }
            // Refused by the policy: no attempt was made.
            Err(ErrorCode::AccessDenied) => Err(ErrorCode::AccessDenied.into()),
            Err(e) => {
                drop(inner);
                socket.phase = Phase::Closed;
                Err(connect_failure(e).into())
            }
        }
    }

    fn finish_connect(&mut self, this: Resource<TcpSocket>) -> WasiResult<Streams> {
        let socket = self.table.get_mut(&this)?;
        if socket.phase != Phase::ConnectStarted {
            return Err(Code::NotInProgress.into());
        }
        let shared = socket.shared.clone();
        let failed = {
            let mut inner = shared.lock()?;
            stream::refresh_connect(&mut inner.sock);
            match inner.sock.state {
                State::Connecting => return Err(Code::WouldBlock.into()),
                State::Connected => None,
                _ => Some(
                    inner
                        .sock
                        .pending_error
                        .take()
                        .unwrap_or(ErrorCode::ConnectionRefused),
                ),
            }
        };
        if let Some(e) = failed {
            socket.phase = Phase::Closed;
            return Err(e.into());
        }
        socket.phase = Phase::Idle;
        self.connection_streams(&this, &shared)
    }

    fn start_listen(&mut self, this: Resource<TcpSocket>) -> WasiResult<()> {
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        socket.idle()?;
        {
            let mut inner = socket.shared.lock()?;
            // Unlike POSIX, WASI listens only on an explicitly bound socket.
            if inner.sock.state != State::Bound {
                return Err(Code::InvalidState.into());
            }
            // As the WIT asks of `bind`: the port is free again at once
            // after the listener and its connections close. A port-0 bind
            // did not set it; connections inherit it from the listener.
            let _ = inner.sock.net.set_option(SockOption::ReuseAddress(true));
            stream::listen(ctx, &mut inner.sock, socket.backlog)?;
        }
        socket.phase = Phase::ListenStarted;
        Ok(())
    }

    fn finish_listen(&mut self, this: Resource<TcpSocket>) -> WasiResult<()> {
        self.tcp(&this)?.finish(Phase::ListenStarted)
    }

    fn accept(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> WasiResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        if socket.settled_state()? != State::Listening {
            return Err(Code::InvalidState.into());
        }
        let family = socket.family;
        let slot = ctx.socket_slot()?;
        let (net, _peer) = {
            let mut inner = socket.shared.lock()?;
            loop {
                // `None`: a refused peer was closed unseen; try the next.
                if let Some(conn) = stream::try_accept(&ctx.gate, &mut inner.sock)? {
                    break conn;
                }
            }
        };
        let sock = GuestSocket::new(ctx, slot, net, State::Connected);
        let shared = Shared::new(sock, ctx.gate.clone());
        let conn = self.table.push(TcpSocket::new(shared.clone(), family))?;
        let (input, output) = self.connection_streams(&conn, &shared)?;
        Ok((conn, input, output))
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> WasiResult<IpSocketAddress> {
        let socket = self.tcp(&this)?;
        if matches!(socket.phase, Phase::BindStarted | Phase::Closed) {
            return Err(Code::InvalidState.into());
        }
        let inner = socket.shared.lock()?;
        if inner.sock.state == State::Unbound {
            return Err(Code::InvalidState.into());
        }
        Ok(addrs::addr_from_std(inner.sock.net.local_addr()?))
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> WasiResult<IpSocketAddress> {
        let socket = self.tcp(&this)?;
        if socket.settled_state()? != State::Connected {
            return Err(Code::InvalidState.into());
        }
        let inner = socket.shared.lock()?;
        Ok(addrs::addr_from_std(inner.sock.net.peer_addr()?))
    }

    fn is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        let socket = self.table.get(&this)?;
        Ok(matches!(socket.settled_state(), Ok(State::Listening)))
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(addrs::family_from_net(self.table.get(&this)?.family))
    }

    fn set_listen_backlog_size(&mut self, this: Resource<TcpSocket>, value: u64) -> WasiResult<()> {
        if value == 0 {
            return Err(Code::InvalidArgument.into());
        }
        let socket = self.tcp(&this)?;
        let backlog = u32::try_from(value)
            .unwrap_or(u32::MAX)
            .min(i32::MAX as u32);
        let mut inner = socket.shared.lock()?;
        match inner.sock.state {
            State::Connecting | State::Connected => return Err(Code::InvalidState.into()),
            // Linux takes a new backlog from a second `listen`.
            State::Listening => inner
                .sock
                .net
                .listen(backlog)
                .map_err(|_| WasiError::from(Code::NotSupported))?,
            _ => {}
        }
        drop(inner);
        socket.backlog = backlog;
        Ok(())
    }

    fn keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> WasiResult<bool> {
        options::keep_alive(&self.tcp(&this)?.shared)
    }

    fn set_keep_alive_enabled(&mut self, this: Resource<TcpSocket>, value: bool) -> WasiResult<()> {
        options::set_keep_alive(&self.tcp(&this)?.shared, value)
    }

    fn keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> WasiResult<u64> {
        options::keep_alive_idle(&self.tcp(&this)?.shared)
    }

    fn set_keep_alive_idle_time(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> WasiResult<()> {
        options::set_keep_alive_idle(&self.tcp(&this)?.shared, value)
    }

    fn keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> WasiResult<u64> {
        options::keep_alive_interval(&self.tcp(&this)?.shared)
    }

    fn set_keep_alive_interval(&mut self, this: Resource<TcpSocket>, value: u64) -> WasiResult<()> {
        options::set_keep_alive_interval(&self.tcp(&this)?.shared, value)
    }

    fn keep_alive_count(&mut self, this: Resource<TcpSocket>) -> WasiResult<u32> {
        options::keep_alive_count(&self.tcp(&this)?.shared)
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> WasiResult<()> {
        options::set_keep_alive_count(&self.tcp(&this)?.shared, value)
    }

    fn hop_limit(&mut self, this: Resource<TcpSocket>) -> WasiResult<u8> {
        options::hop_limit(&self.tcp(&this)?.shared)
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> WasiResult<()> {
        options::set_hop_limit(&self.tcp(&this)?.shared, value)
    }

    fn receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> WasiResult<u64> {
        options::buffer_size(&self.tcp(&this)?.shared, OptionName::ReceiveBufferSize)
    }

    fn set_receive_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> WasiResult<()> {
        options::set_buffer_size(
            &self.tcp(&this)?.shared,
            OptionName::ReceiveBufferSize,
            value,
        )
    }

    fn send_buffer_size(&mut self, this: Resource<TcpSocket>) -> WasiResult<u64> {
        options::buffer_size(&self.tcp(&this)?.shared, OptionName::SendBufferSize)
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> WasiResult<()> {
        options::set_buffer_size(&self.tcp(&this)?.shared, OptionName::SendBufferSize, value)
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        subscribe(self.table, this)
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: tcp::ShutdownType) -> WasiResult<()> {
        let socket = self.tcp(&this)?;
        if socket.settled_state()? != State::Connected {
            return Err(Code::InvalidState.into());
        }
        let mut inner = socket.shared.lock()?;
        let (read, write) = match how {
            tcp::ShutdownType::Receive => (true, false),
            tcp::ShutdownType::Send => (false, true),
            tcp::ShutdownType::Both => (true, true),
        };
        // Idempotent: a direction already shut stays shut.
        let read = read && !inner.read_closed;
        let write = write && !inner.write_closed;
        if !read && !write {
            return Ok(());
        }
        // Bytes the output stream still holds go first: the task sending
        // them shuts the direction after the last.
        let defer_write = write && !inner.outgoing.is_empty();
        let how = match (read, write && !defer_write) {
            (false, false) => None,
            (true, false) => Some(Shutdown::Receive),
            (false, true) => Some(Shutdown::Send),
            (true, true) => Some(Shutdown::Both),
        };
        if let Some(how) = how {
            match inner.sock.net.shutdown(how) {
                // The peer went first; the direction is shut either way.
                Ok(()) | Err(ErrorCode::NotConnected) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if defer_write {
            inner.outgoing.shut_after_unsent();
        }
        inner.read_closed |= read;
        inner.write_closed |= write;
        Ok(())
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        // Fails (a trap) while its streams or pollables live: they are its
        // children. Its shares of the instance's budgets go back with the
        // last of them.
        self.table.delete(this)?;
        Ok(())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for TcpSocket {
    /// Ready when `finish-connect` or `accept` would not block; at once in
    /// every other state (the other operations finish at once).
    async fn ready(&mut self) {
        match self.phase {
            Phase::ConnectStarted => {
                self.shared
                    .ready_when(Readiness::WRITABLE, |inner: &mut Inner, _| {
                        stream::refresh_connect(&mut inner.sock);
                        inner.sock.state != State::Connecting
                    })
                    .await
            }
            // A listener's wait accepts the connection it waited for, for
            // the guest's next `accept`, looking at the socket only when
            // the reactor says one may be waiting: after an accept that
            // found nothing, the wait and the accept that finds the
            // connection are the only system calls.
            Phase::Idle => {
                let gate = &self.shared.gate;
                // A socket whose lock a host failure poisoned has something
                // to report: the accept retried will say what.
                let _ = receive_waiting(
                    &self.shared,
                    |inner| {
                        if inner.sock.state != State::Listening {
                            return Ok(Some(()));
                        }
                        // (A connection already kept is found again.)
                        inner.with_cached_calls(|inner| stream::accept_ahead(gate, &mut inner.sock))
                    },
                    WasiError::from,
                )
                .await;
            }
            _ => {}
        }
    }
}
