//! The error a `wasi:sockets` host function returns (of either WASI
//! version), and how the provider contract's error codes read in WASI
//! 0.2's terms.

use std::fmt;

use wasmtime::component::ResourceTableError;

use super::shared::Poisoned;
use crate::net::ErrorCode;
use crate::runtime::bindings::wasi_sockets::wasi::sockets::network::ErrorCode as Code;

/// What a `wasi:sockets` host function failed with: an `error-code` `C` of
/// its WASI version for the guest, or a trap (an unknown handle, an
/// interface misuse the WIT says traps, a host defect) that ends this
/// instance only.
pub struct Trappable<C>(Inner<C>);

enum Inner<C> {
    Code(C),
    Trap(wasmtime::Error),
}

/// A WASI version's `error-code`: what a provider error reads as.
pub trait WasiCode: fmt::Debug + Sized {
    /// The code for the provider error `e`.
    fn from_net(e: ErrorCode) -> Self;
}

/// The error of a `wasi:sockets@0.2` host function.
pub type WasiError = Trappable<Code>;

impl<C> Trappable<C> {
    /// A trap with this message.
    pub(crate) fn trap(message: &'static str) -> Trappable<C> {
        Trappable(Inner::Trap(wasmtime::Error::msg(message)))
    }

    /// A code for the guest.
    pub(crate) fn code(code: C) -> Trappable<C> {
        Trappable(Inner::Code(code))
    }

    /// Split into the code for the guest, or the trap.
    pub(crate) fn into_result(self) -> Result<C, wasmtime::Error> {
        match self.0 {
            Inner::Code(c) => Ok(c),
            Inner::Trap(e) => Err(e),
        }
    }
}

impl From<Code> for WasiError {
    fn from(code: Code) -> WasiError {
        Trappable::code(code)
    }
}

impl<C: WasiCode> From<ErrorCode> for Trappable<C> {
    fn from(code: ErrorCode) -> Trappable<C> {
        Trappable::code(C::from_net(code))
    }
}

impl<C> From<Poisoned> for Trappable<C> {
    fn from(_: Poisoned) -> Trappable<C> {
        Trappable::trap(Poisoned::MESSAGE)
    }
}

impl<C> From<ResourceTableError> for Trappable<C> {
    fn from(e: ResourceTableError) -> Trappable<C> {
        Trappable(Inner::Trap(e.into()))
    }
}

impl<C> From<wasmtime::Error> for Trappable<C> {
    fn from(e: wasmtime::Error) -> Trappable<C> {
        Trappable(Inner::Trap(e))
    }
}

impl<C: fmt::Debug> fmt::Debug for Trappable<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Code(c) => write!(f, "error code {c:?}"),
            Inner::Trap(e) => write!(f, "trap: {e:?}"),
        }
    }
}

impl WasiCode for Code {
    fn from_net(e: ErrorCode) -> Code {
        to_wasi(e)
    }
}

/// What a failed connect (TCP `connect`, UDP `connect` and `stream` of
/// either WASI version) reports, in the provider contract's terms: Linux
/// fails a connect that finds no local port for the connection with
/// `EADDRNOTAVAIL` (TCP: no ephemeral port left for the implicit bind, or
/// the bound address already connected to that peer) or `EAGAIN` (UDP),
/// which the WASI documentation of `connect` lists under `address-in-use`.
/// Elsewhere `EADDRNOTAVAIL` means a local address that is not the host's
/// (`address-not-bindable`), so only connects are read this way.
pub(crate) fn connect_failure(e: ErrorCode) -> ErrorCode {
    match e {
        ErrorCode::AddressNotAvailable | ErrorCode::WouldBlock => ErrorCode::AddressInUse,
        e => e,
    }
}

/// What a failed `create` (TCP and UDP, either WASI version) reports, in
/// the provider contract's terms: a family the system does not have
/// (`EAFNOSUPPORT`) is `not-supported` there, as the WIT lists it, where
/// elsewhere a wrong family is `invalid-argument`.
pub(crate) fn create_failure(e: ErrorCode) -> ErrorCode {
    match e {
        ErrorCode::AddressFamilyNotSupported => ErrorCode::NotSupported,
        e => e,
    }
}

/// The WASI `error-code` for a provider error, as the wasi:sockets
/// documentation lists its POSIX counterparts: a wrong family or a missing
/// destination is `invalid-argument`, a state error (`EISCONN`,
/// `ENOTCONN`) is `invalid-state`, an unreachable network or host is
/// `remote-unreachable`.
pub(crate) fn to_wasi(e: ErrorCode) -> Code {
    use ErrorCode as E;
    match e {
        E::AccessDenied => Code::AccessDenied,
        E::AddressInUse => Code::AddressInUse,
        E::AddressNotAvailable => Code::AddressNotBindable,
        E::AddressFamilyNotSupported | E::InvalidArgument | E::DestinationAddressRequired => {
            Code::InvalidArgument
        }
        E::Already => Code::ConcurrencyConflict,
        E::AlreadyConnected | E::NotConnected | E::ShutDown => Code::InvalidState,
        E::ConnectionAborted => Code::ConnectionAborted,
        E::ConnectionRefused => Code::ConnectionRefused,
        E::ConnectionReset => Code::ConnectionReset,
        E::HostUnreachable | E::NetworkDown | E::NetworkUnreachable => Code::RemoteUnreachable,
        E::InProgress | E::WouldBlock => Code::WouldBlock,
        E::MessageSize => Code::DatagramTooLarge,
        E::NoBufferSpace => Code::OutOfMemory,
        E::NotSupported | E::ProtocolOptionNotSupported => Code::NotSupported,
        E::TimedOut => Code::Timeout,
        E::NewSocketLimit => Code::NewSocketLimit,
        E::NameNotFound => Code::NameUnresolvable,
        E::TemporaryResolverFailure => Code::TemporaryResolverFailure,
        E::PermanentResolverFailure => Code::PermanentResolverFailure,
        E::Unknown => Code::Unknown,
    }
}

/// The result of a `wasi:sockets` host function.
pub(crate) type WasiResult<T> = Result<T, WasiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A family the system lacks is `not-supported` at `create` and
    /// `invalid-argument` elsewhere (an address of the other family), as
    /// the WIT documents each; other create errors pass through.
    #[test]
    fn a_missing_family_maps_to_not_supported_at_create_only() {
        let missing = ErrorCode::AddressFamilyNotSupported;
        assert_eq!(to_wasi(create_failure(missing)), Code::NotSupported);
        assert_eq!(to_wasi(missing), Code::InvalidArgument);
        assert_eq!(
            to_wasi(create_failure(ErrorCode::NewSocketLimit)),
            Code::NewSocketLimit
        );
    }

    /// No local port for a connect is `address-in-use` there, and a local
    /// address that is not the host's is `address-not-bindable` elsewhere.
    #[test]
    fn a_connect_without_a_local_port_is_address_in_use() {
        let none = ErrorCode::AddressNotAvailable;
        assert_eq!(to_wasi(connect_failure(none)), Code::AddressInUse);
        assert_eq!(
            to_wasi(connect_failure(ErrorCode::WouldBlock)),
            Code::AddressInUse
        );
        assert_eq!(to_wasi(none), Code::AddressNotBindable);
    }
}
