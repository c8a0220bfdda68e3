//! The error a `wasi:sockets` host function returns, and how the provider
//! contract's error codes read in WASI's terms.

use std::fmt;

use wasmtime::component::ResourceTableError;

use crate::net::ErrorCode;
use crate::runtime::bindings::wasi_sockets::wasi::sockets::network::ErrorCode as Code;

/// What a `wasi:sockets` host function failed with: an `error-code` for
/// the guest, or a trap (an unknown handle, an interface misuse the WIT
/// says traps, a host defect) that ends this instance only.
pub struct WasiError(Inner);

enum Inner {
    Code(Code),
    Trap(wasmtime::Error),
}

impl WasiError {
    /// A trap with this message.
    pub(crate) fn trap(message: &'static str) -> WasiError {
        WasiError(Inner::Trap(wasmtime::Error::msg(message)))
    }

    /// Split into the code for the guest, or the trap.
    pub(crate) fn into_result(self) -> Result<Code, wasmtime::Error> {
        match self.0 {
            Inner::Code(c) => Ok(c),
            Inner::Trap(e) => Err(e),
        }
    }
}

impl From<Code> for WasiError {
    fn from(code: Code) -> WasiError {
        WasiError(Inner::Code(code))
    }
}

impl From<ErrorCode> for WasiError {
    fn from(code: ErrorCode) -> WasiError {
        WasiError(Inner::Code(to_wasi(code)))
    }
}

impl From<ResourceTableError> for WasiError {
    fn from(e: ResourceTableError) -> WasiError {
        WasiError(Inner::Trap(e.into()))
    }
}

impl From<wasmtime::Error> for WasiError {
    fn from(e: wasmtime::Error) -> WasiError {
        WasiError(Inner::Trap(e))
    }
}

impl fmt::Debug for WasiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Code(c) => write!(f, "error code {c:?}"),
            Inner::Trap(e) => write!(f, "trap: {e:?}"),
        }
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
