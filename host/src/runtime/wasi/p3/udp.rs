//! `wasi:sockets/types@0.3` `udp-socket`: `send` and `receive` as async
//! functions over the socket layer's datagram operations (the policy's
//! `udp-send` check, the peer filter, the reply rule, the size limits).

use std::sync::Arc;

use wasmtime::component::{Accessor, Resource};

use super::error::{P3Error, P3Result};
use super::{WasiSockets, addrs, pending_call};
use crate::net::{ErrorCode, Family, OptionName, Readiness, SocketType};
use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::{
    ErrorCode as Code, HostUdpSocket, HostUdpSocketWithStore, IpAddressFamily, IpSocketAddress,
};
use crate::runtime::ctx::{WasockCtx, WasockCtxView};
use crate::runtime::socket::{State, datagram};
use crate::runtime::wasi::error::{connect_failure, create_failure};
use crate::runtime::wasi::shared::{Inner, Shared, receive_waiting};
use crate::runtime::wasi::udp::{send_datagram, try_receive_into};
use crate::runtime::wasi::{addr, options};

/// The `udp-socket` resource.
pub struct UdpSocket {
    shared: Shared,
    family: Family,
    /// Receives wait one at a time, in order, and so do sends; the others
    /// queue here. A datagram then wakes the receive whose turn it is, not
    /// every pending one, and the tasks waiting on the socket stay few
    /// however many calls the guest makes (a provider keeps a waker per
    /// waiting task, up to a bound: see `WakerList`).
    receiving: Arc<tokio::sync::Mutex<()>>,
    sending: Arc<tokio::sync::Mutex<()>>,
}

/// Most sends in a row that a socket with room refuses before a socket
/// never bound gives up (`address-in-use`: no port for an implicit bind).
const MAX_REFUSED_SENDS: u32 = 1000;

/// A datagram operation's error as the WIT lists it for UDP: a reset
/// (`ECONNRESET`, `ENETRESET`: an ICMP report of an earlier datagram) is
/// `remote-unreachable`.
fn datagram_error(e: ErrorCode) -> P3Error {
    match e {
        ErrorCode::ConnectionReset | ErrorCode::ConnectionAborted => Code::RemoteUnreachable.into(),
        e => e.into(),
    }
}

impl WasockCtxView<'_> {
    fn udp3(&mut self, this: &Resource<UdpSocket>) -> P3Result<&mut UdpSocket> {
        Ok(self.table.get_mut(this)?)
    }
}

impl HostUdpSocket for WasockCtxView<'_> {
    fn create(&mut self, address_family: IpAddressFamily) -> P3Result<Resource<UdpSocket>> {
        let family = addrs::family_to_net(address_family);
        // Receives wait through the reactor's cache (sends still make the
        // system call first: see `NetSocket::set_calls`).
        let shared = Shared::open(self.ctx, family, SocketType::Datagram)
            .map_err(create_failure)?
            .waits_through_cache();
        Ok(self.table.push(UdpSocket {
            shared,
            family,
            receiving: Arc::default(),
            sending: Arc::default(),
        })?)
    }

    fn bind(&mut self, this: Resource<UdpSocket>, local_address: IpSocketAddress) -> P3Result<()> {
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        let addr = addr::local_datagram(socket.family, addrs::addr_to_std(local_address))?;
        let mut inner = socket.shared.lock()?;
        if inner.sock.state != State::Unbound {
            return Err(Code::InvalidState.into());
        }
        Ok(inner.sock.bind(ctx, addr)?)
    }

    fn connect(
        &mut self,
        this: Resource<UdpSocket>,
        remote_address: IpSocketAddress,
    ) -> P3Result<()> {
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        let addr = addr::remote_datagram(socket.family, addrs::addr_to_std(remote_address))?;
        let mut inner = socket.shared.lock()?;
        // Linux wants a disconnect before connecting elsewhere.
        if inner.sock.peer.is_some() {
            datagram::disconnect(&mut inner.sock)?;
        }
        Ok(datagram::connect(ctx, &mut inner.sock, addr).map_err(connect_failure)?)
    }

    fn disconnect(&mut self, this: Resource<UdpSocket>) -> P3Result<()> {
        let socket = self.udp3(&this)?;
        let mut inner = socket.shared.lock()?;
        if inner.sock.peer.is_none() {
            return Err(Code::InvalidState.into());
        }
        Ok(datagram::disconnect(&mut inner.sock)?)
    }

    fn get_local_address(&mut self, this: Resource<UdpSocket>) -> P3Result<IpSocketAddress> {
        let socket = self.udp3(&this)?;
        let inner = socket.shared.lock()?;
        if inner.sock.state == State::Unbound {
            return Err(Code::InvalidState.into());
        }
        Ok(addrs::addr_from_std(inner.sock.net.local_addr()?))
    }

    fn get_remote_address(&mut self, this: Resource<UdpSocket>) -> P3Result<IpSocketAddress> {
        let socket = self.udp3(&this)?;
        match socket.shared.lock()?.sock.peer {
            Some(peer) => Ok(addrs::addr_from_std(peer)),
            None => Err(Code::InvalidState.into()),
        }
    }

    fn get_address_family(
        &mut self,
        this: Resource<UdpSocket>,
    ) -> wasmtime::Result<IpAddressFamily> {
        Ok(addrs::family_from_net(self.table.get(&this)?.family))
    }

    fn get_unicast_hop_limit(&mut self, this: Resource<UdpSocket>) -> P3Result<u8> {
        options::hop_limit(&self.udp3(&this)?.shared)
    }

    fn set_unicast_hop_limit(&mut self, this: Resource<UdpSocket>, value: u8) -> P3Result<()> {
        options::set_hop_limit(&self.udp3(&this)?.shared, value)
    }

    fn get_receive_buffer_size(&mut self, this: Resource<UdpSocket>) -> P3Result<u64> {
        options::buffer_size(&self.udp3(&this)?.shared, OptionName::ReceiveBufferSize)
    }

    fn set_receive_buffer_size(&mut self, this: Resource<UdpSocket>, value: u64) -> P3Result<()> {
        options::set_buffer_size(
            &self.udp3(&this)?.shared,
            OptionName::ReceiveBufferSize,
            value,
        )
    }

    fn get_send_buffer_size(&mut self, this: Resource<UdpSocket>) -> P3Result<u64> {
        options::buffer_size(&self.udp3(&this)?.shared, OptionName::SendBufferSize)
    }

    fn set_send_buffer_size(&mut self, this: Resource<UdpSocket>, value: u64) -> P3Result<()> {
        options::set_buffer_size(&self.udp3(&this)?.shared, OptionName::SendBufferSize, value)
    }

    fn drop(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl<T: Send + 'static> HostUdpSocketWithStore<T> for WasiSockets {
    async fn send(
        store: &Accessor<T, Self>,
        this: Resource<UdpSocket>,
        data: Vec<u8>,
        remote_address: Option<IpSocketAddress>,
    ) -> P3Result<()> {
        // The first try with the store, as every try: the policy and the
        // size are checked each time; the wait for room is without it.
        let try_send = |ctx: &WasockCtx, shared: &Shared, to| -> P3Result<_> {
            let mut inner = shared.lock()?;
            let peer = inner.sock.peer;
            Ok(send_datagram(ctx, &mut inner, peer, &data, to))
        };
        let (shared, turn, to, first) = store.with(|mut access| -> P3Result<_> {
            let view = access.get();
            let socket = view.table.get(&this)?;
            let (shared, family) = (socket.shared.clone(), socket.family);
            let turn = socket.sending.clone();
            let to = remote_address
                .map(|a| addr::remote_datagram(family, addrs::addr_to_std(a)))
                .transpose()?;
            let first = try_send(view.ctx, &shared, to)?;
            Ok((shared, turn, to, first))
        })?;
        let mut sent = first;
        let mut waiting = None;
        let mut refused = 0;
        loop {
            match sent {
                Ok(()) => return Ok(()),
                Err(ErrorCode::WouldBlock) => {}
                Err(e) => return Err(datagram_error(e)),
            }
            // Taken when the send first has to wait, and kept until it
            // ends: a place among the waiting calls, and the send turn.
            if waiting.is_none() {
                let place = store.with(|mut access| pending_call(access.get().ctx))?;
                waiting = Some((place, turn.clone().lock_owned().await));
            }
            // A socket that says it has room and still refuses (Linux does,
            // out of ports for an implicit bind) must not hold the thread:
            // each try yields first, and a run of them on a socket that
            // was never bound ends as the system means it.
            refused += 1;
            if refused > MAX_REFUSED_SENDS && shared.lock()?.sock.state == State::Unbound {
                return Err(Code::AddressInUse.into());
            }
            tokio::task::yield_now().await;
            shared
                .wait_until(Readiness::WRITABLE, |inner: &mut Inner, gate| {
                    inner.has(gate, Readiness::WRITABLE)
                })
                .await
                .map_err(datagram_error)?;
            sent = store.with(|mut access| try_send(access.get().ctx, &shared, to))?;
        }
    }

    async fn receive(
        store: &Accessor<T, Self>,
        this: Resource<UdpSocket>,
    ) -> P3Result<(Vec<u8>, IpSocketAddress)> {
        let (shared, turn, _waiting) = store.with(|mut access| -> P3Result<_> {
            let view = access.get();
            let socket = view.table.get(&this)?;
            let (shared, turn) = (socket.shared.clone(), socket.receiving.clone());
            Ok((shared, turn, pending_call(view.ctx)?))
        })?;
        let _turn = turn.lock_owned().await;
        // (A bound socket never becomes unbound again.)
        if shared.lock()?.sock.state == State::Unbound {
            return Err(Code::InvalidState.into());
        }
        let gate = &shared.gate;
        let (data, from) = receive_waiting(
            &shared,
            |inner| match inner.sock.pending_error.take() {
                Some(e) => Err(e),
                // A connected socket hears only its peer: the system
                // filters what arrives after the connect, this what was
                // queued before it.
                None => {
                    let peer = inner.sock.peer;
                    try_receive_into(gate, inner, peer)
                }
            },
            datagram_error,
        )
        .await?;
        Ok((data, addrs::addr_from_std(from)))
    }
}
