//! `provider-memnet`: a socket provider that keeps a whole network in
//! memory. Composed with an app (`wasock run --provider
//! provider_memnet.wasm APP.wasm`), it serves every socket call the app
//! makes, and the app needs no host network at all: connections and
//! datagrams go between the app's own sockets.
//!
//! What the network has:
//!
//! - **Addresses**: the loopback nets, all of `127.0.0.0/8` and `::1`. The
//!   unspecified address (`0.0.0.0`, `::`) binds all of its family's;
//!   binding anything else is `address-not-available`, and connecting or
//!   sending anywhere else is `network-unreachable` (there is no route out).
//!   Port 0 picks an ephemeral port in 49152..=65535. Two bindings of one
//!   port clash when their addresses overlap, unless both sockets set
//!   `reuse-address` and (streams) neither listens, as on Linux; a second
//!   connection between the same two ends is `address-not-available`, as
//!   Linux's `EADDRNOTAVAIL`. There is no TIME_WAIT: a closed socket's port
//!   is free at once.
//! - **Dual stack**: an IPv6 socket without `ipv6-only` reaches IPv4
//!   sockets through IPv4-mapped addresses (`::ffff:127.0.0.1`), and one
//!   bound to `::` takes IPv4 traffic too, seeing IPv4 peers as mapped.
//! - **Streams**: a connect to a listener completes at once (a
//!   non-blocking connect still answers `in-progress`, and is writable at
//!   once); the connection waits in the backlog until accepted. A port
//!   nobody listens on, or a full backlog, refuses. Sent bytes go straight
//!   into the peer's receive queue, which holds its `receive-buffer-size`.
//!   Closing ends the stream for the peer, or resets it when closed with
//!   `linger` 0 or with unread data (as Linux does); closing a listener
//!   resets the connections in its backlog. A send to a peer that has
//!   closed is discarded and breaks the connection (the peer's reset), so
//!   the next send fails with `connection-reset`.
//! - **Datagrams**: each socket queues whole datagrams up to its
//!   `receive-buffer-size`, and drops what does not fit. A datagram to a
//!   port nobody has bound is lost; a *connected* sender learns of it as
//!   `connection-refused` on its next call (ICMP port unreachable, which
//!   Linux reports to connected sockets only). Broadcast (with the
//!   `broadcast` option) reaches every socket bound to the unspecified
//!   address on the port; multicast reaches the members of the group on
//!   the port, unless the sender turned `multicast-loop` off.
//! - **Name lookup**: `localhost` (and names under it) is `127.0.0.1` and
//!   `::1`; IP literals are themselves; every other name is
//!   `name-not-found`.
//! - **No hand-off**: a connection the host accepted (`wasock serve`)
//!   cannot be adopted into this network; `take-connection` is
//!   `not-supported`, so memnet serves `wasock run` apps, not handlers.
//!
//! # Blocking
//!
//! A component is single-threaded and nothing outside it can reach this
//! network, so while the app waits in a blocking call nothing can happen
//! that would let the call complete. Such a call therefore never waits
//! for an event. With a timeout (`receive-timeout` for recv and accept,
//! `send-timeout` for send, poll's own), memnet sleeps for the timeout, as
//! the call would have waited, and returns what the contract says then:
//! `timed-out`, or the part already done (a partial send count, the bytes
//! a `wait-all` receive had), or poll's unchanged readiness. Without a
//! timeout the call would hang forever, so memnet returns at once as if an
//! infinite timeout had run out: `timed-out` (or the part done), and for a
//! poll with no timeout and nothing ready, `invalid-argument`, as the
//! contract answers an empty poll without timeout "since it could never
//! return". The first time this happens it says so on stderr, once:
//!
//! ```text
//! memnet: a blocking recv on 127.0.0.1:5000 can never complete: nothing else in this component can send to it
//! ```
//!
//! # Limits
//!
//! At most 4096 sockets (counting connections waiting in a backlog):
//! `open` then fails with `new-socket-limit` and connects are refused.
//! Each receive queue holds its `receive-buffer-size` (2 KiB to 8 MiB in
//! effect), and all of them together at most 256 MiB (`no-buffer-space`
//! past it). Backlogs are clamped to 4096 (0 means 128). A socket joins at
//! most 20 groups.
//!
//! # Options
//!
//! All options are checked, kept and read back as `types.wit` documents
//! them; the ones memnet acts on are listed in its `options` module. The network
//! has one interface, loopback, with index 1: multicast membership and
//! `multicast-interface` accept 0 and 1 only.

mod addr;
mod datagram;
mod lookup;
mod net;
mod options;
mod stream;

use wasock::provider::{
    AddressFamily, Datagram, Duration, ErrorCode, IpAddress, Lookup, OptionName, Readiness,
    RecvFlags, SendFlags, ShutdownHow, Socket, SocketAddress, SocketOption, SocketType,
};

use net::{Id, Kind, Sock};

/// The most entries one poll takes (the host's default too).
const MAX_POLL_ENTRIES: usize = wasock::poll::MAX_POLL_ENTRIES;

/// A socket of the in-memory network, as the app holds it: its id in the
/// network's table. Dropping it closes the socket.
pub struct MemSocket {
    /// The socket's id in the table.
    id: Id,
}

impl Drop for MemSocket {
    fn drop(&mut self) {
        net::close(self.id);
    }
}

impl MemSocket {
    /// Run `f` on the network and this socket's id.
    fn with<R>(&self, f: impl FnOnce(&mut net::Net, Id) -> R) -> R {
        net::with(|n| f(n, self.id))
    }

    /// The socket's type.
    fn ty(&self) -> SocketType {
        self.with(|n, id| n.get(id).ty())
    }
}

impl Socket for MemSocket {
    // Readiness is this component's own network's: its poll sets ask its
    // own `poll`.
    const READY_AS_BELOW: bool = false;

    fn lower(&self) -> Option<&wasock::provider::Lower> {
        None
    }

    fn open(family: AddressFamily, socket_type: SocketType) -> Result<Self, ErrorCode> {
        let id = net::with(|n| n.insert(Sock::new(family, socket_type)))?;
        Ok(MemSocket { id })
    }

    fn address_family(&self) -> AddressFamily {
        self.with(|n, id| n.get(id).family)
    }

    fn socket_type(&self) -> SocketType {
        self.ty()
    }

    fn bind(&self, local: SocketAddress) -> Result<(), ErrorCode> {
        self.with(|n, id| n.bind(id, local))
    }

    fn listen(&self, backlog: u32) -> Result<(), ErrorCode> {
        self.with(|n, id| n.listen(id, backlog))
    }

    fn accept(&self) -> Result<(Self, SocketAddress), ErrorCode> {
        // The new handle is made outside the network's borrow: dropping it
        // there (on an error path) would borrow again.
        let (new, peer) = self.with(|n, id| n.accept(id))?;
        Ok((MemSocket { id: new }, peer))
    }

    fn connect(&self, remote: SocketAddress) -> Result<(), ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => n.connect_stream(id, remote),
            Kind::Datagram(_) => n.connect_datagram(id, remote),
        })
    }

    fn disconnect(&self) -> Result<(), ErrorCode> {
        self.with(|n, id| n.disconnect(id))
    }

    fn send(&self, data: Vec<u8>, _flags: SendFlags) -> Result<u64, ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => n.send_stream(id, &data),
            Kind::Datagram(_) => n.send_datagram(id, data, None),
        })
    }

    fn recv(&self, max_len: u64, flags: RecvFlags) -> Result<Vec<u8>, ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => n.recv_stream(id, max_len, flags),
            Kind::Datagram(_) => n.recv_datagram(id, max_len, flags, true).map(|d| d.data),
        })
    }

    fn send_to(
        &self,
        data: Vec<u8>,
        remote: SocketAddress,
        _flags: SendFlags,
    ) -> Result<u64, ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => Err(ErrorCode::NotSupported),
            Kind::Datagram(_) => n.send_datagram(id, data, Some(remote)),
        })
    }

    fn recv_from(&self, max_len: u64, flags: RecvFlags) -> Result<Datagram, ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => Err(ErrorCode::NotSupported),
            Kind::Datagram(_) => n.recv_datagram(id, max_len, flags, false),
        })
    }

    fn shutdown(&self, how: ShutdownHow) -> Result<(), ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => n.shutdown_stream(id, how),
            Kind::Datagram(_) => n.shutdown_datagram(id, how),
        })
    }

    fn local_address(&self) -> Result<SocketAddress, ErrorCode> {
        self.with(|n, id| n.local_address(id))
    }

    fn remote_address(&self) -> Result<SocketAddress, ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => n.remote_address_stream(id),
            Kind::Datagram(_) => n.remote_address_datagram(id),
        })
    }

    fn set_nonblocking(&self, enabled: bool) -> Result<(), ErrorCode> {
        self.with(|n, id| n.get_mut(id).nonblocking = enabled);
        Ok(())
    }

    fn is_nonblocking(&self) -> bool {
        self.with(|n, id| n.get(id).nonblocking)
    }

    fn bytes_available(&self) -> Result<u64, ErrorCode> {
        self.with(|n, id| match n.get(id).kind {
            Kind::Stream(_) => n.bytes_available_stream(id),
            Kind::Datagram(_) => Ok(n.bytes_available_datagram(id)),
        })
    }

    fn set_option(&self, value: SocketOption) -> Result<(), ErrorCode> {
        self.with(|n, id| {
            let s = n.get_mut(id);
            let (ty, bound) = (s.ty(), s.bound.is_some());
            s.opts.set(ty, s.family, bound, value)
        })
    }

    fn get_option(&self, name: OptionName) -> Result<SocketOption, ErrorCode> {
        self.with(|n, id| {
            let s = n.get(id);
            s.opts.get(s.ty(), s.family, name)
        })
    }

    fn join_multicast_group(&self, group: IpAddress, interface: u32) -> Result<(), ErrorCode> {
        self.with(|n, id| n.membership(id, group, interface, true))
    }

    fn leave_multicast_group(&self, group: IpAddress, interface: u32) -> Result<(), ErrorCode> {
        self.with(|n, id| n.membership(id, group, interface, false))
    }

    fn take_error(&self) -> Result<Option<ErrorCode>, ErrorCode> {
        Ok(self.with(|n, id| n.take_error(id)))
    }

    fn poll(
        entries: &[(&Self, Readiness)],
        timeout: Option<Duration>,
    ) -> Result<Vec<Readiness>, ErrorCode> {
        if entries.len() > MAX_POLL_ENTRIES || (entries.is_empty() && timeout.is_none()) {
            return Err(ErrorCode::InvalidArgument);
        }
        let ready = net::with(|n| {
            entries
                .iter()
                .map(|(s, interest)| readiness(n, s.id, *interest))
                .collect::<Vec<_>>()
        });
        if ready.iter().any(|r| !r.is_empty()) {
            return Ok(ready);
        }
        match timeout {
            // Nothing can change while the app waits here: wait out the
            // timeout, and nothing is ready still.
            Some(ns) => {
                if ns > 0 {
                    std::thread::sleep(std::time::Duration::from_nanos(ns));
                }
                Ok(ready)
            }
            None => {
                net::tell(|| {
                    "a poll without a timeout can never complete: no socket in it is ready, and nothing else in this component can make one ready".into()
                });
                Err(ErrorCode::InvalidArgument)
            }
        }
    }

    fn resolve_addresses(
        name: &str,
        family: Option<AddressFamily>,
    ) -> Result<Vec<IpAddress>, ErrorCode> {
        lookup::resolve(name, family)
    }

    /// Answered at once; a name that could never resolve is an error of
    /// the start itself, as `name-lookup.wit` says.
    fn start_lookup(name: &str, family: Option<AddressFamily>) -> Result<Lookup, ErrorCode> {
        match Self::resolve_addresses(name, family) {
            Err(ErrorCode::InvalidArgument) => Err(ErrorCode::InvalidArgument),
            answer => Ok(Lookup::ready(answer)),
        }
    }

    /// A network of its own cannot adopt a connection the host accepted
    /// (`wasock serve`): `not-supported`, as `handoff.wit` says.
    fn take_connection() -> Result<(Self, SocketAddress), ErrorCode> {
        Err(ErrorCode::NotSupported)
    }
}

/// What `poll` reports for one entry: the conditions of `interest` that
/// hold, plus `error` always and `hang-up` unless only `writable` is asked
/// for.
fn readiness(n: &net::Net, id: Id, interest: Readiness) -> Readiness {
    let now = match n.get(id).kind {
        Kind::Stream(_) => n.stream_readiness(id),
        Kind::Datagram(_) => n.datagram_readiness(id),
    };
    let mut shown = Readiness::ERROR;
    shown |= interest & (Readiness::READABLE | Readiness::WRITABLE);
    if interest != Readiness::WRITABLE {
        shown |= Readiness::HANG_UP;
    }
    now & shown
}

wasock::export_provider!(MemSocket);
