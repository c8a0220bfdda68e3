//! The bottom of `wasock:sockets/handoff`: the connection the host accepted
//! for this instance (`wasock serve`), taken by the lowest provider layer
//! so that the handler above it gets the connection as that layer's socket.

use std::net::SocketAddr;

use wasmtime::component::Resource;

use super::bindings::wasock::sockets::handoff::Host;
use super::bindings::wasock::sockets::types::SocketAddress;
use super::convert::addr_from_std;
use super::ctx::WasockCtxView;
use super::error::SocketResult;
use super::socket::GuestSocket;
use crate::net::ErrorCode;

/// A connection waiting in an instance for its provider to take it.
pub(crate) struct Handoff {
    pub(crate) socket: Resource<GuestSocket>,
    pub(crate) peer: SocketAddr,
}

impl Host for WasockCtxView<'_> {
    fn take_connection(&mut self) -> SocketResult<(Resource<GuestSocket>, SocketAddress)> {
        match self.ctx.handoff.take() {
            Some(h) => Ok((h.socket, addr_from_std(h.peer))),
            None => Err(ErrorCode::NotConnected.into()),
        }
    }
}
