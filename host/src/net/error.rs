//! The provider contract's error codes: one per `error-code` case in WIT.

use std::io;

/// A socket error, as a provider reports it. Each case is the `error-code`
/// case of the same name in `wit/types.wit`, which documents its Winsock and
/// POSIX counterparts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[allow(missing_docs)]
pub enum ErrorCode {
    #[error("access denied")]
    AccessDenied,
    #[error("address in use")]
    AddressInUse,
    #[error("address not available")]
    AddressNotAvailable,
    #[error("address family not supported")]
    AddressFamilyNotSupported,
    #[error("operation already in progress")]
    Already,
    #[error("already connected")]
    AlreadyConnected,
    #[error("connection aborted")]
    ConnectionAborted,
    #[error("connection refused")]
    ConnectionRefused,
    #[error("connection reset")]
    ConnectionReset,
    #[error("destination address required")]
    DestinationAddressRequired,
    #[error("host unreachable")]
    HostUnreachable,
    #[error("operation in progress")]
    InProgress,
    #[error("invalid argument")]
    InvalidArgument,
    #[error("message too long")]
    MessageSize,
    #[error("network down")]
    NetworkDown,
    #[error("network unreachable")]
    NetworkUnreachable,
    #[error("no buffer space")]
    NoBufferSpace,
    #[error("not connected")]
    NotConnected,
    #[error("not supported")]
    NotSupported,
    #[error("protocol option not supported")]
    ProtocolOptionNotSupported,
    #[error("shut down")]
    ShutDown,
    #[error("timed out")]
    TimedOut,
    #[error("would block")]
    WouldBlock,
    #[error("socket limit reached")]
    NewSocketLimit,
    #[error("name not found")]
    NameNotFound,
    #[error("temporary resolver failure")]
    TemporaryResolverFailure,
    #[error("permanent resolver failure")]
    PermanentResolverFailure,
    #[error("unknown error")]
    Unknown,
}

impl From<io::Error> for ErrorCode {
    fn from(e: io::Error) -> ErrorCode {
        ErrorCode::from_io(&e)
    }
}

impl ErrorCode {
    /// The code for an operating-system error. Errors with no counterpart
    /// are logged and reported as [`ErrorCode::Unknown`].
    pub fn from_io(e: &io::Error) -> ErrorCode {
        if let Some(code) = e.raw_os_error().and_then(from_errno) {
            return code;
        }
        match e.kind() {
            io::ErrorKind::WouldBlock => ErrorCode::WouldBlock,
            io::ErrorKind::TimedOut => ErrorCode::TimedOut,
            io::ErrorKind::InvalidInput => ErrorCode::InvalidArgument,
            io::ErrorKind::OutOfMemory => ErrorCode::NoBufferSpace,
            _ => {
                tracing::warn!(target: "wasock::net", error = %e, "operating-system error with no wasock error code");
                ErrorCode::Unknown
            }
        }
    }
}

fn from_errno(errno: i32) -> Option<ErrorCode> {
    use ErrorCode::*;
    Some(match errno {
        libc::EACCES | libc::EPERM => AccessDenied,
        libc::EADDRINUSE => AddressInUse,
        libc::EADDRNOTAVAIL => AddressNotAvailable,
        libc::EAFNOSUPPORT | libc::EPFNOSUPPORT => AddressFamilyNotSupported,
        libc::EALREADY => Already,
        libc::EISCONN => AlreadyConnected,
        libc::ECONNABORTED | libc::ENETRESET => ConnectionAborted,
        libc::ECONNREFUSED => ConnectionRefused,
        libc::ECONNRESET => ConnectionReset,
        libc::EDESTADDRREQ => DestinationAddressRequired,
        libc::EHOSTUNREACH | libc::EHOSTDOWN => HostUnreachable,
        libc::EINPROGRESS => InProgress,
        libc::EINVAL => InvalidArgument,
        libc::EMSGSIZE => MessageSize,
        libc::ENETDOWN => NetworkDown,
        libc::ENETUNREACH => NetworkUnreachable,
        libc::ENOBUFS | libc::ENOMEM => NoBufferSpace,
        libc::ENOTCONN => NotConnected,
        libc::EOPNOTSUPP | libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT => NotSupported,
        libc::ENOPROTOOPT => ProtocolOptionNotSupported,
        libc::EPIPE => ShutDown,
        libc::ETIMEDOUT => TimedOut,
        libc::EAGAIN => WouldBlock,
        libc::EMFILE | libc::ENFILE => NewSocketLimit,
        _ => return None,
    })
}
