//! The provider contract and its providers.
//!
//! A provider turns socket operations into network traffic. The contract
//! ([`Provider`], [`NetSocket`]) is non-blocking and readiness based; the
//! runtime above it adds blocking, timeouts, the policy check and the socket
//! table, identically for every provider. This module never depends on the
//! runtime.

mod error;
pub mod native;
mod provider;
mod recv_buf;
pub mod sim;
mod types;
mod wakers;

pub(crate) use wakers::WakerList;

pub use error::ErrorCode;
pub use provider::{BoxFuture, NetSocket, Provider};
pub use recv_buf::RecvBuf;
pub(crate) use recv_buf::recv_into_initialised;
pub use types::{
    Calls, ConnectState, Family, OptionName, Readiness, RecvFlags, RecvMeta, SendFlags, Shutdown,
    SockOption, SocketType,
};
