//! The one mapping from wasock's `error-code` to `std::io::Error`.
//!
//! Every error the SDK returns is an `io::Error` whose [`io::ErrorKind`] is
//! chosen per code below, and whose inner error is an [`Error`] carrying the
//! wasock code, so that nothing the host said is lost:
//!
//! ```
//! use wasock::{ErrorCode, error_code};
//!
//! let e = std::io::Error::from(ErrorCode::AccessDenied);
//! assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
//! assert_eq!(error_code(&e), Some(ErrorCode::AccessDenied));
//! ```

use std::fmt;
use std::io;

pub use crate::bindings::wasock::sockets::types::ErrorCode;

/// A wasock error code as an error type: the inner error of every
/// `io::Error` this crate returns.
///
/// Its `Debug` form is short, as `io::Error`'s own for system errors is
/// (it is part of what `fn main() -> io::Result<()>` prints when it fails):
///
/// ```
/// let e = std::io::Error::from(wasock::ErrorCode::AccessDenied);
/// let inner = e.get_ref().unwrap();
/// assert_eq!(
///     format!("{inner:?}"),
///     "Error { code: \"access-denied\", \
///      message: \"access denied by the host's policy or the system\" }"
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the code's own `Debug`, which quotes its whole WIT
        // documentation.
        f.debug_struct("Error")
            .field("code", &self.code.name())
            .field("message", &describe(self.code))
            .finish()
    }
}

impl Error {
    /// The wasock error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", describe(self.code), self.code.name())
    }
}

impl std::error::Error for Error {}

/// A short description of each code.
pub fn describe(code: ErrorCode) -> &'static str {
    use ErrorCode as C;
    match code {
        C::AccessDenied => "access denied by the host's policy or the system",
        C::AddressInUse => "address in use",
        C::AddressNotAvailable => "address not available",
        C::AddressFamilyNotSupported => "address family not supported",
        C::Already => "a connect is already in progress",
        C::AlreadyConnected => "already connected",
        C::ConnectionAborted => "connection aborted",
        C::ConnectionRefused => "connection refused",
        C::ConnectionReset => "connection reset by peer",
        C::DestinationAddressRequired => "destination address required",
        C::HostUnreachable => "host unreachable",
        C::InProgress => "connect in progress",
        C::InvalidArgument => "invalid argument",
        C::MessageSize => "message too long",
        C::NetworkDown => "network down",
        C::NetworkUnreachable => "network unreachable",
        C::NoBufferSpace => "no buffer space available",
        C::NotConnected => "not connected",
        C::NotSupported => "operation not supported",
        C::ProtocolOptionNotSupported => "protocol option not supported",
        C::ShutDown => "socket shut down",
        C::TimedOut => "timed out",
        C::WouldBlock => "operation would block",
        C::NewSocketLimit => "too many open sockets",
        C::NameNotFound => "name not found",
        C::TemporaryResolverFailure => "temporary failure in name resolution",
        C::PermanentResolverFailure => "permanent failure in name resolution",
        C::Unknown => "unknown error",
    }
}

/// The `io::ErrorKind` for each code. Where std has a kind of the same
/// meaning it is used; the rest are chosen for what a caller should do.
pub fn kind_of(code: ErrorCode) -> io::ErrorKind {
    use ErrorCode as C;
    use io::ErrorKind as K;
    match code {
        C::AccessDenied => K::PermissionDenied,
        C::AddressInUse => K::AddrInUse,
        C::AddressNotAvailable => K::AddrNotAvailable,
        // The host or socket cannot do this family at all.
        C::AddressFamilyNotSupported => K::Unsupported,
        // Another connect is under way: busy, try later.
        C::Already => K::ResourceBusy,
        // The connection this would create already exists.
        C::AlreadyConnected => K::AlreadyExists,
        C::ConnectionAborted => K::ConnectionAborted,
        C::ConnectionRefused => K::ConnectionRefused,
        C::ConnectionReset => K::ConnectionReset,
        // Sending needs a peer that is not set: not connected.
        C::DestinationAddressRequired => K::NotConnected,
        C::HostUnreachable => K::HostUnreachable,
        // A non-blocking connect started: like std, poll and retry.
        C::InProgress => K::WouldBlock,
        C::InvalidArgument => K::InvalidInput,
        // The payload is too large to send as one datagram.
        C::MessageSize => K::InvalidInput,
        C::NetworkDown => K::NetworkDown,
        C::NetworkUnreachable => K::NetworkUnreachable,
        C::NoBufferSpace => K::OutOfMemory,
        C::NotConnected => K::NotConnected,
        C::NotSupported => K::Unsupported,
        C::ProtocolOptionNotSupported => K::Unsupported,
        // Writing to a direction that was shut down, as std's EPIPE.
        C::ShutDown => K::BrokenPipe,
        C::TimedOut => K::TimedOut,
        C::WouldBlock => K::WouldBlock,
        // A per-instance limit on sockets.
        C::NewSocketLimit => K::QuotaExceeded,
        C::NameNotFound => K::NotFound,
        // std has no kind for resolver failures (its own are
        // uncategorised); `Other` keeps them apart from I/O failures
        // without inviting an automatic retry as `Interrupted` would.
        C::TemporaryResolverFailure => K::Other,
        C::PermanentResolverFailure => K::Other,
        C::Unknown => K::Other,
    }
}

impl From<ErrorCode> for io::Error {
    fn from(code: ErrorCode) -> io::Error {
        if code == ErrorCode::WouldBlock {
            // The one a non-blocking loop meets on every turn: no
            // allocation (`error_code` still tells it).
            return io::Error::from(io::ErrorKind::WouldBlock);
        }
        io::Error::new(kind_of(code), Error { code })
    }
}

/// The wasock error code inside an `io::Error` this crate returned (a
/// `would-block` is a bare [`io::ErrorKind::WouldBlock`], which this
/// reads as `would-block` from wherever it came).
///
/// ```
/// use wasock::{ErrorCode, error_code};
///
/// let e = std::io::Error::from(ErrorCode::WouldBlock);
/// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
/// assert_eq!(error_code(&e), Some(ErrorCode::WouldBlock));
/// assert_eq!(error_code(&std::io::Error::other("mine")), None);
/// ```
pub fn error_code(e: &io::Error) -> Option<ErrorCode> {
    match e.get_ref() {
        Some(inner) => inner.downcast_ref::<Error>().map(Error::code),
        None if e.kind() == io::ErrorKind::WouldBlock && e.raw_os_error().is_none() => {
            Some(ErrorCode::WouldBlock)
        }
        None => None,
    }
}

/// `Result<T, ErrorCode>` into `io::Result<T>`.
pub(crate) fn io<T>(r: Result<T, ErrorCode>) -> io::Result<T> {
    r.map_err(io::Error::from)
}

/// A send's count as the host (or a provider component) reported it,
/// never more than the `offered` bytes: a miscounting provider must not
/// make `write_all` slice past its buffer.
pub(crate) fn taken(n: u64, offered: usize) -> usize {
    usize::try_from(n).map_or(offered, |n| n.min(offered))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code, in WIT order: a new code without a mapping test fails
    /// here.
    const ALL: [(ErrorCode, io::ErrorKind); 28] = [
        (ErrorCode::AccessDenied, io::ErrorKind::PermissionDenied),
        (ErrorCode::AddressInUse, io::ErrorKind::AddrInUse),
        (
            ErrorCode::AddressNotAvailable,
            io::ErrorKind::AddrNotAvailable,
        ),
        (
            ErrorCode::AddressFamilyNotSupported,
            io::ErrorKind::Unsupported,
        ),
        (ErrorCode::Already, io::ErrorKind::ResourceBusy),
        (ErrorCode::AlreadyConnected, io::ErrorKind::AlreadyExists),
        (
            ErrorCode::ConnectionAborted,
            io::ErrorKind::ConnectionAborted,
        ),
        (
            ErrorCode::ConnectionRefused,
            io::ErrorKind::ConnectionRefused,
        ),
        (ErrorCode::ConnectionReset, io::ErrorKind::ConnectionReset),
        (
            ErrorCode::DestinationAddressRequired,
            io::ErrorKind::NotConnected,
        ),
        (ErrorCode::HostUnreachable, io::ErrorKind::HostUnreachable),
        (ErrorCode::InProgress, io::ErrorKind::WouldBlock),
        (ErrorCode::InvalidArgument, io::ErrorKind::InvalidInput),
        (ErrorCode::MessageSize, io::ErrorKind::InvalidInput),
        (ErrorCode::NetworkDown, io::ErrorKind::NetworkDown),
        (
            ErrorCode::NetworkUnreachable,
            io::ErrorKind::NetworkUnreachable,
        ),
        (ErrorCode::NoBufferSpace, io::ErrorKind::OutOfMemory),
        (ErrorCode::NotConnected, io::ErrorKind::NotConnected),
        (ErrorCode::NotSupported, io::ErrorKind::Unsupported),
        (
            ErrorCode::ProtocolOptionNotSupported,
            io::ErrorKind::Unsupported,
        ),
        (ErrorCode::ShutDown, io::ErrorKind::BrokenPipe),
        (ErrorCode::TimedOut, io::ErrorKind::TimedOut),
        (ErrorCode::WouldBlock, io::ErrorKind::WouldBlock),
        (ErrorCode::NewSocketLimit, io::ErrorKind::QuotaExceeded),
        (ErrorCode::NameNotFound, io::ErrorKind::NotFound),
        (ErrorCode::TemporaryResolverFailure, io::ErrorKind::Other),
        (ErrorCode::PermanentResolverFailure, io::ErrorKind::Other),
        (ErrorCode::Unknown, io::ErrorKind::Other),
    ];

    #[test]
    fn every_code_maps_to_its_kind_and_keeps_the_code() {
        for (code, kind) in ALL {
            let e = io::Error::from(code);
            assert_eq!(e.kind(), kind, "{code:?}");
            assert_eq!(error_code(&e), Some(code), "{code:?}");
            // A would-block is std's own, without an allocation.
            if code != ErrorCode::WouldBlock {
                assert!(e.to_string().contains(code.name()), "{e}");
            }
        }
    }

    #[test]
    fn the_table_covers_every_code() {
        // The enum's discriminants run 0..N in WIT order.
        for (i, (code, _)) in ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code:?} out of order");
        }
        // One past the last case is not a code.
        assert_eq!(ErrorCode::Unknown as usize + 1, ALL.len());
    }

    #[test]
    fn foreign_io_errors_have_no_code() {
        let e = io::Error::other("something else");
        assert_eq!(error_code(&e), None);
    }
}
