//! `wasi:sockets/types@0.3` `udp-socket`: `send` and `receive` as async
//! functions over the socket layer's datagram operations (the policy's
//! `udp-send` check, the peer filter, the reply rule, the size limits).

use wasmtime::component::{Accessor, Resource};

use super::error::{P3Error, P3Result};
use super::{WasiSockets, addrs, pending_call};
use crate::net::{ErrorCode, Family, OptionName, Readiness, SocketType};
use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::{
    ErrorCode as Code, HostUdpSocket, HostUdpSocketWithStore, IpAddressFamily, IpSocketAddress,
};
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::socket::{State, datagram};
use crate::runtime::wasi::shared::{Inner, Poisoned, Shared};
use crate::runtime::wasi::udp::{send_datagram, try_receive};
use crate::runtime::wasi::{addr, options};

/// The `udp-socket` resource.
pub struct UdpSocket {
    shared: Shared,
    family: Family,
}

impl WasockCtxView<'_> {
    fn udp3(&mut self, this: &Resource<UdpSocket>) -> P3Result<&mut UdpSocket> {
        Ok(self.table.get_mut(this)?)
    }
}

impl HostUdpSocket for WasockCtxView<'_> {
    fn create(&mut self, address_family: IpAddressFamily) -> P3Result<Resource<UdpSocket>> {
        let family = addrs::family_to_net(address_family);
        let shared = Shared::open(self.ctx, family, SocketType::Datagram)?;
        Ok(self.table.push(UdpSocket { shared, family })?)
    }

    fn bind(&mut self, this: Resource<UdpSocket>, local_address: IpSocketAddress) -> P3Result<()> {
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        let addr = addr::local(socket.family, addrs::addr_to_std(local_address))?;
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
        let addr = addr::remote(socket.family, addrs::addr_to_std(remote_address))?;
        let mut inner = socket.shared.lock()?;
        // Linux wants a disconnect before connecting elsewhere.
        if inner.sock.peer.is_some() {
            datagram::disconnect(&mut inner.sock)?;
        }
        Ok(datagram::connect(ctx, &mut inner.sock, addr)?)
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
        let (shared, family) = store.with(|mut access| -> P3Result<_> {
            let socket = access.get().table.get(&this)?;
            Ok((socket.shared.clone(), socket.family))
        })?;
        let to = remote_address
            .map(|a| addr::remote(family, addrs::addr_to_std(a)))
            .transpose()?;
        // Taken when the send first has to wait, kept until it ends.
        let mut waiting = None;
        loop {
            // Each try is checked as the first was (the policy, the size),
            // with the store; the wait for room is without it.
            let sent = store.with(|mut access| -> P3Result<Result<(), ErrorCode>> {
                let view = access.get();
                let mut inner = shared.lock()?;
                let peer = inner.sock.peer;
                Ok(send_datagram(view.ctx, &mut inner, peer, &data, to))
            })?;
            match sent {
                Ok(()) => return Ok(()),
                Err(ErrorCode::WouldBlock) => {}
                Err(e) => return Err(e.into()),
            }
            if waiting.is_none() {
                waiting = Some(store.with(|mut access| pending_call(access.get().ctx))?);
            }
            shared
                .wait_until(Readiness::WRITABLE, |inner: &mut Inner, gate| {
                    inner.has(gate, Readiness::WRITABLE)
                })
                .await;
        }
    }

    async fn receive(
        store: &Accessor<T, Self>,
        this: Resource<UdpSocket>,
    ) -> P3Result<(Vec<u8>, IpSocketAddress)> {
        let (shared, max_recv, _waiting) = store.with(|mut access| -> P3Result<_> {
            let view = access.get();
            let max_recv = view.ctx.limits.max_recv;
            let socket = view.table.get(&this)?;
            let shared = socket.shared.clone();
            Ok((shared, max_recv, pending_call(view.ctx)?))
        })?;
        if shared.lock()?.sock.state == State::Unbound {
            return Err(Code::InvalidState.into());
        }
        let mut got = None;
        shared
            .wait_until(Readiness::READABLE, |inner: &mut Inner, gate| {
                if let Some(e) = inner.sock.pending_error.take() {
                    got = Some(Err(e));
                    return true;
                }
                let peer = inner.sock.peer;
                match try_receive(gate, inner, max_recv, peer) {
                    Ok(Some(datagram)) => {
                        got = Some(Ok(datagram));
                        true
                    }
                    // Dropped unseen, or none waiting: the wait says
                    // when to look again.
                    Ok(None) | Err(ErrorCode::WouldBlock) => false,
                    Err(e) => {
                        got = Some(Err(e));
                        true
                    }
                }
            })
            .await;
        match got {
            Some(Ok((data, from))) => Ok((data, addrs::addr_from_std(from))),
            Some(Err(e)) => Err(e.into()),
            // The wait ends without an answer only on a poisoned socket.
            None => Err(P3Error::from(Poisoned)),
        }
    }
}
