//! `wasi:sockets/udp` and `udp-create-socket`: the UDP socket, its
//! `stream` pairs, and their datagram streams, over the socket layer's
//! datagram operations (the same policy checks, reply rule and limits).

use std::net::SocketAddr;

use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};

use super::addr;
use super::error::{WasiError, WasiResult, connect_failure, create_failure};
use super::network::{self as addrs, Network, check_network};
use super::options;
use super::shared::{Ahead, Inner, Shared, receive_waiting};
use crate::net::{ErrorCode, Family, OptionName, Readiness, RecvFlags, SendFlags, SocketType};
use crate::runtime::admission::Gate;
use crate::runtime::bindings::wasi_sockets::wasi::sockets::network::{
    ErrorCode as Code, IpAddressFamily, IpSocketAddress,
};
use crate::runtime::bindings::wasi_sockets::wasi::sockets::udp::{
    self, IncomingDatagram, OutgoingDatagram,
};
use crate::runtime::bindings::wasi_sockets::wasi::sockets::udp_create_socket;
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::socket::State;
use crate::runtime::socket::datagram::{
    self, MAX_DATAGRAM_BUFFER, check_send_to, check_size, sent_to, try_recv_admitted,
};

/// Most datagrams one `check-send` permits.
const SEND_PERMITS: u64 = 16;

/// Most datagrams one `receive` returns, whatever the guest asks.
const MAX_RECEIVE: u64 = 64;

/// The `udp-socket` resource.
pub struct UdpSocket {
    shared: Shared,
    family: Family,
    /// `start-bind` succeeded and `finish-bind` has not been called.
    binding: bool,
}

impl UdpSocket {
    fn bound(&self) -> WasiResult<()> {
        if self.binding || self.shared.lock()?.sock.state == State::Unbound {
            return Err(Code::InvalidState.into());
        }
        Ok(())
    }
}

impl udp_create_socket::Host for WasockCtxView<'_> {
    fn create_udp_socket(
        &mut self,
        address_family: IpAddressFamily,
    ) -> WasiResult<Resource<UdpSocket>> {
        let family = addrs::family_to_net(address_family);
        let shared =
            Shared::open(self.ctx, family, SocketType::Datagram).map_err(create_failure)?;
        Ok(self.table.push(UdpSocket {
            shared,
            family,
            binding: false,
        })?)
    }
}

impl udp::Host for WasockCtxView<'_> {}

impl WasockCtxView<'_> {
    fn udp(&mut self, this: &Resource<UdpSocket>) -> WasiResult<&mut UdpSocket> {
        Ok(self.table.get_mut(this)?)
    }
}

type DatagramStreams = (
    Resource<IncomingDatagramStream>,
    Resource<OutgoingDatagramStream>,
);

impl udp::HostUdpSocket for WasockCtxView<'_> {
    fn start_bind(
        &mut self,
        this: Resource<UdpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> WasiResult<()> {
        check_network(self, &network)?;
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        if socket.binding {
            return Err(Code::ConcurrencyConflict.into());
        }
        let addr = addr::local_datagram(socket.family, addrs::addr_to_std(local_address))?;
        {
            let mut inner = socket.shared.lock()?;
            if inner.sock.state != State::Unbound {
                return Err(Code::InvalidState.into());
            }
            inner.sock.bind(ctx, addr)?;
        }
        socket.binding = true;
        Ok(())
    }

    fn finish_bind(&mut self, this: Resource<UdpSocket>) -> WasiResult<()> {
        let socket = self.udp(&this)?;
        if !socket.binding {
            return Err(Code::NotInProgress.into());
        }
        socket.binding = false;
        Ok(())
    }

    fn stream(
        &mut self,
        this: Resource<UdpSocket>,
        remote_address: Option<IpSocketAddress>,
    ) -> WasiResult<DatagramStreams> {
        let ctx = &*self.ctx;
        let socket = self.table.get_mut(&this)?;
        socket.bound()?;
        let remote = remote_address
            .map(|a| addr::remote_datagram(socket.family, addrs::addr_to_std(a)))
            .transpose()?;
        let shared = socket.shared.clone();
        let generation = {
            let mut inner = shared.lock()?;
            if inner.sock.peer.is_some() {
                datagram::disconnect(&mut inner.sock)?;
            }
            if let Some(addr) = remote {
                datagram::connect(ctx, &mut inner.sock, addr).map_err(connect_failure)?;
            }
            inner.generation += 1;
            inner.generation
        };
        let incoming = IncomingDatagramStream {
            shared: shared.clone(),
            generation,
            remote,
        };
        let outgoing = OutgoingDatagramStream {
            shared,
            generation,
            remote,
            permits: 0,
            blocked: false,
        };
        let incoming = self.table.push_child(incoming, &this)?;
        let outgoing = self.table.push_child(outgoing, &this)?;
        Ok((incoming, outgoing))
    }

    fn local_address(&mut self, this: Resource<UdpSocket>) -> WasiResult<IpSocketAddress> {
        let socket = self.udp(&this)?;
        socket.bound()?;
        Ok(addrs::addr_from_std(
            socket.shared.lock()?.sock.net.local_addr()?,
        ))
    }

    fn remote_address(&mut self, this: Resource<UdpSocket>) -> WasiResult<IpSocketAddress> {
        let socket = self.udp(&this)?;
        match socket.shared.lock()?.sock.peer {
            Some(peer) => Ok(addrs::addr_from_std(peer)),
            None => Err(Code::InvalidState.into()),
        }
    }

    fn address_family(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(addrs::family_from_net(self.table.get(&this)?.family))
    }

    fn unicast_hop_limit(&mut self, this: Resource<UdpSocket>) -> WasiResult<u8> {
        options::hop_limit(&self.udp(&this)?.shared)
    }

    fn set_unicast_hop_limit(&mut self, this: Resource<UdpSocket>, value: u8) -> WasiResult<()> {
        options::set_hop_limit(&self.udp(&this)?.shared, value)
    }

    fn receive_buffer_size(&mut self, this: Resource<UdpSocket>) -> WasiResult<u64> {
        options::buffer_size(&self.udp(&this)?.shared, OptionName::ReceiveBufferSize)
    }

    fn set_receive_buffer_size(&mut self, this: Resource<UdpSocket>, value: u64) -> WasiResult<()> {
        options::set_buffer_size(
            &self.udp(&this)?.shared,
            OptionName::ReceiveBufferSize,
            value,
        )
    }

    fn send_buffer_size(&mut self, this: Resource<UdpSocket>) -> WasiResult<u64> {
        options::buffer_size(&self.udp(&this)?.shared, OptionName::SendBufferSize)
    }

    fn set_send_buffer_size(&mut self, this: Resource<UdpSocket>, value: u64) -> WasiResult<()> {
        options::set_buffer_size(&self.udp(&this)?.shared, OptionName::SendBufferSize, value)
    }

    fn subscribe(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        subscribe(self.table, this)
    }

    fn drop(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<()> {
        // Fails (a trap) while its streams or pollables live.
        self.table.delete(this)?;
        Ok(())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for UdpSocket {
    /// Binding finishes at once: a UDP socket is always ready.
    async fn ready(&mut self) {}
}

/// An `incoming-datagram-stream`: receives from the socket while it is the
/// socket's latest pair.
pub struct IncomingDatagramStream {
    shared: Shared,
    generation: u64,
    remote: Option<SocketAddr>,
}

/// An `outgoing-datagram-stream`.
pub struct OutgoingDatagramStream {
    shared: Shared,
    generation: u64,
    remote: Option<SocketAddr>,
    /// What the last `check-send` permitted.
    permits: u64,
    /// The last send found the socket full: `check-send` asks the socket
    /// before permitting more.
    blocked: bool,
}

/// The socket, if `generation` is still its live pair of streams; a
/// replaced pair fails with `invalid-state`.
fn live<'a>(shared: &'a Shared, generation: u64) -> WasiResult<std::sync::MutexGuard<'a, Inner>> {
    let inner = shared.lock()?;
    if inner.generation != generation {
        return Err(Code::InvalidState.into());
    }
    Ok(inner)
}

impl udp::HostIncomingDatagramStream for WasockCtxView<'_> {
    fn receive(
        &mut self,
        this: Resource<IncomingDatagramStream>,
        max_results: u64,
    ) -> WasiResult<Vec<IncomingDatagram>> {
        let stream = self.table.get(&this)?;
        let mut inner = live(&stream.shared, stream.generation)?;
        let mut got = Vec::new();
        if max_results == 0 {
            return Ok(got);
        }
        if let Some(e) = inner.sock.pending_error.take() {
            return Err(e.into());
        }
        let gate = &stream.shared.gate;
        while (got.len() as u64) < max_results.min(MAX_RECEIVE) {
            match try_receive_into(gate, &mut inner, stream.remote) {
                Ok(Some((data, from))) => got.push(IncomingDatagram {
                    data,
                    remote_address: addrs::addr_from_std(from),
                }),
                Ok(None) => {}
                Err(ErrorCode::WouldBlock) => break,
                Err(e) if got.is_empty() => return Err(e.into()),
                Err(e) => {
                    // Reported by the next call.
                    inner.sock.pending_error = Some(e);
                    break;
                }
            }
        }
        Ok(got)
    }

    fn subscribe(
        &mut self,
        this: Resource<IncomingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        subscribe(self.table, this)
    }

    fn drop(&mut self, this: Resource<IncomingDatagramStream>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for IncomingDatagramStream {
    /// Ready when a datagram the guest may hear is waiting, or an error.
    ///
    /// The wait receives that datagram itself, ahead of the guest's
    /// `receive` (which then takes it without a system call), and looks at
    /// the socket only when the reactor says it may have something (a
    /// datagram, or an error report, which wakes the reactor too). After a
    /// receive that found nothing, a wait and the receive that finds the
    /// datagram are the only system calls, where a look (`peek`) before
    /// and after the wait, a readiness check on waking and the guest's
    /// receive made four.
    async fn ready(&mut self) {
        let (gate, remote) = (&self.shared.gate, self.remote);
        let generation = self.generation;
        // A socket that cannot wait, or whose lock a host failure poisoned,
        // has something to report: the receive retried will say what.
        let _ = receive_waiting(
            &self.shared,
            |inner| {
                if inner.generation != generation
                    || inner.sock.pending_error.is_some()
                    || inner.ahead.is_some()
                {
                    return Ok(Some(()));
                }
                inner.with_cached_calls(|inner| receive_ahead(gate, inner, remote))
            },
            WasiError::from,
        )
        .await;
    }
}

/// One look for a datagram the guest may hear, as [`try_receive_into`]
/// answers, with what it found kept for the next receive: a datagram in
/// [`Inner::ahead`], or an error (as the system would report it).
fn receive_ahead(
    gate: &Gate,
    inner: &mut Inner,
    remote: Option<SocketAddr>,
) -> Result<Option<()>, ErrorCode> {
    match try_receive_into(gate, inner, remote) {
        Ok(Some((data, from))) => inner.ahead = Some(Ahead::Datagram(data, from)),
        Ok(None) => return Ok(None),
        Err(ErrorCode::WouldBlock) => return Err(ErrorCode::WouldBlock),
        Err(e) => inner.sock.pending_error = Some(e),
    }
    Ok(Some(()))
}

impl udp::HostOutgoingDatagramStream for WasockCtxView<'_> {
    fn check_send(&mut self, this: Resource<OutgoingDatagramStream>) -> WasiResult<u64> {
        let stream = self.table.get_mut(&this)?;
        let mut inner = live(&stream.shared, stream.generation)?;
        if let Some(e) = inner.sock.pending_error.take() {
            return Err(e.into());
        }
        let room = !stream.blocked || inner.has(&stream.shared.gate, Readiness::WRITABLE);
        drop(inner);
        stream.blocked = !room;
        stream.permits = if room { SEND_PERMITS } else { 0 };
        Ok(stream.permits)
    }

    fn send(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
        datagrams: Vec<OutgoingDatagram>,
    ) -> WasiResult<u64> {
        let ctx = &*self.ctx;
        let stream = self.table.get_mut(&this)?;
        if datagrams.len() as u64 > stream.permits {
            return Err(WasiError::trap(
                "send of more datagrams than check-send permitted",
            ));
        }
        stream.permits = 0;
        let mut inner = live(&stream.shared, stream.generation)?;
        let mut sent = 0u64;
        for d in datagrams {
            match send_one(ctx, &mut inner, stream.remote, d) {
                Ok(()) => sent += 1,
                Err(ErrorCode::WouldBlock) => {
                    stream.blocked = true;
                    break;
                }
                // After one sent, the rest wait for the next call, which
                // meets the error again.
                Err(_) if sent > 0 => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sent)
    }

    fn subscribe(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        subscribe(self.table, this)
    }

    fn drop(&mut self, this: Resource<OutgoingDatagramStream>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// Send one datagram: to the stream's remote address if it has one.
fn send_one(
    ctx: &crate::runtime::WasockCtx,
    inner: &mut Inner,
    remote: Option<SocketAddr>,
    d: OutgoingDatagram,
) -> Result<(), ErrorCode> {
    let family = inner.sock.family;
    let to = d
        .remote_address
        .map(|a| addr::remote_datagram(family, addrs::addr_to_std(a)))
        .transpose()?;
    send_datagram(ctx, inner, remote, &d.data, to)
}

/// Send `data` now (`would-block` if there is no room): to `remote`, the
/// address the socket or stream is connected to, if there is one (where a
/// destination `to`, if given, must be the same); else to `to`, checked
/// against the policy. What both WASI versions' sends do.
pub(crate) fn send_datagram(
    ctx: &crate::runtime::WasockCtx,
    inner: &mut Inner,
    remote: Option<SocketAddr>,
    data: &[u8],
    to: Option<SocketAddr>,
) -> Result<(), ErrorCode> {
    let sock = &mut inner.sock;
    match (remote, to) {
        (Some(r), Some(to)) if r != to => Err(ErrorCode::InvalidArgument),
        (Some(_), _) => {
            check_size(ctx, sock, data.len())?;
            sock.net.try_send(data, SendFlags::default()).map(drop)
        }
        (None, None) => Err(ErrorCode::InvalidArgument),
        (None, Some(to)) => {
            check_send_to(ctx, sock, data.len(), to)?;
            sock.net.try_send_to(data, to, SendFlags::default())?;
            sent_to(sock, to);
            Ok(())
        }
    }
}

/// One try at receiving a datagram the guest may see, now, with room for
/// the largest datagram: `Some` is one
/// with its sender; `None` means one was dropped unseen (a refused peer, or not from `remote`, the address the
/// socket or stream is connected to) and there may be more; `would-block`
/// means none is waiting. What both WASI versions' receives do. A datagram
/// a pollable's wait received ahead ([`Inner::ahead`]) comes first. Received
/// into the socket's scratch buffer (allocated once), then copied out at
/// its size: no system call to ask first how large the datagram is.
pub(crate) fn try_receive_into(
    gate: &Gate,
    inner: &mut Inner,
    remote: Option<SocketAddr>,
) -> Result<Option<(Vec<u8>, SocketAddr)>, ErrorCode> {
    // WASI's datagram receives ask for no size and have no truncation
    // flag: a datagram comes whole, whatever `max_recv` (which bounds the
    // reads that ask for a size).
    let want = MAX_DATAGRAM_BUFFER;
    if let Some(Ahead::Datagram(data, from)) = inner.ahead.take() {
        if remote.is_some_and(|r| !same_peer(r, from)) {
            return Ok(None);
        }
        return Ok(Some((data, from)));
    }
    let mut scratch = std::mem::take(&mut inner.scratch);
    let got = receive_admitted(gate, inner, &mut scratch, want, remote);
    let data = scratch.clone();
    scratch.clear();
    inner.scratch = scratch;
    Ok(got?.map(|from| (data, from)))
}

/// One try at a datagram into `buf` (emptied first, at most `want` bytes):
/// its sender, if it is one the guest may see and from `remote` when given.
fn receive_admitted(
    gate: &Gate,
    inner: &mut Inner,
    buf: &mut Vec<u8>,
    want: usize,
    remote: Option<SocketAddr>,
) -> Result<Option<SocketAddr>, ErrorCode> {
    let Some(meta) = try_recv_admitted(gate, &mut inner.sock, buf, want, RecvFlags::default())?
    else {
        return Ok(None);
    };
    if remote.is_some_and(|r| !same_peer(r, meta.from)) {
        return Ok(None);
    }
    Ok(Some(meta.from))
}

/// Whether a datagram from `from` comes from `remote`: the address and
/// port (the system reports a sender without the flow label or scope the
/// guest may have connected with).
fn same_peer(remote: SocketAddr, from: SocketAddr) -> bool {
    (remote.ip(), remote.port()) == (from.ip(), from.port())
}

#[wasmtime_wasi::async_trait]
impl Pollable for OutgoingDatagramStream {
    /// Ready when `check-send` would permit a datagram, or has an error.
    async fn ready(&mut self) {
        let generation = self.generation;
        self.shared
            .ready_when(Readiness::WRITABLE, |inner: &mut Inner, gate| {
                inner.generation != generation
                    || inner.sock.pending_error.is_some()
                    || inner.has(gate, Readiness::WRITABLE)
            })
            .await;
        self.blocked = false;
    }
}
