//! `wasi:sockets/ip-name-lookup` for std::net guests, through the same
//! checked path as wasock's own name lookup.

use std::net::IpAddr;
use std::pin::Pin;

use tokio::task::{JoinError, JoinHandle};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::runtime::{poll_noop, with_ambient_tokio_runtime};

use super::error::WasiResult;
use super::network::{Network, check_network, ip_from_std};
use crate::net::ErrorCode;
use crate::runtime::bindings::wasi_sockets::wasi::sockets::ip_name_lookup::{
    Host, HostResolveAddressStream, IpAddress,
};
use crate::runtime::bindings::wasi_sockets::wasi::sockets::network::ErrorCode as Code;
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::lookup::{Lookup, start_lookup};

type Answer = Result<Vec<IpAddr>, ErrorCode>;

/// A WASI `resolve-address-stream`: the answer, or the lookup still under
/// way.
pub enum ResolveAddressStream {
    /// The resolver has not answered yet. The lookup runs to its end even
    /// if the stream is dropped: the system resolver's thread cannot be
    /// stopped, and the lookup counts against the instance's lookups in
    /// flight until it is done.
    Pending(JoinHandle<Answer>),
    /// The answer, handed out one address at a time.
    Done(Result<std::vec::IntoIter<IpAddr>, ErrorCode>),
}

#[wasmtime_wasi::async_trait]
impl Pollable for ResolveAddressStream {
    async fn ready(&mut self) {
        if let ResolveAddressStream::Pending(h) = self {
            let answer = joined(h.await);
            *self = ResolveAddressStream::Done(answer.map(Vec::into_iter));
        }
    }
}

/// A lookup task's answer; one that panicked or was cancelled failed.
fn joined(r: Result<Answer, JoinError>) -> Answer {
    r.unwrap_or(Err(ErrorCode::PermanentResolverFailure))
}

/// WASI's nearest code for a wasock lookup error (what wasi-libc turns into
/// `EAI_NONAME`, `EAI_AGAIN`, `EAI_FAIL`, ...).
fn wasi_error(e: ErrorCode) -> Code {
    match e {
        ErrorCode::NameNotFound => Code::NameUnresolvable,
        ErrorCode::TemporaryResolverFailure => Code::TemporaryResolverFailure,
        ErrorCode::AccessDenied => Code::AccessDenied,
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        _ => Code::PermanentResolverFailure,
    }
}

impl Host for WasockCtxView<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> WasiResult<Resource<ResolveAddressStream>> {
        // The network handle is the capability to call this; check it.
        check_network(self, &network)?;
        let stream = match start_lookup(self.ctx, &name) {
            Err(e) => return Err(wasi_error(e).into()),
            Ok(Lookup::Ready(ips)) => ResolveAddressStream::Done(Ok(ips.into_iter())),
            Ok(pending) => ResolveAddressStream::Pending(with_ambient_tokio_runtime(|| {
                tokio::spawn(pending.finish())
            })),
        };
        Ok(self.table.push(stream)?)
    }
}

impl HostResolveAddressStream for WasockCtxView<'_> {
    fn resolve_next_address(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> WasiResult<Option<IpAddress>> {
        let stream = self.table.get_mut(&this)?;
        if let ResolveAddressStream::Pending(h) = stream {
            match poll_noop(Pin::new(h)) {
                Some(answer) => {
                    *stream = ResolveAddressStream::Done(joined(answer).map(Vec::into_iter))
                }
                None => return Err(Code::WouldBlock.into()),
            }
        }
        match stream {
            ResolveAddressStream::Done(Ok(ips)) => {
                Ok(ips.next().map(|ip| ip_from_std(ip.to_canonical())))
            }
            ResolveAddressStream::Done(Err(e)) => Err(wasi_error(*e).into()),
            ResolveAddressStream::Pending(_) => Err(Code::WouldBlock.into()),
        }
    }

    fn subscribe(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        subscribe(self.table, this)
    }

    fn drop(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}
