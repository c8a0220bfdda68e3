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

/// The code for an error of an accept, a send, a receive or a pending
/// error of a connected socket: as [`from_io`], but `ETIMEDOUT` there is a
/// connection that a keep-alive or retransmission timeout ended, which the
/// WIT calls `connection-aborted`. (The receive and send timeouts are the
/// host's own waits, which say `timed-out`; a connect's `ETIMEDOUT` stays
/// `timed-out`.)
pub fn transfer_error(e: io::Error) -> ErrorCode {
    match from_io(&e) {
        ErrorCode::TimedOut => ErrorCode::ConnectionAborted,
        code => code,
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

#[cfg(test)]
mod tests {
    use std::io;

    use super::{from_io, transfer_error};
    use crate::net::ErrorCode;

    #[test]
    fn a_transfers_timeout_is_a_connection_aborted_and_a_connects_stays_timed_out() {
        let timed_out = || io::Error::from_raw_os_error(libc::ETIMEDOUT);
        assert_eq!(transfer_error(timed_out()), ErrorCode::ConnectionAborted);
        assert_eq!(from_io(&timed_out()), ErrorCode::TimedOut);
        let reset = io::Error::from_raw_os_error(libc::ECONNRESET);
        assert_eq!(transfer_error(reset), ErrorCode::ConnectionReset);
    }
}
