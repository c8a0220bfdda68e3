//! Glue between [`Socket`](super::Socket) and the traits wit-bindgen
//! generates for the exported interfaces. Hidden: users see the trait and
//! the `export_provider!` macro only.

use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::rc::{Rc, Weak};

use super::below;
use super::bindings::exports::wasock::sockets::{handoff, name_lookup, poll, socket};
use super::{
    AddressFamily, Datagram, Duration, ErrorCode, IpAddress, Lookup, OptionName, Readiness,
    RecvFlags, SendFlags, ShutdownHow, Socket, SocketAddress, SocketOption, SocketType,
};
use crate::raw::wasock::sockets::poll as lower_poll;

/// The type the export macro implements the generated traits for.
pub struct Adapter<S>(PhantomData<S>);

/// The representation of an exported socket: the provider's own (shared,
/// so that a poll set can tell whether it is still open).
pub struct SocketRep<S>(Rc<S>);

/// The representation of an exported poll set.
pub struct PollSetRep<S>(SetWay<S>);

/// How a poll set waits (see [`Socket::READY_AS_BELOW`]).
enum SetWay<S> {
    /// Through a poll set of the layer below, the changes and events
    /// passed as they are.
    Below(lower_poll::PollSet),
    /// By asking [`Socket::poll`] about the sockets it keeps.
    Own(OwnSet<S>),
}

/// The sockets a poll set of a provider with a readiness of its own
/// watches.
struct OwnSet<S> {
    entries: RefCell<HashMap<*const S, SetEntry<S>>>,
    /// Where the next wait starts among the ready sockets, so that
    /// `max-events` does not favour the same ones every time.
    turn: std::cell::Cell<usize>,
}

struct SetEntry<S> {
    socket: Weak<S>,
    interest: Readiness,
    key: u64,
}

/// The representation of an exported lookup, holding its place among the
/// 64 lookups alive at once (`MAX_LOOKUPS_ALIVE`).
pub struct LookupRep<S>(Lookup, AliveLookup, PhantomData<S>);

/// Lookups a provider keeps alive at once, answered or not, as wasock's
/// host counts them for an instance: past it, `start` fails with
/// `temporary-resolver-failure` until one is dropped (`name-lookup.wit`).
const MAX_LOOKUPS_ALIVE: usize = 64;

thread_local! {
    static LOOKUPS_ALIVE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One of the [`MAX_LOOKUPS_ALIVE`], given back when dropped.
struct AliveLookup(());

impl AliveLookup {
    fn take() -> Option<AliveLookup> {
        LOOKUPS_ALIVE.with(|n| {
            (n.get() < MAX_LOOKUPS_ALIVE).then(|| {
                n.set(n.get() + 1);
                AliveLookup(())
            })
        })
    }
}

impl Drop for AliveLookup {
    fn drop(&mut self) {
        LOOKUPS_ALIVE.with(|n| n.set(n.get() - 1));
    }
}

fn export<S: Socket>(s: S) -> socket::Socket {
    socket::Socket::new(SocketRep(Rc::new(s)))
}

impl<S: Socket> socket::Guest for Adapter<S> {
    type Socket = SocketRep<S>;
}

impl<S: Socket> socket::GuestSocket for SocketRep<S> {
    fn open(family: AddressFamily, type_: SocketType) -> Result<socket::Socket, ErrorCode> {
        S::open(family, type_).map(export)
    }
    fn address_family(&self) -> AddressFamily {
        self.0.address_family()
    }
    fn socket_type(&self) -> SocketType {
        self.0.socket_type()
    }
    fn bind(&self, local_address: SocketAddress) -> Result<(), ErrorCode> {
        self.0.bind(local_address)
    }
    fn listen(&self, backlog: u32) -> Result<(), ErrorCode> {
        self.0.listen(backlog)
    }
    fn accept(&self) -> Result<(socket::Socket, SocketAddress), ErrorCode> {
        let (s, peer) = self.0.accept()?;
        Ok((export(s), peer))
    }
    fn connect(&self, remote_address: SocketAddress) -> Result<(), ErrorCode> {
        self.0.connect(remote_address)
    }
    fn disconnect(&self) -> Result<(), ErrorCode> {
        self.0.disconnect()
    }
    fn send(&self, data: Vec<u8>, flags: SendFlags) -> Result<u64, ErrorCode> {
        self.0.send(data, flags)
    }
    fn recv(&self, max_len: u64, flags: RecvFlags) -> Result<Vec<u8>, ErrorCode> {
        self.0.recv(max_len, flags)
    }
    fn send_to(
        &self,
        data: Vec<u8>,
        remote_address: SocketAddress,
        flags: SendFlags,
    ) -> Result<u64, ErrorCode> {
        self.0.send_to(data, remote_address, flags)
    }
    fn recv_from(&self, max_len: u64, flags: RecvFlags) -> Result<Datagram, ErrorCode> {
        self.0.recv_from(max_len, flags)
    }
    fn shutdown(&self, how: ShutdownHow) -> Result<(), ErrorCode> {
        self.0.shutdown(how)
    }
    fn local_address(&self) -> Result<SocketAddress, ErrorCode> {
        self.0.local_address()
    }
    fn remote_address(&self) -> Result<SocketAddress, ErrorCode> {
        self.0.remote_address()
    }
    fn set_nonblocking(&self, enabled: bool) -> Result<(), ErrorCode> {
        self.0.set_nonblocking(enabled)
    }
    fn is_nonblocking(&self) -> bool {
        self.0.is_nonblocking()
    }
    fn bytes_available(&self) -> Result<u64, ErrorCode> {
        self.0.bytes_available()
    }
    fn set_option(&self, value: SocketOption) -> Result<(), ErrorCode> {
        self.0.set_option(value)
    }
    fn get_option(&self, name: OptionName) -> Result<SocketOption, ErrorCode> {
        self.0.get_option(name)
    }
    fn join_multicast_group(
        &self,
        group: IpAddress,
        interface_index: u32,
    ) -> Result<(), ErrorCode> {
        self.0.join_multicast_group(group, interface_index)
    }
    fn leave_multicast_group(
        &self,
        group: IpAddress,
        interface_index: u32,
    ) -> Result<(), ErrorCode> {
        self.0.leave_multicast_group(group, interface_index)
    }
    fn take_error(&self) -> Result<Option<ErrorCode>, ErrorCode> {
        self.0.take_error()
    }
}

impl<S: Socket> poll::Guest for Adapter<S> {
    type PollSet = PollSetRep<S>;

    fn poll(
        entries: Vec<poll::PollEntry<'_>>,
        timeout: Option<Duration>,
    ) -> Result<Vec<Readiness>, ErrorCode> {
        let entries: Vec<(&S, Readiness)> = entries
            .iter()
            .map(|e| (&*e.socket.get::<SocketRep<S>>().0, e.interest))
            .collect();
        S::poll(&entries, timeout)
    }
}

/// Most sockets one poll set holds, as the host's default.
const MAX_SET_ENTRIES: usize = crate::poll::MAX_POLL_ENTRIES;

impl<S: Socket> poll::GuestPollSet for PollSetRep<S> {
    fn create() -> Result<poll::PollSet, ErrorCode> {
        let way = if S::READY_AS_BELOW {
            SetWay::Below(lower_poll::PollSet::create()?)
        } else {
            SetWay::Own(OwnSet {
                entries: RefCell::new(HashMap::new()),
                turn: std::cell::Cell::new(0),
            })
        };
        Ok(poll::PollSet::new(PollSetRep::<S>(way)))
    }

    fn wait(
        &self,
        changes: Vec<poll::PollChange<'_>>,
        timeout: Option<Duration>,
        max_events: u32,
    ) -> Result<Vec<poll::PollEvent>, ErrorCode> {
        match &self.0 {
            SetWay::Below(set) => {
                let lower = changes
                    .iter()
                    .map(|c| {
                        Ok(lower_poll::PollChange {
                            socket: below(&*c.socket.get::<SocketRep<S>>().0)?,
                            interest: c.interest,
                            key: c.key,
                        })
                    })
                    .collect::<Result<Vec<_>, ErrorCode>>()?;
                let events = set.wait(&lower, timeout, max_events)?;
                Ok(events
                    .into_iter()
                    .map(|e| poll::PollEvent {
                        key: e.key,
                        ready: e.ready,
                    })
                    .collect())
            }
            SetWay::Own(set) => set.wait(changes, timeout, max_events),
        }
    }

    fn len(&self) -> u32 {
        match &self.0 {
            SetWay::Below(set) => set.len(),
            SetWay::Own(set) => set.len(),
        }
    }
}

impl<S: Socket> OwnSet<S> {
    fn len(&self) -> u32 {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|_, e| e.socket.strong_count() > 0);
        u32::try_from(entries.len()).unwrap_or(u32::MAX)
    }

    fn wait(
        &self,
        changes: Vec<poll::PollChange<'_>>,
        timeout: Option<Duration>,
        max_events: u32,
    ) -> Result<Vec<poll::PollEvent>, ErrorCode> {
        if max_events == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let armed: Vec<(Rc<S>, Readiness, u64)> = {
            let mut entries = self.entries.borrow_mut();
            // A closed socket leaves the set by itself.
            entries.retain(|_, e| e.socket.strong_count() > 0);
            for c in &changes {
                let socket = &c.socket.get::<SocketRep<S>>().0;
                let at = Rc::as_ptr(socket);
                if c.interest.is_empty() {
                    entries.remove(&at);
                    continue;
                }
                if !entries.contains_key(&at) && entries.len() >= MAX_SET_ENTRIES {
                    return Err(ErrorCode::InvalidArgument);
                }
                entries.insert(
                    at,
                    SetEntry {
                        socket: Rc::downgrade(socket),
                        interest: c.interest,
                        key: c.key,
                    },
                );
            }
            entries
                .values()
                .filter_map(|e| Some((e.socket.upgrade()?, e.interest, e.key)))
                .collect()
        };
        if armed.is_empty() && timeout.is_none() {
            return Err(ErrorCode::InvalidArgument);
        }
        let watched: Vec<(&S, Readiness)> = armed.iter().map(|(s, i, _)| (&**s, *i)).collect();
        let ready = S::poll(&watched, timeout)?;
        let mut events = Vec::new();
        let mut entries = self.entries.borrow_mut();
        let n = armed.len().max(1);
        let start = self.turn.get() % n;
        self.turn.set(start + 1);
        for i in (start..armed.len()).chain(0..start) {
            let (socket, _, key) = &armed[i];
            let ready = ready.get(i).copied().unwrap_or_else(Readiness::empty);
            if ready.is_empty() || events.len() >= max_events as usize {
                continue;
            }
            // One-shot: reported, it leaves the set.
            entries.remove(&Rc::as_ptr(socket));
            events.push(poll::PollEvent { key: *key, ready });
        }
        Ok(events)
    }
}

impl<S: Socket> name_lookup::Guest for Adapter<S> {
    type Lookup = LookupRep<S>;

    fn resolve_addresses(
        name: String,
        family: Option<AddressFamily>,
    ) -> Result<Vec<IpAddress>, ErrorCode> {
        S::resolve_addresses(&name, family)
    }
}

impl<S: Socket> name_lookup::GuestLookup for LookupRep<S> {
    fn start(
        name: String,
        family: Option<AddressFamily>,
    ) -> Result<name_lookup::Lookup, ErrorCode> {
        let alive = AliveLookup::take().ok_or(ErrorCode::TemporaryResolverFailure)?;
        let lookup = S::start_lookup(&name, family)?;
        Ok(name_lookup::Lookup::new(LookupRep::<S>(
            lookup,
            alive,
            PhantomData,
        )))
    }
    fn answer(&self) -> Option<Result<Vec<IpAddress>, ErrorCode>> {
        self.0.answer()
    }
}

impl<S: Socket> handoff::Guest for Adapter<S> {
    fn take_connection() -> Result<(socket::Socket, SocketAddress), ErrorCode> {
        let (s, peer) = S::take_connection()?;
        Ok((export(s), peer))
    }
}
