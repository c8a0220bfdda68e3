//! The error a `wasi:sockets@0.3` host function returns, and how the
//! provider contract's error codes read in WASI 0.3's terms.

use crate::net::ErrorCode;
use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::ErrorCode as Code;
use crate::runtime::wasi::error::{Trappable, WasiCode};

/// What a `wasi:sockets@0.3` host function failed with: an `error-code`
/// for the guest, or a trap that ends this instance only.
pub type P3Error = Trappable<Code>;

impl From<Code> for P3Error {
    fn from(code: Code) -> P3Error {
        Trappable::code(code)
    }
}

impl WasiCode for Code {
    fn from_net(e: ErrorCode) -> Code {
        to_wasi(e)
    }
}

/// The WASI 0.3 `error-code` for a provider error, as the 0.3
/// documentation lists its POSIX counterparts. 0.3 has fewer codes than
/// 0.2: a state error (`EISCONN`, `ENOTCONN`, `EALREADY`) is
/// `invalid-state`, a send after the connection was shut (`EPIPE`) is
/// `connection-broken`, and wasock's own conditions with no code of their
/// own are `other` with a message saying what happened.
pub(crate) fn to_wasi(e: ErrorCode) -> Code {
    use ErrorCode as E;
    match e {
        E::AccessDenied => Code::AccessDenied,
        E::AddressInUse => Code::AddressInUse,
        E::AddressNotAvailable => Code::AddressNotBindable,
        E::AddressFamilyNotSupported | E::InvalidArgument | E::DestinationAddressRequired => {
            Code::InvalidArgument
        }
        E::Already | E::AlreadyConnected | E::NotConnected => Code::InvalidState,
        E::ShutDown => Code::ConnectionBroken,
        E::ConnectionAborted => Code::ConnectionAborted,
        E::ConnectionRefused => Code::ConnectionRefused,
        E::ConnectionReset => Code::ConnectionReset,
        E::HostUnreachable | E::NetworkDown | E::NetworkUnreachable => Code::RemoteUnreachable,
        E::MessageSize => Code::DatagramTooLarge,
        E::NoBufferSpace => Code::OutOfMemory,
        E::NotSupported | E::ProtocolOptionNotSupported => Code::NotSupported,
        E::TimedOut => Code::Timeout,
        E::NewSocketLimit => Code::Other(Some(
            "new-socket-limit: the instance holds as many sockets as its limit (max-sockets) allows"
                .into(),
        )),
        E::InProgress | E::WouldBlock => Code::Other(Some("would-block".into())),
        E::NameNotFound | E::TemporaryResolverFailure | E::PermanentResolverFailure => {
            Code::Other(Some(e.to_string()))
        }
        E::Unknown => Code::Other(None),
    }
}

/// The result of a `wasi:sockets@0.3` host function.
pub(crate) type P3Result<T> = Result<T, P3Error>;
