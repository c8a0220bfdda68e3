//! The provider contract's error codes: one per `error-code` case in WIT.

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
