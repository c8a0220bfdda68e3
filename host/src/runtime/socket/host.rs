//! The `socket` interface's host functions: thin adapters from WIT types to
//! the state machine in the sibling modules.

use wasmtime::component::Resource;

use super::datagram::{self, MAX_DATAGRAM_BUFFER};
use super::{GuestSocket, State, options, stream};
use crate::net::{ErrorCode, SocketType};
use crate::runtime::bindings::wasock::sockets::socket::{Host, HostSocket};
use crate::runtime::bindings::wasock::sockets::types::{
    self as wit, AddressFamily, Datagram, IpAddress, OptionName, RecvFlags, SendFlags, ShutdownHow,
    SocketAddress, SocketOption,
};
use crate::runtime::convert::{
    addr_from_std, addr_to_std, error_from_net, family_from_net, family_to_net, ip_to_std,
    recv_flags, send_flags, shutdown_to_net, type_from_net, type_to_net,
};
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::error::{SocketError, SocketResult};

impl wit::Host for WasockCtxView<'_> {
    fn convert_error_code(&mut self, err: SocketError) -> wasmtime::Result<wit::ErrorCode> {
        err.into_result().map(error_from_net)
    }
}

impl Host for WasockCtxView<'_> {}

impl WasockCtxView<'_> {
    fn sock(&mut self, this: &Resource<GuestSocket>) -> SocketResult<&mut GuestSocket> {
        Ok(self.table.get_mut(this)?)
    }

    /// `send`, on bytes wherever they are.
    pub(crate) async fn send_bytes(
        &mut self,
        this: Resource<GuestSocket>,
        data: &[u8],
        flags: SendFlags,
    ) -> SocketResult<u64> {
        let flags = send_flags(flags);
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        match sock.socket_type {
            SocketType::Stream => Ok(stream::send(sock, data, flags).await?),
            SocketType::Datagram => Ok(datagram::send(ctx, sock, data, flags).await?),
        }
    }

    /// The receive length the host will honour: capped by the instance's
    /// limit, never allocated beyond it.
    fn recv_len(&self, max_len: u64) -> usize {
        usize::try_from(max_len)
            .unwrap_or(usize::MAX)
            .min(self.ctx.limits.max_recv)
    }
}

impl HostSocket for WasockCtxView<'_> {
    fn open(
        &mut self,
        family: AddressFamily,
        type_: wit::SocketType,
    ) -> SocketResult<Resource<GuestSocket>> {
        let slot = self.ctx.socket_slot()?;
        let net = self
            .ctx
            .provider
            .open(family_to_net(family), type_to_net(type_))?;
        let sock = GuestSocket::new(self.ctx, slot, net, State::Unbound);
        Ok(self.table.push(sock)?)
    }

    fn address_family(&mut self, this: Resource<GuestSocket>) -> wasmtime::Result<AddressFamily> {
        Ok(family_from_net(self.table.get(&this)?.family))
    }

    fn socket_type(&mut self, this: Resource<GuestSocket>) -> wasmtime::Result<wit::SocketType> {
        Ok(type_from_net(self.table.get(&this)?.socket_type))
    }

    fn bind(
        &mut self,
        this: Resource<GuestSocket>,
        local_address: SocketAddress,
    ) -> SocketResult<()> {
        let addr = addr_to_std(local_address);
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        Ok(sock.bind(ctx, addr)?)
    }

    fn listen(&mut self, this: Resource<GuestSocket>, backlog: u32) -> SocketResult<()> {
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        Ok(stream::listen(ctx, sock, backlog)?)
    }

    async fn accept(
        &mut self,
        this: Resource<GuestSocket>,
    ) -> SocketResult<(Resource<GuestSocket>, SocketAddress)> {
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        let got = stream::accept(ctx, sock).await?;
        let conn = GuestSocket::new(ctx, got.slot, got.net, State::Connected);
        Ok((self.table.push(conn)?, addr_from_std(got.peer)))
    }

    async fn connect(
        &mut self,
        this: Resource<GuestSocket>,
        remote_address: SocketAddress,
    ) -> SocketResult<()> {
        let addr = addr_to_std(remote_address);
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        match sock.socket_type {
            SocketType::Stream => Ok(stream::connect(ctx, sock, addr).await?),
            SocketType::Datagram => Ok(datagram::connect(ctx, sock, addr)?),
        }
    }

    fn disconnect(&mut self, this: Resource<GuestSocket>) -> SocketResult<()> {
        Ok(datagram::disconnect(self.sock(&this)?)?)
    }

    // Linked instead: `direct::send`, which reads the guest's memory in
    // place. This one serves only where the linker was set up without it.
    async fn send(
        &mut self,
        this: Resource<GuestSocket>,
        data: Vec<u8>,
        flags: SendFlags,
    ) -> SocketResult<u64> {
        self.send_bytes(this, &data, flags).await
    }

    async fn recv(
        &mut self,
        this: Resource<GuestSocket>,
        max_len: u64,
        flags: RecvFlags,
    ) -> SocketResult<Vec<u8>> {
        let want = self.recv_len(max_len);
        let (flags, wait_all) = recv_flags(flags);
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        match sock.socket_type {
            SocketType::Stream => Ok(stream::recv(sock, want, flags, wait_all).await?),
            SocketType::Datagram => {
                if want == 0 && !wait_all && sock.state != State::Unbound {
                    return Ok(Vec::new());
                }
                let got =
                    datagram::recv_from(ctx, sock, want.min(MAX_DATAGRAM_BUFFER), flags, wait_all)
                        .await?;
                Ok(got.data)
            }
        }
    }

    async fn send_to(
        &mut self,
        this: Resource<GuestSocket>,
        data: Vec<u8>,
        remote_address: SocketAddress,
        flags: SendFlags,
    ) -> SocketResult<u64> {
        let addr = addr_to_std(remote_address);
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        Ok(datagram::send_to(ctx, sock, &data, addr, send_flags(flags)).await?)
    }

    async fn recv_from(
        &mut self,
        this: Resource<GuestSocket>,
        max_len: u64,
        flags: RecvFlags,
    ) -> SocketResult<Datagram> {
        let want = self.recv_len(max_len);
        let (flags, wait_all) = recv_flags(flags);
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        let got = datagram::recv_from(ctx, sock, want, flags, wait_all).await?;
        Ok(Datagram {
            data: got.data,
            remote_address: addr_from_std(got.from),
            truncated: got.truncated,
        })
    }

    fn shutdown(&mut self, this: Resource<GuestSocket>, how: ShutdownHow) -> SocketResult<()> {
        let sock = self.sock(&this)?;
        if sock.is_stream() {
            stream::refresh_connect(sock);
            if sock.state != State::Connected {
                return Err(ErrorCode::NotConnected.into());
            }
        } else if sock.peer.is_none() {
            return Err(ErrorCode::NotConnected.into());
        }
        Ok(sock.net.shutdown(shutdown_to_net(how))?)
    }

    fn local_address(&mut self, this: Resource<GuestSocket>) -> SocketResult<SocketAddress> {
        Ok(addr_from_std(self.sock(&this)?.net.local_addr()?))
    }

    fn remote_address(&mut self, this: Resource<GuestSocket>) -> SocketResult<SocketAddress> {
        let sock = self.sock(&this)?;
        if sock.is_stream() {
            stream::refresh_connect(sock);
            if sock.state != State::Connected {
                return Err(ErrorCode::NotConnected.into());
            }
            return Ok(addr_from_std(sock.net.peer_addr()?));
        }
        match sock.peer {
            Some(peer) => Ok(addr_from_std(peer)),
            None => Err(ErrorCode::NotConnected.into()),
        }
    }

    fn set_nonblocking(&mut self, this: Resource<GuestSocket>, enabled: bool) -> SocketResult<()> {
        let sock = self.sock(&this)?;
        sock.set_nonblocking(enabled);
        Ok(())
    }

    fn is_nonblocking(&mut self, this: Resource<GuestSocket>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.nonblocking)
    }

    fn bytes_available(&mut self, this: Resource<GuestSocket>) -> SocketResult<u64> {
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        if sock.state == State::Listening {
            return Err(ErrorCode::InvalidArgument.into());
        }
        let _waiting = sock.with_real_calls(|s| datagram::drop_unadmitted(&ctx.gate, s));
        Ok(sock.net.bytes_available()? as u64)
    }

    fn set_option(&mut self, this: Resource<GuestSocket>, value: SocketOption) -> SocketResult<()> {
        let sock = self.table.get_mut(&this)?;
        Ok(options::set(sock, value)?)
    }

    fn get_option(
        &mut self,
        this: Resource<GuestSocket>,
        name: OptionName,
    ) -> SocketResult<SocketOption> {
        Ok(options::get(self.sock(&this)?, name)?)
    }

    fn join_multicast_group(
        &mut self,
        this: Resource<GuestSocket>,
        group: IpAddress,
        interface_index: u32,
    ) -> SocketResult<()> {
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        Ok(datagram::multicast(
            ctx,
            sock,
            ip_to_std(group),
            interface_index,
            true,
        )?)
    }

    fn leave_multicast_group(
        &mut self,
        this: Resource<GuestSocket>,
        group: IpAddress,
        interface_index: u32,
    ) -> SocketResult<()> {
        let ctx = &*self.ctx;
        let sock = self.table.get_mut(&this)?;
        Ok(datagram::multicast(
            ctx,
            sock,
            ip_to_std(group),
            interface_index,
            false,
        )?)
    }

    fn take_error(&mut self, this: Resource<GuestSocket>) -> SocketResult<Option<wit::ErrorCode>> {
        let sock = self.sock(&this)?;
        stream::refresh_connect(sock);
        if let Some(e) = sock.pending_error.take() {
            return Ok(Some(error_from_net(e)));
        }
        Ok(sock.net.take_error()?.map(error_from_net))
    }

    fn drop(&mut self, rep: Resource<GuestSocket>) -> wasmtime::Result<()> {
        // Its shares of the instance's budgets go back as it drops.
        drop(self.table.delete(rep)?);
        // Poll sets forget closed sockets lazily (see `PollSet`).
        self.ctx.sockets_closed += 1;
        Ok(())
    }
}
