//! The error a host function returns: an error code for the guest, or a
//! trap that ends it.

use std::fmt;

use wasmtime::component::ResourceTableError;

use crate::net::ErrorCode;

/// What a wasock host function failed with: a network or argument error the
/// guest receives as an `error-code`, or a host-side defect or interface
/// misuse (an unknown handle) that traps the guest.
pub struct SocketError(Inner);

enum Inner {
    Code(ErrorCode),
    Trap(wasmtime::Error),
}

impl SocketError {
    /// A trap with this error.
    pub fn trap(e: impl Into<wasmtime::Error>) -> SocketError {
        SocketError(Inner::Trap(e.into()))
    }

    /// The error code, if this is not a trap.
    pub fn code(&self) -> Option<ErrorCode> {
        match &self.0 {
            Inner::Code(c) => Some(*c),
            Inner::Trap(_) => None,
        }
    }

    /// Split into the code for the guest, or the trap.
    pub fn into_result(self) -> Result<ErrorCode, wasmtime::Error> {
        match self.0 {
            Inner::Code(c) => Ok(c),
            Inner::Trap(e) => Err(e),
        }
    }
}

impl From<ErrorCode> for SocketError {
    fn from(code: ErrorCode) -> SocketError {
        SocketError(Inner::Code(code))
    }
}

impl From<ResourceTableError> for SocketError {
    fn from(e: ResourceTableError) -> SocketError {
        SocketError::trap(e)
    }
}

impl From<wasmtime::Error> for SocketError {
    fn from(e: wasmtime::Error) -> SocketError {
        SocketError::trap(e)
    }
}

impl fmt::Debug for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Code(c) => write!(f, "error code {c:?}"),
            Inner::Trap(e) => write!(f, "trap: {e:?}"),
        }
    }
}

/// The result of a wasock host function.
pub type SocketResult<T> = Result<T, SocketError>;
