//! The operating system's error numbers as the contract's error codes: the
//! one mapping at the native provider's boundary.

use std::io;

use crate::net::ErrorCode;

impl From<io::Error> for ErrorCode {
    fn from(e: io::Error) -> ErrorCode {
        from_io(&e)
    }
}

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

fn from_errno(errno: i32) -> Option<ErrorCode> {
    use ErrorCode::*;
    Some(match errno {
        libc::EACCES | libc::EPERM => AccessDenied,
        libc::EADDRINUSE => AddressInUse,
        libc::EADDRNOTAVAIL => AddressNotAvailable,
        libc::EAFNOSUPPORT | libc::EPFNOSUPPORT => AddressFamilyNotSupported,
        libc::EALREADY => Already,
        libc::EISCONN => AlreadyConnected,
        // EPROTO: a protocol error on a pending connection (accept).
        libc::ECONNABORTED | libc::ENETRESET | libc::EPROTO => ConnectionAborted,
        libc::ECONNREFUSED => ConnectionRefused,
        libc::ECONNRESET => ConnectionReset,
        libc::EDESTADDRREQ => DestinationAddressRequired,
        libc::EHOSTUNREACH | libc::EHOSTDOWN | libc::ENONET => HostUnreachable,
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
